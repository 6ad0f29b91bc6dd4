/* The CPU executor: one slot per IR value, nodes run in body order.
 *
 * For each node: infer output shapes from the actual inputs, place each output (the caller's
 * bound memory, the planned arena offset, or the slot's own buffer, grown only when too small),
 * then run the kernel. Buffers persist across runs, so a steady state allocates nothing. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/cpu/cpu.h"
#include "core/alloc.h"

typedef struct slot {
    ing_tensor t;
    void *buf;   /* owned buffer (activations, body inputs) */
    size_t cap;  /* bytes */
    void *user;  /* caller-bound output memory for this run */
    size_t user_size;
} slot;

struct cpu_exec {
    const engine_plan *plan;
    const ir_model *m;
    slot *slots;
    void *scratch[4];
    size_t scratch_cap[4];
    uint8_t *arena;
    long allocs; /* allocations made by runs (0 in a steady state) */
    double *prof; /* per node id: ms of the current run, when profiling; else NULL */
};

static int poison_outputs;

void cpu_set_poison(int on) { poison_outputs = on; }

int cpu_op_allocates_outputs(const char *op)
{
    return !strcmp(op, "If") || !strcmp(op, "Loop") || !strcmp(op, "Scan");
}

const ir_model *cpu_model(cpu_exec *x) { return x->m; }

void *cpu_scratch(cpu_exec *x, int slot_id, size_t bytes)
{
    if (slot_id < 0 || slot_id > 3) {
        ingot_fail(INGOT_ERR_INVALID_ARG, "scratch slot %d out of range 0..3", slot_id);
        return NULL;
    }
    if (x->scratch_cap[slot_id] < bytes) {
        void *p = ing_malloc_aligned(bytes, 64);
        if (!p) {
            ingot_fail(INGOT_ERR_NOMEM, "out of memory for %zu bytes of kernel scratch", bytes);
            return NULL;
        }
        ing_free_aligned(x->scratch[slot_id]);
        x->scratch[slot_id] = p;
        x->scratch_cap[slot_id] = bytes;
        x->allocs++;
    }
    return x->scratch[slot_id];
}

/* Is v a view planned into the slot of its producer's input (plan/memplan.c)? Poisoning it
 * would destroy that input. */
static int shares_input_slot(const cpu_exec *x, int32_t v)
{
    const int64_t *off = x->plan->arena_offset;
    int32_t p = x->m->values[v].producer;
    if (!off || off[v] < 0 || p < 0) return 0;
    const ir_node *n = &x->m->nodes[p];
    return n->n_in > 0 && n->in[0] >= 0 && off[n->in[0]] == off[v];
}

/* Give value v's slot room for t's shape and point t.data at it. */
static ingot_status place(cpu_exec *x, int32_t v, ing_tensor *t)
{
    slot *s = &x->slots[v];
    const ir_value *iv = &x->m->values[v];
    int64_t n = ing_numel(t);
    if (n < 0) return ingot_fail(INGOT_ERR_SHAPE, "value '%s': shape not known at run time", iv->name);
    size_t esz = ingot_dtype_size((ingot_dtype)t->dtype), bytes;
    if (!esz) return ingot_fail(INGOT_ERR_UNSUPPORTED, "value '%s': element type %d has no size", iv->name, t->dtype);
    if (!ing_mul_fits((size_t)n, esz, &bytes))
        return ingot_fail(INGOT_ERR_SHAPE, "value '%s': %lld elements overflow the address space", iv->name, (long long)n);
    if (s->user) {
        if (bytes > s->user_size)
            return ingot_fail(INGOT_ERR_SHAPE, "output '%s' needs %zu bytes, the bound buffer holds %zu", iv->name, bytes, s->user_size);
        t->data = s->user;
    } else if (x->arena && x->plan->arena_offset && x->plan->arena_offset[v] >= 0 &&
               bytes <= engine_plan_slot_bytes(x->plan, v)) {
        t->data = x->arena + x->plan->arena_offset[v];
    } else {
        if (s->cap < bytes) {
            void *p = ing_malloc_aligned(bytes ? bytes : 1, 64);
            if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for value '%s' (%zu bytes)", iv->name, bytes);
            ing_free_aligned(s->buf);
            s->buf = p;
            s->cap = bytes;
            x->allocs++;
        }
        t->data = s->buf;
    }
    if (poison_outputs && bytes && !shares_input_slot(x, v)) memset(t->data, 0xA5, bytes);
    return INGOT_OK;
}

ing_tensor *cpu_alloc_value(cpu_exec *x, int32_t value, int32_t dtype, int32_t rank, const int64_t *dims)
{
    ing_tensor *t = &x->slots[value].t;
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    if (place(x, value, t) != INGOT_OK) return NULL;
    return t;
}

ingot_status cpu_set_value(cpu_exec *x, int32_t value, const ing_tensor *src)
{
    if (!ing_shape_known(src))
        return ingot_fail(INGOT_ERR_SHAPE, "value '%s': shape not known", x->m->values[value].name);
    ing_tensor *t = cpu_alloc_value(x, value, src->dtype, src->rank, src->dims);
    if (!t) return ingot_fail_prefix(INGOT_ERR_NOMEM, "setting value '%s'", x->m->values[value].name);
    size_t nb = ing_nbytes(src);
    if (nb && t->data != src->data) memmove(t->data, src->data, nb);
    return INGOT_OK;
}

const ing_tensor *cpu_get_value(cpu_exec *x, int32_t value) { return &x->slots[value].t; }

static ingot_status run_node(cpu_exec *x, int32_t node_id)
{
    const ir_node *n = &x->m->nodes[node_id];
    const ing_tensor *in[64];
    ing_tensor *out[64];
    if (n->n_in > 64 || n->n_out > 64) {
        if (n->n_in > 64) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "%d inputs, the CPU backend runs at most 64", n->n_in);
        return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "%d outputs, the CPU backend runs at most 64", n->n_out);
    }
    for (int32_t i = 0; i < n->n_in; i++) in[i] = n->in[i] >= 0 ? &x->slots[n->in[i]].t : NULL;
    for (int32_t j = 0; j < n->n_out; j++) out[j] = n->out[j] >= 0 ? &x->slots[n->out[j]].t : NULL;
    const cpu_kernel_def *k = cpu_kernel_lookup(n->op);
    if (!k) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "no CPU kernel for op type '%s'", n->op);
    if (!cpu_op_allocates_outputs(n->op)) {
        const ir_op_def *d = ir_op_lookup(n->op);
        if (!d || !d->infer) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "no shape inference for op type '%s'", n->op);
        ING_TRY(d->infer(n, in, n->n_in, out, n->n_out));
        for (int32_t j = 0; j < n->n_out; j++) {
            if (!out[j]) continue;
            if (!ing_shape_known(out[j])) {
                char sb[128];
                return IR_NODE_FAIL(n, INGOT_ERR_SHAPE, "output %d shape %s not known at run time", j,
                                    ing_shape_str(out[j], sb, sizeof sb));
            }
            ING_TRY(place(x, n->out[j], out[j]));
        }
    }
    return k->run(x, n, in, n->n_in, out, n->n_out);
}

ingot_status cpu_run_body(cpu_exec *x, int32_t body)
{
    if (body < 0 || body >= x->m->n_bodies)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "body %d out of range (%d bodies)", body, x->m->n_bodies);
    const ir_body *b = &x->m->bodies[body];
    if (!x->prof) {
        for (int32_t i = 0; i < b->n_nodes; i++) ING_TRY(run_node(x, b->nodes[i]));
        return INGOT_OK;
    }
    for (int32_t i = 0; i < b->n_nodes; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ingot_status st = run_node(x, b->nodes[i]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* += : a body inside a loop runs its nodes many times */
        x->prof[b->nodes[i]] += (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-6;
        ING_TRY(st);
    }
    return INGOT_OK;
}

/* ---- Build-time evaluation (constant folding) ------------------------------------------ */

/* An executor over model m with no plan: every output gets its slot's own buffer. The plan is
 * owned by the evaluator so that place() sees no arena. */
typedef struct cpu_eval {
    cpu_exec x;
    engine_plan plan;
} cpu_eval;

ingot_status cpu_eval_begin(const ir_model *m, cpu_exec **out)
{
    cpu_eval *e = ing_calloc(1, sizeof *e);
    if (!e) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a constant-folding evaluator");
    e->plan.model = (ir_model *)m;
    e->x.plan = &e->plan;
    e->x.m = m;
    e->x.slots = ing_calloc((size_t)(m->n_values ? m->n_values : 1), sizeof(slot));
    if (!e->x.slots) {
        ing_free(e);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a constant-folding evaluator (%d values)",
                          m->n_values);
    }
    *out = &e->x;
    return INGOT_OK;
}

/* Run node `node` of the evaluator's model; every non-omitted input must be a constant with
 * bytes. outs[j] (n_out entries) receive each output's dtype, shape and data; the caller owns
 * each data buffer and frees it with ing_free_aligned (on failure nothing is handed over). An
 * omitted output gets data NULL and rank -1. */
ingot_status cpu_eval_node(cpu_exec *x, int32_t node, ing_tensor *outs)
{
    const ir_model *m = x->m;
    if (node < 0 || node >= m->n_nodes)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "node %d out of range (%d nodes)", node, m->n_nodes);
    const ir_node *n = &m->nodes[node];
    if (cpu_op_allocates_outputs(n->op))
        return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "control flow is not evaluated at build time");
    for (int32_t i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        const ir_value *v = &m->values[n->in[i]];
        if (v->kind != IR_VALUE_CONST || (!v->t.data && ing_nbytes(&v->t)))
            return IR_NODE_FAIL(n, INGOT_ERR_INVALID_ARG, "input %d ('%s') is not a constant", i, v->name);
        x->slots[n->in[i]].t = v->t; /* the model's bytes, borrowed */
    }
    ING_TRY(run_node(x, node));
    for (int32_t j = 0; j < n->n_out; j++) {
        if (n->out[j] < 0) {
            memset(&outs[j], 0, sizeof outs[j]);
            outs[j].rank = -1;
            continue;
        }
        slot *s = &x->slots[n->out[j]];
        outs[j] = s->t;
        outs[j].data = s->buf; /* place() put the output in the slot's own buffer */
        s->buf = NULL;
        s->cap = 0;
        s->t.data = NULL;
    }
    return INGOT_OK;
}

void cpu_eval_end(cpu_exec *x)
{
    if (!x) return;
    cpu_eval *e = (cpu_eval *)x; /* x is the first member */
    for (int32_t i = 0; i < x->m->n_values; i++) ing_free_aligned(x->slots[i].buf);
    for (int i = 0; i < 4; i++) ing_free_aligned(x->scratch[i]);
    ing_free(x->slots);
    ing_free(e);
}

static void exec_destroy(void *state)
{
    cpu_exec *x = state;
    if (!x) return;
    if (x->slots)
        for (int32_t i = 0; i < x->m->n_values; i++) ing_free_aligned(x->slots[i].buf);
    for (int i = 0; i < 4; i++) ing_free_aligned(x->scratch[i]);
    ing_free(x->slots);
    ing_free_aligned(x->arena);
    ing_free(x->prof);
    ing_free(x);
}

static ingot_status exec_create(const engine_plan *plan, void **state)
{
    cpu_exec *x = ing_calloc(1, sizeof *x);
    if (!x) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CPU context");
    x->plan = plan;
    x->m = plan->model;
    x->slots = ing_calloc((size_t)(x->m->n_values ? x->m->n_values : 1), sizeof(slot));
    if (!x->slots) goto nomem;
    if (plan->arena_bytes) {
        x->arena = ing_malloc_aligned((size_t)plan->arena_bytes, 64);
        if (!x->arena) goto nomem;
    }
    for (int32_t i = 0; i < x->m->n_values; i++) {
        const ir_value *v = &x->m->values[i];
        if (v->kind == IR_VALUE_CONST) x->slots[i].t = v->t;
    }
    *state = x;
    return INGOT_OK;
nomem:
    exec_destroy(x);
    return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CPU context (arena %llu bytes)",
                      (unsigned long long)plan->arena_bytes);
}

static ingot_status ctx_create(const engine_plan *plan, void *engine_state, void **state)
{
    (void)engine_state;
    return exec_create(plan, state);
}

static ingot_status exec_run(void *state, ing_binding *in, int32_t n_in, ing_binding *out, int32_t n_out,
                             void *stream)
{
    (void)stream;
    cpu_exec *x = state;
    for (int32_t i = 0; i < n_in; i++) x->slots[in[i].value].t = in[i].t;
    for (int32_t j = 0; j < n_out; j++) { /* allocator outputs are copied out after the run */
        x->slots[out[j].value].user = out[j].alloc ? NULL : out[j].user;
        x->slots[out[j].value].user_size = out[j].alloc ? 0 : out[j].user_size;
    }
    if (x->prof) memset(x->prof, 0, (size_t)x->m->n_nodes * sizeof(double));
    ingot_status st = cpu_run_body(x, 0);
    for (int32_t j = 0; j < n_out; j++) {
        slot *s = &x->slots[out[j].value];
        s->user = NULL;
        if (st != INGOT_OK) continue;
        out[j].t = s->t;
        if (out[j].alloc && (st = ing_binding_reserve(&out[j], ing_nbytes(&s->t), NULL)) != INGOT_OK) continue;
        /* an output that is an input or a constant, or served by an allocator: copy into the
         * caller's memory */
        if (out[j].user && s->t.data != out[j].user) {
            size_t nb = ing_nbytes(&s->t);
            if (nb > out[j].user_size) {
                st = ingot_fail(INGOT_ERR_SHAPE, "output '%s' needs %zu bytes, the bound buffer holds %zu",
                                x->m->values[out[j].value].name, nb, out[j].user_size);
                continue;
            }
            memcpy(out[j].user, s->t.data, nb);
            out[j].t.data = out[j].user;
        }
    }
    return st;
}

static ingot_status exec_set_profiling(void *state, int on)
{
    cpu_exec *x = state;
    if (!on) {
        ing_free(x->prof);
        x->prof = NULL;
        return INGOT_OK;
    }
    if (!x->prof) {
        x->prof = ing_calloc((size_t)(x->m->n_nodes ? x->m->n_nodes : 1), sizeof(double));
        if (!x->prof) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a profile of %d nodes", x->m->n_nodes);
    }
    return INGOT_OK;
}

static ingot_status exec_get_profile(void *state, double *ms, int32_t n_nodes)
{
    cpu_exec *x = state;
    if (!x->prof) return ingot_fail(INGOT_ERR_STATE, "profiling is off");
    int32_t n = n_nodes < x->m->n_nodes ? n_nodes : x->m->n_nodes;
    memcpy(ms, x->prof, (size_t)n * sizeof(double));
    return INGOT_OK;
}

static int64_t exec_alloc_count(void *state) { return ((cpu_exec *)state)->allocs; }

static ingot_status cpu_available(void) { return INGOT_OK; }

static ingot_status cpu_supports(const ir_model *m, const ir_node *n)
{
    (void)m;
    if (!cpu_kernel_lookup(n->op))
        return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "op type '%s' (opset %d) has no CPU kernel", n->op, n->opset);
    return INGOT_OK;
}

/* FusedElementwise has a CPU kernel (the oracle), but an interpreter: slower than the separate
 * vectorized kernels it would replace, so passes must not create it for CPU engines. */
static int cpu_has_kernel(const char *op)
{
    return cpu_kernel_lookup(op) != NULL && strcmp(op, "FusedElementwise") != 0;
}

static ingot_status cpu_prepare(engine_plan *plan, const ing_prepare_opts *po)
{
    (void)po; /* no tactics on the CPU */
    ir_model *m = plan->model;
    plan->steps = ing_calloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(engine_step_info));
    if (!plan->steps) return ingot_fail(INGOT_ERR_NOMEM, "out of memory preparing steps");
    for (int32_t i = 0; i < m->n_nodes; i++) {
        char name[96];
        snprintf(name, sizeof name, "cpu.%s", m->nodes[i].op);
        plan->steps[i].kernel = ing_strdup(name);
        if (!plan->steps[i].kernel) return ingot_fail(INGOT_ERR_NOMEM, "out of memory preparing steps");
    }
    return INGOT_OK;
}

const ing_backend ing_backend_cpu = {
    .name = "cpu",
    .id = INGOT_BACKEND_CPU,
    .available = cpu_available,
    .supports = cpu_supports,
    .has_kernel = cpu_has_kernel,
    .prepare = cpu_prepare,
    .ctx_create = ctx_create,
    .ctx_destroy = exec_destroy,
    .run = exec_run,
    .set_profiling = exec_set_profiling,
    .get_profile = exec_get_profile,
    .alloc_count = exec_alloc_count,
};

/* ---- for other backends: the CPU kernels as a fallback ---- */

ingot_status cpu_exec_new(const engine_plan *plan, cpu_exec **out) { return exec_create(plan, (void **)out); }

void cpu_exec_free(cpu_exec *x) { exec_destroy(x); }

ingot_status cpu_run_kernel(cpu_exec *x, const ir_node *n, const ing_tensor *const *in, ing_tensor *const *out)
{
    const cpu_kernel_def *k = cpu_kernel_lookup(n->op);
    if (!k) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "no CPU kernel for op type '%s'", n->op);
    if (poison_outputs)
        for (int32_t j = 0; j < n->n_out; j++)
            if (out[j] && out[j]->data) memset(out[j]->data, 0xA5, ing_nbytes(out[j]));
    return k->run(x, n, in, n->n_in, out, n->n_out);
}
