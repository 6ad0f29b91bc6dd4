/* fuse_attention: MatMul(Q[·s], Kᵀ[·s]) [÷|· const] [+ mask] → Softmax(last) [→ Where(IsNaN, 0)] →
 * MatMul(·, V) → Attention-23 (4-D, scale attribute, mask as input 3, Kᵀ's Transpose re-permuted);
 * then, where the heads are split by Reshape+Transpose before it and merged after it, the 3-D
 * Attention on the unsplit tensors (try_3d); and where it sits in the sequence-first layout of
 * PyTorch's nn.MultiheadAttention export (one packed in-projection on Transpose(x), Q/K/V gathered
 * out of it, heads split and merged by reshapes and transposes), the 3-D Attention reading the
 * packed projection of x itself, in place (try_seq_first).
 * Preconditions: static 4-D shapes, one float dtype, no broadcasting, scales > 0, masks finite or guarded. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"
#include "opt/recognize.h"

/* v = Mul(src, k) (either order) or Div(src, k) with k a positive finite one-element constant of
 * rank <= 4, v read only by `user`. Returns the node and *factor (k or 1/k); -1 when not. */
static int32_t scaled(const opt_rec_ctx *c, int32_t v, int32_t user, int32_t *src, double *factor)
{
    int32_t p = opt_rec_producer(c, v, NULL);
    if (p < 0 || !opt_rec_only_use(c, v, user)) return -1;
    const ir_node *n = &c->m->nodes[p];
    double k;
    if (n->n_in != 2) return -1;
    if (!strcmp(n->op, "Div")) {
        if (!opt_rec_scalar(c, n->in[1], 4, &k) || !(k > 0) || isinf(k)) return -1;
        *src = n->in[0];
        *factor = 1.0 / k;
        return p;
    }
    if (strcmp(n->op, "Mul")) return -1;
    for (int i = 0; i < 2; i++)
        if (opt_rec_scalar(c, n->in[1 - i], 4, &k) && k > 0 && !isinf(k)) {
            *src = n->in[i];
            *factor = k;
            return p;
        }
    return -1;
}

/* Every element of a constant is finite. */
static int const_finite(const opt_rec_ctx *c, int32_t v)
{
    const ir_value *x = &c->m->values[v];
    int64_t n = ing_numel(&x->t);
    if (x->kind != IR_VALUE_CONST || !x->t.data || n < 0 || !ing_dtype_is_float(x->t.dtype)) return 0;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(ing_load_f64(x->t.dtype, x->t.data, (size_t)i))) return 0;
    return 1;
}

/* The additive mask holds no -inf (or NaN), so no row of scores can be masked whole: a constant
 * of finite values, or Where(cond, a, b) over two such constants. Only then does a Softmax
 * without the exporter's NaN guard agree with Attention, which zeroes fully masked rows. */
static int mask_finite(const opt_rec_ctx *c, int32_t mask)
{
    if (const_finite(c, mask)) return 1;
    int32_t w = opt_rec_producer(c, mask, "Where");
    return w >= 0 && c->m->nodes[w].n_in == 3 && const_finite(c, c->m->nodes[w].in[1]) &&
           const_finite(c, c->m->nodes[w].in[2]);
}

/* A 4-D value with every dim known. */
static int known4(const ing_tensor *t)
{
    return t->rank == 4 && ing_shape_known(t);
}

/* The matched pattern. */
typedef struct attn_match {
    int32_t nodes[16], n;  /* absorbed nodes */
    int32_t q, kt, v, mask; /* mask -1 when absent */
    int32_t mm1;           /* MatMul(Q', K') */
    double scale;
} attn_match;

/* Backwards from MatMul(P, V): P = Softmax(S) or Where(IsNaN(sm), 0, sm); S = [Add(mask)] of
 * [Div|Mul const] of MatMul(Q [·const], Kt [·const]). */
static int match(const opt_rec_ctx *c, int32_t mm2, attn_match *a)
{
    ir_model *m = c->m;
    const ir_node *n2 = &m->nodes[mm2];
    if (n2->n_in != 2) return 0;
    memset(a, 0, sizeof *a);
    a->mask = -1;
    a->scale = 1.0;
    int32_t p = n2->in[0], sm, guard = 0;
    a->v = n2->in[1];
    int32_t wh = opt_rec_producer(c, p, "Where");
    if (wh >= 0) {
        const ir_node *wn = &m->nodes[wh];
        double z;
        if (wn->n_in != 3 || !opt_rec_only_use(c, p, mm2)) return 0;
        sm = wn->in[2];
        int32_t isn = opt_rec_producer(c, wn->in[0], "IsNaN");
        if (isn < 0 || m->nodes[isn].in[0] != sm || !opt_rec_only_use(c, wn->in[0], wh)) return 0;
        if (!opt_rec_scalar(c, wn->in[1], 4, &z) || z != 0.0) return 0;
        if (c->uses[sm] != 2 || wn->in[0] == sm || wn->in[1] == sm) return 0;
        a->nodes[a->n++] = isn;
        a->nodes[a->n++] = wh;
        guard = 1;
    } else {
        sm = p;
        if (!opt_rec_only_use(c, sm, mm2)) return 0;
    }
    int32_t smn = opt_rec_producer(c, sm, "Softmax");
    if (smn < 0) return 0;
    int32_t s = m->nodes[smn].in[0];
    const ing_tensor *st = &m->values[s].t;
    int32_t axis;
    if (!known4(st)) return 0;
    int64_t ax = ir_attr_int(&m->nodes[smn], "axis", m->nodes[smn].opset < 13 ? 1 : -1);
    if (ax < -4 || ax > 3) return 0;
    axis = (int32_t)(ax < 0 ? ax + 4 : ax);
    if (axis != 3) return 0;
    a->nodes[a->n++] = smn;
    /* optional additive mask: Add(scores, mask), either order */
    int32_t sc = s, user = smn;
    int32_t ad = opt_rec_producer(c, s, "Add");
    if (ad >= 0 && m->nodes[ad].n_in == 2 && opt_rec_only_use(c, s, smn)) {
        for (int i = 0; i < 2 && a->mask < 0; i++) {
            int32_t cand = m->nodes[ad].in[i], src2;
            double f2;
            if (opt_rec_producer(c, cand, "MatMul") < 0 &&
                (scaled(c, cand, ad, &src2, &f2) < 0 || opt_rec_producer(c, src2, "MatMul") < 0))
                continue;
            sc = cand;
            a->mask = m->nodes[ad].in[1 - i];
        }
        if (a->mask < 0) return 0;
        a->nodes[a->n++] = ad;
        user = ad;
    }
    /* optional scale of the scores */
    int32_t src;
    double f;
    int32_t sn = scaled(c, sc, user, &src, &f);
    if (sn >= 0) {
        a->nodes[a->n++] = sn;
        a->scale *= f;
        user = sn;
        sc = src;
    }
    int32_t mm1 = opt_rec_producer(c, sc, "MatMul");
    if (mm1 < 0 || !opt_rec_only_use(c, sc, user) || m->nodes[mm1].n_in != 2) return 0;
    a->mm1 = mm1;
    a->nodes[a->n++] = mm1;
    a->q = m->nodes[mm1].in[0];
    a->kt = m->nodes[mm1].in[1];
    if (a->q == a->kt) return 0;
    /* scales on Q and on K^T before the product (PyTorch's SDPA export puts sqrt(scale) on each) */
    if ((sn = scaled(c, a->q, mm1, &src, &f)) >= 0) {
        a->nodes[a->n++] = sn;
        a->scale *= f;
        a->q = src;
    }
    if ((sn = scaled(c, a->kt, mm1, &src, &f)) >= 0) {
        a->nodes[a->n++] = sn;
        a->scale *= f;
        a->kt = src;
    }
    /* shapes: Q [B,H,S,D], Kt [B,H,D,T], V [B,H,T,Dv], one float dtype, nothing broadcast */
    const ing_tensor *q = &m->values[a->q].t, *kt = &m->values[a->kt].t, *v = &m->values[a->v].t;
    if (!known4(q) || !known4(kt) || !known4(v)) return 0;
    if (!opt_rec_is_float(q->dtype) || kt->dtype != q->dtype || v->dtype != q->dtype) return 0;
    for (int d = 0; d < 2; d++)
        if (kt->dims[d] != q->dims[d] || v->dims[d] != q->dims[d]) return 0;
    if (kt->dims[2] != q->dims[3] || v->dims[2] != kt->dims[3]) return 0;
    if (st->dims[0] != q->dims[0] || st->dims[1] != q->dims[1] || st->dims[2] != q->dims[2] ||
        st->dims[3] != kt->dims[3] || st->dtype != q->dtype)
        return 0;
    if (!(a->scale > 0) || isinf(a->scale) || (float)a->scale == 0.0f || isinf((float)a->scale)) return 0;
    /* the mask: the scores' dtype, at most 4-D, last dim T exactly (the kernel masks keys past its
     * length), other dims 1 or the scores' */
    if (a->mask >= 0) {
        const ing_tensor *mt = &m->values[a->mask].t;
        if (mt->dtype != q->dtype || mt->rank < 1 || mt->rank > 4 || !ing_shape_known(mt)) return 0;
        if (mt->dims[mt->rank - 1] != st->dims[3]) return 0;
        for (int d = 0; d < mt->rank - 1; d++) {
            int64_t md = mt->dims[d], sd = st->dims[4 - mt->rank + d];
            if (md != 1 && md != sd) return 0;
        }
        if (!guard && !mask_finite(c, a->mask)) return 0;
    }
    return 1;
}

/* The Transpose producing kt and its perm (default: reversed), when kt is read only by `user`. */
static int32_t kt_transpose(const opt_rec_ctx *c, int32_t kt, int32_t user, int64_t perm[4])
{
    int32_t t = opt_rec_producer(c, kt, "Transpose");
    if (t < 0 || !opt_rec_only_use(c, kt, user)) return -1;
    const ir_node *tn = &c->m->nodes[t];
    size_t np = 0;
    const int64_t *pp = ir_attr_ints(tn, "perm", &np);
    if (c->m->values[tn->in[0]].t.rank != 4) return -1;
    if (pp && np != 4) return -1;
    for (int i = 0; i < 4; i++) perm[i] = pp ? pp[i] : 3 - i;
    return t;
}

static ingot_status try_attention(opt_rec_ctx *c, int32_t mm2, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    attn_match a;
    *done = 0;
    if (!match(c, mm2, &a)) return INGOT_OK;
    /* K for Attention is [B,H,T,D]: fold the swap of the last two axes into the Transpose that
     * made K^T when the pattern owns it, else add one. */
    int32_t kt_user = a.kt == m->nodes[a.mm1].in[1] ? a.mm1 : m->values[m->nodes[a.mm1].in[1]].producer;
    int64_t perm[4];
    int32_t tr = kt_transpose(c, a.kt, kt_user, perm), k = -1, new_t = -1, t_slot = -1;
    int64_t np[4] = {0, 1, 3, 2};
    int32_t t_in = a.kt;
    if (tr >= 0) {
        np[0] = perm[0];
        np[1] = perm[1];
        np[2] = perm[3];
        np[3] = perm[2];
        t_in = m->nodes[tr].in[0];
        /* a scale applied to K before the transpose (ONNX's own expansions do that) joins too */
        int32_t src, ks;
        double f;
        if ((ks = scaled(c, t_in, tr, &src, &f)) >= 0 && a.scale * f > 0 && !isinf((float)(a.scale * f)) &&
            (float)(a.scale * f) != 0.0f) {
            a.nodes[a.n++] = ks;
            a.scale *= f;
            t_in = src;
        }
        if (np[0] == 0 && np[1] == 1 && np[2] == 2 && np[3] == 3) {
            k = t_in;
            a.nodes[a.n++] = tr;
        } else {
            t_slot = tr;
        }
    } else {
        t_slot = a.mm1;
    }
    if (k < 0) {
        ING_TRY(opt_rec_new_value(c, a.kt, "K", &k));
        ING_TRY(opt_rec_new_node(c, t_slot, "Transpose", 13, &t_in, 1, k, &new_t));
        ING_TRY(opt_rec_attr_ints(c, new_t, "perm", np, 4));
        if (tr >= 0) ING_TRY(opt_merge_origin(m, new_t, tr));
    }
    int32_t in[4] = {a.q, k, a.v, a.mask}, id;
    ING_TRY(opt_rec_new_node(c, mm2, "Attention", 23, in, a.mask >= 0 ? 4 : 3, m->nodes[mm2].out[0], &id));
    ING_TRY(opt_rec_attr_float(c, id, "scale", (float)a.scale));
    a.nodes[a.n++] = mm2;
    if (new_t >= 0) {
        /* the new Transpose takes t_slot (before the Attention's slot, after its input) */
        ir_body *body = &m->bodies[c->b];
        for (int32_t i = 0; i < body->n_nodes; i++)
            if (body->nodes[i] == t_slot) body->nodes[i] = new_t;
        m->values[k].producer = new_t;
        st->added += 1;
    }
    ING_TRY(opt_rec_commit(c, id, mm2, a.nodes, a.n));
    st->fused += a.n + (tr >= 0 && new_t >= 0);
    st->added += 1;
    *done = 1;
    return INGOT_OK;
}

/* Is node n's perm attribute exactly want[k]? */
static int perm_is(const ir_node *n, const int64_t *want, size_t k)
{
    size_t np = 0;
    const int64_t *perm = ir_attr_ints(n, "perm", &np);
    return perm && np == k && !memcmp(perm, want, k * sizeof *want);
}

/* Is node t a Transpose swapping axes 1 and 2 of a 4-D value (perm 0,2,1,3)? */
static int swaps_heads(const ir_node *t)
{
    static const int64_t swap[4] = {0, 2, 1, 3};
    return perm_is(t, swap, 4);
}

/* The head split feeding one Attention input: v = Transpose(perm 0,2,1,3) of Reshape(x) with x
 * [B,S,E] and the reshape [B,S,H,E/H], each read only by the next; absorbed gets both nodes.
 * Returns x, or -1; *heads = H. */
static int32_t head_split(const opt_rec_ctx *c, int32_t v, int32_t user, int64_t *heads, int32_t *absorbed)
{
    int32_t t = opt_rec_producer(c, v, "Transpose");
    if (t < 0 || !opt_rec_only_use(c, v, user) || !swaps_heads(&c->m->nodes[t])) return -1;
    int32_t mid = c->m->nodes[t].in[0], r = opt_rec_producer(c, mid, "Reshape");
    if (r < 0 || !opt_rec_only_use(c, mid, t)) return -1;
    int32_t x = c->m->nodes[r].in[0];
    const ing_tensor *xt = &c->m->values[x].t, *mt = &c->m->values[mid].t;
    if (xt->rank != 3 || !known4(mt) || !ing_shape_known(xt) || xt->dtype != mt->dtype) return -1;
    if (xt->dims[0] != mt->dims[0] || xt->dims[1] != mt->dims[1] || xt->dims[2] != mt->dims[2] * mt->dims[3]) return -1;
    *heads = mt->dims[2];
    absorbed[0] = t;
    absorbed[1] = r;
    return x;
}

/* A 4-D Attention between head splits (Reshape [B,S,E] → [B,S,H,D], Transpose 0,2,1,3) on Q, K
 * and V and the head merge after it (Transpose 0,2,1,3, Reshape to [B,S,H·Dv]) becomes the 3-D
 * Attention on the unsplit tensors (q_num_heads, kv_num_heads): the same arithmetic, and the
 * eight data movements are gone (a kernel reads each head in place). */
static ingot_status try_3d(opt_rec_ctx *c, int32_t att, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    const ir_node *a = &m->nodes[att];
    int32_t absorbed[9], x[3];
    int64_t heads[3];
    *done = 0;
    if (a->n_in < 3 || a->n_out != 1 || !known4(&m->values[a->out[0]].t)) return INGOT_OK;
    for (int i = 0; i < 3; i++)
        if ((x[i] = head_split(c, a->in[i], att, &heads[i], &absorbed[2 * i])) < 0) return INGOT_OK;
    if (heads[1] != heads[2] || heads[0] % heads[1] != 0) return INGOT_OK;
    int32_t y = a->out[0], t = opt_rec_consumer(c, y, "Transpose");
    if (t < 0 || !swaps_heads(&m->nodes[t])) return INGOT_OK;
    int32_t r = opt_rec_consumer(c, m->nodes[t].out[0], "Reshape");
    if (r < 0) return INGOT_OK;
    const ing_tensor *yt = &m->values[y].t, *ot = &m->values[m->nodes[r].out[0]].t;
    if (ot->rank != 3 || !ing_shape_known(ot) || ot->dims[0] != yt->dims[0] || ot->dims[1] != yt->dims[2] ||
        ot->dims[2] != yt->dims[1] * yt->dims[3])
        return INGOT_OK;
    absorbed[6] = t;
    absorbed[7] = r;
    absorbed[8] = att;
    int32_t in[4] = {x[0], x[1], x[2], a->n_in > 3 ? a->in[3] : -1}, id;
    float scale = ir_attr_float(a, "scale", 0.0f);
    ING_TRY(opt_rec_new_node(c, att, "Attention", 23, in, a->n_in > 3 ? 4 : 3, m->nodes[r].out[0], &id));
    if (scale > 0.0f) ING_TRY(opt_rec_attr_float(c, id, "scale", scale));
    ING_TRY(opt_rec_attr_int(c, id, "q_num_heads", heads[0]));
    ING_TRY(opt_rec_attr_int(c, id, "kv_num_heads", heads[1]));
    ING_TRY(opt_rec_commit(c, id, att, absorbed, 9));
    st->fused += 8;
    *done = 1;
    return INGOT_OK;
}

/* ---- PyTorch's nn.MultiheadAttention, sequence-first (torchvision ViT, exported by TorchScript) ----
 *
 *   T0 = Transpose(x [B,S,E], 1,0,2)           P = [Add(b)] MatMul(T0, W [E,3E])   [S,B,3E]
 *   Reshape [S,B,3,E] → Unsqueeze(0) → Transpose(3,1,2,0,4) → Squeeze → [3,S,B,E]
 *   for i = 0, 1, 2 (Q, K, V): Gather(i, axis 0) [S,B,E] → Reshape [S,B·H,D] → Transpose(1,0,2)
 *                              → Reshape [B,H,S,D] → Attention input i
 *   Attention [B,H,S,D] → Transpose(2,0,1,3) → Reshape [S·B,E] → Gemm/MatMul (row-wise, constant
 *   weight) → Reshape [S,B,N] → Transpose(1,0,2) [B,S,N]
 *
 * becomes MatMul(x, W) [+ b] → [B,S,3E], a 3-D Attention reading its three slices in place
 * (qkv_packed, H heads) → [B,S,E], Reshape [B·S,E] → the same Gemm/MatMul → Reshape [B,S,N]: rows
 * are only permuted (s,b) → (b,s) by every step in between, and row-wise steps commute with that.
 * matmul_rows (next) turns the out-projection between the reshapes into a 3-D matmul, which
 * fuse_epilogue fuses with its bias and a residual. */

static int dims_are(const ing_tensor *t, int rank, const int64_t *d)
{
    if (t->rank != rank || !ing_shape_known(t)) return 0;
    for (int i = 0; i < rank; i++)
        if (t->dims[i] != d[i]) return 0;
    return 1;
}

/* The producer of v with op `op`, v read only by `user`; else -1. */
static int32_t only_from(const opt_rec_ctx *c, int32_t v, const char *op, int32_t user)
{
    int32_t p = v >= 0 ? opt_rec_producer(c, v, op) : -1;
    return p >= 0 && opt_rec_only_use(c, v, user) ? p : -1;
}

/* A Reshape's shape input holds no 0 (which would copy a dim of its input by position). */
static int shape_plain(const opt_rec_ctx *c, const ir_node *r)
{
    if (r->n_in < 2 || r->in[1] < 0) return 0;
    const ir_value *v = &c->m->values[r->in[1]];
    if (v->kind != IR_VALUE_CONST || !v->t.data || v->t.dtype != INGOT_DTYPE_I64 || v->t.rank != 1) return 0;
    for (int64_t i = 0; i < v->t.dims[0]; i++)
        if (((const int64_t *)v->t.data)[i] == 0) return 0;
    return 1;
}

/* Input i of Attention att: Reshape [B,H,S,D] ← Transpose(1,0,2) ← Reshape [S,B·H,D] ← Gather(i,
 * axis 0) of the [3,S,B,E] value; returns that value, or -1. absorbed gets the four nodes. */
static int32_t seq_first_input(const opt_rec_ctx *c, int32_t att, int i, const int64_t bhsd[4], int32_t *absorbed)
{
    const ir_model *m = c->m;
    static const int64_t swap01[3] = {1, 0, 2};
    int64_t B = bhsd[0], H = bhsd[1], S = bhsd[2], D = bhsd[3];
    int32_t r6 = only_from(c, m->nodes[att].in[i], "Reshape", att);
    if (r6 < 0 || !dims_are(&m->values[m->nodes[r6].out[0]].t, 4, bhsd)) return -1;
    int32_t t3 = only_from(c, m->nodes[r6].in[0], "Transpose", r6);
    if (t3 < 0 || !perm_is(&m->nodes[t3], swap01, 3)) return -1;
    int32_t r3 = only_from(c, m->nodes[t3].in[0], "Reshape", t3);
    if (r3 < 0 || !dims_are(&m->values[m->nodes[r3].out[0]].t, 3, (int64_t[]){S, B * H, D})) return -1;
    int32_t g = only_from(c, m->nodes[r3].in[0], "Gather", r3);
    double idx;
    if (g < 0 || ir_attr_int(&m->nodes[g], "axis", 0) != 0 || m->nodes[g].n_in != 2 ||
        !opt_rec_scalar(c, m->nodes[g].in[1], 0, &idx) || idx != (double)i ||
        !dims_are(&m->values[m->nodes[g].out[0]].t, 3, (int64_t[]){S, B, H * D}))
        return -1;
    absorbed[0] = r6, absorbed[1] = t3, absorbed[2] = r3, absorbed[3] = g;
    return m->nodes[g].in[0];
}

static ingot_status try_seq_first(opt_rec_ctx *c, int32_t att, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    static const int64_t swap01[3] = {1, 0, 2}, split[5] = {3, 1, 2, 0, 4}, merge[4] = {2, 0, 1, 3};
    int32_t absorbed[24], n_abs = 0;
    *done = 0;
    const ir_node *a = &m->nodes[att];
    if (a->n_in != 3 || a->n_out != 1 || !known4(&m->values[a->out[0]].t)) return INGOT_OK;
    for (int32_t k = 0; k < a->n_attr; k++)
        if (strcmp(a->attrs[k].name, "scale") != 0) return INGOT_OK; /* causal, softcap, … */
    const ing_tensor *yt = &m->values[a->out[0]].t;
    int64_t bhsd[4] = {yt->dims[0], yt->dims[1], yt->dims[2], yt->dims[3]};
    int64_t B = bhsd[0], H = bhsd[1], S = bhsd[2], D = bhsd[3], E = H * D;
    /* the inputs, down to the shared [3,S,B,E] value */
    int32_t qkv = -1;
    for (int i = 0; i < 3; i++) {
        int32_t v = seq_first_input(c, att, i, bhsd, &absorbed[n_abs]);
        if (v < 0 || (qkv >= 0 && v != qkv)) return INGOT_OK;
        qkv = v;
        n_abs += 4;
    }
    if (c->uses[qkv] != 3) return INGOT_OK; /* read by the three Gathers only */
    int32_t sq = opt_rec_producer(c, qkv, "Squeeze");
    if (sq < 0 || !dims_are(&m->values[qkv].t, 4, (int64_t[]){3, S, B, E})) return INGOT_OK;
    int32_t tr = only_from(c, m->nodes[sq].in[0], "Transpose", sq);
    if (tr < 0 || !perm_is(&m->nodes[tr], split, 5)) return INGOT_OK;
    int32_t un = only_from(c, m->nodes[tr].in[0], "Unsqueeze", tr);
    if (un < 0 || !dims_are(&m->values[m->nodes[un].out[0]].t, 5, (int64_t[]){1, S, B, 3, E})) return INGOT_OK;
    int32_t rs = only_from(c, m->nodes[un].in[0], "Reshape", un);
    if (rs < 0 || !dims_are(&m->values[m->nodes[rs].out[0]].t, 4, (int64_t[]){S, B, 3, E})) return INGOT_OK;
    /* the projection: [Add(bias [3E])] MatMul(Transpose(x, 1,0,2), W [K,3E]) */
    int32_t p = m->nodes[rs].in[0], add = only_from(c, p, "Add", rs), mm_out = p, mm;
    if (add >= 0) {
        const ir_node *an = &m->nodes[add];
        int32_t bias = -1;
        for (int k = 0; k < 2 && an->n_in == 2; k++)
            if (m->values[an->in[k]].kind == IR_VALUE_CONST) bias = an->in[k], mm_out = an->in[1 - k];
        if (bias < 0 || m->values[bias].t.rank != 1 || m->values[bias].t.dims[0] != 3 * E) return INGOT_OK;
        mm = only_from(c, mm_out, "MatMul", add);
    } else {
        mm = only_from(c, p, "MatMul", rs);
    }
    if (mm < 0) return INGOT_OK;
    const ir_node *mn = &m->nodes[mm];
    const ir_value *w = &m->values[mn->in[1]];
    if (w->kind != IR_VALUE_CONST || w->t.rank != 2 || w->t.dims[1] != 3 * E) return INGOT_OK;
    int32_t t0 = only_from(c, mn->in[0], "Transpose", mm);
    if (t0 < 0 || !perm_is(&m->nodes[t0], swap01, 3)) return INGOT_OK;
    int32_t x = m->nodes[t0].in[0];
    if (!dims_are(&m->values[x].t, 3, (int64_t[]){B, S, w->t.dims[0]})) return INGOT_OK;
    /* the output: Transpose(2,0,1,3) → Reshape [S·B,E] → row-wise Gemm/MatMul → Reshape [S,B,N] →
     * Transpose(1,0,2) */
    int32_t tm = opt_rec_consumer(c, a->out[0], "Transpose");
    if (tm < 0 || !perm_is(&m->nodes[tm], merge, 4)) return INGOT_OK;
    int32_t r9 = opt_rec_consumer(c, m->nodes[tm].out[0], "Reshape");
    if (r9 < 0 || !shape_plain(c, &m->nodes[r9]) ||
        !dims_are(&m->values[m->nodes[r9].out[0]].t, 2, (int64_t[]){S * B, E}))
        return INGOT_OK;
    int32_t g = opt_rec_consumer(c, m->nodes[r9].out[0], NULL);
    if (g < 0 || m->nodes[g].in[0] != m->nodes[r9].out[0] || !opt_rec_rowwise_matmul(c, g)) return INGOT_OK;
    const ir_node *gn = &m->nodes[g];
    const ing_tensor *gt = &m->values[gn->out[0]].t;
    if (gt->rank != 2 || !ing_shape_known(gt)) return INGOT_OK;
    int64_t N = gt->dims[1];
    int32_t r10 = opt_rec_consumer(c, gn->out[0], "Reshape");
    if (r10 < 0 || !dims_are(&m->values[m->nodes[r10].out[0]].t, 3, (int64_t[]){S, B, N})) return INGOT_OK;
    int32_t t8 = opt_rec_consumer(c, m->nodes[r10].out[0], "Transpose");
    if (t8 < 0 || !perm_is(&m->nodes[t8], swap01, 3)) return INGOT_OK;

    /* rewrite: the projection reads x; its outputs become [B,S,3E] */
    int32_t y = m->nodes[t8].out[0], att_out, out_shape, id;
    m->nodes[mm].in[0] = x;
    for (int k = 0; k < (p != mm_out ? 2 : 1); k++) {
        int32_t v = k ? p : mm_out;
        ing_tensor *t = &m->values[v].t;
        int64_t d0 = t->dims[0];
        t->dims[0] = t->dims[1], t->dims[1] = d0;
    }
    ING_TRY(opt_rec_new_value(c, a->out[0], "bse", &att_out));
    m->values[att_out].t.dtype = m->values[a->out[0]].t.dtype;
    m->values[att_out].t.rank = 3;
    m->values[att_out].t.dims[0] = B, m->values[att_out].t.dims[1] = S, m->values[att_out].t.dims[2] = E;
    float scale = ir_attr_float(&m->nodes[att], "scale", 0.0f);
    ING_TRY(opt_rec_new_node(c, att, "Attention", 23, (int32_t[]){p, p, p}, 3, att_out, &id));
    if (scale > 0.0f) ING_TRY(opt_rec_attr_float(c, id, "scale", scale));
    ING_TRY(opt_rec_attr_int(c, id, "q_num_heads", H));
    ING_TRY(opt_rec_attr_int(c, id, "kv_num_heads", H));
    ING_TRY(opt_rec_attr_int(c, id, "qkv_packed", 1));
    m->nodes[r9].in[0] = att_out;
    absorbed[n_abs++] = sq, absorbed[n_abs++] = tr, absorbed[n_abs++] = un, absorbed[n_abs++] = rs;
    absorbed[n_abs++] = t0, absorbed[n_abs++] = tm, absorbed[n_abs++] = att;
    ING_TRY(opt_rec_commit(c, id, att, absorbed, n_abs));
    /* Reshape [S,B,N] + Transpose → Reshape [B,S,N] */
    char name[512];
    snprintf(name, sizeof name, "%s/shape_bsn", m->values[y].name);
    ING_TRY(ir_add_const_i64(m, name, (int64_t[]){B, S, N}, 3, &out_shape));
    ING_TRY(opt_rec_new_node(c, t8, "Reshape", 14, (int32_t[]){m->nodes[g].out[0], out_shape}, 2, y, &id));
    ING_TRY(opt_rec_commit(c, id, t8, (int32_t[]){r10, t8}, 2));
    st->fused += n_abs + 2;
    st->added += 2;
    *done = 1;
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    /* Only for a backend with its own Attention kernel: otherwise the fused op would run as a
     * fallback (on CUDA today: on the CPU, with host round trips), while its parts run natively. */
    if (o->has_kernel && !o->has_kernel("Attention")) return INGOT_OK;
    opt_rec_ctx c = {.m = m};
    ingot_status s = opt_rec_refresh(&c);
    for (int32_t b = 0; s == INGOT_OK && b < m->n_bodies; b++) {
        c.b = b;
        for (int32_t k = 0; s == INGOT_OK && k < m->bodies[b].n_nodes; k++) {
            const ir_node *n = &m->nodes[m->bodies[b].nodes[k]];
            if (n->domain[0] || strcmp(n->op, "MatMul")) continue;
            int done = 0;
            s = try_attention(&c, m->bodies[b].nodes[k], &done, st);
            if (done) k = -1; /* the body changed: rescan it */
        }
        for (int32_t k = 0; s == INGOT_OK && k < m->bodies[b].n_nodes; k++) {
            const ir_node *n = &m->nodes[m->bodies[b].nodes[k]];
            if (n->domain[0] || strcmp(n->op, "Attention") || ir_attr_int(n, "q_num_heads", 0)) continue;
            int done = 0;
            s = try_3d(&c, m->bodies[b].nodes[k], &done, st);
            if (s == INGOT_OK && !done) s = try_seq_first(&c, m->bodies[b].nodes[k], &done, st);
            if (done) k = -1;
        }
    }
    opt_rec_free(&c);
    return s;
}

const opt_pass opt_pass_fuse_attention = {
    "fuse_attention", "MatMul(Q,K^T)*scale [+mask] -> Softmax -> MatMul(.,V) into one Attention node", run};
