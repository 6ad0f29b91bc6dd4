/* eliminate_identity: Identity / inference Dropout / Cast to its own dtype / identity Transpose /
 * Reshape, Flatten, Squeeze, Expand, Tile, Concat keeping the shape, or reshape chains back to
 * the start shape → readers read the input. Preconditions: static shapes (main graph); no mask. */
#include "opt/passes.h"

#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "ir/op.h"

/* Is v an output of any body (the main graph's outputs are bound by name; a subgraph's are
 * read by its If/Loop/Scan)? */
static int is_body_output(const ir_model *m, int32_t v)
{
    for (int32_t b = 0; b < m->n_bodies; b++)
        for (int32_t k = 0; k < m->bodies[b].n_out; k++)
            if (m->bodies[b].out[k] == v) return 1;
    return 0;
}

static int known_const(const ir_model *m, int32_t v)
{
    return v >= 0 && m->values[v].kind == IR_VALUE_CONST && m->values[v].t.data && ing_numel(&m->values[v].t) == 1;
}

/* The output shape the op's own inference derives from its inputs alone (declared output types
 * do not count: a rewrite must follow from the inputs). 1 when fully known. */
static int inferred_out(const ir_model *m, const ir_node *n, ing_tensor *o0)
{
    const ir_op_def *d = ir_op_lookup(n->op);
    if (!d || !d->infer || n->n_in > 64 || n->n_out > 64 || n->n_out < 1) return 0;
    const ing_tensor *in[64];
    ing_tensor tmp[64], *out[64];
    for (int32_t i = 0; i < n->n_in; i++) in[i] = n->in[i] >= 0 ? &m->values[n->in[i]].t : NULL;
    for (int32_t j = 0; j < n->n_out; j++) {
        memset(&tmp[j], 0, sizeof tmp[j]);
        tmp[j].rank = -1;
        out[j] = n->out[j] >= 0 ? &tmp[j] : NULL;
    }
    if (!out[0]) return 0;
    /* a failure here is the model's error; leave it for inference to report */
    if (d->infer(n, in, n->n_in, out, n->n_out) != INGOT_OK) return 0;
    *o0 = tmp[0];
    return ing_shape_known(o0);
}

/* Ops that only relabel the shape: the elements stay in order. */
static int pure_reshape(const ir_node *n)
{
    return (!n->domain[0] || !strcmp(n->domain, "ai.onnx")) &&
           (!strcmp(n->op, "Reshape") || !strcmp(n->op, "Flatten") || !strcmp(n->op, "Squeeze") ||
            !strcmp(n->op, "Unsqueeze"));
}

/* The node writing activation x, which a main-graph node reads; -1 when none does. A value
 * read in the main graph is written there (a subgraph's values are out of its scope), so the
 * producer is a main-graph node once it is known to write x. */
static int32_t producer_in_main(const ir_model *m, int32_t x)
{
    int32_t q = m->values[x].producer;
    if (m->values[x].kind != IR_VALUE_ACTIVATION || q < 0 || q >= m->n_nodes) return -1;
    for (int32_t j = 0; j < m->nodes[q].n_out; j++)
        if (m->nodes[q].out[j] == x) return q;
    return -1;
}

/* A chain of pure reshapes of the main graph that ends in the shape it started from (Unsqueeze
 * then Squeeze, Reshape there and back) is the identity: the value before the chain whose
 * static shape equals o, walking back from n through at most 8 such ops; else -1. */
static int32_t reshape_chain_source(const ir_model *m, const ir_node *n, const ing_tensor *o)
{
    const ir_node *p = n;
    for (int depth = 0; depth < 8; depth++) {
        int32_t x = p->in[0];
        if (x < 0 || !ing_shape_known(&m->values[x].t)) return -1;
        if (depth > 0 && m->values[x].t.dtype == o->dtype && ing_same_shape(&m->values[x].t, o)) return x;
        int32_t q = producer_in_main(m, x);
        if (q < 0) return -1;
        p = &m->nodes[q];
        if (!pure_reshape(p) || p->n_in < 1) return -1;
    }
    return -1;
}

/* Does node n (in body b) pass its input 0 through unchanged to output 0? */
static int passes_through(const ir_model *m, int32_t b, const ir_node *n, const int32_t *uses)
{
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return 0;
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return 0;
    const ing_tensor *x = &m->values[n->in[0]].t;
    const char *op = n->op;
    if (!strcmp(op, "Identity")) return n->n_out == 1 && x->dtype != 0;
    if (!strcmp(op, "Dropout")) {
        /* the mask output must be absent or unused; training only with a constant ratio 0 */
        if (n->n_out > 2) return 0;
        if (n->n_out == 2 && n->out[1] >= 0 && (uses[n->out[1]] || is_body_output(m, n->out[1]))) return 0;
        if (n->opset < 7 && ir_attr_int(n, "is_test", 0) == 0) return 0; /* opset 1-6: training */
        int32_t ratio = n->n_in > 1 ? n->in[1] : -1, train = n->n_in > 2 ? n->in[2] : -1;
        if (train < 0) return 1;
        if (!known_const(m, train)) return 0;
        const ing_tensor *t = &m->values[train].t;
        if (ing_load_i64(t->dtype, t->data, 0) == 0) return 1;
        if (!known_const(m, ratio)) return 0;
        return ing_load_f64(m->values[ratio].t.dtype, m->values[ratio].t.data, 0) == 0.0;
    }
    if (!strcmp(op, "Cast")) {
        const ir_attr *to = ir_attr_find(n, "to");
        return to && to->type == IR_ATTR_INT && x->dtype != 0 && to->i == x->dtype;
    }
    if (!strcmp(op, "CastLike")) {
        return n->n_in == 2 && n->in[1] >= 0 && x->dtype != 0 && m->values[n->in[1]].t.dtype == x->dtype;
    }
    if (!strcmp(op, "Transpose")) {
        size_t np;
        const int64_t *perm = ir_attr_ints(n, "perm", &np);
        if (perm) {
            for (size_t i = 0; i < np; i++)
                if (perm[i] != (int64_t)i) return 0;
            return x->rank < 0 || (size_t)x->rank == np;
        }
        /* the default reverses the axes: a no-op up to rank 1; ranks inside subgraphs may
         * change per iteration, so only the main graph's are trusted */
        return b == 0 && x->rank >= 0 && x->rank <= 1;
    }
    /* shape-only ops: with the same static shape they copy the elements in order. Shapes of
     * subgraph values can change between iterations, so only the main graph qualifies. */
    int shape_only = !strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") ||
                     !strcmp(op, "Expand") || !strcmp(op, "Tile") || (!strcmp(op, "Concat") && n->n_in == 1);
    if (!shape_only || b != 0 || n->n_out != 1 || !ing_shape_known(x)) return 0;
    ing_tensor o;
    return inferred_out(m, n, &o) && o.dtype == x->dtype && ing_same_shape(&o, x);
}

/* The value that node n's output 0 equals (its input 0 passed through, or the start of a
 * reshape chain), or -1. */
static int32_t forwarded(const ir_model *m, int32_t b, const ir_node *n, const int32_t *uses)
{
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return -1;
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return -1;
    if (passes_through(m, b, n, uses)) return n->in[0];
    ing_tensor o;
    if (b != 0 || !pure_reshape(n) || n->n_out != 1 || !inferred_out(m, n, &o)) return -1;
    return reshape_chain_source(m, n, &o);
}


static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    size_t nv = (size_t)(m->n_values ? m->n_values : 1);
    int32_t *uses = ing_malloc(nv * sizeof(int32_t)), *alias = ing_malloc(nv * sizeof(int32_t));
    if (!uses || !alias) {
        ing_free(uses);
        ing_free(alias);
        return ingot_fail(INGOT_ERR_NOMEM, "eliminate_identity: out of memory (%d values)", m->n_values);
    }
    ir_count_uses(m, uses);
    memset(alias, 0xff, nv * sizeof(int32_t));
    for (int32_t b = 0; b < m->n_bodies; b++) {
        for (int32_t k = 0; k < m->bodies[b].n_nodes; k++) {
            int32_t id = m->bodies[b].nodes[k];
            ir_node *n = &m->nodes[id];
            for (int32_t i = 0; i < n->n_in; i++) n->in[i] = ir_alias_resolve(alias, n->in[i]);
            int32_t x = forwarded(m, b, n, uses), y = n->out[0];
            if (x < 0) continue;
            if (is_body_output(m, y)) {
                /* the output's id must survive: let x's producer write y instead, when x is a
                 * plain activation of the main graph that nothing binds by its own id */
                int32_t p = b == 0 ? producer_in_main(m, x) : -1;
                if (p < 0 || is_body_output(m, x)) continue;
                ir_node *pn = &m->nodes[p];
                int32_t j = 0;
                while (pn->out[j] != x) j++;
                alias[x] = y;
                pn->out[j] = y;
                m->values[y].producer = p;
                m->values[x].producer = -1;
                uses[y] += uses[x];
                uses[x] = 0;
            } else {
                alias[y] = x;
                uses[x] += uses[y];
                uses[y] = 0;
            }
            /* n's own reads are gone */
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0) uses[ir_alias_resolve(alias, n->in[i])]--;
            ir_body_remove_at(m, b, k);
            k--;
            st->removed++;
        }
    }
    ir_alias_apply(m, alias);
    ing_free(uses);
    ing_free(alias);
    return INGOT_OK;
}

const opt_pass opt_pass_eliminate_identity = {
    "eliminate_identity",
    "remove Identity, inference Dropout, no-op Cast/Transpose/Reshape/Expand/Tile/Flatten/Squeeze",
    run};
