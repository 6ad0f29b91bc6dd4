/* CUDA kernel for InputConvert: an input given in a build-time format (uint8/f16/bf16/f32,
 * maybe NHWC) to the model's layout and compute type in one pass, the normalization folded in
 * as y = fmaf(x, a[c], b[c]) (the host computes a and b once, as the CPU kernel does, so the
 * two agree bit for bit before the final rounding to f16/bf16).
 *
 * Mapping.
 * - Packed path (uint8 NHWC, C in {1, 3, 4}, H·W a multiple of 4, x 4-byte and y 4-element
 *   aligned): one thread per 4 consecutive pixels of one image. It reads their 4·C bytes as C
 *   aligned 32-bit words (a warp reads 128·C contiguous bytes: coalesced) and writes, for each
 *   channel plane, the 4 outputs as one 16-byte (f32) or 8-byte (f16/bf16) store; consecutive
 *   threads write consecutive vectors of each plane, so stores coalesce too.
 * - General path (every other case): one thread per output element, grid-stride loop, 256
 *   threads a block; x is read at the element's own (NHWC: strided) offset, no alignment
 *   assumed beyond the element's. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "backend/cuda/kernels/convert.h"
#include "core/dtype.h"

#define CV_THREADS 256
#define CV_MAX_BLOCKS 65535

static unsigned grid_for(int64_t n)
{
    int64_t b = (n + CV_THREADS - 1) / CV_THREADS;
    if (b < 1) b = 1;
    return (unsigned)(b > CV_MAX_BLOCKS ? CV_MAX_BLOCKS : b);
}

template <typename T> struct cv_in;
template <> struct cv_in<uint8_t> {
    static __device__ __forceinline__ float ld(uint8_t v) { return (float)v; }
};
template <> struct cv_in<float> {
    static __device__ __forceinline__ float ld(float v) { return v; }
};
template <> struct cv_in<__half> {
    static __device__ __forceinline__ float ld(__half v) { return __half2float(v); }
};
template <> struct cv_in<__nv_bfloat16> {
    static __device__ __forceinline__ float ld(__nv_bfloat16 v) { return __bfloat162float(v); }
};

/* 4 consecutive 2-byte outputs as one 8-byte store (the caller guarantees the alignment) */
template <typename T> struct __align__(8) cv_pack4 {
    T h[4];
};

template <typename T> struct cv_out;
template <> struct cv_out<float> {
    static __device__ __forceinline__ float st(float v) { return v; }
    static __device__ __forceinline__ void st4(float *y, const float *v)
    {
        *reinterpret_cast<float4 *>(y) = make_float4(v[0], v[1], v[2], v[3]);
    }
};
template <typename T> struct cv_out16 {
    static __device__ __forceinline__ void st4(T *y, const float *v)
    {
        cv_pack4<T> p;
#pragma unroll
        for (int q = 0; q < 4; q++) p.h[q] = cv_out<T>::st(v[q]);
        *reinterpret_cast<cv_pack4<T> *>(y) = p;
    }
};
template <> struct cv_out<__half> : cv_out16<__half> {
    static __device__ __forceinline__ __half st(float v) { return __float2half_rn(v); }
};
template <> struct cv_out<__nv_bfloat16> : cv_out16<__nv_bfloat16> {
    static __device__ __forceinline__ __nv_bfloat16 st(float v) { return __float2bfloat16_rn(v); }
};

template <typename TI, typename TO>
__global__ void convert_general(const TI *__restrict__ x, TO *__restrict__ y, const convert_params p)
{
    int64_t n = p.outer * p.channels * p.inner;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t plane = i / p.inner, px = i - plane * p.inner;
        int64_t c = plane % p.channels, img = plane / p.channels;
        int64_t src = p.nhwc ? (img * p.inner + px) * p.channels + c : i;
        int k = p.n_coef > 1 ? (int)c : 0;
        y[i] = cv_out<TO>::st(__fmaf_rn(cv_in<TI>::ld(x[src]), p.a[k], p.b[k]));
    }
}

template <int C, typename TO>
__global__ void convert_nhwc_u8(const uint8_t *__restrict__ x, TO *__restrict__ y, const convert_params p)
{
    int64_t groups_per_img = p.inner / 4, n = p.outer * groups_per_img;
    for (int64_t g = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n; g += (int64_t)gridDim.x * blockDim.x) {
        int64_t img = g / groups_per_img, px = (g - img * groups_per_img) * 4;
        const uint32_t *src = reinterpret_cast<const uint32_t *>(x + (img * p.inner + px) * C);
        uint32_t w[C];
#pragma unroll
        for (int k = 0; k < C; k++) w[k] = __ldg(src + k);
#pragma unroll
        for (int c = 0; c < C; c++) {
            float v[4];
#pragma unroll
            for (int q = 0; q < 4; q++) {
                int byte = q * C + c; /* pixel q, channel c of the 4·C bytes */
                float u = (float)((w[byte >> 2] >> ((byte & 3) * 8)) & 0xffu);
                int k = p.n_coef > 1 ? c : 0;
                v[q] = __fmaf_rn(u, p.a[k], p.b[k]);
            }
            cv_out<TO>::st4(y + (img * C + c) * p.inner + px, v);
        }
    }
}

template <typename TO>
static int launch_out(int in_dtype, const void *x, TO *y, const convert_params *p, cudaStream_t s)
{
    int64_t n = p->outer * p->channels * p->inner;
    if (n == 0) return 0;
    int packed = in_dtype == INGOT_DTYPE_U8 && p->nhwc && p->inner % 4 == 0 &&
                 (p->channels == 1 || p->channels == 3 || p->channels == 4) && ((uintptr_t)x & 3) == 0 &&
                 ((uintptr_t)y & (4 * sizeof(TO) - 1)) == 0;
    if (packed) {
        unsigned g = grid_for(p->outer * (p->inner / 4));
        const uint8_t *xb = (const uint8_t *)x;
        if (p->channels == 1) convert_nhwc_u8<1, TO><<<g, CV_THREADS, 0, s>>>(xb, y, *p);
        else if (p->channels == 3) convert_nhwc_u8<3, TO><<<g, CV_THREADS, 0, s>>>(xb, y, *p);
        else convert_nhwc_u8<4, TO><<<g, CV_THREADS, 0, s>>>(xb, y, *p);
        return (int)cudaGetLastError();
    }
    unsigned g = grid_for(n);
    switch (in_dtype) {
    case INGOT_DTYPE_U8: convert_general<uint8_t, TO><<<g, CV_THREADS, 0, s>>>((const uint8_t *)x, y, *p); break;
    case INGOT_DTYPE_F16: convert_general<__half, TO><<<g, CV_THREADS, 0, s>>>((const __half *)x, y, *p); break;
    case INGOT_DTYPE_BF16:
        convert_general<__nv_bfloat16, TO><<<g, CV_THREADS, 0, s>>>((const __nv_bfloat16 *)x, y, *p);
        break;
    case INGOT_DTYPE_F32: convert_general<float, TO><<<g, CV_THREADS, 0, s>>>((const float *)x, y, *p); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return (int)cudaGetLastError();
}

extern "C" int convert_launch(int in_dtype, int out_dtype, const void *x, void *y, const convert_params *p, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    if (p->n_coef != 1 && p->n_coef != p->channels) return (int)cudaErrorInvalidValue;
    switch (out_dtype) {
    case INGOT_DTYPE_F32: return launch_out(in_dtype, x, (float *)y, p, s);
    case INGOT_DTYPE_F16: return launch_out(in_dtype, x, (__half *)y, p, s);
    case INGOT_DTYPE_BF16: return launch_out(in_dtype, x, (__nv_bfloat16 *)y, p, s);
    default: return (int)cudaErrorInvalidValue;
    }
}
