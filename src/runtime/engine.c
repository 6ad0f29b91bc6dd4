/* ingot_engine: an immutable plan plus the backend that runs it. */
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "runtime/runtime.h"

void ingot_free(void *p) { ing_free(p); }

void ingot_build_opts_init(ingot_build_opts *opts)
{
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->version = INGOT_OPTS_VERSION;
    opts->backend = INGOT_BACKEND_CPU;
    opts->precision = INGOT_PRECISION_FP32;
}

void ingot_load_opts_init(ingot_load_opts *opts)
{
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->version = INGOT_OPTS_VERSION;
    opts->mode = INGOT_LOAD_AUTO;
}

ingot_status runtime_engine_from_plan(engine_plan *plan, ingot_engine **out)
{
    const ing_backend *b = ing_backend_get(plan->target.backend);
    if (!b)
        return ingot_fail(INGOT_ERR_BACKEND, "the engine targets backend %d, which this build of ingot does not have",
                          plan->target.backend);
    ING_TRY(b->available());
    ingot_engine *e = ing_calloc(1, sizeof *e);
    if (!e) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating an engine");
    e->plan = plan;
    e->backend = b;
    if (b->engine_create) {
        ingot_status st = b->engine_create(plan, &e->backend_state);
        if (st != INGOT_OK) {
            ing_free(e);
            return st;
        }
    }
    *out = e;
    return INGOT_OK;
}

ingot_status runtime_engine_adopt(engine_plan *plan, void *state, ingot_engine **out)
{
    ingot_engine *e = ing_calloc(1, sizeof *e);
    if (!e) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating an engine");
    e->plan = plan;
    e->backend = ing_backend_get(plan->target.backend);
    e->backend_state = state;
    *out = e;
    return INGOT_OK;
}

void ingot_engine_destroy(ingot_engine *e)
{
    if (!e) return;
    if (e->backend_state && e->backend->engine_destroy) e->backend->engine_destroy(e->backend_state);
    engine_plan_destroy(e->plan);
    engine_file_close(&e->file);
    ing_free_aligned(e->image);
    ing_free(e);
}

size_t ingot_engine_num_inputs(const ingot_engine *e) { return e ? (size_t)e->plan->model->bodies[0].n_in : 0; }
size_t ingot_engine_num_outputs(const ingot_engine *e) { return e ? (size_t)e->plan->model->bodies[0].n_out : 0; }

static void fill_info(const ir_value *v, ingot_tensor_info *info)
{
    memset(info, 0, sizeof *info);
    info->name = v->name;
    info->dtype = (ingot_dtype)v->t.dtype;
    info->rank = v->t.rank;
    for (int i = 0; i < v->t.rank && i < INGOT_MAX_RANK; i++) info->dims[i] = v->t.dims[i];
}

ingot_status ingot_engine_get_input(const ingot_engine *e, size_t index, ingot_tensor_info *info)
{
    if (!e || !info) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_get_input: engine and info must not be NULL");
    const ir_body *b = &e->plan->model->bodies[0];
    if (index >= (size_t)b->n_in)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "input index %zu out of range (the engine has %d inputs)", index, b->n_in);
    fill_info(&e->plan->model->values[b->in[index]], info);
    return INGOT_OK;
}

ingot_status ingot_engine_get_output(const ingot_engine *e, size_t index, ingot_tensor_info *info)
{
    if (!e || !info) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_get_output: engine and info must not be NULL");
    const ir_body *b = &e->plan->model->bodies[0];
    if (index >= (size_t)b->n_out)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "output index %zu out of range (the engine has %d outputs)", index, b->n_out);
    fill_info(&e->plan->model->values[b->out[index]], info);
    return INGOT_OK;
}

ingot_backend ingot_engine_get_backend(const ingot_engine *e)
{
    return e ? (ingot_backend)e->plan->target.backend : INGOT_BACKEND_CPU;
}

size_t ingot_engine_weight_bytes(const ingot_engine *e)
{
    if (!e) return 0;
    size_t total = 0;
    const ir_model *m = e->plan->model;
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST) total += m->values[i].const_bytes;
    return total;
}
