// Fused-op epilogue. One thread per element with a grid-stride loop; loads are coalesced
// (consecutive threads, consecutive elements); the bias index costs one division.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "epilogue.h"

__device__ __forceinline__ float act_apply(float v, int act, float a, float b)
{
    switch (act) {
    case EPI_ACT_RELU: return v > 0.f ? v : 0.f;
    case EPI_ACT_CLIP: return fminf(fmaxf(v, a), b);
    case EPI_ACT_SIGMOID: return 1.f / (1.f + __expf(-v));
    case EPI_ACT_TANH: return tanhf(v);
    case EPI_ACT_HARDSIGMOID: return fminf(fmaxf(a * v + b, 0.f), 1.f);
    case EPI_ACT_HARDSWISH: return v * fminf(fmaxf(v / 6.f + 0.5f, 0.f), 1.f);
    case EPI_ACT_GELU: return 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
    case EPI_ACT_GELU_TANH: return 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case EPI_ACT_SWISH: return v / (1.f + __expf(-v));
    case EPI_ACT_LEAKYRELU: return v >= 0.f ? v : a * v;
    default: return v;
    }
}

template <typename T> __device__ __forceinline__ float ld(const T *p, int64_t i);
template <> __device__ __forceinline__ float ld<float>(const float *p, int64_t i) { return p[i]; }
template <> __device__ __forceinline__ float ld<__half>(const __half *p, int64_t i) { return __half2float(p[i]); }
template <> __device__ __forceinline__ float ld<__nv_bfloat16>(const __nv_bfloat16 *p, int64_t i)
{
    return __bfloat162float(p[i]);
}
template <typename T> __device__ __forceinline__ void st(T *p, int64_t i, float v);
template <> __device__ __forceinline__ void st<float>(float *p, int64_t i, float v) { p[i] = v; }
template <> __device__ __forceinline__ void st<__half>(__half *p, int64_t i, float v) { p[i] = __float2half_rn(v); }
template <> __device__ __forceinline__ void st<__nv_bfloat16>(__nv_bfloat16 *p, int64_t i, float v)
{
    p[i] = __float2bfloat16_rn(v);
}

template <typename T>
__global__ void epilogue_kernel(T *y, const T *bias, const T *res, int64_t n, int64_t channels, int64_t inner,
                                int act, float a, float b)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float v = ld(y, i);
        if (bias) v += ld(bias, (i / inner) % channels);
        if (res) v += ld(res, i);
        st(y, i, act_apply(v, act, a, b));
    }
}

template <typename T>
static void launch(void *y, const void *bias, const void *res, int64_t n, int64_t channels, int64_t inner, int act,
                   float a, float b, unsigned blocks, int threads, cudaStream_t s)
{
    epilogue_kernel<T><<<blocks, threads, 0, s>>>((T *)y, (const T *)bias, (const T *)res, n, channels, inner, act, a, b);
}

extern "C" int ingot_epilogue(void *y, const void *bias, const void *residual, int64_t n, int64_t channels,
                              int64_t inner, int act, float alpha, float beta, int type, void *stream)
{
    if (n <= 0) return 0;
    int threads = 256;
    int64_t blocks = (n + threads - 1) / threads;
    if (blocks > 65535 * 8) blocks = 65535 * 8;
    cudaStream_t s = (cudaStream_t)stream;
    if (channels <= 0) channels = 1;
    if (inner <= 0) inner = 1;
    if (type == EPI_F16)
        launch<__half>(y, bias, residual, n, channels, inner, act, alpha, beta, (unsigned)blocks, threads, s);
    else if (type == EPI_BF16)
        launch<__nv_bfloat16>(y, bias, residual, n, channels, inner, act, alpha, beta, (unsigned)blocks, threads, s);
    else
        launch<float>(y, bias, residual, n, channels, inner, act, alpha, beta, (unsigned)blocks, threads, s);
    return (int)cudaGetLastError();
}
