/* The matcher kit of the recognition passes (declared and described in recognize.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"
#include "opt/recognize.h"

ingot_status opt_rec_refresh(opt_rec_ctx *c)
{
    ir_model *m = c->m;
    if (m->n_values + 1 > c->cap_v) {
        int32_t *u = ing_realloc(c->uses, (size_t)(m->n_values + 1) * sizeof(int32_t));
        if (!u) return ingot_fail(INGOT_ERR_NOMEM, "out of memory counting value uses (%d values)", m->n_values);
        c->uses = u;
        c->cap_v = m->n_values + 1;
    }
    if (m->n_nodes + 1 > c->cap_n) {
        int32_t *nb = ing_realloc(c->node_body, (size_t)(m->n_nodes + 1) * sizeof(int32_t));
        if (!nb) return ingot_fail(INGOT_ERR_NOMEM, "out of memory mapping nodes to bodies (%d nodes)", m->n_nodes);
        c->node_body = nb;
        c->cap_n = m->n_nodes + 1;
    }
    ir_count_uses(m, c->uses);
    for (int32_t i = 0; i < m->n_nodes; i++) c->node_body[i] = -1;
    for (int32_t b = 0; b < m->n_bodies; b++)
        for (int32_t k = 0; k < m->bodies[b].n_nodes; k++) c->node_body[m->bodies[b].nodes[k]] = b;
    return INGOT_OK;
}

void opt_rec_free(opt_rec_ctx *c)
{
    ing_free(c->uses);
    ing_free(c->node_body);
    memset(c, 0, sizeof *c);
}

int32_t opt_rec_producer(const opt_rec_ctx *c, int32_t v, const char *op)
{
    if (v < 0 || v >= c->m->n_values) return -1;
    int32_t p = c->m->values[v].producer;
    if (p < 0 || p >= c->m->n_nodes || c->node_body[p] != c->b) return -1;
    const ir_node *n = &c->m->nodes[p];
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return -1;
    if (op && strcmp(n->op, op) != 0) return -1;
    return p;
}

int opt_rec_only_use(const opt_rec_ctx *c, int32_t v, int32_t node)
{
    if (v < 0 || node < 0) return 0;
    const ir_node *n = &c->m->nodes[node];
    int32_t k = 0;
    for (int32_t i = 0; i < n->n_in; i++) k += n->in[i] == v;
    return k > 0 && c->uses[v] == k && c->node_body[node] == c->b;
}

int32_t opt_rec_other(const ir_node *n, int32_t v)
{
    if (n->n_in != 2) return -1;
    if (n->in[0] == v) return n->in[1];
    if (n->in[1] == v) return n->in[0];
    return -1;
}

int32_t opt_rec_consumer(const opt_rec_ctx *c, int32_t v, const char *op)
{
    if (v < 0 || c->uses[v] != 1) return -1;
    const ir_body *body = &c->m->bodies[c->b];
    for (int32_t k = 0; k < body->n_nodes; k++) {
        const ir_node *n = &c->m->nodes[body->nodes[k]];
        for (int32_t i = 0; i < n->n_in; i++)
            if (n->in[i] == v) {
                if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return -1;
                return !op || !strcmp(n->op, op) ? body->nodes[k] : -1;
            }
    }
    return -1;
}

int opt_rec_scalar(const opt_rec_ctx *c, int32_t v, int32_t max_rank, double *val)
{
    if (v < 0) return 0;
    const ir_value *x = &c->m->values[v];
    if (x->kind != IR_VALUE_CONST || !x->t.data || x->t.rank < 0 || x->t.rank > max_rank) return 0;
    if (ing_numel(&x->t) != 1) return 0;
    if (!ing_dtype_is_float(x->t.dtype) && !ing_dtype_is_int(x->t.dtype)) return 0;
    *val = ing_load_f64(x->t.dtype, x->t.data, 0);
    return 1;
}

int opt_rec_near(double v, double want)
{
    return fabs(v - want) <= 1e-4 * (fabs(want) > 1.0 ? fabs(want) : 1.0);
}

int opt_rec_const_near(const opt_rec_ctx *c, int32_t v, int32_t max_rank, double want)
{
    double k;
    if (!opt_rec_scalar(c, v, max_rank, &k)) return 0;
    if (opt_rec_near(k, want)) return 1;
    int dt = c->m->values[v].t.dtype;
    if (dt == INGOT_DTYPE_F16) return k == (double)ing_f16_to_f32(ing_f32_to_f16((float)want));
    if (dt == INGOT_DTYPE_BF16) return k == (double)ing_bf16_to_f32(ing_f32_to_bf16((float)want));
    return 0;
}

int opt_rec_is_float(int dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16 || dt == INGOT_DTYPE_F64;
}

ingot_status opt_rec_new_node(opt_rec_ctx *c, int32_t like, const char *op, int32_t opset, const int32_t *in,
                              int32_t n_in, int32_t out, int32_t *id)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", c->m->nodes[like].name, op);
    return ir_add_node(c->m, name, op, "", opset, in, n_in, &out, out >= 0 ? 1 : 0, id);
}

static ingot_status add_attr(opt_rec_ctx *c, int32_t node, ir_attr *a, const char *name)
{
    a->name = ing_strdup(name);
    if (!a->name) {
        ir_attr_free(a);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    }
    return ir_node_add_attr(c->m, node, a);
}

ingot_status opt_rec_attr_float(opt_rec_ctx *c, int32_t node, const char *name, float v)
{
    ir_attr a = {0};
    a.type = IR_ATTR_FLOAT;
    a.f = v;
    return add_attr(c, node, &a, name);
}

ingot_status opt_rec_attr_int(opt_rec_ctx *c, int32_t node, const char *name, int64_t v)
{
    ir_attr a = {0};
    a.type = IR_ATTR_INT;
    a.i = v;
    return add_attr(c, node, &a, name);
}

ingot_status opt_rec_attr_string(opt_rec_ctx *c, int32_t node, const char *name, const char *v)
{
    ir_attr a = {0};
    a.type = IR_ATTR_STRING;
    a.s = ing_strdup(v);
    a.s_len = strlen(v);
    if (!a.s) return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    return add_attr(c, node, &a, name);
}

ingot_status opt_rec_attr_ints(opt_rec_ctx *c, int32_t node, const char *name, const int64_t *v, int32_t n)
{
    ir_attr a = {0};
    a.type = IR_ATTR_INTS;
    a.ints = ing_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (!a.ints) return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    if (n > 0) memcpy(a.ints, v, (size_t)n * sizeof(int64_t));
    a.n = (size_t)n;
    return add_attr(c, node, &a, name);
}

ingot_status opt_rec_new_value(opt_rec_ctx *c, int32_t like, const char *suffix, int32_t *id)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", c->m->values[like].name, suffix);
    return ir_add_value(c->m, name, IR_VALUE_ACTIVATION, id);
}

ingot_status opt_rec_commit(opt_rec_ctx *c, int32_t node, int32_t slot_of, const int32_t *absorbed,
                            int32_t n_absorbed)
{
    ir_model *m = c->m;
    ir_body *body = &m->bodies[c->b];
    for (int32_t i = 0; i < n_absorbed; i++) ING_TRY(opt_merge_origin(m, node, absorbed[i]));
    for (int32_t k = 0; k < body->n_nodes; k++)
        if (body->nodes[k] == slot_of) body->nodes[k] = node;
    for (int32_t i = 0; i < n_absorbed; i++) {
        if (absorbed[i] == slot_of) continue;
        for (int32_t k = 0; k < body->n_nodes; k++)
            if (body->nodes[k] == absorbed[i]) {
                ir_body_remove_at(m, c->b, k);
                break;
            }
    }
    const ir_node *n = &m->nodes[node];
    for (int32_t j = 0; j < n->n_out; j++)
        if (n->out[j] >= 0) m->values[n->out[j]].producer = node;
    return opt_rec_refresh(c);
}

int opt_rec_rowwise_matmul(const opt_rec_ctx *c, int32_t g)
{
    const ir_model *m = c->m;
    const ir_node *n = &m->nodes[g];
    int gemm = !strcmp(n->op, "Gemm");
    if (n->domain[0] || !(gemm || !strcmp(n->op, "MatMul")) || n->n_in < 2 || n->n_out != 1 || n->in[0] < 0 ||
        n->in[1] < 0)
        return 0;
    const ir_value *w = &m->values[n->in[1]];
    if (w->kind != IR_VALUE_CONST || !w->t.data || w->t.rank != 2 || !ing_shape_known(&w->t)) return 0;
    if (!gemm) return n->n_in == 2;
    if (ir_attr_int(n, "transA", 0) != 0 || ir_attr_float(n, "alpha", 1.0f) != 1.0f || ir_attr_float(n, "beta", 1.0f) != 1.0f)
        return 0;
    if (n->n_in > 2 && n->in[2] >= 0) {
        const ir_value *cv = &m->values[n->in[2]];
        if (cv->kind != IR_VALUE_CONST || cv->t.rank != 1) return 0;
    }
    return 1;
}

ingot_status opt_rec_scan(ir_model *m, int (*wants)(const ir_node *n),
                          ingot_status (*try_node)(opt_rec_ctx *c, int32_t node, int *done, opt_stats *st),
                          opt_stats *st)
{
    opt_rec_ctx c = {.m = m};
    ingot_status s = opt_rec_refresh(&c);
    for (int32_t b = 0; s == INGOT_OK && b < m->n_bodies; b++) {
        c.b = b;
        for (int32_t k = 0; s == INGOT_OK && k < m->bodies[b].n_nodes; k++) {
            int32_t node = m->bodies[b].nodes[k];
            if (!wants(&m->nodes[node])) continue;
            int done = 0;
            s = try_node(&c, node, &done, st);
            if (done) k = -1; /* the body changed: rescan it */
        }
    }
    opt_rec_free(&c);
    return s;
}
