/* A step's tactic: the algorithm the builder timed and chose for one cuDNN convolution or
 * cuBLASLt matmul, stored in the step's params (docs/engine-format.md, "tactic record") and in
 * timing-cache entries. Plain C, no CUDA types: the reader validates records on any machine. */
#ifndef INGOT_ENGINE_TACTIC_H
#define INGOT_ENGINE_TACTIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define TACTIC_VERSION 1u
#define TACTIC_LT_ALGO_BYTES 64u       /* sizeof(cublasLtMatmulAlgo_t) */
#define TACTIC_CONV_BYTES 16u          /* a record of kind TACTIC_CUDNN_CONV */
#define TACTIC_LT_BYTES (16u + TACTIC_LT_ALGO_BYTES)
#define TACTIC_MAX_WORKSPACE ((uint64_t)4 << 30) /* bytes; more is a corrupt record */

enum {
    TACTIC_CUDNN_CONV = 1, /* algo = cudnnConvolutionFwdAlgo_t, math = cudnnMathType_t */
    TACTIC_CUBLASLT = 2,   /* algo = -1, math = TACTIC_LT_*, lt_algo = cublasLtMatmulAlgo_t bytes */
};
enum { TACTIC_LT_32F = 0, TACTIC_LT_32F_FAST_TF32 = 1 }; /* cuBLASLt compute type */
enum { TACTIC_LAYOUT_NCHW = 0 };

typedef struct engine_tactic {
    uint8_t kind;       /* TACTIC_* */
    uint8_t math;       /* cudnnMathType_t (0..3) or TACTIC_LT_* */
    uint8_t layout;     /* TACTIC_LAYOUT_* */
    int32_t algo;
    uint64_t workspace; /* bytes the algorithm needs */
    uint8_t lt_algo[TACTIC_LT_ALGO_BYTES];
} engine_tactic;

/* Does a step running `kernel` carry a tactic record in its params (cuda.Conv, cuda.FusedConv,
 * cuda.MatMul, cuda.Gemm, cuda.FusedMatMul, cuda.FusedGemm)? Other steps' params are theirs. */
int tactic_kernel(const char *kernel);

/* Encode t into buf (TACTIC_LT_BYTES at least); returns the record's length. */
size_t tactic_encode(const engine_tactic *t, uint8_t *buf);
/* Decode and validate a record. INGOT_ERR_CORRUPT (INGOT_ERR_VERSION for another record
 * version) with a message naming what is wrong, prefixed by `what`. *t untouched on failure. */
ingot_status tactic_decode(const void *buf, size_t len, const char *what, engine_tactic *t);

#endif
