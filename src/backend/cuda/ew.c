/* CUDA host glue for the elementwise family: unary math, trigonometry and activations, Clip,
 * binary arithmetic/comparison/logic with numpy broadcasting (up to rank 8), PRelu, Mod, Sum and
 * Max/Min of one or two inputs, Where, Cast/CastLike, Identity and Dropout (inference). Device
 * code: kernels/ew.cu.
 *
 * Semantics and attribute defaults follow the CPU kernels (cpu/ew.c, cpu/ew_cast.c). What the
 * device kernels do not cover returns 0 from `accepts` and runs on the CPU: f64 and the small
 * integer dtypes outside Cast/Where/Identity, Pow with mixed dtypes, Max/Min/Sum with more than
 * two inputs, Mean, the Bitwise ops and BitShift, integer Shrink, integer Div/Mod whose divisor
 * is not on the host (the CPU reports a zero divisor), training-mode Dropout and pre-opset-10
 * Dropout masks.
 *
 * `accepts` reads host bytes (Div/Mod divisors, Dropout's training_mode) for the run at hand. A
 * replayed CUDA graph does not ask again, so a zero integer divisor fed through a graph input
 * after capture gives 0 there instead of the CPU's error.
 */
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/ew.h"
#include "ir/infer_ew.h" /* ir_ew_legacy_bcast: the pre-opset-7 broadcast view of B */

typedef struct ew_name {
    const char *op;
    int code;
} ew_name;

static const ew_name unary_ops[] = {
    {"Abs", EWU_ABS},         {"Neg", EWU_NEG},
    {"Exp", EWU_EXP},         {"Log", EWU_LOG},
    {"Sqrt", EWU_SQRT},       {"Reciprocal", EWU_RECIP},
    {"Sin", EWU_SIN},         {"Cos", EWU_COS},
    {"Tanh", EWU_TANH},       {"Sigmoid", EWU_SIGMOID},
    {"Erf", EWU_ERF},         {"Ceil", EWU_CEIL},
    {"Floor", EWU_FLOOR},     {"Round", EWU_ROUND},
    {"Sign", EWU_SIGN},       {"Relu", EWU_RELU},
    {"LeakyRelu", EWU_LEAKYRELU}, {"Elu", EWU_ELU},
    {"Selu", EWU_SELU},       {"Celu", EWU_CELU},
    {"HardSigmoid", EWU_HARDSIGMOID}, {"HardSwish", EWU_HARDSWISH},
    {"Softplus", EWU_SOFTPLUS}, {"Softsign", EWU_SOFTSIGN},
    {"Gelu", EWU_GELU},       {"Swish", EWU_SWISH},
    {"Mish", EWU_MISH},       {"Clip", EWU_CLIP},
    {"Not", EWU_NOT},         {"IsNaN", EWU_ISNAN},
    {"IsInf", EWU_ISINF},     {"Tan", EWU_TAN},
    {"Asin", EWU_ASIN},       {"Acos", EWU_ACOS},
    {"Atan", EWU_ATAN},       {"Sinh", EWU_SINH},
    {"Cosh", EWU_COSH},       {"Asinh", EWU_ASINH},
    {"Acosh", EWU_ACOSH},     {"Atanh", EWU_ATANH},
    {"ThresholdedRelu", EWU_THRESHOLDEDRELU}, {"Shrink", EWU_SHRINK},
    {NULL, 0},
};

static const ew_name binary_ops[] = {
    {"Add", EWB_ADD},         {"Sub", EWB_SUB},
    {"Mul", EWB_MUL},         {"Div", EWB_DIV},
    {"Pow", EWB_POW},         {"Max", EWB_MAX},
    {"Min", EWB_MIN},         {"Mod", EWB_MOD},
    {"PRelu", EWB_PRELU},     {"Equal", EWB_EQ},
    {"Less", EWB_LT},         {"Greater", EWB_GT},
    {"LessOrEqual", EWB_LE},  {"GreaterOrEqual", EWB_GE},
    {"And", EWB_AND},         {"Or", EWB_OR},
    {"Xor", EWB_XOR},         {"Sum", EWB_ADD},
    {NULL, 0},
};

static int code_of(const ew_name *t, const char *op)
{
    for (; t->op; t++)
        if (!strcmp(t->op, op)) return t->code;
    return -1;
}

static ingot_status launch_status(const ir_node *node, int err, const char *what)
{
    if (!err) return INGOT_OK;
    ingot_status st = cuda_check(err, what);
    return ingot_fail_prefix(st, "node '%s' (%s)", node->name, node->op);
}

static const ing_tensor *input(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

/* ---- broadcasting ------------------------------------------------------------------------ */

/* Strides of each input over the output's dims (0 where it broadcasts), then coalesced as the
 * CPU driver does: size-1 dims dropped, neighbours merged where every input steps through both
 * as one. All inputs shaped as the output give rank 0 (the flat path). */
static ingot_status build_bcast(const ir_node *node, const ing_tensor *const *ins, int n,
                                const ing_tensor *out, ew_bcast *bc)
{
    int32_t r = out->rank;
    int64_t st[EW_MAX_IN][EW_MAX_RANK];
    int same = 1;
    memset(bc, 0, sizeof *bc);
    if (r < 0 || r > EW_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %d; allowed 0 to %d", r, EW_MAX_RANK);
    for (int k = 0; k < n; k++) {
        const ing_tensor *t = ins[k];
        char sa[96], sb[96];
        if (t->rank > r || t->rank < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d shape %s does not broadcast to output shape %s",
                                k, ing_shape_str(t, sa, sizeof sa), ing_shape_str(out, sb, sizeof sb));
        same &= t->rank == r;
        int64_t s = 1;
        for (int32_t d = r - 1; d >= 0; d--) {
            int32_t td = d - (r - t->rank);
            int64_t dim = td >= 0 ? t->dims[td] : 1;
            if (dim == out->dims[d] && dim != 1) st[k][d] = s;
            else if (dim == 1) st[k][d] = 0;
            else
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d shape %s does not broadcast to output "
                                    "shape %s (dim %d: %lld vs %lld)", k, ing_shape_str(t, sa, sizeof sa),
                                    ing_shape_str(out, sb, sizeof sb), d, (long long)dim,
                                    (long long)out->dims[d]);
            same &= dim == out->dims[d];
            s *= dim;
        }
    }
    if (same) return INGOT_OK;
    int nd = 0;
    for (int32_t d = 0; d < r; d++) {
        if (out->dims[d] == 1) continue;
        int merge = nd > 0;
        for (int k = 0; k < n && merge; k++)
            if (bc->st[k][nd - 1] != st[k][d] * out->dims[d]) merge = 0;
        if (merge) {
            bc->dims[nd - 1] *= out->dims[d];
            for (int k = 0; k < n; k++) bc->st[k][nd - 1] = st[k][d];
        } else {
            bc->dims[nd] = out->dims[d];
            for (int k = 0; k < n; k++) bc->st[k][nd] = st[k][d];
            nd++;
        }
    }
    /* one contiguous run for every input: the flat path does it without divisions */
    int flat = nd <= 1;
    for (int k = 0; k < n && flat && nd == 1; k++) flat = bc->st[k][0] == 1;
    bc->rank = flat ? 0 : nd;
    return INGOT_OK;
}

/* ---- unary ---------------------------------------------------------------------------------- */

static int unary_code(const ir_node *node)
{
    int code = code_of(unary_ops, node->op);
    if (code == EWU_GELU && !strcmp(ir_attr_string(node, "approximate", "none"), "tanh")) code = EWU_GELU_TANH;
    return code;
}

static int acc_unary(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *x = input(in, n_in, 0);
    int code = unary_code(node);
    if (!x || code < 0 || !ew_unary_supported(code, x->dtype)) return 0;
    if (code == EWU_CLIP)
        for (int i = 1; i < 3; i++) {
            const ing_tensor *b = input(in, n_in, i);
            if (b && b->dtype != x->dtype) return 0;
        }
    return 1;
}

/* Attributes; defaults per the ONNX spec, as cpu/ew.c's init_params. */
static ingot_status unary_params(const ir_node *node, int code, ew_uparams *p)
{
    memset(p, 0, sizeof *p);
    switch (code) {
    case EWU_LEAKYRELU: p->alpha = ir_attr_float(node, "alpha", 0.01f); break;
    case EWU_ELU:
    case EWU_CELU:
    case EWU_THRESHOLDEDRELU:
    case EWU_SWISH: p->alpha = ir_attr_float(node, "alpha", 1.0f); break;
    case EWU_SELU:
        p->alpha = ir_attr_float(node, "alpha", 1.67326319217681884765625f);
        p->gamma = ir_attr_float(node, "gamma", 1.05070102214813232421875f);
        break;
    case EWU_HARDSIGMOID:
        p->alpha = ir_attr_float(node, "alpha", 0.2f);
        p->beta = ir_attr_float(node, "beta", 0.5f);
        break;
    case EWU_SHRINK:
        p->alpha = ir_attr_float(node, "bias", 0.0f);
        p->beta = ir_attr_float(node, "lambd", 0.5f);
        break;
    case EWU_ISINF:
        p->flag = ir_attr_int(node, "detect_positive", 1) != 0;
        p->flag2 = ir_attr_int(node, "detect_negative", 1) != 0;
        break;
    case EWU_GELU: {
        const char *a = ir_attr_string(node, "approximate", "none");
        if (strcmp(a, "none") != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "approximate is '%s'; allowed: 'none', 'tanh'", a);
        break;
    }
    default: break;
    }
    if (code == EWU_CELU && p->alpha == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "alpha is 0; Celu divides by it");
    return INGOT_OK;
}

/* Clip's min (input 1) and max (input 2): a constant's value goes in the parameters, any
 * other tensor is read by the kernel from device memory (no host round trip). */
static ingot_status clip_bounds(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                ew_uparams *p)
{
    for (int i = 1; i < 3; i++) {
        const ing_tensor *b = input(in, n_in, i);
        if (!b) continue;
        if (ing_numel(b) != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s must hold one value, has %lld", i == 1 ? "min" : "max",
                                (long long)ing_numel(b));
        if (b->dtype != in[0]->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "%s has dtype %s; allowed: the input's, %s",
                                i == 1 ? "min" : "max", ingot_dtype_name((ingot_dtype)b->dtype),
                                ingot_dtype_name((ingot_dtype)in[0]->dtype));
        const void *h = cuda_host_const(x, node, i);
        float f = h ? (float)ing_load_f64(b->dtype, h, 0) : 0.0f;
        int64_t v = h ? ing_load_i64(b->dtype, h, 0) : 0;
        if (i == 1) {
            p->has_lo = 1;
            p->flo = f;
            p->ilo = v;
            p->lo_dev = h ? NULL : b->data;
        } else {
            p->has_hi = 1;
            p->fhi = f;
            p->ihi = v;
            p->hi_dev = h ? NULL : b->data;
        }
    }
    return INGOT_OK;
}

static ingot_status k_unary(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    int code = unary_code(node);
    const ing_tensor *a = input(in, n_in, 0);
    if (!a || n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs one input and one output");
    if (code < 0 || !ew_unary_supported(code, a->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s has no CUDA kernel for this op",
                            ingot_dtype_name((ingot_dtype)a->dtype));
    if (ing_numel(out[0]) != ing_numel(a)) {
        char sa[96], sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output shape %s differs from input shape %s",
                            ing_shape_str(out[0], sa, sizeof sa), ing_shape_str(a, sb, sizeof sb));
    }
    ew_uparams p;
    ING_TRY(unary_params(node, code == EWU_GELU_TANH ? -1 : code, &p));
    if (code == EWU_CLIP) ING_TRY(clip_bounds(x, node, in, n_in, &p));
    return launch_status(node, ew_launch_unary(code, a->dtype, a->data, out[0]->data, ing_numel(out[0]), &p,
                                               cuda_stream(x)), "ew_launch_unary");
}

/* ---- binary --------------------------------------------------------------------------------- */

static int has_zero(const ing_tensor *t)
{
    int64_t n = ing_numel(t);
    size_t sz = ingot_dtype_size((ingot_dtype)t->dtype);
    const uint8_t *b = t->data;
    for (int64_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < sz; j++)
            if (b[(size_t)i * sz + j]) break;
        if (j == sz) return 1;
    }
    return 0;
}

/* Max, Min and Sum take any number of inputs: one is a copy, two the binary kernel, more the
 * CPU. */
static int is_variadic(const ir_node *node)
{
    return !strcmp(node->op, "Max") || !strcmp(node->op, "Min") || !strcmp(node->op, "Sum");
}

static ingot_status copy_input(cuda_exec *x, const ir_node *node, const ing_tensor *a, ing_tensor *o);

static int acc_binary(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *a = input(in, n_in, 0), *b = input(in, n_in, 1);
    int code = code_of(binary_ops, node->op);
    if (a && n_in == 1 && code >= 0 && is_variadic(node)) return ew_binary_supported(code, a->dtype);
    if (!a || !b || n_in != 2 || code < 0 || a->dtype != b->dtype || !ew_binary_supported(code, a->dtype))
        return 0;
    if (code == EWB_MOD) {
        int64_t f = ir_attr_int(node, "fmod", 0);
        if (f != 0 && f != 1) return 0; /* the CPU kernel reports it */
    }
    /* integer division by zero is an error the CPU reports; the divisor must be checked here */
    if ((code == EWB_DIV || code == EWB_MOD) && ing_dtype_is_int(b->dtype) && (!b->data || has_zero(b))) return 0;
    return 1;
}

static ingot_status k_binary(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    int code = code_of(binary_ops, node->op);
    const ing_tensor *a = input(in, n_in, 0), *b = input(in, n_in, 1);
    if (a && n_in == 1 && is_variadic(node) && n_out >= 1 && out[0]) return copy_input(x, node, a, out[0]);
    if (!a || !b || n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs two inputs and one output");
    if (a->dtype != b->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "inputs have dtypes %s and %s; allowed: the same",
                            ingot_dtype_name((ingot_dtype)a->dtype), ingot_dtype_name((ingot_dtype)b->dtype));
    if (code < 0 || !ew_binary_supported(code, a->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s has no CUDA kernel for this op",
                            ingot_dtype_name((ingot_dtype)a->dtype));
    int flag = 0;
    if (code == EWB_MOD) {
        int64_t f = ir_attr_int(node, "fmod", 0);
        if (f != 0 && f != 1) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "fmod is %lld; allowed: 0 or 1", (long long)f);
        flag = (int)f;
    }
    ing_tensor bv;
    ING_TRY(ir_ew_legacy_bcast(node, a, b, &bv));
    const ing_tensor *ab[2] = {a, &bv};
    ew_bcast bc;
    ING_TRY(build_bcast(node, ab, 2, out[0], &bc));
    return launch_status(node, ew_launch_binary(code, a->dtype, a->data, b->data, out[0]->data, ing_numel(out[0]), &bc,
                                                flag, cuda_stream(x)), "ew_launch_binary");
}

/* ---- Where ---------------------------------------------------------------------------------- */

static int acc_where(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *c = input(in, n_in, 0), *a = input(in, n_in, 1), *b = input(in, n_in, 2);
    if (!c || !a || !b || c->dtype != INGOT_DTYPE_BOOL || a->dtype != b->dtype) return 0;
    size_t sz = ingot_dtype_size((ingot_dtype)a->dtype);
    return sz == 1 || sz == 2 || sz == 4 || sz == 8;
}

static ingot_status k_where(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    if (!acc_where(node, in, n_in) || n_out < 1 || !out[0])
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "needs a bool condition and two inputs of one dtype "
                            "with 1, 2, 4 or 8-byte elements");
    ew_bcast bc;
    ING_TRY(build_bcast(node, in, 3, out[0], &bc));
    return launch_status(node, ew_launch_where(ingot_dtype_size((ingot_dtype)in[1]->dtype), in[0]->data, in[1]->data,
                                               in[2]->data, out[0]->data, ing_numel(out[0]), &bc, cuda_stream(x)),
                         "ew_launch_where");
}

/* ---- Cast, Identity, Dropout ---------------------------------------------------------------- */

static int acc_cast(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *a = input(in, n_in, 0);
    if (!a) return 0;
    int to;
    if (!strcmp(node->op, "CastLike")) {
        const ing_tensor *like = input(in, n_in, 1);
        if (!like) return 0;
        to = like->dtype;
    } else {
        const ir_attr *t = ir_attr_find(node, "to");
        if (!t || t->type != IR_ATTR_INT) return 0; /* pre-opset-6 names the dtype with a string */
        to = (int)t->i;
    }
    return ew_cast_supported(a->dtype, to);
}

static ingot_status k_cast(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = input(in, n_in, 0);
    if (!a || n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs one input and one output");
    if (!ew_cast_supported(a->dtype, out[0]->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "cast from %s to %s has no CUDA kernel",
                            ingot_dtype_name((ingot_dtype)a->dtype), ingot_dtype_name((ingot_dtype)out[0]->dtype));
    if (ing_numel(out[0]) != ing_numel(a)) {
        char sa[96], sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output shape %s differs from input shape %s",
                            ing_shape_str(out[0], sa, sizeof sa), ing_shape_str(a, sb, sizeof sb));
    }
    return launch_status(node, ew_launch_cast(a->dtype, out[0]->dtype, a->data, out[0]->data, ing_numel(a),
                                              cuda_stream(x)), "ew_launch_cast");
}

static ingot_status copy_input(cuda_exec *x, const ir_node *node, const ing_tensor *a, ing_tensor *o)
{
    size_t nb = ing_nbytes(a);
    if (ing_nbytes(o) != nb || o->dtype != a->dtype) {
        char sa[96], sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output %s %s differs from input %s %s",
                            ingot_dtype_name((ingot_dtype)o->dtype), ing_shape_str(o, sa, sizeof sa),
                            ingot_dtype_name((ingot_dtype)a->dtype), ing_shape_str(a, sb, sizeof sb));
    }
    return launch_status(node, ew_launch_copy(o->data, a->data, nb, cuda_stream(x)), "cudaMemcpyAsync");
}

static int acc_identity(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    return input(in, n_in, 0) != NULL;
}

static ingot_status k_identity(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = input(in, n_in, 0);
    if (!a || n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs one input and one output");
    return copy_input(x, node, a, out[0]);
}

/* Inference only: the CPU kernel reports training mode with a non-zero ratio. The ratio and
 * training_mode inputs are read here on the host (accepts sees host bytes; the run then uses
 * the same values), so a value only on the device goes to the CPU. */
static int acc_dropout(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    const ing_tensor *a = input(in, n_in, 0), *ratio = input(in, n_in, 1), *train = input(in, n_in, 2);
    if (!a) return 0;
    if (node->n_out > 1 && node->out[1] >= 0 && node->opset < 10) return 0; /* mask of x's dtype */
    if (train) {
        if (!train->data || ing_numel(train) != 1) return 0;
        if (ing_load_i64(train->dtype, train->data, 0)) {
            double r = 0.5;
            if (ratio) {
                if (!ratio->data || ing_numel(ratio) != 1) return 0;
                r = ing_load_f64(ratio->dtype, ratio->data, 0);
            }
            if (r != 0) return 0;
        }
    }
    return 1;
}

static ingot_status k_dropout(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = input(in, n_in, 0);
    if (!a || n_out < 1) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs an input and an output");
    if (out[0]) ING_TRY(copy_input(x, node, a, out[0]));
    if (n_out > 1 && out[1]) {
        if (out[1]->dtype != INGOT_DTYPE_BOOL)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mask dtype %s; the CUDA kernel writes bool",
                                ingot_dtype_name((ingot_dtype)out[1]->dtype));
        ING_TRY(launch_status(node, ew_launch_fill(out[1]->data, 1, ing_nbytes(out[1]), cuda_stream(x)),
                              "cudaMemsetAsync"));
    }
    return INGOT_OK;
}

const cuda_kernel_def cuda_kernels_ew[] = {
    {"Abs", k_unary, acc_unary},          {"Neg", k_unary, acc_unary},
    {"Exp", k_unary, acc_unary},          {"Log", k_unary, acc_unary},
    {"Sqrt", k_unary, acc_unary},         {"Reciprocal", k_unary, acc_unary},
    {"Sin", k_unary, acc_unary},          {"Cos", k_unary, acc_unary},
    {"Tanh", k_unary, acc_unary},         {"Sigmoid", k_unary, acc_unary},
    {"Erf", k_unary, acc_unary},          {"Ceil", k_unary, acc_unary},
    {"Floor", k_unary, acc_unary},        {"Round", k_unary, acc_unary},
    {"Sign", k_unary, acc_unary},         {"Relu", k_unary, acc_unary},
    {"LeakyRelu", k_unary, acc_unary},    {"Elu", k_unary, acc_unary},
    {"Selu", k_unary, acc_unary},         {"Celu", k_unary, acc_unary},
    {"HardSigmoid", k_unary, acc_unary},  {"HardSwish", k_unary, acc_unary},
    {"Softplus", k_unary, acc_unary},     {"Softsign", k_unary, acc_unary},
    {"Gelu", k_unary, acc_unary},         {"Swish", k_unary, acc_unary},
    {"Mish", k_unary, acc_unary},         {"Clip", k_unary, acc_unary},
    {"Not", k_unary, acc_unary},          {"IsNaN", k_unary, acc_unary},
    {"IsInf", k_unary, acc_unary},        {"Tan", k_unary, acc_unary},
    {"Asin", k_unary, acc_unary},         {"Acos", k_unary, acc_unary},
    {"Atan", k_unary, acc_unary},         {"Sinh", k_unary, acc_unary},
    {"Cosh", k_unary, acc_unary},         {"Asinh", k_unary, acc_unary},
    {"Acosh", k_unary, acc_unary},        {"Atanh", k_unary, acc_unary},
    {"ThresholdedRelu", k_unary, acc_unary}, {"Shrink", k_unary, acc_unary},
    {"Add", k_binary, acc_binary},        {"Sub", k_binary, acc_binary},
    {"Mul", k_binary, acc_binary},        {"Div", k_binary, acc_binary},
    {"Pow", k_binary, acc_binary},        {"Max", k_binary, acc_binary},
    {"Min", k_binary, acc_binary},        {"Mod", k_binary, acc_binary},
    {"PRelu", k_binary, acc_binary},      {"Equal", k_binary, acc_binary},
    {"Less", k_binary, acc_binary},       {"Greater", k_binary, acc_binary},
    {"LessOrEqual", k_binary, acc_binary}, {"GreaterOrEqual", k_binary, acc_binary},
    {"And", k_binary, acc_binary},        {"Or", k_binary, acc_binary},
    {"Xor", k_binary, acc_binary},        {"Sum", k_binary, acc_binary},
    {"Where", k_where, acc_where},
    {"Cast", k_cast, acc_cast},           {"CastLike", k_cast, acc_cast},
    {"Identity", k_identity, acc_identity},
    {"Dropout", k_dropout, acc_dropout},
    {NULL, NULL, NULL},
};
