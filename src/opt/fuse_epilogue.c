/* fuse_epilogue: Conv / Gemm / MatMul [→ Add(const bias along channels)] [→ Add(residual)] [→ activation]
 * → one FusedConv / FusedGemm / FusedMatMul (domain "ingot"; layout in ir/infer_fused.c) at the last node's slot.
 * Preconditions: float; each intermediate read once, in-body, not an output; bias merges into B/C as a new constant;
 * residual dims equal the output's where known (unknown on both sides: the fused op broadcasts as Add); Clip const. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"

enum { K_CONV, K_GEMM, K_MATMUL };

static const char *const fused_op[] = {"FusedConv", "FusedGemm", "FusedMatMul"};

static int default_domain(const ir_node *n) { return !n->domain[0] || !strcmp(n->domain, "ai.onnx"); }

static int is_const(const ir_model *m, int32_t v)
{
    return v >= 0 && m->values[v].kind == IR_VALUE_CONST && m->values[v].t.data != NULL &&
           ing_shape_known(&m->values[v].t);
}

/* What the matcher found; the node ids in chain order. */
typedef struct chain {
    int kind;
    int32_t nodes[4], n_nodes;
    int32_t bias;     /* the Add's constant operand, or -1 */
    int32_t residual; /* the residual value, or -1 */
    const char *act;  /* activation name or NULL */
    int has_alpha, has_beta;
    float alpha, beta;
    int32_t out; /* the value the fused node writes */
} chain;

/* The single consumer of v inside body b after position pos, and its position; -1 when v has other
 * readers, is a graph or body output, or is read in another body. */
static int32_t next_node(const ir_model *m, const int32_t *uses, int32_t b, int32_t pos, int32_t v, int32_t *npos)
{
    if (v < 0 || ir_is_graph_output(m, v)) return -1;
    int32_t c = ir_single_consumer(m, uses, v, NULL);
    if (c < 0 || !default_domain(&m->nodes[c])) return -1;
    const ir_body *body = &m->bodies[b];
    for (int32_t k = pos + 1; k < body->n_nodes; k++)
        if (body->nodes[k] == c) {
            *npos = k;
            return c;
        }
    return -1;
}

/* Does constant t broadcast along the output's channel axis only (Conv: axis 1 of rank r; Gemm and
 * MatMul: the last axis) without growing it? chans: the output's channel count (known). */
static int bias_fits(const ing_tensor *t, int kind, int32_t r, int64_t chans)
{
    if (t->rank > r) return 0;
    int32_t axis = kind == K_CONV ? 1 : r - 1;
    for (int d = 0; d < t->rank; d++) {
        int32_t ax = r - t->rank + d;
        int64_t dim = t->dims[d];
        if (dim != 1 && !(ax == axis && dim == chans)) return 0;
    }
    return 1;
}

/* Two value shapes equal: same known rank, each dim equal or unknown on both sides. */
static int same_shape(const ing_tensor *a, const ing_tensor *b)
{
    if (a->rank < 0 || a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d] || (a->dims[d] < 0) != (b->dims[d] < 0)) return 0;
    return 1;
}

/* A one-element float constant's value. */
static int scalar_const(const ir_model *m, int32_t v, float *out)
{
    if (!is_const(m, v) || ing_numel(&m->values[v].t) != 1 || !ing_dtype_is_float(m->values[v].t.dtype)) return 0;
    *out = (float)ing_load_f64(m->values[v].t.dtype, m->values[v].t.data, 0);
    return 1;
}

/* Node n as an epilogue activation: fills c->act and its parameters. */
static int match_activation(const ir_model *m, const ir_node *n, int32_t v, chain *c)
{
    if (n->n_in < 1 || n->in[0] != v || n->n_out != 1) return 0;
    const char *op = n->op;
    c->has_alpha = c->has_beta = 0;
    if (!strcmp(op, "Relu") || !strcmp(op, "Sigmoid") || !strcmp(op, "Tanh") || !strcmp(op, "HardSwish")) {
        if (n->n_in != 1) return 0;
        c->act = op;
        return 1;
    }
    if (!strcmp(op, "Clip")) {
        /* both bounds always written (±inf when omitted): every backend then reads the same */
        c->alpha = -INFINITY;
        c->beta = INFINITY;
        c->has_alpha = c->has_beta = 1;
        if (n->n_in > 1 && n->in[1] >= 0 && !scalar_const(m, n->in[1], &c->alpha)) return 0;
        if (n->n_in > 2 && n->in[2] >= 0 && !scalar_const(m, n->in[2], &c->beta)) return 0;
        if (n->n_in > 3) return 0;
        c->act = "Clip";
        return 1;
    }
    if (n->n_in != 1) return 0;
    if (!strcmp(op, "HardSigmoid")) {
        c->act = op;
        c->alpha = ir_attr_float(n, "alpha", 0.2f);
        c->beta = ir_attr_float(n, "beta", 0.5f);
        c->has_alpha = c->has_beta = 1;
        return 1;
    }
    if (!strcmp(op, "LeakyRelu")) {
        c->act = op;
        c->alpha = ir_attr_float(n, "alpha", 0.01f);
        c->has_alpha = 1;
        return 1;
    }
    if (!strcmp(op, "Gelu")) {
        const char *ap = ir_attr_string(n, "approximate", "none");
        if (!strcmp(ap, "none")) c->act = "Gelu";
        else if (!strcmp(ap, "tanh")) c->act = "GeluTanh";
        else return 0;
        return 1;
    }
    if (!strcmp(op, "Swish")) {
        if (ir_attr_float(n, "alpha", 1.0f) != 1.0f) return 0; /* only SiLU: the epilogues compute x·σ(x) */
        c->act = op;
        c->alpha = 1.0f;
        c->has_alpha = 1;
        return 1;
    }
    return 0;
}

/* Match the chain starting at the base node at position pos of body b. 1 when something fuses. */
static int match_chain(const ir_model *m, const int32_t *uses, int32_t b, int32_t pos, chain *c, int32_t *last_pos)
{
    int32_t base = m->bodies[b].nodes[pos];
    const ir_node *bn = &m->nodes[base];
    memset(c, 0, sizeof *c);
    c->bias = c->residual = -1;
    if (!default_domain(bn) || bn->n_out != 1 || bn->out[0] < 0) return 0;
    if (!strcmp(bn->op, "Conv")) c->kind = K_CONV;
    else if (!strcmp(bn->op, "Gemm") && bn->opset >= 7) c->kind = K_GEMM;
    else if (!strcmp(bn->op, "MatMul")) c->kind = K_MATMUL;
    else return 0;
    for (int32_t i = 0; i < bn->n_attr; i++) /* attributes get copied: only plain kinds */
        if (bn->attrs[i].type != IR_ATTR_INT && bn->attrs[i].type != IR_ATTR_FLOAT &&
            bn->attrs[i].type != IR_ATTR_INTS && bn->attrs[i].type != IR_ATTR_FLOATS &&
            bn->attrs[i].type != IR_ATTR_STRING)
            return 0;
    int32_t cur = bn->out[0];
    const ing_tensor *yt = &m->values[cur].t;
    int dt = yt->dtype;
    if (!ing_dtype_is_float(dt) || yt->rank < 1) return 0;
    int32_t r = yt->rank;
    int64_t chans = c->kind == K_CONV ? (r >= 2 ? yt->dims[1] : -1) : yt->dims[r - 1];
    c->nodes[c->n_nodes++] = base;
    int32_t p = pos, np;
    int32_t n = next_node(m, uses, b, p, cur, &np);
    const ir_node *nn = n >= 0 ? &m->nodes[n] : NULL;
    /* 1. bias: Add(cur, constant) broadcasting along the channels; it merges into B / C. */
    if (nn && !strcmp(nn->op, "Add") && nn->opset >= 7 && nn->n_in == 2 && nn->n_out == 1 && chans > 0) {
        int32_t other = nn->in[0] == cur ? nn->in[1] : nn->in[0];
        int32_t base_bias = bn->n_in > 2 ? bn->in[2] : -1;
        int merge_ok = c->kind == K_MATMUL || base_bias < 0 || is_const(m, base_bias);
        if (other != cur && is_const(m, other) && m->values[other].t.dtype == dt &&
            bias_fits(&m->values[other].t, c->kind, r, chans) && merge_ok &&
            m->values[nn->out[0]].t.dtype == dt) {
            if (c->kind == K_GEMM && base_bias >= 0) { /* C must be a row (or scalar) too */
                const ing_tensor *ct = &m->values[base_bias].t;
                if (!ing_dtype_is_float(ct->dtype) || !bias_fits(ct, K_GEMM, 2, chans)) merge_ok = 0;
            }
            if (c->kind == K_CONV && base_bias >= 0) {
                const ing_tensor *bt = &m->values[base_bias].t;
                if (!ing_dtype_is_float(bt->dtype) || bt->rank != 1 || bt->dims[0] != chans) merge_ok = 0;
            }
            if (merge_ok) {
                c->bias = other;
                c->nodes[c->n_nodes++] = n;
                cur = nn->out[0];
                p = np;
                n = next_node(m, uses, b, p, cur, &np);
                nn = n >= 0 ? &m->nodes[n] : NULL;
            }
        }
    }
    /* 2. residual: Add(cur, any value of the same shape). */
    if (nn && !strcmp(nn->op, "Add") && nn->opset >= 7 && nn->n_in == 2 && nn->n_out == 1) {
        int32_t other = nn->in[0] == cur ? nn->in[1] : nn->in[0];
        if (other != cur && other >= 0 && m->values[other].t.dtype == dt && m->values[nn->out[0]].t.dtype == dt &&
            same_shape(&m->values[other].t, yt) && same_shape(&m->values[nn->out[0]].t, yt)) {
            c->residual = other;
            c->nodes[c->n_nodes++] = n;
            cur = nn->out[0];
            p = np;
            n = next_node(m, uses, b, p, cur, &np);
            nn = n >= 0 ? &m->nodes[n] : NULL;
        }
    }
    /* 3. activation. */
    if (nn && m->values[nn->out[0] >= 0 ? nn->out[0] : cur].t.dtype == dt && nn->out[0] >= 0 &&
        match_activation(m, nn, cur, c)) {
        c->nodes[c->n_nodes++] = n;
        cur = nn->out[0];
        p = np;
    }
    c->out = cur;
    *last_pos = p;
    return c->n_nodes > 1;
}

/* ---- rewriting --------------------------------------------------------------------------------- */

static ingot_status copy_attr(const ir_attr *s, ir_attr *d)
{
    memset(d, 0, sizeof *d);
    d->type = s->type;
    d->i = s->i;
    d->f = s->f;
    d->n = s->n;
    d->name = ing_strdup(s->name);
    int bad = !d->name;
    if (s->s) {
        d->s = ing_malloc(s->s_len + 1);
        if (d->s) {
            memcpy(d->s, s->s, s->s_len + 1);
            d->s_len = s->s_len;
        }
        bad |= !d->s;
    }
    if (s->ints && s->n) {
        d->ints = ing_malloc(s->n * sizeof(int64_t));
        if (d->ints) memcpy(d->ints, s->ints, s->n * sizeof(int64_t));
        bad |= !d->ints;
    }
    if (s->floats && s->n) {
        d->floats = ing_malloc(s->n * sizeof(float));
        if (d->floats) memcpy(d->floats, s->floats, s->n * sizeof(float));
        bad |= !d->floats;
    }
    if (bad) {
        ir_attr_free(d);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory copying attribute '%s'", s->name);
    }
    return INGOT_OK;
}

static ingot_status add_float_attr(ir_model *m, int32_t node, const char *name, float v)
{
    ir_attr a = {0};
    a.type = IR_ATTR_FLOAT;
    a.f = v;
    a.name = ing_strdup(name);
    if (!a.name) return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    return ir_node_add_attr(m, node, &a);
}

static ingot_status add_string_attr(ir_model *m, int32_t node, const char *name, const char *v)
{
    ir_attr a = {0};
    a.type = IR_ATTR_STRING;
    a.name = ing_strdup(name);
    a.s = ing_strdup(v);
    a.s_len = strlen(v);
    if (!a.name || !a.s) {
        ir_attr_free(&a);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    }
    return ir_node_add_attr(m, node, &a);
}

/* The merged bias as a new constant: Conv: B + bias ([M]); Gemm: beta·C + bias ([N]); MatMul:
 * bias expanded to [N]. Computed in f64, stored in the output's dtype. */
static ingot_status merged_bias(ir_model *m, const chain *c, int32_t base, int64_t chans, int dt, int32_t *id)
{
    const ir_node *bn = &m->nodes[base];
    int32_t old = c->kind != K_MATMUL && bn->n_in > 2 ? bn->in[2] : -1;
    double beta = c->kind == K_GEMM ? ir_attr_float(bn, "beta", 1.0f) : 1.0;
    size_t es = ingot_dtype_size((ingot_dtype)dt), nb;
    if (!ing_mul_fits((size_t)chans, es, &nb))
        return ingot_fail(INGOT_ERR_MODEL, "node '%s': bias of %lld channels overflows", bn->name, (long long)chans);
    void *buf = ing_malloc(nb ? nb : 1);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory merging the bias of '%s'", bn->name);
    const ing_tensor *bt = &m->values[c->bias].t, *ot = old >= 0 ? &m->values[old].t : NULL;
    int64_t nbias = ing_numel(bt), nold = ot ? ing_numel(ot) : 0;
    for (int64_t j = 0; j < chans; j++) {
        double v = ing_load_f64(bt->dtype, bt->data, (size_t)(nbias == 1 ? 0 : j));
        if (ot) v += beta * ing_load_f64(ot->dtype, ot->data, (size_t)(nold == 1 ? 0 : j));
        ing_store_f64(dt, buf, (size_t)j, v);
    }
    char name[512];
    snprintf(name, sizeof name, "%s/fused_bias", bn->name);
    ingot_status s = ir_add_value(m, name, IR_VALUE_CONST, id);
    if (s == INGOT_OK) s = ir_value_set_const(&m->values[*id], dt, 1, &chans, buf, nb);
    ing_free(buf);
    return s;
}

static ingot_status rewrite(ir_model *m, int32_t b, int32_t pos, int32_t last_pos, const chain *c, opt_stats *st)
{
    int32_t base = c->nodes[0];
    const ir_node *bn = &m->nodes[base];
    int dt = m->values[bn->out[0]].t.dtype;
    const ing_tensor *yt = &m->values[bn->out[0]].t;
    int64_t chans = c->kind == K_CONV ? yt->dims[1] : yt->dims[yt->rank - 1];
    int32_t in[4] = {bn->in[0], bn->in[1], bn->n_in > 2 ? bn->in[2] : -1, c->residual};
    int beta_to_one = 0;
    if (c->kind == K_MATMUL) in[2] = -1;
    if (c->bias >= 0) {
        int32_t nbv;
        ING_TRY(merged_bias(m, c, base, chans, dt, &nbv));
        in[2] = nbv;
        beta_to_one = c->kind == K_GEMM; /* beta is folded into the new C */
    }
    int32_t n_in = in[3] >= 0 ? 4 : in[2] >= 0 ? 3 : 2;
    bn = &m->nodes[base];
    char name[512];
    snprintf(name, sizeof name, "%s/%s", bn->name, fused_op[c->kind]);
    int32_t id, out = c->out;
    ING_TRY(ir_add_node(m, name, fused_op[c->kind], "ingot", bn->opset, in, n_in, &out, 1, &id));
    int32_t n_attr = m->nodes[base].n_attr;
    for (int32_t i = 0; i < n_attr; i++) {
        const ir_attr *a = &m->nodes[base].attrs[i];
        if (beta_to_one && !strcmp(a->name, "beta")) continue;
        ir_attr cp;
        ING_TRY(copy_attr(a, &cp));
        ING_TRY(ir_node_add_attr(m, id, &cp));
    }
    if (beta_to_one) ING_TRY(add_float_attr(m, id, "beta", 1.0f));
    if (c->act) {
        ING_TRY(add_string_attr(m, id, "activation", c->act));
        if (c->has_alpha) ING_TRY(add_float_attr(m, id, "activation_alpha", c->alpha));
        if (c->has_beta) ING_TRY(add_float_attr(m, id, "activation_beta", c->beta));
    }
    for (int32_t i = 0; i < c->n_nodes; i++) ING_TRY(opt_merge_origin(m, id, c->nodes[i]));
    /* The fused node runs where the chain's last node ran: the residual is ready by then. */
    m->bodies[b].nodes[last_pos] = id;
    m->values[out].producer = id;
    for (int32_t k = last_pos - 1; k >= pos; k--) {
        int32_t nk = m->bodies[b].nodes[k];
        for (int32_t i = 0; i < c->n_nodes - 1; i++)
            if (nk == c->nodes[i]) {
                ir_body_remove_at(m, b, k);
                break;
            }
    }
    st->fused += c->n_nodes;
    st->added += 1;
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
            if (strcmp(n->op, "Conv") && strcmp(n->op, "Gemm") && strcmp(n->op, "MatMul")) continue;
            if (m->n_values + 1 > cap) { /* merged biases add constants: the table grows */
                int32_t *u = ing_realloc(uses, (size_t)(m->n_values + 1) * 2 * sizeof(int32_t));
                if (!u) {
                    s = ingot_fail(INGOT_ERR_NOMEM, "out of memory counting value uses");
                    break;
                }
                uses = u;
                cap = (m->n_values + 1) * 2;
            }
            ir_count_uses(m, uses);
            chain c;
            int32_t last;
            if (!match_chain(m, uses, b, k, &c, &last)) continue;
            s = rewrite(m, b, k, last, &c, st);
            k--; /* the base node left slot k */
        }
    ing_free(uses);
    return s;
}

const opt_pass opt_pass_fuse_epilogue = {
    "fuse_epilogue", "Conv/Gemm/MatMul + bias Add + residual Add + activation into one Fused* node", run};
