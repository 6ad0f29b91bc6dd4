/* FusedElementwise programs: opcode table, validation and the reference arithmetic (see
 * ew_program.h); the node's shape inference (the output broadcasts every input). */
#include "ir/ew_program.h"

#include <math.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/op.h"

static const struct {
    const char *name;
    int arity, n_params;
} ops[EWP_OP_END] = {
    [EWP_CONST] = {"Const", 0, 1},          [EWP_ADD] = {"Add", 2, 0},
    [EWP_SUB] = {"Sub", 2, 0},              [EWP_MUL] = {"Mul", 2, 0},
    [EWP_DIV] = {"Div", 2, 0},              [EWP_POW] = {"Pow", 2, 0},
    [EWP_MAX] = {"Max", 2, 0},              [EWP_MIN] = {"Min", 2, 0},
    [EWP_RELU] = {"Relu", 1, 0},            [EWP_SIGMOID] = {"Sigmoid", 1, 0},
    [EWP_TANH] = {"Tanh", 1, 0},            [EWP_EXP] = {"Exp", 1, 0},
    [EWP_LOG] = {"Log", 1, 0},              [EWP_SQRT] = {"Sqrt", 1, 0},
    [EWP_NEG] = {"Neg", 1, 0},              [EWP_ABS] = {"Abs", 1, 0},
    [EWP_ERF] = {"Erf", 1, 0},              [EWP_RECIP] = {"Reciprocal", 1, 0},
    [EWP_CLIP] = {"Clip", 1, 2},            [EWP_LEAKYRELU] = {"LeakyRelu", 1, 1},
    [EWP_HARDSIGMOID] = {"HardSigmoid", 1, 2}, [EWP_HARDSWISH] = {"HardSwish", 1, 0},
    [EWP_GELU] = {"Gelu", 1, 0},            [EWP_GELU_TANH] = {"GeluTanh", 1, 0},
    [EWP_SWISH] = {"Swish", 1, 1},          [EWP_CAST] = {"Cast", 1, 0},
};

static int known(int64_t op) { return op >= 0 && op < EWP_OP_END && ops[op].name; }

int ewp_arity(int64_t op) { return known(op) ? ops[op].arity : -1; }
int ewp_n_params(int64_t op) { return known(op) ? ops[op].n_params : -1; }
const char *ewp_name(int64_t op) { return known(op) ? ops[op].name : "?"; }

int ewp_dtype_ok(int32_t dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }

ingot_status ewp_parse(const ir_node *n, ewp_program *p)
{
    size_t nc = 0, np = 0;
    const int64_t *code = ir_attr_ints(n, "program", &nc);
    const float *params = ir_attr_floats(n, "params", &np);
    int64_t dt = ir_attr_int(n, "dtype", 0);
    if (!code || nc == 0 || nc % 4 || nc / 4 > EWP_MAX_INSTR)
        return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "program has %zu entries; want 4 per instruction, 1..%d instructions",
                            nc, EWP_MAX_INSTR);
    if (n->n_in < 1 || n->n_in > EWP_MAX_IN || n->n_out != 1)
        return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "%d inputs and %d outputs; allowed 1..%d inputs, 1 output", n->n_in,
                            n->n_out, EWP_MAX_IN);
    if (!ewp_dtype_ok((int32_t)dt))
        return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "dtype %lld; allowed 1 (f32), 10 (f16), 16 (bf16)", (long long)dt);
    if (np > INT32_MAX) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "%zu params", np);
    int32_t n_instr = (int32_t)(nc / 4);
    for (int32_t t = 0; t < n_instr; t++) {
        const int64_t *c = code + 4 * t;
        int64_t regs = n->n_in + t; /* registers written before instruction t */
        int ar = ewp_arity(c[0]);
        if (ar < 0) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "instruction %d: opcode %lld is unknown", t, (long long)c[0]);
        for (int o = 0; o < 2; o++) {
            int64_t r = c[1 + o];
            if (o < ar ? (r < 0 || r >= regs) : r != -1)
                return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "instruction %d (%s): operand %d is %lld; allowed %s", t,
                                    ewp_name(c[0]), o, (long long)r, o < ar ? "an earlier register" : "-1");
        }
        int npar = ewp_n_params(c[0]);
        if (c[0] == EWP_CAST ? !ewp_dtype_ok((int32_t)c[3])
                             : npar ? (c[3] < 0 || (uint64_t)c[3] + (uint64_t)npar > np) : c[3] != -1)
            return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "instruction %d (%s): k is %lld (%zu params)", t, ewp_name(c[0]),
                                (long long)c[3], np);
    }
    p->n_in = n->n_in;
    p->n_instr = n_instr;
    p->code = code;
    p->params = params;
    p->n_params = (int32_t)np;
    p->dtype = (int32_t)dt;
    return INGOT_OK;
}

static float round_to(int64_t dt, float v)
{
    if (dt == INGOT_DTYPE_F16) return ing_f16_to_f32(ing_f32_to_f16(v));
    if (dt == INGOT_DTYPE_BF16) return ing_bf16_to_f32(ing_f32_to_bf16(v));
    return v;
}

float ewp_eval(const ewp_program *p, int32_t t, float a, float b)
{
    const int64_t *c = p->code + 4 * t;
    const float *k = c[3] >= 0 && c[0] != EWP_CAST ? p->params + c[3] : NULL;
    switch ((int)c[0]) {
    case EWP_CONST: return k[0];
    case EWP_ADD: return a + b;
    case EWP_SUB: return a - b;
    case EWP_MUL: return a * b;
    case EWP_DIV: return a / b;
    case EWP_POW: return powf(a, b);
    case EWP_MAX: return (a > b || isnan(a)) ? a : b;
    case EWP_MIN: return (a < b || isnan(a)) ? a : b;
    case EWP_RELU: return a < 0.0f ? 0.0f : a;
    case EWP_SIGMOID: return a >= 0.0f ? 1.0f / (1.0f + expf(-a)) : expf(a) / (1.0f + expf(a));
    case EWP_TANH: return tanhf(a);
    case EWP_EXP: return expf(a);
    case EWP_LOG: return logf(a);
    case EWP_SQRT: return sqrtf(a);
    case EWP_NEG: return -a;
    case EWP_ABS: return fabsf(a);
    case EWP_ERF: return erff(a);
    case EWP_RECIP: return 1.0f / a;
    case EWP_CLIP: /* compare-and-select: NaN stays NaN, lower > upper gives upper (as Clip) */
        a = a < k[0] ? k[0] : a;
        return a > k[1] ? k[1] : a;
    case EWP_LEAKYRELU: return a < 0.0f ? k[0] * a : a;
    case EWP_HARDSIGMOID: {
        float h = k[0] * a + k[1];
        return h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h;
    }
    case EWP_HARDSWISH: {
        float h = a / 6.0f + 0.5f;
        return a * (h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h);
    }
    case EWP_GELU: return 0.5f * a * (1.0f + erff(a * 0.70710678118654752f));
    case EWP_GELU_TANH: return 0.5f * a * (1.0f + tanhf(0.7978845608028654f * (a + 0.044715f * a * a * a)));
    case EWP_SWISH: return a / (1.0f + expf(-k[0] * a));
    case EWP_CAST: return round_to(c[3], a);
    default: return NAN; /* ewp_parse rejects unknown opcodes */
    }
}

/* Output: dtype from the attribute, shape the broadcast of every input (the program is a tree
 * of broadcasting elementwise ops, so its result has exactly that shape). */
static ingot_status infer_fused_ew(const ir_node *node, const ing_tensor *const *in, int n_in, ing_tensor *const *out,
                                   int n_out)
{
    ewp_program p;
    ING_TRY(ewp_parse(node, &p));
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "has no output (1 required)");
    ing_tensor y = {.dtype = p.dtype, .rank = 0};
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is omitted; every input is required", i);
        if (!ewp_dtype_ok(in[i]->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s; allowed f32, f16, bf16", i,
                                ingot_dtype_name((ingot_dtype)in[i]->dtype));
        ing_tensor acc = y;
        ING_TRY(ir_broadcast_shape(node, &acc, in[i], &y));
        y.dtype = p.dtype;
    }
    out[0]->dtype = y.dtype;
    out[0]->rank = y.rank;
    memcpy(out[0]->dims, y.dims, sizeof y.dims);
    return INGOT_OK;
}

const ir_op_def ir_ops_fused_ew[] = {
    {"FusedElementwise", infer_fused_ew},
    {NULL, NULL},
};
