/* CPU kernels for sampling grids: GridSample (nearest/linear/cubic, zeros/border/reflection
 * padding, any spatial rank) and AffineGrid (2-D and 3-D).
 *
 * GridSample follows the ONNX reference (op_grid_sample.py, itself PyTorch's GridSampler):
 * coordinates are denormalized in the data's precision (f32 for f32/f16/bf16, f64 for f64),
 * nearest rounds half to even, and the N-D interpolation is the tensor product of 1-D taps.
 * Taps of one output point are computed once and reused for every channel.
 */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/spatial_internal.h"
#include "core/alloc.h"

enum { GS_LINEAR, GS_NEAREST, GS_CUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

#define GS_PAR_MIN 32768

/* Reflect x into [lo, hi] by bouncing off the borders (GridSampler.h reflect_coordinates). */
#define GS_REFLECT(NAME, T, FLOOR_INT)                                                             \
    static T NAME(T x, T lo, T hi)                                                                 \
    {                                                                                              \
        T rng = hi - lo;                                                                           \
        if (!(rng > 0)) return lo;                                                                 \
        if (x < lo) {                                                                              \
            T dx = lo - x, q = dx / rng;                                                           \
            if (!(q < (T)1e15)) return lo;                                                         \
            int64_t n = (int64_t)q;                                                                \
            T r = dx - (T)n * rng;                                                                 \
            return n % 2 == 0 ? lo + r : hi - r;                                                   \
        }                                                                                          \
        if (x > hi) {                                                                              \
            T dx = x - hi, q = dx / rng;                                                           \
            if (!(q < (T)1e15)) return hi;                                                         \
            int64_t n = (int64_t)q;                                                                \
            T r = dx - (T)n * rng;                                                                 \
            return n % 2 == 0 ? hi - r : lo + r;                                                   \
        }                                                                                          \
        return x;                                                                                  \
    }

GS_REFLECT(gs_reflect_f, float, 0)
GS_REFLECT(gs_reflect_d, double, 0)

/* GS_IMPL generates the sampler for compute type T: X and grid already in T, output in T. */
#define GS_IMPL(NAME, T, REFLECT, RINT, FLOOR)                                                     \
    static void NAME(const T *X, const T *G, T *Y, int32_t k, const int64_t *xd, const int64_t *gd, \
                     int mode, int pad, int align)                                                 \
    {                                                                                              \
        int64_t N = xd[0], C = xd[1], P = 1, S = 1;                                                \
        for (int32_t i = 0; i < k; i++) {                                                          \
            P *= gd[1 + i];                                                                        \
            S *= xd[2 + i];                                                                        \
        }                                                                                          \
        int64_t str[IR_MAX_RANK];                                                                  \
        int64_t s = 1;                                                                             \
        for (int32_t i = k - 1; i >= 0; i--) {                                                     \
            str[i] = s;                                                                            \
            s *= xd[2 + i];                                                                        \
        }                                                                                          \
        int ntap = mode == GS_NEAREST ? 1 : mode == GS_LINEAR ? 2 : 4;                             \
        int64_t ncombo = 1;                                                                        \
        for (int32_t i = 0; i < k; i++) ncombo *= ntap;                                            \
        int par = (double)N * (double)P * (double)C * (double)ncombo >= GS_PAR_MIN;                \
        for (int64_t n = 0; n < N; n++) {                                                          \
            const T *xn = X + n * C * S;                                                           \
            _Pragma("omp parallel for schedule(static) if (par)")                                  \
            for (int64_t p = 0; p < P; p++) {                                                      \
                const T *g = G + (n * P + p) * k;                                                  \
                int64_t off[IR_MAX_RANK][4];                                                       \
                T w[IR_MAX_RANK][4];                                                               \
                uint8_t ok[IR_MAX_RANK][4];                                                        \
                for (int32_t i = 0; i < k; i++) {                                                  \
                    int64_t d = xd[2 + i];                                                         \
                    T gn = g[k - 1 - i]; /* grid's last dim lists x (innermost) first */           \
                    T xi = align ? (gn + 1) / (T)2 * (T)(d - 1) : ((gn + 1) * (T)d - 1) / (T)2;    \
                    T lo = align ? 0 : (T)-0.5, hi = align ? (T)(d - 1) : (T)d - (T)0.5;           \
                    if (mode == GS_NEAREST) xi = RINT(xi);                                         \
                    if (xi < lo || xi > hi) {                                                      \
                        if (pad == GS_BORDER) xi = xi < 0 ? 0 : xi > (T)(d - 1) ? (T)(d - 1) : xi; \
                        else if (pad == GS_REFLECTION) xi = REFLECT(xi, lo, hi);                   \
                    }                                                                              \
                    if (!(xi > (T)-1e15)) xi = (T)-1e15; /* NaN and huge values stay defined */    \
                    if (xi > (T)1e15) xi = (T)1e15;                                                \
                    int64_t base;                                                                  \
                    if (mode == GS_NEAREST) {                                                      \
                        base = (int64_t)xi;                                                        \
                        w[i][0] = 1;                                                               \
                    } else {                                                                       \
                        T x0 = FLOOR(xi), t = xi - x0;                                             \
                        base = (int64_t)x0;                                                        \
                        if (mode == GS_LINEAR) {                                                   \
                            w[i][0] = 1 - t;                                                       \
                            w[i][1] = t;                                                           \
                        } else {                                                                   \
                            const T A = (T)-0.75;                                                  \
                            T t1 = t + 1, q = 1 - t, q1 = 2 - t;                                   \
                            w[i][0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;                \
                            w[i][1] = ((A + 2) * t - (A + 3)) * t * t + 1;                         \
                            w[i][2] = ((A + 2) * q - (A + 3)) * q * q + 1;                         \
                            w[i][3] = ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A;                \
                            base -= 1;                                                             \
                        }                                                                          \
                    }                                                                              \
                    for (int j = 0; j < ntap; j++) {                                               \
                        int64_t ii = base + j;                                                     \
                        ok[i][j] = 1;                                                              \
                        if (pad == GS_ZEROS) {                                                     \
                            if (ii < 0 || ii >= d) ok[i][j] = 0;                                   \
                        } else if (pad == GS_BORDER) {                                             \
                            ii = ii < 0 ? 0 : ii >= d ? d - 1 : ii;                                \
                        } else {                                                                   \
                            ii = (int64_t)REFLECT((T)ii, lo, hi);                                  \
                            ii = ii < 0 ? 0 : ii >= d ? d - 1 : ii;                                \
                        }                                                                          \
                        off[i][j] = ok[i][j] ? ii * str[i] : 0;                                    \
                    }                                                                              \
                }                                                                                  \
                if (ncombo <= 64) {                                                                \
                    /* flatten the taps once; each channel is then a short dot product */         \
                    int64_t co[64], nv = 0;                                                        \
                    T cw[64];                                                                      \
                    for (int64_t cb = 0; cb < ncombo; cb++) {                                      \
                        int64_t rem = cb, o = 0;                                                   \
                        T wt = 1;                                                                  \
                        int valid = 1;                                                             \
                        for (int32_t i = k - 1; i >= 0; i--) {                                     \
                            int j = (int)(rem % ntap);                                             \
                            rem /= ntap;                                                           \
                            valid &= ok[i][j];                                                     \
                            wt *= w[i][j];                                                         \
                            o += off[i][j];                                                        \
                        }                                                                          \
                        if (!valid) continue; /* zeros padding: the tap reads 0 */                 \
                        co[nv] = o;                                                                \
                        cw[nv++] = wt;                                                             \
                    }                                                                              \
                    for (int64_t c = 0; c < C; c++) {                                              \
                        const T *xc = xn + c * S;                                                  \
                        T acc = 0;                                                                 \
                        for (int64_t cb = 0; cb < nv; cb++) acc += cw[cb] * xc[co[cb]];            \
                        Y[(n * C + c) * P + p] = acc;                                              \
                    }                                                                              \
                    continue;                                                                      \
                }                                                                                  \
                for (int64_t c = 0; c < C; c++) {                                                  \
                    const T *xc = xn + c * S;                                                      \
                    T acc = 0;                                                                     \
                    for (int64_t cb = 0; cb < ncombo; cb++) {                                      \
                        int64_t rem = cb, o = 0;                                                   \
                        T wt = 1;                                                                  \
                        int valid = 1;                                                             \
                        for (int32_t i = k - 1; i >= 0; i--) {                                     \
                            int j = (int)(rem % ntap);                                             \
                            rem /= ntap;                                                           \
                            valid &= ok[i][j];                                                     \
                            wt *= w[i][j];                                                         \
                            o += off[i][j];                                                        \
                        }                                                                          \
                        if (valid) acc += wt * xc[o];                                              \
                    }                                                                              \
                    Y[(n * C + c) * P + p] = acc;                                                  \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

GS_IMPL(gs_run_f, float, gs_reflect_f, rintf, floorf)
GS_IMPL(gs_run_d, double, gs_reflect_d, rint, floor)

/* Input data as compute type: the tensor itself when it already is, else a converted copy. */
static const void *as_compute(cpu_exec *x, const ir_node *node, const ing_tensor *t, int f64, int slot,
                              ingot_status *st)
{
    int want = f64 ? INGOT_DTYPE_F64 : INGOT_DTYPE_F32;
    if (t->dtype == want) return t->data;
    size_t n = (size_t)ing_numel(t), b;
    if (!ing_mul_fits(n, f64 ? 8 : 4, &b)) {
        *st = IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input too large");
        return NULL;
    }
    void *buf = cpu_scratch(x, slot, b ? b : 8);
    if (!buf) {
        *st = IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes", b);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        double v = ing_load_f64(t->dtype, t->data, i);
        if (f64) ((double *)buf)[i] = v;
        else ((float *)buf)[i] = (float)v;
    }
    return buf;
}

ingot_status cpu_spatial_grid_sample(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *X = in[0], *G = in[1];
    ing_tensor *Y = out[0];
    if (!ing_dtype_is_float(X->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "X has dtype %s, expected a float type",
                            ingot_dtype_name(X->dtype));
    int32_t r = X->rank, k = r - 2;
    if (G->rank != r || G->dims[r - 1] != k || G->dims[0] != X->dims[0])
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "grid must be [N, spatial..., %d] for X of rank %d", k, r);
    const char *ms = ir_attr_string(node, "mode", node->opset >= 20 ? "linear" : "bilinear");
    int mode = !strcmp(ms, "nearest") ? GS_NEAREST : (!strcmp(ms, "cubic") || !strcmp(ms, "bicubic")) ? GS_CUBIC : GS_LINEAR;
    const char *ps = ir_attr_string(node, "padding_mode", "zeros");
    int pad = !strcmp(ps, "border") ? GS_BORDER : !strcmp(ps, "reflection") ? GS_REFLECTION : GS_ZEROS;
    int align = ir_attr_int(node, "align_corners", 0) != 0;
    if (ing_numel(Y) == 0) return INGOT_OK;
    for (int32_t i = 0; i < k; i++)
        if (X->dims[2 + i] == 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has an empty spatial dim %d; nothing to sample", i);
    int f64 = X->dtype == INGOT_DTYPE_F64;
    ingot_status st = INGOT_OK;
    const void *xd = as_compute(x, node, X, f64, 0, &st);
    if (!xd) return st;
    const void *gd = as_compute(x, node, G, f64, 1, &st);
    if (!gd) return st;
    void *yd = Y->data;
    int want = f64 ? INGOT_DTYPE_F64 : INGOT_DTYPE_F32;
    size_t ny = (size_t)ing_numel(Y);
    if (Y->dtype != want) {
        yd = cpu_scratch(x, 2, ny * (f64 ? 8 : 4));
        if (!yd) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory");
    }
    if (f64) gs_run_d(xd, gd, yd, k, X->dims, G->dims, mode, pad, align);
    else gs_run_f(xd, gd, yd, k, X->dims, G->dims, mode, pad, align);
    if (yd != Y->data)
        for (size_t i = 0; i < ny; i++)
            ing_store_f64(Y->dtype, Y->data, i, f64 ? ((double *)yd)[i] : ((float *)yd)[i]);
    return INGOT_OK;
}

ingot_status cpu_spatial_affine_grid(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *th = in[0];
    ing_tensor *Y = out[0];
    int32_t k = Y->rank - 2;
    int64_t N = Y->dims[0];
    if (th->rank != 3 || th->dims[0] != N || th->dims[1] != k || th->dims[2] != k + 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "theta must be [%lld, %d, %d]", (long long)N, k, k + 1);
    int align = ir_attr_int(node, "align_corners", 0) != 0;
    int64_t P = 1;
    for (int32_t i = 0; i < k; i++) P *= Y->dims[1 + i];
    /* Base grid in double, as the reference builds it with np.arange; (x, y[, z], 1) order. */
    for (int64_t n = 0; n < N; n++) {
        double t[12];
        for (int32_t i = 0; i < k * (k + 1); i++)
            t[i] = ing_load_f64(th->dtype, th->data, (size_t)(n * k * (k + 1) + i));
        for (int64_t p = 0; p < P; p++) {
            double h[4];
            int64_t rem = p;
            for (int32_t i = k - 1; i >= 0; i--) {
                int64_t d = Y->dims[1 + i], c = rem % d;
                rem /= d;
                double v;
                if (align) v = d > 1 ? -1.0 + (double)c * (2.0 / (double)(d - 1)) : -1.0;
                else {
                    double step = 2.0 / (double)d;
                    v = -1.0 + step / 2 + (double)c * step;
                }
                h[k - 1 - i] = v; /* innermost spatial dim is the first coordinate */
            }
            h[k] = 1.0;
            for (int32_t j = 0; j < k; j++) {
                double acc = 0;
                for (int32_t q = 0; q <= k; q++) acc += t[j * (k + 1) + q] * h[q];
                ing_store_f64(Y->dtype, Y->data, (size_t)((n * P + p) * k + j), acc);
            }
        }
    }
    return INGOT_OK;
}
