/* The fused-op epilogue: y = act(y + bias[channel] + residual), in place, one pass. */
#ifndef INGOT_BACKEND_CUDA_KERNELS_EPILOGUE_H
#define INGOT_BACKEND_CUDA_KERNELS_EPILOGUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    EPI_ACT_NONE = 0, EPI_ACT_RELU, EPI_ACT_CLIP, EPI_ACT_SIGMOID, EPI_ACT_TANH, EPI_ACT_HARDSIGMOID,
    EPI_ACT_HARDSWISH, EPI_ACT_GELU, EPI_ACT_GELU_TANH, EPI_ACT_SWISH, EPI_ACT_LEAKYRELU
};

enum { EPI_F32 = 0, EPI_F16 = 1, EPI_BF16 = 2 };

/* y: n elements of type `type` (EPI_F32, EPI_F16, EPI_BF16); bias: NULL or `channels` elements of the
 * same type, element i uses bias[(i / inner) % channels]; residual: NULL or n elements.
 * alpha/beta: Clip min/max, HardSigmoid alpha/beta, LeakyRelu alpha. Returns a cudaError_t. */
int ingot_epilogue(void *y, const void *bias, const void *residual, int64_t n, int64_t channels, int64_t inner,
                   int act, float alpha, float beta, int type, void *stream);

#ifdef __cplusplus
}
#endif

#endif
