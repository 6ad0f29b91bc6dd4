/* Shape inference for the reduce family: Reduce* (axes as input 1), ArgMax/ArgMin, the softmax
 * family, CumSum/CumProd, the normalizations (Layer, RMS, Group, Instance, Batch, Lp, MVN, LRN),
 * TopK and Det. Kernels: backend/cpu/reduce*.c. */
#include <string.h>

#include "core/dtype.h"
#include "ir/op.h"

static int is_float(int dt) { return ing_dtype_is_float(dt); }
static int is_numeric(int dt) { return ing_dtype_is_float(dt) || ing_dtype_is_int(dt); }

static ingot_status need_input(const ir_node *node, const ing_tensor *const *in, int n_in, int i,
                               const char *what)
{
    if (i >= n_in || !in[i])
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d (%s) is required but missing", i,
                            what);
    return INGOT_OK;
}

static ingot_status need_float(const ir_node *node, const ing_tensor *t, const char *what)
{
    if (!is_float(t->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "%s has dtype %s; allowed: f16, bf16, f32, f64", what,
                            ingot_dtype_name((ingot_dtype)t->dtype));
    return INGOT_OK;
}

static ingot_status need_numeric(const ir_node *node, const ing_tensor *t, const char *what)
{
    if (!is_numeric(t->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "%s has dtype %s; allowed: integer and float dtypes", what,
                            ingot_dtype_name((ingot_dtype)t->dtype));
    return INGOT_OK;
}

/* ---- Reduce* ---- */

static ingot_status infer_reduce(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "data"));
    const ing_tensor *x = in[0];
    int bool_ok = strcmp(node->op, "ReduceMax") == 0 || strcmp(node->op, "ReduceMin") == 0;
    if (!(is_numeric(x->dtype) || (bool_ok && x->dtype == INGOT_DTYPE_BOOL)))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "data has dtype %s; allowed: integer and "
                            "float dtypes%s", ingot_dtype_name((ingot_dtype)x->dtype),
                            bool_ok ? " and bool" : "");
    int64_t keepdims = ir_attr_int(node, "keepdims", 1);
    int64_t noop = ir_attr_int(node, "noop_with_empty_axes", 0);
    const ing_tensor *axes = n_in > 1 ? in[1] : NULL;
    ing_tensor *y = out[0];
    y->dtype = x->dtype;
    if (axes && axes->dtype != INGOT_DTYPE_I64 && axes->dtype != INGOT_DTYPE_I32)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes has dtype %s; allowed: i64, i32",
                            ingot_dtype_name((ingot_dtype)axes->dtype));
    if (axes && axes->rank > 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes is %d-D; allowed: 1-D", axes->rank);
    int64_t n_axes = axes ? ing_numel(axes) : 0;
    if (x->rank < 0) {
        y->rank = -1;
        return INGOT_OK;
    }
    if (n_axes == 0 && noop) { /* reduce over no axis: same shape */
        ir_copy_desc(y, x);
        return INGOT_OK;
    }
    int red[IR_MAX_RANK] = {0};
    if (n_axes == 0) {
        for (int i = 0; i < x->rank; i++) red[i] = 1;
    } else if (n_axes < 0 || !axes->data) { /* axes unknown until run time */
        if (keepdims) {
            y->rank = x->rank;
            for (int i = 0; i < x->rank; i++) y->dims[i] = x->dims[i] == 1 ? 1 : -1;
        } else if (n_axes > 0 && n_axes <= x->rank) {
            y->rank = (int32_t)(x->rank - n_axes);
            for (int i = 0; i < y->rank; i++) y->dims[i] = -1;
        } else {
            y->rank = -1;
        }
        return INGOT_OK;
    } else {
        for (int64_t i = 0; i < n_axes; i++) {
            int64_t a = ir_get_i64(axes, i);
            int32_t na;
            ING_TRY(ir_norm_axis(node, a, x->rank, &na));
            if (x->rank == 0)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes has %lld values for a scalar "
                                    "input; allowed: none", (long long)n_axes);
            if (red[na])
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes lists axis %d twice", na);
            red[na] = 1;
        }
    }
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!red[i]) y->dims[r++] = x->dims[i];
        else if (keepdims) y->dims[r++] = 1;
    }
    y->rank = r;
    return INGOT_OK;
}

/* ---- ArgMax / ArgMin ---- */

static ingot_status infer_argm(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "data"));
    const ing_tensor *x = in[0];
    ING_TRY(need_numeric(node, x, "data"));
    ing_tensor *y = out[0];
    y->dtype = INGOT_DTYPE_I64;
    if (x->rank < 0) {
        y->rank = -1;
        return INGOT_OK;
    }
    if (x->rank == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "data is a scalar; allowed: rank >= 1");
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), x->rank, &axis));
    if (x->dims[axis] == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d has size 0; there is no %s index",
                            axis, strcmp(node->op, "ArgMax") == 0 ? "max" : "min");
    int keep = ir_attr_int(node, "keepdims", 1) != 0;
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != axis) y->dims[r++] = x->dims[i];
        else if (keep) y->dims[r++] = 1;
    }
    y->rank = r;
    return INGOT_OK;
}

/* ---- same shape as input 0, with an axis attribute checked (softmax family, Lp, Hardmax) ---- */

static ingot_status infer_softmax(const ir_node *node, const ing_tensor *const *in, int n_in,
                                  ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "input"));
    const ing_tensor *x = in[0];
    ING_TRY(need_float(node, x, "input"));
    if (x->rank >= 0) {
        int64_t dflt = node->opset < 13 ? 1 : -1;
        if (strcmp(node->op, "LpNormalization") == 0) dflt = -1;
        int32_t axis;
        if (x->rank == 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is a scalar; allowed: rank >= 1");
        int64_t a = ir_attr_int(node, "axis", dflt);
        /* opset < 13 coerces to 2-D at axis, and axis == rank is allowed there */
        if (!(node->opset < 13 && strcmp(node->op, "LpNormalization") != 0 && a == x->rank))
            ING_TRY(ir_norm_axis(node, a, x->rank, &axis));
    }
    if (strcmp(node->op, "LpNormalization") == 0) {
        int64_t p = ir_attr_int(node, "p", 2);
        if (p != 1 && p != 2)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "p is %lld; allowed: 1 or 2", (long long)p);
    }
    ir_copy_desc(out[0], x);
    return INGOT_OK;
}

/* ---- CumSum / CumProd ---- */

static ingot_status infer_cum(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "x"));
    ING_TRY(need_input(node, in, n_in, 1, "axis"));
    const ing_tensor *x = in[0], *ax = in[1];
    ING_TRY(need_numeric(node, x, "x"));
    if (ax->dtype != INGOT_DTYPE_I32 && ax->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis has dtype %s; allowed: i32, i64",
                            ingot_dtype_name((ingot_dtype)ax->dtype));
    int64_t n = ing_numel(ax);
    if (ax->rank > 1 || (n >= 0 && n != 1))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis must hold one value (a scalar); found "
                            "rank %d with %lld values", ax->rank, (long long)n);
    if (x->rank == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "x is a scalar; allowed: rank >= 1");
    if (ax->data && x->rank > 0) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, ir_get_i64(ax, 0), x->rank, &a));
    }
    ir_copy_desc(out[0], x);
    return INGOT_OK;
}

/* ---- TopK ---- */

static ingot_status infer_topk(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "X"));
    ING_TRY(need_input(node, in, n_in, 1, "K"));
    const ing_tensor *x = in[0], *k = in[1];
    ING_TRY(need_numeric(node, x, "X"));
    if (k->dtype != INGOT_DTYPE_I64 && k->dtype != INGOT_DTYPE_I32)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "K has dtype %s; allowed: i64",
                            ingot_dtype_name((ingot_dtype)k->dtype));
    int64_t nk = ing_numel(k);
    if (k->rank > 1 || (nk >= 0 && nk != 1))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "K must be a 1-D tensor of one value; found "
                            "rank %d with %lld values", k->rank, (long long)nk);
    ing_tensor *v = out[0], *ix = n_out > 1 ? out[1] : NULL;
    ing_tensor res;
    ir_copy_desc(&res, x);
    if (x->rank == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X is a scalar; allowed: rank >= 1");
    if (x->rank > 0) {
        int32_t axis;
        ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), x->rank, &axis));
        int64_t kv = -1;
        if (k->data) {
            kv = ir_get_i64(k, 0);
            if (kv < 0 || (x->dims[axis] >= 0 && kv > x->dims[axis]))
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "K is %lld; allowed: 0..%lld (the size "
                                    "of axis %d)", (long long)kv, (long long)x->dims[axis], axis);
        }
        res.dims[axis] = kv;
    }
    if (v) ir_copy_desc(v, &res);
    if (ix) {
        ir_copy_desc(ix, &res);
        ix->dtype = INGOT_DTYPE_I64;
    }
    return INGOT_OK;
}

/* ---- Det ---- */

static ingot_status infer_det(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "X"));
    const ing_tensor *x = in[0];
    ING_TRY(need_float(node, x, "X"));
    ing_tensor *y = out[0];
    y->dtype = x->dtype;
    if (x->rank < 0) {
        y->rank = -1;
        return INGOT_OK;
    }
    if (x->rank < 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X is %d-D; allowed: rank >= 2 ([*, M, M])",
                            x->rank);
    int64_t m = x->dims[x->rank - 2], n = x->dims[x->rank - 1];
    if (m >= 0 && n >= 0 && m != n)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X's last two dims are %lld x %lld; a "
                            "determinant needs square matrices", (long long)m, (long long)n);
    y->rank = x->rank - 2;
    for (int i = 0; i < y->rank; i++) y->dims[i] = x->dims[i];
    return INGOT_OK;
}

/* ---- normalizations ---- */

/* A per-channel parameter (scale, bias, mean, var) must be 1-D of size c (unless unknown). */
static ingot_status check_vec(const ir_node *node, const ing_tensor *t, const char *what, int64_t c)
{
    if (!t || t->rank < 0) return INGOT_OK;
    ING_TRY(need_float(node, t, what));
    int64_t n = ing_numel(t);
    if (t->rank != 1 || (n >= 0 && c >= 0 && n != c)) {
        char s[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s has shape %s; expected [%lld]", what,
                            ing_shape_str(t, s, sizeof s), (long long)c);
    }
    return INGOT_OK;
}

static ingot_status infer_layernorm(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "X"));
    ING_TRY(need_input(node, in, n_in, 1, "Scale"));
    const ing_tensor *x = in[0];
    ING_TRY(need_float(node, x, "X"));
    ING_TRY(need_float(node, in[1], "Scale"));
    if (n_in > 2 && in[2]) ING_TRY(need_float(node, in[2], "B"));
    int is_rms = strcmp(node->op, "RMSNormalization") == 0;
    int64_t stash = ir_attr_int(node, "stash_type", 1);
    if (!is_float((int)stash))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "stash_type is %lld; allowed: a float dtype "
                            "(1 f32, 10 f16, 11 f64, 16 bf16)", (long long)stash);
    ir_copy_desc(out[0], x);
    int32_t axis = 0;
    if (x->rank >= 0) {
        if (x->rank == 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X is a scalar; allowed: rank >= 1");
        ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), x->rank, &axis));
        for (int i = 1; i < 3 && i < n_in; i++) {
            const ing_tensor *p = in[i];
            if (!p || p->rank < 0) continue;
            if (p->rank > x->rank - axis) {
                char s[96], sx[96];
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s has shape %s; it must broadcast to "
                                    "X's normalized dims (X %s, axis %d)", i == 1 ? "Scale" : "B",
                                    ing_shape_str(p, s, sizeof s), ing_shape_str(x, sx, sizeof sx),
                                    axis);
            }
            for (int d = 0; d < p->rank; d++) {
                int64_t pd = p->dims[p->rank - 1 - d], xd = x->dims[x->rank - 1 - d];
                if (pd >= 0 && xd >= 0 && pd != 1 && pd != xd) {
                    char s[96], sx[96];
                    return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s has shape %s; it must broadcast "
                                        "to X's normalized dims (X %s, axis %d)",
                                        i == 1 ? "Scale" : "B", ing_shape_str(p, s, sizeof s),
                                        ing_shape_str(x, sx, sizeof sx), axis);
                }
            }
        }
    }
    for (int j = 1; j < 3 && j < n_out && !is_rms; j++) {
        ing_tensor *o = out[j];
        if (!o) continue;
        o->dtype = (int32_t)stash;
        o->rank = x->rank;
        for (int i = 0; i < x->rank; i++) o->dims[i] = i < axis ? x->dims[i] : 1;
    }
    return INGOT_OK;
}

/* X is [N, C, ...]; returns C (or -1) after checking the rank. */
static ingot_status nc_input(const ir_node *node, const ing_tensor *x, int min_rank, int64_t *c)
{
    ING_TRY(need_float(node, x, "X"));
    *c = -1;
    if (x->rank < 0) return INGOT_OK;
    if (x->rank < min_rank) {
        char s[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has shape %s; allowed: rank >= %d ([N, C, "
                            "...])", ing_shape_str(x, s, sizeof s), min_rank);
    }
    *c = x->dims[1];
    return INGOT_OK;
}

static ingot_status infer_groupnorm(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "X"));
    ING_TRY(need_input(node, in, n_in, 1, "scale"));
    ING_TRY(need_input(node, in, n_in, 2, "bias"));
    int64_t c, g = ir_attr_int(node, "num_groups", -1);
    ING_TRY(nc_input(node, in[0], 2, &c));
    if (g <= 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "num_groups is %lld; allowed: >= 1 (required)",
                            (long long)g);
    if (c >= 0 && c % g != 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "the channel count %lld is not a multiple of "
                            "num_groups %lld", (long long)c, (long long)g);
    /* opset 18 had one scale/bias per group; opset 21 one per channel */
    int64_t want = node->opset < 21 ? g : c;
    ING_TRY(check_vec(node, in[1], "scale", want));
    ING_TRY(check_vec(node, in[2], "bias", want));
    ir_copy_desc(out[0], in[0]);
    return INGOT_OK;
}

static ingot_status infer_instnorm(const ir_node *node, const ing_tensor *const *in, int n_in,
                                   ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "input"));
    ING_TRY(need_input(node, in, n_in, 1, "scale"));
    ING_TRY(need_input(node, in, n_in, 2, "B"));
    int64_t c;
    ING_TRY(nc_input(node, in[0], 2, &c));
    ING_TRY(check_vec(node, in[1], "scale", c));
    ING_TRY(check_vec(node, in[2], "B", c));
    ir_copy_desc(out[0], in[0]);
    return INGOT_OK;
}

static ingot_status infer_batchnorm(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int i = 0; i < 5; i++) ING_TRY(need_input(node, in, n_in, i, names[i]));
    int64_t c;
    ING_TRY(nc_input(node, in[0], 2, &c));
    if (node->opset < 9 && ir_attr_int(node, "spatial", 1) == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "spatial=0 (per-activation statistics) "
                            "is not supported; allowed: spatial=1");
    for (int i = 1; i < 5; i++) ING_TRY(check_vec(node, in[i], names[i], c));
    ir_copy_desc(out[0], in[0]);
    for (int j = 1; j < n_out; j++) {
        ing_tensor *o = out[j];
        if (!o) continue;
        o->dtype = j <= 2 ? in[j + 2]->dtype : in[0]->dtype;
        o->rank = 1;
        o->dims[0] = c;
    }
    return INGOT_OK;
}

static ingot_status infer_mvn(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "X"));
    const ing_tensor *x = in[0];
    ING_TRY(need_float(node, x, "X"));
    if (x->rank >= 0) {
        size_t na;
        const int64_t *axes = ir_attr_ints(node, "axes", &na);
        int seen[IR_MAX_RANK] = {0};
        if (!axes && x->rank < 4) {
            char s[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has shape %s; the default axes [0,2,3] "
                                "need rank >= 4", ing_shape_str(x, s, sizeof s));
        }
        for (size_t i = 0; axes && i < na; i++) {
            int32_t a;
            ING_TRY(ir_norm_axis(node, axes[i], x->rank, &a));
            if (seen[a]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes lists axis %d twice", a);
            seen[a] = 1;
        }
    }
    ir_copy_desc(out[0], x);
    return INGOT_OK;
}

static ingot_status infer_lrn(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    ING_TRY(need_input(node, in, n_in, 0, "X"));
    int64_t c;
    ING_TRY(nc_input(node, in[0], 2, &c));
    int64_t size = ir_attr_int(node, "size", 0);
    if (size <= 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "size is %lld; allowed: >= 1 (required)",
                            (long long)size);
    ir_copy_desc(out[0], in[0]);
    return INGOT_OK;
}

const ir_op_def ir_ops_reduce[] = {
    {"ReduceMax", infer_reduce},
    {"ReduceMin", infer_reduce},
    {"ReduceSum", infer_reduce},
    {"ReduceMean", infer_reduce},
    {"ReduceProd", infer_reduce},
    {"ReduceL1", infer_reduce},
    {"ReduceL2", infer_reduce},
    {"ReduceLogSum", infer_reduce},
    {"ReduceLogSumExp", infer_reduce},
    {"ReduceSumSquare", infer_reduce},
    {"ArgMax", infer_argm},
    {"ArgMin", infer_argm},
    {"Softmax", infer_softmax},
    {"LogSoftmax", infer_softmax},
    {"Hardmax", infer_softmax},
    {"LpNormalization", infer_softmax},
    {"CumSum", infer_cum},
    {"CumProd", infer_cum},
    {"TopK", infer_topk},
    {"Det", infer_det},
    {"LayerNormalization", infer_layernorm},
    {"RMSNormalization", infer_layernorm},
    {"GroupNormalization", infer_groupnorm},
    {"InstanceNormalization", infer_instnorm},
    {"BatchNormalization", infer_batchnorm},
    {"MeanVarianceNormalization", infer_mvn},
    {"LRN", infer_lrn},
    {NULL, NULL},
};
