/* matmul_rows: Reshape(x [d0..dk, K] → [M, K]) → Gemm(·, W, c) or MatMul(·, W) → Reshape(→ [d0..dk, N])
 * becomes MatMul(x, W as [K, N]) [+ c]: the same products on the same rows, without the flattening
 * that kept fuse_epilogue (next) from folding the bias, an activation and a residual into the
 * matmul. Transformers' GPT-2 exports every Conv1D this way (addmm between two reshapes), and
 * fuse_attention leaves a sequence-first out-projection so.
 * Preconditions: x of rank >= 3 with known dims, a row-wise matmul (opt_rec_rowwise_matmul), the
 * two Reshapes' outputs read only by the next node, the last one giving back x's leading dims. */
#include <string.h>

#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"
#include "opt/recognize.h"

/* Row-wise matmul g reading a flattening of a rank >= 3 value, unflattened after it: x or -1;
 * *out the last Reshape. */
static int32_t flattened_rows(const opt_rec_ctx *c, int32_t g, int32_t *out)
{
    const ir_model *m = c->m;
    if (!opt_rec_rowwise_matmul(c, g)) return -1;
    const ir_node *n = &m->nodes[g];
    const ir_value *w = &m->values[n->in[1]];
    int32_t r1 = opt_rec_producer(c, n->in[0], "Reshape");
    if (r1 < 0 || !opt_rec_only_use(c, n->in[0], g)) return -1;
    int32_t x = m->nodes[r1].in[0], r2 = opt_rec_consumer(c, n->out[0], "Reshape");
    if (x < 0 || r2 < 0) return -1;
    const ing_tensor *xt = &m->values[x].t, *yt = &m->values[m->nodes[r2].out[0]].t, *gt = &m->values[n->out[0]].t;
    if (xt->rank < 3 || yt->rank != xt->rank || !ing_shape_known(xt) || !ing_shape_known(yt) || !ing_shape_known(gt) ||
        gt->rank != 2 || xt->dtype != yt->dtype)
        return -1;
    int64_t rows = 1;
    for (int d = 0; d < xt->rank - 1; d++) {
        if (xt->dims[d] != yt->dims[d]) return -1; /* the same leading dims on both sides */
        rows *= xt->dims[d];
    }
    int trans = !strcmp(n->op, "Gemm") && ir_attr_int(n, "transB", 0) != 0;
    int64_t k = w->t.dims[trans ? 1 : 0], nn = w->t.dims[trans ? 0 : 1];
    if (rows != gt->dims[0] || xt->dims[xt->rank - 1] != k || yt->dims[yt->rank - 1] != nn || gt->dims[1] != nn)
        return -1;
    *out = r2;
    return x;
}

static ingot_status try_rows(opt_rec_ctx *c, int32_t g, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    int32_t r2, x = flattened_rows(c, g, &r2);
    *done = 0;
    if (x < 0) return INGOT_OK;
    int32_t r1 = m->values[m->nodes[g].in[0]].producer, y = m->nodes[r2].out[0];
    int32_t bias = m->nodes[g].n_in > 2 ? m->nodes[g].in[2] : -1, mm = y, wkn = m->nodes[g].in[1], id;
    if (!strcmp(m->nodes[g].op, "Gemm") && ir_attr_int(&m->nodes[g], "transB", 0) != 0) {
        const ing_tensor *wt = &m->values[wkn].t; /* [N, K] → [K, N] */
        int64_t dims[2] = {wt->dims[1], wt->dims[0]};
        ING_TRY(ir_add_const_swapped(m, wkn, 1, dims[1], dims[0], 2, dims, "kn", &wkn));
    }
    if (bias >= 0) {
        ING_TRY(opt_rec_new_value(c, y, "rows", &mm));
        m->values[mm].t = m->values[y].t;
        m->values[mm].t.data = NULL;
    }
    ING_TRY(opt_rec_new_node(c, g, "MatMul", 13, (int32_t[]){x, wkn}, 2, mm, &id));
    if (bias < 0) {
        ING_TRY(opt_rec_commit(c, id, g, (int32_t[]){r1, g, r2}, 3));
    } else {
        ING_TRY(opt_rec_commit(c, id, g, (int32_t[]){r1, g}, 2));
        ING_TRY(opt_rec_new_node(c, r2, "Add", 14, (int32_t[]){mm, bias}, 2, y, &id));
        ING_TRY(opt_rec_commit(c, id, r2, (int32_t[]){r2}, 1));
    }
    st->fused += 3;
    st->added += bias >= 0 ? 2 : 1;
    *done = 1;
    return INGOT_OK;
}

static int is_matmul(const ir_node *n) { return !n->domain[0] && (!strcmp(n->op, "Gemm") || !strcmp(n->op, "MatMul")); }

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    return opt_rec_scan(m, is_matmul, try_rows, st);
}

const opt_pass opt_pass_matmul_rows = {
    "matmul_rows", "Reshape -> Gemm/MatMul -> Reshape over the rows of a value into MatMul (+ bias) on the value itself", run};
