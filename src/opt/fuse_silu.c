/* fuse_silu: Mul(x, Sigmoid(x)) (either operand order) → Swish(x) with alpha 1 (opset 24).
 * Preconditions: float x; the Sigmoid's output read only by that Mul (not a graph output).
 * Works in every body. */
#include <string.h>

#include "core/status.h"
#include "opt/passes.h"
#include "opt/recognize.h"

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
