/* The builder: ONNX -> IR -> (passes) -> kernels and memory plan -> engine. */
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "core/status.h"
#include "ir/infer.h"
#include "onnx/importer.h"
#include "opt/passes.h"
#include "plan/memplan.h"
#include "plan/timing_cache.h"
#include "runtime/runtime.h"

/* Fix input shapes given by the caller ("--shapes name:1x3x224x224"). */
static ingot_status apply_shapes(ir_model *m, const ingot_build_opts *o)
{
    const ir_body *b = &m->bodies[0];
    for (size_t s = 0; s < o->n_shapes; s++) {
        const ingot_input_shape *is = &o->shapes[s];
        if (!is->name) return ingot_fail(INGOT_ERR_INVALID_ARG, "input shape %zu has no name", s);
        int found = 0;
        for (int32_t i = 0; i < b->n_in; i++) {
            ir_value *v = &m->values[b->in[i]];
            if (strcmp(v->name, is->name) != 0) continue;
            found = 1;
            if (is->rank < 0 || is->rank > IR_MAX_RANK)
                return ingot_fail(INGOT_ERR_SHAPE, "input '%s': rank %d, allowed 0..%d", is->name, is->rank, IR_MAX_RANK);
            if (v->t.rank >= 0 && v->t.rank != is->rank)
                return ingot_fail(INGOT_ERR_SHAPE, "input '%s': shape of rank %d given, the model has rank %d",
                                  is->name, is->rank, v->t.rank);
            for (int32_t d = 0; d < is->rank; d++) {
                if (is->dims[d] < 0)
                    return ingot_fail(INGOT_ERR_SHAPE, "input '%s': dim %d is %lld, must be >= 0", is->name, d, (long long)is->dims[d]);
                if (v->t.rank >= 0 && v->t.dims[d] >= 0 && v->t.dims[d] != is->dims[d])
                    return ingot_fail(INGOT_ERR_SHAPE, "input '%s': dim %d given as %lld, the model fixes it to %lld",
                                      is->name, d, (long long)is->dims[d], (long long)v->t.dims[d]);
            }
            v->t.rank = is->rank;
            for (int32_t d = 0; d < is->rank; d++) v->t.dims[d] = is->dims[d];
        }
        if (!found) return ingot_fail(INGOT_ERR_NOT_FOUND, "--shapes names '%s', which is not an input of the model", is->name);
    }
    return INGOT_OK;
}

static ingot_status build_model(ir_model *m, const ingot_build_opts *opts, ingot_engine **out)
{
    ingot_build_opts defaults;
    if (!opts) {
        ingot_build_opts_init(&defaults);
        opts = &defaults;
    }
    if (opts->version == 0 || opts->version > INGOT_OPTS_VERSION) {
        ir_model_destroy(m);
        return ingot_fail(INGOT_ERR_INVALID_ARG, "build options version %u, supported 1..%u", opts->version, INGOT_OPTS_VERSION);
    }
    const ing_backend *b = ing_backend_get(opts->backend);
    ingot_status st;
    engine_plan *plan = NULL;
    ing_timing_cache *cache = NULL;
    if (!b) {
        ir_model_destroy(m);
        return ingot_fail(INGOT_ERR_BACKEND, "backend %d is not in this build of ingot (built: cpu%s)", opts->backend,
#ifdef INGOT_WITH_CUDA
                          ", cuda"
#else
                          ""
#endif
        );
    }
    if ((st = b->available()) != INGOT_OK) {
        ir_model_destroy(m);
        return st;
    }
    if ((unsigned)opts->precision >= INGOT_PRECISION_COUNT) {
        ir_model_destroy(m);
        return ingot_fail(INGOT_ERR_INVALID_ARG, "precision %d, allowed 0..%d", opts->precision, INGOT_PRECISION_COUNT - 1);
    }
    /* a corrupt cache fails before any work */
    const char *cache_path = opts->version >= 2 ? opts->timing_cache : NULL;
    if (cache_path && (st = tcache_load(cache_path, &cache)) != INGOT_OK) goto fail;
    if ((st = apply_shapes(m, opts)) != INGOT_OK) goto fail;
    for (int32_t i = 0; i < m->n_nodes; i++)
        if ((st = b->supports(m, &m->nodes[i])) != INGOT_OK) goto fail;
    if ((st = ir_infer_model(m)) != INGOT_OK) goto fail;
    opt_options oo = {opts->backend, opts->precision, b->has_kernel};
    if ((st = opt_run(m, &oo, opts->disabled_passes, opts->n_disabled_passes, opts->verbose)) != INGOT_OK) goto fail;
    if ((st = engine_plan_create(m, &plan)) != INGOT_OK) goto fail;
    m = NULL; /* owned by the plan now */
    plan->target.backend = opts->backend;
    plan->target.precision = opts->precision;
    if ((st = plan_memory(plan)) != INGOT_OK) goto fail;
    ing_prepare_opts po = {cache, cache_path, opts->verbose};
    if ((st = b->prepare(plan, &po)) != INGOT_OK) goto fail;
    /* the engine first: a cache is rewritten only after a successful build */
    ingot_engine *e = NULL;
    if ((st = runtime_engine_from_plan(plan, &e)) != INGOT_OK) goto fail;
    plan = NULL; /* owned by the engine now */
    if (cache && tcache_changed(cache) && (st = tcache_save(cache, cache_path)) != INGOT_OK) {
        ingot_engine_destroy(e);
        goto fail;
    }
    tcache_free(cache);
    *out = e;
    return INGOT_OK;
fail:
    tcache_free(cache);
    ir_model_destroy(m);
    engine_plan_destroy(plan);
    return st;
}

ingot_status ingot_builder_build_file(const char *path, const ingot_build_opts *opts, ingot_engine **out)
{
    if (!path || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_builder_build_file: path and out must not be NULL");
    ir_model *m;
    ING_TRY(onnx_import_file(path, &m));
    ingot_status st = build_model(m, opts, out);
    if (st != INGOT_OK) return ingot_fail_prefix(st, "building '%s'", path);
    return INGOT_OK;
}

ingot_status ingot_builder_build_buffer(const void *data, size_t size, const ingot_build_opts *opts, ingot_engine **out)
{
    if (!data || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_builder_build_buffer: data and out must not be NULL");
    ir_model *m;
    const char *dir = opts && opts->external_data_dir ? opts->external_data_dir : ".";
    ING_TRY(onnx_import_buffer(data, size, dir, &m));
    return build_model(m, opts, out);
}

size_t ingot_pass_count(void)
{
    size_t n;
    opt_pass_list(&n);
    return n;
}

const char *ingot_pass_name(size_t index, const char **what)
{
    size_t n;
    const opt_pass *const *l = opt_pass_list(&n);
    if (index >= n) return NULL;
    if (what) *what = l[index]->what;
    return l[index]->name;
}
