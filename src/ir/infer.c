/* Build-time shape inference: every op's infer function over the known shapes and constants.
 * Control flow (If/Loop/Scan) is handled here, because it needs the bodies. */
#include "ir/infer.h"

#include <string.h>

#include "core/status.h"
#include "ir/op.h"

static ingot_status infer_body(ir_model *m, int32_t body);

/* Merge what inference found into the value; a declared dim survives where inference has -1. */
static void merge(ir_value *v, const ing_tensor *t)
{
    if (t->dtype) v->t.dtype = t->dtype;
    if (t->rank < 0) return;
    if (v->t.rank == t->rank) {
        for (int i = 0; i < t->rank; i++)
            if (t->dims[i] >= 0) v->t.dims[i] = t->dims[i];
        return;
    }
    v->t.rank = t->rank;
    memcpy(v->t.dims, t->dims, sizeof v->t.dims);
}

static const ir_attr *graph_attr(const ir_node *n, const char *name)
{
    const ir_attr *a = ir_attr_find(n, name);
    return a && a->type == IR_ATTR_GRAPH ? a : NULL;
}

/* Seed a body input with dtype/shape when it declared none. */
static void seed(ir_model *m, int32_t v, int32_t dtype, int32_t rank, const int64_t *dims)
{
    ir_value *iv = &m->values[v];
    if (!iv->t.dtype) iv->t.dtype = dtype;
    if (iv->t.rank < 0 && rank >= 0) {
        iv->t.rank = rank;
        for (int i = 0; i < rank; i++) iv->t.dims[i] = dims ? dims[i] : -1;
    }
}

static void set_out(ir_model *m, const ir_node *n, int j, const ing_tensor *t)
{
    if (j < n->n_out && n->out[j] >= 0) merge(&m->values[n->out[j]], t);
}

static ingot_status infer_control(ir_model *m, int32_t node_id)
{
    const ir_node *n = &m->nodes[node_id];
    if (!strcmp(n->op, "If")) {
        const ir_attr *th = graph_attr(n, "then_branch"), *el = graph_attr(n, "else_branch");
        if (!th || !el) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "If needs then_branch and else_branch graphs");
        ING_TRY(infer_body(m, th->body));
        ING_TRY(infer_body(m, el->body));
        const ir_body *bt = &m->bodies[th->body], *be = &m->bodies[el->body];
        if (bt->n_out != n->n_out || be->n_out != n->n_out)
            return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "branches have %d and %d outputs, the node has %d",
                                bt->n_out, be->n_out, n->n_out);
        for (int j = 0; j < n->n_out; j++) {
            ing_tensor t = m->values[bt->out[j]].t, e = m->values[be->out[j]].t;
            t.data = NULL;
            if (t.rank != e.rank) t.rank = -1;
            else
                for (int i = 0; i < t.rank; i++)
                    if (t.dims[i] != e.dims[i]) t.dims[i] = -1;
            if (!t.dtype) t.dtype = e.dtype;
            set_out(m, n, j, &t);
        }
        return INGOT_OK;
    }
    if (!strcmp(n->op, "Loop")) {
        const ir_attr *ba = graph_attr(n, "body");
        if (!ba) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "Loop needs a body graph");
        const ir_body *b = &m->bodies[ba->body];
        int n_carried = n->n_in - 2;
        if (n_carried < 0 || b->n_in != n_carried + 2 || b->n_out < n_carried + 1)
            return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "Loop body has %d inputs and %d outputs for %d loop-carried values",
                                b->n_in, b->n_out, n_carried < 0 ? 0 : n_carried);
        seed(m, b->in[0], INGOT_DTYPE_I64, 0, NULL);
        seed(m, b->in[1], INGOT_DTYPE_BOOL, 0, NULL);
        for (int k = 0; k < n_carried; k++)
            if (n->in[2 + k] >= 0) {
                const ing_tensor *t = &m->values[n->in[2 + k]].t;
                seed(m, b->in[2 + k], t->dtype, t->rank, t->dims);
            }
        ING_TRY(infer_body(m, ba->body));
        b = &m->bodies[ba->body];
        for (int j = 0; j < n->n_out; j++) {
            if (1 + j >= b->n_out) break;
            ing_tensor t = m->values[b->out[1 + j]].t;
            t.data = NULL;
            if (j >= n_carried) { /* scan output: iterations stacked on a new first axis */
                if (t.rank >= 0 && t.rank < IR_MAX_RANK) {
                    memmove(t.dims + 1, t.dims, (size_t)t.rank * sizeof(int64_t));
                    t.dims[0] = -1;
                    t.rank++;
                } else {
                    t.rank = -1;
                }
            } else {
                for (int i = 0; i < (t.rank > 0 ? t.rank : 0); i++) t.dims[i] = -1; /* may change per iteration */
            }
            set_out(m, n, j, &t);
        }
        return INGOT_OK;
    }
    if (!strcmp(n->op, "Scan")) {
        const ir_attr *ba = graph_attr(n, "body");
        if (!ba) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "Scan needs a body graph");
        const ir_body *b = &m->bodies[ba->body];
        int first = n->opset < 9 ? 1 : 0; /* Scan-8 has sequence_lens first */
        int n_state = b->n_in - (int)ir_attr_int(n, "num_scan_inputs", 0);
        for (int k = 0; k < b->n_in && first + k < n->n_in; k++) {
            int32_t src = n->in[first + k];
            if (src < 0) continue;
            ing_tensor t = m->values[src].t;
            if (k >= n_state && t.rank > 0) { /* a scan input contributes one slice */
                t.rank--;
                for (int i = 0; i < t.rank; i++) t.dims[i] = -1;
            }
            seed(m, b->in[k], t.dtype, t.rank, t.dims);
        }
        ING_TRY(infer_body(m, ba->body));
        b = &m->bodies[ba->body];
        for (int j = 0; j < n->n_out && j < b->n_out; j++) {
            ing_tensor t = m->values[b->out[j]].t;
            t.data = NULL;
            if (j >= n_state) {
                if (t.rank >= 0 && t.rank < IR_MAX_RANK) t.rank++;
                else t.rank = -1;
                for (int i = 0; i < (t.rank > 0 ? t.rank : 0); i++) t.dims[i] = -1;
            }
            set_out(m, n, j, &t);
        }
        return INGOT_OK;
    }
    return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "not a control-flow op");
}

static int is_control(const char *op) { return !strcmp(op, "If") || !strcmp(op, "Loop") || !strcmp(op, "Scan"); }

static ingot_status infer_body(ir_model *m, int32_t body)
{
    for (int32_t k = 0; k < m->bodies[body].n_nodes; k++) {
        int32_t id = m->bodies[body].nodes[k];
        const ir_node *n = &m->nodes[id];
        if (is_control(n->op)) {
            ING_TRY(infer_control(m, id));
            continue;
        }
        const ir_op_def *d = ir_op_lookup(n->op);
        if (!d || !d->infer)
            return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "op type '%s' (opset %d) is not supported", n->op, n->opset);
        const ing_tensor *in[64];
        ing_tensor tmp[64], *out[64];
        if (n->n_in > 64 || n->n_out > 64)
            return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "%d inputs / %d outputs, at most 64 each", n->n_in, n->n_out);
        for (int32_t i = 0; i < n->n_in; i++) in[i] = n->in[i] >= 0 ? &m->values[n->in[i]].t : NULL;
        for (int32_t j = 0; j < n->n_out; j++) {
            memset(&tmp[j], 0, sizeof tmp[j]);
            tmp[j].rank = -1;
            out[j] = n->out[j] >= 0 ? &tmp[j] : NULL;
        }
        ING_TRY(d->infer(n, in, n->n_in, out, n->n_out));
        for (int32_t j = 0; j < n->n_out; j++)
            if (out[j]) merge(&m->values[n->out[j]], out[j]);
    }
    return INGOT_OK;
}

ingot_status ir_infer_model(ir_model *m)
{
    if (m->n_bodies == 0) return ingot_fail(INGOT_ERR_MODEL, "the model has no graph");
    return infer_body(m, 0);
}
