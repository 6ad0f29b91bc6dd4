/* Attention on the GPU: Y = softmax(scale · Q Kᵀ + mask) V, flash-attention style.
 *
 * One block of ATT_WARPS warps per (batch, query head, tile of ATT_BQ query rows); each warp owns
 * ATT_ROWS of those rows. The block walks the keys in tiles of ATT_BK (one key per lane): the
 * tile's K and V rows are converted to f32 into shared memory, every lane computes its key's
 * score for the warp's rows, and the running maximum, the per-lane partial sums of exp and the
 * output accumulators (lane owns features lane, lane+32, lane+64, lane+96) are rescaled when the
 * maximum grows. Nothing of size Sq x T is ever stored, so any key count works. A row whose
 * every key is masked (its maximum stays -inf) is written as zeros, as the CPU kernel does.
 *
 * K's shared rows have an odd stride, so lanes reading 32 different keys at one feature hit 32
 * banks; Q rows are read by every lane at once (a broadcast); V rows are read along features. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "backend/cuda/kernels/attention.h"

#define ATT_WARPS 4
#define ATT_ROWS 4
#define ATT_BQ (ATT_WARPS * ATT_ROWS)
#define ATT_BK 32

__device__ __forceinline__ float ldf(float x) { return x; }
__device__ __forceinline__ float ldf(__half x) { return __half2float(x); }
__device__ __forceinline__ float ldf(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void stf(float *p, float v) { *p = v; }
__device__ __forceinline__ void stf(__half *p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void stf(__nv_bfloat16 *p, float v) { *p = __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* K's row stride in shared memory: odd, so 32 lanes reading one feature of 32 keys never share
 * a bank. */
__host__ __device__ __forceinline__ int k_stride(int64_t dh) { return (int)(dh | 1); }

/* The mask's bias for key j of row (b, h, i); -inf where the key is masked out. */
template <typename T>
__device__ __forceinline__ float mask_bias(const ingk_attn_params &p, const void *mask, int64_t base, int64_t j)
{
    if (p.mask_kind == INGK_ATTN_MASK_NONE) return 0.0f;
    if (j >= p.mlen) return -INFINITY;
    if (p.mask_kind == INGK_ATTN_MASK_BOOL) return ((const unsigned char *)mask)[base + j] ? 0.0f : -INFINITY;
    return ldf(((const T *)mask)[base + j]);
}

/* NC: output features per lane, ceil(Dv / 32) (1..4), so a head of 64 keeps 2 accumulators a row. */
template <typename T, int NC>
__global__ void __launch_bounds__(ATT_WARPS * 32)
    attn_kernel(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, const void *__restrict__ mask,
                T *__restrict__ y, ingk_attn_params p)
{
    extern __shared__ float smem[];
    const int dh = (int)p.dh, dv = (int)p.dv, ks = k_stride(p.dh);
    float *qs = smem;               /* [ATT_BQ][dh], scaled */
    float *kt = qs + ATT_BQ * dh;   /* [ATT_BK][ks] */
    float *vt = kt + ATT_BK * ks;   /* [ATT_BK][dv] */
    const int64_t ntile = (p.sq + ATT_BQ - 1) / ATT_BQ;
    const int64_t tile = blockIdx.x % ntile, bh = blockIdx.x / ntile;
    const int64_t b = bh / p.hq, h = bh % p.hq, hk = h / (p.hq / p.hkv);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int64_t i0 = tile * ATT_BQ;

    for (int e = threadIdx.x; e < ATT_BQ * dh; e += blockDim.x) {
        int r = e / dh, d = e - r * dh;
        int64_t i = i0 + r;
        qs[e] = i < p.sq ? ldf(q[b * p.q.b + h * p.q.h + i * p.q.s + d]) * p.scale : 0.0f;
    }
    const T *kb = k + b * p.k.b + hk * p.k.h;
    const T *vb = v + b * p.v.b + hk * p.v.h;

    float mx[ATT_ROWS], sum[ATT_ROWS], acc[ATT_ROWS][NC];
    int64_t mbase[ATT_ROWS];
#pragma unroll
    for (int r = 0; r < ATT_ROWS; r++) {
        mx[r] = -INFINITY;
        sum[r] = 0.0f;
#pragma unroll
        for (int c = 0; c < NC; c++) acc[r][c] = 0.0f;
        /* rows past Sq are computed (their scores are discarded) but must not read past the mask */
        int64_t i = i0 + warp * ATT_ROWS + r;
        mbase[r] = b * p.m.b + h * p.m.h + (i < p.sq ? i : p.sq - 1) * p.m.s;
    }

    for (int64_t j0 = 0; j0 < p.skv; j0 += ATT_BK) {
        const int nk = p.skv - j0 < ATT_BK ? (int)(p.skv - j0) : ATT_BK;
        __syncthreads(); /* the previous tile is consumed (and Q is in place) */
        for (int e = threadIdx.x; e < nk * dh; e += blockDim.x) {
            int r = e / dh, d = e - r * dh;
            kt[r * ks + d] = ldf(kb[(j0 + r) * p.k.s + d]);
        }
        for (int e = threadIdx.x; e < nk * dv; e += blockDim.x) {
            int r = e / dv, d = e - r * dv;
            vt[r * dv + d] = ldf(vb[(j0 + r) * p.v.s + d]);
        }
        __syncthreads();

        /* scores of this lane's key for the warp's rows */
        float s[ATT_ROWS];
#pragma unroll
        for (int r = 0; r < ATT_ROWS; r++) s[r] = 0.0f;
        if (lane < nk) {
            const float *kr = kt + lane * ks, *qr = qs + warp * ATT_ROWS * dh;
            int d = 0;
            if ((dh & 3) == 0) /* Q rows 16-byte aligned: one broadcast load brings 4 features */
                for (; d < dh; d += 4) {
                    float k0 = kr[d], k1 = kr[d + 1], k2 = kr[d + 2], k3 = kr[d + 3];
#pragma unroll
                    for (int r = 0; r < ATT_ROWS; r++) {
                        float4 qv = *reinterpret_cast<const float4 *>(qr + r * dh + d);
                        s[r] = fmaf(qv.x, k0, fmaf(qv.y, k1, fmaf(qv.z, k2, fmaf(qv.w, k3, s[r]))));
                    }
                }
#pragma unroll 4
            for (; d < dh; d++) {
                float kv = kr[d];
#pragma unroll
                for (int r = 0; r < ATT_ROWS; r++) s[r] = fmaf(qr[r * dh + d], kv, s[r]);
            }
        }
        float pr[ATT_ROWS];
#pragma unroll
        for (int r = 0; r < ATT_ROWS; r++) {
            float sc = lane < nk ? s[r] + mask_bias<T>(p, mask, mbase[r], j0 + lane) : -INFINITY;
            float mnew = fmaxf(mx[r], warp_max(sc));
            float alpha = 1.0f, e = 0.0f;
            if (mnew != -INFINITY) { /* else every key so far is masked: nothing to rescale */
                alpha = expf(mx[r] - mnew); /* 0 when mx was -inf */
                e = expf(sc - mnew);        /* 0 for a masked key */
            }
            mx[r] = mnew;
            sum[r] = sum[r] * alpha + e;
#pragma unroll
            for (int c = 0; c < NC; c++) acc[r][c] *= alpha;
            pr[r] = e;
        }
        /* acc += P V: key jj's probability comes from lane jj */
        for (int jj = 0; jj < nk; jj++) {
            const float *vr = vt + jj * dv;
            float vv[NC];
#pragma unroll
            for (int c = 0; c < NC; c++) vv[c] = lane + 32 * c < dv ? vr[lane + 32 * c] : 0.0f;
#pragma unroll
            for (int r = 0; r < ATT_ROWS; r++) {
                float pj = __shfl_sync(0xffffffffu, pr[r], jj);
#pragma unroll
                for (int c = 0; c < NC; c++) acc[r][c] = fmaf(pj, vv[c], acc[r][c]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < ATT_ROWS; r++) {
        float l = warp_sum(sum[r]);
        int64_t i = i0 + warp * ATT_ROWS + r;
        if (i >= p.sq) continue;
        float inv = mx[r] == -INFINITY || !(l > 0.0f) ? 0.0f : 1.0f / l; /* fully masked: zeros */
        T *yr = y + b * p.y.b + h * p.y.h + i * p.y.s;
#pragma unroll
        for (int c = 0; c < NC; c++)
            if (lane + 32 * c < dv) stf(yr + lane + 32 * c, acc[r][c] * inv);
    }
}

template <typename T>
static int launch(const void *q, const void *k, const void *v, const void *mask, void *y, const ingk_attn_params *p,
                  cudaStream_t st)
{
    int64_t blocks = p->batch * p->hq * ((p->sq + ATT_BQ - 1) / ATT_BQ);
    if (blocks == 0) return 0;
    size_t smem = sizeof(float) * (size_t)(ATT_BQ * p->dh + ATT_BK * k_stride(p->dh) + ATT_BK * p->dv);
    const T *qq = (const T *)q, *kk = (const T *)k, *vv = (const T *)v;
    T *yy = (T *)y;
    switch ((p->dv + 31) / 32) {
    case 1: attn_kernel<T, 1><<<(unsigned)blocks, ATT_WARPS * 32, smem, st>>>(qq, kk, vv, mask, yy, *p); break;
    case 2: attn_kernel<T, 2><<<(unsigned)blocks, ATT_WARPS * 32, smem, st>>>(qq, kk, vv, mask, yy, *p); break;
    case 3: attn_kernel<T, 3><<<(unsigned)blocks, ATT_WARPS * 32, smem, st>>>(qq, kk, vv, mask, yy, *p); break;
    default: attn_kernel<T, 4><<<(unsigned)blocks, ATT_WARPS * 32, smem, st>>>(qq, kk, vv, mask, yy, *p); break;
    }
    return (int)cudaGetLastError();
}

extern "C" int ingk_attention(int dt, const void *q, const void *k, const void *v, const void *mask, void *y,
                              const ingk_attn_params *p, void *stream)
{
    if (p->dh < 1 || p->dh > INGK_ATTN_MAX_HEAD || p->dv < 1 || p->dv > INGK_ATTN_MAX_HEAD || p->hkv < 1 ||
        p->hq % p->hkv || p->batch * p->hq * ((p->sq + ATT_BQ - 1) / ATT_BQ) > 0x7fffffff)
        return (int)cudaErrorInvalidValue;
    cudaStream_t st = (cudaStream_t)stream;
    switch (dt) {
    case 1: return launch<float>(q, k, v, mask, y, p, st);
    case 10: return launch<__half>(q, k, v, mask, y, p, st);
    case 16: return launch<__nv_bfloat16>(q, k, v, mask, y, p, st);
    default: return (int)cudaErrorInvalidValue;
    }
}
