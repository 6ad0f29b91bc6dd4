/* fuse_layernorm: x - mean(x) → ^2 → mean → +eps → Sqrt → Div (or ·Reciprocal) [→ ·gamma → +beta] →
 * LayerNormalization-17; the same without centring, with ·gamma → RMSNormalization-23.
 * Preconditions: float x; both means on the same trailing axes, keepdims; scalar eps; gamma fits. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "opt/passes.h"
#include "opt/recognize.h"

/* ---- LayerNormalization / RMSNormalization ----------------------------------------------------- */

/* Normalized axes of a ReduceMean with keepdims=1 over x of known rank: when they are exactly the
 * trailing axes [first, rank), *first. Absent or empty axes reduce everything (first = 0), unless
 * noop_with_empty_axes. */
static int trailing_axes(const opt_rec_ctx *c, const ir_node *rm, int32_t rank, int32_t *first)
{
    if (ir_attr_int(rm, "keepdims", 1) != 1 || rank <= 0) return 0;
    int32_t ax = rm->n_in > 1 ? rm->in[1] : -1;
    int64_t n = 0;
    const ir_value *a = ax >= 0 ? &c->m->values[ax] : NULL;
    if (a) {
        if (a->kind != IR_VALUE_CONST || !a->t.data || a->t.rank != 1 || !ing_dtype_is_int(a->t.dtype)) return 0;
        n = a->t.dims[0];
    }
    if (n == 0) {
        if (ir_attr_int(rm, "noop_with_empty_axes", 0)) return 0;
        *first = 0;
        return 1;
    }
    if (n > rank) return 0;
    uint32_t seen = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = ing_load_i64(a->t.dtype, a->t.data, (size_t)i);
        if (v < 0) v += rank;
        if (v < rank - n || v >= rank || (seen >> v & 1u)) return 0;
        seen |= 1u << v;
    }
    *first = (int32_t)(rank - n);
    return 1;
}

/* p (gamma or beta) is a float value of x's dtype whose known shape broadcasts into the
 * normalized dims [first, rank) of x without growing the result. */
static int fits_normalized(const opt_rec_ctx *c, int32_t p, const ing_tensor *x, int32_t first)
{
    const ing_tensor *t = &c->m->values[p].t;
    if (t->dtype != x->dtype || !ing_shape_known(t) || t->rank > x->rank - first) return 0;
    for (int32_t d = 0; d < t->rank; d++) {
        int64_t pd = t->dims[t->rank - 1 - d], xd = x->dims[x->rank - 1 - d];
        if (pd != 1 && pd != xd) return 0;
    }
    return 1;
}

/* Square of d: Pow(d, 2) or Mul(d, d), used only by `user`. Returns the node or -1. */
static int32_t square_of(const opt_rec_ctx *c, int32_t sq, int32_t d, int32_t rank)
{
    int32_t p = opt_rec_producer(c, sq, NULL);
    if (p < 0) return -1;
    const ir_node *n = &c->m->nodes[p];
    double e;
    if (!strcmp(n->op, "Pow") && n->n_in == 2 && n->in[0] == d && opt_rec_scalar(c, n->in[1], rank, &e) && e == 2.0)
        return p;
    if (!strcmp(n->op, "Mul") && n->n_in == 2 && n->in[0] == d && n->in[1] == d) return p;
    return -1;
}

/* From the normalized value q = d / sqrt(var + eps), walk back: q's producer is Div(d, s) or
 * Mul(d, Reciprocal(s)) (either order), s = Sqrt(Add(var, eps)), var = ReduceMean(square(d)).
 * Fills nodes (in pattern order, appended at *n) and returns d, or -1. */
static int32_t match_rsqrt(const opt_rec_ctx *c, int32_t q, int32_t *nodes, int32_t *n, double *eps,
                           int32_t *var_rm)
{
    ir_model *m = c->m;
    int32_t dn = opt_rec_producer(c, q, NULL), d = -1, s = -1, rcp = -1;
    if (dn < 0) return -1;
    const ir_node *qn = &m->nodes[dn];
    if (!strcmp(qn->op, "Div") && qn->n_in == 2) {
        d = qn->in[0];
        s = qn->in[1];
    } else if (!strcmp(qn->op, "Mul") && qn->n_in == 2) {
        for (int i = 0; i < 2 && rcp < 0; i++) {
            /* 1/s as Reciprocal(s) or Div(1, s) (torch.rsqrt exports either way) */
            int32_t r = opt_rec_producer(c, qn->in[i], NULL);
            if (r < 0) continue;
            const ir_node *rn = &m->nodes[r];
            double one = 0;
            if (!strcmp(rn->op, "Reciprocal") && rn->n_in == 1) rcp = r;
            else if (!strcmp(rn->op, "Div") && rn->n_in == 2 &&
                     opt_rec_scalar(c, rn->in[0], m->values[rn->in[1]].t.rank, &one) && one == 1.0)
                rcp = r;
            if (rcp >= 0) {
                d = qn->in[1 - i];
                s = rn->n_in == 1 ? rn->in[0] : rn->in[1];
                if (!opt_rec_only_use(c, qn->in[i], dn)) return -1;
            }
        }
        if (rcp < 0) return -1;
    } else {
        return -1;
    }
    int32_t sq = opt_rec_producer(c, s, "Sqrt");
    if (sq < 0 || !opt_rec_only_use(c, s, rcp >= 0 ? rcp : dn)) return -1;
    int32_t ve = m->nodes[sq].in[0];
    int32_t ad = opt_rec_producer(c, ve, "Add");
    if (ad < 0 || !opt_rec_only_use(c, ve, sq)) return -1;
    const ir_node *an = &m->nodes[ad];
    int32_t var = -1;
    for (int i = 0; i < 2 && var < 0; i++)
        if (opt_rec_scalar(c, an->in[1 - i], IR_MAX_RANK, eps)) var = an->in[i];
    int32_t rm = opt_rec_producer(c, var, "ReduceMean");
    if (rm < 0 || !opt_rec_only_use(c, var, ad)) return -1;
    const ing_tensor *dt = &m->values[d].t;
    int32_t sqn = square_of(c, m->nodes[rm].in[0], d, dt->rank);
    if (sqn < 0 || !opt_rec_only_use(c, m->nodes[rm].in[0], rm)) return -1;
    /* eps must not broadcast the variance to a larger shape */
    if (m->values[an->in[0] == var ? an->in[1] : an->in[0]].t.rank > m->values[var].t.rank) return -1;
    nodes[(*n)++] = sqn;
    nodes[(*n)++] = rm;
    nodes[(*n)++] = ad;
    nodes[(*n)++] = sq;
    if (rcp >= 0) nodes[(*n)++] = rcp;
    nodes[(*n)++] = dn;
    *var_rm = rm;
    return d;
}

/* Optional affine tail: y = Mul(q, gamma) [→ Add(·, beta)], each operand order. Returns the
 * value the pattern ends in; *gamma / *beta are -1 when absent. */
static int32_t match_affine(const opt_rec_ctx *c, int32_t q, const ing_tensor *x, int32_t first, int32_t *nodes,
                            int32_t *n, int32_t *gamma, int32_t *beta)
{
    ir_model *m = c->m;
    *gamma = *beta = -1;
    int32_t y = q;
    int32_t mul = opt_rec_consumer(c, q, "Mul");
    if (mul < 0) return y;
    int32_t g = opt_rec_other(&m->nodes[mul], q);
    if (g < 0 || g == q || !fits_normalized(c, g, x, first)) return y;
    nodes[(*n)++] = mul;
    *gamma = g;
    y = m->nodes[mul].out[0];
    int32_t add = opt_rec_consumer(c, y, "Add");
    if (add < 0) return y;
    int32_t bta = opt_rec_other(&m->nodes[add], y);
    if (bta < 0 || bta == y || !fits_normalized(c, bta, x, first)) return y;
    nodes[(*n)++] = add;
    *beta = bta;
    return m->nodes[add].out[0];
}

/* Scale of ones over the normalized dims of x, as a new constant (x: a copy, as adding the value
 * may move the value table). */
static ingot_status ones_scale(opt_rec_ctx *c, int32_t like, ing_tensor x, int32_t first, int32_t *id)
{
    int64_t dims[IR_MAX_RANK], cnt = 1;
    int32_t r = x.rank - first;
    for (int32_t d = 0; d < r; d++) {
        dims[d] = x.dims[first + d];
        if (dims[d] < 0 || (dims[d] && cnt > INT64_MAX / 8 / dims[d]))
            return ingot_fail(INGOT_ERR_SHAPE, "normalized dims of '%s' are unknown or too large",
                              c->m->values[like].name);
        cnt *= dims[d];
    }
    size_t es = ingot_dtype_size((ingot_dtype)x.dtype), nb;
    if (!ing_mul_fits((size_t)cnt, es, &nb))
        return ingot_fail(INGOT_ERR_NOMEM, "a scale of ones for '%s' (%lld elements) is too large",
                          c->m->values[like].name, (long long)cnt);
    void *buf = ing_malloc(nb ? nb : 1);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a scale of ones (%zu bytes)", nb);
    for (int64_t i = 0; i < cnt; i++) ing_store_f64(x.dtype, buf, (size_t)i, 1.0);
    char name[512];
    snprintf(name, sizeof name, "%s/ones", c->m->values[like].name);
    ingot_status st = ir_add_value(c->m, name, IR_VALUE_CONST, id);
    if (st == INGOT_OK) st = ir_value_set_const(&c->m->values[*id], x.dtype, r, dims, buf, nb);
    ing_free(buf);
    return st;
}

/* Try the pattern whose normalizing division is node `div` (a Div, or the Mul of the
 * Reciprocal form). 1 when rewritten. */
static ingot_status try_norm(opt_rec_ctx *c, int32_t div, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    int32_t nodes[16], n = 0, var_rm = -1;
    double eps = 0;
    *done = 0;
    int32_t q = m->nodes[div].out[0];
    int32_t d = match_rsqrt(c, q, nodes, &n, &eps, &var_rm);
    if (d < 0) return INGOT_OK;
    int32_t sqn = nodes[0];
    const ing_tensor *dt = &m->values[d].t;
    if (!opt_rec_is_float(dt->dtype) || dt->rank <= 0) return INGOT_OK;
    int32_t first;
    if (!trailing_axes(c, &m->nodes[var_rm], dt->rank, &first)) return INGOT_OK;
    if (!(eps >= 0) || eps > 1.0) return INGOT_OK;
    /* LayerNorm: d = Sub(x, ReduceMean(x)) over the same axes; d used only by the square and the
     * division. RMSNorm: d is x itself (no centering). */
    int32_t sub = opt_rec_producer(c, d, "Sub"), x = d, mean_rm = -1;
    int rms = 1;
    if (sub >= 0) {
        const ir_node *sn = &m->nodes[sub];
        int32_t mr = opt_rec_producer(c, sn->in[1], "ReduceMean");
        int32_t f2;
        if (mr >= 0 && m->nodes[mr].in[0] == sn->in[0] && opt_rec_only_use(c, sn->in[1], sub) &&
            trailing_axes(c, &m->nodes[mr], dt->rank, &f2) && f2 == first) {
            int32_t in_sq = 0, in_div = 0;
            for (int32_t i = 0; i < m->nodes[sqn].n_in; i++) in_sq += m->nodes[sqn].in[i] == d;
            for (int32_t i = 0; i < m->nodes[div].n_in; i++) in_div += m->nodes[div].in[i] == d;
            if (c->uses[d] != in_sq + in_div) return INGOT_OK;
            x = sn->in[0];
            mean_rm = mr;
            rms = 0;
        }
    }
    /* d has x's shape (the mean keeps dims and broadcasts back); the dtype must be x's too */
    const ing_tensor *xt = &m->values[x].t;
    if (xt->dtype != dt->dtype || xt->rank != dt->rank) return INGOT_OK;
    int32_t gamma, beta;
    int32_t y = match_affine(c, q, xt, first, nodes, &n, &gamma, &beta);
    if (rms && gamma < 0) return INGOT_OK; /* a bare x / rms(x) is rare; leave it */
    if (rms && beta >= 0) {
        /* RMSNormalization has no bias: keep the Add outside */
        n--;
        beta = -1;
        y = m->nodes[nodes[n - 1]].out[0];
    }
    if (!rms) {
        memmove(nodes + 2, nodes, (size_t)n * sizeof(int32_t));
        nodes[0] = mean_rm;
        nodes[1] = sub;
        n += 2;
    }
    if (gamma < 0) {
        /* the scale of ones needs the normalized dims (the leading ones may vary) */
        for (int32_t d2 = first; d2 < xt->rank; d2++)
            if (xt->dims[d2] <= 0) return INGOT_OK;
        ING_TRY(ones_scale(c, y, *xt, first, &gamma));
    }
    int32_t last = nodes[n - 1];
    int32_t in[3] = {x, gamma, beta}, id;
    ING_TRY(opt_rec_new_node(c, last, rms ? "RMSNormalization" : "LayerNormalization", rms ? 23 : 17, in,
                             beta >= 0 ? 3 : 2, y, &id));
    ING_TRY(opt_rec_attr_int(c, id, "axis", first));
    ING_TRY(opt_rec_attr_float(c, id, "epsilon", (float)eps));
    ING_TRY(opt_rec_commit(c, id, last, nodes, n));
    st->fused += n;
    st->added += 1;
    *done = 1;
    return INGOT_OK;
}

static int wants(const ir_node *n) { return !n->domain[0] && (!strcmp(n->op, "Div") || !strcmp(n->op, "Mul")); }

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    return opt_rec_scan(m, wants, try_norm, st);
}

const opt_pass opt_pass_fuse_layernorm = {
    "fuse_layernorm", "decomposed LayerNorm / RMSNorm (ReduceMean, Sub, Pow, Sqrt, Div ...) into one node", run};
