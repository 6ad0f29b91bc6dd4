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

static int wants(const ir_node *n) { return !n->domain[0] && !strcmp(n->op, "Mul"); }

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    return opt_rec_scan(m, wants, try_silu, st);
}

const opt_pass opt_pass_fuse_silu = {"fuse_silu", "x*Sigmoid(x) into one Swish node (alpha 1)", run};
