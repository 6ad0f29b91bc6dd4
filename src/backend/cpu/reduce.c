/* CPU kernels for the reduce family: Reduce* (10 ops), ArgMax/ArgMin, CumSum/CumProd, TopK and
 * Det live here; the softmax family is in reduce_softmax.c, the normalizations in reduce_norm.c.
 *
 * Floats accumulate in f32 (f16/bf16 go through an f32 copy and round on store), f64 in f64;
 * integers in 64-bit integer arithmetic that wraps like the stored type would. Threads: OpenMP
 * over output elements (reductions, ArgMax, CumSum columns) once the work reaches PAR_MIN
 * elements; TopK and Det run on one thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/reduce_internal.h"
#include "backend/reduce_plan.h"

/* GCC keeps float compares as branches under its default -ftrapping-math, which blocks the
 * vectorization of the max/min loops; nothing here relies on floating-point traps. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#define PAR_MIN 32768 /* elements of work below which OpenMP costs more than it saves */

static int is_half(int dt) { return dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }

/* Elements of t, already validated by infer: every dim known and the product allocated. */
static int64_t numel(const ing_tensor *t) { return ing_numel(t); }

/* [outer, n, inner] view of t around axis. */
static void split_axis(const ing_tensor *t, int axis, int64_t *outer, int64_t *n, int64_t *inner)
{
    int64_t o = 1, i = 1;
    for (int d = 0; d < axis; d++) o *= t->dims[d];
    for (int d = axis + 1; d < t->rank; d++) i *= t->dims[d];
    *outer = o;
    *n = t->dims[axis];
    *inner = i;
}

/* ======================================================================================
 * Reduce*
 * ====================================================================================== */

enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_L1, R_L2, R_LOGSUM, R_LSE, R_SUMSQ };

/* The input as runs of kept and reduced dims (backend/reduce_plan.h, shared with CUDA). */
_Static_assert(ING_RED_MAX_RANK >= IR_MAX_RANK, "a reduction plan holds every dim");
typedef ing_red_plan red_plan;

static int64_t plan_base(const red_plan *p, int64_t o)
{
    int64_t off = 0;
    for (int k = p->nk - 1; k >= 0; k--) {
        off += (o % p->kdim[k]) * p->kstr[k];
        o /= p->kdim[k];
    }
    return off;
}

/* Integer arithmetic wraps (two's complement), as the stored result of a narrower type would. */
#define WADD(T, a, b) ((T)((uint64_t)(a) + (uint64_t)(b)))
#define WMUL(T, a, b) ((T)((uint64_t)(a) * (uint64_t)(b)))

/* One reduction over the reduced runs starting at x + base. `m` is the max for R_LSE's second
 * pass. Defined for T = float, double (FP=1) and int64_t, uint64_t (FP=0). */
#define DEFINE_REDUCE_ONE(T, FP, ABS, ISNAN)                                                       \
    static T red_run_##T(int op, const T *p, int64_t n, int64_t s, T acc, T m)                     \
    {                                                                                              \
        switch (op) {                                                                              \
        case R_SUM: case R_MEAN: case R_LOGSUM:                                                    \
            for (int64_t i = 0; i < n; i++) acc = FP ? acc + p[i * s] : WADD(T, acc, p[i * s]);   \
            break;                                                                                 \
        case R_L1:                                                                                 \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = ABS(p[i * s]);                                                               \
                acc = FP ? acc + v : WADD(T, acc, v);                                              \
            }                                                                                      \
            break;                                                                                 \
        case R_L2: case R_SUMSQ:                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = p[i * s];                                                                    \
                acc = FP ? acc + v * v : WADD(T, acc, WMUL(T, v, v));                              \
            }                                                                                      \
            break;                                                                                 \
        case R_PROD:                                                                               \
            for (int64_t i = 0; i < n; i++) acc = FP ? acc * p[i * s] : WMUL(T, acc, p[i * s]);   \
            break;                                                                                 \
        case R_MAX: /* NaN wins, as numpy's maximum */                                             \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = p[i * s];                                                                    \
                if (v > acc || ISNAN(v)) acc = v;                                                  \
                if (ISNAN(acc)) break;                                                             \
            }                                                                                      \
            break;                                                                                 \
        case R_MIN:                                                                                \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T v = p[i * s];                                                                    \
                if (v < acc || ISNAN(v)) acc = v;                                                  \
                if (ISNAN(acc)) break;                                                             \
            }                                                                                      \
            break;                                                                                 \
        case R_LSE:                                                                                \
            for (int64_t i = 0; i < n; i++) acc += (T)exp((double)(p[i * s] - m));                 \
            break;                                                                                 \
        }                                                                                          \
        return acc;                                                                                \
    }                                                                                              \
    static T red_all_##T(int op, const T *x, int64_t base, const red_plan *p, T acc, T m)          \
    {                                                                                              \
        if (p->nred == 0) return acc;                                                              \
        if (p->nr == 0) return red_run_##T(op, x + base, 1, 1, acc, m);                            \
        int last = p->nr - 1;                                                                      \
        int64_t idx[IR_MAX_RANK] = {0};                                                            \
        for (;;) {                                                                                 \
            int64_t off = base;                                                                    \
            for (int r = 0; r < last; r++) off += idx[r] * p->rstr[r];                             \
            acc = red_run_##T(op, x + off, p->rdim[last], p->rstr[last], acc, m);                  \
            int r = last - 1;                                                                      \
            while (r >= 0 && ++idx[r] == p->rdim[r]) idx[r--] = 0;                                 \
            if (r < 0) break;                                                                      \
        }                                                                                          \
        return acc;                                                                                \
    }

#define FNAN(v) ((v) != (v))
#define NONAN(v) 0
#define FABS(v) ((v) < 0 ? -(v) : (v))
#define IABS(v) ((v) < 0 ? WMUL(int64_t, (v), -1) : (v)) /* |INT64_MIN| wraps to itself */
#define UABS(v) (v)
DEFINE_REDUCE_ONE(float, 1, FABS, FNAN)
DEFINE_REDUCE_ONE(double, 1, FABS, FNAN)
DEFINE_REDUCE_ONE(int64_t, 0, IABS, NONAN)
DEFINE_REDUCE_ONE(uint64_t, 0, UABS, NONAN)

/* Float reductions, with identity and final step; FP types only. */
#define DEFINE_REDUCE_FP(T, INF)                                                                   \
    static void reduce_##T(int op, const T *x, T *y, const red_plan *p)                            \
    {                                                                                              \
        int64_t nout = p->nout;                                                                    \
        _Pragma("omp parallel for if (nout * p->nred >= PAR_MIN && nout > 1)")                     \
        for (int64_t o = 0; o < nout; o++) {                                                       \
            int64_t base = plan_base(p, o);                                                        \
            T r;                                                                                   \
            switch (op) {                                                                          \
            case R_PROD: r = red_all_##T(op, x, base, p, 1, 0); break;                             \
            case R_MAX: r = red_all_##T(op, x, base, p, -INF, 0); break;                           \
            case R_MIN: r = red_all_##T(op, x, base, p, INF, 0); break;                            \
            case R_LSE: {                                                                          \
                T m = red_all_##T(R_MAX, x, base, p, -INF, 0);                                     \
                if (isinf(m) || m != m) r = m; /* all -inf, any +inf, or NaN */                    \
                else r = m + (T)log((double)red_all_##T(op, x, base, p, 0, m));                    \
                break;                                                                             \
            }                                                                                      \
            default: r = red_all_##T(op, x, base, p, 0, 0); break;                                 \
            }                                                                                      \
            if (op == R_MEAN) r = r / (T)p->nred;                                                  \
            else if (op == R_L2) r = (T)sqrt((double)r);                                           \
            else if (op == R_LOGSUM) r = (T)log((double)r);                                        \
            y[o] = r;                                                                              \
        }                                                                                          \
    }

DEFINE_REDUCE_FP(float, INFINITY)
DEFINE_REDUCE_FP(double, INFINITY)

/* Integer reductions (Sum, Mean, Prod, Max, Min, L1, SumSquare). lo/hi: the stored dtype's range,
 * the identities of Max and Min. */
#define DEFINE_REDUCE_INT(T)                                                                       \
    static void reduce_##T(int op, const T *x, T *y, const red_plan *p, T lo, T hi)                \
    {                                                                                              \
        int64_t nout = p->nout;                                                                    \
        _Pragma("omp parallel for if (nout * p->nred >= PAR_MIN && nout > 1)")                     \
        for (int64_t o = 0; o < nout; o++) {                                                       \
            int64_t base = plan_base(p, o);                                                        \
            T init = op == R_PROD ? 1 : op == R_MAX ? lo : op == R_MIN ? hi : 0;                   \
            T r = red_all_##T(op, x, base, p, init, 0);                                            \
            if (op == R_MEAN) r = p->nred > 0 ? r / (T)p->nred : 0;                                \
            y[o] = r;                                                                              \
        }                                                                                          \
    }

DEFINE_REDUCE_INT(int64_t)
DEFINE_REDUCE_INT(uint64_t)

/* f32 fast paths for Sum/Mean/Max/Min/SumSquare/L2 when the reduced elements of one output are
 * contiguous (a row) or when one middle run is reduced over contiguous kept rows ([O, K, I]).
 * Eight partial accumulators let the compiler vectorize without -ffast-math. */
static float row_sum(const float *p, int64_t n, int sq)
{
    float a[8] = {0};
    int64_t i = 0;
    if (sq)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) a[j] += p[i + j] * p[i + j];
    else
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) a[j] += p[i + j];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) s += sq ? p[i] * p[i] : p[i];
    return s;
}

/* Max (or min) of a row; a NaN lane sticks, as nothing compares past it. */
static float row_max(const float *p, int64_t n, int is_min)
{
    float m[8];
    int64_t i = 0;
    for (int j = 0; j < 8; j++) m[j] = is_min ? INFINITY : -INFINITY;
    if (is_min)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) {
                float v = p[i + j];
                m[j] = (v < m[j] || v != v) ? v : m[j];
            }
    else
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) {
                float v = p[i + j];
                m[j] = (v > m[j] || v != v) ? v : m[j];
            }
    float r = m[0];
    for (int j = 1; j < 8; j++) r = ((is_min ? m[j] < r : m[j] > r) || m[j] != m[j]) ? m[j] : r;
    for (; i < n; i++) r = ((is_min ? p[i] < r : p[i] > r) || p[i] != p[i]) ? p[i] : r;
    return r;
}

static int reduce_f32_fast(int op, const float *x, float *y, const red_plan *p)
{
    if (op != R_SUM && op != R_MEAN && op != R_MAX && op != R_MIN && op != R_SUMSQ && op != R_L2)
        return 0;
    if (p->nr != 1 || p->nred == 0) return 0;
    int64_t nout = p->nout, n = p->nred;
    int mx = op == R_MAX || op == R_MIN;
    if (p->rstr[0] == 1 && (p->nk == 0 || (p->nk == 1 && p->kstr[0] == n))) { /* rows */
        int sq = op == R_SUMSQ || op == R_L2;
#pragma omp parallel for if (nout * n >= PAR_MIN && nout > 1)
        for (int64_t o = 0; o < nout; o++) {
            const float *row = x + o * n;
            float r = mx ? row_max(row, n, op == R_MIN) : row_sum(row, n, sq);
            if (op == R_MEAN) r /= (float)n;
            else if (op == R_L2) r = sqrtf(r);
            y[o] = r;
        }
        return 1;
    }
    /* [O, K, I]: kept inner run contiguous with the reduced run right above it */
    int64_t inner = p->rstr[0];
    int nk = p->nk;
    if (!(nk >= 1 && p->kstr[nk - 1] == 1 && p->kdim[nk - 1] == inner &&
          (nk == 1 || (nk == 2 && p->kstr[0] == inner * n))))
        return 0;
    int64_t outer = nout / inner;
#pragma omp parallel for if (nout * n >= PAR_MIN && outer > 1)
    for (int64_t o = 0; o < outer; o++) {
        const float *xs = x + o * n * inner;
        float *ys = y + o * inner;
        int sq = op == R_SUMSQ || op == R_L2;
        for (int64_t i = 0; i < inner; i++) ys[i] = sq ? xs[i] * xs[i] : xs[i];
        for (int64_t k = 1; k < n; k++) {
            const float *r = xs + k * inner;
            switch (op) {
            case R_SUM: case R_MEAN:
                for (int64_t i = 0; i < inner; i++) ys[i] += r[i];
                break;
            case R_SUMSQ: case R_L2:
                for (int64_t i = 0; i < inner; i++) ys[i] += r[i] * r[i];
                break;
            case R_MAX: /* a NaN sticks: nothing compares above it */
                for (int64_t i = 0; i < inner; i++)
                    ys[i] = (r[i] > ys[i] || r[i] != r[i]) ? r[i] : ys[i];
                break;
            case R_MIN:
                for (int64_t i = 0; i < inner; i++)
                    ys[i] = (r[i] < ys[i] || r[i] != r[i]) ? r[i] : ys[i];
                break;
            }
        }
        if (op == R_MEAN)
            for (int64_t i = 0; i < inner; i++) ys[i] /= (float)n;
        else if (op == R_L2)
            for (int64_t i = 0; i < inner; i++) ys[i] = sqrtf(ys[i]);
    }
    return 1;
}

/* The stored dtype's range as int64/uint64, for Max/Min identities. */
static void int_range(int dt, int64_t *lo, uint64_t *hi)
{
    switch (dt) {
    case INGOT_DTYPE_U8: *lo = 0; *hi = UINT8_MAX; break;
    case INGOT_DTYPE_I8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case INGOT_DTYPE_U16: *lo = 0; *hi = UINT16_MAX; break;
    case INGOT_DTYPE_I16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case INGOT_DTYPE_I32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case INGOT_DTYPE_U32: *lo = 0; *hi = UINT32_MAX; break;
    case INGOT_DTYPE_U64: *lo = 0; *hi = UINT64_MAX; break;
    case INGOT_DTYPE_BOOL: *lo = 0; *hi = 1; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static ingot_status reduce_axes(const ir_node *node, const ing_tensor *const *in, int n_in,
                                int *red)
{
    const ing_tensor *x = in[0], *axes = n_in > 1 ? in[1] : NULL;
    int64_t n = axes ? numel(axes) : 0;
    memset(red, 0, sizeof(int) * IR_MAX_RANK);
    if (n == 0) {
        if (!ir_attr_int(node, "noop_with_empty_axes", 0))
            for (int d = 0; d < x->rank; d++) red[d] = 1;
        return INGOT_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, ir_get_i64(axes, i), x->rank, &a));
        if (x->rank == 0) break; /* a scalar has nothing to reduce */
        red[a] = 1;
    }
    return INGOT_OK;
}

static ingot_status k_reduce(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int op)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    int red[IR_MAX_RANK];
    ING_TRY(reduce_axes(node, in, n_in, red));
    red_plan p;
    ing_red_plan_build(x->rank, x->dims, red, &p);
    if (p.nout != numel(y)) {
        char sx[96], sy[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output %s does not match input %s reduced",
                            ing_shape_str(y, sy, sizeof sy), ing_shape_str(x, sx, sizeof sx));
    }
    if (p.nout == 0) return INGOT_OK;
    int dt = x->dtype;
    size_t nx = (size_t)numel(x), ny = (size_t)p.nout;
    size_t nxs = nx > 0 ? nx : 1; /* scratch sizes: never ask for 0 bytes */

    if (dt == INGOT_DTYPE_F32) {
        if (!reduce_f32_fast(op, x->data, y->data, &p)) reduce_float(op, x->data, y->data, &p);
        return INGOT_OK;
    }
    if (dt == INGOT_DTYPE_F64) {
        reduce_double(op, x->data, y->data, &p);
        return INGOT_OK;
    }
    if (is_half(dt)) {
        float *xf = cpu_scratch(ex, 0, nxs * sizeof(float));
        float *yf = cpu_scratch(ex, 1, ny * sizeof(float));
        if (!xf || !yf) return INGOT_ERR_NOMEM;
        for (size_t i = 0; i < nx; i++) xf[i] = (float)ing_load_f64(dt, x->data, i);
        if (!reduce_f32_fast(op, xf, yf, &p)) reduce_float(op, xf, yf, &p);
        for (size_t i = 0; i < ny; i++) ing_store_f64(dt, y->data, i, yf[i]);
        return INGOT_OK;
    }
    /* integers and bool */
    if (op == R_L2 || op == R_LOGSUM || op == R_LSE) { /* defined through float math */
        double *xd = cpu_scratch(ex, 0, nxs * sizeof(double));
        double *yd = cpu_scratch(ex, 1, ny * sizeof(double));
        if (!xd || !yd) return INGOT_ERR_NOMEM;
        for (size_t i = 0; i < nx; i++) xd[i] = ing_load_f64(dt, x->data, i);
        reduce_double(op, xd, yd, &p);
        for (size_t i = 0; i < ny; i++) ing_store_f64(dt, y->data, i, yd[i]);
        return INGOT_OK;
    }
    int64_t lo;
    uint64_t hi;
    int_range(dt, &lo, &hi);
    if (dt == INGOT_DTYPE_U64) {
        reduce_uint64_t(op, x->data, y->data, &p, 0, hi);
        return INGOT_OK;
    }
    if (dt == INGOT_DTYPE_I64) {
        reduce_int64_t(op, x->data, y->data, &p, lo, (int64_t)hi);
        return INGOT_OK;
    }
    int64_t *xi = cpu_scratch(ex, 0, nxs * sizeof(int64_t));
    int64_t *yi = cpu_scratch(ex, 1, ny * sizeof(int64_t));
    if (!xi || !yi) return INGOT_ERR_NOMEM;
    for (size_t i = 0; i < nx; i++) xi[i] = ing_load_i64(dt, x->data, i);
    reduce_int64_t(op, xi, yi, &p, lo, (int64_t)hi);
    for (size_t i = 0; i < ny; i++) ing_store_i64(dt, y->data, i, yi[i]);
    return INGOT_OK;
}

#define REDUCE_KERNEL(name, op)                                                                    \
    static ingot_status name(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,        \
                             int n_in, ing_tensor *const *out, int n_out)                          \
    {                                                                                              \
        return k_reduce(x, node, in, n_in, out, op);                                               \
    }
REDUCE_KERNEL(k_reduce_sum, R_SUM)
REDUCE_KERNEL(k_reduce_mean, R_MEAN)
REDUCE_KERNEL(k_reduce_prod, R_PROD)
REDUCE_KERNEL(k_reduce_max, R_MAX)
REDUCE_KERNEL(k_reduce_min, R_MIN)
REDUCE_KERNEL(k_reduce_l1, R_L1)
REDUCE_KERNEL(k_reduce_l2, R_L2)
REDUCE_KERNEL(k_reduce_logsum, R_LOGSUM)
REDUCE_KERNEL(k_reduce_lse, R_LSE)
REDUCE_KERNEL(k_reduce_sumsq, R_SUMSQ)

/* ======================================================================================
 * ArgMax / ArgMin
 * ====================================================================================== */

/* better(v, best): v replaces best. NaN wins (numpy returns the first NaN); `last` takes ties
 * (and later NaNs) from the end. */
#define ARG_LOOP(T, LOAD, ISNAN)                                                                   \
    _Pragma("omp parallel for if (outer * n * inner >= PAR_MIN && outer * inner > 1)")             \
    for (int64_t oi = 0; oi < outer * inner; oi++) {                                               \
        int64_t o = oi / inner, i = oi % inner;                                                    \
        int64_t base = o * n * inner + i, bi = 0;                                                  \
        T best = LOAD(base);                                                                       \
        for (int64_t k = 1; k < n; k++) {                                                          \
            T v = LOAD(base + k * inner);                                                          \
            int take;                                                                              \
            if (ISNAN(best)) take = last && ISNAN(v);                                              \
            else if (ISNAN(v)) take = 1;                                                           \
            else if (v == best) take = last;                                                       \
            else take = is_max ? v > best : v < best;                                              \
            if (take) {                                                                            \
                best = v;                                                                          \
                bi = k;                                                                            \
            }                                                                                      \
        }                                                                                          \
        yi[oi] = bi;                                                                               \
    }

static ingot_status k_argm(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                           int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), x->rank, &axis));
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    if (n == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d has size 0; there is no index to "
                            "return", axis);
    int is_max = strcmp(node->op, "ArgMax") == 0;
    int last = ir_attr_int(node, "select_last_index", 0) != 0;
    int64_t *yi = out[0]->data;
    int dt = x->dtype;
    const void *xd = x->data;
    if (dt == INGOT_DTYPE_F32) {
        const float *xf = xd;
#define LD(j) xf[j]
        ARG_LOOP(float, LD, FNAN)
#undef LD
    } else if (ing_dtype_is_float(dt)) {
#define LD(j) ing_load_f64(dt, xd, (size_t)(j))
        ARG_LOOP(double, LD, FNAN)
#undef LD
    } else if (dt == INGOT_DTYPE_U64) {
        const uint64_t *xu = xd;
#define LD(j) xu[j]
        ARG_LOOP(uint64_t, LD, NONAN)
#undef LD
    } else {
#define LD(j) ing_load_i64(dt, xd, (size_t)(j))
        ARG_LOOP(int64_t, LD, NONAN)
#undef LD
    }
    return INGOT_OK;
}

/* ======================================================================================
 * CumSum / CumProd
 * ====================================================================================== */

#define CUM_LOOP(T, ACC, LOAD, STORE, OPER)                                                        \
    _Pragma("omp parallel for if (outer * n * inner >= PAR_MIN && outer * inner > 1)")             \
    for (int64_t oi = 0; oi < outer * inner; oi++) {                                               \
        int64_t o = oi / inner, i = oi % inner;                                                    \
        int64_t base = o * n * inner + i;                                                          \
        ACC acc = prod ? 1 : 0;                                                                    \
        for (int64_t kk = 0; kk < n; kk++) {                                                       \
            int64_t j = base + (reverse ? n - 1 - kk : kk) * inner;                                \
            ACC v = (ACC)LOAD(j);                                                                  \
            if (exclusive) {                                                                       \
                STORE(j, acc);                                                                     \
                acc = OPER(acc, v);                                                                \
            } else {                                                                               \
                acc = OPER(acc, v);                                                                \
                STORE(j, acc);                                                                     \
            }                                                                                      \
        }                                                                                          \
    }

static ingot_status k_cum(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                          int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *ax = in[1];
    ing_tensor *y = out[0];
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_get_i64(ax, 0), x->rank, &axis));
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    int prod = strcmp(node->op, "CumProd") == 0;
    int exclusive = ir_attr_int(node, "exclusive", 0) != 0;
    int reverse = ir_attr_int(node, "reverse", 0) != 0;
    int dt = x->dtype;
    const void *xd = x->data;
    void *yd = y->data;
#define FADD(a, b) ((a) + (b))
#define FMUL(a, b) ((a) * (b))
#define UADD(a, b) ((a) + (b))
    if (dt == INGOT_DTYPE_F32) {
        const float *xf = xd;
        float *yf = yd;
#define LD(j) xf[j]
#define ST(j, v) (yf[j] = (v))
        if (prod) { CUM_LOOP(float, float, LD, ST, FMUL) }
        else { CUM_LOOP(float, float, LD, ST, FADD) }
#undef LD
#undef ST
    } else if (dt == INGOT_DTYPE_F64) {
        const double *xf = xd;
        double *yf = yd;
#define LD(j) xf[j]
#define ST(j, v) (yf[j] = (v))
        if (prod) { CUM_LOOP(double, double, LD, ST, FMUL) }
        else { CUM_LOOP(double, double, LD, ST, FADD) }
#undef LD
#undef ST
    } else if (is_half(dt)) {
#define LD(j) ing_load_f64(dt, xd, (size_t)(j))
#define ST(j, v) ing_store_f64(dt, yd, (size_t)(j), (v))
        if (prod) { CUM_LOOP(float, float, LD, ST, FMUL) }
        else { CUM_LOOP(float, float, LD, ST, FADD) }
#undef LD
#undef ST
    } else { /* integers: unsigned 64-bit arithmetic wraps like the stored type */
#define LD(j) (uint64_t)ing_load_i64(dt, xd, (size_t)(j))
#define ST(j, v) ing_store_i64(dt, yd, (size_t)(j), (int64_t)(v))
        if (prod) { CUM_LOOP(uint64_t, uint64_t, LD, ST, FMUL) }
        else { CUM_LOOP(uint64_t, uint64_t, LD, ST, UADD) }
#undef LD
#undef ST
    }
#undef FADD
#undef FMUL
#undef UADD
    return INGOT_OK;
}

/* ======================================================================================
 * TopK
 * ====================================================================================== */

typedef struct topk_item {
    union {
        double f;
        int64_t i;
        uint64_t u;
    } key;
    int64_t idx;
} topk_item;

/* Orders: the wanted element first; ties by lower index. NaN counts as the largest value. */
static int cmp_f_big(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    double x = a->key.f, y = b->key.f;
    int xn = x != x, yn = y != y;
    if (xn != yn) return xn ? -1 : 1;
    if (!xn && x != y) return x > y ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}
static int cmp_f_small(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    double x = a->key.f, y = b->key.f;
    int xn = x != x, yn = y != y;
    if (xn != yn) return xn ? 1 : -1;
    if (!xn && x != y) return x < y ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}
static int cmp_i_big(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    if (a->key.i != b->key.i) return a->key.i > b->key.i ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}
static int cmp_i_small(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    if (a->key.i != b->key.i) return a->key.i < b->key.i ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}
static int cmp_u_big(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    if (a->key.u != b->key.u) return a->key.u > b->key.u ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}
static int cmp_u_small(const void *pa, const void *pb)
{
    const topk_item *a = pa, *b = pb;
    if (a->key.u != b->key.u) return a->key.u < b->key.u ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static ingot_status k_topk(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                           int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    ing_tensor *vals = out[0], *inds = n_out > 1 ? out[1] : NULL;
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), x->rank, &axis));
    int64_t outer, n, inner;
    split_axis(x, axis, &outer, &n, &inner);
    int64_t k = ir_get_i64(in[1], 0);
    if (k < 0 || k > n)
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "K is %lld; allowed: 0..%lld (the size of "
                            "axis %d)", (long long)k, (long long)n, axis);
    if (k == 0 || outer * inner == 0) return INGOT_OK;
    int largest = ir_attr_int(node, "largest", 1) != 0;
    int dt = x->dtype;
    int kind = ing_dtype_is_float(dt) ? 0 : dt == INGOT_DTYPE_U64 ? 2 : 1;
    int (*cmp)(const void *, const void *) =
        kind == 0 ? (largest ? cmp_f_big : cmp_f_small)
        : kind == 1 ? (largest ? cmp_i_big : cmp_i_small) : (largest ? cmp_u_big : cmp_u_small);
    topk_item *it = cpu_scratch(ex, 0, (size_t)n * sizeof *it);
    if (!it) return INGOT_ERR_NOMEM;
    /* `sorted` = 0 allows any order; the sorted order is one of them */
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            for (int64_t j = 0; j < n; j++) {
                size_t src = (size_t)(base + j * inner);
                if (kind == 0) it[j].key.f = ing_load_f64(dt, x->data, src);
                else if (kind == 1) it[j].key.i = ing_load_i64(dt, x->data, src);
                else it[j].key.u = ing_load_u64(dt, x->data, src);
                it[j].idx = j;
            }
            qsort(it, (size_t)n, sizeof *it, cmp);
            int64_t obase = o * k * inner + i;
            for (int64_t j = 0; j < k; j++) {
                size_t dst = (size_t)(obase + j * inner);
                if (vals) {
                    if (kind == 0) ing_store_f64(dt, vals->data, dst, it[j].key.f);
                    else if (kind == 1) ing_store_i64(dt, vals->data, dst, it[j].key.i);
                    else ing_store_u64(dt, vals->data, dst, it[j].key.u);
                }
                if (inds) ((int64_t *)inds->data)[dst] = it[j].idx;
            }
        }
    }
    return INGOT_OK;
}

/* ======================================================================================
 * Det: LU with partial pivoting, in f64.
 * ====================================================================================== */

static ingot_status k_det(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                          int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    int64_t n = x->dims[x->rank - 1];
    int64_t batch = numel(out[0]);
    if (n > 0 && (uint64_t)n > SIZE_MAX / sizeof(double) / (uint64_t)n)
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "a %lld x %lld matrix is too large",
                            (long long)n, (long long)n);
    double *a = cpu_scratch(ex, 0, (size_t)(n * n > 0 ? n * n : 1) * sizeof(double));
    if (!a) return INGOT_ERR_NOMEM;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t j = 0; j < n * n; j++)
            a[j] = ing_load_f64(x->dtype, x->data, (size_t)(b * n * n + j));
        double det = 1.0;
        for (int64_t c = 0; c < n; c++) {
            int64_t piv = c;
            for (int64_t r = c + 1; r < n; r++)
                if (fabs(a[r * n + c]) > fabs(a[piv * n + c])) piv = r;
            if (a[piv * n + c] == 0.0) {
                det = 0.0;
                break;
            }
            if (piv != c) {
                for (int64_t j = 0; j < n; j++) {
                    double t = a[c * n + j];
                    a[c * n + j] = a[piv * n + j];
                    a[piv * n + j] = t;
                }
                det = -det;
            }
            double d = a[c * n + c];
            det *= d;
            for (int64_t r = c + 1; r < n; r++) {
                double f = a[r * n + c] / d;
                if (f == 0.0) continue;
                for (int64_t j = c + 1; j < n; j++) a[r * n + j] -= f * a[c * n + j];
            }
        }
        ing_store_f64(out[0]->dtype, out[0]->data, (size_t)b, det);
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_reduce[] = {
    {"ReduceSum", k_reduce_sum},
    {"ReduceMean", k_reduce_mean},
    {"ReduceProd", k_reduce_prod},
    {"ReduceMax", k_reduce_max},
    {"ReduceMin", k_reduce_min},
    {"ReduceL1", k_reduce_l1},
    {"ReduceL2", k_reduce_l2},
    {"ReduceLogSum", k_reduce_logsum},
    {"ReduceLogSumExp", k_reduce_lse},
    {"ReduceSumSquare", k_reduce_sumsq},
    {"ArgMax", k_argm},
    {"ArgMin", k_argm},
    {"CumSum", k_cum},
    {"CumProd", k_cum},
    {"TopK", k_topk},
    {"Det", k_det},
    {"Softmax", cpu_red_softmax},
    {"LogSoftmax", cpu_red_softmax},
    {"Hardmax", cpu_red_hardmax},
    {"LayerNormalization", cpu_red_layernorm},
    {"RMSNormalization", cpu_red_layernorm},
    {"GroupNormalization", cpu_red_groupnorm},
    {"InstanceNormalization", cpu_red_instnorm},
    {"BatchNormalization", cpu_red_batchnorm},
    {"LpNormalization", cpu_red_lpnorm},
    {"MeanVarianceNormalization", cpu_red_mvn},
    {"LRN", cpu_red_lrn},
    {NULL, NULL},
};
