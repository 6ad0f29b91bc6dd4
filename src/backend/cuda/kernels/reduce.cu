/* CUDA kernels for the reduce family: Reduce* / GlobalAverage/MaxPool, Softmax / LogSoftmax,
 * ArgMax / ArgMin, CumSum, Layer/RMS/Group/Instance/BatchNormalization.
 *
 * Mapping: a reduction whose reduced elements end in a contiguous run gets one group of threads
 * per output (grid-stride over outputs): a warp when the row has at most WARP_ROW_MAX elements
 * (shuffles only), else a block of NT threads (shuffles, then a 32-slot shared array); threads
 * stride over the reduced elements. Long reductions that keep a contiguous inner run (NHWC global
 * pooling) get a block per 32 adjacent outputs, 32 lanes of threads per output striding over the
 * reduced elements. Other reductions get one thread per output (adjacent threads read adjacent
 * addresses when the kept dims are inner). Softmax and LayerNorm rows use
 * the same warp-or-block groups, GroupNorm a block per (n, group); strided softmax, ArgMax and CumSum one
 * thread per column; BatchNormalization one thread per element (grid-stride).
 * f16/bf16 are loaded into f32, accumulated in f32 and rounded on store. No alignment beyond the
 * element size is assumed, except by the LayerNorm/RMSNorm fast path (a warp per row held in
 * registers, 16-byte vector loads), which checks it and otherwise leaves the row to the general
 * kernel. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

#include "backend/cuda/kernels/reduce.h"

#define NT 256            /* threads per block */
#define MAX_BLOCKS 65535  /* grid cap; kernels loop grid-stride beyond it */

#define DT_F32 1
#define DT_I32 6
#define DT_I64 7
#define DT_F16 10
#define DT_BF16 16

static unsigned blocks_for(int64_t work, int64_t per_block)
{
    int64_t b = (work + per_block - 1) / per_block;
    if (b < 1) b = 1;
    if (b > MAX_BLOCKS) b = MAX_BLOCKS;
    return (unsigned)b;
}

__device__ __forceinline__ float ldf(int dt, const void *p, int64_t i)
{
    if (dt == DT_F16) return __half2float(((const __half *)p)[i]);
    if (dt == DT_BF16) return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
    return ((const float *)p)[i];
}

__device__ __forceinline__ void stf(int dt, void *p, int64_t i, float v)
{
    if (dt == DT_F16) ((__half *)p)[i] = __float2half_rn(v);
    else if (dt == DT_BF16) ((__nv_bfloat16 *)p)[i] = __float2bfloat16_rn(v);
    else ((float *)p)[i] = v;
}

/* ---- combining: the accumulation op of each Reduce* ---- */

enum { C_SUM, C_PROD, C_MAX, C_MIN };

__device__ __forceinline__ int comb_of(int op)
{
    switch (op) {
    case INGK_R_PROD: return C_PROD;
    case INGK_R_MAX: return C_MAX;
    case INGK_R_MIN: return C_MIN;
    default: return C_SUM;
    }
}

__device__ __forceinline__ float ident(int c)
{
    return c == C_PROD ? 1.0f : c == C_MAX ? -INFINITY : c == C_MIN ? INFINITY : 0.0f;
}

/* A NaN sticks in max/min (numpy's maximum): once acc is NaN nothing compares past it. */
__device__ __forceinline__ float comb(int c, float a, float b)
{
    switch (c) {
    case C_PROD: return a * b;
    case C_MAX: return (b > a || b != b) ? b : a;
    case C_MIN: return (b < a || b != b) ? b : a;
    default: return a + b;
    }
}

/* The contribution of one element (m: the max, for LogSumExp's second pass). */
__device__ __forceinline__ float elem(int op, float v, float m)
{
    switch (op) {
    case INGK_R_L1: return fabsf(v);
    case INGK_R_L2: case INGK_R_SUMSQ: return v * v;
    case INGK_R_LSE: return expf(v - m);
    default: return v;
    }
}

__device__ __forceinline__ float finish(int op, float acc, float m, int64_t nred)
{
    switch (op) {
    case INGK_R_MEAN: return acc / (float)nred;
    case INGK_R_L2: return sqrtf(acc);
    case INGK_R_LOGSUM: return logf(acc);
    case INGK_R_LSE: return (isinf(m) || m != m) ? m : m + logf(acc); /* all -inf, +inf, NaN */
    default: return acc;
    }
}

/* Combine v over the block; every thread gets the result. sh: 32 floats of shared memory.
 * Called by all threads of the block in uniform control flow. */
__device__ float block_comb(int c, float v, float *sh)
{
    for (int o = 16; o > 0; o >>= 1) v = comb(c, v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    __syncthreads(); /* the previous call's readers are done with sh */
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = sh[0];
    for (int i = 1; i < nw; i++) v = comb(c, v, sh[i]);
    return v;
}

/* Combine v over a group of g threads: g == 32 is one warp (shuffles only, no block barrier),
 * otherwise the whole block (block_comb). */
__device__ __forceinline__ float group_comb(int c, float v, float *sh, int g)
{
    if (g == 32) {
        for (int o = 16; o > 0; o >>= 1) v = comb(c, v, __shfl_xor_sync(0xffffffffu, v, o));
        return v;
    }
    return block_comb(c, v, sh);
}

/* Rows of at most this many elements get one warp each (NT / 32 rows per block) rather than a
 * whole block, which would leave most of its threads idle. */
#define WARP_ROW_MAX 1024

static int group_for(int64_t n) { return n <= WARP_ROW_MAX ? 32 : NT; }

__device__ __forceinline__ int64_t kept_base(const ingk_red_plan &p, int64_t o)
{
    int64_t off = 0;
    for (int k = p.nk - 1; k >= 0; k--) {
        off += (o % p.kdim[k]) * p.kstr[k];
        o /= p.kdim[k];
    }
    return off;
}

__device__ __forceinline__ int64_t red_off(const ingk_red_plan &p, int64_t r)
{
    if (p.nr == 1) return r * p.rstr[0];
    int64_t off = 0;
    for (int k = p.nr - 1; k >= 0; k--) {
        off += (r % p.rdim[k]) * p.rstr[k];
        r /= p.rdim[k];
    }
    return off;
}

/* One group of g threads (a warp or the block) per output. */
__global__ void k_reduce_block(int op, int dt, const void *x, void *y, ingk_red_plan p, int g)
{
    __shared__ float sh[32];
    int c = comb_of(op);
    int lane = threadIdx.x % g, rpb = blockDim.x / g;
    for (int64_t o = (int64_t)blockIdx.x * rpb + threadIdx.x / g; o < p.nout; o += (int64_t)gridDim.x * rpb) {
        int64_t base = kept_base(p, o);
        float m = 0.0f;
        if (op == INGK_R_LSE) {
            float a = -INFINITY;
            for (int64_t r = lane; r < p.nred; r += g) a = comb(C_MAX, a, ldf(dt, x, base + red_off(p, r)));
            m = group_comb(C_MAX, a, sh, g);
        }
        float acc = ident(c);
        for (int64_t r = lane; r < p.nred; r += g)
            acc = comb(c, acc, elem(op, ldf(dt, x, base + red_off(p, r)), m));
        acc = group_comb(c, acc, sh, g);
        if (lane == 0) stf(dt, y, o, finish(op, acc, m, p.nred));
    }
}

/* One thread per output; the reduced multi-index advances like an odometer. */
__device__ float thread_pass(int op, int c, int dt, const void *x, int64_t base,
                             const ingk_red_plan &p, float m)
{
    int64_t idx[ING_RED_MAX_RANK];
    for (int k = 0; k < p.nr; k++) idx[k] = 0;
    int64_t off = 0;
    float acc = ident(c);
    for (int64_t r = 0; r < p.nred; r++) {
        acc = comb(c, acc, elem(op, ldf(dt, x, base + off), m));
        for (int k = p.nr - 1; k >= 0; k--) {
            off += p.rstr[k];
            if (++idx[k] < p.rdim[k]) break;
            off -= p.rdim[k] * p.rstr[k];
            idx[k] = 0;
        }
    }
    return acc;
}

__global__ void k_reduce_thread(int op, int dt, const void *x, void *y, ingk_red_plan p)
{
    int c = comb_of(op);
    for (int64_t o = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; o < p.nout;
         o += (int64_t)gridDim.x * blockDim.x) {
        int64_t base = kept_base(p, o);
        float m = 0.0f;
        if (op == INGK_R_LSE) m = thread_pass(INGK_R_MAX, C_MAX, dt, x, base, p, 0.0f);
        float acc = thread_pass(op, c, dt, x, base, p, m);
        stf(dt, y, o, finish(op, acc, m, p.nred));
    }
}

/* Reductions that keep a contiguous inner run (NHWC global pooling: [N, H*W, C] reduced over
 * H*W): one block of 32 x COL_LANES threads per tile of 32 adjacent outputs, threadIdx.x the
 * output column (a warp reads 32 adjacent elements), threadIdx.y striding over the reduced
 * elements; the lanes' partials of a column are combined through shared memory. A thread per
 * output (k_reduce_thread) left long reductions to a few thousand threads. */
#define COL_LANES 32

/* Combine v over the COL_LANES threads of column threadIdx.x; each gets the result (in lane
 * order, so the result does not depend on timing). Uniform control flow across the block. */
__device__ __forceinline__ float col_comb(int c, float v, float (*sh)[33])
{
    __syncthreads(); /* the previous call's readers are done with sh */
    sh[threadIdx.y][threadIdx.x] = v;
    __syncthreads();
    v = sh[0][threadIdx.x];
    for (int i = 1; i < COL_LANES; i++) v = comb(c, v, sh[i][threadIdx.x]);
    return v;
}

__global__ void __launch_bounds__(32 * COL_LANES) k_reduce_cols(int op, int dt, const void *x, void *y,
                                                                ingk_red_plan p, int64_t inner)
{
    __shared__ float sh[COL_LANES][33];
    int c = comb_of(op);
    int64_t tiles_per_row = (inner + 31) / 32, tiles = (p.nout / inner) * tiles_per_row;
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        int64_t col = (t % tiles_per_row) * 32 + threadIdx.x, o = (t / tiles_per_row) * inner + col;
        int ok = col < inner;
        int64_t base = ok ? kept_base(p, o) : 0;
        float m = 0.0f;
        if (op == INGK_R_LSE) {
            float a = -INFINITY;
            if (ok)
                for (int64_t r = threadIdx.y; r < p.nred; r += COL_LANES) a = comb(C_MAX, a, ldf(dt, x, base + red_off(p, r)));
            m = col_comb(C_MAX, a, sh);
        }
        float acc = ident(c);
        if (ok) {
#pragma unroll 4
            for (int64_t r = threadIdx.y; r < p.nred; r += COL_LANES)
                acc = comb(c, acc, elem(op, ldf(dt, x, base + red_off(p, r)), m));
        }
        acc = col_comb(c, acc, sh);
        if (ok && threadIdx.y == 0) stf(dt, y, o, finish(op, acc, m, p.nred));
    }
}

extern "C" int ingk_reduce(int op, int dt, const void *x, void *y, const ingk_red_plan *p, void *stream)
{
    if (p->nout <= 0) return 0;
    cudaStream_t s = (cudaStream_t)stream;
    int inner_reduced = p->nr > 0 && p->rstr[p->nr - 1] == 1;
    int inner_kept = p->nk > 0 && p->kstr[p->nk - 1] == 1 && p->nr > 0;
    /* long reductions, or short ones with too few outputs to fill the GPU a thread each */
    if (!inner_reduced && inner_kept && (p->nred >= 4 * COL_LANES || (p->nred >= COL_LANES && p->nout < 65536))) {
        int64_t inner = p->kdim[p->nk - 1];
        k_reduce_cols<<<blocks_for((p->nout / inner) * ((inner + 31) / 32), 1), dim3(32, COL_LANES), 0, s>>>(
            op, dt, x, y, *p, inner);
    } else if ((inner_reduced && p->nred >= 64) || (p->nout < 128 && p->nred >= 1024)) {
        int g = group_for(p->nred);
        k_reduce_block<<<blocks_for(p->nout, NT / g), NT, 0, s>>>(op, dt, x, y, *p, g);
    }
    else
        k_reduce_thread<<<blocks_for(p->nout, NT), NT, 0, s>>>(op, dt, x, y, *p);
    return (int)cudaGetLastError();
}

/* ---- Softmax / LogSoftmax ---- */

/* inner == 1: one group of g threads (a warp or the block) per contiguous row of n. */
__global__ void k_softmax_rows(int dt, const void *x, void *y, int64_t rows, int64_t n, int is_log, int g)
{
    __shared__ float sh[32];
    int lane = threadIdx.x % g, rpb = blockDim.x / g;
    for (int64_t row = (int64_t)blockIdx.x * rpb + threadIdx.x / g; row < rows; row += (int64_t)gridDim.x * rpb) {
        int64_t base = row * n;
        float m = -INFINITY;
        for (int64_t k = lane; k < n; k += g) m = comb(C_MAX, m, ldf(dt, x, base + k));
        m = group_comb(C_MAX, m, sh, g);
        float sum = 0.0f;
        for (int64_t k = lane; k < n; k += g) sum += expf(ldf(dt, x, base + k) - m);
        sum = group_comb(C_SUM, sum, sh, g);
        if (is_log) {
            float lse = m + logf(sum);
            for (int64_t k = lane; k < n; k += g) stf(dt, y, base + k, ldf(dt, x, base + k) - lse);
        } else {
            float inv = 1.0f / sum;
            for (int64_t k = lane; k < n; k += g) stf(dt, y, base + k, expf(ldf(dt, x, base + k) - m) * inv);
        }
    }
}

/* inner > 1: one thread per (outer, inner) column at stride inner. */
__global__ void k_softmax_cols(int dt, const void *x, void *y, int64_t outer, int64_t n,
                               int64_t inner, int is_log)
{
    int64_t cols = outer * inner;
    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < cols;
         c += (int64_t)gridDim.x * blockDim.x) {
        int64_t base = (c / inner) * n * inner + c % inner;
        float m = -INFINITY;
        for (int64_t k = 0; k < n; k++) m = comb(C_MAX, m, ldf(dt, x, base + k * inner));
        float sum = 0.0f;
        for (int64_t k = 0; k < n; k++) sum += expf(ldf(dt, x, base + k * inner) - m);
        if (is_log) {
            float lse = m + logf(sum);
            for (int64_t k = 0; k < n; k++)
                stf(dt, y, base + k * inner, ldf(dt, x, base + k * inner) - lse);
        } else {
            float inv = 1.0f / sum;
            for (int64_t k = 0; k < n; k++)
                stf(dt, y, base + k * inner, expf(ldf(dt, x, base + k * inner) - m) * inv);
        }
    }
}

extern "C" int ingk_softmax(int dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                            int is_log, void *stream)
{
    if (outer * n * inner <= 0) return 0;
    cudaStream_t s = (cudaStream_t)stream;
    if (inner == 1) {
        int g = group_for(n);
        k_softmax_rows<<<blocks_for(outer, NT / g), NT, 0, s>>>(dt, x, y, outer, n, is_log, g);
    }
    else
        k_softmax_cols<<<blocks_for(outer * inner, NT), NT, 0, s>>>(dt, x, y, outer, n, inner, is_log);
    return (int)cudaGetLastError();
}

/* ---- ArgMax / ArgMin ---- */

/* Does candidate (v, i) beat (b, bi)? NaN wins (numpy returns the first NaN); equal values and
 * two NaNs go to the lower index, or the higher one with select_last_index. Order-free, so
 * partial results combine in any order. */
template <typename T>
__device__ __forceinline__ int arg_better(T v, int64_t i, T b, int64_t bi, int is_max, int last)
{
    int vn = v != v, bn = b != b;
    if (vn && bn) return last ? i > bi : i < bi;
    if (vn || bn) return vn;
    if (v == b) return last ? i > bi : i < bi;
    return is_max ? v > b : v < b;
}

__device__ __forceinline__ float ld_arg(const float *, int dt, const void *p, int64_t i) { return ldf(dt, p, i); }
__device__ __forceinline__ long long ld_arg(const long long *, int dt, const void *p, int64_t i)
{
    return dt == DT_I32 ? (long long)((const int32_t *)p)[i] : (long long)((const int64_t *)p)[i];
}

template <typename T>
__global__ void k_argm_cols(int dt, const void *x, int64_t *y, int64_t outer, int64_t n,
                            int64_t inner, int is_max, int last)
{
    int64_t cols = outer * inner;
    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < cols;
         c += (int64_t)gridDim.x * blockDim.x) {
        int64_t base = (c / inner) * n * inner + c % inner, bi = 0;
        T best = ld_arg((const T *)0, dt, x, base);
        for (int64_t k = 1; k < n; k++) {
            T v = ld_arg((const T *)0, dt, x, base + k * inner);
            if (arg_better(v, k, best, bi, is_max, last)) {
                best = v;
                bi = k;
            }
        }
        y[c] = bi;
    }
}

/* inner == 1 and long rows: one block per row, then a tree over the block's candidates. */
template <typename T>
__global__ void k_argm_rows(int dt, const void *x, int64_t *y, int64_t rows, int64_t n, int is_max,
                            int last)
{
    __shared__ T sv[NT];
    __shared__ int64_t si[NT];
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        int64_t base = row * n;
        int64_t bi = threadIdx.x < n ? (int64_t)threadIdx.x : 0;
        T best = ld_arg((const T *)0, dt, x, base + bi);
        for (int64_t k = threadIdx.x + blockDim.x; k < n; k += blockDim.x) {
            T v = ld_arg((const T *)0, dt, x, base + k);
            if (arg_better(v, k, best, bi, is_max, last)) {
                best = v;
                bi = k;
            }
        }
        __syncthreads(); /* the previous row's readers are done */
        sv[threadIdx.x] = best;
        si[threadIdx.x] = bi;
        __syncthreads();
        for (int w = blockDim.x / 2; w > 0; w >>= 1) {
            if ((int)threadIdx.x < w) {
                T v = sv[threadIdx.x + w];
                int64_t i = si[threadIdx.x + w];
                if (arg_better(v, i, sv[threadIdx.x], si[threadIdx.x], is_max, last)) {
                    sv[threadIdx.x] = v;
                    si[threadIdx.x] = i;
                }
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) y[row] = si[0];
    }
}

extern "C" int ingk_argm(int dt, const void *x, int64_t *y, int64_t outer, int64_t n, int64_t inner,
                         int is_max, int last, void *stream)
{
    if (outer * inner <= 0 || n <= 0) return 0;
    cudaStream_t s = (cudaStream_t)stream;
    int is_int = dt == DT_I32 || dt == DT_I64;
    if (inner == 1 && n >= 256) {
        if (is_int) k_argm_rows<long long><<<blocks_for(outer, 1), NT, 0, s>>>(dt, x, y, outer, n, is_max, last);
        else k_argm_rows<float><<<blocks_for(outer, 1), NT, 0, s>>>(dt, x, y, outer, n, is_max, last);
    } else {
        unsigned b = blocks_for(outer * inner, NT);
        if (is_int) k_argm_cols<long long><<<b, NT, 0, s>>>(dt, x, y, outer, n, inner, is_max, last);
        else k_argm_cols<float><<<b, NT, 0, s>>>(dt, x, y, outer, n, inner, is_max, last);
    }
    return (int)cudaGetLastError();
}

/* ---- CumSum: one thread per column, sequential along the axis ---- */

__global__ void k_cumsum(int dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                         int exclusive, int reverse)
{
    int64_t cols = outer * inner;
    int is_int = dt == DT_I32 || dt == DT_I64;
    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < cols;
         c += (int64_t)gridDim.x * blockDim.x) {
        int64_t base = (c / inner) * n * inner + c % inner;
        float accf = 0.0f;
        unsigned long long acci = 0; /* wraps like the stored integer type */
        for (int64_t kk = 0; kk < n; kk++) {
            int64_t j = base + (reverse ? n - 1 - kk : kk) * inner;
            if (is_int) {
                unsigned long long v = dt == DT_I32 ? (unsigned long long)(long long)((const int32_t *)x)[j]
                                                    : (unsigned long long)((const int64_t *)x)[j];
                unsigned long long o = exclusive ? acci : acci + v;
                acci += v;
                if (dt == DT_I32) ((int32_t *)y)[j] = (int32_t)(uint32_t)o;
                else ((int64_t *)y)[j] = (int64_t)o;
            } else {
                float v = ldf(dt, x, j);
                float o = exclusive ? accf : accf + v;
                accf += v;
                stf(dt, y, j, o);
            }
        }
    }
}

extern "C" int ingk_cumsum(int dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                           int exclusive, int reverse, void *stream)
{
    if (outer * n * inner <= 0) return 0;
    k_cumsum<<<blocks_for(outer * inner, NT), NT, 0, (cudaStream_t)stream>>>(dt, x, y, outer, n, inner,
                                                                            exclusive, reverse);
    return (int)cudaGetLastError();
}

/* ---- LayerNormalization / RMSNormalization: one block per row, two passes (mean, then the
 * centered variance) as the CPU reference ---- */

__global__ void k_layernorm(int dt, const void *x, void *y, int64_t m, int64_t d, int p_dt,
                            const void *sc, int64_t sc_n, const void *bi, int64_t bi_n, float eps,
                            int rms, int st_dt, void *mean_out, void *inv_out, int g)
{
    __shared__ float sh[32];
    int lane = threadIdx.x % g, rpb = blockDim.x / g;
    for (int64_t r = (int64_t)blockIdx.x * rpb + threadIdx.x / g; r < m; r += (int64_t)gridDim.x * rpb) {
        int64_t base = r * d;
        float mean = 0.0f;
        if (!rms) {
            float s = 0.0f;
            for (int64_t j = lane; j < d; j += g) s += ldf(dt, x, base + j);
            mean = group_comb(C_SUM, s, sh, g) / (float)d;
        }
        float v = 0.0f;
        for (int64_t j = lane; j < d; j += g) {
            float c = ldf(dt, x, base + j) - mean;
            v += c * c;
        }
        float var = group_comb(C_SUM, v, sh, g) / (float)d;
        float inv = 1.0f / sqrtf(var + eps);
        for (int64_t j = lane; j < d; j += g) {
            float o = (ldf(dt, x, base + j) - mean) * inv * ldf(p_dt, sc, sc_n == 1 ? 0 : j);
            if (bi) o += ldf(p_dt, bi, bi_n == 1 ? 0 : j);
            stf(dt, y, base + j, o);
        }
        if (lane == 0) {
            if (mean_out) stf(st_dt, mean_out, r, mean);
            if (inv_out) stf(st_dt, inv_out, r, inv);
        }
    }
}

extern "C" int ingk_layernorm_general(int dt, const void *x, void *y, int64_t m, int64_t d, int p_dt,
                                      const void *sc, int64_t sc_n, const void *bi, int64_t bi_n,
                                      float eps, int rms, int st_dt, void *mean, void *inv, void *stream)
{
    if (m <= 0 || d <= 0) return 0;
    int g = group_for(d);
    k_layernorm<<<blocks_for(m, NT / g), NT, 0, (cudaStream_t)stream>>>(dt, x, y, m, d, p_dt, sc, sc_n, bi,
                                                                      bi_n, eps, rms, st_dt, mean, inv, g);
    return (int)cudaGetLastError();
}

/* ---- LayerNorm / RMSNorm fast path: one warp per row, the row held in registers ----
 * The general kernel above reads each row three times through a per-element dtype switch; for
 * transformer rows (d up to LNW_MAX_D, 16-byte aligned, d a multiple of the vector width) a warp
 * loads its row once with 16-byte vector loads into f32 registers, takes the mean and then the
 * centered variance from those registers (shuffles only, same two-pass arithmetic as the CPU
 * reference), and writes the normalized row with vector stores. Lane l holds vectors l, l + 32,
 * ... (vector k of lane l starts at element (k * 32 + l) * W), so each load instruction of the warp
 * reads 512 contiguous bytes. */

#define LNW_WARPS 4      /* rows (warps) per block: small blocks spread 128-row batches over SMs */
#define LNW_MAX_D 4096   /* longest row kept in registers: 128 f32 per lane */

/* W consecutive elements (W a multiple of 4) from p into f32; p aligned to 4 elements' size. */
template <int W> __device__ __forceinline__ void ldv(const float *p, float *o)
{
#pragma unroll
    for (int i = 0; i < W; i += 4) {
        float4 q = *(const float4 *)(p + i);
        o[i] = q.x, o[i + 1] = q.y, o[i + 2] = q.z, o[i + 3] = q.w;
    }
}

__device__ __forceinline__ float2 h2f(unsigned u, const __half *) { return __half22float2(*(const __half2 *)&u); }
__device__ __forceinline__ float2 h2f(unsigned u, const __nv_bfloat16 *)
{
    return __bfloat1622float2(*(const __nv_bfloat162 *)&u);
}
__device__ __forceinline__ unsigned f2h(float a, float b, const __half *)
{
    __half2 h = __floats2half2_rn(a, b);
    return *(const unsigned *)&h;
}
__device__ __forceinline__ unsigned f2h(float a, float b, const __nv_bfloat16 *)
{
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *(const unsigned *)&h;
}

/* 2-byte types: 16-byte loads when W is a multiple of 8, else 8-byte (W == 4: an f32 row's
 * f16/bf16 scale). */
template <int W, typename H> __device__ __forceinline__ void ldv(const H *p, float *o)
{
    if constexpr (W % 8 == 0) {
#pragma unroll
        for (int i = 0; i < W; i += 8) {
            uint4 q = *(const uint4 *)(p + i);
            float2 a = h2f(q.x, p), b = h2f(q.y, p), c = h2f(q.z, p), e = h2f(q.w, p);
            o[i] = a.x, o[i + 1] = a.y, o[i + 2] = b.x, o[i + 3] = b.y;
            o[i + 4] = c.x, o[i + 5] = c.y, o[i + 6] = e.x, o[i + 7] = e.y;
        }
    } else {
#pragma unroll
        for (int i = 0; i < W; i += 4) {
            uint2 q = *(const uint2 *)(p + i);
            float2 a = h2f(q.x, p), b = h2f(q.y, p);
            o[i] = a.x, o[i + 1] = a.y, o[i + 2] = b.x, o[i + 3] = b.y;
        }
    }
}

/* W elements of a parameter of runtime dtype p_dt (warp-uniform branch, once per vector). */
template <int W> __device__ __forceinline__ void ldv_dt(int p_dt, const void *p, int64_t j, float *o)
{
    if (p_dt == DT_F16) ldv<W>((const __half *)p + j, o);
    else if (p_dt == DT_BF16) ldv<W>((const __nv_bfloat16 *)p + j, o);
    else ldv<W>((const float *)p + j, o);
}

__device__ __forceinline__ void stv(float *p, const float *v)
{
    *(float4 *)p = make_float4(v[0], v[1], v[2], v[3]);
}
template <typename H> __device__ __forceinline__ void stv(H *p, const float *v)
{
    *(uint4 *)p = make_uint4(f2h(v[0], v[1], p), f2h(v[2], v[3], p), f2h(v[4], v[5], p), f2h(v[6], v[7], p));
}

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* W elements of scale (and of bias, when there is one) from element j. */
template <int W>
__device__ __forceinline__ void ld_params(int p_dt, const void *sc, const void *bi, int64_t j, float *s, float *b)
{
    ldv_dt<W>(p_dt, sc, j, s);
    if (bi) ldv_dt<W>(p_dt, bi, j, b);
}

/* VPL: 16-byte vectors per lane (the row has at most 32 * VPL of them). PRE: scale and bias are
 * loaded alongside x, so their latency hides behind the reductions rather than following them;
 * that is what bounds a launch of few rows, while it costs registers (occupancy) that a launch of
 * many rows needs for bandwidth, so the launcher picks it by row count. */
template <typename T, int VPL, bool PRE>
__global__ void __launch_bounds__(LNW_WARPS * 32)
    k_layernorm_warp(const T *x, T *y, int64_t m, int d, int p_dt,
                     const void *__restrict__ sc, const void *__restrict__ bi, float eps, int rms,
                     int st_dt, void *mean_out, void *inv_out)
{
    constexpr int W = 16 / sizeof(T);
    int lane = threadIdx.x & 31, nv = d / W;
    for (int64_t r = (int64_t)blockIdx.x * LNW_WARPS + (threadIdx.x >> 5); r < m;
         r += (int64_t)gridDim.x * LNW_WARPS) {
        const T *xr = x + r * d;
        float v[VPL][W];
#pragma unroll
        for (int k = 0; k < VPL; k++) {
            int vi = k * 32 + lane;
            if (vi < nv) ldv<W>(xr + (int64_t)vi * W, v[k]);
            else
#pragma unroll
                for (int i = 0; i < W; i++) v[k][i] = 0.0f;
        }
        float ps[PRE ? VPL : 1][W], pb[PRE ? VPL : 1][W];
        if constexpr (PRE) {
#pragma unroll
            for (int k = 0; k < VPL; k++)
                if (k * 32 + lane < nv) ld_params<W>(p_dt, sc, bi, (int64_t)(k * 32 + lane) * W, ps[k], pb[k]);
        }
        float mean = 0.0f;
        if (!rms) {
            float s = 0.0f;
#pragma unroll
            for (int k = 0; k < VPL; k++)
#pragma unroll
                for (int i = 0; i < W; i++) s += v[k][i];
            mean = warp_sum(s) / (float)d;
        }
        float q = 0.0f;
#pragma unroll
        for (int k = 0; k < VPL; k++) {
            if (k * 32 + lane >= nv) continue; /* padding slots would add mean^2 */
#pragma unroll
            for (int i = 0; i < W; i++) {
                float c = v[k][i] - mean;
                q += c * c;
            }
        }
        float inv = 1.0f / sqrtf(warp_sum(q) / (float)d + eps);
        T *yr = y + r * d;
#pragma unroll
        for (int k = 0; k < VPL; k++) {
            int vi = k * 32 + lane;
            if (vi >= nv) continue;
            float sl[W], bl[W], o[W];
            const float *s = sl, *b = bl;
            if constexpr (PRE) s = ps[k], b = pb[k];
            else ld_params<W>(p_dt, sc, bi, (int64_t)vi * W, sl, bl);
#pragma unroll
            for (int i = 0; i < W; i++) o[i] = (v[k][i] - mean) * inv * s[i];
            if (bi)
#pragma unroll
                for (int i = 0; i < W; i++) o[i] += b[i];
            stv(yr + (int64_t)vi * W, o);
        }
        if (lane == 0) {
            if (mean_out) stf(st_dt, mean_out, r, mean);
            if (inv_out) stf(st_dt, inv_out, r, inv);
        }
    }
}

/* Launches of at most this many rows (LNW_PRE_ROWS / LNW_WARPS blocks, a few per SM) are
 * latency-bound and load scale/bias early (PRE), for rows of at most LNW_PRE_ELEMS per lane. */
#define LNW_PRE_ROWS 2048
#define LNW_PRE_ELEMS 32

template <typename T, int VPL>
static void lnw_launch(const void *x, void *y, int64_t m, int64_t d, int p_dt, const void *sc,
                       const void *bi, float eps, int rms, int st_dt, void *mean, void *inv,
                       cudaStream_t s)
{
    unsigned nb = blocks_for(m, LNW_WARPS);
    if constexpr (VPL * (16 / sizeof(T)) <= LNW_PRE_ELEMS) {
        if (m <= LNW_PRE_ROWS) {
            k_layernorm_warp<T, VPL, true><<<nb, LNW_WARPS * 32, 0, s>>>((const T *)x, (T *)y, m, (int)d, p_dt,
                                                                         sc, bi, eps, rms, st_dt, mean, inv);
            return;
        }
    }
    k_layernorm_warp<T, VPL, false><<<nb, LNW_WARPS * 32, 0, s>>>((const T *)x, (T *)y, m, (int)d, p_dt, sc,
                                                                  bi, eps, rms, st_dt, mean, inv);
}

/* The instantiation for rows of nv vectors: the fewest vectors per lane that hold the row
 * (unused slots are masked); 0 when the row is too long. */
template <typename T>
static int lnw_dispatch(const void *x, void *y, int64_t m, int64_t d, int p_dt, const void *sc,
                        const void *bi, float eps, int rms, int st_dt, void *mean, void *inv,
                        cudaStream_t s)
{
    int64_t vpl = (d / (16 / (int64_t)sizeof(T)) + 31) / 32;
#define LNW_CASE(N)                                                                                \
    if (vpl <= N) {                                                                                \
        lnw_launch<T, N>(x, y, m, d, p_dt, sc, bi, eps, rms, st_dt, mean, inv, s);                 \
        return 1;                                                                                  \
    }
    LNW_CASE(1) LNW_CASE(2) LNW_CASE(3) LNW_CASE(4) LNW_CASE(6) LNW_CASE(8) LNW_CASE(12)
    LNW_CASE(16)
    if constexpr (sizeof(T) == 4) {
        LNW_CASE(24) LNW_CASE(32)
    }
#undef LNW_CASE
    return 0;
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

extern "C" int ingk_layernorm(int dt, const void *x, void *y, int64_t m, int64_t d, int p_dt,
                              const void *sc, int64_t sc_n, const void *bi, int64_t bi_n, float eps,
                              int rms, int st_dt, void *mean, void *inv, void *stream)
{
    if (m <= 0 || d <= 0) return 0;
    int64_t w = dt == DT_F32 ? 4 : 8; /* elements per 16-byte vector */
    int fast = (dt == DT_F32 || dt == DT_F16 || dt == DT_BF16) && d % w == 0 && d <= LNW_MAX_D &&
               sc_n == d && (!bi || bi_n == d) && aligned16(x) && aligned16(y) && aligned16(sc) &&
               (!bi || aligned16(bi));
    cudaStream_t s = (cudaStream_t)stream;
    if (fast) {
        int ran = dt == DT_F32    ? lnw_dispatch<float>(x, y, m, d, p_dt, sc, bi, eps, rms, st_dt, mean, inv, s)
                  : dt == DT_F16 ? lnw_dispatch<__half>(x, y, m, d, p_dt, sc, bi, eps, rms, st_dt, mean, inv, s)
                                 : lnw_dispatch<__nv_bfloat16>(x, y, m, d, p_dt, sc, bi, eps, rms, st_dt,
                                                               mean, inv, s);
        if (ran) return (int)cudaGetLastError();
    }
    return ingk_layernorm_general(dt, x, y, m, d, p_dt, sc, sc_n, bi, bi_n, eps, rms, st_dt, mean, inv,
                                  stream);
}

/* ---- Group / InstanceNormalization: one block per (n, group), whose (C/g)*S elements are
 * contiguous ---- */

__global__ void k_groupnorm(int dt, const void *x, void *y, int64_t nb, int64_t c, int64_t s,
                            int64_t g, int p_dt, const void *sc, const void *bi, int per_group,
                            float eps)
{
    __shared__ float sh[32];
    int64_t cpg = c / g, blk = cpg * s;
    for (int64_t b = blockIdx.x; b < nb; b += gridDim.x) {
        int64_t base = b * blk, grp = b % g, c0 = grp * cpg;
        float a = 0.0f;
        for (int64_t j = threadIdx.x; j < blk; j += blockDim.x) a += ldf(dt, x, base + j);
        float mean = block_comb(C_SUM, a, sh) / (float)blk;
        float v = 0.0f;
        for (int64_t j = threadIdx.x; j < blk; j += blockDim.x) {
            float dv = ldf(dt, x, base + j) - mean;
            v += dv * dv;
        }
        float inv = 1.0f / sqrtf(block_comb(C_SUM, v, sh) / (float)blk + eps);
        for (int64_t j = threadIdx.x; j < blk; j += blockDim.x) {
            int64_t pi = per_group ? grp : c0 + j / s;
            float k = inv * ldf(p_dt, sc, pi), o = ldf(p_dt, bi, pi) - mean * k;
            stf(dt, y, base + j, ldf(dt, x, base + j) * k + o);
        }
    }
}

extern "C" int ingk_groupnorm(int dt, const void *x, void *y, int64_t n, int64_t c, int64_t s, int64_t g,
                              int p_dt, const void *sc, const void *bi, int per_group, float eps,
                              void *stream)
{
    if (n * c * s <= 0 || g <= 0) return 0;
    k_groupnorm<<<blocks_for(n * g, 1), NT, 0, (cudaStream_t)stream>>>(dt, x, y, n * g, c, s, g, p_dt,
                                                                     sc, bi, per_group, eps);
    return (int)cudaGetLastError();
}

/* ---- BatchNormalization (inference): y = x * a + b with a = scale / sqrt(var + eps) and
 * b = bias - mean * a per channel, a and b in f64 then rounded to f32 as the CPU reference ---- */

__global__ void k_batchnorm(int dt, const void *x, void *y, int64_t total, int64_t c, int64_t s,
                            int sc_dt, const void *sc, int bi_dt, const void *bi, int mean_dt,
                            const void *mean, int var_dt, const void *var, double eps)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t ch = (i / s) % c;
        double a = (double)ldf(sc_dt, sc, ch) / sqrt((double)ldf(var_dt, var, ch) + eps);
        double b = (double)ldf(bi_dt, bi, ch) - (double)ldf(mean_dt, mean, ch) * a;
        stf(dt, y, i, ldf(dt, x, i) * (float)a + (float)b);
    }
}

extern "C" int ingk_batchnorm(int dt, const void *x, void *y, int64_t n, int64_t c, int64_t s,
                              int sc_dt, const void *sc, int bi_dt, const void *bi, int mean_dt,
                              const void *mean, int var_dt, const void *var, float eps, void *stream)
{
    int64_t total = n * c * s;
    if (total <= 0) return 0;
    k_batchnorm<<<blocks_for(total, NT), NT, 0, (cudaStream_t)stream>>>(dt, x, y, total, c, s, sc_dt, sc,
                                                                       bi_dt, bi, mean_dt, mean, var_dt,
                                                                       var, (double)eps);
    return (int)cudaGetLastError();
}

extern "C" int ingk_copy_to_host_sync(void *dst, const void *src, size_t bytes, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    return (int)e;
}
