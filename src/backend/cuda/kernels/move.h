/* Launchers of the data-movement kernels (kernels/move.cu), used by backend/cuda/move.c.
 * Every launcher enqueues on `stream` (a cudaStream_t) and returns 0 or a cudaError_t value.
 * Byte-moving kernels are keyed on the element size es (1, 2, 4 or 8 bytes), so one path serves
 * every dtype of that size. Pointers are device pointers unless a parameter says "host". */
#ifndef INGOT_BACKEND_CUDA_KERNELS_MOVE_H
#define INGOT_BACKEND_CUDA_KERNELS_MOVE_H

#include "backend/cuda/kernels/launch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOVE_MAX_DIMS 16 /* Tile and the space/depth ops view tensors with more dims than rank 8 */

/* dst (contiguous, shape dims[0..rank)) = src[off + Σ idx[i]·ss[i]]; strides in elements, may be
 * zero (broadcast) or negative (reversed slice). */
typedef struct move_view {
    int32_t rank;
    int64_t dims[MOVE_MAX_DIMS];
    int64_t ss[MOVE_MAX_DIMS];
    int64_t off;
} move_view;

int move_strided(void *dst, const void *src, size_t es, const move_view *v, void *stream);

/* Device-to-device copy of bytes (no-op when dst == src or bytes == 0). */
int move_copy(void *dst, const void *src, size_t bytes, void *stream);

/* rows × row_bytes: dst[r·dpitch + k] = src[r·spitch + k] (pitches in bytes). */
int move_copy2d(void *dst, int64_t dpitch, const void *src, int64_t spitch, int64_t row_bytes,
                int64_t rows, void *stream);

/* Gather along an axis: data viewed as [outer, n, inner], output [outer, ni, inner].
 * idx: ni indices, i64 when idx64 else i32. Negative indices wrap once (+n); an index still
 * outside [0, n) is clamped to it, so bad data never reads out of bounds. n must be > 0. */
int move_gather(void *dst, const void *src, size_t es, const void *idx, int idx64, int64_t outer,
                int64_t n, int64_t ni, int64_t inner, void *stream);

/* GatherElements: output shape = idx shape (rank dims idims); data strides sst (elements);
 * along `axis` the source coordinate is idx[p] (wrapped, then clamped into [0, n)). */
int move_gather_elements(void *dst, const void *src, size_t es, const void *idx, int idx64,
                         int32_t rank, const int64_t *idims, const int64_t *sst, int32_t axis,
                         int64_t n, void *stream);

enum { MOVE_PAD_CONSTANT, MOVE_PAD_REFLECT, MOVE_PAD_EDGE, MOVE_PAD_WRAP };

/* Pad: output dims odims, input dims idims, begin pads pb (negative crops). cval: device pointer
 * to one element, or NULL for zero. */
int move_pad(void *dst, const void *src, size_t es, int32_t rank, const int64_t *odims,
             const int64_t *idims, const int64_t *pb, int mode, const void *cval, void *stream);

/* n elements of es bytes, each the low es bytes of `bits` (host value, passed by argument). */
int move_fill(void *dst, size_t es, int64_t n, uint64_t bits, void *stream);

/* Range: dst[i] = start + i·delta for i < n; start and delta are device scalars of dtype
 * (ONNX dtype number: f32, f64, i16, i32, i64). Floats compute in double and round on store. */
int move_range(void *dst, int dtype, const void *start, const void *delta, int64_t n, void *stream);

/* Writes n ≤ 8 int64 values given on the host, by a kernel (kernel arguments are captured with
 * a CUDA graph; a pageable host-to-device copy would not be). */
int move_write_i64(void *dst, const int64_t *vals, int n, void *stream);

/* Resize, nearest or linear, per-axis coordinate transforms as onnx/reference/ops/op_resize.py. */
enum { MOVE_RS_NEAREST, MOVE_RS_LINEAR };
enum { MOVE_CT_HALF_PIXEL, MOVE_CT_PYTORCH, MOVE_CT_ALIGN, MOVE_CT_ASYM };
enum { MOVE_NM_PREFER_FLOOR, MOVE_NM_PREFER_CEIL, MOVE_NM_FLOOR, MOVE_NM_CEIL, MOVE_NM_LEGACY };
typedef struct move_resize_desc {
    int32_t rank, mode, ctm, nm;
    int32_t active[8];  /* axis resized (else the identity) */
    int64_t in[8], out[8];
    double scale[8];    /* the scale the coordinate transform uses (op_resize.py) */
} move_resize_desc;

/* Nearest: any es. Linear: dtype f32 or f16 (computed in f32). */
int move_resize(void *dst, const void *src, int dtype, size_t es, const move_resize_desc *d,
                void *stream);

/* Read bytes of device memory into host memory, synchronously. Refused (a nonzero status, the
 * stream left untouched) while the stream is being captured. */
int move_read_back(void *host, const void *dev, size_t bytes, void *stream);

#ifdef __cplusplus
}
#endif

#endif
