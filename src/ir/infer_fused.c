/* Shape inference for the fused ops that fuse_epilogue writes (domain "ingot").
 *
 * y = act(op(x) + bias + residual), op one of Conv, Gemm, MatMul. Input layout:
 *   FusedConv:   0 X, 1 W, 2 B (optional, Conv's bias), 3 residual (optional)
 *   FusedGemm:   0 A, 1 B, 2 C (optional, Gemm's C),    3 residual (optional)
 *   FusedMatMul: 0 A, 1 B, 2 bias [N] or [1] along the last axis (optional), 3 residual (optional)
 * Attributes: the base op's, plus `activation` (string: Relu, Clip, Sigmoid, Tanh, HardSigmoid,
 * HardSwish, Gelu, GeluTanh, Swish, LeakyRelu; absent: none), `activation_alpha` and
 * `activation_beta` (floats: Clip min/max, HardSigmoid alpha/beta, LeakyRelu/Swish alpha).
 * The residual has the output's dtype and rank and broadcasts with the base op's output as Add's
 * operands do (fuse_epilogue only fuses residuals whose known dims equal the output's; an unknown
 * dim may turn out to be 1 on either side at run time, so the general case is kept exact). */
#include <string.h>

#include "ir/op.h"

static const char *const activations[] = {"Relu",      "Clip", "Sigmoid",  "Tanh",  "HardSigmoid",
                                          "HardSwish", "Gelu", "GeluTanh", "Swish", "LeakyRelu"};

static ingot_status check_activation(const ir_node *node)
{
    const char *a = ir_attr_string(node, "activation", NULL);
    if (!a) return INGOT_OK;
    for (size_t i = 0; i < sizeof activations / sizeof activations[0]; i++)
        if (!strcmp(a, activations[i])) return INGOT_OK;
    return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                        "activation '%s' is not supported (Relu, Clip, Sigmoid, Tanh, HardSigmoid, HardSwish, "
                        "Gelu, GeluTanh, Swish, LeakyRelu)",
                        a);
}

/* The base op's inference on its own inputs (the first n_base), then the epilogue's checks. */
static ingot_status infer_fused(const char *base, int n_base, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ir_op_def *d = ir_op_lookup(base);
    if (!d) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "base op %s is not registered", base);
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "has no output (1 required)");
    if (n_in > 4) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "has %d inputs, at most 4 allowed", n_in);
    ING_TRY(d->infer(node, in, n_in < n_base ? n_in : n_base, out, 1));
    ING_TRY(check_activation(node));
    const ing_tensor *y = out[0];
    const ing_tensor *bias = n_base == 2 && n_in > 2 ? in[2] : NULL;
    if (bias) {
        int64_t n = y->rank > 0 ? y->dims[y->rank - 1] : -1;
        if (bias->dtype != y->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "bias dtype %s differs from the output's %s",
                                ingot_dtype_name(bias->dtype), ingot_dtype_name(y->dtype));
        if (bias->rank != 1 || (bias->dims[0] >= 0 && n >= 0 && bias->dims[0] != n && bias->dims[0] != 1)) {
            char b1[64];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "bias shape %s; want [%lld] or [1]",
                                ing_shape_str(bias, b1, sizeof b1), (long long)n);
        }
    }
    const ing_tensor *r = n_in > 3 ? in[3] : NULL;
    if (!r) return INGOT_OK;
    if (r->dtype != y->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "residual dtype %s differs from the output's %s",
                            ingot_dtype_name(r->dtype), ingot_dtype_name(y->dtype));
    if (r->rank >= 0 && y->rank >= 0 && r->rank != y->rank) {
        char b1[64], b2[64];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "residual shape %s has rank %d; the output %s has rank %d",
                            ing_shape_str(r, b1, sizeof b1), r->rank, ing_shape_str(y, b2, sizeof b2), y->rank);
    }
    ing_tensor yb = *y; /* the residual broadcasts with the base output, as Add does */
    return ir_broadcast_shape(node, &yb, r, out[0]);
}

static ingot_status infer_fused_conv(const ir_node *node, const ing_tensor *const *in, int n_in,
                                     ing_tensor *const *out, int n_out)
{
    return infer_fused("Conv", 3, node, in, n_in, out, n_out);
}

static ingot_status infer_fused_gemm(const ir_node *node, const ing_tensor *const *in, int n_in,
                                     ing_tensor *const *out, int n_out)
{
    return infer_fused("Gemm", 3, node, in, n_in, out, n_out);
}

static ingot_status infer_fused_matmul(const ir_node *node, const ing_tensor *const *in, int n_in,
                                       ing_tensor *const *out, int n_out)
{
    return infer_fused("MatMul", 2, node, in, n_in, out, n_out);
}

const ir_op_def ir_ops_fused[] = {
    {"FusedConv", infer_fused_conv},
    {"FusedGemm", infer_fused_gemm},
    {"FusedMatMul", infer_fused_matmul},
    {NULL, NULL},
};
