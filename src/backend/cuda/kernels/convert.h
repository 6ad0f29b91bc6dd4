/* Launcher of the InputConvert kernel (kernels/convert.cu), used by backend/cuda/convert.c.
 * Enqueues on `stream` (a cudaStream_t) and returns 0 or a cudaError_t value. Pointers are
 * device pointers. */
#ifndef INGOT_BACKEND_CUDA_KERNELS_CONVERT_H
#define INGOT_BACKEND_CUDA_KERNELS_CONVERT_H

#include "backend/cuda/kernels/launch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CONVERT_MAX_CHANNELS 64 /* = IR_CONVERT_MAX_CHANNELS; coefficients travel as arguments */

/* y, viewed as [outer, channels, inner], = fmaf(x, a[c], b[c]) stored as out_dtype (f32, f16,
 * bf16), c the channel (a[0], b[0] for every element when n_coef is 1). x (in_dtype u8, f16,
 * bf16, f32) is laid out like y, or as [outer, inner, channels] when nhwc. */
typedef struct convert_params {
    int64_t outer, channels, inner;
    int32_t nhwc;
    int32_t n_coef; /* 1 or channels */
    float a[CONVERT_MAX_CHANNELS], b[CONVERT_MAX_CHANNELS];
} convert_params;

int convert_launch(int in_dtype, int out_dtype, const void *x, void *y, const convert_params *p, void *stream);

#ifdef __cplusplus
}
#endif

#endif
