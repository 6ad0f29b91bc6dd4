/* fold_constants: a deterministic node whose inputs are all constants, or Shape/Size of a value
 * whose shape is static → its outputs become constants computed by the CPU backend; node removed.
 * Preconditions: not control flow or random; a known CPU kernel; every output at most 64 MiB. */
#include "opt/passes.h"

#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "ir/infer.h"
#include "ir/op.h"
#include "backend/cpu/cpu.h"

extern const opt_pass opt_pass_eliminate_identity;

/* A folded output larger than this stays a computed activation: baking it into the engine would
 * bloat the file and the device's weight memory for what one kernel recomputes cheaply
 * (typically an Expand/ConstantOfShape/Tile of a small constant). */
#define FOLD_MAX_BYTES ((size_t)64 << 20)

/* Every sweep but the last folds at least one node, so the loop ends anyway; this only bounds
 * the build time of a pathological graph. */
#define MAX_SWEEPS 1000

/* Ops that must run every time: control flow (their bodies read runtime values and the CPU
 * kernels allocate their own outputs) and random generators. */
static int never_fold(const char *op)
{
    static const char *const ops[] = {"If", "Loop", "Scan", "RandomNormal", "RandomUniform", "RandomNormalLike",
                                      "RandomUniformLike", "Bernoulli", "Multinomial"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(op, ops[i])) return 1;
    return 0;
}

static int default_domain(const ir_node *n) { return !n->domain[0] || !strcmp(n->domain, "ai.onnx"); }

static int has_graph_attr(const ir_node *n)
{
    for (int32_t a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == IR_ATTR_GRAPH) return 1;
    return 0;
}

static int all_inputs_const(const ir_model *m, const ir_node *n)
{
    for (int32_t i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        const ir_value *v = &m->values[n->in[i]];
        if (v->kind != IR_VALUE_CONST || !ing_shape_known(&v->t) || (!v->t.data && ing_nbytes(&v->t))) return 0;
    }
    return 1;
}

/* Turn value v into a constant with t's dtype, shape and bytes; it has no producer any more. */
static ingot_status make_const(ir_model *m, int32_t v, const ing_tensor *t)
{
    ir_value *iv = &m->values[v];
    ING_TRY(ir_value_set_const(iv, t->dtype, t->rank, t->dims, t->data, ing_nbytes(t)));
    iv->producer = -1;
    for (int d = 0; d < IR_MAX_RANK; d++) {
        ing_free(iv->dim_params[d]);
        iv->dim_params[d] = NULL;
    }
    return INGOT_OK;
}

/* The output shapes node n's inference gives from its inputs' current values. 1 when every
 * present output is fully known and within FOLD_MAX_BYTES. */
static int outputs_foldable(const ir_model *m, const ir_node *n)
{
    const ir_op_def *d = ir_op_lookup(n->op);
    if (!d || !d->infer || n->n_in > 64 || n->n_out > 64) return 0;
    const ing_tensor *in[64];
    ing_tensor tmp[64], *out[64];
    for (int32_t i = 0; i < n->n_in; i++) in[i] = n->in[i] >= 0 ? &m->values[n->in[i]].t : NULL;
    for (int32_t j = 0; j < n->n_out; j++) {
        memset(&tmp[j], 0, sizeof tmp[j]);
        tmp[j].rank = -1;
        out[j] = n->out[j] >= 0 ? &tmp[j] : NULL;
    }
    if (d->infer(n, in, n->n_in, out, n->n_out) != INGOT_OK) return 0; /* left for the run to report */
    for (int32_t j = 0; j < n->n_out; j++) {
        if (!out[j]) continue;
        int64_t numel = ing_numel(out[j]);
        size_t esz = ingot_dtype_size((ingot_dtype)out[j]->dtype), bytes;
        if (numel < 0 || !esz || !ing_mul_fits((size_t)numel, esz, &bytes) || bytes > FOLD_MAX_BYTES) return 0;
    }
    return 1;
}

/* Is value v's static shape a fact? Shapes of the main graph come from inference, except that a
 * graph output also keeps the shape the model declares for it, which nothing enforces: then
 * its producer's inference must give the same shape by itself. */
static int shape_is_fact(const ir_model *m, int32_t v)
{
    const ir_value *iv = &m->values[v];
    if (!ing_shape_known(&iv->t)) return 0;
    if (iv->kind != IR_VALUE_ACTIVATION || !ir_is_graph_output(m, v)) return 1;
    if (iv->producer < 0) return 0;
    const ir_node *p = &m->nodes[iv->producer];
    const ir_op_def *d = ir_op_lookup(p->op);
    if (!d || !d->infer || p->n_in > 64 || p->n_out > 64) return 0;
    const ing_tensor *in[64];
    ing_tensor tmp[64], *out[64];
    for (int32_t i = 0; i < p->n_in; i++) in[i] = p->in[i] >= 0 ? &m->values[p->in[i]].t : NULL;
    for (int32_t j = 0; j < p->n_out; j++) {
        memset(&tmp[j], 0, sizeof tmp[j]);
        tmp[j].rank = -1;
        out[j] = p->out[j] >= 0 ? &tmp[j] : NULL;
    }
    if (d->infer(p, in, p->n_in, out, p->n_out) != INGOT_OK) return 0;
    for (int32_t j = 0; j < p->n_out; j++)
        if (p->out[j] == v) return ing_shape_known(&tmp[j]) && ing_same_shape(&tmp[j], &iv->t);
    return 0;
}

/* Shape (with opset 15's start/end) or Size of a main-graph value with a static shape. */
static ingot_status fold_shape(ir_model *m, const ir_node *n, int *done)
{
    *done = 0;
    if (n->n_in != 1 || n->in[0] < 0 || n->n_out != 1 || n->out[0] < 0) return INGOT_OK;
    if (!shape_is_fact(m, n->in[0])) return INGOT_OK;
    const ing_tensor *x = &m->values[n->in[0]].t;
    int64_t vals[IR_MAX_RANK];
    ing_tensor t = {.dtype = INGOT_DTYPE_I64, .rank = 1, .data = vals};
    if (!strcmp(n->op, "Size")) {
        t.rank = 0;
        vals[0] = ing_numel(x);
    } else {
        int64_t r = x->rank, start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < 0 ? 0 : end > r ? r : end;
        t.dims[0] = end > start ? end - start : 0;
        for (int64_t i = 0; i < t.dims[0]; i++) vals[i] = x->dims[start + i];
    }
    ING_TRY(make_const(m, n->out[0], &t));
    *done = 1;
    return INGOT_OK;
}

/* Evaluate node id now; *done = 0 when it cannot be (the node then stays as it is). */
static ingot_status fold_node(ir_model *m, cpu_exec *x, int32_t id, int *done)
{
    *done = 0;
    const ir_node *n = &m->nodes[id];
    if (n->n_out > 64 || !cpu_kernel_lookup(n->op) || !outputs_foldable(m, n)) return INGOT_OK;
    ing_tensor outs[64];
    ingot_status st = cpu_eval_node(x, id, outs);
    if (st == INGOT_ERR_NOMEM) return st;
    if (st != INGOT_OK) return INGOT_OK; /* the kernel rejects these inputs: the run will say so */
    for (int32_t j = 0; j < n->n_out; j++) {
        if (n->out[j] >= 0 && st == INGOT_OK) st = make_const(m, n->out[j], &outs[j]);
        ing_free_aligned(outs[j].data);
    }
    ING_TRY(st);
    *done = 1;
    return INGOT_OK;
}

static ingot_status sweep(ir_model *m, cpu_exec *x, opt_stats *st, int *changed)
{
    *changed = 0;
    for (int32_t b = 0; b < m->n_bodies; b++) {
        for (int32_t k = 0; k < m->bodies[b].n_nodes; k++) {
            int32_t id = m->bodies[b].nodes[k];
            const ir_node *n = &m->nodes[id];
            if (!default_domain(n) || never_fold(n->op) || has_graph_attr(n)) continue;
            int done = 0;
            if (all_inputs_const(m, n)) ING_TRY(fold_node(m, x, id, &done));
            /* shapes inside subgraphs may change from one iteration to the next: main graph only */
            else if (b == 0 && (!strcmp(n->op, "Shape") || !strcmp(n->op, "Size")))
                ING_TRY(fold_shape(m, n, &done));
            if (!done) continue;
            ir_body_remove_at(m, b, k);
            k--;
            st->removed++;
            *changed = 1;
        }
    }
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    cpu_exec *x;
    ING_TRY(cpu_eval_begin(m, &x));
    ingot_status s = INGOT_OK;
    /* A fold makes shapes known downstream (a Reshape's shape input, say), which lets the next
     * sweep fold Shape nodes there; it also turns shape ops into no-ops that eliminate_identity
     * (which ran before any constant existed) can now see, e.g. an Expand to the shape its input
     * already has. Re-infer, drop those, and sweep again until nothing changes. */
    for (int i = 0; i < MAX_SWEEPS; i++) {
        int changed;
        if ((s = sweep(m, x, st, &changed)) != INGOT_OK || !changed) break;
        if ((s = ir_infer_model(m)) != INGOT_OK) break;
        int32_t before = st->removed;
        if ((s = opt_pass_eliminate_identity.run(m, o, st)) != INGOT_OK) break;
        if (st->removed != before && (s = ir_infer_model(m)) != INGOT_OK) break;
    }
    cpu_eval_end(x);
    return s;
}

const opt_pass opt_pass_fold_constants = {
    "fold_constants",
    "evaluate nodes whose inputs are all constants, and Shape/Size of static shapes, at build time", run};
