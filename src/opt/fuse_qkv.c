/* fuse_qkv: the three projections of a 3-D Attention → one FusedMatMul with the weights (and biases)
 * concatenated along N, and the Attention reading its output packed (qkv_packed = 1: inputs 0-2 are
 * that one [B, S, 3E] value, input i its i-th E-wide slice; see ir_attention_slices).
 * At small M one GEMM with N = 3E costs about what one with N = E does: two launches fewer per layer.
 * Preconditions: Q, K, V each written by a FusedMatMul of the same A, a constant 2-D weight [K, E] (one K,
 * one E, one dtype for all three), constant [E] biases on all three or on none, no residual, no
 * activation, no other attribute; each output read only by this Attention (once), none a graph output.
 * Runs after fuse_epilogue (which makes the FusedMatMuls) and before assign_precision, which then
 * converts the concatenated constants like any other. Where Q, K and V are already the three equal
 * last-axis parts of one Split (GPT-2), the Attention reads the Split's input packed instead. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"
#include "opt/recognize.h"

/* v's producer when it is a plain FusedMatMul of the current body: A and a constant [K, E]
 * weight, maybe a constant [E] bias, nothing else. -1 when not. */
static int32_t projection(const opt_rec_ctx *c, int32_t v)
{
    const ir_model *m = c->m;
    int32_t p = m->values[v].producer;
    if (p < 0 || c->node_body[p] != c->b) return -1;
    const ir_node *n = &m->nodes[p];
    if (strcmp(n->domain, "ingot") || strcmp(n->op, "FusedMatMul") || n->n_out != 1 || n->out[0] != v ||
        n->n_in < 2 || n->n_in > 3 || n->n_attr != 0)
        return -1;
    const ir_value *w = &m->values[n->in[1]];
    if (n->in[0] < 0 || n->in[1] < 0 || w->kind != IR_VALUE_CONST || !w->t.data || w->t.rank != 2 ||
        !ing_shape_known(&w->t))
        return -1;
    if (n->n_in == 3 && n->in[2] >= 0) {
        const ir_value *bv = &m->values[n->in[2]];
        if (bv->kind != IR_VALUE_CONST || !bv->t.data || bv->t.rank != 1 || bv->t.dims[0] != w->t.dims[1] ||
            bv->t.dtype != w->t.dtype)
            return -1;
    }
    return p;
}

static int32_t bias_of(const ir_node *n) { return n->n_in > 2 ? n->in[2] : -1; }

/* The three projections of Attention node att, in Q, K, V order; 0 when they do not fit. */
static int match(const opt_rec_ctx *c, int32_t att, int32_t proj[3])
{
    const ir_model *m = c->m;
    const ir_node *a = &m->nodes[att];
    if (a->domain[0] || a->n_in < 3 || ir_attr_int(a, "q_num_heads", 0) <= 0 || ir_attr_find(a, "qkv_packed"))
        return 0;
    for (int i = 0; i < 3; i++) {
        int32_t v = a->in[i];
        for (int j = 0; j < i; j++)
            if (a->in[j] == v) return 0; /* one projection feeding two inputs */
        if (v < 0 || m->values[v].t.rank != 3 || c->uses[v] != 1 || !opt_rec_only_use(c, v, att)) return 0;
        if ((proj[i] = projection(c, v)) < 0) return 0;
    }
    const ir_node *p0 = &m->nodes[proj[0]];
    const ing_tensor *w0 = &m->values[p0->in[1]].t, *y0 = &m->values[p0->out[0]].t;
    for (int i = 1; i < 3; i++) {
        const ir_node *p = &m->nodes[proj[i]];
        const ing_tensor *w = &m->values[p->in[1]].t, *y = &m->values[p->out[0]].t;
        if (p->in[0] != p0->in[0] || w->dtype != w0->dtype || w->dims[0] != w0->dims[0] ||
            w->dims[1] != w0->dims[1] || (bias_of(p) < 0) != (bias_of(p0) < 0) || y->dtype != y0->dtype)
            return 0;
    }
    return 1;
}

/* A new constant "<name>" of dtype dt, shape [rows, 3 * cols]: row r is row r of each of src[0..2]
 * (each [rows, cols]) side by side. */
static ingot_status concat_const(ir_model *m, const char *name, const int32_t src[3], int32_t rank, int64_t rows,
                                 int64_t cols, int32_t *id)
{
    int32_t dt = m->values[src[0]].t.dtype;
    size_t es = ingot_dtype_size((ingot_dtype)dt), row, nb;
    if (!ing_mul_fits((size_t)cols, es, &row) || !ing_mul_fits(row * 3, (size_t)rows, &nb))
        return ingot_fail(INGOT_ERR_MODEL, "constant '%s': %lld x %lld elements overflow", name, (long long)rows,
                          (long long)(3 * cols));
    char *buf = ing_malloc(nb ? nb : 1);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory concatenating '%s' (%zu bytes)", name, nb);
    for (int64_t r = 0; r < rows; r++)
        for (int i = 0; i < 3; i++)
            memcpy(buf + ((size_t)r * 3 + (size_t)i) * row, (const char *)m->values[src[i]].t.data + (size_t)r * row,
                   row);
    int64_t dims[2] = {rows, 3 * cols};
    if (rank == 1) dims[0] = 3 * cols;
    ingot_status s = ir_add_value(m, name, IR_VALUE_CONST, id);
    if (s == INGOT_OK) s = ir_value_set_const(&m->values[*id], dt, rank, dims, buf, nb);
    ing_free(buf);
    return s;
}

static ingot_status rewrite(opt_rec_ctx *c, int32_t att, const int32_t proj[3], opt_stats *st)
{
    ir_model *m = c->m;
    const ir_node *p0 = &m->nodes[proj[0]];
    int64_t kdim = m->values[p0->in[1]].t.dims[0], e = m->values[p0->in[1]].t.dims[1];
    int32_t w[3], b[3], in[3] = {p0->in[0], -1, -1}, n_in = bias_of(p0) >= 0 ? 3 : 2, opset = p0->opset;
    for (int i = 0; i < 3; i++) {
        w[i] = m->nodes[proj[i]].in[1];
        b[i] = bias_of(&m->nodes[proj[i]]);
    }
    char name[512];
    snprintf(name, sizeof name, "%s/qkv_weight", m->nodes[att].name);
    ING_TRY(concat_const(m, name, w, 2, kdim, e, &in[1]));
    if (n_in == 3) {
        snprintf(name, sizeof name, "%s/qkv_bias", m->nodes[att].name);
        ING_TRY(concat_const(m, name, b, 1, 1, e, &in[2]));
    }
    /* the packed output: Q's shape with a last dim three times as wide */
    int32_t qkv, id;
    ING_TRY(opt_rec_new_value(c, m->nodes[att].in[0], "qkv", &qkv));
    ing_tensor *qt = &m->values[qkv].t;
    *qt = m->values[m->nodes[att].in[0]].t;
    qt->data = NULL;
    if (qt->dims[2] >= 0) qt->dims[2] *= 3;
    snprintf(name, sizeof name, "%s/FusedMatMul", m->nodes[att].name);
    ING_TRY(ir_add_node(m, name, "FusedMatMul", "ingot", opset, in, n_in, &qkv, 1, &id));
    ING_TRY(opt_rec_attr_int(c, att, "qkv_packed", 1));
    /* The packed projection runs where the first of the three ran (A is ready there); projection()
     * checked that all three run in this body. */
    int32_t first = proj[0];
    const ir_body *body = &m->bodies[c->b];
    for (int32_t k = body->n_nodes - 1; k >= 0; k--)
        for (int i = 0; i < 3; i++)
            if (body->nodes[k] == proj[i]) first = proj[i];
    ING_TRY(opt_rec_commit(c, id, first, proj, 3));
    ir_node *a = &m->nodes[att];
    for (int i = 0; i < 3; i++) a->in[i] = qkv;
    ING_TRY(opt_rec_refresh(c));
    st->fused += 3;
    st->added += 1;
    return INGOT_OK;
}

/* Q, K, V already one projection, cut by a Split (GPT-2's c_attn): Attention inputs 0..2 the
 * three outputs, in order, of one Split of a 3-D value along its last axis into equal parts, each
 * read only by the Attention. Returns that Split, or -1. */
static int32_t split_source(const opt_rec_ctx *c, int32_t att)
{
    const ir_model *m = c->m;
    const ir_node *a = &m->nodes[att];
    if (a->domain[0] || a->n_in < 3 || ir_attr_int(a, "q_num_heads", 0) <= 0 || ir_attr_find(a, "qkv_packed")) return -1;
    int32_t sp = a->in[0] >= 0 ? opt_rec_producer(c, a->in[0], "Split") : -1;
    if (sp < 0) return -1;
    const ir_node *n = &m->nodes[sp];
    if (n->n_out != 3 || n->in[0] < 0) return -1;
    const ing_tensor *x = &m->values[n->in[0]].t;
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (x->rank != 3 || !ing_shape_known(x) || (axis != 2 && axis != -1) || x->dims[2] % 3 != 0) return -1;
    for (int i = 0; i < 3; i++) {
        int32_t v = n->out[i];
        if (a->in[i] != v || c->uses[v] != 1 || m->values[v].t.rank != 3 || m->values[v].t.dims[2] != x->dims[2] / 3)
            return -1; /* equal parts, in Q, K, V order, read by nothing else */
    }
    return sp;
}

static ingot_status unsplit(opt_rec_ctx *c, int32_t att, int32_t sp, opt_stats *st)
{
    ir_model *m = c->m;
    int32_t x = m->nodes[sp].in[0], pos, b = ir_node_body(m, sp, &pos);
    ir_node *a = &m->nodes[att];
    for (int i = 0; i < 3; i++) a->in[i] = x;
    ING_TRY(opt_rec_attr_int(c, att, "qkv_packed", 1));
    if (b >= 0) ir_body_remove_at(m, b, pos);
    ING_TRY(opt_rec_refresh(c));
    st->removed += 1;
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    opt_rec_ctx c = {.m = m};
    ingot_status s = opt_rec_refresh(&c);
    int32_t packed = 0;
    for (int32_t b = 0; s == INGOT_OK && b < m->n_bodies; b++) {
        c.b = b;
        for (int32_t k = 0; s == INGOT_OK && k < m->bodies[b].n_nodes; k++) {
            int32_t att = m->bodies[b].nodes[k], proj[3], sp;
            if (strcmp(m->nodes[att].op, "Attention")) continue;
            if ((sp = split_source(&c, att)) >= 0) {
                s = unsplit(&c, att, sp, st);
            } else {
                if (!match(&c, att, proj)) continue;
                s = rewrite(&c, att, proj, st);
            }
            packed += s == INGOT_OK;
            k = -1; /* the body changed: rescan it (packed nodes no longer match) */
        }
    }
    opt_rec_free(&c);
    if (packed) snprintf(st->note, sizeof st->note, "%d Attention nodes read packed Q/K/V", packed);
    return s;
}

const opt_pass opt_pass_fuse_qkv = {
    "fuse_qkv", "the Q, K, V projections of an Attention into one FusedMatMul with concatenated weights", run};
