/* CUDA host glue for InputConvert (domain "ingot"; semantics in src/ir/infer_convert.c,
 * kernel in kernels/convert.cu). */
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/convert.h"

_Static_assert(CONVERT_MAX_CHANNELS == IR_CONVERT_MAX_CHANNELS, "coefficient arrays sized alike");

static ingot_status k_input_convert(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    if (n_in < 1 || !in[0] || n_out < 1 || !out[0])
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs one input and one output");
    const ing_tensor *y = out[0];
    convert_params p;
    memset(&p, 0, sizeof p);
    int64_t ch;
    ir_convert_coeffs(node, p.a, p.b, &ch);
    p.nhwc = ir_attr_int(node, "nhwc", 0) != 0;
    p.n_coef = (int32_t)ch;
    p.outer = y->rank >= 1 ? y->dims[0] : 1;
    p.channels = y->rank >= 2 ? y->dims[1] : 1;
    p.inner = 1;
    for (int32_t d = 2; d < y->rank; d++) p.inner *= y->dims[d];
    if (y->rank < 2) p.inner = p.outer ? ing_numel(y) / p.outer : 0;
    if (ch > 1 && ch != p.channels)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input has %lld channels, mean/std have %lld",
                            (long long)p.channels, (long long)ch);
    int err = convert_launch(in[0]->dtype, y->dtype, in[0]->data, y->data, &p, cuda_stream(x));
    if (!err) return INGOT_OK;
    return ingot_fail_prefix(cuda_check(err, "convert_launch"), "node '%s' (%s)", node->name, node->op);
}

const cuda_kernel_def cuda_kernels_convert[] = {
    {"InputConvert", k_input_convert, NULL},
    {NULL, NULL, NULL},
};
