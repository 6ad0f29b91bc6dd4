/* Attention on the GPU: Y = softmax(scale · Q Kᵀ + mask) V, flash-attention style. Two kernels:
 * f16/bf16 with head sizes that are multiples of 16 run on tensor cores (attn_tc_kernel, below);
 * everything else (f32, other head sizes) on f32 FMAs (attn_kernel):
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
#include <mma.h>
#include <stdint.h>

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

/* ---- tensor cores (f16 / bf16, head sizes multiples of 16) ----------------------------------
 *
 * One block of TC_WARPS warps per (batch, query head, tile of TC_BQ query rows); each warp owns 16
 * rows and runs QKᵀ and PV as 16x16x16 WMMA products with f32 accumulators. Per key tile of
 * TC_BK: S = Q Kᵀ (f32) goes to the warp's shared scratch, two lanes per row apply scale and
 * mask and update the running maximum and sum, write P = exp(S - max) in the input type and
 * rescale the row's output, which lives in shared memory (f32) between tiles, so the row
 * statistics never need the opaque fragment layout; then O += P V. Key rows past the end of a
 * partial tile are zero-filled so the products read defined values (their P is 0). */
#define TC_WARPS 2
#define TC_BQ (16 * TC_WARPS)
#define TC_BK 32

/* Per-warp scratch in floats: S [16][TC_BK], O [16][dv], P [16][TC_BK] of 2-byte elements. */
__host__ __device__ __forceinline__ int64_t tc_warp_floats(int64_t dv) { return 16 * TC_BK + 16 * dv + 8 * TC_BK; }

template <typename T>
__global__ void __launch_bounds__(TC_WARPS * 32)
    attn_tc_kernel(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v,
                   const void *__restrict__ mask, T *__restrict__ y, ingk_attn_params p)
{
    namespace wm = nvcuda::wmma;
    extern __shared__ __align__(128) unsigned char tc_smem[];
    const int dh = (int)p.dh, dv = (int)p.dv;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    /* every region starts on a 32-byte boundary, as WMMA loads and stores require: dh and dv
     * are multiples of 16 */
    T *qs = (T *)tc_smem;          /* [TC_BQ][dh] */
    T *ks = qs + TC_BQ * dh;       /* [TC_BK][dh] */
    T *vs = ks + TC_BK * dh;       /* [TC_BK][dv] */
    float *S = (float *)(vs + TC_BK * dv) + warp * tc_warp_floats(dv);
    float *O = S + 16 * TC_BK;     /* [16][dv] */
    T *P = (T *)(O + 16 * dv);     /* [16][TC_BK] */
    const int64_t ntile = (p.sq + TC_BQ - 1) / TC_BQ;
    const int64_t tile = blockIdx.x % ntile, bh = blockIdx.x / ntile;
    const int64_t b = bh / p.hq, h = bh % p.hq, hk = h / (p.hq / p.hkv);
    const int64_t i0 = tile * TC_BQ;

    for (int e = threadIdx.x; e < TC_BQ * dh; e += blockDim.x) {
        int r = e / dh, d = e - r * dh;
        int64_t i = i0 + r;
        if (i < p.sq) qs[e] = q[b * p.q.b + h * p.q.h + i * p.q.s + d];
        else stf(qs + e, 0.0f);
    }
    for (int e = lane; e < 16 * dv; e += 32) O[e] = 0.0f;
    const T *kb = k + b * p.k.b + hk * p.k.h;
    const T *vb = v + b * p.v.b + hk * p.v.h;
    const int row = lane >> 1, half = lane & 1; /* two lanes per row: keys / features split */
    const int64_t irow = i0 + warp * 16 + row;
    const int64_t mb = b * p.m.b + h * p.m.h + (irow < p.sq ? irow : p.sq - 1) * p.m.s;
    float mx = -INFINITY, sum = 0.0f;

    for (int64_t j0 = 0; j0 < p.skv; j0 += TC_BK) {
        const int nk = p.skv - j0 < TC_BK ? (int)(p.skv - j0) : TC_BK;
        __syncthreads(); /* the previous tile is consumed (and Q is in place) */
        for (int e = threadIdx.x; e < TC_BK * dh; e += blockDim.x) {
            int r = e / dh, d = e - r * dh;
            if (r < nk) ks[e] = kb[(j0 + r) * p.k.s + d];
            else stf(ks + e, 0.0f);
        }
        for (int e = threadIdx.x; e < TC_BK * dv; e += blockDim.x) {
            int r = e / dv, d = e - r * dv;
            if (r < nk) vs[e] = vb[(j0 + r) * p.v.s + d];
            else stf(vs + e, 0.0f);
        }
        __syncthreads();

        /* S = Q Kᵀ: K rows [key][d] are Kᵀ in column-major order */
        for (int n = 0; n < TC_BK / 16; n++) {
            wm::fragment<wm::accumulator, 16, 16, 16, float> sf;
            wm::fill_fragment(sf, 0.0f);
            for (int kk = 0; kk < dh / 16; kk++) {
                wm::fragment<wm::matrix_a, 16, 16, 16, T, wm::row_major> af;
                wm::fragment<wm::matrix_b, 16, 16, 16, T, wm::col_major> bf;
                wm::load_matrix_sync(af, qs + warp * 16 * dh + kk * 16, dh);
                wm::load_matrix_sync(bf, ks + n * 16 * dh + kk * 16, dh);
                wm::mma_sync(sf, af, bf, sf);
            }
            wm::store_matrix_sync(S + n * 16, sf, TC_BK, wm::mem_row_major);
        }
        __syncwarp();

        /* online softmax of this row's keys half*16 .. half*16+15 */
        float sv[16], tmax = -INFINITY;
#pragma unroll
        for (int c = 0; c < 16; c++) {
            int j = half * 16 + c;
            sv[c] = j < nk ? S[row * TC_BK + j] * p.scale + mask_bias<T>(p, mask, mb, j0 + j) : -INFINITY;
            tmax = fmaxf(tmax, sv[c]);
        }
        tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
        const float mnew = fmaxf(mx, tmax);
        const float alpha = mnew == -INFINITY ? 1.0f : expf(mx - mnew); /* 0 when mx was -inf */
        float tsum = 0.0f;
#pragma unroll
        for (int c = 0; c < 16; c++) {
            float e = mnew == -INFINITY ? 0.0f : expf(sv[c] - mnew); /* 0 for a masked key */
            stf(P + row * TC_BK + half * 16 + c, e);
            tsum += e;
        }
        tsum += __shfl_xor_sync(0xffffffffu, tsum, 1);
        sum = sum * alpha + tsum;
        mx = mnew;
        for (int c = half; c < dv; c += 2) O[row * dv + c] *= alpha;
        __syncwarp();

        /* O += P V */
        for (int n = 0; n < dv / 16; n++) {
            wm::fragment<wm::accumulator, 16, 16, 16, float> of;
            wm::load_matrix_sync(of, O + n * 16, dv, wm::mem_row_major);
            for (int kk = 0; kk < TC_BK / 16; kk++) {
                wm::fragment<wm::matrix_a, 16, 16, 16, T, wm::row_major> af;
                wm::fragment<wm::matrix_b, 16, 16, 16, T, wm::row_major> bf;
                wm::load_matrix_sync(af, P + kk * 16, TC_BK);
                wm::load_matrix_sync(bf, vs + kk * 16 * dv + n * 16, dv);
                wm::mma_sync(of, af, bf, of);
            }
            wm::store_matrix_sync(O + n * 16, of, dv, wm::mem_row_major);
        }
        __syncwarp();
    }

    if (irow < p.sq) {
        float inv = mx == -INFINITY || !(sum > 0.0f) ? 0.0f : 1.0f / sum; /* fully masked: zeros */
        T *yr = y + b * p.y.b + h * p.y.h + irow * p.y.s;
        for (int c = half; c < dv; c += 2) stf(yr + c, O[row * dv + c] * inv);
    }
}

/* The tensor-core kernel takes 2-byte types with head sizes that are multiples of 16. */
static int tc_fits(int dt, const ingk_attn_params *p)
{
    return (dt == 10 || dt == 16) && p->dh % 16 == 0 && p->dv % 16 == 0;
}

template <typename T>
static int launch_tc(const void *q, const void *k, const void *v, const void *mask, void *y,
                     const ingk_attn_params *p, cudaStream_t st)
{
    int64_t blocks = p->batch * p->hq * ((p->sq + TC_BQ - 1) / TC_BQ);
    if (blocks == 0) return 0;
    size_t smem = 2 * (size_t)(TC_BQ * p->dh + TC_BK * p->dh + TC_BK * p->dv) +
                  sizeof(float) * (size_t)(TC_WARPS * tc_warp_floats(p->dv));
    attn_tc_kernel<T><<<(unsigned)blocks, TC_WARPS * 32, smem, st>>>((const T *)q, (const T *)k, (const T *)v, mask,
                                                                     (T *)y, *p);
    return (int)cudaGetLastError();
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

/* ---- tensor cores, whole head in shared memory (the common case) ----------------------------
 *
 * When K and V of one head fit in shared memory (BERT's 128 keys of 64 features: 98,816 bytes a
 * block, two blocks an H100 SM), nothing needs an online softmax: one block of FA_WARPS warps per
 * (batch, query head, tile of FA_BQ query rows) copies its Q rows and the head's whole K and V
 * into shared memory at once with 16-byte asynchronous copies (cp.async: every copy of a thread
 * in flight together, keys past Skv zero-filled up to a multiple of 16), then each warp, on its
 * own 16 rows: S = Q Kᵀ (WMMA, f32) into its scratch; per row (two lanes a row, 4 keys a step)
 * scale + mask, max, exp, sum, P in the input type; O = P V accumulated in fragments over all
 * keys and stored once; normalized rows written with 16-byte stores. Rows padded by 8 elements
 * so consecutive rows start 4 (2-byte) or 8 (f32) banks apart (WMMA's ldm must stay a multiple
 * of 8 halves / 4 floats). Needs 16-byte aligned pointers and strides (fa_fits). 4 warps: the
 * head's K and V are copied once per 64 query rows (BERT b128: 2 copies a head, 3072 blocks)
 * while b1 still has 24 blocks whose copies all overlap. DH: the head size (Q, K, V), a multiple
 * of 16. */
#define FA_WARPS 4
#define FA_BQ (16 * FA_WARPS)

/* Set to 0 by tests to time and check the general kernels on inputs the fast one would take, to
 * 2 to run the two-pass whole-head kernel wherever a whole-head kernel fits. */
static int fa_enabled = 1;

extern "C" void ingk_attention_set_fast(int on) { fa_enabled = on; }

/* Launches of the fast kernel so far, so tests can tell which kernel ran a case. */
static long long fa_launches;

extern "C" long long ingk_attention_fast_launches(void) { return __atomic_load_n(&fa_launches, __ATOMIC_RELAXED); }

/* Shared memory of the fast kernel in bytes: Q [FA_BQ][DH+8], K and V [Skv16][DH+8] (2-byte),
 * the mask row [Skv16] (f32), per warp S/O [16][max(Skv16, DH)+8] (f32) and P [16][Skv16+8]. */
__host__ __device__ __forceinline__ int64_t fa_smem(int64_t dh, int64_t skv16)
{
    int64_t w = skv16 > dh ? skv16 : dh;
    return 2 * (FA_BQ + 2 * skv16) * (dh + 8) + 4 * skv16 + FA_WARPS * (64 * (w + 8) + 32 * (skv16 + 8));
}

/* 16-byte copy global -> shared, zero-filled when !ok (the source is then not read). */
__device__ __forceinline__ void fa_cp16(void *dst, const void *src, bool ok)
{
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(ok ? 16 : 0));
}

/* 4 values as 4 elements of T at p (8-byte aligned), one store. */
template <typename T>
__device__ __forceinline__ void st4(T *p, float4 v)
{
    uint2 u;
    T *t = reinterpret_cast<T *>(&u);
    stf(t, v.x);
    stf(t + 1, v.y);
    stf(t + 2, v.z);
    stf(t + 3, v.w);
    *reinterpret_cast<uint2 *>(p) = u;
}

/* Which (batch, head, query tile) a whole-head block computes, where its mask rows start, and
 * whether every query row shares one mask row (no mask, or BERT's [B,1,1,T]). */
struct fa_block {
    int64_t b, h, i0, mb0;
    bool shared_row;
};

/* Both whole-head kernels' start: the block's Q rows and its head's K and V (rows past Sq or
 * Skv zero-filled up to a multiple of 16) copied into shared memory at row stride DH + 8 with
 * 16-byte cp.async copies, one flat index over all chunks so a thread's copies are all issued
 * before any completes; the shared mask row's bias into mrow [Skv16] meanwhile; then a block
 * barrier. */
template <typename T, int DH>
__device__ __forceinline__ fa_block fa_load(const T *q, const T *k, const T *v, const void *mask,
                                            const ingk_attn_params &p, T *qs, T *ks, T *vs, float *mrow)
{
    constexpr int LD = DH + 8, CH = DH / 8;
    const int skv = (int)p.skv, skv16 = (skv + 15) & ~15;
    const int64_t ntile = (p.sq + FA_BQ - 1) / FA_BQ;
    const int64_t tile = blockIdx.x % ntile, bh = blockIdx.x / ntile;
    fa_block r;
    r.b = bh / p.hq, r.h = bh % p.hq, r.i0 = tile * FA_BQ;
    const int64_t hk = r.h / (p.hq / p.hkv), i0 = r.i0;
    const T *qb = q + r.b * p.q.b + r.h * p.q.h;
    const T *kb = k + r.b * p.k.b + hk * p.k.h;
    const T *vb = v + r.b * p.v.b + hk * p.v.h;
    const int nq = FA_BQ * CH, nkv = skv16 * CH;
    for (int e = threadIdx.x; e < nq + 2 * nkv; e += FA_WARPS * 32) {
        if (e < nq) {
            int rr = e / CH, c = e - rr * CH;
            bool ok = i0 + rr < p.sq;
            fa_cp16(qs + rr * LD + c * 8, ok ? qb + (i0 + rr) * p.q.s + c * 8 : qb, ok);
        } else if (e < nq + nkv) {
            int f = e - nq, rr = f / CH, c = f - rr * CH;
            fa_cp16(ks + rr * LD + c * 8, rr < skv ? kb + rr * p.k.s + c * 8 : kb, rr < skv);
        } else {
            int f = e - nq - nkv, rr = f / CH, c = f - rr * CH;
            fa_cp16(vs + rr * LD + c * 8, rr < skv ? vb + rr * p.v.s + c * 8 : vb, rr < skv);
        }
    }
    asm volatile("cp.async.commit_group;\n" ::);
    r.shared_row = p.mask_kind == INGK_ATTN_MASK_NONE || p.m.s == 0;
    r.mb0 = r.b * p.m.b + r.h * p.m.h;
    if (r.shared_row)
        for (int j = threadIdx.x; j < skv16; j += FA_WARPS * 32)
            mrow[j] = j < skv ? mask_bias<T>(p, mask, r.mb0, j) : -INFINITY;
    asm volatile("cp.async.wait_all;\n" ::);
    __syncthreads();
    return r;
}

/* The warp's 16 Q rows as WMMA A fragments, one per 16 features. */
template <typename T, int DH>
__device__ __forceinline__ void fa_q_frags(nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, T,
                                                                  nvcuda::wmma::row_major> (&qf)[DH / 16],
                                           const T *qs, int warp)
{
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) nvcuda::wmma::load_matrix_sync(qf[kk], qs + warp * 16 * (DH + 8) + kk * 16, DH + 8);
}

/* S = Q Kᵀ for key tile n (keys 16n .. 16n+15) in f32: K rows [key][d] are Kᵀ in column-major
 * order. */
template <typename T, int DH>
__device__ __forceinline__ void fa_qk_tile(nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> &sf,
                                           const nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, T,
                                                                        nvcuda::wmma::row_major> (&qf)[DH / 16],
                                           const T *ks, int n)
{
    namespace wm = nvcuda::wmma;
    wm::fill_fragment(sf, 0.0f);
#pragma unroll
    for (int kk = 0; kk < DH / 16; kk++) {
        wm::fragment<wm::matrix_b, 16, 16, 16, T, wm::col_major> bf;
        wm::load_matrix_sync(bf, ks + n * 16 * (DH + 8) + kk * 16, DH + 8);
        wm::mma_sync(sf, qf[kk], bf, sf);
    }
}

template <typename T, int DH>
__global__ void __launch_bounds__(FA_WARPS * 32)
    attn_fa_kernel(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v,
                   const void *__restrict__ mask, T *__restrict__ y, ingk_attn_params p)
{
    namespace wm = nvcuda::wmma;
    constexpr int LD = DH + 8, CH = DH / 8; /* shared row stride (elements); 16-byte chunks a row */
    extern __shared__ __align__(128) unsigned char fa_smem_raw[];
    const int skv = (int)p.skv, skv16 = (skv + 15) & ~15, sld = skv16 + 8;
    const int sw = (skv16 > DH ? skv16 : DH) + 8; /* per-warp S/O scratch row capacity */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    T *qs = (T *)fa_smem_raw;        /* [FA_BQ][LD] */
    T *ks = qs + FA_BQ * LD;         /* [skv16][LD] */
    T *vs = ks + skv16 * LD;         /* [skv16][LD] */
    float *mrow = (float *)(vs + skv16 * LD); /* [skv16]: the bias when every row shares it */
    float *S = mrow + skv16 + warp * 16 * sw; /* [16][sld], later O [16][LD] */
    T *P = (T *)(mrow + skv16 + FA_WARPS * 16 * sw) + warp * 16 * sld; /* [16][sld] */
    const fa_block blk = fa_load<T, DH>(q, k, v, mask, p, qs, ks, vs, mrow);
    const int64_t b = blk.b, h = blk.h, i0 = blk.i0, mb0 = blk.mb0;
    const bool shared_row = blk.shared_row;
    if (i0 + warp * 16 >= p.sq) return; /* every row of this warp is past Sq; no more block syncs */

    /* S = Q Kᵀ, every key tile */
    {
        wm::fragment<wm::matrix_a, 16, 16, 16, T, wm::row_major> af[DH / 16];
        fa_q_frags<T, DH>(af, qs, warp);
        for (int n = 0; n < skv16 / 16; n++) {
            wm::fragment<wm::accumulator, 16, 16, 16, float> sf;
            fa_qk_tile<T, DH>(sf, af, ks, n);
            wm::store_matrix_sync(S + n * 16, sf, sld, wm::mem_row_major);
        }
    }
    __syncwarp();

    /* softmax of row `row`: this lane takes keys 8c + 4 half .. +3; scores scaled, biased and
     * brought to base 2 in place, then P = 2^(s - max) */
    const int row = lane >> 1, half = lane & 1;
    const int64_t irow = i0 + warp * 16 + row;
    const int64_t mb = mb0 + (irow < p.sq ? irow : p.sq - 1) * p.m.s;
    const float sl2 = p.scale * 1.44269504088896341f;
    float *sr = S + row * sld;
    float mx = -INFINITY;
#pragma unroll 4
    for (int j = 4 * half; j < skv16; j += 8) {
        float4 s4 = *reinterpret_cast<float4 *>(sr + j);
        float t[4] = {s4.x, s4.y, s4.z, s4.w};
#pragma unroll
        for (int u = 0; u < 4; u++) {
            float bias = shared_row ? mrow[j + u] : j + u < skv ? mask_bias<T>(p, mask, mb, j + u) : -INFINITY;
            t[u] = fmaf(t[u], sl2, bias * 1.44269504088896341f);
            mx = fmaxf(mx, t[u]);
        }
        *reinterpret_cast<float4 *>(sr + j) = make_float4(t[0], t[1], t[2], t[3]);
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    float sum = 0.0f;
    T *pr = P + row * sld;
#pragma unroll 4
    for (int j = 4 * half; j < skv16; j += 8) {
        float4 e = *reinterpret_cast<float4 *>(sr + j);
        if (mx == -INFINITY) e = make_float4(0.0f, 0.0f, 0.0f, 0.0f); /* every key masked */
        else e = make_float4(exp2f(e.x - mx), exp2f(e.y - mx), exp2f(e.z - mx), exp2f(e.w - mx)); /* masked: 0 */
        sum += (e.x + e.y) + (e.z + e.w);
        st4(pr + j, e);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    const float inv = mx == -INFINITY || !(sum > 0.0f) ? 0.0f : 1.0f / sum; /* fully masked: zeros */
    __syncwarp();

    /* O = P V, accumulated in fragments over every key, stored once over S (no longer read) */
    {
        wm::fragment<wm::accumulator, 16, 16, 16, float> of[DH / 16];
#pragma unroll
        for (int n = 0; n < DH / 16; n++) wm::fill_fragment(of[n], 0.0f);
        for (int kk = 0; kk < skv16 / 16; kk++) {
            wm::fragment<wm::matrix_a, 16, 16, 16, T, wm::row_major> af;
            wm::load_matrix_sync(af, P + kk * 16, sld);
#pragma unroll
            for (int n = 0; n < DH / 16; n++) {
                wm::fragment<wm::matrix_b, 16, 16, 16, T, wm::row_major> bf;
                wm::load_matrix_sync(bf, vs + kk * 16 * LD + n * 16, LD);
                wm::mma_sync(of[n], af, bf, of[n]);
            }
        }
#pragma unroll
        for (int n = 0; n < DH / 16; n++) wm::store_matrix_sync(S + n * 16, of[n], LD, wm::mem_row_major);
    }
    __syncwarp();

    /* Y rows: 8 features a lane, one 16-byte store; row r's 1/sum lives in lane 2r */
    T *yb = y + b * p.y.b + h * p.y.h;
#pragma unroll
    for (int e = lane; e < 16 * CH; e += 32) {
        int r = e / CH, c = e - r * CH;
        float ir = __shfl_sync(0xffffffffu, inv, 2 * r);
        int64_t i = i0 + warp * 16 + r;
        if (i >= p.sq) continue;
        const float *o = S + r * LD + c * 8;
        uint4 pk;
        T *pt = reinterpret_cast<T *>(&pk);
#pragma unroll
        for (int u = 0; u < 8; u++) stf(pt + u, o[u] * ir);
        *reinterpret_cast<uint4 *>(yb + i * p.y.s + c * 8) = pk;
    }
}

/* ---- tensor cores, whole head in shared memory, two passes over the keys ----------------------
 *
 * For heads whose keys make the kernel above hold one block per SM (its per-warp S and P rows
 * grow with Skv: ViT-B/16's 197 keys of 64 features need 153 KB, so 4 warps an SM), the same
 * block shape with scratch of one 16-key tile per warp: Q, K and V copied as above; pass 1 runs
 * over the key tiles computing S = Q Kᵀ (WMMA, f32) into the warp's [16][16] scratch, and per row
 * (two lanes a row, 8 keys each) the running maximum and the sum of exp rescaled to it; pass 2
 * computes each tile's S again (the same products, the same values), P = 2^(s - max) in the
 * input type into a [16][16] tile, and O += P V in fragments over all keys. O is scaled by 1/sum
 * and written 16 features at a time through the S scratch. ViT's head: 78 KB, two blocks an SM.
 * QKᵀ costs twice; the softmax never waits for a whole row. */
#define FB_SLD 20 /* f32 scratch row stride: a multiple of 4 (WMMA), rows 4 banks apart */
#define FB_PLD 24 /* P tile row stride (2-byte): a multiple of 8 (WMMA), 16-byte aligned rows */

__host__ __device__ __forceinline__ int64_t fb_smem(int64_t dh, int64_t skv16)
{
    return 2 * (FA_BQ + 2 * skv16) * (dh + 8) + 4 * skv16 + FA_WARPS * (16 * FB_SLD * 4 + 16 * FB_PLD * 2);
}

/* Launches of the two-pass kernel so far (tests). */
static long long fb_launches;

extern "C" long long ingk_attention_two_pass_launches(void)
{
    return __atomic_load_n(&fb_launches, __ATOMIC_RELAXED);
}

template <typename T, int DH>
__global__ void __launch_bounds__(FA_WARPS * 32)
    attn_fb_kernel(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v,
                   const void *__restrict__ mask, T *__restrict__ y, ingk_attn_params p)
{
    namespace wm = nvcuda::wmma;
    constexpr int LD = DH + 8;
    extern __shared__ __align__(128) unsigned char fb_smem_raw[];
    const int skv = (int)p.skv, skv16 = (skv + 15) & ~15;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    T *qs = (T *)fb_smem_raw;                 /* [FA_BQ][LD] */
    T *ks = qs + FA_BQ * LD;                  /* [skv16][LD] */
    T *vs = ks + skv16 * LD;                  /* [skv16][LD] */
    float *mrow = (float *)(vs + skv16 * LD); /* [skv16] */
    float *S = mrow + skv16 + warp * 16 * FB_SLD;                         /* [16][FB_SLD] */
    T *P = (T *)(mrow + skv16 + FA_WARPS * 16 * FB_SLD) + warp * 16 * FB_PLD; /* [16][FB_PLD] */
    const fa_block blk = fa_load<T, DH>(q, k, v, mask, p, qs, ks, vs, mrow);
    const int64_t b = blk.b, h = blk.h, i0 = blk.i0, mb0 = blk.mb0;
    const bool shared_row = blk.shared_row;
    if (i0 + warp * 16 >= p.sq) return; /* no more block syncs below */

    wm::fragment<wm::matrix_a, 16, 16, 16, T, wm::row_major> qf[DH / 16];
    fa_q_frags<T, DH>(qf, qs, warp);
    const int row = lane >> 1, half = lane & 1;
    const int64_t irow = i0 + warp * 16 + row;
    const int64_t mb = mb0 + (irow < p.sq ? irow : p.sq - 1) * p.m.s;
    const float sl2 = p.scale * 1.44269504088896341f;

    /* this lane's 8 scores of key tile n, scaled, biased, in base 2 (-inf past Skv or masked) */
    auto tile_scores = [&](int n, float t[8]) {
        wm::fragment<wm::accumulator, 16, 16, 16, float> sf;
        fa_qk_tile<T, DH>(sf, qf, ks, n);
        wm::store_matrix_sync(S, sf, FB_SLD, wm::mem_row_major);
        __syncwarp();
        const float *sr = S + row * FB_SLD + half * 8;
        float4 a = *reinterpret_cast<const float4 *>(sr), c = *reinterpret_cast<const float4 *>(sr + 4);
        float raw[8] = {a.x, a.y, a.z, a.w, c.x, c.y, c.z, c.w};
#pragma unroll
        for (int u = 0; u < 8; u++) {
            int j = n * 16 + half * 8 + u;
            float bias = shared_row ? mrow[j] : j < skv ? mask_bias<T>(p, mask, mb, j) : -INFINITY;
            t[u] = fmaf(raw[u], sl2, bias * 1.44269504088896341f);
        }
        __syncwarp(); /* S is read: the next tile may overwrite it */
    };

    /* pass 1: the row maximum and the sum of 2^(s - max), rescaled as the maximum grows */
    float mx = -INFINITY, sum = 0.0f;
    for (int n = 0; n < skv16 / 16; n++) {
        float t[8];
        tile_scores(n, t);
        float tm = t[0];
#pragma unroll
        for (int u = 1; u < 8; u++) tm = fmaxf(tm, t[u]);
        tm = fmaxf(tm, __shfl_xor_sync(0xffffffffu, tm, 1));
        const float mnew = fmaxf(mx, tm);
        float ts = 0.0f;
        if (mnew != -INFINITY) {
#pragma unroll
            for (int u = 0; u < 8; u++) ts += exp2f(t[u] - mnew); /* 0 for a masked key */
        }
        ts += __shfl_xor_sync(0xffffffffu, ts, 1);
        sum = (mx == -INFINITY ? 0.0f : sum * exp2f(mx - mnew)) + ts;
        mx = mnew;
    }
    const float inv = mx == -INFINITY || !(sum > 0.0f) ? 0.0f : 1.0f / sum; /* fully masked: zeros */

    /* pass 2: P = 2^(s - max) per tile, O += P V */
    wm::fragment<wm::accumulator, 16, 16, 16, float> of[DH / 16];
#pragma unroll
    for (int n = 0; n < DH / 16; n++) wm::fill_fragment(of[n], 0.0f);
    for (int n = 0; n < skv16 / 16; n++) {
        float t[8];
        tile_scores(n, t);
        uint4 pk;
        T *pt = reinterpret_cast<T *>(&pk);
#pragma unroll
        for (int u = 0; u < 8; u++) stf(pt + u, mx == -INFINITY ? 0.0f : exp2f(t[u] - mx));
        *reinterpret_cast<uint4 *>(P + row * FB_PLD + half * 8) = pk;
        __syncwarp();
        wm::fragment<wm::matrix_a, 16, 16, 16, T, wm::row_major> pf;
        wm::load_matrix_sync(pf, P, FB_PLD);
#pragma unroll
        for (int c = 0; c < DH / 16; c++) {
            wm::fragment<wm::matrix_b, 16, 16, 16, T, wm::row_major> vf;
            wm::load_matrix_sync(vf, vs + n * 16 * LD + c * 16, LD);
            wm::mma_sync(of[c], pf, vf, of[c]);
        }
        __syncwarp(); /* P is read: the next tile may overwrite it */
    }

    /* Y: 16 features at a time through the scratch; this lane writes 8 of its row's */
    T *yb = y + b * p.y.b + h * p.y.h;
#pragma unroll
    for (int c = 0; c < DH / 16; c++) {
        wm::store_matrix_sync(S, of[c], FB_SLD, wm::mem_row_major);
        __syncwarp();
        if (irow < p.sq) {
            const float *o = S + row * FB_SLD + half * 8;
            uint4 pk;
            T *pt = reinterpret_cast<T *>(&pk);
#pragma unroll
            for (int u = 0; u < 8; u++) stf(pt + u, o[u] * inv);
            *reinterpret_cast<uint4 *>(yb + irow * p.y.s + c * 16 + half * 8) = pk;
        }
        __syncwarp();
    }
}

/* Per device (the first FA_DEVS): the opt-in shared memory limit, and the dynamic shared memory
 * each fast kernel (type x head size) was allowed so far, so the driver is asked once, not at
 * every launch (host time that a b1 BERT layer cannot spare). 0: not asked yet. Racing threads
 * at worst ask twice and store the same values. */
#define FA_DEVS 16
static int fa_optin[FA_DEVS], fa_per_sm[FA_DEVS], fa_sms[FA_DEVS];
static int fa_allowed[2][2][8][FA_DEVS]; /* [two-pass][bf16][DH / 16 - 1][device] */

/* The whole-head kernels' conditions: 2-byte types, one head size a multiple of 16 up to 128,
 * 16-byte aligned pointers and strides (8 elements), and shared memory within the device's
 * limit; *two_pass says which of the two kernels. */
static int fa_fits(int dt, const void *q, const void *k, const void *v, const void *y, const ingk_attn_params *p,
                   size_t *smem, int *dev, int *two_pass)
{
    if (!fa_enabled || (dt != 10 && dt != 16) || p->dh != p->dv || p->dh % 16 || p->dh > 128 || p->skv < 1) return 0;
    const ingk_attn_view *vw[4] = {&p->q, &p->k, &p->v, &p->y};
    for (int i = 0; i < 4; i++)
        if (vw[i]->b % 8 || vw[i]->h % 8 || vw[i]->s % 8) return 0;
    const void *ptr[4] = {q, k, v, y};
    for (int i = 0; i < 4; i++)
        if ((uintptr_t)ptr[i] % 16) return 0;
    int optin = 0;
    if (cudaGetDevice(dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    int per_sm = 0, sms = 0;
    if (*dev >= 0 && *dev < FA_DEVS) optin = fa_optin[*dev], per_sm = fa_per_sm[*dev], sms = fa_sms[*dev];
    if (!optin) {
        if (cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, *dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, *dev) != cudaSuccess ||
            cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, *dev) != cudaSuccess) {
            (void)cudaGetLastError();
            return 0;
        }
        if (*dev >= 0 && *dev < FA_DEVS) fa_optin[*dev] = optin, fa_per_sm[*dev] = per_sm, fa_sms[*dev] = sms;
    }
    /* the one-pass kernel while two of its blocks fit an SM (1 KB an SM is the system's per
     * block) or the grid has no more blocks than SMs (ViT-B/16 at batch 1: 48 blocks, where the
     * two-pass kernel's second QKᵀ only adds latency), else the two-pass one */
    const int64_t skv16 = (p->skv + 15) & ~(int64_t)15, one = fa_smem(p->dh, skv16), two = fb_smem(p->dh, skv16);
    const int64_t blocks = p->batch * p->hq * ((p->sq + FA_BQ - 1) / FA_BQ);
    if (fa_enabled != 2 && one <= optin && (2 * (one + 1024) <= per_sm || blocks <= sms)) {
        *smem = (size_t)one, *two_pass = 0;
        return 1;
    }
    if (two > optin) return 0;
    *smem = (size_t)two, *two_pass = 1;
    return 1;
}

template <typename T> struct dt_is_bf16 {
    static const int v = 0;
};
template <> struct dt_is_bf16<__nv_bfloat16> {
    static const int v = 1;
};

template <typename T, int DH, int TWO>
static int launch_fa_dh(const void *q, const void *k, const void *v, const void *mask, void *y,
                        const ingk_attn_params *p, size_t smem, int dev, cudaStream_t st)
{
    void (*kern)(const T *, const T *, const T *, const void *, T *, ingk_attn_params) =
        TWO ? attn_fb_kernel<T, DH> : attn_fa_kernel<T, DH>;
    /* above 48 KB a kernel must opt in; a host-side attribute, not a stream operation, so it is
     * also legal while a stream is being captured into a graph */
    int *allowed = dev >= 0 && dev < FA_DEVS ? &fa_allowed[TWO][dt_is_bf16<T>::v][DH / 16 - 1][dev] : NULL;
    if (smem > 48 * 1024 && (!allowed || (int)smem > *allowed)) {
        if (cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem) != cudaSuccess) {
            (void)cudaGetLastError();
            return -1; /* the caller runs the general kernel */
        }
        if (allowed) *allowed = (int)smem;
    }
    int64_t blocks = p->batch * p->hq * ((p->sq + FA_BQ - 1) / FA_BQ);
    kern<<<(unsigned)blocks, FA_WARPS * 32, smem, st>>>((const T *)q, (const T *)k, (const T *)v, mask, (T *)y, *p);
    int err = (int)cudaGetLastError();
    if (!err) __atomic_add_fetch(&fa_launches, 1, __ATOMIC_RELAXED); /* either whole-head kernel */
    if (!err && TWO) __atomic_add_fetch(&fb_launches, 1, __ATOMIC_RELAXED);
    return err;
}

template <typename T, int TWO>
static int launch_fa_k(const void *q, const void *k, const void *v, const void *mask, void *y,
                       const ingk_attn_params *p, size_t smem, int dev, cudaStream_t st)
{
    switch (p->dh) {
    case 16: return launch_fa_dh<T, 16, TWO>(q, k, v, mask, y, p, smem, dev, st);
    case 32: return launch_fa_dh<T, 32, TWO>(q, k, v, mask, y, p, smem, dev, st);
    case 48: return launch_fa_dh<T, 48, TWO>(q, k, v, mask, y, p, smem, dev, st);
    case 64: return launch_fa_dh<T, 64, TWO>(q, k, v, mask, y, p, smem, dev, st);
    case 80: return launch_fa_dh<T, 80, TWO>(q, k, v, mask, y, p, smem, dev, st);
    case 96: return launch_fa_dh<T, 96, TWO>(q, k, v, mask, y, p, smem, dev, st);
    case 112: return launch_fa_dh<T, 112, TWO>(q, k, v, mask, y, p, smem, dev, st);
    default: return launch_fa_dh<T, 128, TWO>(q, k, v, mask, y, p, smem, dev, st);
    }
}

template <typename T>
static int launch_fa(const void *q, const void *k, const void *v, const void *mask, void *y, const ingk_attn_params *p,
                     size_t smem, int dev, int two_pass, cudaStream_t st)
{
    return two_pass ? launch_fa_k<T, 1>(q, k, v, mask, y, p, smem, dev, st)
                    : launch_fa_k<T, 0>(q, k, v, mask, y, p, smem, dev, st);
}

extern "C" int ingk_attention(int dt, const void *q, const void *k, const void *v, const void *mask, void *y,
                              const ingk_attn_params *p, void *stream)
{
    if (p->dh < 1 || p->dh > INGK_ATTN_MAX_HEAD || p->dv < 1 || p->dv > INGK_ATTN_MAX_HEAD || p->hkv < 1 ||
        p->hq % p->hkv || p->batch * p->hq * ((p->sq + ATT_BQ - 1) / ATT_BQ) > 0x7fffffff)
        return (int)cudaErrorInvalidValue;
    cudaStream_t st = (cudaStream_t)stream;
    size_t smem = 0;
    int dev = 0, two_pass = 0;
    if (p->batch * p->hq * p->sq > 0 && fa_fits(dt, q, k, v, y, p, &smem, &dev, &two_pass)) {
        int err = dt == 10 ? launch_fa<__half>(q, k, v, mask, y, p, smem, dev, two_pass, st)
                           : launch_fa<__nv_bfloat16>(q, k, v, mask, y, p, smem, dev, two_pass, st);
        if (err >= 0) return err;
    }
    if (tc_fits(dt, p))
        return dt == 10 ? launch_tc<__half>(q, k, v, mask, y, p, st) : launch_tc<__nv_bfloat16>(q, k, v, mask, y, p, st);
    switch (dt) {
    case 1: return launch<float>(q, k, v, mask, y, p, st);
    case 10: return launch<__half>(q, k, v, mask, y, p, st);
    case 16: return launch<__nv_bfloat16>(q, k, v, mask, y, p, st);
    default: return (int)cudaErrorInvalidValue;
    }
}
