/* fuse_silu: Mul(x, Sigmoid(x)) (either operand order) → Swish(x) with alpha 1 (opset 24).
 * Preconditions: float x; the Sigmoid's output read only by that Mul (not a graph output).
 * Works in every body. */
#include <string.h>

#include "core/status.h"
#include "opt/passes.h"

/* The matcher kit, defined in fuse_layernorm.c (the pass files share it without a header). */
typedef struct opt_rec_ctx {
    ir_model *m;
    int32_t b;          /* the body being matched */
    int32_t *uses;      /* per value: uses by node inputs and body outputs (ir_count_uses) */
    int32_t *node_body; /* per node: the body that runs it, or -1 */
    int32_t cap_v, cap_n;
} opt_rec_ctx;

ingot_status opt_rec_refresh(opt_rec_ctx *c);
void opt_rec_free(opt_rec_ctx *c);
int32_t opt_rec_producer(const opt_rec_ctx *c, int32_t v, const char *op);
int opt_rec_only_use(const opt_rec_ctx *c, int32_t v, int32_t node);
int32_t opt_rec_other(const ir_node *n, int32_t v);
int32_t opt_rec_consumer(const opt_rec_ctx *c, int32_t v, const char *op);
int opt_rec_scalar(const opt_rec_ctx *c, int32_t v, int32_t max_rank, double *val);
int opt_rec_near(double v, double want);
int opt_rec_const_near(const opt_rec_ctx *c, int32_t v, int32_t max_rank, double want);
int opt_rec_is_float(int dt);
ingot_status opt_rec_new_node(opt_rec_ctx *c, int32_t like, const char *op, int32_t opset, const int32_t *in,
                              int32_t n_in, int32_t out, int32_t *id);
ingot_status opt_rec_attr_float(opt_rec_ctx *c, int32_t node, const char *name, float v);
ingot_status opt_rec_attr_int(opt_rec_ctx *c, int32_t node, const char *name, int64_t v);
ingot_status opt_rec_attr_string(opt_rec_ctx *c, int32_t node, const char *name, const char *v);
ingot_status opt_rec_attr_ints(opt_rec_ctx *c, int32_t node, const char *name, const int64_t *v, int32_t n);
ingot_status opt_rec_new_value(opt_rec_ctx *c, int32_t like, const char *suffix, int32_t *id);
ingot_status opt_rec_commit(opt_rec_ctx *c, int32_t node, int32_t slot_of, const int32_t *absorbed,
                            int32_t n_absorbed);

/* Mul(x, Sigmoid(x)) with the Sigmoid node's output read only by the Mul. 1 when rewritten. */
static ingot_status try_silu(opt_rec_ctx *c, int32_t mul, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    const ir_node *mn = &m->nodes[mul];
    *done = 0;
    if (mn->n_in != 2) return INGOT_OK;
    for (int i = 0; i < 2; i++) {
        int32_t s = mn->in[i], x = mn->in[1 - i];
        int32_t sg = opt_rec_producer(c, s, "Sigmoid");
        if (sg < 0 || m->nodes[sg].n_in != 1 || m->nodes[sg].in[0] != x || !opt_rec_only_use(c, s, mul)) continue;
        const ing_tensor *xt = &m->values[x].t;
        if (!opt_rec_is_float(xt->dtype) || m->values[mn->out[0]].t.dtype != xt->dtype) return INGOT_OK;
        int32_t nodes[2] = {sg, mul}, id;
        ING_TRY(opt_rec_new_node(c, mul, "Swish", 24, &x, 1, mn->out[0], &id));
        ING_TRY(opt_rec_attr_float(c, id, "alpha", 1.0f));
        ING_TRY(opt_rec_commit(c, id, mul, nodes, 2));
        st->fused += 2;
        st->added += 1;
        *done = 1;
        return INGOT_OK;
    }
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    opt_rec_ctx c = {.m = m};
    ingot_status s = opt_rec_refresh(&c);
    for (int32_t b = 0; s == INGOT_OK && b < m->n_bodies; b++) {
        c.b = b;
        for (int32_t k = 0; s == INGOT_OK && k < m->bodies[b].n_nodes; k++) {
            const ir_node *n = &m->nodes[m->bodies[b].nodes[k]];
            if (n->domain[0] || strcmp(n->op, "Mul")) continue;
            int done = 0;
            s = try_silu(&c, m->bodies[b].nodes[k], &done, st);
            if (done) k--; /* the Mul's slot now holds the Swish; the Sigmoid before it left */
        }
    }
    opt_rec_free(&c);
    return s;
}

const opt_pass opt_pass_fuse_silu = {"fuse_silu", "x*Sigmoid(x) into one Swish node (alpha 1)", run};
