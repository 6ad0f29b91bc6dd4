/* The fused ops' epilogue attributes (see src/ir/infer_fused.c) → the epilogue kernel's codes. */
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/epilogue.h"

int cuda_epilogue_act(const ir_node *n, float *alpha, float *beta)
{
    const char *a = ir_attr_string(n, "activation", NULL);
    *alpha = ir_attr_float(n, "activation_alpha", 0.0f);
    *beta = ir_attr_float(n, "activation_beta", 0.0f);
    if (!a || !a[0]) return EPI_ACT_NONE;
    static const struct {
        const char *name;
        int code;
    } map[] = {{"Relu", EPI_ACT_RELU}, {"Clip", EPI_ACT_CLIP}, {"Sigmoid", EPI_ACT_SIGMOID}, {"Tanh", EPI_ACT_TANH},
               {"HardSigmoid", EPI_ACT_HARDSIGMOID}, {"HardSwish", EPI_ACT_HARDSWISH}, {"Gelu", EPI_ACT_GELU},
               {"GeluTanh", EPI_ACT_GELU_TANH}, {"Swish", EPI_ACT_SWISH}, {"LeakyRelu", EPI_ACT_LEAKYRELU}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].name, a)) return map[i].code;
    return -1;
}

ingot_status cuda_run_epilogue(cuda_exec *x, const ir_node *n, ing_tensor *y, const ing_tensor *bias,
                               const ing_tensor *residual, int64_t channels, int64_t inner)
{
    float alpha, beta;
    int act = cuda_epilogue_act(n, &alpha, &beta);
    if (act < 0) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "activation '%s' has no CUDA epilogue",
                                     ir_attr_string(n, "activation", ""));
    if (act == EPI_ACT_NONE && !bias && !residual) return INGOT_OK;
    int err = ingot_epilogue(y->data, bias ? bias->data : NULL, residual ? residual->data : NULL, ing_numel(y), channels,
                             inner, act, alpha, beta,
                             y->dtype == INGOT_DTYPE_F16 ? EPI_F16 : y->dtype == INGOT_DTYPE_BF16 ? EPI_BF16 : EPI_F32,
                             cuda_stream(x));
    if (err) return cuda_check(err, "ingot_epilogue");
    return INGOT_OK;
}
