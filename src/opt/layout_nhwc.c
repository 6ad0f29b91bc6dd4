/* layout_nhwc: 2-D Conv / FusedConv (constant W) / MaxPool / AveragePool on NCHW, and GlobalAveragePool, elementwise
 * ops and channel Concats of their outputs → the op with channels_last = 1 between Transpose(0,2,3,1) and
 * Transpose(0,3,1,2), W re-laid out KRSC as a new constant, GAP as ReduceMean(axes 1,2), elementwise ops and Concat
 * (axis 3) on the NHWC operands; an NHWC value is reused instead of transposing its NCHW form back (inverse pairs
 * cancel); back-transposes nobody reads are dropped; any Transpose that moves only size-1 dims becomes a Reshape.
 * Preconditions: CUDA build; f16/bf16, or f32 when the build's precision is not strict fp32 (it runs before
 * precision assignment: under --fp16/--bf16/--tf32 the convolutions reach tensor cores, which want NHWC; strict
 * fp32 has none, and cuDNN's fp32 NCHW kernels are faster there: ResNet-50 batch 128 on an H100 took 30.6 ms
 * NCHW against 52.3 ms NHWC); 4-D X; convolutions with symmetric pads (or VALID); pooling without Indices.
 * Main graph only. Graph outputs keep their values, names and layouts. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"

static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};

typedef struct layout {
    ir_model *m;
    int32_t *nhwc;    /* per original value: its NHWC twin, or -1 */
    int32_t n_orig;   /* values before the pass: the keys of nhwc */
    int32_t *order;   /* body 0's new node order */
    int32_t n_order, cap_order;
    int32_t *backs;   /* back-transposes added (node ids) */
    int32_t n_backs, cap_backs;
    int32_t convs, pools, gaps, followers; /* nodes moved to NHWC */
    int32_t created, transposes, reshapes;  /* Transposes added; in the graph at the end; made Reshapes */
    int strict_fp32;                        /* the build's precision is fp32: f32 stays NCHW */
} layout;

/* f16 and bf16 (cuDNN takes bf16 convolutions in NHWC only); f32 unless the precision is strict fp32 */
static int takes_dtype(const layout *L, int dt)
{
    return dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16 || (dt == INGOT_DTYPE_F32 && !L->strict_fp32);
}

static int is_const(const ir_model *m, int32_t v)
{
    return v >= 0 && m->values[v].kind == IR_VALUE_CONST && m->values[v].t.data != NULL &&
           ing_shape_known(&m->values[v].t);
}

/* The convolution geometry the cuDNN kernel takes: explicit symmetric pads or VALID (others
 * would fall back to the CPU, transposes and all). Pooling converts whatever its window: what
 * cuDNN does not take (ceil_mode, dilation) falls back to the CPU in either layout, and an NCHW
 * pool between NHWC convolutions would cost two Transposes; only the Indices output stays NCHW. */
static int geometry_ok(const ir_node *n, int pool)
{
    if (ir_attr_int(n, "channels_last", 0) != 0) return 0;
    size_t nk;
    if (pool) return ir_attr_ints(n, "kernel_shape", &nk) && nk == 2 && (n->n_out < 2 || n->out[1] < 0);
    const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0) return 0;
    size_t np;
    const int64_t *pd = ir_attr_ints(n, "pads", &np);
    return !pd || (np == 4 && pd[0] == pd[2] && pd[1] == pd[3]);
}

/* Elementwise ops that commute with any layout; the binary/variadic ones only when every
 * operand is 4-D NHWC already or a single element (permuting all operands alike keeps the
 * broadcast). */
static const char *const unary_ops[] = {"Relu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "LeakyRelu", "Clip",
                                        "Elu", "Selu", "Softplus", "Erf", "Exp", "Neg", "Abs", "Sqrt", "Cast"};
static const char *const binary_ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"};

static int in_list(const char *op, const char *const *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(op, l[i])) return 1;
    return 0;
}

static int has_twin(const layout *L, int32_t v) { return v >= 0 && v < L->n_orig && L->nhwc[v] >= 0; }

/* An elementwise op or a channel Concat (kind 4) whose NHWC operands exist: it follows them,
 * so that no Transpose goes in between. Input 0 of a unary op must be NHWC; the other inputs
 * (Clip's bounds) single elements. */
static int follows(const layout *L, const ir_node *n)
{
    const ir_model *m = L->m;
    if ((n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) || n->n_out != 1 || n->out[0] < 0 || n->n_in < 1) return 0;
    if (m->values[n->out[0]].t.rank != 4) return 0;
    int unary = in_list(n->op, unary_ops, sizeof unary_ops / sizeof unary_ops[0]);
    int concat = !strcmp(n->op, "Concat");
    if (!unary && !concat && !in_list(n->op, binary_ops, sizeof binary_ops / sizeof binary_ops[0])) return 0;
    if (concat && ir_attr_int(n, "axis", 0) != 1 && ir_attr_int(n, "axis", 0) != -3) return 0;
    int twins = 0;
    for (int32_t i = 0; i < n->n_in; i++) {
        int32_t v = n->in[i];
        if (v < 0) continue;
        if (has_twin(L, v) && m->values[v].t.rank == 4) {
            twins++;
            continue;
        }
        if (concat || (unary && i == 0) || ing_numel(&m->values[v].t) != 1 || m->values[v].t.rank > 4) return 0;
    }
    return twins > 0;
}

/* Which rewrite node n takes: 1 convolution, 2 pooling, 3 GlobalAveragePool, 4 an elementwise
 * op or Concat following NHWC operands, 0 none. */
static int kind_of(const layout *L, const ir_node *n)
{
    const ir_model *m = L->m;
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return 0;
    const ing_tensor *x = &m->values[n->in[0]].t;
    if (x->rank != 4 || !takes_dtype(L, x->dtype)) return 0;
    int fused = !strcmp(n->op, "FusedConv") && !strcmp(n->domain, "ingot");
    int dflt = !n->domain[0] || !strcmp(n->domain, "ai.onnx");
    if ((fused || (dflt && !strcmp(n->op, "Conv"))) && n->n_out == 1 && n->n_in >= 2 && is_const(m, n->in[1]) &&
        m->values[n->in[1]].t.rank == 4 && m->values[n->in[1]].t.dtype == x->dtype && geometry_ok(n, 0))
        return 1;
    if (dflt && (!strcmp(n->op, "MaxPool") || !strcmp(n->op, "AveragePool")) && geometry_ok(n, 1)) return 2;
    /* GAP is worth it only on a value already NHWC; otherwise it stays as it is */
    if (dflt && !strcmp(n->op, "GlobalAveragePool") && n->n_out == 1 && n->in[0] < L->n_orig && L->nhwc[n->in[0]] >= 0 &&
        x->dims[1] >= 0)
        return 3;
    return follows(L, n) ? 4 : 0;
}

static ingot_status push(int32_t **arr, int32_t *n, int32_t *cap, int32_t v)
{
    if (*n == *cap) {
        int32_t nc = *cap ? *cap * 2 : 64;
        int32_t *a = ing_realloc(*arr, (size_t)nc * sizeof(int32_t));
        if (!a) return ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory for %d node ids", nc);
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = v;
    return INGOT_OK;
}

static ingot_status ints_attr(ir_model *m, int32_t node, const char *name, const int64_t *v, size_t n)
{
    ir_attr a = {0};
    a.type = IR_ATTR_INTS;
    a.name = ing_strdup(name);
    a.ints = ing_malloc(n * sizeof(int64_t));
    a.n = n;
    if (!a.name || !a.ints) {
        ing_free(a.name);
        ing_free(a.ints);
        return ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory for attribute '%s'", name);
    }
    memcpy(a.ints, v, n * sizeof(int64_t));
    return ir_node_add_attr(m, node, &a);
}

/* A new activation value named base+suffix with x's dtype and dims permuted by perm. */
static ingot_status permuted_value(ir_model *m, int32_t x, const int64_t *perm, const char *suffix, int32_t *id)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s", m->values[x].name, suffix);
    ING_TRY(ir_add_value(m, name, IR_VALUE_ACTIVATION, id));
    ir_value *v = &m->values[*id], *xv = &m->values[x];
    v->t = xv->t;
    v->t.data = NULL;
    for (int i = 0; i < 4; i++) {
        v->t.dims[i] = xv->t.dims[perm[i]];
        if (xv->dim_params[perm[i]] && !(v->dim_params[i] = ing_strdup(xv->dim_params[perm[i]])))
            return ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory naming a dim of '%s'", name);
    }
    return INGOT_OK;
}

/* src → dst by Transpose(perm), appended to the new order (the final sweep turns one that
 * moves only size-1 dims into a Reshape). */
static ingot_status relayout(layout *L, int32_t src, int32_t dst, const int64_t *perm, int32_t opset, int32_t *node)
{
    ir_model *m = L->m;
    char name[512];
    snprintf(name, sizeof name, "%s/transpose", m->values[dst].name);
    ING_TRY(ir_add_node(m, name, "Transpose", "", opset, &src, 1, &dst, 1, node));
    ING_TRY(ints_attr(m, *node, "perm", perm, 4));
    m->values[dst].producer = *node;
    L->created++;
    return push(&L->order, &L->n_order, &L->cap_order, *node);
}

/* The Transpose at position pos of body 0, when it moves only size-1 dims (the bytes keep
 * their order), becomes a Reshape, which needs no copy once the memory planner aliases it. A
 * dim it leaves in place may be dynamic (0 copies it); *done says whether it changed. */
static ingot_status transpose_to_reshape(ir_model *m, int32_t pos, int *done)
{
    int32_t id = m->bodies[0].nodes[pos];
    const ir_node *n = &m->nodes[id];
    *done = 0;
    if (strcmp(n->op, "Transpose") != 0 || (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) || n->n_in != 1 ||
        n->n_out != 1 || n->in[0] < 0 || n->out[0] < 0)
        return INGOT_OK;
    const ing_tensor *x = &m->values[n->in[0]].t;
    size_t np;
    const int64_t *perm = ir_attr_ints(n, "perm", &np);
    int32_t r = x->rank;
    if (!perm || r < 1 || (int32_t)np != r) return INGOT_OK; /* the default (reversing) perm: left alone */
    int64_t shape[IR_MAX_RANK], last = -1;
    for (int32_t i = 0; i < r; i++) {
        int64_t p = perm[i], d = p >= 0 && p < r ? x->dims[p] : 0;
        if (d == 0 || (d < 0 && p != i)) return INGOT_OK;
        shape[i] = d < 0 ? 0 : d;
        if (d == 1) continue;
        if (p < last) return INGOT_OK;
        last = p;
    }
    char name[512], cname[520];
    snprintf(name, sizeof name, "%s/reshape", n->name);
    snprintf(cname, sizeof cname, "%s/shape", name);
    int32_t in[2] = {n->in[0], -1}, out = n->out[0], opset = n->opset < 14 ? 14 : n->opset, node;
    ING_TRY(ir_add_const_i64(m, cname, shape, r, &in[1]));
    ING_TRY(ir_add_node(m, name, "Reshape", "", opset, in, 2, &out, 1, &node));
    ING_TRY(opt_merge_origin(m, node, id));
    m->bodies[0].nodes[pos] = node;
    m->values[out].producer = node;
    *done = 1;
    return INGOT_OK;
}

/* x's NHWC form: its twin when it has one (an NCHW value read back), else a new Transpose. */
static ingot_status nhwc_of(layout *L, int32_t x, int32_t *out)
{
    if (x < L->n_orig && L->nhwc[x] >= 0) {
        *out = L->nhwc[x];
        return INGOT_OK;
    }
    int32_t t, node;
    ING_TRY(permuted_value(L->m, x, to_nhwc, "/nhwc", &t));
    ING_TRY(relayout(L, x, t, to_nhwc, L->m->opset, &node));
    if (x < L->n_orig) L->nhwc[x] = t;
    *out = t;
    return INGOT_OK;
}

/* A KRSC copy of the OIHW constant w: [O][I][kh][kw] → [O][kh][kw][I]. */
static ingot_status krsc_const(ir_model *m, int32_t w, int32_t *out)
{
    const ing_tensor *t = &m->values[w].t;
    int64_t dims[4] = {t->dims[0], t->dims[2], t->dims[3], t->dims[1]};
    return ir_add_const_swapped(m, w, t->dims[0], t->dims[1], t->dims[2] * t->dims[3], 4, dims, "krsc", out);
}

/* Node id now writes the NHWC twin of its output; the NCHW value comes from a back-transpose
 * (dropped at the end when nobody reads it). */
static ingot_status output_nhwc(layout *L, int32_t id)
{
    ir_model *m = L->m;
    int32_t y = m->nodes[id].out[0], y4, back;
    ING_TRY(permuted_value(m, y, to_nhwc, "/nhwc", &y4));
    m->nodes[id].out[0] = y4;
    m->values[y4].producer = id;
    ING_TRY(push(&L->order, &L->n_order, &L->cap_order, id));
    ING_TRY(relayout(L, y4, y, to_nchw, m->opset, &back));
    ING_TRY(push(&L->backs, &L->n_backs, &L->cap_backs, back));
    L->nhwc[y] = y4;
    return INGOT_OK;
}

/* An elementwise op or channel Concat (kind 4): operands swapped for their twins; a Concat
 * joins axis 3 now. */
static ingot_status convert_follower(layout *L, int32_t id)
{
    ir_node *n = &L->m->nodes[id];
    for (int32_t i = 0; i < n->n_in; i++)
        if (has_twin(L, n->in[i])) n->in[i] = L->nhwc[n->in[i]];
    for (int32_t i = 0; i < n->n_attr && !strcmp(n->op, "Concat"); i++)
        if (!strcmp(n->attrs[i].name, "axis")) n->attrs[i].i = 3;
    L->followers++;
    return output_nhwc(L, id);
}

/* Conv / FusedConv / MaxPool / AveragePool (kind 1, 2) on NHWC: X (and the residual) moved,
 * W re-laid out KRSC, the node marked channels_last. */
static ingot_status convert(layout *L, int32_t id, int kind)
{
    ir_model *m = L->m;
    int32_t x;
    ING_TRY(nhwc_of(L, m->nodes[id].in[0], &x));
    m->nodes[id].in[0] = x;
    if (kind == 1) {
        int32_t w;
        ING_TRY(krsc_const(m, m->nodes[id].in[1], &w));
        m->nodes[id].in[1] = w;
        if (m->nodes[id].n_in > 3 && m->nodes[id].in[3] >= 0) {
            int32_t z;
            ING_TRY(nhwc_of(L, m->nodes[id].in[3], &z));
            m->nodes[id].in[3] = z;
        }
    }
    ir_attr a = {0};
    a.type = IR_ATTR_INT;
    a.i = 1;
    if (!(a.name = ing_strdup("channels_last")))
        return ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory for node '%s'", m->nodes[id].name);
    ING_TRY(ir_node_add_attr(m, id, &a));
    if (kind == 1) L->convs++;
    else L->pools++;
    return output_nhwc(L, id);
}

/* GlobalAveragePool of an NHWC value → ReduceMean(axes 1, 2, keepdims) [N, 1, 1, C]; its NCHW
 * output [N, C, 1, 1] then comes from a Reshape (only size-1 dims move). */
static ingot_status convert_gap(layout *L, int32_t id)
{
    ir_model *m = L->m;
    int32_t axes, node;
    static const int64_t ax[2] = {1, 2};
    char name[512], cname[520];
    snprintf(name, sizeof name, "%s/mean_hw", m->nodes[id].name);
    snprintf(cname, sizeof cname, "%s/axes", name);
    ING_TRY(ir_add_const_i64(m, cname, ax, 2, &axes));
    int32_t in[2] = {L->nhwc[m->nodes[id].in[0]], axes};
    ING_TRY(ir_add_node(m, name, "ReduceMean", "", 18, in, 2, &m->nodes[id].out[0], 1, &node));
    ir_attr a = {0};
    a.type = IR_ATTR_INT;
    a.i = 1;
    if (!(a.name = ing_strdup("keepdims")))
        return ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory for node '%s'", name);
    ING_TRY(ir_node_add_attr(m, node, &a));
    ING_TRY(opt_merge_origin(m, node, id));
    L->gaps++;
    return output_nhwc(L, node);
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    if (o->backend != INGOT_BACKEND_CUDA) return INGOT_OK;
    layout L = {0};
    L.m = m;
    L.n_orig = m->n_values;
    L.strict_fp32 = o->precision == INGOT_PRECISION_FP32;
    int32_t *uses = NULL;
    ingot_status s = INGOT_OK;
    L.nhwc = ing_malloc((size_t)(L.n_orig ? L.n_orig : 1) * sizeof(int32_t));
    if (!L.nhwc) s = ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory for %d values", L.n_orig);
    for (int32_t v = 0; v < L.n_orig && s == INGOT_OK; v++) L.nhwc[v] = -1;
    int32_t n_nodes = m->bodies[0].n_nodes;
    for (int32_t p = 0; p < n_nodes && s == INGOT_OK; p++) {
        int32_t id = m->bodies[0].nodes[p];
        int kind = kind_of(&L, &m->nodes[id]);
        if (kind == 1 || kind == 2) s = convert(&L, id, kind);
        else if (kind == 4) s = convert_follower(&L, id);
        else if (kind == 3) s = convert_gap(&L, id);
        else s = push(&L.order, &L.n_order, &L.cap_order, id);
    }
    int32_t dropped = 0;
    if (s == INGOT_OK && L.convs + L.pools + L.gaps + L.followers > 0) {
        /* the new order replaces body 0's; then back-transposes nobody reads go */
        ing_free(m->bodies[0].nodes);
        m->bodies[0].nodes = L.order;
        m->bodies[0].n_nodes = L.n_order;
        L.order = NULL;
        uses = ing_calloc((size_t)m->n_values, sizeof(int32_t));
        if (!uses) s = ingot_fail(INGOT_ERR_NOMEM, "layout_nhwc: out of memory for %d use counts", m->n_values);
        if (s == INGOT_OK) ir_count_uses(m, uses);
        for (int32_t i = 0; i < L.n_backs && s == INGOT_OK; i++) {
            int32_t node = L.backs[i], out = m->nodes[node].out[0], pos;
            if (uses[out] > 0 || ir_is_graph_output(m, out) || ir_node_body(m, node, &pos) != 0) continue;
            ir_body_remove_at(m, 0, pos);
            dropped++;
        }
    }
    for (int32_t p = 0; p < m->bodies[0].n_nodes && s == INGOT_OK; p++) {
        int done = 0;
        s = transpose_to_reshape(m, p, &done);
        L.reshapes += done;
        L.transposes += !done && !strcmp(m->nodes[m->bodies[0].nodes[p]].op, "Transpose");
    }
    if (s == INGOT_OK) {
        st->added = L.created - dropped + L.gaps; /* Transposes kept (some as Reshapes), ReduceMeans */
        st->removed = L.gaps; /* each GlobalAveragePool became a ReduceMean */
        snprintf(st->note, sizeof st->note,
                 "%d convolutions, %d pools, %d GlobalAveragePools, %d elementwise/Concat to NHWC; %d Transposes "
                 "and %d Transposes-as-Reshapes in the graph (%d back-transposes unread, dropped)",
                 L.convs, L.pools, L.gaps, L.followers, L.transposes, L.reshapes, dropped);
    }
    ing_free(uses);
    ing_free(L.order);
    ing_free(L.backs);
    ing_free(L.nhwc);
    return s;
}

const opt_pass opt_pass_layout_nhwc = {"layout_nhwc",
                                       "CUDA: 2-D convolutions and pooling to channels-last (NHWC; f32 ones only "
                                       "under --tf32), weights KRSC, inverse Transposes cancelled",
                                       run};
