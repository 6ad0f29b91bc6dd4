/* CUDA kernels for the elementwise family: unary math and activations, binary arithmetic,
 * comparisons and logic with numpy broadcasting, Where, Cast.
 *
 * Mapping: one thread per output element, grid-stride loops, 256 threads a block. No alignment
 * is assumed beyond the element's own. Broadcasting divides the flat output index into
 * coordinates over the (host-coalesced) output dims and sums each input's strides, which are
 * 0 on broadcast dims; indexes use 32-bit arithmetic when every offset fits (the divisions are
 * the cost here), 64-bit otherwise. Same-shape inputs take a flat path without division.
 *
 * Semantics follow the CPU kernels (src/backend/cpu/ew.c, ew_cast.c): f16/bf16 compute in f32
 * and round to nearest even on store; integer arithmetic wraps (computed unsigned); NaN passes
 * through Relu/Clip and propagates through Max/Min. No fast-math: the libdevice functions used
 * (expf, tanhf, erff, powf, ...) are within a few ulp of the correctly rounded result.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "backend/cuda/kernels/ew.h"
#include "core/dtype.h"

#define EW_THREADS 256
#define EW_MAX_BLOCKS 65535

typedef __half f16;
typedef __nv_bfloat16 bf16;

static unsigned grid_for(int64_t n)
{
    int64_t b = (n + EW_THREADS - 1) / EW_THREADS;
    return (unsigned)(b > EW_MAX_BLOCKS ? EW_MAX_BLOCKS : b);
}

/* ---- dtype traits: compute type C, unsigned twin U for wrap-around ------------------------- */

template <typename T> struct io;
template <> struct io<float> {
    typedef float C;
    typedef float U;
    static __device__ __forceinline__ float ld(float v) { return v; }
    static __device__ __forceinline__ float st(float v) { return v; }
};
template <> struct io<f16> {
    typedef float C;
    typedef float U;
    static __device__ __forceinline__ float ld(f16 v) { return __half2float(v); }
    static __device__ __forceinline__ f16 st(float v) { return __float2half_rn(v); }
};
template <> struct io<bf16> {
    typedef float C;
    typedef float U;
    static __device__ __forceinline__ float ld(bf16 v) { return __bfloat162float(v); }
    static __device__ __forceinline__ bf16 st(float v) { return __float2bfloat16_rn(v); }
};
template <> struct io<int32_t> {
    typedef int32_t C;
    typedef uint32_t U;
    static __device__ __forceinline__ int32_t ld(int32_t v) { return v; }
    static __device__ __forceinline__ int32_t st(int32_t v) { return v; }
};
template <> struct io<int64_t> {
    typedef int64_t C;
    typedef uint64_t U;
    static __device__ __forceinline__ int64_t ld(int64_t v) { return v; }
    static __device__ __forceinline__ int64_t st(int64_t v) { return v; }
};
template <> struct io<uint8_t> { /* bool */
    typedef uint8_t C;
    typedef uint8_t U;
    static __device__ __forceinline__ uint8_t ld(uint8_t v) { return v; }
    static __device__ __forceinline__ uint8_t st(uint8_t v) { return v; }
};

template <typename C> __device__ __forceinline__ bool is_nan(C v) { return v != v; }

/* ---- unary ops ------------------------------------------------------------------------------- */

__device__ __forceinline__ float sigmoid_f(float x)
{
    float e = expf(-fabsf(x));
    float r = 1.0f / (1.0f + e);
    return x >= 0.0f ? r : e * r;
}

__device__ __forceinline__ float softplus_f(float x)
{
    return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

__device__ __forceinline__ float clampf01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

/* Float ops: x is the f32 value (f16/bf16 widened). */
template <int OP> __device__ __forceinline__ float un_f(float x, const ew_uparams &p)
{
    switch (OP) {
    case EWU_ABS: return fabsf(x);
    case EWU_NEG: return -x;
    case EWU_EXP: return expf(x);
    case EWU_LOG: return logf(x);
    case EWU_SQRT: return sqrtf(x);
    case EWU_RECIP: return 1.0f / x;
    case EWU_SIN: return sinf(x);
    case EWU_COS: return cosf(x);
    case EWU_TANH: return tanhf(x);
    case EWU_SIGMOID: return sigmoid_f(x);
    case EWU_ERF: return erff(x);
    case EWU_CEIL: return ceilf(x);
    case EWU_FLOOR: return floorf(x);
    case EWU_ROUND: return rintf(x); /* half to even */
    case EWU_SIGN: return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;
    case EWU_RELU: return x < 0.0f ? 0.0f : x;
    case EWU_LEAKYRELU: return x < 0.0f ? p.alpha * x : x;
    case EWU_ELU: return x < 0.0f ? p.alpha * expm1f(x) : x;
    case EWU_SELU: return x <= 0.0f ? p.gamma * (p.alpha * expf(x) - p.alpha) : p.gamma * x;
    case EWU_CELU: return x > 0.0f ? x : p.alpha * expm1f(x / p.alpha);
    case EWU_HARDSIGMOID: return clampf01(p.alpha * x + p.beta);
    case EWU_HARDSWISH: return x * clampf01(x / 6.0f + 0.5f);
    case EWU_SOFTPLUS: return softplus_f(x);
    case EWU_SOFTSIGN: return x / (1.0f + fabsf(x));
    case EWU_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case EWU_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case EWU_SWISH: return x * sigmoid_f(p.alpha * x);
    case EWU_MISH: return x * tanhf(softplus_f(x));
    case EWU_TAN: return tanf(x);
    case EWU_ASIN: return asinf(x);
    case EWU_ACOS: return acosf(x);
    case EWU_ATAN: return atanf(x);
    case EWU_SINH: return sinhf(x);
    case EWU_COSH: return coshf(x);
    case EWU_ASINH: return asinhf(x);
    case EWU_ACOSH: return acoshf(x);
    case EWU_ATANH: return atanhf(x);
    case EWU_THRESHOLDEDRELU: return x > p.alpha ? x : 0.0f;
    case EWU_SHRINK: return x < -p.beta ? x + p.alpha : x > p.beta ? x - p.alpha : 0.0f;
    default: return x;
    }
}

/* Integer ops (Abs, Neg, Sign, Relu; Clip is separate). */
template <int OP, typename C, typename U> __device__ __forceinline__ C un_i(C x)
{
    switch (OP) {
    case EWU_ABS: return x < 0 ? (C)(U)((U)0 - (U)x) : x;
    case EWU_NEG: return (C)(U)((U)0 - (U)x);
    case EWU_SIGN: return (C)((x > 0) - (x < 0));
    case EWU_RELU: return x < 0 ? (C)0 : x;
    default: return x;
    }
}

template <int OP, typename T>
__global__ void __launch_bounds__(EW_THREADS) k_unary_f(const T *__restrict__ x, T *__restrict__ y,
                                                        int64_t n, ew_uparams p)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = io<T>::st(un_f<OP>(io<T>::ld(x[i]), p));
}

template <int OP, typename T>
__global__ void __launch_bounds__(EW_THREADS) k_unary_i(const T *__restrict__ x, T *__restrict__ y,
                                                        int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = un_i<OP, T, typename io<T>::U>(x[i]);
}

/* Float predicates to bool: IsNaN, IsInf. */
template <int OP, typename T>
__global__ void __launch_bounds__(EW_THREADS) k_unary_pred(const T *__restrict__ x,
                                                           uint8_t *__restrict__ y, int64_t n,
                                                           ew_uparams p)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float v = io<T>::ld(x[i]);
        if (OP == EWU_ISNAN) y[i] = v != v;
        else y[i] = isinf(v) && ((v > 0.0f && p.flag) || (v < 0.0f && p.flag2));
    }
}

__global__ void __launch_bounds__(EW_THREADS) k_not(const uint8_t *__restrict__ x,
                                                    uint8_t *__restrict__ y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = x[i] == 0;
}

/* Clip: bounds from the parameters, or read once per thread from device scalars. Compared in
 * the compute type after converting the bound the way the CPU does ((CT) of the f64/i64). */
template <typename T>
__global__ void __launch_bounds__(EW_THREADS) k_clip(const T *__restrict__ x, T *__restrict__ y,
                                                     int64_t n, ew_uparams p)
{
    typedef typename io<T>::C C;
    bool is_float = (C)0.5 != (C)0;
    C lo = 0, hi = 0;
    if (p.has_lo) lo = p.lo_dev ? io<T>::ld(*(const T *)p.lo_dev) : is_float ? (C)p.flo : (C)p.ilo;
    if (p.has_hi) hi = p.hi_dev ? io<T>::ld(*(const T *)p.hi_dev) : is_float ? (C)p.fhi : (C)p.ihi;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        C v = io<T>::ld(x[i]);
        if (p.has_lo && v < lo) v = lo;
        if (p.has_hi && v > hi) v = hi;
        y[i] = io<T>::st(v);
    }
}

/* ---- binary ops ------------------------------------------------------------------------------ */

template <int OP, typename C, typename U> __device__ __forceinline__ C bin_arith(C x, C y, int flag)
{
    constexpr bool is_float = (C)0.5 != (C)0;
    switch (OP) {
    case EWB_ADD: return is_float ? x + y : (C)(U)((U)x + (U)y);
    case EWB_SUB: return is_float ? x - y : (C)(U)((U)x - (U)y);
    case EWB_MUL: return is_float ? x * y : (C)(U)((U)x * (U)y);
    case EWB_DIV:
        if (is_float) return x / y;
        /* zero divisors are refused on the host; -1 is negation so INT_MIN / -1 wraps */
        if (y == 0) return 0;
        if (y == (C)-1) return (C)(U)((U)0 - (U)x);
        return x / y;
    case EWB_MAX: return (x > y || is_nan(x)) ? x : y;
    case EWB_MIN: return (x < y || is_nan(x)) ? x : y;
    case EWB_PRELU: return x < 0 ? (is_float ? y * x : (C)(U)((U)x * (U)y)) : x;
    default: return x;
    }
}

/* Mod: fmod=1 takes the dividend's sign (C's % and fmod); fmod=0 the divisor's (Python). */
__device__ __forceinline__ float mod_f(float x, float y, int fmod_)
{
    float r = fmodf(x, y);
    if (!fmod_ && r != 0.0f && ((r < 0.0f) != (y < 0.0f))) r += y;
    return r;
}
template <typename C> __device__ __forceinline__ C mod_i(C x, C y, int fmod_)
{
    if (y == 0) return 0; /* refused on the host */
    C r = y == (C)-1 ? (C)0 : (C)(x % y);
    if (!fmod_ && r != 0 && ((r < 0) != (y < 0))) r = (C)(r + y);
    return r;
}

template <int OP, typename C> __device__ __forceinline__ bool bin_cmp(C x, C y)
{
    switch (OP) {
    case EWB_EQ: return x == y;
    case EWB_LT: return x < y;
    case EWB_GT: return x > y;
    case EWB_LE: return x <= y;
    case EWB_GE: return x >= y;
    default: return false;
    }
}

template <typename C> struct is_flt { static constexpr bool v = false; };
template <> struct is_flt<float> { static constexpr bool v = true; };

/* One element of a binary op: loads a[ia], b[ib], stores y[i] (T, or bool for comparisons
 * and logic). */
template <int OP, typename T, typename TO>
__device__ __forceinline__ void bin_one(const T *a, const T *b, TO *y, int64_t i, int64_t ia, int64_t ib, int flag)
{
    typedef typename io<T>::C C;
    typedef typename io<T>::U U;
    C x = io<T>::ld(a[ia]), v = io<T>::ld(b[ib]);
    if constexpr (OP == EWB_EQ || OP == EWB_LT || OP == EWB_GT || OP == EWB_LE || OP == EWB_GE) {
        y[i] = bin_cmp<OP, C>(x, v);
    } else if constexpr (OP == EWB_AND || OP == EWB_OR || OP == EWB_XOR) {
        bool p = x != 0, q = v != 0;
        y[i] = OP == EWB_AND ? (p && q) : OP == EWB_OR ? (p || q) : (p != q);
    } else if constexpr (OP == EWB_POW) {
        y[i] = io<T>::st(powf(x, v));
    } else if constexpr (OP == EWB_MOD) {
        if constexpr (is_flt<C>::v) y[i] = io<T>::st(mod_f(x, v, flag));
        else y[i] = mod_i<C>(x, v, flag);
    } else {
        y[i] = io<T>::st(bin_arith<OP, C, U>(x, v, flag));
    }
}

/* Bool Equal compares truth values, not bytes. */
template <> __device__ __forceinline__ void bin_one<EWB_EQ, uint8_t, uint8_t>(const uint8_t *a, const uint8_t *b,
                                                                           uint8_t *y, int64_t i, int64_t ia,
                                                                           int64_t ib, int flag)
{
    y[i] = (a[ia] != 0) == (b[ib] != 0);
}

/* Offsets of output element i in up to three inputs. IDX: uint32_t or int64_t. */
template <typename IDX, int NIN>
__device__ __forceinline__ void bcast_offsets(int64_t i, const ew_bcast &bc, int64_t *off)
{
    IDX rem = (IDX)i;
    IDX o[NIN];
#pragma unroll
    for (int k = 0; k < NIN; k++) o[k] = 0;
    for (int d = bc.rank - 1; d >= 0; d--) {
        IDX dim = (IDX)bc.dims[d];
        IDX c = rem % dim;
        rem /= dim;
#pragma unroll
        for (int k = 0; k < NIN; k++) o[k] += c * (IDX)bc.st[k][d];
    }
#pragma unroll
    for (int k = 0; k < NIN; k++) off[k] = (int64_t)o[k];
}

/* mode 0: same shapes (flat); 1: broadcast, 32-bit indexes; 2: broadcast, 64-bit. */
template <int OP, typename T, typename TO>
__global__ void __launch_bounds__(EW_THREADS) k_binary(const T *__restrict__ a, const T *__restrict__ b,
                                                       TO *__restrict__ y, int64_t n, ew_bcast bc,
                                                       int mode, int flag)
{
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x, step = (int64_t)gridDim.x * blockDim.x;
    if (mode == 0) {
        for (; i < n; i += step) bin_one<OP, T, TO>(a, b, y, i, i, i, flag);
    } else if (mode == 1) {
        for (; i < n; i += step) {
            int64_t off[2];
            bcast_offsets<uint32_t, 2>(i, bc, off);
            bin_one<OP, T, TO>(a, b, y, i, off[0], off[1], flag);
        }
    } else {
        for (; i < n; i += step) {
            int64_t off[2];
            bcast_offsets<int64_t, 2>(i, bc, off);
            bin_one<OP, T, TO>(a, b, y, i, off[0], off[1], flag);
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(EW_THREADS) k_where(const uint8_t *__restrict__ c, const T *__restrict__ a,
                                                      const T *__restrict__ b, T *__restrict__ y, int64_t n,
                                                      ew_bcast bc, int mode)
{
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x, step = (int64_t)gridDim.x * blockDim.x;
    if (mode == 0) {
        for (; i < n; i += step) y[i] = c[i] ? a[i] : b[i];
    } else if (mode == 1) {
        for (; i < n; i += step) {
            int64_t off[3];
            bcast_offsets<uint32_t, 3>(i, bc, off);
            y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
        }
    } else {
        for (; i < n; i += step) {
            int64_t off[3];
            bcast_offsets<int64_t, 3>(i, bc, off);
            y[i] = c[off[0]] ? a[off[1]] : b[off[2]];
        }
    }
}

/* ---- Cast ------------------------------------------------------------------------------------ */

/* Float to integer as the CPU's f2i/f2u: NaN gives 0, out-of-range saturates to the 64-bit
 * range, then C conversion to the narrower type (wrap-around). */
__device__ __forceinline__ int64_t f2i(double v)
{
    if (v != v) return 0;
    if (v >= 9.2233720368547758e18) return INT64_MAX;
    if (v <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)v;
}
__device__ __forceinline__ uint64_t f2u(double v)
{
    if (v != v || v <= -1.0) return (uint64_t)f2i(v);
    if (v >= 1.8446744073709552e19) return UINT64_MAX;
    return (uint64_t)v;
}

/* double -> float rounded to odd, so the second rounding (to f16/bf16) is correct. */
__device__ __forceinline__ float f64_to_f32_odd(double d)
{
    float f = __double2float_rz(d);
    if ((double)f != d && !isinf(f) && d == d) f = __int_as_float(__float_as_int(f) | 1);
    return f;
}

__device__ __forceinline__ double ld_f64(int dt, const void *p, int64_t i)
{
    switch (dt) {
    case INGOT_DTYPE_F32: return ((const float *)p)[i];
    case INGOT_DTYPE_F64: return ((const double *)p)[i];
    case INGOT_DTYPE_F16: return __half2float(((const f16 *)p)[i]);
    case INGOT_DTYPE_BF16: return __bfloat162float(((const bf16 *)p)[i]);
    default: return 0.0;
    }
}

__device__ __forceinline__ int64_t ld_i64(int dt, const void *p, int64_t i)
{
    switch (dt) {
    case INGOT_DTYPE_U8: return ((const uint8_t *)p)[i];
    case INGOT_DTYPE_I8: return ((const int8_t *)p)[i];
    case INGOT_DTYPE_U16: return ((const uint16_t *)p)[i];
    case INGOT_DTYPE_I16: return ((const int16_t *)p)[i];
    case INGOT_DTYPE_I32: return ((const int32_t *)p)[i];
    case INGOT_DTYPE_I64: return ((const int64_t *)p)[i];
    case INGOT_DTYPE_U32: return ((const uint32_t *)p)[i];
    case INGOT_DTYPE_U64: return (int64_t)((const uint64_t *)p)[i];
    case INGOT_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    default: return 0;
    }
}

__device__ __forceinline__ bool is_fdt(int dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F64 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16;
}

__device__ __forceinline__ void st_i64(int dt, void *p, int64_t i, int64_t v)
{
    switch (dt) {
    case INGOT_DTYPE_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case INGOT_DTYPE_I8: ((int8_t *)p)[i] = (int8_t)v; break;
    case INGOT_DTYPE_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case INGOT_DTYPE_I16: ((int16_t *)p)[i] = (int16_t)v; break;
    case INGOT_DTYPE_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case INGOT_DTYPE_I64: ((int64_t *)p)[i] = v; break;
    case INGOT_DTYPE_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case INGOT_DTYPE_U64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    case INGOT_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: break;
    }
}

/* Mirrors cast_range() in cpu/ew_cast.c branch for branch. */
__global__ void __launch_bounds__(EW_THREADS) k_cast(int sdt, const void *__restrict__ x, int ddt,
                                                     void *__restrict__ y, int64_t n)
{
    bool sf = is_fdt(sdt), df = is_fdt(ddt);
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        if (ddt == INGOT_DTYPE_F16 || ddt == INGOT_DTYPE_BF16) {
            float f;
            if (sdt == INGOT_DTYPE_F32 || sdt == INGOT_DTYPE_F16 || sdt == INGOT_DTYPE_BF16) f = (float)ld_f64(sdt, x, i);
            else if (sdt == INGOT_DTYPE_U64) f = f64_to_f32_odd(__ull2double_rn(((const uint64_t *)x)[i]));
            else if (sf) f = f64_to_f32_odd(ld_f64(sdt, x, i));
            else f = f64_to_f32_odd(__ll2double_rn(ld_i64(sdt, x, i)));
            if (ddt == INGOT_DTYPE_F16) ((f16 *)y)[i] = __float2half_rn(f);
            else ((bf16 *)y)[i] = __float2bfloat16_rn(f);
        } else if (ddt == INGOT_DTYPE_F32 && !sf) {
            ((float *)y)[i] = sdt == INGOT_DTYPE_U64 ? __ull2float_rn(((const uint64_t *)x)[i])
                                                     : __ll2float_rn(ld_i64(sdt, x, i));
        } else if (df || sf) {
            double v = sf ? ld_f64(sdt, x, i)
                          : sdt == INGOT_DTYPE_U64 ? __ull2double_rn(((const uint64_t *)x)[i])
                                                   : __ll2double_rn(ld_i64(sdt, x, i));
            switch (ddt) {
            case INGOT_DTYPE_F32: ((float *)y)[i] = __double2float_rn(v); break;
            case INGOT_DTYPE_F64: ((double *)y)[i] = v; break;
            case INGOT_DTYPE_U32: ((uint32_t *)y)[i] = (uint32_t)f2u(v); break;
            case INGOT_DTYPE_U64: ((uint64_t *)y)[i] = f2u(v); break;
            case INGOT_DTYPE_BOOL: ((uint8_t *)y)[i] = v != 0.0; break;
            default: st_i64(ddt, y, i, f2i(v)); break;
            }
        } else {
            st_i64(ddt, y, i, ld_i64(sdt, x, i)); /* u64 -> narrower: same bits either way */
        }
    }
}

/* The hot casts of mixed precision, without the per-element dtype switch. */
template <typename S, typename D>
__global__ void __launch_bounds__(EW_THREADS) k_cast_ff(const S *__restrict__ x, D *__restrict__ y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = io<D>::st(io<S>::ld(x[i]));
}

/* ---- launchers ------------------------------------------------------------------------------- */

static int launched(void) { return (int)cudaGetLastError(); }

#define UN_FLOAT_OPS(X)                                                                          \
    X(EWU_ABS) X(EWU_NEG) X(EWU_EXP) X(EWU_LOG) X(EWU_SQRT) X(EWU_RECIP) X(EWU_SIN) X(EWU_COS)   \
    X(EWU_TANH) X(EWU_SIGMOID) X(EWU_ERF) X(EWU_CEIL) X(EWU_FLOOR) X(EWU_ROUND) X(EWU_SIGN)      \
    X(EWU_RELU) X(EWU_LEAKYRELU) X(EWU_ELU) X(EWU_SELU) X(EWU_CELU) X(EWU_HARDSIGMOID)          \
    X(EWU_HARDSWISH) X(EWU_SOFTPLUS) X(EWU_SOFTSIGN) X(EWU_GELU) X(EWU_GELU_TANH) X(EWU_SWISH)  \
    X(EWU_MISH) X(EWU_TAN) X(EWU_ASIN) X(EWU_ACOS) X(EWU_ATAN) X(EWU_SINH) X(EWU_COSH) X(EWU_ASINH)     \
    X(EWU_ACOSH) X(EWU_ATANH) X(EWU_THRESHOLDEDRELU) X(EWU_SHRINK)

static int is_float_dt(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }
static int is_int_dt(int dt) { return dt == INGOT_DTYPE_I32 || dt == INGOT_DTYPE_I64; }

extern "C" int ew_unary_supported(int op, int dt)
{
    switch (op) {
    case EWU_ABS: case EWU_NEG: case EWU_SIGN: case EWU_RELU: case EWU_CLIP:
        return is_float_dt(dt) || is_int_dt(dt);
    case EWU_NOT: return dt == INGOT_DTYPE_BOOL;
    default: return op >= 0 && op < EWU_COUNT && is_float_dt(dt);
    }
}

template <typename T> static void unary_float(int op, const void *x, void *y, int64_t n, const ew_uparams &p, cudaStream_t s)
{
    unsigned g = grid_for(n);
    switch (op) {
#define X(OP) case OP: k_unary_f<OP, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n, p); break;
        UN_FLOAT_OPS(X)
#undef X
    case EWU_ISNAN: k_unary_pred<EWU_ISNAN, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (uint8_t *)y, n, p); break;
    case EWU_ISINF: k_unary_pred<EWU_ISINF, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (uint8_t *)y, n, p); break;
    case EWU_CLIP: k_clip<T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n, p); break;
    default: break;
    }
}

template <typename T> static void unary_int(int op, const void *x, void *y, int64_t n, const ew_uparams &p, cudaStream_t s)
{
    unsigned g = grid_for(n);
    switch (op) {
    case EWU_ABS: k_unary_i<EWU_ABS, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n); break;
    case EWU_NEG: k_unary_i<EWU_NEG, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n); break;
    case EWU_SIGN: k_unary_i<EWU_SIGN, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n); break;
    case EWU_RELU: k_unary_i<EWU_RELU, T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n); break;
    case EWU_CLIP: k_clip<T><<<g, EW_THREADS, 0, s>>>((const T *)x, (T *)y, n, p); break;
    default: break;
    }
}

extern "C" int ew_launch_unary(int op, int dt, const void *x, void *y, int64_t n, const ew_uparams *p, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    if (n <= 0) return 0;
    if (!ew_unary_supported(op, dt)) return (int)cudaErrorInvalidValue;
    switch (dt) {
    case INGOT_DTYPE_F32: unary_float<float>(op, x, y, n, *p, s); break;
    case INGOT_DTYPE_F16: unary_float<f16>(op, x, y, n, *p, s); break;
    case INGOT_DTYPE_BF16: unary_float<bf16>(op, x, y, n, *p, s); break;
    case INGOT_DTYPE_I32: unary_int<int32_t>(op, x, y, n, *p, s); break;
    case INGOT_DTYPE_I64: unary_int<int64_t>(op, x, y, n, *p, s); break;
    case INGOT_DTYPE_BOOL: k_not<<<grid_for(n), EW_THREADS, 0, s>>>((const uint8_t *)x, (uint8_t *)y, n); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return launched();
}

extern "C" int ew_binary_supported(int op, int dt)
{
    switch (op) {
    case EWB_ADD: case EWB_SUB: case EWB_MUL: case EWB_DIV: case EWB_MAX: case EWB_MIN:
    case EWB_MOD: case EWB_PRELU: case EWB_LT: case EWB_GT: case EWB_LE: case EWB_GE:
        return is_float_dt(dt) || is_int_dt(dt);
    case EWB_EQ: return is_float_dt(dt) || is_int_dt(dt) || dt == INGOT_DTYPE_BOOL;
    case EWB_POW: return is_float_dt(dt);
    case EWB_AND: case EWB_OR: case EWB_XOR: return dt == INGOT_DTYPE_BOOL;
    default: return 0;
    }
}

/* Every offset and the element count below 2^31: the divisions can be 32-bit. */
static int bcast_mode(const ew_bcast *bc, int n_in, int64_t n)
{
    if (!bc || bc->rank == 0) return 0;
    if (n >= ((int64_t)1 << 31)) return 2;
    for (int k = 0; k < n_in; k++) {
        int64_t span = 0;
        for (int d = 0; d < bc->rank; d++) span += (bc->dims[d] - 1) * bc->st[k][d];
        if (span >= ((int64_t)1 << 31)) return 2;
    }
    return 1;
}

#define BIN_LAUNCH(OP, T, TO)                                                                    \
    k_binary<OP, T, TO><<<g, EW_THREADS, 0, s>>>((const T *)a, (const T *)b, (TO *)y, n, bcv, mode, flag)

template <typename T>
static void binary_num(int op, const void *a, const void *b, void *y, int64_t n, const ew_bcast &bcv, int mode,
                       int flag, cudaStream_t s)
{
    unsigned g = grid_for(n);
    switch (op) {
    case EWB_ADD: BIN_LAUNCH(EWB_ADD, T, T); break;
    case EWB_SUB: BIN_LAUNCH(EWB_SUB, T, T); break;
    case EWB_MUL: BIN_LAUNCH(EWB_MUL, T, T); break;
    case EWB_DIV: BIN_LAUNCH(EWB_DIV, T, T); break;
    case EWB_MAX: BIN_LAUNCH(EWB_MAX, T, T); break;
    case EWB_MIN: BIN_LAUNCH(EWB_MIN, T, T); break;
    case EWB_MOD: BIN_LAUNCH(EWB_MOD, T, T); break;
    case EWB_PRELU: BIN_LAUNCH(EWB_PRELU, T, T); break;
    case EWB_EQ: BIN_LAUNCH(EWB_EQ, T, uint8_t); break;
    case EWB_LT: BIN_LAUNCH(EWB_LT, T, uint8_t); break;
    case EWB_GT: BIN_LAUNCH(EWB_GT, T, uint8_t); break;
    case EWB_LE: BIN_LAUNCH(EWB_LE, T, uint8_t); break;
    case EWB_GE: BIN_LAUNCH(EWB_GE, T, uint8_t); break;
    default: break;
    }
}

template <typename T>
static void binary_float(int op, const void *a, const void *b, void *y, int64_t n, const ew_bcast &bcv, int mode,
                         int flag, cudaStream_t s)
{
    unsigned g = grid_for(n);
    if (op == EWB_POW) BIN_LAUNCH(EWB_POW, T, T);
    else binary_num<T>(op, a, b, y, n, bcv, mode, flag, s);
}

static void binary_bool(int op, const void *a, const void *b, void *y, int64_t n, const ew_bcast &bcv, int mode,
                        int flag, cudaStream_t s)
{
    unsigned g = grid_for(n);
    switch (op) {
    case EWB_EQ: BIN_LAUNCH(EWB_EQ, uint8_t, uint8_t); break;
    case EWB_AND: BIN_LAUNCH(EWB_AND, uint8_t, uint8_t); break;
    case EWB_OR: BIN_LAUNCH(EWB_OR, uint8_t, uint8_t); break;
    case EWB_XOR: BIN_LAUNCH(EWB_XOR, uint8_t, uint8_t); break;
    default: break;
    }
}

extern "C" int ew_launch_binary(int op, int dt, const void *a, const void *b, void *y, int64_t n, const ew_bcast *bc,
                                int flag, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    if (n <= 0) return 0;
    if (!ew_binary_supported(op, dt)) return (int)cudaErrorInvalidValue;
    ew_bcast bcv;
    if (bc) bcv = *bc;
    else bcv.rank = 0;
    int mode = bcast_mode(&bcv, 2, n);
    switch (dt) {
    case INGOT_DTYPE_F32: binary_float<float>(op, a, b, y, n, bcv, mode, flag, s); break;
    case INGOT_DTYPE_F16: binary_float<f16>(op, a, b, y, n, bcv, mode, flag, s); break;
    case INGOT_DTYPE_BF16: binary_float<bf16>(op, a, b, y, n, bcv, mode, flag, s); break;
    case INGOT_DTYPE_I32: binary_num<int32_t>(op, a, b, y, n, bcv, mode, flag, s); break;
    case INGOT_DTYPE_I64: binary_num<int64_t>(op, a, b, y, n, bcv, mode, flag, s); break;
    case INGOT_DTYPE_BOOL: binary_bool(op, a, b, y, n, bcv, mode, flag, s); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return launched();
}

extern "C" int ew_launch_where(size_t esz, const void *cond, const void *a, const void *b, void *y, int64_t n,
                               const ew_bcast *bc, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    if (n <= 0) return 0;
    ew_bcast bcv;
    if (bc) bcv = *bc;
    else bcv.rank = 0;
    int mode = bcast_mode(&bcv, 3, n);
    unsigned g = grid_for(n);
    const uint8_t *c = (const uint8_t *)cond;
    switch (esz) {
    case 1: k_where<uint8_t><<<g, EW_THREADS, 0, s>>>(c, (const uint8_t *)a, (const uint8_t *)b, (uint8_t *)y, n, bcv, mode); break;
    case 2: k_where<uint16_t><<<g, EW_THREADS, 0, s>>>(c, (const uint16_t *)a, (const uint16_t *)b, (uint16_t *)y, n, bcv, mode); break;
    case 4: k_where<uint32_t><<<g, EW_THREADS, 0, s>>>(c, (const uint32_t *)a, (const uint32_t *)b, (uint32_t *)y, n, bcv, mode); break;
    case 8: k_where<uint64_t><<<g, EW_THREADS, 0, s>>>(c, (const uint64_t *)a, (const uint64_t *)b, (uint64_t *)y, n, bcv, mode); break;
    default: return (int)cudaErrorInvalidValue;
    }
    return launched();
}

static int cast_dt_ok(int dt)
{
    switch (dt) {
    case INGOT_DTYPE_F32: case INGOT_DTYPE_F64: case INGOT_DTYPE_F16: case INGOT_DTYPE_BF16:
    case INGOT_DTYPE_U8: case INGOT_DTYPE_I8: case INGOT_DTYPE_U16: case INGOT_DTYPE_I16:
    case INGOT_DTYPE_I32: case INGOT_DTYPE_I64: case INGOT_DTYPE_U32: case INGOT_DTYPE_U64:
    case INGOT_DTYPE_BOOL:
        return 1;
    default: return 0;
    }
}

extern "C" int ew_cast_supported(int sdt, int ddt) { return cast_dt_ok(sdt) && cast_dt_ok(ddt); }

static size_t dt_size(int dt)
{
    switch (dt) {
    case INGOT_DTYPE_F64: case INGOT_DTYPE_I64: case INGOT_DTYPE_U64: return 8;
    case INGOT_DTYPE_F32: case INGOT_DTYPE_I32: case INGOT_DTYPE_U32: return 4;
    case INGOT_DTYPE_F16: case INGOT_DTYPE_BF16: case INGOT_DTYPE_I16: case INGOT_DTYPE_U16: return 2;
    default: return 1;
    }
}

extern "C" int ew_launch_cast(int sdt, int ddt, const void *x, void *y, int64_t n, void *stream)
{
    cudaStream_t s = (cudaStream_t)stream;
    if (n <= 0) return 0;
    if (!ew_cast_supported(sdt, ddt)) return (int)cudaErrorInvalidValue;
    if (sdt == ddt) return (int)cudaMemcpyAsync(y, x, (size_t)n * dt_size(sdt), cudaMemcpyDeviceToDevice, s);
    unsigned g = grid_for(n);
    if (sdt == INGOT_DTYPE_F32 && ddt == INGOT_DTYPE_F16)
        k_cast_ff<float, f16><<<g, EW_THREADS, 0, s>>>((const float *)x, (f16 *)y, n);
    else if (sdt == INGOT_DTYPE_F16 && ddt == INGOT_DTYPE_F32)
        k_cast_ff<f16, float><<<g, EW_THREADS, 0, s>>>((const f16 *)x, (float *)y, n);
    else if (sdt == INGOT_DTYPE_F32 && ddt == INGOT_DTYPE_BF16)
        k_cast_ff<float, bf16><<<g, EW_THREADS, 0, s>>>((const float *)x, (bf16 *)y, n);
    else if (sdt == INGOT_DTYPE_BF16 && ddt == INGOT_DTYPE_F32)
        k_cast_ff<bf16, float><<<g, EW_THREADS, 0, s>>>((const bf16 *)x, (float *)y, n);
    else
        k_cast<<<g, EW_THREADS, 0, s>>>(sdt, x, ddt, y, n);
    return launched();
}

extern "C" int ew_launch_copy(void *dst, const void *src, size_t bytes, void *stream)
{
    if (!bytes || dst == src) return 0;
    return (int)cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, (cudaStream_t)stream);
}

extern "C" int ew_launch_fill(void *dst, int byte, size_t bytes, void *stream)
{
    if (!bytes) return 0;
    return (int)cudaMemsetAsync(dst, byte, bytes, (cudaStream_t)stream);
}
