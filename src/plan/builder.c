/* The builder: ONNX -> IR -> (passes) -> kernels and memory plan -> engine. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "core/alloc.h"
#include "core/status.h"
#include "ir/edit.h"
#include "ir/infer.h"
#include "onnx/importer.h"
#include "opt/passes.h"
#include "plan/io_format.h"
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

/* Optimization profiles: check each against the model, leave symbolic the dims that vary
 * (fixed where min == max) and return the entries for the plan (*out, *n; caller frees). */
static ingot_status apply_profiles(ir_model *m, const ingot_build_opts *o, engine_profile **out, int32_t *n)
{
    *out = NULL;
    *n = 0;
    if (!o->n_profiles) return INGOT_OK;
    if (!o->profiles) return ingot_fail(INGOT_ERR_INVALID_ARG, "%zu profiles given without an array", o->n_profiles);
    const ir_body *b = &m->bodies[0];
    if (o->n_profiles > (size_t)b->n_in)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "%zu input profiles given, the model has %d inputs", o->n_profiles, b->n_in);
    engine_profile *pr = ing_calloc(o->n_profiles, sizeof *pr);
    if (!pr) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for %zu input profiles", o->n_profiles);
    ingot_status st = INGOT_OK;
    for (size_t k = 0; k < o->n_profiles && st == INGOT_OK; k++) {
        const ingot_input_profile *ip = &o->profiles[k];
        int32_t v = -1;
        for (int32_t i = 0; ip->name && i < b->n_in; i++)
            if (!strcmp(m->values[b->in[i]].name, ip->name)) v = b->in[i];
        if (v < 0) {
            st = ingot_fail(INGOT_ERR_NOT_FOUND, "profile %zu names '%s', which is not an input of the model", k,
                            ip->name ? ip->name : "(null)");
            break;
        }
        for (size_t q = 0; q < k; q++)
            if (pr[q].value == v) st = ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s' has two profiles", ip->name);
        for (size_t s = 0; s < o->n_shapes && st == INGOT_OK; s++)
            if (o->shapes[s].name && !strcmp(o->shapes[s].name, ip->name))
                st = ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s' is given both a fixed shape and a profile", ip->name);
        ir_value *iv = &m->values[v];
        if (st == INGOT_OK && (ip->rank < 0 || ip->rank > IR_MAX_RANK || (iv->t.rank >= 0 && iv->t.rank != ip->rank)))
            st = ingot_fail(INGOT_ERR_SHAPE, "profile of input '%s': rank %d, the model has rank %d (allowed 0..%d)",
                            ip->name, ip->rank, iv->t.rank, IR_MAX_RANK);
        for (int32_t d = 0; d < ip->rank && st == INGOT_OK; d++) {
            int64_t lo = ip->min[d], mid = ip->opt[d], hi = ip->max[d], fixed = iv->t.rank >= 0 ? iv->t.dims[d] : -1;
            if (!(0 <= lo && lo <= mid && mid <= hi))
                st = ingot_fail(INGOT_ERR_SHAPE, "profile of input '%s': dim %d has min %lld, opt %lld, max %lld; "
                                "need 0 <= min <= opt <= max", ip->name, d, (long long)lo, (long long)mid, (long long)hi);
            else if (fixed >= 0 && (lo != fixed || hi != fixed))
                st = ingot_fail(INGOT_ERR_SHAPE, "profile of input '%s': dim %d ranges over [%lld, %lld], the model "
                                "fixes it to %lld", ip->name, d, (long long)lo, (long long)hi, (long long)fixed);
        }
        if (st != INGOT_OK) break;
        pr[k].value = v;
        pr[k].rank = ip->rank;
        memcpy(pr[k].min, ip->min, sizeof pr[k].min);
        memcpy(pr[k].opt, ip->opt, sizeof pr[k].opt);
        memcpy(pr[k].max, ip->max, sizeof pr[k].max);
        iv->t.rank = ip->rank;
        for (int32_t d = 0; d < ip->rank; d++) iv->t.dims[d] = ip->min[d] == ip->max[d] ? ip->min[d] : -1;
    }
    if (st != INGOT_OK) {
        ing_free(pr);
        return st;
    }
    *out = pr;
    *n = (int32_t)o->n_profiles;
    return INGOT_OK;
}

/* Plan the arena for the profiles' max shapes: infer with the inputs at max, plan, record
 * every planned slot's size, then give every value back its symbolic shape. */
static ingot_status plan_for_max(engine_plan *plan)
{
    ir_model *m = plan->model;
    size_t nv = (size_t)(m->n_values ? m->n_values : 1);
    ing_tensor *saved = ing_malloc(nv * sizeof *saved);
    plan->planned_bytes = ing_malloc(nv * sizeof(int64_t));
    if (!saved || !plan->planned_bytes) {
        ing_free(saved);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory planning for %d values", m->n_values);
    }
    for (int32_t i = 0; i < m->n_values; i++) saved[i] = m->values[i].t;
    for (int32_t k = 0; k < plan->n_profiles; k++) {
        ir_value *iv = &m->values[plan->profiles[k].value];
        for (int32_t d = 0; d < plan->profiles[k].rank; d++) iv->t.dims[d] = plan->profiles[k].max[d];
    }
    ingot_status st = ir_infer_model(m);
    if (st == INGOT_OK) st = plan_memory(plan);
    for (int32_t i = 0; i < m->n_values; i++) {
        int planned = st == INGOT_OK && plan->arena_offset && plan->arena_offset[i] >= 0;
        plan->planned_bytes[i] = planned ? (int64_t)ing_nbytes(&m->values[i].t) : -1;
        void *data = m->values[i].t.data; /* constants keep their bytes */
        m->values[i].t = saved[i];
        m->values[i].t.data = data;
    }
    ing_free(saved);
    if (st != INGOT_OK) return ingot_fail_prefix(st, "planning memory for the profiles' max shapes");
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
    ingot_build_opts v1; /* a version-1 struct ends before input_formats: the rest defaults */
    if (opts->version < 2) {
        ingot_build_opts_init(&v1);
        memcpy(&v1, opts, offsetof(ingot_build_opts, input_formats));
        opts = &v1;
    }
    const ing_backend *b = ing_backend_get(opts->backend);
    ingot_status st;
    engine_plan *plan = NULL;
    engine_profile *profiles = NULL;
    int32_t n_profiles = 0;
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
    if ((st = apply_profiles(m, opts, &profiles, &n_profiles)) != INGOT_OK) goto fail;
    for (int32_t i = 0; i < m->n_nodes; i++)
        if ((st = b->supports(m, &m->nodes[i])) != INGOT_OK) goto fail;
    if ((st = ir_infer_model(m)) != INGOT_OK) goto fail;
    opt_options oo = {opts->backend, opts->precision, b->has_kernel};
    if ((st = opt_run(m, &oo, opts->disabled_passes, opts->n_disabled_passes, opts->verbose)) != INGOT_OK) goto fail;
    if (opts->n_input_formats || opts->n_output_formats) { /* after assign_precision: its Casts fold in */
        if ((st = io_format_apply(m, opts)) != INGOT_OK) goto fail;
        if ((st = ir_compact(m)) != INGOT_OK || (st = ir_infer_model(m)) != INGOT_OK) goto fail;
    }
    if ((st = engine_plan_create(m, &plan)) != INGOT_OK) goto fail;
    m = NULL; /* owned by the plan now */
    plan->target.backend = opts->backend;
    plan->target.precision = opts->precision;
    /* the passes renumber values: find each profiled input again by name */
    for (int32_t k = 0; k < n_profiles; k++) {
        const ir_body *b0 = &plan->model->bodies[0];
        profiles[k].value = -1;
        for (int32_t i = 0; i < b0->n_in; i++)
            if (!strcmp(plan->model->values[b0->in[i]].name, opts->profiles[k].name)) profiles[k].value = b0->in[i];
        if (profiles[k].value < 0) {
            st = ingot_fail(INGOT_ERR_MODEL, "input '%s' of the profile is no longer an input after optimization",
                            opts->profiles[k].name);
            goto fail;
        }
    }
    plan->profiles = profiles;
    plan->n_profiles = n_profiles;
    profiles = NULL;
    if ((st = plan->n_profiles ? plan_for_max(plan) : plan_memory(plan)) != INGOT_OK) goto fail;
    ing_prepare_opts po = {cache, cache_path, opts->verbose, opts->tune || cache_path};
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
    ing_free(profiles);
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
