/* fuse_gelu: x · 0.5 · (1 + Erf(x / √2)) (Div by √2 or Mul by 1/√2, the 0.5 anywhere) → Gelu;
 * 0.5 x (1 + Tanh(√(2/π)(x + 0.044715 x³))) → Gelu approximate="tanh" (both opset 20).
 * Preconditions: float x, one-element constants within 1e-4 of the formula's, intermediates used only inside. */
#include <math.h>
#include <string.h>

#include "core/status.h"
#include "opt/passes.h"
#include "opt/recognize.h"

/* ---- matching ------------------------------------------------------------------------------ */

/* Add, or Sum of two inputs (ONNX's own function bodies write Sum). */
static int is_add(const opt_rec_ctx *c, int32_t node)
{
    if (node < 0) return 0;
    const ir_node *n = &c->m->nodes[node];
    return n->n_in == 2 && (!strcmp(n->op, "Add") || !strcmp(n->op, "Sum"));
}

/* v = half(src): Mul(src, 0.5) either order or Div(src, 2). The node, or -1. */
static int32_t half_of(const opt_rec_ctx *c, int32_t node, int32_t src, int32_t rank)
{
    if (node < 0) return -1;
    const ir_node *n = &c->m->nodes[node];
    if (!strcmp(n->op, "Mul")) {
        int32_t o = opt_rec_other(n, src);
        if (o >= 0 && o != src && opt_rec_const_near(c, o, rank, 0.5)) return node;
    } else if (!strcmp(n->op, "Div") && n->n_in == 2 && n->in[0] == src) {
        if (opt_rec_const_near(c, n->in[1], rank, 2.0)) return node;
    }
    return -1;
}

/* v = Mul(src, k) either order with k within 1e-4 of want; the node or -1. */
static int32_t mul_by(const opt_rec_ctx *c, int32_t v, double want, int32_t rank, int32_t *src)
{
    int32_t p = opt_rec_producer(c, v, "Mul");
    if (p < 0) return -1;
    const ir_node *n = &c->m->nodes[p];
    for (int i = 0; i < 2 && n->n_in == 2; i++)
        if (opt_rec_const_near(c, n->in[1 - i], rank, want)) {
            *src = n->in[i];
            return p;
        }
    return -1;
}

/* Erf form, from the Erf node: its input is Div(x, √2) or Mul(x, 1/√2). Returns x or -1. */
static int32_t erf_arg(const opt_rec_ctx *c, int32_t erf, int32_t *nodes, int32_t *n)
{
    int32_t d = c->m->nodes[erf].in[0], x = -1, p;
    int32_t rank = IR_MAX_RANK;
    if ((p = opt_rec_producer(c, d, "Div")) >= 0) {
        const ir_node *dn = &c->m->nodes[p];
        if (dn->n_in != 2 || !opt_rec_const_near(c, dn->in[1], rank, 1.4142135623730951)) return -1;
        x = dn->in[0];
    } else if ((p = mul_by(c, d, 0.7071067811865476, rank, &x)) < 0) {
        return -1;
    }
    if (!opt_rec_only_use(c, d, erf)) return -1;
    nodes[(*n)++] = p;
    return x;
}

/* x³: Pow(x, 3), Mul(Mul(x, x), x) or Mul(x, Mul(x, x)). Appends its nodes, returns x or -1. */
static int32_t cube_base(const opt_rec_ctx *c, int32_t v, int32_t *nodes, int32_t *n)
{
    int32_t p = opt_rec_producer(c, v, NULL);
    if (p < 0) return -1;
    const ir_node *pn = &c->m->nodes[p];
    double e;
    if (!strcmp(pn->op, "Pow") && pn->n_in == 2 && opt_rec_scalar(c, pn->in[1], IR_MAX_RANK, &e) && e == 3.0) {
        nodes[(*n)++] = p;
        return pn->in[0];
    }
    if (strcmp(pn->op, "Mul") || pn->n_in != 2) return -1;
    for (int i = 0; i < 2; i++) {
        int32_t sq = opt_rec_producer(c, pn->in[i], "Mul");
        if (sq < 0) continue;
        const ir_node *sn = &c->m->nodes[sq];
        int32_t x = pn->in[1 - i];
        if (sn->n_in == 2 && sn->in[0] == x && sn->in[1] == x && opt_rec_only_use(c, pn->in[i], p)) {
            nodes[(*n)++] = sq;
            nodes[(*n)++] = p;
            return x;
        }
    }
    return -1;
}

/* Tanh form, from the Tanh node: Tanh(√(2/π) · (x + 0.044715 · x³)). Returns x or -1. */
static int32_t tanh_arg(const opt_rec_ctx *c, int32_t th, int32_t *nodes, int32_t *n)
{
    ir_model *m = c->m;
    int32_t u = m->nodes[th].in[0], inner = -1;
    int32_t mu = mul_by(c, u, 0.7978845608028654, IR_MAX_RANK, &inner);
    if (mu < 0 || !opt_rec_only_use(c, u, th)) return -1;
    int32_t ad = opt_rec_producer(c, inner, NULL);
    if (!is_add(c, ad) || !opt_rec_only_use(c, inner, mu)) return -1;
    for (int i = 0; i < 2; i++) {
        int32_t w = m->nodes[ad].in[i], x = m->nodes[ad].in[1 - i], cube = -1;
        int32_t save = *n;
        int32_t mc = mul_by(c, w, 0.044715, IR_MAX_RANK, &cube);
        if (mc < 0 || !opt_rec_only_use(c, w, ad) || !opt_rec_only_use(c, cube, mc)) continue;
        if (cube_base(c, cube, nodes, n) != x) {
            *n = save;
            continue;
        }
        nodes[(*n)++] = mc;
        nodes[(*n)++] = ad;
        nodes[(*n)++] = mu;
        return x;
    }
    return -1;
}

/* From the Erf/Tanh node t with argument x: a = Add(t, 1) (or Sum), then 0.5 · x · a in one of three
 * orders: Mul(Mul(x, a), 0.5), Mul(Mul(x, 0.5), a), Mul(x, Mul(a, 0.5)) (operands either way,
 * the half also as Div by 2). Appends the nodes; returns the output value or -1. */
static int32_t gelu_tail(const opt_rec_ctx *c, int32_t t, int32_t x, int32_t rank, int32_t *nodes, int32_t *n)
{
    ir_model *m = c->m;
    int32_t e = m->nodes[t].out[0];
    int32_t ad = opt_rec_consumer(c, e, NULL);
    if (!is_add(c, ad)) return -1;
    int32_t one = opt_rec_other(&m->nodes[ad], e);
    if (one < 0 || !opt_rec_const_near(c, one, rank, 1.0)) return -1;
    nodes[(*n)++] = ad;
    int32_t a = m->nodes[ad].out[0];
    int32_t m1 = opt_rec_consumer(c, a, NULL);
    if (m1 < 0) return -1;
    int32_t o = opt_rec_other(&m->nodes[m1], a);
    if (strcmp(m->nodes[m1].op, "Mul") && strcmp(m->nodes[m1].op, "Div")) return -1;
    if (!strcmp(m->nodes[m1].op, "Mul") && o == x) { /* Mul(Mul(x, a), 0.5) */
        int32_t y1 = m->nodes[m1].out[0];
        int32_t h = half_of(c, opt_rec_consumer(c, y1, NULL), y1, rank);
        if (h < 0) return -1;
        nodes[(*n)++] = m1;
        nodes[(*n)++] = h;
        return m->nodes[h].out[0];
    }
    if (half_of(c, m1, a, rank) >= 0) { /* Mul(x, Mul(a, 0.5)) */
        int32_t hv = m->nodes[m1].out[0];
        int32_t m2 = opt_rec_consumer(c, hv, "Mul");
        if (m2 < 0 || opt_rec_other(&m->nodes[m2], hv) != x) return -1;
        nodes[(*n)++] = m1;
        nodes[(*n)++] = m2;
        return m->nodes[m2].out[0];
    }
    if (!strcmp(m->nodes[m1].op, "Mul") && o >= 0) { /* Mul(Mul(x, 0.5), a) */
        int32_t hp = opt_rec_producer(c, o, NULL);
        if (half_of(c, hp, x, rank) < 0 || !opt_rec_only_use(c, o, m1)) return -1;
        nodes[(*n)++] = hp;
        nodes[(*n)++] = m1;
        return m->nodes[m1].out[0];
    }
    return -1;
}

static ingot_status try_gelu(opt_rec_ctx *c, int32_t t, int *done, opt_stats *st)
{
    ir_model *m = c->m;
    int tanh_form = !strcmp(m->nodes[t].op, "Tanh");
    int32_t nodes[16], n = 0;
    *done = 0;
    int32_t x = tanh_form ? tanh_arg(c, t, nodes, &n) : erf_arg(c, t, nodes, &n);
    if (x < 0) return INGOT_OK;
    const ing_tensor *xt = &m->values[x].t;
    if (!opt_rec_is_float(xt->dtype) || xt->rank < 0) return INGOT_OK;
    nodes[n++] = t;
    int32_t y = gelu_tail(c, t, x, xt->rank, nodes, &n);
    if (y < 0) return INGOT_OK;
    /* every constant above has one element, so only a constant of higher rank than x could change
     * the shape, and then y's rank would exceed x's; the dtype must stay x's (no Cast inside) */
    if (m->values[y].t.dtype != xt->dtype || m->values[y].t.rank != xt->rank) return INGOT_OK;
    int32_t last = nodes[n - 1], id;
    ING_TRY(opt_rec_new_node(c, last, "Gelu", 20, &x, 1, y, &id));
    ING_TRY(opt_rec_attr_string(c, id, "approximate", tanh_form ? "tanh" : "none"));
    ING_TRY(opt_rec_commit(c, id, last, nodes, n));
    st->fused += n;
    st->added += 1;
    *done = 1;
    return INGOT_OK;
}

static int wants(const ir_node *n) { return !n->domain[0] && (!strcmp(n->op, "Erf") || !strcmp(n->op, "Tanh")) && n->n_in == 1; }

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    return opt_rec_scan(m, wants, try_gelu, st);
}

const opt_pass opt_pass_fuse_gelu = {
    "fuse_gelu", "x*0.5*(1+Erf(x/sqrt2)) and its Tanh approximation into one Gelu node", run};
