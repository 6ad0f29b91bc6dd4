/* CPU kernels for Softmax, LogSoftmax and Hardmax (listed in reduce.c's table).
 *
 * Opset >= 13 normalizes along one axis: the input is seen as [outer, n, inner]. Before opset
 * 13 the input is coerced to 2-D at axis (default 1): [prod(dims[:axis]), prod(dims[axis:])].
 * Softmax subtracts the row max before exp. f32 takes the fast paths (rows when inner == 1,
 * column chunks otherwise); f16/bf16 go through an f32 copy; f64 computes in f64 with libm.
 * Threads: OpenMP over rows or (outer, column chunk) tasks once the work reaches PAR_MIN. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/reduce_internal.h"

/* GCC keeps float compares as branches under its default -ftrapping-math, which blocks the
 * vectorization of the max and exp loops; nothing here relies on floating-point traps. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#define PAR_MIN 32768

/* The [outer, n, inner] view for this node's axis and opset. */
static ingot_status softmax_view(const ir_node *node, const ing_tensor *t, int64_t *outer,
                                 int64_t *n, int64_t *inner)
{
    int legacy = node->opset < 13;
    int64_t a = ir_attr_int(node, "axis", legacy ? 1 : -1);
    int32_t axis;
    if (legacy && a == t->rank) axis = t->rank; /* [numel, 1] */
    else ING_TRY(ir_norm_axis(node, a, t->rank, &axis));
    int64_t o = 1, m = 1, i = 1;
    for (int d = 0; d < axis; d++) o *= t->dims[d];
    if (legacy) {
        for (int d = axis; d < t->rank; d++) m *= t->dims[d];
    } else {
        m = t->dims[axis];
        for (int d = axis + 1; d < t->rank; d++) i *= t->dims[d];
    }
    *outer = o;
    *n = m;
    *inner = i;
    return INGOT_OK;
}

/* One softmax (or log-softmax) over n elements at stride s. */
#define DEFINE_SOFTMAX_ROW(T, EXP, LOG)                                                            \
    static void softmax_row_##T(const T *x, T *y, int64_t n, int64_t s, int is_log)                \
    {                                                                                              \
        T m = x[0];                                                                                \
        for (int64_t k = 1; k < n; k++)                                                            \
            if (x[k * s] > m) m = x[k * s];                                                        \
        T sum = 0;                                                                                 \
        if (is_log) {                                                                              \
            for (int64_t k = 0; k < n; k++) sum += EXP(x[k * s] - m);                              \
            T lse = m + LOG(sum);                                                                  \
            for (int64_t k = 0; k < n; k++) y[k * s] = x[k * s] - lse;                             \
        } else {                                                                                   \
            for (int64_t k = 0; k < n; k++) {                                                      \
                T e = EXP(x[k * s] - m);                                                           \
                y[k * s] = e;                                                                      \
                sum += e;                                                                          \
            }                                                                                      \
            T inv = (T)1 / sum;                                                                    \
            for (int64_t k = 0; k < n; k++) y[k * s] *= inv;                                       \
        }                                                                                          \
    }                                                                                              \
    static void softmax_##T(const T *x, T *y, int64_t outer, int64_t n, int64_t inner, int is_log) \
    {                                                                                              \
        int64_t rows = outer * inner;                                                              \
        _Pragma("omp parallel for if (rows * n >= PAR_MIN && rows > 1)")                           \
        for (int64_t r = 0; r < rows; r++) {                                                       \
            int64_t o = r / inner, i = r % inner;                                                  \
            int64_t base = o * n * inner + i;                                                      \
            softmax_row_##T(x + base, y + base, n, inner, is_log);                                 \
        }                                                                                          \
    }

DEFINE_SOFTMAX_ROW(double, exp, log)

/* f32 contiguous rows (inner == 1): stride-1 loops the compiler vectorizes. exp is computed by
 * vexpf below rather than libm's expf, which GCC cannot vectorize without -ffast-math. */

/* exp(x) = 2^n * exp(r), n = round(x / ln2), r = x - n ln2 in [-ln2/2, ln2/2] (ln2 split in two
 * parts so r is exact), exp(r) by its degree-6 Taylor polynomial. Measured against exp() in f64
 * over [-86.5, 88.7] in steps of 1e-4: max relative error 2.6e-7 (about 2 ulp). Below -86.5 it
 * returns 0 (the true value is under 2^-124), above 88.72 +inf; NaN stays NaN. Branch-free so
 * that it vectorizes. */
static inline float vexpf(float x)
{
    float xc = x;
    if (!(xc >= -86.5f)) xc = -86.5f; /* NaN too, so the int conversion below stays defined */
    if (xc > 88.72f) xc = 88.72f;
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* 1.5*2^23: rounds */
    float r = xc - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666667e-2f +
              r * (8.3333333e-3f + r * 1.3888889e-3f)))));
    uint32_t bits = (uint32_t)((int32_t)n + 126) << 23; /* 2^(n-1): n = 128 stays finite */
    float s;
    memcpy(&s, &bits, sizeof s);
    float e = p * s * 2.0f;
    if (x < -86.5f) e = 0.0f;
    if (x > 88.72f) e = INFINITY;
    if (x != x) e = x;
    return e;
}

/* Max of a row; NaN if any element is NaN (a NaN lane sticks: nothing compares above it).
 * Eight lanes so the loop vectorizes. */
static float row_max_f32(const float *p, int64_t n)
{
    float m[8];
    int64_t i = 0;
    for (int j = 0; j < 8; j++) m[j] = -INFINITY;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float v = p[i + j];
            m[j] = (v > m[j] || v != v) ? v : m[j];
        }
    float r = -INFINITY;
    for (int j = 0; j < 8; j++) r = (m[j] > r || m[j] != m[j]) ? m[j] : r;
    for (; i < n; i++) r = (p[i] > r || p[i] != p[i]) ? p[i] : r;
    return r;
}

static float row_sum_f32(const float *p, int64_t n)
{
    float a[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += p[i + j];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) s += p[i];
    return s;
}

static void softmax_rows_f32(const float *x, float *y, int64_t rows, int64_t n, int is_log)
{
#pragma omp parallel for if (rows * n >= PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float m = row_max_f32(xr, n);
        if (is_log) {
            float a[8] = {0};
            int64_t k = 0;
            for (; k + 8 <= n; k += 8)
                for (int j = 0; j < 8; j++) a[j] += vexpf(xr[k + j] - m);
            float sum = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
            for (; k < n; k++) sum += vexpf(xr[k] - m);
            float lse = m + logf(sum);
            for (k = 0; k < n; k++) yr[k] = xr[k] - lse;
        } else {
            for (int64_t k = 0; k < n; k++) yr[k] = vexpf(xr[k] - m);
            float inv = 1.0f / row_sum_f32(yr, n);
            for (int64_t k = 0; k < n; k++) yr[k] *= inv;
        }
    }
}

/* f32 with inner > 1 (axis not last): each task takes one outer index and a chunk of up to
 * CHUNK columns and sweeps the n rows of the chunk three times, so every access is stride-1 and
 * the column max/sum live in small stack arrays. */
#define CHUNK 256
static void softmax_cols_f32(const float *x, float *y, int64_t outer, int64_t n, int64_t inner,
                             int is_log)
{
    int64_t nchunk = (inner + CHUNK - 1) / CHUNK, tasks = outer * nchunk;
#pragma omp parallel for if (outer * n * inner >= PAR_MIN && tasks > 1)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nchunk, i0 = (t % nchunk) * CHUNK;
        int64_t w = inner - i0 < CHUNK ? inner - i0 : CHUNK;
        const float *xb = x + o * n * inner + i0;
        float *yb = y + o * n * inner + i0;
        float mx[CHUNK], sum[CHUNK];
        for (int64_t i = 0; i < w; i++) {
            mx[i] = -INFINITY;
            sum[i] = 0.0f;
        }
        for (int64_t k = 0; k < n; k++) {
            const float *xr = xb + k * inner;
            for (int64_t i = 0; i < w; i++)
                mx[i] = (xr[i] > mx[i] || xr[i] != xr[i]) ? xr[i] : mx[i];
        }
        for (int64_t k = 0; k < n; k++) {
            const float *xr = xb + k * inner;
            float *yr = yb + k * inner;
            for (int64_t i = 0; i < w; i++) {
                float e = vexpf(xr[i] - mx[i]);
                if (!is_log) yr[i] = e;
                sum[i] += e;
            }
        }
        if (is_log) {
            for (int64_t i = 0; i < w; i++) sum[i] = mx[i] + logf(sum[i]); /* log-sum-exp */
            for (int64_t k = 0; k < n; k++)
                for (int64_t i = 0; i < w; i++) yb[k * inner + i] = xb[k * inner + i] - sum[i];
        } else {
            for (int64_t i = 0; i < w; i++) sum[i] = 1.0f / sum[i];
            for (int64_t k = 0; k < n; k++)
                for (int64_t i = 0; i < w; i++) yb[k * inner + i] *= sum[i];
        }
    }
}

ingot_status cpu_red_softmax(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    int64_t outer, n, inner;
    ING_TRY(softmax_view(node, x, &outer, &n, &inner));
    if (outer * n * inner == 0) return INGOT_OK;
    int is_log = strcmp(node->op, "LogSoftmax") == 0;
    int dt = x->dtype;
    if (dt == INGOT_DTYPE_F32) {
        if (inner == 1) softmax_rows_f32(x->data, y->data, outer, n, is_log);
        else softmax_cols_f32(x->data, y->data, outer, n, inner, is_log);
    } else if (dt == INGOT_DTYPE_F64) {
        softmax_double(x->data, y->data, outer, n, inner, is_log);
    } else if (dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16) {
        size_t cnt = (size_t)(outer * n * inner);
        float *xf = cpu_scratch(ex, 0, cnt * sizeof(float));
        float *yf = cpu_scratch(ex, 1, cnt * sizeof(float));
        if (!xf || !yf) return INGOT_ERR_NOMEM;
        for (size_t i = 0; i < cnt; i++) xf[i] = (float)ing_load_f64(dt, x->data, i);
        if (inner == 1) softmax_rows_f32(xf, yf, outer, n, is_log);
        else softmax_cols_f32(xf, yf, outer, n, inner, is_log);
        for (size_t i = 0; i < cnt; i++) ing_store_f64(dt, y->data, i, yf[i]);
    } else {
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input dtype %s; allowed: f16, bf16, "
                            "f32, f64", ingot_dtype_name((ingot_dtype)dt));
    }
    return INGOT_OK;
}

/* Hardmax: 1 at the first maximum of each slice, 0 elsewhere. */
ingot_status cpu_red_hardmax(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    int64_t outer, n, inner;
    ING_TRY(softmax_view(node, x, &outer, &n, &inner));
    int dt = x->dtype;
    int64_t rows = outer * inner;
#pragma omp parallel for if (rows * n >= PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / inner, i = r % inner;
        int64_t base = o * n * inner + i, best = 0;
        double m = n > 0 ? ing_load_f64(dt, x->data, (size_t)base) : 0.0;
        for (int64_t k = 1; k < n; k++) {
            double v = ing_load_f64(dt, x->data, (size_t)(base + k * inner));
            if (v > m) {
                m = v;
                best = k;
            }
        }
        for (int64_t k = 0; k < n; k++)
            ing_store_f64(dt, y->data, (size_t)(base + k * inner), k == best ? 1.0 : 0.0);
    }
    return INGOT_OK;
}
