/* Data-movement kernels of the CUDA backend: strided copies (Transpose, Slice, Expand, Tile,
 * DepthToSpace/SpaceToDepth), row copies (Concat, Split), Gather, GatherElements, Pad, fills
 * (ConstantOfShape, Shape, Size), Range and Resize (nearest/linear).
 *
 * Thread mapping: one thread per output element (or per 16/8/4/2/1-byte unit in the row copies
 * and Gather), grid-stride loops, 256 threads a block, at most 65536 blocks. The 2-D transpose
 * path moves 32×32 tiles through shared memory with 32×8 threads. Alignment: buffers are
 * assumed aligned to their element size only; the row copies pick the widest unit that divides
 * every pointer, pitch and row length. Index math runs in 32 bits when every offset fits (the
 * 64-bit divisions dominate these kernels otherwise).
 */
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/cuda/kernels/move.h"
#include "ingot.h"

#define THREADS 256
#define MAX_BLOCKS 65536
#define SMALL_LIMIT ((int64_t)1 << 30) /* offsets below this use 32-bit index math */
#define TT 32                          /* transpose tile */

static unsigned blocks_for(int64_t n)
{
    int64_t b = (n + THREADS - 1) / THREADS;
    if (b > MAX_BLOCKS) b = MAX_BLOCKS;
    return (unsigned)(b < 1 ? 1 : b);
}

static cudaStream_t S(void *stream) { return (cudaStream_t)stream; }

/* ---- strided copy --------------------------------------------------------------------------- */

template <typename T, typename I>
__global__ void k_strided(T *__restrict__ dst, const T *__restrict__ src, move_view v, I total)
{
    for (I e = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; e < total; e += (I)gridDim.x * (I)blockDim.x) {
        I rem = e, off = (I)v.off;
        for (int k = v.rank - 1; k >= 1; k--) {
            I d = (I)v.dims[k], q = rem / d;
            off += (rem - q * d) * (I)v.ss[k];
            rem = q;
        }
        off += rem * (I)v.ss[0];
        dst[e] = src[off];
    }
}

/* Batched 2-D transpose: o[blk][i][j] = src[off(blk) + i + j·sb] (i < na, j < nb); v holds the
 * batch dims. Loads run along i and stores along j, both coalesced. */
template <typename T>
__global__ void k_transpose_tiles(T *__restrict__ dst, const T *__restrict__ src, move_view v, int64_t na,
                                  int64_t nb, int64_t sb, int64_t ta, int64_t tb, int64_t tiles)
{
    __shared__ T tile[TT][TT + 1];
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        int64_t blk = t / (ta * tb), r = t - blk * (ta * tb);
        int64_t i0 = (r / tb) * TT, j0 = (r % tb) * TT;
        int64_t rem = blk, off = v.off;
        for (int k = v.rank - 1; k >= 0; k--) {
            int64_t q = rem / v.dims[k];
            off += (rem - q * v.dims[k]) * v.ss[k];
            rem = q;
        }
        for (int y = threadIdx.y; y < TT; y += blockDim.y) {
            int64_t i = i0 + threadIdx.x, j = j0 + y;
            if (i < na && j < nb) tile[y][threadIdx.x] = src[off + i + j * sb];
        }
        __syncthreads();
        T *o = dst + blk * na * nb;
        for (int y = threadIdx.y; y < TT; y += blockDim.y) {
            int64_t i = i0 + y, j = j0 + threadIdx.x;
            if (i < na && j < nb) o[i * nb + j] = tile[threadIdx.x][y];
        }
        __syncthreads();
    }
}

template <typename T>
static void launch_strided(void *dst, const void *src, const move_view *v, int64_t total, int small,
                           cudaStream_t s)
{
    if (small)
        k_strided<T, int32_t><<<blocks_for(total), THREADS, 0, s>>>((T *)dst, (const T *)src, *v, (int32_t)total);
    else
        k_strided<T, int64_t><<<blocks_for(total), THREADS, 0, s>>>((T *)dst, (const T *)src, *v, total);
}

extern "C" int move_strided(void *dst, const void *src, size_t es, const move_view *in, void *stream)
{
    /* Drop size-1 dims and merge dims that stay adjacent in src (as the CPU kernel does), so a
     * slice of whole rows becomes a few long runs and a transpose shows its 2-D core. */
    move_view v;
    memset(&v, 0, sizeof v);
    v.off = in->off;
    int n = 0;
    int64_t total = 1;
    for (int i = 0; i < in->rank; i++) {
        total *= in->dims[i];
        if (in->dims[i] == 1) continue;
        if (n > 0 && v.ss[n - 1] == in->ss[i] * in->dims[i]) {
            v.dims[n - 1] *= in->dims[i];
            v.ss[n - 1] = in->ss[i];
            continue;
        }
        v.dims[n] = in->dims[i];
        v.ss[n] = in->ss[i];
        n++;
    }
    if (total == 0) return 0;
    if (n == 0) {
        v.dims[0] = 1;
        v.ss[0] = 0;
        n = 1;
    }
    v.rank = n;
    cudaStream_t s = S(stream);
    if (n >= 2 && v.ss[n - 2] == 1 && v.ss[n - 1] != 1 && v.dims[n - 1] >= 8 && v.dims[n - 2] >= 8) {
        int64_t na = v.dims[n - 2], nb = v.dims[n - 1], sb = v.ss[n - 1];
        int64_t ta = (na + TT - 1) / TT, tb = (nb + TT - 1) / TT, tiles = total / (na * nb) * ta * tb;
        move_view outer = v;
        outer.rank = n - 2;
        unsigned g = (unsigned)(tiles < MAX_BLOCKS ? tiles : MAX_BLOCKS);
        dim3 blk(TT, 8);
        switch (es) {
        case 1: k_transpose_tiles<uint8_t><<<g, blk, 0, s>>>((uint8_t *)dst, (const uint8_t *)src, outer, na, nb, sb, ta, tb, tiles); break;
        case 2: k_transpose_tiles<uint16_t><<<g, blk, 0, s>>>((uint16_t *)dst, (const uint16_t *)src, outer, na, nb, sb, ta, tb, tiles); break;
        case 4: k_transpose_tiles<uint32_t><<<g, blk, 0, s>>>((uint32_t *)dst, (const uint32_t *)src, outer, na, nb, sb, ta, tb, tiles); break;
        case 8: k_transpose_tiles<uint64_t><<<g, blk, 0, s>>>((uint64_t *)dst, (const uint64_t *)src, outer, na, nb, sb, ta, tb, tiles); break;
        default: return (int)cudaErrorInvalidValue;
        }
        return 0;
    }
    /* 32-bit index math when the output count and every source offset fit */
    int64_t lo = v.off, hi = v.off;
    for (int i = 0; i < n; i++) {
        int64_t span = (v.dims[i] - 1) * v.ss[i];
        if (span < 0) lo += span;
        else hi += span;
    }
    int small = total < SMALL_LIMIT && lo > -SMALL_LIMIT && hi < SMALL_LIMIT;
    switch (es) {
    case 1: launch_strided<uint8_t>(dst, src, &v, total, small, s); break;
    case 2: launch_strided<uint16_t>(dst, src, &v, total, small, s); break;
    case 4: launch_strided<uint32_t>(dst, src, &v, total, small, s); break;
    case 8: launch_strided<uint64_t>(dst, src, &v, total, small, s); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return 0;
}

/* ---- plain and row copies ------------------------------------------------------------------- */

extern "C" int move_copy(void *dst, const void *src, size_t bytes, void *stream)
{
    if (!bytes || dst == src) return 0;
    return (int)cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, S(stream));
}

/* The widest unit (16, 8, 4, 2, 1 bytes) dividing every value in m (OR-ed together). */
static int unit_of(uint64_t m)
{
    int w = 16;
    while (w > 1 && (m & (uint64_t)(w - 1))) w /= 2;
    return w;
}

template <typename T, typename I>
__global__ void k_copy2d(T *__restrict__ dst, I dp, const T *__restrict__ src, I sp, I row, I total)
{
    for (I e = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; e < total; e += (I)gridDim.x * (I)blockDim.x) {
        I r = e / row, k = e - r * row;
        dst[r * dp + k] = src[r * sp + k];
    }
}

template <typename T>
static void launch_copy2d(void *dst, int64_t dp, const void *src, int64_t sp, int64_t row, int64_t rows,
                          cudaStream_t s)
{
    int64_t total = row * rows;
    int small = total < SMALL_LIMIT && dp * rows < SMALL_LIMIT && sp * rows < SMALL_LIMIT;
    if (small)
        k_copy2d<T, int32_t><<<blocks_for(total), THREADS, 0, s>>>((T *)dst, (int32_t)dp, (const T *)src,
                                                                   (int32_t)sp, (int32_t)row, (int32_t)total);
    else
        k_copy2d<T, int64_t><<<blocks_for(total), THREADS, 0, s>>>((T *)dst, dp, (const T *)src, sp, row, total);
}

extern "C" int move_copy2d(void *dst, int64_t dpitch, const void *src, int64_t spitch, int64_t row_bytes,
                           int64_t rows, void *stream)
{
    if (row_bytes <= 0 || rows <= 0) return 0;
    cudaStream_t s = S(stream);
    if (rows == 1 || (dpitch == row_bytes && spitch == row_bytes))
        return (int)cudaMemcpyAsync(dst, src, (size_t)(row_bytes * rows), cudaMemcpyDeviceToDevice, s);
    int w = unit_of((uint64_t)(uintptr_t)dst | (uint64_t)(uintptr_t)src | (uint64_t)dpitch | (uint64_t)spitch |
                    (uint64_t)row_bytes);
    int64_t dp = dpitch / w, sp = spitch / w, row = row_bytes / w;
    switch (w) {
    case 16: launch_copy2d<uint4>(dst, dp, src, sp, row, rows, s); break;
    case 8: launch_copy2d<uint64_t>(dst, dp, src, sp, row, rows, s); break;
    case 4: launch_copy2d<uint32_t>(dst, dp, src, sp, row, rows, s); break;
    case 2: launch_copy2d<uint16_t>(dst, dp, src, sp, row, rows, s); break;
    default: launch_copy2d<uint8_t>(dst, dp, src, sp, row, rows, s); break;
    }
    return 0;
}

/* ---- Gather, GatherElements ----------------------------------------------------------------- */

template <typename IX>
__device__ __forceinline__ int64_t clamp_index(IX raw, int64_t n)
{
    int64_t v = (int64_t)raw;
    if (v < 0) v += n;
    return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/* rows of `row` units: dst row (o, j) = src row (o, idx[j]) */
template <typename T, typename IX, typename I>
__global__ void k_gather(T *__restrict__ dst, const T *__restrict__ src, const IX *__restrict__ idx, I n, I ni,
                         I row, I total)
{
    for (I e = (I)blockIdx.x * (I)blockDim.x + (I)threadIdx.x; e < total; e += (I)gridDim.x * (I)blockDim.x) {
        I r = e / row, k = e - r * row, o = r / ni, j = r - o * ni;
        I v = (I)clamp_index<IX>(idx[j], (int64_t)n);
        dst[e] = src[(o * n + v) * row + k];
    }
}

template <typename T>
static void launch_gather(void *dst, const void *src, const void *idx, int idx64, int64_t outer, int64_t n,
                          int64_t ni, int64_t row, cudaStream_t s)
{
    int64_t total = outer * ni * row;
    int small = total < SMALL_LIMIT && outer * n * row < SMALL_LIMIT;
    unsigned g = blocks_for(total);
    if (small && idx64)
        k_gather<T, int64_t, int32_t><<<g, THREADS, 0, s>>>((T *)dst, (const T *)src, (const int64_t *)idx,
                                                             (int32_t)n, (int32_t)ni, (int32_t)row, (int32_t)total);
    else if (small)
        k_gather<T, int32_t, int32_t><<<g, THREADS, 0, s>>>((T *)dst, (const T *)src, (const int32_t *)idx,
                                                             (int32_t)n, (int32_t)ni, (int32_t)row, (int32_t)total);
    else if (idx64)
        k_gather<T, int64_t, int64_t><<<g, THREADS, 0, s>>>((T *)dst, (const T *)src, (const int64_t *)idx, n, ni,
                                                             row, total);
    else
        k_gather<T, int32_t, int64_t><<<g, THREADS, 0, s>>>((T *)dst, (const T *)src, (const int32_t *)idx, n, ni,
                                                             row, total);
}

extern "C" int move_gather(void *dst, const void *src, size_t es, const void *idx, int idx64, int64_t outer,
                           int64_t n, int64_t ni, int64_t inner, void *stream)
{
    if (outer <= 0 || ni <= 0 || inner <= 0) return 0;
    if (n <= 0) return (int)cudaErrorInvalidValue;
    int64_t rb = inner * (int64_t)es;
    int w = unit_of((uint64_t)(uintptr_t)dst | (uint64_t)(uintptr_t)src | (uint64_t)rb);
    int64_t row = rb / w;
    cudaStream_t s = S(stream);
    switch (w) {
    case 16: launch_gather<uint4>(dst, src, idx, idx64, outer, n, ni, row, s); break;
    case 8: launch_gather<uint64_t>(dst, src, idx, idx64, outer, n, ni, row, s); break;
    case 4: launch_gather<uint32_t>(dst, src, idx, idx64, outer, n, ni, row, s); break;
    case 2: launch_gather<uint16_t>(dst, src, idx, idx64, outer, n, ni, row, s); break;
    default: launch_gather<uint8_t>(dst, src, idx, idx64, outer, n, ni, row, s); break;
    }
    return 0;
}

typedef struct ge_desc {
    int32_t rank, axis;
    int64_t idims[8], sst[8], n, total;
} ge_desc;

template <typename T, typename IX>
__global__ void k_gather_elements(T *__restrict__ dst, const T *__restrict__ src, const IX *__restrict__ idx,
                                  ge_desc d)
{
    for (int64_t p = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; p < d.total;
         p += (int64_t)gridDim.x * blockDim.x) {
        int64_t rem = p, off = 0;
        for (int k = d.rank - 1; k >= 0; k--) {
            int64_t q = rem / d.idims[k], c = rem - q * d.idims[k];
            off += (k == d.axis ? clamp_index<IX>(idx[p], d.n) : c) * d.sst[k];
            rem = q;
        }
        dst[p] = src[off];
    }
}

template <typename T>
static void launch_ge(void *dst, const void *src, const void *idx, int idx64, const ge_desc *d, cudaStream_t s)
{
    if (idx64)
        k_gather_elements<T, int64_t><<<blocks_for(d->total), THREADS, 0, s>>>((T *)dst, (const T *)src,
                                                                              (const int64_t *)idx, *d);
    else
        k_gather_elements<T, int32_t><<<blocks_for(d->total), THREADS, 0, s>>>((T *)dst, (const T *)src,
                                                                              (const int32_t *)idx, *d);
}

extern "C" int move_gather_elements(void *dst, const void *src, size_t es, const void *idx, int idx64,
                                    int32_t rank, const int64_t *idims, const int64_t *sst, int32_t axis,
                                    int64_t n, void *stream)
{
    ge_desc d;
    memset(&d, 0, sizeof d);
    if (rank < 1 || rank > 8 || axis < 0 || axis >= rank) return (int)cudaErrorInvalidValue;
    d.rank = rank;
    d.axis = axis;
    d.n = n;
    d.total = 1;
    for (int i = 0; i < rank; i++) {
        d.idims[i] = idims[i];
        d.sst[i] = sst[i];
        d.total *= idims[i];
    }
    if (d.total == 0) return 0;
    if (n <= 0) return (int)cudaErrorInvalidValue;
    cudaStream_t s = S(stream);
    switch (es) {
    case 1: launch_ge<uint8_t>(dst, src, idx, idx64, &d, s); break;
    case 2: launch_ge<uint16_t>(dst, src, idx, idx64, &d, s); break;
    case 4: launch_ge<uint32_t>(dst, src, idx, idx64, &d, s); break;
    case 8: launch_ge<uint64_t>(dst, src, idx, idx64, &d, s); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return 0;
}

/* ---- Pad ------------------------------------------------------------------------------------ */

typedef struct pad_desc {
    int32_t rank, mode;
    int64_t odims[8], idims[8], pb[8], ist[8], total;
} pad_desc;

template <typename T>
__global__ void k_pad(T *__restrict__ dst, const T *__restrict__ src, const T *__restrict__ cval, pad_desc d)
{
    T cv = cval ? *cval : (T)0;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < d.total; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t rem = e, off = 0;
        int fill = 0;
        for (int a = d.rank - 1; a >= 0; a--) {
            int64_t q = rem / d.odims[a], k = rem - q * d.odims[a], n = d.idims[a], i = k - d.pb[a], m;
            rem = q;
            if (i >= 0 && i < n) m = i;
            else if (d.mode == MOVE_PAD_CONSTANT || n == 0) m = -1;
            else if (d.mode == MOVE_PAD_EDGE) m = i < 0 ? 0 : n - 1;
            else if (d.mode == MOVE_PAD_WRAP) m = ((i % n) + n) % n;
            else if (n == 1) m = 0;
            else {
                int64_t p = 2 * (n - 1);
                m = ((i % p) + p) % p;
                if (m >= n) m = p - m;
            }
            if (m < 0) fill = 1;
            off += m * d.ist[a];
        }
        dst[e] = fill ? cv : src[off];
    }
}

extern "C" int move_pad(void *dst, const void *src, size_t es, int32_t rank, const int64_t *odims,
                        const int64_t *idims, const int64_t *pb, int mode, const void *cval, void *stream)
{
    pad_desc d;
    memset(&d, 0, sizeof d);
    if (rank < 1 || rank > 8) return (int)cudaErrorInvalidValue;
    d.rank = rank;
    d.mode = mode;
    d.total = 1;
    int64_t acc = 1;
    for (int i = rank - 1; i >= 0; i--) {
        d.odims[i] = odims[i];
        d.idims[i] = idims[i];
        d.pb[i] = pb[i];
        d.ist[i] = acc;
        acc *= idims[i];
        d.total *= odims[i];
    }
    if (d.total == 0) return 0;
    cudaStream_t s = S(stream);
    unsigned g = blocks_for(d.total);
    switch (es) {
    case 1: k_pad<uint8_t><<<g, THREADS, 0, s>>>((uint8_t *)dst, (const uint8_t *)src, (const uint8_t *)cval, d); break;
    case 2: k_pad<uint16_t><<<g, THREADS, 0, s>>>((uint16_t *)dst, (const uint16_t *)src, (const uint16_t *)cval, d); break;
    case 4: k_pad<uint32_t><<<g, THREADS, 0, s>>>((uint32_t *)dst, (const uint32_t *)src, (const uint32_t *)cval, d); break;
    case 8: k_pad<uint64_t><<<g, THREADS, 0, s>>>((uint64_t *)dst, (const uint64_t *)src, (const uint64_t *)cval, d); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return 0;
}

/* ---- fills, Range, host values -------------------------------------------------------------- */

template <typename T>
__global__ void k_fill(T *__restrict__ dst, int64_t n, T v)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x)
        dst[e] = v;
}

extern "C" int move_fill(void *dst, size_t es, int64_t n, uint64_t bits, void *stream)
{
    if (n <= 0) return 0;
    cudaStream_t s = S(stream);
    unsigned g = blocks_for(n);
    /* the low es bytes of bits, as the host lays them out (little-endian) */
    uint8_t b1;
    uint16_t b2;
    uint32_t b4;
    memcpy(&b1, &bits, 1);
    memcpy(&b2, &bits, 2);
    memcpy(&b4, &bits, 4);
    switch (es) {
    case 1: k_fill<uint8_t><<<g, THREADS, 0, s>>>((uint8_t *)dst, n, b1); break;
    case 2: k_fill<uint16_t><<<g, THREADS, 0, s>>>((uint16_t *)dst, n, b2); break;
    case 4: k_fill<uint32_t><<<g, THREADS, 0, s>>>((uint32_t *)dst, n, b4); break;
    case 8: k_fill<uint64_t><<<g, THREADS, 0, s>>>((uint64_t *)dst, n, bits); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return 0;
}

template <typename T>
__global__ void k_range_float(T *__restrict__ dst, const T *__restrict__ start, const T *__restrict__ delta, int64_t n)
{
    double s = (double)*start, d = (double)*delta;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = (T)__dadd_rn(s, __dmul_rn((double)i, d)); /* no FMA: the CPU rounds the product first */
}

/* integer ranges wrap as the CPU kernel's uint64 arithmetic does */
template <typename T>
__global__ void k_range_int(T *__restrict__ dst, const T *__restrict__ start, const T *__restrict__ delta, int64_t n)
{
    uint64_t s = (uint64_t)(int64_t)*start, d = (uint64_t)(int64_t)*delta;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = (T)(int64_t)(s + (uint64_t)i * d);
}

extern "C" int move_range(void *dst, int dtype, const void *start, const void *delta, int64_t n, void *stream)
{
    if (n <= 0) return 0;
    cudaStream_t s = S(stream);
    unsigned g = blocks_for(n);
    switch (dtype) {
    case INGOT_DTYPE_F32: k_range_float<float><<<g, THREADS, 0, s>>>((float *)dst, (const float *)start, (const float *)delta, n); break;
    case INGOT_DTYPE_F64: k_range_float<double><<<g, THREADS, 0, s>>>((double *)dst, (const double *)start, (const double *)delta, n); break;
    case INGOT_DTYPE_I16: k_range_int<int16_t><<<g, THREADS, 0, s>>>((int16_t *)dst, (const int16_t *)start, (const int16_t *)delta, n); break;
    case INGOT_DTYPE_I32: k_range_int<int32_t><<<g, THREADS, 0, s>>>((int32_t *)dst, (const int32_t *)start, (const int32_t *)delta, n); break;
    case INGOT_DTYPE_I64: k_range_int<int64_t><<<g, THREADS, 0, s>>>((int64_t *)dst, (const int64_t *)start, (const int64_t *)delta, n); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return 0;
}

typedef struct i64x8 {
    int64_t v[8];
} i64x8;

__global__ void k_write_i64(int64_t *dst, i64x8 vals, int n)
{
    int i = threadIdx.x;
    if (i < n) dst[i] = vals.v[i];
}

extern "C" int move_write_i64(void *dst, const int64_t *vals, int n, void *stream)
{
    if (n <= 0) return 0;
    if (n > 8) return (int)cudaErrorInvalidValue;
    i64x8 a;
    memset(&a, 0, sizeof a);
    memcpy(a.v, vals, (size_t)n * sizeof(int64_t));
    k_write_i64<<<1, 8, 0, S(stream)>>>((int64_t *)dst, a, n);
    return 0;
}

extern "C" int move_read_back(void *host, const void *dev, size_t bytes, void *stream)
{
    if (!bytes) return 0;
    cudaStream_t s = S(stream);
    cudaStreamCaptureStatus cs = cudaStreamCaptureStatusNone;
    cudaError_t e = cudaStreamIsCapturing(s, &cs);
    if (e != cudaSuccess) return (int)e;
    if (cs != cudaStreamCaptureStatusNone) return (int)cudaErrorStreamCaptureUnsupported;
    e = cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, s);
    if (e != cudaSuccess) return (int)e;
    return (int)cudaStreamSynchronize(s);
}

/* ---- Resize --------------------------------------------------------------------------------- */

/* Source coordinate of output position y (op_resize.py _compute_x_ori); explicit rounding
 * intrinsics keep nvcc from contracting into FMAs, so nearest picks the CPU's indices. */
__device__ double rs_coord(int ctm, double y, double scale, int64_t in_w)
{
    double out_w = __dmul_rn(scale, (double)in_w), x;
    switch (ctm) {
    case MOVE_CT_ALIGN: x = out_w == 1 ? 0.0 : __ddiv_rn(__dmul_rn(y, (double)(in_w - 1)), __dsub_rn(out_w, 1.0)); break;
    case MOVE_CT_ASYM: x = __ddiv_rn(y, scale); break;
    case MOVE_CT_PYTORCH: x = out_w == 1 ? -0.5 : __dsub_rn(__ddiv_rn(__dadd_rn(y, 0.5), scale), 0.5); break;
    default: x = __dsub_rn(__ddiv_rn(__dadd_rn(y, 0.5), scale), 0.5); break;
    }
    if (!(x > -9.0e15)) x = -9.0e15;
    if (x > 9.0e15) x = 9.0e15;
    return x;
}

/* First index of the 2-tap window around x (op_resize.py _interpolate_1d_along_axis). */
__device__ int64_t rs_window2(double x)
{
    double xp = __dadd_rn(x, 1.0), p = floor(xp), frac = __dsub_rn(xp, p);
    int64_t off = frac == 0 ? -1 : 0;
    return (int64_t)p + off - 1;
}

__device__ int64_t rs_clamp(int64_t j, int64_t n) { return j < 0 ? 0 : j >= n ? n - 1 : j; }

__device__ int64_t rs_nearest(const move_resize_desc &d, int a, int64_t y)
{
    double x = rs_coord(d.ctm, (double)y, d.scale[a], d.in[a]);
    double xi = floor(x), ratio = x == xi ? 1.0 : __dsub_rn(x, xi);
    int64_t lo = rs_window2(x), j;
    if (ratio == 1.0) j = lo + 1;
    else {
        switch (d.nm) {
        case MOVE_NM_PREFER_CEIL: j = ratio < 0.5 ? lo : lo + 1; break;
        case MOVE_NM_FLOOR: j = lo; break;
        case MOVE_NM_CEIL: j = lo + 1; break;
        case MOVE_NM_LEGACY: j = d.scale[a] < 1 ? lo + 1 : lo; break;
        default: j = ratio <= 0.5 ? lo : lo + 1; break;
        }
    }
    return rs_clamp(j, d.in[a]);
}

template <typename T>
__global__ void k_resize_nearest(T *__restrict__ dst, const T *__restrict__ src, move_resize_desc d, int64_t total)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t rem = e, off = 0, st = 1;
        for (int a = d.rank - 1; a >= 0; a--) {
            int64_t q = rem / d.out[a], c = rem - q * d.out[a];
            rem = q;
            off += (d.active[a] ? rs_nearest(d, a, c) : c) * st;
            st *= d.in[a];
        }
        dst[e] = src[off];
    }
}

__device__ __forceinline__ float rs_load(const float *p, int64_t i) { return p[i]; }
__device__ __forceinline__ float rs_load(const __half *p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void rs_store(float *p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void rs_store(__half *p, int64_t i, float v) { p[i] = __float2half_rn(v); }

/* Linear: the product of per-axis 2-tap weights over the active axes (2^k taps). */
template <typename T>
__global__ void k_resize_linear(T *__restrict__ dst, const T *__restrict__ src, move_resize_desc d, int64_t total)
{
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (int64_t)gridDim.x * blockDim.x) {
        int64_t rem = e, base = 0, st = 1;
        int64_t d0[8], d1[8]; /* offsets of the two taps on each active axis */
        float w1[8];
        int na = 0;
        for (int a = d.rank - 1; a >= 0; a--) {
            int64_t q = rem / d.out[a], c = rem - q * d.out[a];
            rem = q;
            if (!d.active[a]) {
                base += c * st;
            } else {
                double x = rs_coord(d.ctm, (double)c, d.scale[a], d.in[a]);
                double xi = floor(x), ratio = x == xi ? 1.0 : __dsub_rn(x, xi);
                int64_t s0 = rs_window2(x);
                d0[na] = rs_clamp(s0, d.in[a]) * st;
                d1[na] = rs_clamp(s0 + 1, d.in[a]) * st;
                w1[na] = (float)ratio;
                na++;
            }
            st *= d.in[a];
        }
        float acc = 0.f;
        for (int t = 0; t < (1 << na); t++) {
            float w = 1.f;
            int64_t off = base;
            for (int k = 0; k < na; k++) {
                int hi = (t >> k) & 1;
                w *= hi ? w1[k] : 1.f - w1[k];
                off += hi ? d1[k] : d0[k];
            }
            if (w != 0.f) acc += w * rs_load(src, off);
        }
        rs_store(dst, e, acc);
    }
}

extern "C" int move_resize(void *dst, const void *src, int dtype, size_t es, const move_resize_desc *d, void *stream)
{
    int64_t total = 1;
    if (d->rank < 1 || d->rank > 8) return (int)cudaErrorInvalidValue;
    for (int a = 0; a < d->rank; a++) total *= d->out[a];
    if (total == 0) return 0;
    cudaStream_t s = S(stream);
    unsigned g = blocks_for(total);
    if (d->mode == MOVE_RS_LINEAR) {
        if (dtype == INGOT_DTYPE_F32) k_resize_linear<float><<<g, THREADS, 0, s>>>((float *)dst, (const float *)src, *d, total);
        else if (dtype == INGOT_DTYPE_F16) k_resize_linear<__half><<<g, THREADS, 0, s>>>((__half *)dst, (const __half *)src, *d, total);
        else return (int)cudaErrorInvalidValue;
        return 0;
    }
    switch (es) {
    case 1: k_resize_nearest<uint8_t><<<g, THREADS, 0, s>>>((uint8_t *)dst, (const uint8_t *)src, *d, total); break;
    case 2: k_resize_nearest<uint16_t><<<g, THREADS, 0, s>>>((uint16_t *)dst, (const uint16_t *)src, *d, total); break;
    case 4: k_resize_nearest<uint32_t><<<g, THREADS, 0, s>>>((uint32_t *)dst, (const uint32_t *)src, *d, total); break;
    case 8: k_resize_nearest<uint64_t><<<g, THREADS, 0, s>>>((uint64_t *)dst, (const uint64_t *)src, *d, total); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return 0;
}
