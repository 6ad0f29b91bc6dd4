/* Shape inference for InputConvert (domain "ingot"), the conversion that build-time input
 * formats insert after a graph input (plan/io_format.c).
 *
 * y = x * a[c] + b[c] with a[c] = scale / std[c], b[c] = -mean[c] / std[c] (per channel c, or
 * a = scale, b = 0 without mean/std), computed in f32 and stored as `to`.
 * Input 0: u8, f16, bf16 or f32. Attributes: to (f32, f16, bf16), nhwc (int: 1 when x is
 * [N,H,W,C] and y [N,C,H,W]), scale (float, default 1), mean and std (floats, one per channel
 * of y's dim 1, both or neither). */
#include <string.h>

#include "ir/op.h"

static ingot_status infer_input_convert(const ir_node *node, const ing_tensor *const *in, int n_in,
                                        ing_tensor *const *out, int n_out)
{
    if (n_in < 1 || !in[0] || n_out < 1 || !out[0])
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs one input and one output, has %d and %d", n_in, n_out);
    const ing_tensor *x = in[0];
    if (x->dtype != INGOT_DTYPE_U8 && x->dtype != INGOT_DTYPE_F16 && x->dtype != INGOT_DTYPE_BF16 &&
        x->dtype != INGOT_DTYPE_F32)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input dtype %s, allowed u8, f16, bf16, f32",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    int64_t to = ir_attr_int(node, "to", INGOT_DTYPE_F32);
    if (to != INGOT_DTYPE_F32 && to != INGOT_DTYPE_F16 && to != INGOT_DTYPE_BF16)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "to = %lld, allowed f32 (1), f16 (10), bf16 (16)", (long long)to);
    int64_t nhwc = ir_attr_int(node, "nhwc", 0);
    size_t n_mean = 0, n_std = 0;
    ir_attr_floats(node, "mean", &n_mean);
    ir_attr_floats(node, "std", &n_std);
    if (n_mean != n_std || n_mean > IR_CONVERT_MAX_CHANNELS)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "mean has %zu values and std %zu; want equal counts, at most %d",
                            n_mean, n_std, IR_CONVERT_MAX_CHANNELS);
    ing_tensor *y = out[0];
    y->dtype = (int32_t)to;
    y->rank = x->rank;
    if (x->rank < 0) return INGOT_OK;
    char sh[96];
    if ((nhwc && x->rank != 4) || (n_mean && x->rank < 2))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input shape %s; nhwc needs 4-D, mean/std a channel axis",
                            ing_shape_str(x, sh, sizeof sh));
    for (int32_t d = 0; d < x->rank; d++) y->dims[d] = x->dims[d];
    if (nhwc) {
        y->dims[1] = x->dims[3];
        y->dims[2] = x->dims[1];
        y->dims[3] = x->dims[2];
    }
    if (n_mean && y->dims[1] >= 0 && y->dims[1] != (int64_t)n_mean)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input shape %s has %lld channels, mean/std have %zu",
                            ing_shape_str(x, sh, sizeof sh), (long long)y->dims[1], n_mean);
    return INGOT_OK;
}

void ir_convert_coeffs(const ir_node *node, float *a, float *b, int64_t *channels)
{
    size_t n = 0, ns = 0;
    const float *mean = ir_attr_floats(node, "mean", &n);
    const float *sd = ir_attr_floats(node, "std", &ns);
    float scale = ir_attr_float(node, "scale", 1.0f);
    if (n != ns || n > IR_CONVERT_MAX_CHANNELS) n = 0; /* inference rejects these */
    *channels = n ? (int64_t)n : 1;
    a[0] = scale;
    b[0] = 0.0f;
    for (size_t c = 0; c < n; c++) {
        a[c] = scale / sd[c];
        b[c] = -mean[c] / sd[c];
    }
}

const ir_op_def ir_ops_convert[] = {
    {"InputConvert", infer_input_convert},
    {NULL, NULL},
};
