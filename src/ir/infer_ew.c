/* Shape and dtype inference for the elementwise family: unary math and activations, binary and
 * variadic ops with numpy broadcasting, comparisons and logic, Where, Clip, PRelu, casts,
 * Identity/Dropout and the quantize/dequantize ops.
 *
 * Each op has a row in `specs`: its kind (which shape rule) and the input dtypes it accepts, so
 * a model that feeds, say, an int32 tensor to Exp fails at build time with a message rather than
 * at run time. */
#include <string.h>
#include <strings.h>

#include "core/dtype.h"
#include "ir/infer_ew.h"
#include "ir/op.h"

#define DT(d) (1u << (d))
#define M_F (DT(INGOT_DTYPE_F32) | DT(INGOT_DTYPE_F64) | DT(INGOT_DTYPE_F16) | DT(INGOT_DTYPE_BF16))
#define M_SI (DT(INGOT_DTYPE_I8) | DT(INGOT_DTYPE_I16) | DT(INGOT_DTYPE_I32) | DT(INGOT_DTYPE_I64))
#define M_UI (DT(INGOT_DTYPE_U8) | DT(INGOT_DTYPE_U16) | DT(INGOT_DTYPE_U32) | DT(INGOT_DTYPE_U64))
#define M_I (M_SI | M_UI)
#define M_N (M_F | M_I)
#define M_B DT(INGOT_DTYPE_BOOL)
#define M_ANY (M_N | M_B)

typedef enum ew_kind {
    EK_UNARY,      /* out = in[0]'s dtype and shape */
    EK_UNARY_BOOL, /* IsNaN, IsInf: bool out */
    EK_BINARY,     /* same dtypes, broadcast, out dtype = in[0]'s */
    EK_POW,        /* base and exponent may differ; out dtype = base's */
    EK_COMPARE,    /* same dtypes, broadcast, bool out */
    EK_VARIADIC,   /* Max Min Sum Mean: >= 1 inputs of one dtype, broadcast */
    EK_WHERE,
    EK_CLIP,
    EK_CAST,
    EK_CASTLIKE,
    EK_BITCAST,
    EK_IDENTITY,
    EK_DROPOUT,
    EK_QUANT,
    EK_DEQUANT,
    EK_DYNQUANT,
} ew_kind;

typedef struct ew_spec {
    const char *op;
    ew_kind kind;
    uint32_t dtypes; /* accepted dtypes of in[0] */
} ew_spec;

static const ew_spec specs[] = {
    {"Abs", EK_UNARY, M_N},           {"Neg", EK_UNARY, M_F | M_SI},
    {"Exp", EK_UNARY, M_F},           {"Log", EK_UNARY, M_F},
    {"Sqrt", EK_UNARY, M_F},          {"Reciprocal", EK_UNARY, M_F},
    {"Sin", EK_UNARY, M_F},           {"Cos", EK_UNARY, M_F},
    {"Tan", EK_UNARY, M_F},           {"Asin", EK_UNARY, M_F},
    {"Acos", EK_UNARY, M_F},          {"Atan", EK_UNARY, M_F},
    {"Sinh", EK_UNARY, M_F},          {"Cosh", EK_UNARY, M_F},
    {"Asinh", EK_UNARY, M_F},         {"Acosh", EK_UNARY, M_F},
    {"Atanh", EK_UNARY, M_F},         {"Ceil", EK_UNARY, M_F},
    {"Floor", EK_UNARY, M_F},         {"Round", EK_UNARY, M_F},
    {"Sign", EK_UNARY, M_N},          {"Erf", EK_UNARY, M_F},
    {"IsNaN", EK_UNARY_BOOL, M_F},    {"IsInf", EK_UNARY_BOOL, M_F},
    {"Not", EK_UNARY, M_B},           {"BitwiseNot", EK_UNARY, M_I},
    {"Relu", EK_UNARY, M_F | M_SI},   {"LeakyRelu", EK_UNARY, M_F},
    {"Elu", EK_UNARY, M_F},           {"Selu", EK_UNARY, M_F},
    {"Celu", EK_UNARY, M_F},          {"Sigmoid", EK_UNARY, M_F},
    {"HardSigmoid", EK_UNARY, M_F},   {"HardSwish", EK_UNARY, M_F},
    {"Softplus", EK_UNARY, M_F},      {"Softsign", EK_UNARY, M_F},
    {"ThresholdedRelu", EK_UNARY, M_F}, {"Shrink", EK_UNARY, M_N},
    {"Mish", EK_UNARY, M_F},          {"Gelu", EK_UNARY, M_F},
    {"Swish", EK_UNARY, M_F},         {"Tanh", EK_UNARY, M_F},
    {"PRelu", EK_BINARY, M_F | M_I},  {"Clip", EK_CLIP, M_N},
    {"Add", EK_BINARY, M_N},          {"Sub", EK_BINARY, M_N},
    {"Mul", EK_BINARY, M_N},          {"Div", EK_BINARY, M_N},
    {"Pow", EK_POW, M_F | DT(INGOT_DTYPE_I32) | DT(INGOT_DTYPE_I64)},
    {"Mod", EK_BINARY, M_N},
    {"And", EK_BINARY, M_B},          {"Or", EK_BINARY, M_B},
    {"Xor", EK_BINARY, M_B},
    {"Equal", EK_COMPARE, M_N | M_B}, {"Less", EK_COMPARE, M_N},
    {"Greater", EK_COMPARE, M_N},     {"LessOrEqual", EK_COMPARE, M_N},
    {"GreaterOrEqual", EK_COMPARE, M_N},
    {"BitShift", EK_BINARY, M_UI},
    {"BitwiseAnd", EK_BINARY, M_I},   {"BitwiseOr", EK_BINARY, M_I},
    {"BitwiseXor", EK_BINARY, M_I},
    {"Where", EK_WHERE, M_B},
    {"Max", EK_VARIADIC, M_N},        {"Min", EK_VARIADIC, M_N},
    {"Sum", EK_VARIADIC, M_N},        {"Mean", EK_VARIADIC, M_F},
    {"Cast", EK_CAST, M_ANY},         {"CastLike", EK_CASTLIKE, M_ANY},
    {"BitCast", EK_BITCAST, M_ANY},   {"Identity", EK_IDENTITY, M_ANY},
    {"Dropout", EK_DROPOUT, M_F},
    {"QuantizeLinear", EK_QUANT, M_F | DT(INGOT_DTYPE_I32)},
    {"DequantizeLinear", EK_DEQUANT, DT(INGOT_DTYPE_I8) | DT(INGOT_DTYPE_U8) | DT(INGOT_DTYPE_I16) |
                                         DT(INGOT_DTYPE_U16) | DT(INGOT_DTYPE_I32)},
    {"DynamicQuantizeLinear", EK_DYNQUANT, DT(INGOT_DTYPE_F32)},
    {NULL, EK_UNARY, 0},
};

static const ew_spec *spec_of(const ir_node *node)
{
    for (const ew_spec *s = specs; s->op; s++)
        if (strcmp(s->op, node->op) == 0) return s;
    return NULL;
}

static int dt_in(uint32_t mask, int dt) { return dt >= 0 && dt < 32 && (mask & DT(dt)) != 0; }

static ingot_status need_inputs(const ir_node *node, const ing_tensor *const *in, int n_in, int lo,
                                int hi)
{
    if (n_in < lo || n_in > hi)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "has %d inputs, expects %d to %d", n_in, lo, hi);
    for (int i = 0; i < lo; i++)
        if (!in[i]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is required but omitted", i);
    return INGOT_OK;
}

static ingot_status check_dtype(const ir_node *node, int idx, int dt, uint32_t mask)
{
    if (dt_in(mask, dt)) return INGOT_OK;
    return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input %d has dtype %s, which this op does not "
                        "support", idx, ingot_dtype_name((ingot_dtype)dt));
}

static ingot_status same_dtype(const ir_node *node, const ing_tensor *a, int ia, const ing_tensor *b,
                               int ib)
{
    if (a->dtype == b->dtype) return INGOT_OK;
    return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s but input %d has %s; they must "
                        "match", ib, ingot_dtype_name((ingot_dtype)b->dtype), ia,
                        ingot_dtype_name((ingot_dtype)a->dtype));
}

/* Broadcast in[0..n) (skipping NULLs) into out's shape. */
static ingot_status broadcast_all(const ir_node *node, const ing_tensor *const *in, int n,
                                  ing_tensor *out)
{
    ing_tensor acc = {0};
    acc.rank = 0;
    for (int i = 0; i < n; i++) {
        if (!in[i]) continue;
        ing_tensor next = {0};
        ING_TRY(ir_broadcast_shape(node, &acc, in[i], &next));
        acc.rank = next.rank;
        memcpy(acc.dims, next.dims, sizeof acc.dims);
        if (acc.rank < 0) break;
    }
    out->rank = acc.rank;
    memcpy(out->dims, acc.dims, sizeof out->dims);
    return INGOT_OK;
}

static int dtype_from_name(const char *s);

static ingot_status to_dtype(const ir_node *node, const char *attr, int *dt)
{
    const ir_attr *a = ir_attr_find(node, attr);
    if (!a) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "attribute '%s' is required", attr);
    if (a->type == IR_ATTR_STRING) {
        int d = dtype_from_name(a->s ? a->s : "");
        if (d < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "attribute '%s' = '%s' is not a dtype ingot "
                                "supports", attr, a->s ? a->s : "");
        *dt = d;
        return INGOT_OK;
    }
    if (a->i < 0 || a->i > 64 || !ing_dtype_valid((int)a->i))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "attribute '%s' = %lld is not a dtype ingot "
                            "supports (float, double, float16, bfloat16, [u]int8..64, bool)", attr,
                            (long long)a->i);
    *dt = (int)a->i;
    return INGOT_OK;
}

ingot_status ir_ew_legacy_bcast(const ir_node *node, const ing_tensor *a, const ing_tensor *b,
                                ing_tensor *view)
{
    *view = *b;
    if (node->opset >= 7 || !ir_attr_int(node, "broadcast", 0)) return INGOT_OK;
    const ir_attr *ax = ir_attr_find(node, "axis");
    if (!ax || a->rank < 0 || b->rank < 0) return INGOT_OK;
    int64_t axis = ax->i < 0 ? ax->i + a->rank : ax->i;
    if (axis < 0 || axis + b->rank > a->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "legacy broadcast axis %lld does not fit a rank-%d "
                            "B into a rank-%d A", (long long)ax->i, b->rank, a->rank);
    int32_t pad = a->rank - (int32_t)axis - b->rank;
    for (int32_t i = 0; i < pad; i++) view->dims[b->rank + i] = 1;
    view->rank = b->rank + pad;
    return INGOT_OK;
}

/* Cast before opset 6 names its target dtype with a string ("FLOAT", "INT64", …). */
static int dtype_from_name(const char *s)
{
    static const struct { const char *name; int dt; } names[] = {
        {"FLOAT", INGOT_DTYPE_F32},   {"UINT8", INGOT_DTYPE_U8},      {"INT8", INGOT_DTYPE_I8},
        {"UINT16", INGOT_DTYPE_U16},  {"INT16", INGOT_DTYPE_I16},     {"INT32", INGOT_DTYPE_I32},
        {"INT64", INGOT_DTYPE_I64},   {"BOOL", INGOT_DTYPE_BOOL},     {"FLOAT16", INGOT_DTYPE_F16},
        {"DOUBLE", INGOT_DTYPE_F64},  {"UINT32", INGOT_DTYPE_U32},    {"UINT64", INGOT_DTYPE_U64},
        {"BFLOAT16", INGOT_DTYPE_BF16},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(names[i].name, s)) return names[i].dt;
    return -1;
}

static ingot_status infer_quant(const ir_node *node, const ing_tensor *const *in, int n_in,
                                ing_tensor *const *out, const ew_spec *s)
{
    ING_TRY(need_inputs(node, in, n_in, 2, 3));
    ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
    const ing_tensor *zp = n_in > 2 ? in[2] : NULL;
    uint32_t qmask = DT(INGOT_DTYPE_I8) | DT(INGOT_DTYPE_U8) | DT(INGOT_DTYPE_I16) | DT(INGOT_DTYPE_U16) |
                     DT(INGOT_DTYPE_I32);
    int64_t block = ir_attr_int(node, "block_size", 0);
    if (block < 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "block_size %lld is negative", (long long)block);
    int odt;
    if (s->kind == EK_QUANT) {
        if (!dt_in(M_F | DT(INGOT_DTYPE_I32), in[1]->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "y_scale has dtype %s; supported: float, "
                                "float16, bfloat16, int32", ingot_dtype_name((ingot_dtype)in[1]->dtype));
        int64_t od = ir_attr_int(node, "output_dtype", 0);
        if (zp) {
            if (od != 0 && od != zp->dtype)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output_dtype %lld differs from the zero "
                                    "point's dtype %d", (long long)od, zp->dtype);
            odt = zp->dtype;
        } else {
            odt = od != 0 ? (int)od : INGOT_DTYPE_U8;
        }
        if (!dt_in(qmask, odt))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "quantized dtype %d is not supported "
                                "(int8, uint8, int16, uint16, int32 are)", odt);
    } else {
        if (zp) ING_TRY(same_dtype(node, in[0], 0, zp, 2));
        if (!dt_in(M_F & ~DT(INGOT_DTYPE_F64), in[1]->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "x_scale has dtype %s; supported: float, "
                                "float16, bfloat16", ingot_dtype_name((ingot_dtype)in[1]->dtype));
        int64_t od = ir_attr_int(node, "output_dtype", 0);
        odt = od != 0 ? (int)od : in[1]->dtype;
        if (!dt_in(M_F, odt))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output_dtype %d is not a float dtype", odt);
    }
    if (zp && zp->rank >= 0 && in[1]->rank >= 0 && zp->rank != in[1]->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "zero point has rank %d but scale has rank %d; "
                            "they must have the same shape", zp->rank, in[1]->rank);
    ir_copy_desc(out[0], in[0]);
    out[0]->dtype = odt;
    return INGOT_OK;
}

/* Attribute values the kernels would reject, caught at build time. */
static ingot_status check_attrs(const ir_node *node)
{
    if (!strcmp(node->op, "Gelu")) {
        const char *a = ir_attr_string(node, "approximate", "none");
        if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "approximate is '%s'; allowed: 'none', 'tanh'", a);
    } else if (!strcmp(node->op, "Mod")) {
        int64_t f = ir_attr_int(node, "fmod", 0);
        if (f != 0 && f != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "fmod is %lld; allowed: 0 or 1", (long long)f);
    } else if (!strcmp(node->op, "BitShift")) {
        const char *d = ir_attr_string(node, "direction", "");
        if (strcmp(d, "LEFT") != 0 && strcmp(d, "RIGHT") != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "direction is '%s'; allowed: 'LEFT', 'RIGHT'", d);
    } else if (!strcmp(node->op, "Celu") && ir_attr_float(node, "alpha", 1.0f) == 0.0f) {
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "alpha is 0; Celu divides by it");
    }
    return INGOT_OK;
}

static ingot_status infer_ew(const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    const ew_spec *s = spec_of(node);
    if (!s) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "not an elementwise op");
    if (n_out < 1 || !out[0])
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output 0 is required");
    for (int j = 1; j < n_out; j++)
        if (out[j] && !(s->kind == EK_DROPOUT && j == 1) && !(s->kind == EK_DYNQUANT && j <= 2))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "has %d outputs, expects 1", n_out);
    ING_TRY(check_attrs(node));

    switch (s->kind) {
    case EK_UNARY:
    case EK_UNARY_BOOL:
        ING_TRY(need_inputs(node, in, n_in, 1, 1));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        ir_copy_desc(out[0], in[0]);
        if (s->kind == EK_UNARY_BOOL) out[0]->dtype = INGOT_DTYPE_BOOL;
        return INGOT_OK;

    case EK_BINARY:
    case EK_POW:
    case EK_COMPARE:
        ING_TRY(need_inputs(node, in, n_in, 2, 2));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        if (s->kind == EK_POW) ING_TRY(check_dtype(node, 1, in[1]->dtype, M_N));
        else ING_TRY(same_dtype(node, in[0], 0, in[1], 1));
        ing_tensor bview;
        ING_TRY(ir_ew_legacy_bcast(node, in[0], in[1], &bview));
        ING_TRY(ir_broadcast_shape(node, in[0], &bview, out[0]));
        out[0]->dtype = s->kind == EK_COMPARE ? INGOT_DTYPE_BOOL : in[0]->dtype;
        return INGOT_OK;

    case EK_VARIADIC:
        ING_TRY(need_inputs(node, in, n_in, 1, 1 << 20));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        for (int i = 1; i < n_in; i++) {
            if (!in[i]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is omitted", i);
            ING_TRY(same_dtype(node, in[0], 0, in[i], i));
        }
        ING_TRY(broadcast_all(node, in, n_in, out[0]));
        out[0]->dtype = in[0]->dtype;
        return INGOT_OK;

    case EK_WHERE:
        ING_TRY(need_inputs(node, in, n_in, 3, 3));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, M_B));
        ING_TRY(check_dtype(node, 1, in[1]->dtype, M_ANY));
        ING_TRY(same_dtype(node, in[1], 1, in[2], 2));
        ING_TRY(broadcast_all(node, in, 3, out[0]));
        out[0]->dtype = in[1]->dtype;
        return INGOT_OK;

    case EK_CLIP:
        ING_TRY(need_inputs(node, in, n_in, 1, 3));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        for (int i = 1; i < n_in; i++) {
            if (!in[i]) continue;
            ING_TRY(same_dtype(node, in[0], 0, in[i], i));
            int64_t n = ing_numel(in[i]);
            if (n >= 0 && n != 1)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s must be a scalar, has %lld elements",
                                    i == 1 ? "min" : "max", (long long)n);
        }
        ir_copy_desc(out[0], in[0]);
        return INGOT_OK;

    case EK_CAST:
    case EK_BITCAST: {
        ING_TRY(need_inputs(node, in, n_in, 1, 1));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        int dt = INGOT_DTYPE_UNDEFINED;
        ING_TRY(to_dtype(node, "to", &dt));
        if (s->kind == EK_BITCAST && ingot_dtype_size((ingot_dtype)dt) !=
                                         ingot_dtype_size((ingot_dtype)in[0]->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "'to' dtype %s is %zu bytes but the input's %s "
                                "is %zu; BitCast needs equal widths", ingot_dtype_name((ingot_dtype)dt),
                                ingot_dtype_size((ingot_dtype)dt),
                                ingot_dtype_name((ingot_dtype)in[0]->dtype),
                                ingot_dtype_size((ingot_dtype)in[0]->dtype));
        ir_copy_desc(out[0], in[0]);
        out[0]->dtype = dt;
        return INGOT_OK;
    }

    case EK_CASTLIKE:
        ING_TRY(need_inputs(node, in, n_in, 2, 2));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        ING_TRY(check_dtype(node, 1, in[1]->dtype, s->dtypes));
        ir_copy_desc(out[0], in[0]);
        out[0]->dtype = in[1]->dtype;
        return INGOT_OK;

    case EK_IDENTITY:
        ING_TRY(need_inputs(node, in, n_in, 1, 1));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        ir_copy_desc(out[0], in[0]);
        return INGOT_OK;

    case EK_DROPOUT:
        ING_TRY(need_inputs(node, in, n_in, 1, 3));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        if (n_in > 2 && in[2]) ING_TRY(check_dtype(node, 2, in[2]->dtype, M_B));
        ir_copy_desc(out[0], in[0]);
        if (n_out > 1 && out[1]) {
            ir_copy_desc(out[1], in[0]);
            /* Before opset 10 the mask has the data's dtype. */
            out[1]->dtype = node->opset >= 10 ? INGOT_DTYPE_BOOL : in[0]->dtype;
        }
        return INGOT_OK;

    case EK_QUANT:
    case EK_DEQUANT:
        return infer_quant(node, in, n_in, out, s);

    case EK_DYNQUANT:
        ING_TRY(need_inputs(node, in, n_in, 1, 1));
        ING_TRY(check_dtype(node, 0, in[0]->dtype, s->dtypes));
        ir_copy_desc(out[0], in[0]);
        out[0]->dtype = INGOT_DTYPE_U8;
        if (n_out > 1 && out[1]) {
            out[1]->dtype = in[0]->dtype;
            out[1]->rank = 0;
        }
        if (n_out > 2 && out[2]) {
            out[2]->dtype = INGOT_DTYPE_U8;
            out[2]->rank = 0;
        }
        return INGOT_OK;
    }
    return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "unknown elementwise kind");
}

const ir_op_def ir_ops_ew[] = {
    {"Abs", infer_ew}, {"Neg", infer_ew}, {"Exp", infer_ew}, {"Log", infer_ew},
    {"Sqrt", infer_ew}, {"Reciprocal", infer_ew}, {"Sin", infer_ew}, {"Cos", infer_ew},
    {"Tan", infer_ew}, {"Asin", infer_ew}, {"Acos", infer_ew}, {"Atan", infer_ew},
    {"Sinh", infer_ew}, {"Cosh", infer_ew}, {"Asinh", infer_ew}, {"Acosh", infer_ew},
    {"Atanh", infer_ew}, {"Ceil", infer_ew}, {"Floor", infer_ew}, {"Round", infer_ew},
    {"Sign", infer_ew}, {"Erf", infer_ew}, {"IsNaN", infer_ew}, {"IsInf", infer_ew},
    {"Not", infer_ew}, {"BitwiseNot", infer_ew}, {"Relu", infer_ew}, {"LeakyRelu", infer_ew},
    {"Elu", infer_ew}, {"Selu", infer_ew}, {"Celu", infer_ew}, {"Sigmoid", infer_ew},
    {"HardSigmoid", infer_ew}, {"HardSwish", infer_ew}, {"Softplus", infer_ew},
    {"Softsign", infer_ew}, {"ThresholdedRelu", infer_ew}, {"Shrink", infer_ew},
    {"Mish", infer_ew}, {"Gelu", infer_ew}, {"Swish", infer_ew}, {"PRelu", infer_ew},
    {"Tanh", infer_ew}, {"Clip", infer_ew}, {"Add", infer_ew}, {"Sub", infer_ew},
    {"Mul", infer_ew}, {"Div", infer_ew}, {"Pow", infer_ew}, {"Mod", infer_ew},
    {"And", infer_ew}, {"Or", infer_ew}, {"Xor", infer_ew}, {"Equal", infer_ew},
    {"Less", infer_ew}, {"Greater", infer_ew}, {"LessOrEqual", infer_ew},
    {"GreaterOrEqual", infer_ew}, {"BitShift", infer_ew}, {"BitwiseAnd", infer_ew},
    {"BitwiseOr", infer_ew}, {"BitwiseXor", infer_ew}, {"Where", infer_ew}, {"Max", infer_ew},
    {"Min", infer_ew}, {"Sum", infer_ew}, {"Mean", infer_ew}, {"Cast", infer_ew},
    {"CastLike", infer_ew}, {"BitCast", infer_ew}, {"Identity", infer_ew},
    {"Dropout", infer_ew}, {"QuantizeLinear", infer_ew}, {"DequantizeLinear", infer_ew},
    {"DynamicQuantizeLinear", infer_ew},
    {NULL, NULL},
};
