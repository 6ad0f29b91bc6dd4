/* CPU kernels for the elementwise family: unary math and activations, binary arithmetic,
 * comparisons, logic and bitwise ops with numpy broadcasting, variadic Max/Min/Sum/Mean, Where,
 * Clip, PRelu, Pow, Identity and Dropout (inference). Casts and (de)quantization live in
 * ew_cast.c; this file holds the table.
 *
 * Every op is a "row" function per dtype, generated from one expression by the GEN_* macros:
 * floats compute in their own type (f16/bf16 in f32, rounded on store), integers in integer
 * arithmetic with wrap-around done in the unsigned type (no signed-overflow UB). ew_apply()
 * maps any broadcast onto rows: it coalesces dims so the innermost row is as long as possible,
 * and every input's row stride is then 0 (broadcast) or 1 (contiguous), which the row
 * functions specialise on. Rows are split into chunks and run with OpenMP when large.
 */
#include <stdint.h>
#include <string.h>
#include <tgmath.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/ew_internal.h"
#include "ir/infer_ew.h"

#define EW_PAR_MIN 32768 /* elements: below this, threads cost more than they save */
#define EW_CHUNK 16384   /* elements per task when a single row is long */
#define EW_MAX_IN 3

typedef struct ew_params {
    double alpha, beta, gamma; /* float attributes (meaning per op) */
    int64_t ilo, ihi;          /* Clip bounds for integer dtypes, as the dtype's bits */
    double flo, fhi;           /* Clip bounds for float dtypes */
    int has_lo, has_hi;
    int flag, flag2;           /* Mod fmod; IsInf detect_positive/_negative; Gelu tanh; copy
                                * row: element bytes */
    int dt[EW_MAX_IN], dt_out; /* dtypes, for the mixed-dtype rows (Pow) */
} ew_params;

/* One row: n output elements; in[k] advances by st[k] (0 or 1) elements per output. */
typedef void (*ew_row)(const void *const *in, const int64_t *st, void *out, int64_t n,
                       const ew_params *p);

/* ---- the broadcast driver ---------------------------------------------------------------- */

static ingot_status ew_apply(const ir_node *node, const ing_tensor *const *ins, int n,
                             ing_tensor *out, ew_row fn, const ew_params *p)
{
    int32_t r = out->rank;
    int64_t st[EW_MAX_IN][IR_MAX_RANK];
    size_t esz[EW_MAX_IN];
    size_t osz = ingot_dtype_size((ingot_dtype)out->dtype);
    if (n > EW_MAX_IN) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "too many inputs (%d)", n);
    for (int k = 0; k < n; k++) {
        const ing_tensor *t = ins[k];
        esz[k] = ingot_dtype_size((ingot_dtype)t->dtype);
        if (t->rank > r) {
            char sa[96], sb[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input shape %s does not broadcast to output "
                                "shape %s", ing_shape_str(t, sa, sizeof sa), ing_shape_str(out, sb, sizeof sb));
        }
        int64_t s = 1;
        for (int32_t d = r - 1; d >= 0; d--) {
            int32_t td = d - (r - t->rank);
            int64_t dim = td >= 0 ? t->dims[td] : 1;
            if (dim == out->dims[d] && dim != 1) st[k][d] = s;
            else if (dim == 1) st[k][d] = 0;
            else {
                char sa[96], sb[96];
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d shape %s does not broadcast to "
                                    "output shape %s (dim %d: %lld vs %lld)", k,
                                    ing_shape_str(t, sa, sizeof sa), ing_shape_str(out, sb, sizeof sb),
                                    d, (long long)dim, (long long)out->dims[d]);
            }
            s *= dim;
        }
    }
    int64_t total = ing_numel(out);
    if (total <= 0) return INGOT_OK;

    /* Coalesce: drop size-1 dims; merge d into the previous kept dim when every input steps
     * through both as one (both broadcast, or contiguous across the boundary). */
    int nd = 0;
    int64_t dims[IR_MAX_RANK], cst[EW_MAX_IN][IR_MAX_RANK];
    for (int32_t d = 0; d < r; d++) {
        if (out->dims[d] == 1) continue;
        int merge = nd > 0;
        for (int k = 0; k < n && merge; k++)
            if (cst[k][nd - 1] != st[k][d] * out->dims[d]) merge = 0;
        if (merge) {
            dims[nd - 1] *= out->dims[d];
            for (int k = 0; k < n; k++) cst[k][nd - 1] = st[k][d];
        } else {
            dims[nd] = out->dims[d];
            for (int k = 0; k < n; k++) cst[k][nd] = st[k][d];
            nd++;
        }
    }
    if (nd == 0) {
        nd = 1;
        dims[0] = 1;
        for (int k = 0; k < n; k++) cst[k][0] = 0;
    }
    int64_t inner = dims[nd - 1];
    int64_t sin[EW_MAX_IN];
    for (int k = 0; k < n; k++) sin[k] = cst[k][nd - 1];
    int64_t rows = total / inner;
    int64_t chunk = inner, nchunk = 1;
    if (total >= EW_PAR_MIN && inner > 2 * EW_CHUNK) {
        chunk = EW_CHUNK;
        nchunk = (inner + chunk - 1) / chunk;
    }
    int64_t tasks = rows * nchunk;
    char *obase = out->data;

#pragma omp parallel for schedule(static) if (total >= EW_PAR_MIN && tasks > 1)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t row = t / nchunk, c = t % nchunk;
        int64_t off[EW_MAX_IN] = {0};
        int64_t rem = row;
        for (int d = nd - 2; d >= 0; d--) {
            int64_t i = rem % dims[d];
            rem /= dims[d];
            for (int k = 0; k < n; k++) off[k] += i * cst[k][d];
        }
        int64_t start = c * chunk;
        int64_t len = inner - start < chunk ? inner - start : chunk;
        const void *ptrs[EW_MAX_IN];
        for (int k = 0; k < n; k++)
            ptrs[k] = (const char *)ins[k]->data + (size_t)(off[k] + start * sin[k]) * esz[k];
        fn(ptrs, sin, obase + (size_t)(row * inner + start) * osz, len, p);
    }
    return INGOT_OK;
}

/* ---- row generators ----------------------------------------------------------------------- */

#define EW_ID(v) (v)

/* Unary: expression of x (type CT) and p. UT is the unsigned type for wrap-around. */
#define ROW1(name, TI, TO, C, U, LD, ST, ...)                                                     \
    static void name(const void *const *in_, const int64_t *st_, void *out_, int64_t n_,         \
                     const ew_params *p)                                                         \
    {                                                                                            \
        typedef C CT __attribute__((unused));                                                    \
        typedef U UT __attribute__((unused));                                                    \
        const TI *a_ = in_[0];                                                                   \
        TO *o_ = out_;                                                                           \
        (void)p;                                                                                 \
        if (st_[0]) {                                                                            \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                \
                CT x = LD(a_[i_]);                                                               \
                o_[i_] = ST(__VA_ARGS__);                                                        \
            }                                                                                    \
        } else {                                                                                 \
            CT x = LD(a_[0]);                                                                    \
            TO v_ = ST(__VA_ARGS__);                                                             \
            for (int64_t i_ = 0; i_ < n_; i_++) o_[i_] = v_;                                     \
        }                                                                                        \
    }

/* Binary: expression of x, y (type CT) and p; the four stride cases get their own loops so the
 * same-shape and scalar cases vectorise. */
#define ROW2(name, TI, TO, C, U, LD, ST, ...)                                                     \
    static void name(const void *const *in_, const int64_t *st_, void *out_, int64_t n_,         \
                     const ew_params *p)                                                         \
    {                                                                                            \
        typedef C CT __attribute__((unused));                                                    \
        typedef U UT __attribute__((unused));                                                    \
        const TI *a_ = in_[0], *b_ = in_[1];                                                     \
        TO *o_ = out_;                                                                           \
        (void)p;                                                                                 \
        if (st_[0] && st_[1]) {                                                                  \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                \
                CT x = LD(a_[i_]), y = LD(b_[i_]);                                               \
                o_[i_] = ST(__VA_ARGS__);                                                        \
            }                                                                                    \
        } else if (st_[0]) {                                                                     \
            CT y = LD(b_[0]);                                                                    \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                \
                CT x = LD(a_[i_]);                                                               \
                o_[i_] = ST(__VA_ARGS__);                                                        \
            }                                                                                    \
        } else if (st_[1]) {                                                                     \
            CT x = LD(a_[0]);                                                                    \
            for (int64_t i_ = 0; i_ < n_; i_++) {                                                \
                CT y = LD(b_[i_]);                                                               \
                o_[i_] = ST(__VA_ARGS__);                                                        \
            }                                                                                    \
        } else {                                                                                 \
            CT x = LD(a_[0]), y = LD(b_[0]);                                                     \
            TO v_ = ST(__VA_ARGS__);                                                             \
            for (int64_t i_ = 0; i_ < n_; i_++) o_[i_] = v_;                                     \
        }                                                                                        \
    }

#define GEN_F(M, op, ...)                                                                        \
    M(op##_f32, float, float, float, float, EW_ID, EW_ID, __VA_ARGS__)                           \
    M(op##_f64, double, double, double, double, EW_ID, EW_ID, __VA_ARGS__)                       \
    M(op##_f16, uint16_t, uint16_t, float, float, ing_f16_to_f32, ing_f32_to_f16, __VA_ARGS__)   \
    M(op##_bf16, uint16_t, uint16_t, float, float, ing_bf16_to_f32, ing_f32_to_bf16, __VA_ARGS__)
#define GEN_F_B(M, op, ...)                                                                      \
    M(op##_f32, float, uint8_t, float, float, EW_ID, EW_ID, __VA_ARGS__)                         \
    M(op##_f64, double, uint8_t, double, double, EW_ID, EW_ID, __VA_ARGS__)                      \
    M(op##_f16, uint16_t, uint8_t, float, float, ing_f16_to_f32, EW_ID, __VA_ARGS__)             \
    M(op##_bf16, uint16_t, uint8_t, float, float, ing_bf16_to_f32, EW_ID, __VA_ARGS__)
#define GEN_SI_(M, op, TO8, TO16, TO32, TO64, ...)                                               \
    M(op##_i8, int8_t, TO8, int8_t, uint8_t, EW_ID, EW_ID, __VA_ARGS__)                          \
    M(op##_i16, int16_t, TO16, int16_t, uint16_t, EW_ID, EW_ID, __VA_ARGS__)                     \
    M(op##_i32, int32_t, TO32, int32_t, uint32_t, EW_ID, EW_ID, __VA_ARGS__)                     \
    M(op##_i64, int64_t, TO64, int64_t, uint64_t, EW_ID, EW_ID, __VA_ARGS__)
#define GEN_UI_(M, op, TO8, TO16, TO32, TO64, ...)                                               \
    M(op##_u8, uint8_t, TO8, uint8_t, uint8_t, EW_ID, EW_ID, __VA_ARGS__)                        \
    M(op##_u16, uint16_t, TO16, uint16_t, uint16_t, EW_ID, EW_ID, __VA_ARGS__)                   \
    M(op##_u32, uint32_t, TO32, uint32_t, uint32_t, EW_ID, EW_ID, __VA_ARGS__)                   \
    M(op##_u64, uint64_t, TO64, uint64_t, uint64_t, EW_ID, EW_ID, __VA_ARGS__)
#define GEN_SI(M, op, ...) GEN_SI_(M, op, int8_t, int16_t, int32_t, int64_t, __VA_ARGS__)
#define GEN_UI(M, op, ...) GEN_UI_(M, op, uint8_t, uint16_t, uint32_t, uint64_t, __VA_ARGS__)
#define GEN_SI_B(M, op, ...) GEN_SI_(M, op, uint8_t, uint8_t, uint8_t, uint8_t, __VA_ARGS__)
#define GEN_UI_B(M, op, ...) GEN_UI_(M, op, uint8_t, uint8_t, uint8_t, uint8_t, __VA_ARGS__)
#define GEN_B(M, op, ...) M(op##_b, uint8_t, uint8_t, uint8_t, uint8_t, EW_ID, EW_ID, __VA_ARGS__)

#define TBL_F(op)                                                                                \
    [INGOT_DTYPE_F32] = op##_f32, [INGOT_DTYPE_F64] = op##_f64, [INGOT_DTYPE_F16] = op##_f16,    \
    [INGOT_DTYPE_BF16] = op##_bf16
#define TBL_SI(op)                                                                               \
    [INGOT_DTYPE_I8] = op##_i8, [INGOT_DTYPE_I16] = op##_i16, [INGOT_DTYPE_I32] = op##_i32,      \
    [INGOT_DTYPE_I64] = op##_i64
#define TBL_UI(op)                                                                               \
    [INGOT_DTYPE_U8] = op##_u8, [INGOT_DTYPE_U16] = op##_u16, [INGOT_DTYPE_U32] = op##_u32,      \
    [INGOT_DTYPE_U64] = op##_u64
#define TBL_B(op) [INGOT_DTYPE_BOOL] = op##_b

#define ROWS(op, ...) static const ew_row op##_rows[INGOT_DTYPE_COUNT] = {__VA_ARGS__};

/* Integer wrap-around: compute in the unsigned type; `1u *` keeps u8/u16 out of int. */
#define WADD(a, b) ((CT)(UT)((UT)(a) + 1u * (UT)(b)))
#define WSUB(a, b) ((CT)(UT)((UT)(a) - 1u * (UT)(b)))
#define WMUL(a, b) ((CT)(UT)((UT)(a) * 1u * (UT)(b)))
#define WNEG(a) ((CT)(UT)(0u - (UT)(a)))

static inline double sigmoid_d(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }
static inline float sigmoid_f(float x)
{
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}
#define SIGMOID(v) _Generic((v), double: sigmoid_d, default: sigmoid_f)(v)
#define SOFTPLUS(v) ((v) > 0 ? (v) + log1p(exp(-(v))) : log1p(exp(v)))

/* f32 activations in a form GCC vectorises (no calls, branches become blends): libm's expf and
 * tanhf are scalar calls and dominate Sigmoid/Tanh/Swish/Gelu on large tensors. */

/* Bitwise select: a ternary here lets GCC sink the arms into branches, which under the default
 * -ftrapping-math it then refuses to if-convert, and the loop stays scalar. */
static inline float ew_self(int c, float a, float b)
{
    uint32_t ua, ub, m = 0u - (uint32_t)(c != 0);
    memcpy(&ua, &a, 4);
    memcpy(&ub, &b, 4);
    uint32_t r = (ua & m) | (ub & ~m);
    float f;
    memcpy(&f, &r, 4);
    return f;
}

/* exp(x) = 2^n e^r with |r| <= ln2/2: Cephes' expf polynomial, 2^n applied in two halves so
 * n in [-150, 128] needs no special case (overflow gives inf, underflow 0 or a subnormal).
 * Measured against double exp on a sweep of all float bit patterns: within 1 ulp; the sigmoid
 * and tanh below within 3 and 2 ulp. */
static inline float ew_expf(float x)
{
    float xc = ew_self(x > 88.8f, 88.8f, x);
    xc = ew_self(xc < -104.0f, -104.0f, xc);
    xc = ew_self(x == x, xc, 0.0f);
    float t = xc * 1.44269504088896341f;
    int32_t n = (int32_t)(t + ew_self(t >= 0.0f, 0.5f, -0.5f));
    float fn = (float)n;
    float r = xc - fn * 0.693359375f + fn * 2.12194440e-4f;
    float p = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t n1 = n / 2, n2 = n - n1;
    uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, 4);
    memcpy(&s2, &b2, 4);
    y = y * s1 * s2;
    return ew_self(x == x, y, x);
}

/* e = exp(-|x|) keeps both branches free of overflow and accurate in relative terms. */
static inline float ew_sigmoidf(float x)
{
    float e = ew_expf(-fabsf(x));
    float r = 1.0f / (1.0f + e);
    return ew_self(x >= 0.0f, r, e * r);
}

/* Small |x|: Cephes' tanhf polynomial (no cancellation); else (1 - e) / (1 + e), e = exp(-2|x|). */
static inline float ew_tanhf(float x)
{
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float e = ew_expf(-2.0f * fabsf(x));
    float big = (1.0f - e) / (1.0f + e);
    big = ew_self(x < 0.0f, -big, big);
    return ew_self(fabsf(x) < 0.625f, small, big);
}

/* ---- unary ops ----------------------------------------------------------------------------- */

GEN_F(ROW1, abs, fabs(x))
GEN_SI(ROW1, abs, x < 0 ? WNEG(x) : x)
GEN_UI(ROW1, abs, x)
ROWS(abs, TBL_F(abs), TBL_SI(abs), TBL_UI(abs))

GEN_F(ROW1, neg, -x)
GEN_SI(ROW1, neg, WNEG(x))
ROWS(neg, TBL_F(neg), TBL_SI(neg))

#define UNARY_F(op, ...) GEN_F(ROW1, op, __VA_ARGS__) ROWS(op, TBL_F(op))
/* The hot activations: f32 rows use the vectorisable forms above, the other floats libm. */
#define UNARY_F_FAST(op, fast, ...)                                                              \
    ROW1(op##_f32, float, float, float, float, EW_ID, EW_ID, fast)                               \
    ROW1(op##_f64, double, double, double, double, EW_ID, EW_ID, __VA_ARGS__)                    \
    ROW1(op##_f16, uint16_t, uint16_t, float, float, ing_f16_to_f32, ing_f32_to_f16, __VA_ARGS__) \
    ROW1(op##_bf16, uint16_t, uint16_t, float, float, ing_bf16_to_f32, ing_f32_to_bf16, __VA_ARGS__) \
    ROWS(op, TBL_F(op))
UNARY_F(exp, exp(x))
UNARY_F(log, log(x))
UNARY_F(sqrt, sqrt(x))
UNARY_F(recip, (CT)1 / x)
UNARY_F(sin, sin(x))
UNARY_F(cos, cos(x))
UNARY_F(tan, tan(x))
UNARY_F(asin, asin(x))
UNARY_F(acos, acos(x))
UNARY_F(atan, atan(x))
UNARY_F(sinh, sinh(x))
UNARY_F(cosh, cosh(x))
UNARY_F(asinh, asinh(x))
UNARY_F(acosh, acosh(x))
UNARY_F(atanh, atanh(x))
UNARY_F(ceil, ceil(x))
UNARY_F(floor, floor(x))
UNARY_F(round, nearbyint(x)) /* default rounding mode: half to even */
UNARY_F(erf, erf(x))
UNARY_F_FAST(tanh, ew_tanhf(x), tanh(x))
UNARY_F(leakyrelu, x < 0 ? (CT)p->alpha * x : x)
UNARY_F(elu, x < 0 ? (CT)p->alpha * expm1(x) : x)
UNARY_F(selu, x <= 0 ? (CT)p->gamma * ((CT)p->alpha * exp(x) - (CT)p->alpha) : (CT)p->gamma * x)
UNARY_F(celu, x > 0 ? x : (CT)p->alpha * expm1(x / (CT)p->alpha))
UNARY_F_FAST(sigmoid, ew_sigmoidf(x), SIGMOID(x))
UNARY_F(hardsigmoid, ({
            CT v_ = (CT)p->alpha * x + (CT)p->beta;
            v_ < 0 ? (CT)0 : v_ > 1 ? (CT)1 : v_;
        }))
UNARY_F(hardswish, ({
            CT v_ = x / (CT)6 + (CT)0.5;
            x * (v_ < 0 ? (CT)0 : v_ > 1 ? (CT)1 : v_);
        }))
UNARY_F(softplus, SOFTPLUS(x))
UNARY_F(softsign, x / ((CT)1 + fabs(x)))
UNARY_F(thresholdedrelu, x > (CT)p->alpha ? x : (CT)0)
UNARY_F(mish, x * tanh(SOFTPLUS(x)))
UNARY_F(gelu, (CT)0.5 * x * ((CT)1 + erf(x * (CT)0.70710678118654752)))
UNARY_F_FAST(gelu_tanh, 0.5f * x * (1.0f + ew_tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x))),
             (CT)0.5 * x * ((CT)1 + tanh((CT)0.7978845608028654 * (x + (CT)0.044715 * x * x * x))))
UNARY_F_FAST(swish, x * ew_sigmoidf((float)p->alpha * x), x * SIGMOID((CT)p->alpha * x))
UNARY_F(scale, x * (CT)p->alpha) /* Mean's final division */

GEN_F(ROW1, sign, x > 0 ? (CT)1 : x < 0 ? (CT)-1 : x)
GEN_SI(ROW1, sign, (CT)((x > 0) - (x < 0)))
GEN_UI(ROW1, sign, (CT)(x > 0))
ROWS(sign, TBL_F(sign), TBL_SI(sign), TBL_UI(sign))

GEN_F(ROW1, relu, x < 0 ? (CT)0 : x)
GEN_SI(ROW1, relu, x < 0 ? (CT)0 : x)
ROWS(relu, TBL_F(relu), TBL_SI(relu))

/* Shrink on integers compares against the float lambd, as the reference does. */
GEN_F(ROW1, shrink, x < -(CT)p->beta ? x + (CT)p->alpha : x > (CT)p->beta ? x - (CT)p->alpha : (CT)0)
GEN_SI(ROW1, shrink, (CT)(x < -p->beta ? x + p->alpha : x > p->beta ? x - p->alpha : 0))
GEN_UI(ROW1, shrink, (CT)(x < -p->beta ? x + p->alpha : x > p->beta ? x - p->alpha : 0))
ROWS(shrink, TBL_F(shrink), TBL_SI(shrink), TBL_UI(shrink))

/* Clip: NaN passes through (comparisons with NaN are false); min > max gives max. */
GEN_F(ROW1, clip, ({
          CT v_ = x;
          if (p->has_lo && v_ < (CT)p->flo) v_ = (CT)p->flo;
          if (p->has_hi && v_ > (CT)p->fhi) v_ = (CT)p->fhi;
          v_;
      }))
#define CLIP_INT ({                                                                              \
    CT v_ = x;                                                                                   \
    if (p->has_lo && v_ < (CT)p->ilo) v_ = (CT)p->ilo;                                           \
    if (p->has_hi && v_ > (CT)p->ihi) v_ = (CT)p->ihi;                                           \
    v_;                                                                                          \
})
GEN_SI(ROW1, clip, CLIP_INT)
GEN_UI(ROW1, clip, CLIP_INT)
ROWS(clip, TBL_F(clip), TBL_SI(clip), TBL_UI(clip))

GEN_F_B(ROW1, isnan, isnan(x) != 0)
ROWS(isnan, TBL_F(isnan))
GEN_F_B(ROW1, isinf, isinf(x) && ((x > 0 && p->flag) || (x < 0 && p->flag2)))
ROWS(isinf, TBL_F(isinf))

GEN_B(ROW1, not, x == 0)
ROWS(not, TBL_B(not))
GEN_SI(ROW1, bnot, (CT)~x)
GEN_UI(ROW1, bnot, (CT)~x)
ROWS(bnot, TBL_SI(bnot), TBL_UI(bnot))

/* ---- binary ops ---------------------------------------------------------------------------- */

GEN_F(ROW2, add, x + y)
GEN_SI(ROW2, add, WADD(x, y))
GEN_UI(ROW2, add, WADD(x, y))
ROWS(add, TBL_F(add), TBL_SI(add), TBL_UI(add))

GEN_F(ROW2, sub, x - y)
GEN_SI(ROW2, sub, WSUB(x, y))
GEN_UI(ROW2, sub, WSUB(x, y))
ROWS(sub, TBL_F(sub), TBL_SI(sub), TBL_UI(sub))

GEN_F(ROW2, mul, x * y)
GEN_SI(ROW2, mul, WMUL(x, y))
GEN_UI(ROW2, mul, WMUL(x, y))
ROWS(mul, TBL_F(mul), TBL_SI(mul), TBL_UI(mul))

/* Integer division truncates; the kernel rejects zero divisors before it runs; x / -1 is
 * negation so INT_MIN / -1 wraps instead of trapping. */
GEN_F(ROW2, div, x / y)
GEN_SI(ROW2, div, y == -1 ? WNEG(x) : (CT)(x / y))
GEN_UI(ROW2, div, (CT)(x / y))
ROWS(div, TBL_F(div), TBL_SI(div), TBL_UI(div))

/* Mod: fmod=1 takes the dividend's sign (C's % and fmod); fmod=0 the divisor's (Python). */
GEN_F(ROW2, mod, ({
          CT r_ = fmod(x, y);
          if (!p->flag && r_ != 0 && ((r_ < 0) != (y < 0))) r_ += y;
          r_;
      }))
GEN_SI(ROW2, mod, ({
           CT r_ = y == -1 ? (CT)0 : (CT)(x % y);
           if (!p->flag && r_ != 0 && ((r_ < 0) != (y < 0))) r_ = (CT)(r_ + y);
           r_;
       }))
GEN_UI(ROW2, mod, (CT)(x % y))
ROWS(mod, TBL_F(mod), TBL_SI(mod), TBL_UI(mod))

GEN_F(ROW2, powf, pow(x, y))
ROWS(powf, TBL_F(powf))

/* NaN propagates through Max/Min, as numpy's maximum/minimum do. */
GEN_F(ROW2, max, (x > y || isnan(x)) ? x : y)
GEN_SI(ROW2, max, x > y ? x : y)
GEN_UI(ROW2, max, x > y ? x : y)
ROWS(max, TBL_F(max), TBL_SI(max), TBL_UI(max))

GEN_F(ROW2, min, (x < y || isnan(x)) ? x : y)
GEN_SI(ROW2, min, x < y ? x : y)
GEN_UI(ROW2, min, x < y ? x : y)
ROWS(min, TBL_F(min), TBL_SI(min), TBL_UI(min))

GEN_F(ROW2, prelu, x < 0 ? y * x : x)
GEN_SI(ROW2, prelu, x < 0 ? WMUL(x, y) : x)
GEN_UI(ROW2, prelu, x)
ROWS(prelu, TBL_F(prelu), TBL_SI(prelu), TBL_UI(prelu))

#define CMP(op, ...)                                                                             \
    GEN_F_B(ROW2, op, __VA_ARGS__)                                                               \
    GEN_SI_B(ROW2, op, __VA_ARGS__)                                                              \
    GEN_UI_B(ROW2, op, __VA_ARGS__)
CMP(eq, x == y)
GEN_B(ROW2, eq, (x != 0) == (y != 0))
ROWS(eq, TBL_F(eq), TBL_SI(eq), TBL_UI(eq), TBL_B(eq))
CMP(lt, x < y)
ROWS(lt, TBL_F(lt), TBL_SI(lt), TBL_UI(lt))
CMP(gt, x > y)
ROWS(gt, TBL_F(gt), TBL_SI(gt), TBL_UI(gt))
CMP(le, x <= y)
ROWS(le, TBL_F(le), TBL_SI(le), TBL_UI(le))
CMP(ge, x >= y)
ROWS(ge, TBL_F(ge), TBL_SI(ge), TBL_UI(ge))

GEN_B(ROW2, and, (x != 0) & (y != 0))
ROWS(and, TBL_B(and))
GEN_B(ROW2, or, (x != 0) | (y != 0))
ROWS(or, TBL_B(or))
GEN_B(ROW2, xor, (x != 0) ^ (y != 0))
ROWS(xor, TBL_B(xor))

GEN_SI(ROW2, band, (CT)(x & y))
GEN_UI(ROW2, band, (CT)(x & y))
ROWS(band, TBL_SI(band), TBL_UI(band))
GEN_SI(ROW2, bor, (CT)(x | y))
GEN_UI(ROW2, bor, (CT)(x | y))
ROWS(bor, TBL_SI(bor), TBL_UI(bor))
GEN_SI(ROW2, bxor, (CT)(x ^ y))
GEN_UI(ROW2, bxor, (CT)(x ^ y))
ROWS(bxor, TBL_SI(bxor), TBL_UI(bxor))

/* Shifts by the type's width or more give 0 rather than C's undefined behaviour. */
GEN_UI(ROW2, shl, (uint64_t)y >= 8 * sizeof(CT) ? (CT)0 : (CT)((1u * x) << y))
ROWS(shl, TBL_UI(shl))
GEN_UI(ROW2, shr, (uint64_t)y >= 8 * sizeof(CT) ? (CT)0 : (CT)(x >> y))
ROWS(shr, TBL_UI(shr))

/* Pow with mixed dtypes (the output has the base's dtype): integers by repeated squaring, so
 * int64 stays exact; anything with a float goes through double, as numpy promotes. */
static int64_t ipow(int64_t b, int64_t e)
{
    if (e < 0) return b == 1 ? 1 : b == -1 ? ((e & 1) ? -1 : 1) : 0;
    uint64_t r = 1, ub = (uint64_t)b;
    while (e) {
        if (e & 1) r *= ub;
        ub *= ub;
        e >>= 1;
    }
    return (int64_t)r;
}

static void pow_mixed(const void *const *in, const int64_t *st, void *out, int64_t n,
                      const ew_params *p)
{
    int ib = ing_dtype_is_int(p->dt[0]), ie = ing_dtype_is_int(p->dt[1]);
    for (int64_t i = 0; i < n; i++) {
        size_t a = (size_t)(i * st[0]), b = (size_t)(i * st[1]);
        if (ib && ie)
            ing_store_i64(p->dt_out, out, (size_t)i,
                          ipow(ing_load_i64(p->dt[0], in[0], a), ing_load_i64(p->dt[1], in[1], b)));
        else
            ing_store_f64(p->dt_out, out, (size_t)i,
                          pow(ing_load_f64(p->dt[0], in[0], a), ing_load_f64(p->dt[1], in[1], b)));
    }
}

/* Where by element size: the bytes are copied, whatever the dtype. */
#define WHERE_ROW(name, T)                                                                       \
    static void name(const void *const *in, const int64_t *st, void *out, int64_t n,             \
                     const ew_params *p)                                                         \
    {                                                                                            \
        const uint8_t *c = in[0];                                                                \
        const T *a = in[1], *b = in[2];                                                          \
        T *o = out;                                                                              \
        (void)p;                                                                                 \
        for (int64_t i = 0; i < n; i++) o[i] = c[i * st[0]] ? a[i * st[1]] : b[i * st[2]];       \
    }
WHERE_ROW(where1, uint8_t)
WHERE_ROW(where2, uint16_t)
WHERE_ROW(where4, uint32_t)
WHERE_ROW(where8, uint64_t)

/* ---- kernels ------------------------------------------------------------------------------- */

typedef struct ew_op {
    const char *op;
    const ew_row *rows; /* by the dtype of in[0] */
} ew_op;

static const ew_op ew_ops[] = {
    {"Abs", abs_rows},         {"Neg", neg_rows},         {"Exp", exp_rows},
    {"Log", log_rows},         {"Sqrt", sqrt_rows},       {"Reciprocal", recip_rows},
    {"Sin", sin_rows},         {"Cos", cos_rows},         {"Tan", tan_rows},
    {"Asin", asin_rows},       {"Acos", acos_rows},       {"Atan", atan_rows},
    {"Sinh", sinh_rows},       {"Cosh", cosh_rows},       {"Asinh", asinh_rows},
    {"Acosh", acosh_rows},     {"Atanh", atanh_rows},     {"Ceil", ceil_rows},
    {"Floor", floor_rows},     {"Round", round_rows},     {"Sign", sign_rows},
    {"Erf", erf_rows},         {"IsNaN", isnan_rows},     {"IsInf", isinf_rows},
    {"Not", not_rows},         {"BitwiseNot", bnot_rows}, {"Relu", relu_rows},
    {"LeakyRelu", leakyrelu_rows}, {"Elu", elu_rows},     {"Selu", selu_rows},
    {"Celu", celu_rows},       {"Sigmoid", sigmoid_rows}, {"HardSigmoid", hardsigmoid_rows},
    {"HardSwish", hardswish_rows}, {"Softplus", softplus_rows}, {"Softsign", softsign_rows},
    {"ThresholdedRelu", thresholdedrelu_rows}, {"Shrink", shrink_rows}, {"Mish", mish_rows},
    {"Gelu", gelu_rows},       {"Swish", swish_rows},     {"Tanh", tanh_rows},
    {"Clip", clip_rows},       {"PRelu", prelu_rows},
    {"Add", add_rows},         {"Sub", sub_rows},         {"Mul", mul_rows},
    {"Div", div_rows},         {"Mod", mod_rows},         {"Pow", powf_rows},
    {"And", and_rows},         {"Or", or_rows},           {"Xor", xor_rows},
    {"Equal", eq_rows},        {"Less", lt_rows},         {"Greater", gt_rows},
    {"LessOrEqual", le_rows},  {"GreaterOrEqual", ge_rows},
    {"BitwiseAnd", band_rows}, {"BitwiseOr", bor_rows},   {"BitwiseXor", bxor_rows},
    {"Max", max_rows},         {"Min", min_rows},         {"Sum", add_rows},
    {"Mean", add_rows},
    {NULL, NULL},
};

static ingot_status row_for(const ir_node *node, const ew_row *rows, int dt, ew_row *fn)
{
    *fn = dt >= 0 && dt < INGOT_DTYPE_COUNT ? rows[dt] : NULL;
    if (*fn) return INGOT_OK;
    return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s is not supported by this op",
                        ingot_dtype_name((ingot_dtype)dt));
}

static const ew_op *op_of(const ir_node *node)
{
    for (const ew_op *o = ew_ops; o->op; o++)
        if (strcmp(o->op, node->op) == 0) return o;
    return NULL;
}

/* Attributes into params; defaults per the ONNX spec. */
static ingot_status init_params(const ir_node *node, ew_params *p)
{
    memset(p, 0, sizeof *p);
    const char *op = node->op;
    if (!strcmp(op, "LeakyRelu")) p->alpha = ir_attr_float(node, "alpha", 0.01f);
    else if (!strcmp(op, "Elu") || !strcmp(op, "Celu") || !strcmp(op, "ThresholdedRelu") ||
             !strcmp(op, "Swish"))
        p->alpha = ir_attr_float(node, "alpha", 1.0f);
    else if (!strcmp(op, "Selu")) {
        p->alpha = ir_attr_float(node, "alpha", 1.67326319217681884765625f);
        p->gamma = ir_attr_float(node, "gamma", 1.05070102214813232421875f);
    } else if (!strcmp(op, "HardSigmoid")) {
        p->alpha = ir_attr_float(node, "alpha", 0.2f);
        p->beta = ir_attr_float(node, "beta", 0.5f);
    } else if (!strcmp(op, "Shrink")) {
        p->alpha = ir_attr_float(node, "bias", 0.0f);
        p->beta = ir_attr_float(node, "lambd", 0.5f);
    } else if (!strcmp(op, "Mod")) {
        int64_t f = ir_attr_int(node, "fmod", 0);
        if (f != 0 && f != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "fmod is %lld; allowed: 0 or 1", (long long)f);
        p->flag = (int)f;
    } else if (!strcmp(op, "IsInf")) {
        p->flag = ir_attr_int(node, "detect_positive", 1) != 0;
        p->flag2 = ir_attr_int(node, "detect_negative", 1) != 0;
    } else if (!strcmp(op, "Gelu")) {
        const char *a = ir_attr_string(node, "approximate", "none");
        if (!strcmp(a, "tanh")) p->flag = 1;
        else if (strcmp(a, "none") != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "approximate is '%s'; allowed: 'none', 'tanh'", a);
    }
    if (!strcmp(op, "Celu") && p->alpha == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "alpha is 0; Celu divides by it");
    return INGOT_OK;
}

/* Any zero in an integer divisor: integer Div and Mod have no defined result for it. */
static int has_int_zero(const ing_tensor *t)
{
    int64_t n = ing_numel(t);
    size_t sz = ingot_dtype_size((ingot_dtype)t->dtype);
    const uint8_t *b = t->data;
    for (int64_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < sz; j++)
            if (b[(size_t)i * sz + j]) break;
        if (j == sz) return 1;
    }
    return 0;
}

/* Unary and binary ops: one row table, attributes from init_params. */
static ingot_status k_map(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                          ing_tensor *const *out, int n_out)
{
    const ew_op *o = op_of(node);
    if (!o) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "no elementwise kernel");
    ew_params p;
    ING_TRY(init_params(node, &p));
    ew_row fn;
    /* Gelu's two forms are separate rows so neither loop carries a branch on the attribute */
    ING_TRY(row_for(node, p.flag && !strcmp(node->op, "Gelu") ? gelu_tanh_rows : o->rows,
                    in[0]->dtype, &fn));
    int n = n_in >= 2 && in[1] ? 2 : 1;
    if (n == 1) return ew_apply(node, in, 1, out[0], fn, &p);
    if (ing_dtype_is_int(in[1]->dtype) && (!strcmp(node->op, "Div") || !strcmp(node->op, "Mod")) &&
        has_int_zero(in[1]))
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "integer division by zero (the divisor holds a 0)");
    ing_tensor b;
    ING_TRY(ir_ew_legacy_bcast(node, in[0], in[1], &b));
    const ing_tensor *ab[2] = {in[0], &b};
    return ew_apply(node, ab, 2, out[0], fn, &p);
}

static ingot_status k_pow(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                          ing_tensor *const *out, int n_out)
{
    ew_params p;
    memset(&p, 0, sizeof p);
    ing_tensor b;
    ING_TRY(ir_ew_legacy_bcast(node, in[0], in[1], &b));
    const ing_tensor *ab[2] = {in[0], &b};
    if (in[0]->dtype == in[1]->dtype && ing_dtype_is_float(in[0]->dtype))
        return ew_apply(node, ab, 2, out[0], powf_rows[in[0]->dtype], &p);
    p.dt[0] = in[0]->dtype;
    p.dt[1] = in[1]->dtype;
    p.dt_out = out[0]->dtype;
    return ew_apply(node, ab, 2, out[0], pow_mixed, &p);
}

static ingot_status k_bitshift(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    const char *dir = ir_attr_string(node, "direction", "");
    const ew_row *rows;
    if (!strcmp(dir, "LEFT")) rows = shl_rows;
    else if (!strcmp(dir, "RIGHT")) rows = shr_rows;
    else
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "direction is '%s'; allowed: 'LEFT', 'RIGHT'", dir);
    ew_params p;
    memset(&p, 0, sizeof p);
    ew_row fn;
    ING_TRY(row_for(node, rows, in[0]->dtype, &fn));
    return ew_apply(node, in, 2, out[0], fn, &p);
}

/* Copy (and broadcast) src into out: Where with a constant-true condition would do, but this is
 * only the first step of a variadic op, so go by element size through the same driver. */
static void copy_row(const void *const *in, const int64_t *st, void *out, int64_t n,
                     const ew_params *p)
{
    size_t sz = (size_t)p->flag;
    if (st[0]) {
        memcpy(out, in[0], (size_t)n * sz);
        return;
    }
    for (int64_t i = 0; i < n; i++) memcpy((char *)out + (size_t)i * sz, in[0], sz);
}

static ingot_status k_variadic(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    const ew_op *o = op_of(node);
    if (!o) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "no elementwise kernel");
    ew_params p;
    memset(&p, 0, sizeof p);
    ew_row fn;
    ING_TRY(row_for(node, o->rows, in[0]->dtype, &fn));
    if (n_in == 1) {
        p.flag = (int)ingot_dtype_size((ingot_dtype)in[0]->dtype);
        ING_TRY(ew_apply(node, in, 1, out[0], copy_row, &p));
    } else {
        const ing_tensor *pair[2] = {in[0], in[1]};
        ING_TRY(ew_apply(node, pair, 2, out[0], fn, &p));
        for (int i = 2; i < n_in; i++) {
            /* out is already the full shape, so it is its own contiguous left operand */
            const ing_tensor *acc[2] = {out[0], in[i]};
            ING_TRY(ew_apply(node, acc, 2, out[0], fn, &p));
        }
    }
    if (!strcmp(node->op, "Mean")) {
        ew_row sc;
        ING_TRY(row_for(node, scale_rows, out[0]->dtype, &sc));
        p.alpha = 1.0 / n_in;
        const ing_tensor *one[1] = {out[0]};
        ING_TRY(ew_apply(node, one, 1, out[0], sc, &p));
    }
    return INGOT_OK;
}

static ingot_status k_where(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    ew_params p;
    memset(&p, 0, sizeof p);
    ew_row fn;
    switch (ingot_dtype_size((ingot_dtype)out[0]->dtype)) {
    case 1: fn = where1; break;
    case 2: fn = where2; break;
    case 4: fn = where4; break;
    case 8: fn = where8; break;
    default:
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s is not supported",
                            ingot_dtype_name((ingot_dtype)out[0]->dtype));
    }
    return ew_apply(node, in, 3, out[0], fn, &p);
}

static ingot_status k_clip(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    ew_params p;
    memset(&p, 0, sizeof p);
    int dt = in[0]->dtype;
    for (int i = 1; i < 3 && i < n_in; i++) {
        const ing_tensor *b = in[i];
        if (!b) continue;
        if (ing_numel(b) != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s must hold one value, has %lld",
                                i == 1 ? "min" : "max", (long long)ing_numel(b));
        double f = ing_load_f64(b->dtype, b->data, 0);
        /* the dtype's own bits, so u64 bounds above INT64_MAX survive the int64 round trip */
        int64_t v = b->dtype == INGOT_DTYPE_U64 ? (int64_t)ing_load_u64(b->dtype, b->data, 0)
                                                : ing_load_i64(b->dtype, b->data, 0);
        if (i == 1) {
            p.has_lo = 1;
            p.flo = f;
            p.ilo = v;
        } else {
            p.has_hi = 1;
            p.fhi = f;
            p.ihi = v;
        }
    }
    ew_row fn;
    ING_TRY(row_for(node, clip_rows, dt, &fn));
    return ew_apply(node, in, 1, out[0], fn, &p);
}

static ingot_status k_identity(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    size_t nb = ing_nbytes(in[0]);
    if (nb && out[0]->data != in[0]->data) memcpy(out[0]->data, in[0]->data, nb);
    return INGOT_OK;
}

/* Inference Dropout: the data passes through, the mask is all true. Training mode with a
 * non-zero ratio would need random numbers and is not supported. Opsets before 7 had an
 * is_test attribute defaulting to training; runtimes treat those models as inference too. */
static ingot_status k_dropout(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    double ratio = 0.5;
    if (n_in > 1 && in[1]) {
        if (ing_numel(in[1]) != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "ratio must hold one value, has %lld",
                                (long long)ing_numel(in[1]));
        ratio = ing_load_f64(in[1]->dtype, in[1]->data, 0);
    }
    if (n_in > 2 && in[2]) {
        if (ing_numel(in[2]) != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "training_mode must hold one value, has %lld",
                                (long long)ing_numel(in[2]));
        if (ing_load_i64(in[2]->dtype, in[2]->data, 0) && ratio != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "training_mode is true with ratio %g; "
                                "only inference (or ratio 0) is supported", ratio);
    }
    ING_TRY(k_identity(ex, node, in, 1, out, 1));
    if (n_out > 1 && out[1]) {
        int64_t n = ing_numel(out[1]);
        if (out[1]->dtype == INGOT_DTYPE_BOOL) memset(out[1]->data, 1, (size_t)n);
        else
            for (int64_t i = 0; i < n; i++) ing_store_f64(out[1]->dtype, out[1]->data, (size_t)i, 1.0);
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_ew[] = {
    {"Abs", k_map}, {"Neg", k_map}, {"Exp", k_map}, {"Log", k_map}, {"Sqrt", k_map},
    {"Reciprocal", k_map}, {"Sin", k_map}, {"Cos", k_map}, {"Tan", k_map}, {"Asin", k_map},
    {"Acos", k_map}, {"Atan", k_map}, {"Sinh", k_map}, {"Cosh", k_map}, {"Asinh", k_map},
    {"Acosh", k_map}, {"Atanh", k_map}, {"Ceil", k_map}, {"Floor", k_map}, {"Round", k_map},
    {"Sign", k_map}, {"Erf", k_map}, {"IsNaN", k_map}, {"IsInf", k_map}, {"Not", k_map},
    {"BitwiseNot", k_map}, {"Relu", k_map}, {"LeakyRelu", k_map}, {"Elu", k_map},
    {"Selu", k_map}, {"Celu", k_map}, {"Sigmoid", k_map}, {"HardSigmoid", k_map},
    {"HardSwish", k_map}, {"Softplus", k_map}, {"Softsign", k_map}, {"ThresholdedRelu", k_map},
    {"Shrink", k_map}, {"Mish", k_map}, {"Gelu", k_map}, {"Swish", k_map}, {"Tanh", k_map},
    {"PRelu", k_map}, {"Clip", k_clip}, {"Add", k_map}, {"Sub", k_map}, {"Mul", k_map},
    {"Div", k_map}, {"Pow", k_pow}, {"Mod", k_map}, {"And", k_map}, {"Or", k_map},
    {"Xor", k_map}, {"Equal", k_map}, {"Less", k_map}, {"Greater", k_map},
    {"LessOrEqual", k_map}, {"GreaterOrEqual", k_map}, {"BitShift", k_bitshift},
    {"BitwiseAnd", k_map}, {"BitwiseOr", k_map}, {"BitwiseXor", k_map}, {"Where", k_where},
    {"Max", k_variadic}, {"Min", k_variadic}, {"Sum", k_variadic}, {"Mean", k_variadic},
    {"Cast", cpu_ew_cast}, {"CastLike", cpu_ew_cast}, {"BitCast", cpu_ew_bitcast},
    {"Identity", k_identity}, {"Dropout", k_dropout},
    {"QuantizeLinear", cpu_ew_quantize}, {"DequantizeLinear", cpu_ew_dequantize},
    {"DynamicQuantizeLinear", cpu_ew_dynquantize},
    {NULL, NULL},
};
