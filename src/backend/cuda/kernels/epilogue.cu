// Fused-op epilogue. Where every access is a whole aligned 16-byte vector (the element count, the
// bias's channel count and the pointers allow it), each thread takes 16 bytes at a time and one
// division finds the bias index of the vector; otherwise one thread per element, the bias index by
// one division. Grid-stride loops; consecutive threads take consecutive elements (coalesced).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

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

/* 16 bytes of T at a time: V = 16 / sizeof(T) elements; bias (if any) has `channels` elements,
 * a multiple of V, indexed by the element's position in its row (inner == 1). */
template <typename T>
__global__ void epilogue_vec(T *y, const T *bias, const T *res, int64_t nv, int64_t channels, int act, float a, float b)
{
    constexpr int V = 16 / sizeof(T);
    for (int64_t v = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; v < nv; v += (int64_t)gridDim.x * blockDim.x) {
        uint4 yv = reinterpret_cast<const uint4 *>(y)[v], bv, rv;
        if (bias) bv = *reinterpret_cast<const uint4 *>(bias + (v * V) % channels);
        if (res) rv = reinterpret_cast<const uint4 *>(res)[v];
        const T *ye = reinterpret_cast<const T *>(&yv), *be = reinterpret_cast<const T *>(&bv),
                *re = reinterpret_cast<const T *>(&rv);
        uint4 ov;
        T *oe = reinterpret_cast<T *>(&ov);
#pragma unroll
        for (int k = 0; k < V; k++) {
            float f = ld(ye, k);
            if (bias) f += ld(be, k);
            if (res) f += ld(re, k);
            st(oe, k, act_apply(f, act, a, b));
        }
        reinterpret_cast<uint4 *>(y)[v] = ov;
    }
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

template <typename T>
static void launch(void *y, const void *bias, const void *res, int64_t n, int64_t channels, int64_t inner, int act,
                   float a, float b, unsigned blocks, int threads, cudaStream_t s)
{
    constexpr int V = 16 / sizeof(T);
    if (n % V == 0 && aligned16(y) && (!res || aligned16(res)) &&
        (!bias || (inner == 1 && channels % V == 0 && aligned16(bias)))) {
        int64_t nv = n / V, vb = (nv + threads - 1) / threads;
        unsigned vblocks = (unsigned)(vb < (int64_t)blocks ? vb : (int64_t)blocks);
        epilogue_vec<T><<<vblocks, threads, 0, s>>>((T *)y, (const T *)bias, (const T *)res, nv, channels, act, a, b);
        return;
    }
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
