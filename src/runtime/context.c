/* ingot_context: input shapes and bindings, persistent outputs, one backend state. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/status.h"
#include "ir/op.h"
#include "runtime/runtime.h"

struct ingot_context {
    const ingot_engine *e;
    void *state;
    int32_t n_in, n_out;
    ing_binding *in, *out;
    uint8_t *in_bound;
    size_t *in_size;
    int ran;
    int pending;             /* a run was enqueued and not yet synchronized */
    int timing;
    double last_host_ms, last_enqueue_ms, t_enqueue;
    ingot_output_allocator *out_alloc; /* per output: the caller's allocator (copied) */
    int out_sets;            /* 1 or 2 sets of context-owned output buffers */
    /* CPU engines: the second output set is kept here (the backend's buffers are the first) */
    void **out_copy;         /* [n_out] */
    size_t *out_copy_cap;
    int64_t cpu_allocs_before;
    uint64_t cpu_copy_allocs;
    ingot_run_counters last, total;
    int profiling, profiled; /* profiled: a run finished since profiling was turned on */
    double *node_ms;         /* per node id, filled from the backend after each profiled run */
    /* Output shapes predicted from the input shapes (check_output_room): per value, and the
     * input shapes they were predicted for (rank, dims) */
    ing_tensor *pred;
    int64_t (*pred_in)[IR_MAX_RANK + 1];
    int pred_valid;
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
    c->out_alloc = ing_calloc((size_t)(b->n_out + 1), sizeof(ingot_output_allocator));
    c->out_copy = ing_calloc((size_t)(2 * b->n_out + 1), sizeof(void *));
    c->out_copy_cap = ing_calloc((size_t)(2 * b->n_out + 1), sizeof(size_t));
    c->out_sets = 1;
    c->pred = ing_calloc((size_t)m->n_values + 1, sizeof(ing_tensor));
    c->pred_in = ing_calloc((size_t)(b->n_in + 1), sizeof *c->pred_in);
    if (!c->in || !c->out || !c->in_bound || !c->in_size || !c->out_alloc || !c->out_copy || !c->out_copy_cap ||
        !c->pred || !c->pred_in) {
        ingot_context_destroy(c);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a context");
    }
    for (int32_t i = 0; i < b->n_in; i++) {
        c->in[i].value = b->in[i];
        c->in[i].t = m->values[b->in[i]].t;
        c->in[i].t.data = NULL;
    }
    for (int32_t i = 0; i < b->n_in; i++) c->in[i].name = m->values[b->in[i]].name;
    for (int32_t j = 0; j < b->n_out; j++) {
        c->out[j].value = b->out[j];
        c->out[j].name = m->values[b->out[j]].name;
    }
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
    if (c->pending && c->e->backend->sync) c->e->backend->sync(c->state, c->out, c->n_out);
    if (c->state) c->e->backend->ctx_destroy(c->state);
    if (c->out_copy)
        for (int32_t j = 0; j < 2 * c->n_out; j++) ing_free_aligned(c->out_copy[j]);
    ing_free(c->out_copy);
    ing_free(c->out_copy_cap);
    ing_free(c->out_alloc);
    ing_free(c->in);
    ing_free(c->out);
    ing_free(c->in_bound);
    ing_free(c->in_size);
    ing_free(c->node_ms);
    ing_free(c->pred);
    ing_free(c->pred_in);
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
    const engine_plan *pl = c->e->plan;
    for (int32_t k = 0; k < pl->n_profiles; k++) {
        const engine_profile *pr = &pl->profiles[k];
        if (pr->value != c->in[i].value) continue;
        for (int32_t d = 0; d < rank && d < pr->rank; d++)
            if (dims[d] < pr->min[d] || dims[d] > pr->max[d])
                return ingot_fail(INGOT_ERR_SHAPE, "input '%s': dim %d is %lld, outside the engine's profile range "
                                  "[%lld, %lld] (rebuild with a wider --min-shapes/--max-shapes)", name, d,
                                  (long long)dims[d], (long long)pr->min[d], (long long)pr->max[d]);
    }
    c->in[i].t.rank = rank;
    for (int32_t d = 0; d < rank; d++) c->in[i].t.dims[d] = dims[d];
    return INGOT_OK;
}

/* Can this context's engine use memory of `kind` for `what` at p? */
static ingot_status check_memory(const ingot_context *c, const void *p, ingot_memory kind, const char *what)
{
    const ing_backend *be = c->e->backend;
    if ((unsigned)kind >= INGOT_MEMORY_COUNT)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "%s: memory kind %d, allowed 0..%d", what, (int)kind, INGOT_MEMORY_COUNT - 1);
    if (kind == INGOT_MEMORY_DEVICE && be->id == INGOT_BACKEND_CPU)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: device memory given to a cpu engine (allowed: host, pinned, mapped)", what);
    if (p && be->mem_check) return be->mem_check(p, kind, what);
    return INGOT_OK;
}

ingot_status ingot_context_bind_input_memory(ingot_context *c, const char *name, const void *data, size_t size,
                                             ingot_memory kind)
{
    if (!c || !name || !data) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_bind_input: context, name and data must not be NULL");
    int i = find(c, c->in, c->n_in, name);
    if (i < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no input named '%s'", name);
    char what[160];
    snprintf(what, sizeof what, "input '%.100s'", name);
    ING_TRY(check_memory(c, data, kind, what));
    c->in[i].t.data = (void *)data;
    c->in[i].memory = (int32_t)kind;
    c->in_size[i] = size;
    c->in_bound[i] = 1;
    return INGOT_OK;
}

ingot_status ingot_context_bind_input(ingot_context *c, const char *name, const void *data, size_t size)
{
    return ingot_context_bind_input_memory(c, name, data, size, INGOT_MEMORY_HOST);
}

ingot_status ingot_context_bind_output_memory(ingot_context *c, const char *name, void *data, size_t size,
                                              ingot_memory kind)
{
    if (!c || !name) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_bind_output: context and name must not be NULL");
    int j = find(c, c->out, c->n_out, name);
    if (j < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no output named '%s'", name);
    char what[160];
    snprintf(what, sizeof what, "output '%.100s'", name);
    ING_TRY(check_memory(c, data, kind, what));
    c->out[j].user = data;
    c->out[j].user_size = data ? size : 0;
    c->out[j].memory = data ? (int32_t)kind : INGOT_MEMORY_HOST;
    c->out[j].alloc = NULL;
    return INGOT_OK;
}

ingot_status ingot_context_bind_output(ingot_context *c, const char *name, void *data, size_t size)
{
    return ingot_context_bind_output_memory(c, name, data, size, INGOT_MEMORY_HOST);
}

ingot_status ingot_context_set_output_allocator(ingot_context *c, const char *name, const ingot_output_allocator *a)
{
    if (!c || !name) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_output_allocator: context and name must not be NULL");
    int j = find(c, c->out, c->n_out, name);
    if (j < 0) return ingot_fail(INGOT_ERR_NOT_FOUND, "no output named '%s'", name);
    if (a) {
        if (!a->reallocate)
            return ingot_fail(INGOT_ERR_INVALID_ARG, "output '%s': the output allocator has no reallocate callback", name);
        char what[160];
        snprintf(what, sizeof what, "output allocator of '%.100s'", name);
        ingot_status st = check_memory(c, NULL, a->memory, what);
        if (st != INGOT_OK) return st == INGOT_ERR_UNSUPPORTED ? INGOT_ERR_INVALID_ARG : st;
        c->out_alloc[j] = *a;
    }
    c->out[j].alloc = a ? &c->out_alloc[j] : NULL;
    c->out[j].user = NULL;
    c->out[j].user_size = 0;
    c->out[j].memory = a ? (int32_t)a->memory : INGOT_MEMORY_HOST;
    return INGOT_OK;
}

ingot_status ingot_context_set_output_buffers(ingot_context *c, int count)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_output_buffers: context must not be NULL");
    if (count != 1 && count != 2)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_output_buffers: %d output buffer sets, allowed 1 or 2", count);
    c->out_sets = count;
    if (c->e->backend->set_output_buffers) c->e->backend->set_output_buffers(c->state, count);
    return INGOT_OK;
}

/* CPU engines with two output sets: run N's outputs are copied into set N % 2, since the
 * backend's own buffers are rewritten by every run. */
static ingot_status keep_cpu_outputs(ingot_context *c)
{
    int set = (int)(c->total.runs % 2);
    for (int32_t j = 0; j < c->n_out; j++) {
        ing_binding *o = &c->out[j];
        if (o->user || o->alloc) continue;
        size_t nb = ing_nbytes(&o->t);
        void **buf = &c->out_copy[2 * j + set];
        size_t *cap = &c->out_copy_cap[2 * j + set];
        if (*cap < nb || !*buf) {
            void *p = ing_malloc_aligned(nb ? nb : 1, 64);
            if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for output '%s' (%zu bytes)", o->name, nb);
            ing_free_aligned(*buf);
            *buf = p;
            *cap = nb;
            c->cpu_copy_allocs++;
        }
        if (nb) memcpy(*buf, o->t.data, nb);
        o->t.data = *buf;
    }
    return INGOT_OK;
}

/* What follows a completed run: allocator shapes, CPU output sets, profile, counters. */
static ingot_status finish_run(ingot_context *c)
{
    const ing_backend *be = c->e->backend;
    c->last_host_ms = now_ms() - c->t_enqueue;
    for (int32_t j = 0; j < c->n_out; j++) ing_binding_notify(&c->out[j]);
    if (c->out_sets == 2 && !be->set_output_buffers) ING_TRY(keep_cpu_outputs(c));
    if (c->profiling) {
        ING_TRY(be->get_profile(c->state, c->node_ms, c->e->plan->model->n_nodes));
        c->profiled = 1;
    }
    if (be->counters) {
        be->counters(c->state, &c->last, &c->total);
    } else {
        int64_t k = be->alloc_count ? be->alloc_count(c->state) : 0;
        uint64_t copies = c->cpu_copy_allocs;
        memset(&c->last, 0, sizeof c->last);
        c->last.runs = 1;
        c->last.host_allocs = (uint64_t)(k - c->cpu_allocs_before) + copies;
        c->cpu_copy_allocs = 0;
        c->total.runs++;
        c->total.host_allocs += c->last.host_allocs;
    }
    return INGOT_OK;
}

static int has_body(const ir_node *n)
{
    for (int32_t a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == IR_ATTR_GRAPH) return 1;
    return 0;
}

/* Shape inference over the main graph from the inputs' shapes and the constants, as the
 * builder does: each op's infer function in step order. A shape that depends on data (or on a
 * control-flow body, or on anything an infer function rejects here) stays unknown, and so do
 * the shapes computed from it. */
static void predict_shapes(ingot_context *c)
{
    const ir_model *m = c->e->plan->model;
    const ir_body *b = &m->bodies[0];
    for (int32_t v = 0; v < m->n_values; v++) {
        c->pred[v] = m->values[v].t;
        if (m->values[v].kind != IR_VALUE_CONST) c->pred[v].data = NULL;
    }
    for (int32_t i = 0; i < c->n_in; i++) {
        c->pred[c->in[i].value] = c->in[i].t;
        c->pred[c->in[i].value].data = NULL;
    }
    for (int32_t k = 0; k < b->n_nodes; k++) {
        const ir_node *n = &m->nodes[b->nodes[k]];
        const ir_op_def *d = ir_op_lookup(n->op);
        const ing_tensor *in[64];
        ing_tensor *out[64];
        int ok = d && !has_body(n) && n->n_in <= 64 && n->n_out <= 64;
        for (int32_t i = 0; ok && i < n->n_in; i++) in[i] = n->in[i] >= 0 ? &c->pred[n->in[i]] : NULL;
        for (int32_t j = 0; ok && j < n->n_out; j++) {
            out[j] = n->out[j] >= 0 ? &c->pred[n->out[j]] : NULL;
            if (out[j]) out[j]->rank = -1;
        }
        if (ok && d->infer(n, in, n->n_in, out, n->n_out) != INGOT_OK) ok = 0;
        for (int32_t j = 0; j < n->n_out; j++) {
            if (n->out[j] < 0) continue;
            ing_tensor *t = &c->pred[n->out[j]];
            t->data = NULL;
            if (!ok) t->rank = -1;
        }
    }
}

/* Before a run: every output bound to the caller's memory (not through an allocator) must hold
 * the output's shape for these input shapes, where that shape follows from them; then nothing
 * is enqueued when it does not. Outputs whose shape depends on data are checked when their
 * producer runs. The prediction is redone only when the input shapes change. */
static ingot_status check_output_room(ingot_context *c)
{
    int bound = 0;
    for (int32_t j = 0; j < c->n_out; j++) bound |= c->out[j].user && !c->out[j].alloc;
    if (!bound) return INGOT_OK;
    int same = c->pred_valid;
    for (int32_t i = 0; same && i < c->n_in; i++) {
        const ing_tensor *t = &c->in[i].t;
        same = c->pred_in[i][0] == t->rank && !memcmp(&c->pred_in[i][1], t->dims, (size_t)t->rank * sizeof(int64_t));
    }
    if (!same) {
        predict_shapes(c);
        for (int32_t i = 0; i < c->n_in; i++) {
            c->pred_in[i][0] = c->in[i].t.rank;
            memcpy(&c->pred_in[i][1], c->in[i].t.dims, (size_t)c->in[i].t.rank * sizeof(int64_t));
        }
        c->pred_valid = 1;
    }
    for (int32_t j = 0; j < c->n_out; j++) {
        const ing_binding *o = &c->out[j];
        const ing_tensor *t = &c->pred[o->value];
        if (!o->user || o->alloc || !ing_shape_known(t) || ing_nbytes(t) <= o->user_size) continue;
        char sb[128];
        return ingot_fail(INGOT_ERR_SHAPE, "output '%s' has shape %s for these input shapes and needs %zu bytes; the "
                          "bound buffer holds %zu (nothing was run)", o->name, ing_shape_str(t, sb, sizeof sb),
                          ing_nbytes(t), o->user_size);
    }
    return INGOT_OK;
}

ingot_status ingot_context_enqueue(ingot_context *c, void *stream)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_enqueue: context must not be NULL");
    const ir_model *m = c->e->plan->model;
    const ing_backend *be = c->e->backend;
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
    ING_TRY(check_output_room(c));
    if (c->pending) ING_TRY(ingot_context_synchronize(c));
    c->ran = 0;
    c->t_enqueue = now_ms();
    c->cpu_allocs_before = be->alloc_count ? be->alloc_count(c->state) : 0;
    ING_TRY(be->run(c->state, c->in, c->n_in, c->out, c->n_out, stream));
    c->last_enqueue_ms = now_ms() - c->t_enqueue;
    c->ran = 1;
    if (be->sync) {
        c->pending = 1;
        return INGOT_OK;
    }
    return finish_run(c);
}

ingot_status ingot_context_synchronize(ingot_context *c)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_synchronize: context must not be NULL");
    if (!c->pending) return INGOT_OK;
    c->pending = 0;
    ingot_status st = c->e->backend->sync(c->state, c->out, c->n_out);
    if (st != INGOT_OK) {
        c->ran = 0;
        return st;
    }
    return finish_run(c);
}

ingot_status ingot_context_run(ingot_context *c, void *stream)
{
    ING_TRY(ingot_context_enqueue(c, stream));
    return ingot_context_synchronize(c);
}

ingot_status ingot_context_get_counters(const ingot_context *c, ingot_run_counters *last, ingot_run_counters *total)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_get_counters: context must not be NULL");
    if (last && !c->total.runs) return ingot_fail(INGOT_ERR_STATE, "no run finished yet: no counters for the last run");
    if (last) *last = c->last;
    if (total) *total = c->total;
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
    if (c->pending) return ingot_fail(INGOT_ERR_STATE, "the last run is still in flight: call ingot_context_synchronize first");
    ingot_run_timing r = {0};
    if (c->e->backend->get_timing) ING_TRY(c->e->backend->get_timing(c->state, &r));
    else r.compute_ms = c->last_host_ms;
    r.host_ms = c->last_host_ms;
    r.enqueue_ms = c->last_enqueue_ms;
    *t = r;
    return INGOT_OK;
}

ingot_status ingot_context_set_cuda_graph(ingot_context *c, int on)
{
    if (!c) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_context_set_cuda_graph: context must not be NULL");
    if (c->e->backend->set_cuda_graph) c->e->backend->set_cuda_graph(c->state, on != 0);
    return INGOT_OK;
}

ingot_status ingot_engine_get_input_profile(const ingot_engine *e, const char *name, ingot_input_profile *profile)
{
    if (!e || !name || !profile)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_get_input_profile: engine, name and profile must not be NULL");
    const ir_model *m = e->plan->model;
    const ir_body *b = &m->bodies[0];
    for (int32_t i = 0; i < b->n_in; i++) {
        const ir_value *v = &m->values[b->in[i]];
        if (strcmp(v->name, name) != 0) continue;
        ingot_input_profile r;
        memset(&r, 0, sizeof r);
        r.name = v->name;
        r.rank = v->t.rank;
        for (int32_t d = 0; d < v->t.rank; d++) r.min[d] = r.opt[d] = r.max[d] = v->t.dims[d];
        for (int32_t k = 0; k < e->plan->n_profiles; k++) {
            const engine_profile *pr = &e->plan->profiles[k];
            if (pr->value != b->in[i]) continue;
            r.rank = pr->rank;
            memcpy(r.min, pr->min, sizeof r.min);
            memcpy(r.opt, pr->opt, sizeof r.opt);
            memcpy(r.max, pr->max, sizeof r.max);
        }
        *profile = r;
        return INGOT_OK;
    }
    return ingot_fail(INGOT_ERR_NOT_FOUND, "no input named '%s'", name);
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
