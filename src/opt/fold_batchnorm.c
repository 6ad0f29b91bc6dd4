/* fold_batchnorm: Conv / ConvTranspose / Gemm / MatMul(x 2-D, constant W) → BatchNormalization (inference form)
 * → the op alone with new constants W' = W·s, B' = (B − mean)·s + beta, s = scale/√(var+eps) (MatMul becomes Gemm).
 * Preconditions: float; BN params, W, bias constant; op output read only by the BN; channel axes agree. All bodies. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"

static int is_const(const ir_model *m, int32_t v)
{
    return v >= 0 && m->values[v].kind == IR_VALUE_CONST && m->values[v].t.data != NULL &&
           ing_shape_known(&m->values[v].t);
}

static int default_domain(const ir_node *n) { return !n->domain[0] || !strcmp(n->domain, "ai.onnx"); }

static int input(const ir_node *n, int i) { return i < n->n_in ? n->in[i] : -1; }

/* A constant vector of exactly c float elements (rank 1). */
static int const_vec(const ir_model *m, int32_t v, int64_t c)
{
    if (!is_const(m, v)) return 0;
    const ing_tensor *t = &m->values[v].t;
    return ing_dtype_is_float(t->dtype) && t->rank == 1 && t->dims[0] == c;
}

/* Add a new constant named `name` with dtype dt and shape dims holding vals (f64, rounded on store). */
static ingot_status new_const(ir_model *m, const char *name, int dt, int rank, const int64_t *dims,
                              const double *vals, int64_t n, int32_t *id)
{
    size_t es = ingot_dtype_size((ingot_dtype)dt), nb;
    if (es == 0 || !ing_mul_fits((size_t)n, es, &nb))
        return ingot_fail(INGOT_ERR_MODEL, "constant '%s': %lld elements of dtype %d overflow", name, (long long)n, dt);
    void *buf = ing_malloc(nb ? nb : 1);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for folded constant '%s' (%zu bytes)", name, nb);
    for (int64_t i = 0; i < n; i++) ing_store_f64(dt, buf, (size_t)i, vals[i]);
    ingot_status s = ir_add_value(m, name, IR_VALUE_CONST, id);
    if (s == INGOT_OK) s = ir_value_set_const(&m->values[*id], dt, rank, dims, buf, nb);
    ing_free(buf);
    return s;
}

/* Node input slot i := v, growing the input list (with -1) when the op had fewer inputs. */
static ingot_status set_input(ir_model *m, int32_t node, int i, int32_t v)
{
    ir_node *n = &m->nodes[node];
    if (i >= n->n_in) {
        int32_t *in = ing_realloc(n->in, (size_t)(i + 1) * sizeof(int32_t));
        if (!in) return ingot_fail(INGOT_ERR_NOMEM, "out of memory growing inputs of node '%s'", n->name);
        for (int k = n->n_in; k <= i; k++) in[k] = -1;
        n->in = in;
        n->n_in = i + 1;
    }
    n->in[i] = v;
    return INGOT_OK;
}

/* Make a node's implicit origin (itself) explicit; opt_merge_origin cannot merge a node into itself. */
static ingot_status origin_self(ir_node *n)
{
    char **o = ing_malloc(sizeof(char *));
    if (o) o[0] = ing_strdup(n->name);
    if (!o || !o[0]) {
        ing_free(o);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory recording the origin of node '%s'", n->name);
    }
    ing_free(n->origin);
    n->origin = o;
    n->n_origin = 1;
    return INGOT_OK;
}

typedef struct bn_coef {
    int64_t c;
    double *s, *t; /* y = x·s + t per channel */
} bn_coef;

/* The BN's per-channel affine map, when the node is a foldable inference-form BN. */
static int bn_coefficients(const ir_model *m, const ir_node *bn, const int32_t *uses, bn_coef *k)
{
    if (bn->n_in < 5 || bn->n_out < 1 || bn->out[0] < 0) return 0;
    if (ir_attr_int(bn, "training_mode", 0) != 0) return 0;
    if (bn->opset < 9 && ir_attr_int(bn, "spatial", 1) != 1) return 0;
    for (int j = 1; j < bn->n_out; j++) /* running / saved statistics must be unused */
        if (bn->out[j] >= 0 && (uses[bn->out[j]] != 0 || ir_is_graph_output(m, bn->out[j]))) return 0;
    const ing_tensor *sc = &m->values[bn->in[1] >= 0 ? bn->in[1] : 0].t;
    if (!is_const(m, bn->in[1]) || sc->rank != 1) return 0;
    int64_t c = sc->dims[0];
    for (int i = 1; i < 5; i++)
        if (!const_vec(m, bn->in[i], c)) return 0;
    double eps = ir_attr_float(bn, "epsilon", 1e-5f);
    double *s = ing_malloc(sizeof(double) * (size_t)(2 * c + 1));
    if (!s) return 0;
    const ing_tensor *sct = &m->values[bn->in[1]].t, *bt = &m->values[bn->in[2]].t, *mt = &m->values[bn->in[3]].t,
                     *vt = &m->values[bn->in[4]].t;
    for (int64_t i = 0; i < c; i++) {
        double var = ing_load_f64(vt->dtype, vt->data, (size_t)i);
        double sv = ing_load_f64(sct->dtype, sct->data, (size_t)i) / sqrt(var + eps);
        s[i] = sv;
        s[c + i] = ing_load_f64(bt->dtype, bt->data, (size_t)i) - ing_load_f64(mt->dtype, mt->data, (size_t)i) * sv;
        if (!isfinite(s[i]) || !isfinite(s[c + i])) {
            ing_free(s);
            return 0; /* var + eps <= 0 or overflow: leave the BN to compute what it computes */
        }
    }
    k->c = c;
    k->s = s;
    k->t = s + c;
    return 1;
}

/* Rescale op p's weight (and bias) by k; writes new constants, rewires p's inputs. Returns 0 (and
 * changes nothing) when the op's layout does not fit. For MatMul *gemm_out receives a new Gemm. */
static ingot_status rescale(ir_model *m, int32_t p, const bn_coef *k, const char *bn_name, int *ok, int32_t *gemm)
{
    const ir_node *pn = &m->nodes[p];
    int32_t wv = input(pn, 1), bv = input(pn, 2);
    *ok = 0;
    *gemm = -1;
    if (!is_const(m, wv)) return INGOT_OK;
    const ing_tensor *w = &m->values[wv].t;
    int dt = w->dtype;
    int64_t nw = ing_numel(w), c = k->c;
    if (nw <= 0 || !ing_dtype_is_float(dt)) return INGOT_OK;
    double beta_g = 1.0; /* Gemm's beta: the new bias is divided by it */
    int kind; /* 0 Conv, 1 ConvTranspose, 2 Gemm (transB 0) / MatMul, 3 Gemm transB 1 */
    int64_t inner = 1, group = 1, cin_g = 1, cout_g = 1;
    if (!strcmp(pn->op, "Conv")) {
        if (w->rank < 3 || w->dims[0] != c) return INGOT_OK;
        kind = 0;
        inner = nw / c;
    } else if (!strcmp(pn->op, "ConvTranspose")) {
        group = ir_attr_int(pn, "group", 1);
        if (w->rank < 3 || group < 1 || w->dims[0] % group || w->dims[1] * group != c) return INGOT_OK;
        kind = 1;
        cin_g = w->dims[0] / group;
        cout_g = w->dims[1];
        inner = nw / (w->dims[0] * w->dims[1]);
    } else if (!strcmp(pn->op, "Gemm")) {
        int tb = ir_attr_int(pn, "transB", 0) != 0;
        beta_g = ir_attr_float(pn, "beta", 1.0f);
        /* before opset 7 a [N] bias needed broadcast=1; not worth the case */
        if (w->rank != 2 || w->dims[tb ? 0 : 1] != c || beta_g == 0.0 || pn->opset < 7) return INGOT_OK;
        kind = tb ? 3 : 2;
    } else { /* MatMul: only a 2-D product has its columns on the BN's channel axis 1 */
        if (w->rank != 2 || w->dims[1] != c || m->values[pn->in[0]].t.rank != 2 || pn->opset < 7) return INGOT_OK;
        kind = 2;
        bv = -1;
    }
    /* The existing bias, as a per-channel vector (Gemm's C: scalar, [N] or [1,N]). */
    const ing_tensor *bt = NULL;
    if (bv >= 0) {
        if (!is_const(m, bv)) return INGOT_OK;
        bt = &m->values[bv].t;
        if (!ing_dtype_is_float(bt->dtype)) return INGOT_OK;
        if (kind <= 1) {
            if (bt->rank != 1 || bt->dims[0] != c) return INGOT_OK;
        } else {
            int64_t d0 = bt->rank == 2 ? bt->dims[0] : 1, d1 = bt->rank >= 1 ? bt->dims[bt->rank - 1] : 1;
            if (bt->rank > 2 || d0 != 1 || (d1 != 1 && d1 != c)) return INGOT_OK;
        }
    }
    size_t cnt;
    if (!ing_mul_fits((size_t)(nw > c ? nw : c), sizeof(double), &cnt))
        return ingot_fail(INGOT_ERR_MODEL, "node '%s': weight of %lld elements is too large", pn->name, (long long)nw);
    double *buf = ing_malloc(cnt);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory folding BatchNorm '%s'", bn_name);
    for (int64_t i = 0; i < nw; i++) {
        int64_t o;
        switch (kind) {
        case 0: o = i / inner; break;
        case 1: {
            int64_t ci = i / (cout_g * inner), j = (i / inner) % cout_g;
            o = (ci / cin_g) * cout_g + j;
            break;
        }
        case 2: o = i % c; break;
        default: o = i / w->dims[1]; break;
        }
        buf[i] = ing_load_f64(dt, w->data, (size_t)i) * k->s[o];
    }
    char name[512];
    int32_t nwv, nbv;
    int64_t wdims[IR_MAX_RANK];
    for (int d = 0; d < w->rank; d++) wdims[d] = w->dims[d];
    int wrank = w->rank;
    snprintf(name, sizeof name, "%s/folded_W", bn_name);
    ingot_status s = new_const(m, name, dt, wrank, wdims, buf, nw, &nwv);
    if (s == INGOT_OK) {
        bt = bv >= 0 ? &m->values[bv].t : NULL; /* the value table may have moved */
        int64_t bn1 = bt ? ing_numel(bt) : 0;
        for (int64_t o = 0; o < c; o++) {
            double b0 = bt ? ing_load_f64(bt->dtype, bt->data, (size_t)(bn1 == 1 ? 0 : o)) : 0.0;
            buf[o] = b0 * k->s[o] + k->t[o] / beta_g;
        }
        snprintf(name, sizeof name, "%s/folded_B", bn_name);
        s = new_const(m, name, dt, 1, &c, buf, c, &nbv);
    }
    ing_free(buf);
    ING_TRY(s);
    if (!strcmp(m->nodes[p].op, "MatMul")) {
        const ir_node *mm = &m->nodes[p];
        int32_t in[3] = {mm->in[0], nwv, nbv}, out = mm->out[0];
        char nm[512];
        snprintf(nm, sizeof nm, "%s/Gemm", mm->name);
        ING_TRY(ir_add_node(m, nm, "Gemm", "", m->nodes[p].opset, in, 3, &out, 1, gemm));
    } else {
        ING_TRY(set_input(m, p, 1, nwv));
        ING_TRY(set_input(m, p, 2, nbv));
    }
    *ok = 1;
    return INGOT_OK;
}

static ingot_status try_fold(ir_model *m, int32_t b, int32_t pos, const int32_t *uses, int *done, opt_stats *st)
{
    int32_t bid = m->bodies[b].nodes[pos];
    const ir_node *bn = &m->nodes[bid];
    *done = 0;
    if (!default_domain(bn) || strcmp(bn->op, "BatchNormalization") || bn->n_in < 5) return INGOT_OK;
    int32_t x = bn->in[0];
    if (x < 0 || uses[x] != 1 || ir_is_graph_output(m, x)) return INGOT_OK;
    int32_t p = m->values[x].producer, ppos = -1;
    if (p < 0) return INGOT_OK;
    for (int32_t k = 0; k < pos; k++)
        if (m->bodies[b].nodes[k] == p) ppos = k;
    if (ppos < 0) return INGOT_OK; /* produced in another body (or not at all) */
    const ir_node *pn = &m->nodes[p];
    if (!default_domain(pn) || pn->n_out != 1 || pn->out[0] != x) return INGOT_OK;
    if (strcmp(pn->op, "Conv") && strcmp(pn->op, "ConvTranspose") && strcmp(pn->op, "Gemm") &&
        strcmp(pn->op, "MatMul"))
        return INGOT_OK;
    if (!ing_dtype_is_float(m->values[x].t.dtype) || m->values[bn->out[0] >= 0 ? bn->out[0] : x].t.dtype !=
                                                         m->values[x].t.dtype)
        return INGOT_OK;
    bn_coef k;
    if (!bn_coefficients(m, bn, uses, &k)) return INGOT_OK;
    char bn_name[400];
    snprintf(bn_name, sizeof bn_name, "%s", bn->name);
    int ok;
    int32_t gemm;
    ingot_status s = rescale(m, p, &k, bn_name, &ok, &gemm);
    ing_free(k.s);
    ING_TRY(s);
    if (!ok) return INGOT_OK;
    bn = &m->nodes[bid];
    int32_t y = bn->out[0];
    if (gemm >= 0) {
        /* MatMul + BN → Gemm: the Gemm takes the MatMul's slot and writes the BN's output. */
        ING_TRY(opt_merge_origin(m, gemm, p));
        ING_TRY(opt_merge_origin(m, gemm, bid));
        m->nodes[gemm].out[0] = y;
        m->values[y].producer = gemm;
        m->bodies[b].nodes[ppos] = gemm;
        st->fused += 2;
        st->added += 1;
    } else {
        /* A node with no origins stands for itself: record that before it covers the BN too. */
        if (m->nodes[p].n_origin == 0) ING_TRY(origin_self(&m->nodes[p]));
        ING_TRY(opt_merge_origin(m, p, bid));
        m->nodes[p].out[0] = y;
        m->values[y].producer = p;
        st->fused += 1;
    }
    ir_body_remove_at(m, b, pos);
    *done = 1;
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    int32_t cap = 0, *uses = NULL;
    ingot_status s = INGOT_OK;
    for (int32_t b = 0; s == INGOT_OK && b < m->n_bodies; b++)
        for (int32_t k = 0; s == INGOT_OK && k < m->bodies[b].n_nodes; k++) {
            const ir_node *n = &m->nodes[m->bodies[b].nodes[k]];
            if (strcmp(n->op, "BatchNormalization")) continue;
            if (m->n_values + 1 > cap) { /* folding adds constants: the table grows */
                int32_t *u = ing_realloc(uses, (size_t)(m->n_values + 1) * 2 * sizeof(int32_t));
                if (!u) {
                    s = ingot_fail(INGOT_ERR_NOMEM, "out of memory counting value uses");
                    break;
                }
                uses = u;
                cap = (m->n_values + 1) * 2;
            }
            ir_count_uses(m, uses);
            int done = 0;
            s = try_fold(m, b, k, uses, &done, st);
            if (done) k--; /* the BN left this slot */
        }
    ing_free(uses);
    return s;
}

const opt_pass opt_pass_fold_batchnorm = {"fold_batchnorm",
                                          "Conv/ConvTranspose/Gemm/MatMul + inference BatchNorm into rescaled weights",
                                          run};
