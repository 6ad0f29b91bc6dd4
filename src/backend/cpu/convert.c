/* CPU kernel for InputConvert (domain "ingot"; semantics in src/ir/infer_convert.c): the
 * conversion of an input given in a build-time format (uint8/f16/bf16, maybe NHWC) to the
 * model's type and layout, with the normalization folded in: y = fmaf(x, a[c], b[c]).
 * fmaf rounds once, as the CUDA kernel's __fmaf_rn does, so both backends agree bit for bit
 * in f32. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"

#define CONVERT_PAR_MIN 65536 /* elements: below this, threads cost more than they save */

static float load(int dt, const void *x, int64_t i)
{
    switch (dt) {
    case INGOT_DTYPE_U8: return (float)((const uint8_t *)x)[i];
    case INGOT_DTYPE_F16: return ing_f16_to_f32(((const uint16_t *)x)[i]);
    case INGOT_DTYPE_BF16: return ing_bf16_to_f32(((const uint16_t *)x)[i]);
    default: return ((const float *)x)[i];
    }
}

static void store(int dt, void *y, int64_t i, float v)
{
    if (dt == INGOT_DTYPE_F16) ((uint16_t *)y)[i] = ing_f32_to_f16(v);
    else if (dt == INGOT_DTYPE_BF16) ((uint16_t *)y)[i] = ing_f32_to_bf16(v);
    else ((float *)y)[i] = v;
}

static ingot_status k_input_convert(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    (void)x;
    if (n_in < 1 || !in[0] || n_out < 1 || !out[0])
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs one input and one output");
    float a[IR_CONVERT_MAX_CHANNELS], b[IR_CONVERT_MAX_CHANNELS];
    int64_t ch;
    ir_convert_coeffs(node, a, b, &ch);
    const ing_tensor *t = in[0];
    ing_tensor *y = out[0];
    int nhwc = ir_attr_int(node, "nhwc", 0) != 0;
    /* y viewed as [outer, C, inner]: C = dim 1 (1 for rank < 2) */
    int64_t C = y->rank >= 2 ? y->dims[1] : 1, outer = y->rank >= 1 ? y->dims[0] : 1, inner = 1;
    for (int32_t d = 2; d < y->rank; d++) inner *= y->dims[d];
    if (y->rank < 2) inner = ing_numel(y) / (outer ? outer : 1), C = 1;
    if (ch > 1 && ch != C)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input has %lld channels, mean/std have %lld", (long long)C,
                            (long long)ch);
    int64_t planes = outer * C;
#pragma omp parallel for schedule(static) if (planes * inner >= CONVERT_PAR_MIN)
    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t n = pl / (C ? C : 1), c = pl % (C ? C : 1);
        float ac = a[ch > 1 ? c : 0], bc = b[ch > 1 ? c : 0];
        for (int64_t p = 0; p < inner; p++) {
            int64_t src = nhwc ? (n * inner + p) * C + c : pl * inner + p;
            store(y->dtype, y->data, pl * inner + p, fmaf(load(t->dtype, t->data, src), ac, bc));
        }
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_convert[] = {
    {"InputConvert", k_input_convert},
    {NULL, NULL},
};
