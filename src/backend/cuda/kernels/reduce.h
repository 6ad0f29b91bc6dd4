/* Launchers for the reduce family's CUDA kernels (kernels/reduce.cu): Reduce*, Softmax /
 * LogSoftmax, ArgMax / ArgMin, CumSum and the normalizations. dtype arguments are ONNX
 * TensorProto numbers; the float kernels take f32 (1), f16 (10) and bf16 (16) and accumulate in
 * f32. Every launcher enqueues on `stream` (a cudaStream_t) and returns 0 or a cudaError_t. */
#ifndef INGOT_BACKEND_CUDA_KERNELS_REDUCE_H
#define INGOT_BACKEND_CUDA_KERNELS_REDUCE_H

#include "backend/cuda/kernels/launch.h"
#include "backend/reduce_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { INGK_R_SUM, INGK_R_MEAN, INGK_R_PROD, INGK_R_MAX, INGK_R_MIN, INGK_R_L1, INGK_R_L2,
       INGK_R_LOGSUM, INGK_R_LSE, INGK_R_SUMSQ };

/* The input as runs of kept and reduced dims, built on the host by ing_red_plan_build (the CPU
 * backend reads reductions through the same plan). */
typedef ing_red_plan ingk_red_plan;

/* Reduce* (op: INGK_R_*), GlobalAveragePool (MEAN) and GlobalMaxPool (MAX). x and y share dt. */
int ingk_reduce(int op, int dt, const void *x, void *y, const ingk_red_plan *p, void *stream);

/* Softmax / LogSoftmax over the middle dim of [outer, n, inner]. */
int ingk_softmax(int dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                 int is_log, void *stream);

/* ArgMax / ArgMin over the middle dim of [outer, n, inner] (n >= 1) into int64 y[outer*inner].
 * dt: f32, f16, bf16, i32, i64. */
int ingk_argm(int dt, const void *x, int64_t *y, int64_t outer, int64_t n, int64_t inner,
              int is_max, int last, void *stream);

/* CumSum along the middle dim of [outer, n, inner]. dt: f32, f16, bf16, i32, i64. */
int ingk_cumsum(int dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                int exclusive, int reverse, void *stream);

/* LayerNormalization / RMSNormalization over rows of d: y = (x - mean) * inv * sc[j] + bi[j]
 * (rms: mean 0, no bias). sc/bi hold d values (sc_n == d) or one (sc_n == 1); bi may be NULL.
 * mean/inv (may be NULL) receive m values of dtype st_dt. Rows of f32/f16/bf16 with d a multiple
 * of 4 (f32) or 8 (f16/bf16), d <= 4096, sc_n == d (and bi_n == d), every pointer 16-byte aligned
 * run one warp per row from registers; other rows run ingk_layernorm_general. */
int ingk_layernorm(int dt, const void *x, void *y, int64_t m, int64_t d, int p_dt,
                   const void *sc, int64_t sc_n, const void *bi, int64_t bi_n, float eps, int rms,
                   int st_dt, void *mean, void *inv, void *stream);
/* The same with the general kernel (one warp or block per row, any d, alignment and parameter
 * broadcast); ingk_layernorm falls back to it where its register-resident fast path does not
 * apply. Exposed so tests can compare and time the two. */
int ingk_layernorm_general(int dt, const void *x, void *y, int64_t m, int64_t d, int p_dt,
                           const void *sc, int64_t sc_n, const void *bi, int64_t bi_n, float eps,
                           int rms, int st_dt, void *mean, void *inv, void *stream);

/* Group / InstanceNormalization on [N, C, S]: g groups of C/g channels; scale/bias per channel
 * (per_group: one per group). */
int ingk_groupnorm(int dt, const void *x, void *y, int64_t n, int64_t c, int64_t s, int64_t g,
                   int p_dt, const void *sc, const void *bi, int per_group, float eps, void *stream);

/* BatchNormalization (inference) on [N, C, S]; each parameter has its own dtype. */
int ingk_batchnorm(int dt, const void *x, void *y, int64_t n, int64_t c, int64_t s,
                   int sc_dt, const void *sc, int bi_dt, const void *bi, int mean_dt,
                   const void *mean, int var_dt, const void *var, float eps, void *stream);

/* Copy bytes of device memory to the host and wait for them (the stream is synchronized). For
 * small attribute-like inputs (axes) that were not constants. */
int ingk_copy_to_host_sync(void *dst, const void *src, size_t bytes, void *stream);

#ifdef __cplusplus
}
#endif

#endif
