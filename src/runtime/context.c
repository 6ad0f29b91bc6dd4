/* ingot_context: input shapes and bindings, persistent outputs, one backend state. */
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/status.h"
#include "runtime/runtime.h"

struct ingot_context {
    const ingot_engine *e;
    void *state;
    int32_t n_in, n_out;
    ing_binding *in, *out;
    uint8_t *in_bound;
    size_t *in_size;
    int ran;
    int timing;
    double last_host_ms;
    int profiling, profiled; /* profiled: a run finished since profiling was turned on */
    double *node_ms;         /* per node id, filled from the backend after each profiled run */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

ingot_status ingot_context_create(const ingot_engine *e, ingot_context **out)
{
    if (!e || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_create: engine and out must not be NULL");
    const ir_model *m = e->plan->model;
    const ir_body *b = &m->bodies[0];
    ingot_context *c = ing_calloc(1, sizeof *c);
    if (!c) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a context");
    c->e = e;
    c->n_in = b->n_in;
    c->n_out = b->n_out;
    c->in = ing_calloc((size_t)(b->n_in + 1), sizeof(ing_binding));
    c->out = ing_calloc((size_t)(b->n_out + 1), sizeof(ing_binding));
    c->in_bound = ing_calloc((size_t)(b->n_in + 1), 1);
    c->in_size = ing_calloc((size_t)(b->n_in + 1), sizeof(size_t));
    if (!c->in || !c->out || !c->in_bound || !c->in_size) {
        ingot_context_destroy(c);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a context");
    }
    for (int32_t i = 0; i < b->n_in; i++) {
        c->in[i].value = b->in[i];
        c->in[i].t = m->values[b->in[i]].t;
        c->in[i].t.data = NULL;
    }
    for (int32_t j = 0; j < b->n_out; j++) c->out[j].value = b->out[j];
    ingot_status st = e->backend->ctx_create(e->plan, e->backend_state, &c->state);
    if (st != INGOT_OK) {
        ingot_context_destroy(c);
        return st;
    }
    *out = c;
    return INGOT_OK;
}

void ingot_context_destroy(ingot_context *c)
{
    if (!c) return;
    if (c->state) c->e->backend->ctx_destroy(c->state);
    ing_free(c->in);
    ing_free(c->out);
    ing_free(c->in_bound);
    ing_free(c->in_size);
    ing_free(c->node_ms);
    ing_free(c);
}

static int find(const ingot_context *c, const ing_binding *arr, int32_t n, const char *name)
{
    for (int32_t i = 0; i < n; i++)
        if (!strcmp(c->e->plan->model->values[arr[i].value].name, name)) return i;
    return -1;
}

ingot_status ingot_context_set_input_shape(ingot_context *c, const char *name, int32_t rank, const int64_t *dims)
{
    if (!c || !name || (rank > 0 && !dims))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_input_shape: context, name and dims must not be NULL");
    int i = find(c, c->in, c->n_in, name);
    if (i < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no input named '%s'", name);
    const ing_tensor *decl = &c->e->plan->model->values[c->in[i].value].t;
    if (rank < 0 || rank > INGOT_MAX_RANK)
        return ingot_fail(INGOT_ERR_SHAPE, "input '%s': rank %d, allowed 0..%d", name, rank, INGOT_MAX_RANK);
    if (decl->rank >= 0 && decl->rank != rank)
        return ingot_fail(INGOT_ERR_SHAPE, "input '%s': rank %d given, the engine has rank %d", name, rank, decl->rank);
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] < 0) return ingot_fail(INGOT_ERR_SHAPE, "input '%s': dim %d is %lld, must be >= 0", name, d, (long long)dims[d]);
        if (decl->rank >= 0 && decl->dims[d] >= 0 && decl->dims[d] != dims[d])
            return ingot_fail(INGOT_ERR_SHAPE, "input '%s': dim %d is %lld, the engine fixes it to %lld", name, d,
                              (long long)dims[d], (long long)decl->dims[d]);
    }
    c->in[i].t.rank = rank;
    for (int32_t d = 0; d < rank; d++) c->in[i].t.dims[d] = dims[d];
    return INGOT_OK;
}

ingot_status ingot_context_bind_input(ingot_context *c, const char *name, const void *data, size_t size)
{
    if (!c || !name || !data) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_bind_input: context, name and data must not be NULL");
    int i = find(c, c->in, c->n_in, name);
    if (i < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no input named '%s'", name);
    c->in[i].t.data = (void *)data;
    c->in_size[i] = size;
    c->in_bound[i] = 1;
    return INGOT_OK;
}

ingot_status ingot_context_bind_output(ingot_context *c, const char *name, void *data, size_t size)
{
    if (!c || !name) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_bind_output: context and name must not be NULL");
    int j = find(c, c->out, c->n_out, name);
    if (j < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no output named '%s'", name);
    c->out[j].user = data;
    c->out[j].user_size = data ? size : 0;
    return INGOT_OK;
}

ingot_status ingot_context_run(ingot_context *c, void *stream)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_run: context must not be NULL");
    const ir_model *m = c->e->plan->model;
    for (int32_t i = 0; i < c->n_in; i++) {
        const char *name = m->values[c->in[i].value].name;
        if (!c->in_bound[i]) return ingot_fail(INGOT_ERR_STATE, "input '%s' is not bound", name);
        if (!ing_shape_known(&c->in[i].t)) {
            char sb[128];
            return ingot_fail(INGOT_ERR_STATE, "input '%s' has shape %s: set its shape with ingot_context_set_input_shape",
                              name, ing_shape_str(&c->in[i].t, sb, sizeof sb));
        }
        size_t need = ing_nbytes(&c->in[i].t);
        if (c->in_size[i] < need)
            return ingot_fail(INGOT_ERR_SHAPE, "input '%s': bound buffer holds %zu bytes, its shape needs %zu", name,
                              c->in_size[i], need);
    }
    c->ran = 0;
    double t0 = now_ms();
    ING_TRY(c->e->backend->run(c->state, c->in, c->n_in, c->out, c->n_out, stream));
    c->last_host_ms = now_ms() - t0;
    c->ran = 1;
    if (c->profiling) {
        ING_TRY(c->e->backend->get_profile(c->state, c->node_ms, m->n_nodes));
        c->profiled = 1;
    }
    return INGOT_OK;
}

ingot_status ingot_context_get_output(ingot_context *c, const char *name, ingot_tensor_info *info,
                                      const void **data, size_t *size)
{
    if (!c || !name) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_get_output: context and name must not be NULL");
    int j = find(c, c->out, c->n_out, name);
    if (j < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no output named '%s'", name);
    if (!c->ran) return ingot_fail(INGOT_ERR_STATE, "output '%s': the context has not run successfully yet", name);
    const ing_tensor *t = &c->out[j].t;
    if (info) {
        memset(info, 0, sizeof *info);
        info->name = c->e->plan->model->values[c->out[j].value].name;
        info->dtype = (ingot_dtype)t->dtype;
        info->rank = t->rank;
        for (int d = 0; d < t->rank; d++) info->dims[d] = t->dims[d];
    }
    if (data) *data = t->data;
    if (size) *size = ing_nbytes(t);
    return INGOT_OK;
}

ingot_status ingot_context_set_timing(ingot_context *c, int on)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_timing: context must not be NULL");
    c->timing = on != 0;
    if (c->e->backend->set_timing) c->e->backend->set_timing(c->state, c->timing);
    return INGOT_OK;
}

ingot_status ingot_context_get_timing(const ingot_context *c, ingot_run_timing *t)
{
    if (!c || !t) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_get_timing: context and t must not be NULL");
    if (!c->timing || !c->ran) return ingot_fail(INGOT_ERR_STATE, "no timed run: enable timing, then run");
    ingot_run_timing r = {0};
    if (c->e->backend->get_timing) ING_TRY(c->e->backend->get_timing(c->state, &r));
    else r.compute_ms = c->last_host_ms;
    r.host_ms = c->last_host_ms;
    *t = r;
    return INGOT_OK;
}

ingot_status ingot_context_set_cuda_graph(ingot_context *c, int on)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_cuda_graph: context must not be NULL");
    if (c->e->backend->set_cuda_graph) c->e->backend->set_cuda_graph(c->state, on != 0);
    return INGOT_OK;
}

size_t ingot_engine_num_steps(const ingot_engine *e)
{
    return e ? (size_t)e->plan->model->bodies[0].n_nodes : 0;
}

ingot_status ingot_engine_get_step(const ingot_engine *e, size_t index, ingot_step_info *info)
{
    if (!e || !info) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_get_step: engine and info must not be NULL");
    const ir_model *m = e->plan->model;
    const ir_body *b = &m->bodies[0];
    if (index >= (size_t)b->n_nodes)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "step %zu out of range (the engine has %d steps)", index, b->n_nodes);
    int32_t id = b->nodes[index];
    const ir_node *n = &m->nodes[id];
    memset(info, 0, sizeof *info);
    info->op = n->op;
    info->name = n->name ? n->name : "";
    info->kernel = e->plan->steps && e->plan->steps[id].kernel ? e->plan->steps[id].kernel : "";
    info->n_origin = n->n_origin;
    info->origin = (const char *const *)n->origin;
    return INGOT_OK;
}

ingot_status ingot_context_set_profiling(ingot_context *c, int on)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_profiling: context must not be NULL");
    const ing_backend *be = c->e->backend;
    on = on != 0;
    if (on && (!be->set_profiling || !be->get_profile))
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "the %s backend cannot profile steps", be->name);
    const ir_model *m = c->e->plan->model;
    if (on && !c->node_ms) {
        c->node_ms = ing_calloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(double));
        if (!c->node_ms) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a profile of %d nodes", m->n_nodes);
    }
    if (be->set_profiling) ING_TRY(be->set_profiling(c->state, on));
    c->profiling = on;
    c->profiled = 0;
    return INGOT_OK;
}

ingot_status ingot_context_get_step_times(const ingot_context *c, double *ms, size_t n)
{
    if (!c || (n && !ms)) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_get_step_times: context and ms must not be NULL");
    if (!c->profiling || !c->profiled)
        return ingot_fail(INGOT_ERR_STATE, "no profiled run: enable profiling, then run");
    const ir_body *b = &c->e->plan->model->bodies[0];
    if (n > (size_t)b->n_nodes)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "%zu step times asked for, the engine has %d steps", n, b->n_nodes);
    for (size_t i = 0; i < n; i++) ms[i] = c->node_ms[b->nodes[i]];
    return INGOT_OK;
}

ingot_status ingot_context_get_alloc_count(const ingot_context *c, uint64_t *count)
{
    if (!c || !count) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_get_alloc_count: context and count must not be NULL");
    int64_t k = c->e->backend->alloc_count ? c->e->backend->alloc_count(c->state) : -1;
    if (k < 0) return ingot_fail(INGOT_ERR_UNSUPPORTED, "the %s backend does not count its allocations", c->e->backend->name);
    *count = (uint64_t)k;
    return INGOT_OK;
}
