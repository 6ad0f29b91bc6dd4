/* CUDA host glue for the reduce family: Reduce* (all ten), GlobalAveragePool / GlobalMaxPool,
 * Softmax / LogSoftmax, ArgMax / ArgMin, CumSum, LayerNormalization, RMSNormalization,
 * BatchNormalization (inference), InstanceNormalization and GroupNormalization.
 *
 * Float ops take f32, f16 and bf16 (computed in f32); ArgMax/ArgMin and CumSum also i32 and i64.
 * Anything else — f64, other integer types, axes not readable on the host, parameters that do
 * not hold one value per normalized element (or one in all), BatchNormalization in training
 * mode, stash_type other than f32, empty tensors — is refused by `accepts`, so the CPU kernel
 * runs it and reports any model error with its own message. The checks in the run functions
 * repeat what `accepts` relies on, since `accepts` may have seen shapes not yet known. */
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/reduce.h"

_Static_assert(ING_RED_MAX_RANK >= IR_MAX_RANK, "a reduction plan holds every dim");

static int is_fdt(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }
static int is_idt(int dt) { return dt == INGOT_DTYPE_I32 || dt == INGOT_DTYPE_I64; }

static const ing_tensor *opt_in(const ing_tensor *const *in, int n_in, int i) { return i < n_in ? in[i] : NULL; }

/* a normalized axis, or -1 when out of range (the CPU kernel then reports it) */
static int axis_or_neg(int64_t a, int rank)
{
    if (a < 0) a += rank;
    return a >= 0 && a < rank ? (int)a : -1;
}

static int known(const ing_tensor *t) { return t && ing_shape_known(t); }

static ingot_status launched(const ir_node *node, int err, const char *kernel)
{
    if (err) return ingot_fail_prefix(cuda_check(err, kernel), "node '%s' (%s)", node->name, node->op);
    return cuda_check_launch(node, kernel);
}

/* [outer, n, inner] around axis. */
static void split_axis(const ing_tensor *t, int axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    int64_t o = 1, i = 1;
    for (int d = 0; d < axis; d++) o *= t->dims[d];
    for (int d = axis + 1; d < t->rank; d++) i *= t->dims[d];
    *outer = o;
    *n = t->dims[axis];
    *inner = i;
}

/* The values of a small integer input (axes): the engine's constant, else a copy of the device
 * bytes. That copy synchronizes; it happens only for axes computed at run time. */
static ingot_status host_ints(cuda_exec *x, const ir_node *node, const ing_tensor *t, int input,
                              int64_t *dst, int64_t cap, int64_t *n)
{
    int64_t cnt = ing_numel(t);
    if (cnt < 0 || cnt > cap)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d has %lld values; at most %lld allowed",
                            input, (long long)cnt, (long long)cap);
    if (t->dtype != INGOT_DTYPE_I64 && t->dtype != INGOT_DTYPE_I32)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %d; allowed: int64 (7) or int32 (6)",
                            input, t->dtype);
    const void *h = cuda_host_const(x, node, input);
    int64_t buf[IR_MAX_RANK * 2];
    if (!h && cnt > 0) {
        int err = ingk_copy_to_host_sync(buf, t->data, (size_t)cnt * (t->dtype == INGOT_DTYPE_I64 ? 8u : 4u), cuda_stream(x));
        if (err) return IR_NODE_FAIL(node, INGOT_ERR_CUDA, "copying input %d to the host: cudaError %d", input, err);
        h = buf;
    }
    ing_tensor tmp = *t;
    tmp.data = (void *)h;
    for (int64_t i = 0; i < cnt; i++) dst[i] = ir_get_i64(&tmp, i);
    *n = cnt;
    return INGOT_OK;
}

/* ======================================================================================
 * Reduce*, GlobalAveragePool, GlobalMaxPool
 * ====================================================================================== */

static int red_op(const char *op)
{
    static const struct { const char *name; int op; } ops[] = {
        {"ReduceSum", INGK_R_SUM}, {"ReduceMean", INGK_R_MEAN}, {"ReduceProd", INGK_R_PROD},
        {"ReduceMax", INGK_R_MAX}, {"ReduceMin", INGK_R_MIN}, {"ReduceL1", INGK_R_L1},
        {"ReduceL2", INGK_R_L2}, {"ReduceLogSum", INGK_R_LOGSUM}, {"ReduceLogSumExp", INGK_R_LSE},
        {"ReduceSumSquare", INGK_R_SUMSQ}, {"GlobalAveragePool", INGK_R_MEAN},
        {"GlobalMaxPool", INGK_R_MAX},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(ops[i].name, op) == 0) return ops[i].op;
    return -1;
}

static int acc_reduce(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = in[0], *axes = opt_in(in, n_in, 1);
    if (!x || !is_fdt(x->dtype) || x->rank > IR_MAX_RANK) return 0;
    if (axes && !axes->data) return 0; /* not readable at build time: the CPU handles it */
    return 1;
}

static ingot_status run_plan(const ir_node *node, cuda_exec *x, int op, const ing_tensor *xin,
                             ing_tensor *y, const int *red)
{
    ingk_red_plan p;
    ing_red_plan_build(xin->rank, xin->dims, red, &p);
    if (p.nout != ing_numel(y)) {
        char sx[96], sy[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output %s does not match input %s reduced",
                            ing_shape_str(y, sy, sizeof sy), ing_shape_str(xin, sx, sizeof sx));
    }
    if (y->dtype != xin->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output dtype %d differs from the input's %d",
                            y->dtype, xin->dtype);
    return launched(node, ingk_reduce(op, xin->dtype, xin->data, y->data, &p, cuda_stream(x)),
                    "reduce");
}

static ingot_status k_reduce(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0], *axes = opt_in(in, n_in, 1);
    int op = red_op(node->op);
    if (op < 0) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "'%s' is not a reduction", node->op);
    int64_t ax[IR_MAX_RANK * 2], n = 0;
    if (axes) ING_TRY(host_ints(x, node, axes, 1, ax, IR_MAX_RANK * 2, &n));
    int red[IR_MAX_RANK] = {0};
    if (n == 0) {
        if (!ir_attr_int(node, "noop_with_empty_axes", 0))
            for (int d = 0; d < xin->rank; d++) red[d] = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, ax[i], xin->rank, &a));
        if (xin->rank == 0) break; /* a scalar has nothing to reduce */
        red[a] = 1;
    }
    return run_plan(node, x, op, xin, out[0], red);
}

static int acc_gpool(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = in[0];
    return x && is_fdt(x->dtype) && x->rank >= 2 && x->rank <= IR_MAX_RANK;
}

static ingot_status k_gpool(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                            int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0];
    if (xin->rank < 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has rank %d; allowed: 2 or more (N, C, ...)", xin->rank);
    int red[IR_MAX_RANK] = {0};
    for (int d = 2; d < xin->rank; d++) red[d] = 1;
    return run_plan(node, x, red_op(node->op), xin, out[0], red);
}

/* ======================================================================================
 * Softmax / LogSoftmax
 * ====================================================================================== */

/* The [outer, n, inner] view for this node's axis and opset (before 13: coerced to 2-D). */
static int softmax_view(const ir_node *node, const ing_tensor *t, int64_t *outer, int64_t *n,
                        int64_t *inner)
{
    int legacy = node->opset < 13;
    int64_t a = ir_attr_int(node, "axis", legacy ? 1 : -1);
    int axis;
    if (legacy && a == t->rank) axis = t->rank; /* [numel, 1] */
    else axis = axis_or_neg(a, t->rank);
    if (axis < 0) return 0;
    int64_t o = 1, m = 1, i = 1;
    for (int d = 0; d < axis; d++) o *= t->dims[d];
    if (legacy) {
        for (int d = axis; d < t->rank; d++) m *= t->dims[d];
    } else {
        m = t->dims[axis];
        for (int d = axis + 1; d < t->rank; d++) i *= t->dims[d];
    }
    *outer = o;
    *n = m;
    *inner = i;
    return 1;
}

static int acc_softmax(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = in[0];
    int64_t o, n, i;
    return x && is_fdt(x->dtype) && x->rank >= 0 && softmax_view(node, x, &o, &n, &i);
}

static ingot_status k_softmax(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0];
    int64_t outer, n, inner;
    if (!softmax_view(node, xin, &outer, &n, &inner))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %lld is out of range for rank %d",
                            (long long)ir_attr_int(node, "axis", node->opset < 13 ? 1 : -1), xin->rank);
    int is_log = strcmp(node->op, "LogSoftmax") == 0;
    return launched(node, ingk_softmax(xin->dtype, xin->data, out[0]->data, outer, n, inner, is_log,
                                       cuda_stream(x)), "softmax");
}

/* ======================================================================================
 * ArgMax / ArgMin
 * ====================================================================================== */

static int acc_argm(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = in[0];
    if (!x || !(is_fdt(x->dtype) || is_idt(x->dtype)) || x->rank < 1) return 0;
    int axis = axis_or_neg(ir_attr_int(node, "axis", 0), x->rank);
    if (axis < 0) return 0;
    return !known(x) || x->dims[axis] > 0; /* an empty axis: the CPU kernel reports it */
}

static ingot_status k_argm(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                           int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0];
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), xin->rank, &axis));
    int64_t outer, n, inner;
    split_axis(xin, axis, &outer, &n, &inner);
    if (n == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d has size 0; there is no index to return", axis);
    if (out[0]->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output dtype %d; allowed: int64 (7)", out[0]->dtype);
    int is_max = strcmp(node->op, "ArgMax") == 0;
    int last = ir_attr_int(node, "select_last_index", 0) != 0;
    return launched(node, ingk_argm(xin->dtype, xin->data, out[0]->data, outer, n, inner, is_max, last,
                                    cuda_stream(x)), "argm");
}

/* ======================================================================================
 * CumSum
 * ====================================================================================== */

static int acc_cumsum(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = in[0], *ax = opt_in(in, n_in, 1);
    return x && (is_fdt(x->dtype) || is_idt(x->dtype)) && x->rank >= 1 && ax && ax->data;
}

static ingot_status k_cumsum(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0], *axt = opt_in(in, n_in, 1);
    if (!axt) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "the axis input is missing");
    int64_t av[IR_MAX_RANK * 2], n_ax = 0;
    ING_TRY(host_ints(x, node, axt, 1, av, IR_MAX_RANK * 2, &n_ax));
    if (n_ax != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis has %lld values; allowed: 1", (long long)n_ax);
    int32_t axis;
    ING_TRY(ir_norm_axis(node, av[0], xin->rank, &axis));
    int64_t outer, n, inner;
    split_axis(xin, axis, &outer, &n, &inner);
    int exclusive = ir_attr_int(node, "exclusive", 0) != 0;
    int reverse = ir_attr_int(node, "reverse", 0) != 0;
    return launched(node, ingk_cumsum(xin->dtype, xin->data, out[0]->data, outer, n, inner, exclusive,
                                      reverse, cuda_stream(x)), "cumsum");
}

/* ======================================================================================
 * LayerNormalization / RMSNormalization
 * ====================================================================================== */

/* Does p broadcast (right-aligned) to x's dims[axis:] with one value per element or one in all? */
static int param_ok(const ing_tensor *p, const ing_tensor *x, int axis, int64_t d)
{
    if (!is_fdt(p->dtype) || p->rank > x->rank - axis) return 0;
    for (int k = 0; k < p->rank; k++) {
        int64_t pd = p->dims[p->rank - 1 - k];
        if (!(pd == 1 || pd == x->dims[x->rank - 1 - k])) return 0;
    }
    int64_t n = ing_numel(p);
    return n == d || n == 1;
}

/* 1: runs here; 0: CPU. Fills the row count m and length d. */
static int ln_check(const ir_node *node, const ing_tensor *const *in, int n_in, int *axis_out,
                    int64_t *m_out, int64_t *d_out)
{
    const ing_tensor *x = in[0], *sc = opt_in(in, n_in, 1), *bi = opt_in(in, n_in, 2);
    int rms = strcmp(node->op, "RMSNormalization") == 0;
    if (rms) bi = NULL;
    if (!x || !sc || !is_fdt(x->dtype) || x->rank < 1) return 0;
    if (ir_attr_int(node, "stash_type", 1) != INGOT_DTYPE_F32) return 0;
    if (bi && bi->dtype != sc->dtype) return 0;
    int axis = axis_or_neg(ir_attr_int(node, "axis", -1), x->rank);
    if (axis < 0) return 0;
    int64_t m = 1, d = 1;
    for (int k = 0; k < axis; k++) m *= x->dims[k];
    for (int k = axis; k < x->rank; k++) d *= x->dims[k];
    *axis_out = axis;
    *m_out = m;
    *d_out = d;
    if (!known(x) || !known(sc) || (bi && !known(bi))) return 2; /* decided at run time */
    if (m * d == 0) return 0;
    return param_ok(sc, x, axis, d) && (!bi || param_ok(bi, x, axis, d));
}

static int acc_layernorm(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    int axis;
    int64_t m, d;
    return ln_check(node, in, n_in, &axis, &m, &d) != 0;
}

static ingot_status k_layernorm(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0], *sc = opt_in(in, n_in, 1), *bi = opt_in(in, n_in, 2);
    int rms = strcmp(node->op, "RMSNormalization") == 0;
    if (rms) bi = NULL;
    int axis;
    int64_t m, d;
    if (ln_check(node, in, n_in, &axis, &m, &d) != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "this input combination has no CUDA kernel");
    ing_tensor *mo = !rms && n_out > 1 ? out[1] : NULL, *io = !rms && n_out > 2 ? out[2] : NULL;
    int st_dt = INGOT_DTYPE_F32;
    if (mo) st_dt = mo->dtype;
    else if (io) st_dt = io->dtype;
    if ((mo && (!is_fdt(mo->dtype) || ing_numel(mo) != m)) || (io && (!is_fdt(io->dtype) || ing_numel(io) != m)) ||
        (mo && io && mo->dtype != io->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "Mean/InvStdDev outputs must hold %lld f32 values",
                            (long long)m);
    double eps = ir_attr_float(node, "epsilon", 1e-5f);
    return launched(node, ingk_layernorm(xin->dtype, xin->data, out[0]->data, m, d, sc->dtype, sc->data,
                                         ing_numel(sc), bi ? bi->data : NULL, bi ? ing_numel(bi) : 0,
                                         (float)eps, rms, st_dt, mo ? mo->data : NULL,
                                         io ? io->data : NULL, cuda_stream(x)), "layernorm");
}

/* ======================================================================================
 * GroupNormalization / InstanceNormalization: X [N, C, S...]
 * ====================================================================================== */

static int gn_params(const ir_node *node, const ing_tensor *const *in, int n_in, int64_t *g_out,
                     int *per_group)
{
    const ing_tensor *x = in[0], *sc = opt_in(in, n_in, 1), *bi = opt_in(in, n_in, 2);
    if (!x || !sc || !bi || !is_fdt(x->dtype) || !is_fdt(sc->dtype) || sc->dtype != bi->dtype || x->rank < 2)
        return 0;
    int inst = strcmp(node->op, "InstanceNormalization") == 0;
    int64_t c = x->dims[1];
    int64_t g = inst ? c : ir_attr_int(node, "num_groups", -1);
    *per_group = !inst && node->opset < 21;
    *g_out = g;
    if (!known(x) || !known(sc) || !known(bi)) return 2;
    if (ing_numel(x) == 0 || g <= 0 || c % g != 0) return 0;
    int64_t want = *per_group ? g : c;
    return ing_numel(sc) == want && ing_numel(bi) == want;
}

static int acc_groupnorm(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    int64_t g;
    int pg;
    return gn_params(node, in, n_in, &g, &pg) != 0;
}

static ingot_status k_groupnorm(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0];
    int64_t g;
    int per_group;
    if (gn_params(node, in, n_in, &g, &per_group) != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "this input combination has no CUDA kernel");
    int64_t n = xin->dims[0], c = xin->dims[1], s = 1;
    for (int k = 2; k < xin->rank; k++) s *= xin->dims[k];
    double eps = ir_attr_float(node, "epsilon", 1e-5f);
    return launched(node, ingk_groupnorm(xin->dtype, xin->data, out[0]->data, n, c, s, g, in[1]->dtype,
                                         in[1]->data, in[2]->data, per_group, (float)eps,
                                         cuda_stream(x)), "groupnorm");
}

/* ======================================================================================
 * BatchNormalization (inference mode)
 * ====================================================================================== */

static int bn_check(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = in[0];
    if (n_in < 5 || !x || !is_fdt(x->dtype) || x->rank < 2) return 0;
    if (node->opset >= 14) {
        if (ir_attr_int(node, "training_mode", 0) != 0) return 0;
    } else {
        for (int j = 1; j < node->n_out; j++)
            if (node->out[j] >= 0) return 0; /* before 14, asking for statistics is training */
    }
    for (int i = 1; i < 5; i++)
        if (!in[i] || !is_fdt(in[i]->dtype)) return 0;
    if (!known(x)) return 2;
    for (int i = 1; i < 5; i++) {
        if (!known(in[i])) return 2;
        if (ing_numel(in[i]) != x->dims[1]) return 0;
    }
    return 1;
}

static int acc_batchnorm(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    return bn_check(node, in, n_in) != 0;
}

static ingot_status k_batchnorm(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0];
    if (bn_check(node, in, n_in) != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "this input combination has no CUDA kernel");
    int64_t n = xin->dims[0], c = xin->dims[1], s = 1;
    for (int k = 2; k < xin->rank; k++) s *= xin->dims[k];
    double eps = ir_attr_float(node, "epsilon", 1e-5f);
    return launched(node, ingk_batchnorm(xin->dtype, xin->data, out[0]->data, n, c, s, in[1]->dtype,
                                         in[1]->data, in[2]->dtype, in[2]->data, in[3]->dtype, in[3]->data,
                                         in[4]->dtype, in[4]->data, (float)eps, cuda_stream(x)),
                    "batchnorm");
}

const cuda_kernel_def cuda_kernels_reduce[] = {
    {"ReduceSum", k_reduce, acc_reduce},
    {"ReduceMean", k_reduce, acc_reduce},
    {"ReduceProd", k_reduce, acc_reduce},
    {"ReduceMax", k_reduce, acc_reduce},
    {"ReduceMin", k_reduce, acc_reduce},
    {"ReduceL1", k_reduce, acc_reduce},
    {"ReduceL2", k_reduce, acc_reduce},
    {"ReduceLogSum", k_reduce, acc_reduce},
    {"ReduceLogSumExp", k_reduce, acc_reduce},
    {"ReduceSumSquare", k_reduce, acc_reduce},
    {"GlobalAveragePool", k_gpool, acc_gpool},
    {"GlobalMaxPool", k_gpool, acc_gpool},
    {"Softmax", k_softmax, acc_softmax},
    {"LogSoftmax", k_softmax, acc_softmax},
    {"ArgMax", k_argm, acc_argm},
    {"ArgMin", k_argm, acc_argm},
    {"CumSum", k_cumsum, acc_cumsum},
    {"LayerNormalization", k_layernorm, acc_layernorm},
    {"RMSNormalization", k_layernorm, acc_layernorm},
    {"GroupNormalization", k_groupnorm, acc_groupnorm},
    {"InstanceNormalization", k_groupnorm, acc_groupnorm},
    {"BatchNormalization", k_batchnorm, acc_batchnorm},
    {NULL, NULL, NULL},
};
