/* Launchers for the elementwise CUDA kernels (kernels/ew.cu): unary math and activations,
 * binary arithmetic/comparison/logic with broadcasting, Where, Cast and plain copies.
 * Each returns 0 or the cudaError_t of the launch (cudaGetLastError right after it).
 * Pointers are device pointers; n is the output's element count (0: nothing is launched). */
#ifndef INGOT_BACKEND_CUDA_KERNELS_EW_H
#define INGOT_BACKEND_CUDA_KERNELS_EW_H

#include "backend/cuda/kernels/launch.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EW_MAX_RANK 8
#define EW_MAX_IN 3

/* Unary op codes. */
enum {
    EWU_ABS, EWU_NEG, EWU_EXP, EWU_LOG, EWU_SQRT, EWU_RECIP, EWU_SIN, EWU_COS, EWU_TANH,
    EWU_SIGMOID, EWU_ERF, EWU_CEIL, EWU_FLOOR, EWU_ROUND, EWU_SIGN, EWU_RELU, EWU_LEAKYRELU,
    EWU_ELU, EWU_SELU, EWU_CELU, EWU_HARDSIGMOID, EWU_HARDSWISH, EWU_SOFTPLUS, EWU_SOFTSIGN,
    EWU_GELU, EWU_GELU_TANH, EWU_SWISH, EWU_MISH, EWU_CLIP, EWU_NOT, EWU_ISNAN, EWU_ISINF,
    EWU_TAN, EWU_ASIN, EWU_ACOS, EWU_ATAN, EWU_SINH, EWU_COSH, EWU_ASINH, EWU_ACOSH, EWU_ATANH,
    EWU_THRESHOLDEDRELU, EWU_SHRINK,
    EWU_COUNT
};

/* Binary op codes. */
enum {
    EWB_ADD, EWB_SUB, EWB_MUL, EWB_DIV, EWB_POW, EWB_MAX, EWB_MIN, EWB_MOD, EWB_PRELU,
    EWB_EQ, EWB_LT, EWB_GT, EWB_LE, EWB_GE, EWB_AND, EWB_OR, EWB_XOR,
    EWB_COUNT
};

/* Attributes of a unary op (meaning per op, as in the CPU kernels). Clip bounds: when
 * lo_dev/hi_dev is non-NULL the bound is read on the device (a scalar of x's dtype), else
 * flo/fhi (float dtypes) or ilo/ihi (integer dtypes) are used when has_lo/has_hi. */
typedef struct ew_uparams {
    float alpha, beta, gamma;
    int flag, flag2; /* IsInf detect_positive / detect_negative */
    int has_lo, has_hi;
    float flo, fhi;
    int64_t ilo, ihi;
    const void *lo_dev, *hi_dev;
} ew_uparams;

/* Broadcast description after coalescing: the output has `rank` dims; input k steps
 * st[k][d] elements along output dim d (0 on a broadcast dim). rank 0 means every input has
 * the output's shape (the flat fast path). */
typedef struct ew_bcast {
    int32_t rank;
    int64_t dims[EW_MAX_RANK];
    int64_t st[EW_MAX_IN][EW_MAX_RANK];
} ew_bcast;

/* 1 when the launcher has a kernel for (op, dtype); the host glue asks before accepting. */
int ew_unary_supported(int op, int dtype);
int ew_binary_supported(int op, int dtype);
int ew_cast_supported(int sdt, int ddt);

int ew_launch_unary(int op, int dtype, const void *x, void *y, int64_t n, const ew_uparams *p,
                    void *stream);
/* flag: Mod's fmod. */
int ew_launch_binary(int op, int dtype, const void *a, const void *b, void *y, int64_t n,
                     const ew_bcast *bc, int flag, void *stream);
/* Where: cond is bool; a, b and y have elements of esz bytes (1, 2, 4 or 8). */
int ew_launch_where(size_t esz, const void *cond, const void *a, const void *b, void *y, int64_t n,
                    const ew_bcast *bc, void *stream);
int ew_launch_cast(int sdt, int ddt, const void *x, void *y, int64_t n, void *stream);
/* Device-to-device copy of bytes (Identity, Dropout), and a byte fill (Dropout's mask). */
int ew_launch_copy(void *dst, const void *src, size_t bytes, void *stream);
int ew_launch_fill(void *dst, int byte, size_t bytes, void *stream);

#ifdef __cplusplus
}
#endif

#endif
