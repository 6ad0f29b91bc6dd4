/* CPU pooling: MaxPool (with optional Indices), AveragePool, LpPool, GlobalAveragePool and
 * GlobalMaxPool over any number of spatial dims.
 *
 * One (image, channel) plane per OpenMP iteration. f32 is pooled in place; other dtypes (f16,
 * bf16, f64, and u8/i8 for MaxPool) are read into f64 scratch first, which is exact for all of
 * them, and rounded on store. Window positions past the input read nothing: MaxPool and
 * AveragePool without count_include_pad skip them; with count_include_pad the divisor counts
 * the declared padding but never the extra cells that ceil_mode adds.
 */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

ingot_status ir_conv_window(const ir_node *node, int kind, const ing_tensor *x, const int64_t *wk,
                            int64_t *k, int64_t *s, int64_t *d, int64_t *pads, int64_t *out_sp);
enum { CONV_FORWARD = 0, CONV_POOL = 1, CONV_TRANSPOSE = 2 };

ingot_status cpu_conv_maxpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_conv_avgpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_conv_lppool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_conv_global_avgpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_conv_global_maxpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out);

#define PAR_MIN 32768

enum { POOL_MAX, POOL_AVG, POOL_LP };

typedef struct pool_geom {
    int nsp;
    int op;            /* POOL_* */
    int count_pad;     /* AveragePool count_include_pad */
    int col_major;     /* MaxPool storage_order = 1 */
    double p;          /* LpPool exponent */
    int64_t isz[IR_MAX_RANK], osz[IR_MAX_RANK];
    int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    int64_t in_sp, out_sp;
    const int64_t *tab[IR_MAX_RANK]; /* see pool_tables */
} pool_geom;

/* Per spatial dim i and output index o, tab[i][4*o ..]: the window's start in input
 * coordinates, the tap range [lo, hi) that lands inside the input, and the number of taps
 * inside the declared padding (the count_include_pad divisor). Built once per call so the
 * plane loops do no divisions. */
static void pool_tables(pool_geom *g, int64_t *mem)
{
    for (int i = 0; i < g->nsp; i++) {
        int64_t *t = mem;
        g->tab[i] = mem;
        mem += 4 * g->osz[i];
        for (int64_t o = 0; o < g->osz[i]; o++) {
            int64_t st = o * g->s[i] - g->pads[i], D = g->isz[i], dd = g->d[i], k = g->k[i];
            int64_t lo = st >= 0 ? 0 : (-st + dd - 1) / dd;
            int64_t h = D - st <= 0 ? 0 : (D - st + dd - 1) / dd;
            int64_t e = D + g->pads[g->nsp + i] - st;
            int64_t hp = e <= 0 ? 0 : (e + dd - 1) / dd;
            t[4 * o] = st;
            t[4 * o + 1] = lo;
            t[4 * o + 2] = h < k ? h : k;
            t[4 * o + 3] = hp < k ? hp : k;
        }
    }
}

/* The window of output position oidx from the tables; returns the count_include_pad divisor
 * (in double: with padding from attributes it need not fit an int64). */
static inline double pool_window(const pool_geom *g, const int64_t *oidx, int64_t *start,
                                 int64_t *lo, int64_t *hi)
{
    double cnt_pad = 1.0;
    for (int i = 0; i < g->nsp; i++) {
        const int64_t *t = g->tab[i] + 4 * oidx[i];
        start[i] = t[0];
        lo[i] = t[1];
        hi[i] = t[2];
        cnt_pad *= (double)t[3];
    }
    return cnt_pad;
}

/* Row-major flat position -> column-major flat position (MaxPool storage_order 1). */
static int64_t to_col_major(const pool_geom *g, int64_t pos)
{
    int64_t c[IR_MAX_RANK];
    for (int i = g->nsp - 1; i >= 0; i--) {
        c[i] = pos % g->isz[i];
        pos /= g->isz[i];
    }
    int64_t r = 0;
    for (int i = g->nsp - 1; i >= 0; i--) r = r * g->isz[i] + c[i];
    return r;
}

/* Pools one plane xp (in_sp values) into yp (out_sp values); idx (optional) gets flat input
 * positions offset by base. T is float or double. */
#define DEFINE_POOL_PLANE(NAME, T)                                                                 \
    static void NAME(const pool_geom *g, const T *xp, T *yp, int64_t *idx, int64_t base)        \
    {                                                                                              \
        const int nsp = g->nsp;                                                                    \
        int64_t oidx[IR_MAX_RANK] = {0};                                                           \
        for (int64_t o = 0; o < g->out_sp; o++) {                                                  \
            int64_t start[IR_MAX_RANK], lo[IR_MAX_RANK], hi[IR_MAX_RANK], j[IR_MAX_RANK];          \
            double cnt_pad = pool_window(g, oidx, start, lo, hi);                                  \
            int64_t cnt = 1;                                                                       \
            int empty = 0;                                                                         \
            for (int i = 0; i < nsp; i++) {                                                        \
                if (lo[i] >= hi[i]) empty = 1;                                                     \
                cnt *= hi[i] - lo[i];                                                              \
                j[i] = lo[i];                                                                      \
            }                                                                                      \
            double acc = g->op == POOL_MAX ? -INFINITY : 0.0;                                      \
            int64_t best = -1;                                                                     \
            if (!empty) {                                                                          \
                const int last = nsp - 1;                                                          \
                const int64_t dl = g->d[last];                                                     \
                for (;;) {                                                                         \
                    int64_t off = 0;                                                               \
                    for (int i = 0; i < last; i++) off = off * g->isz[i] + start[i] + j[i] * g->d[i]; \
                    off = off * g->isz[last] + start[last];                                        \
                    const T *row = xp + off;                                                       \
                    if (g->op == POOL_MAX) {                                                       \
                        for (int64_t q = lo[last]; q < hi[last]; q++) {                            \
                            double v = row[q * dl];                                                \
                            if (v > acc || best < 0) {                                             \
                                acc = v;                                                           \
                                best = off + q * dl;                                               \
                            }                                                                      \
                        }                                                                          \
                    } else if (g->op == POOL_AVG) {                                                \
                        for (int64_t q = lo[last]; q < hi[last]; q++) acc += row[q * dl];          \
                    } else if (g->p == 2.0) {                                                      \
                        for (int64_t q = lo[last]; q < hi[last]; q++) {                            \
                            double v = row[q * dl];                                                \
                            acc += v * v;                                                          \
                        }                                                                          \
                    } else {                                                                       \
                        for (int64_t q = lo[last]; q < hi[last]; q++)                              \
                            acc += pow(fabs((double)row[q * dl]), g->p);                           \
                    }                                                                              \
                    int i = last - 1;                                                              \
                    for (; i >= 0; i--) {                                                          \
                        if (++j[i] < hi[i]) break;                                                 \
                        j[i] = lo[i];                                                              \
                    }                                                                              \
                    if (i < 0) break;                                                              \
                }                                                                                  \
            }                                                                                      \
            if (g->op == POOL_AVG) {                                                               \
                double div = g->count_pad ? cnt_pad : (double)cnt;                                 \
                acc = div > 0 ? acc / div : 0.0;                                                   \
            } else if (g->op == POOL_LP) {                                                         \
                acc = g->p == 2.0 ? sqrt(acc) : pow(acc, 1.0 / g->p);                              \
            }                                                                                      \
            yp[o] = (T)acc;                                                                        \
            if (idx) {                                                                             \
                int64_t b = best < 0 ? 0 : best;                                                   \
                idx[o] = base + (g->col_major ? to_col_major(g, b) : b);                           \
            }                                                                                      \
            for (int i = nsp - 1; i >= 0; i--) {                                                   \
                if (++oidx[i] < g->osz[i]) break;                                                  \
                oidx[i] = 0;                                                                       \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_POOL_PLANE(pool_plane_f32, float)
DEFINE_POOL_PLANE(pool_plane_f64, double)

/* 2-D f32 MaxPool/AveragePool without Indices, the common case: the same windows as the
 * generic plane loop, with the loops written out. */
static void pool2d_f32(const pool_geom *g, const float *xp, float *yp)
{
    const int64_t *th = g->tab[0], *tw = g->tab[1];
    const int64_t W = g->isz[1], OW = g->osz[1], dh = g->d[0], dw = g->d[1];
    for (int64_t oh = 0; oh < g->osz[0]; oh++) {
        const int64_t hs = th[4 * oh], hlo = th[4 * oh + 1], hhi = th[4 * oh + 2];
        float *yr = yp + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++) {
            const int64_t ws = tw[4 * ow], wlo = tw[4 * ow + 1], whi = tw[4 * ow + 2];
            if (g->op == POOL_MAX) {
                float m = -INFINITY;
                for (int64_t kh = hlo; kh < hhi; kh++) {
                    const int64_t r = (hs + kh * dh) * W + ws;
                    for (int64_t kw = wlo; kw < whi; kw++) {
                        const float v = xp[r + kw * dw];
                        m = v > m ? v : m;
                    }
                }
                yr[ow] = m;
            } else {
                float sum = 0.0f;
                for (int64_t kh = hlo; kh < hhi; kh++) {
                    const int64_t r = (hs + kh * dh) * W + ws;
                    for (int64_t kw = wlo; kw < whi; kw++) sum += xp[r + kw * dw];
                }
                const int64_t div = g->count_pad ? th[4 * oh + 3] * tw[4 * ow + 3]
                                                 : (hhi - hlo) * (whi - wlo);
                yr[ow] = div > 0 && hhi > hlo && whi > wlo ? sum / (float)div : 0.0f;
            }
        }
    }
}

static ingot_status pool_run(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out, int op)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0], *ind = n_out > 1 ? out[1] : NULL;
    pool_geom g;
    memset(&g, 0, sizeof g);
    g.nsp = x->rank - 2;
    g.op = op;
    g.count_pad = op == POOL_AVG && ir_attr_int(node, "count_include_pad", 0) != 0;
    g.col_major = op == POOL_MAX && ir_attr_int(node, "storage_order", 0) == 1;
    g.p = op == POOL_LP ? (double)ir_attr_float(node, "p", 2.0f) : 1.0;
    int64_t osp[IR_MAX_RANK];
    ING_TRY(ir_conv_window(node, CONV_POOL, x, NULL, g.k, g.s, g.d, g.pads, osp));
    g.in_sp = g.out_sp = 1;
    for (int i = 0; i < g.nsp; i++) {
        g.isz[i] = x->dims[i + 2];
        g.osz[i] = y->dims[i + 2];
        if (osp[i] != g.osz[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "output spatial dim %d is %lld; the geometry gives %lld", i,
                                (long long)g.osz[i], (long long)osp[i]);
        g.in_sp *= g.isz[i];
        g.out_sp *= g.osz[i];
    }
    const int64_t planes = x->dims[0] * x->dims[1];
    if (planes * g.out_sp == 0) return INGOT_OK;
    int64_t *idx = ind ? ind->data : NULL;
    size_t ntab = 0;
    for (int i = 0; i < g.nsp; i++) ntab += 4 * (size_t)g.osz[i];
    int64_t *tabmem = cpu_scratch(ex, 2, ntab * sizeof(int64_t));
    if (!tabmem) return INGOT_ERR_NOMEM;
    pool_tables(&g, tabmem);
    double work = (double)planes * (double)g.out_sp; /* in double: k is any attribute value */
    for (int i = 0; i < g.nsp; i++) work *= (double)g.k[i];
    const int par = planes > 1 && work >= PAR_MIN;
    if (x->dtype == INGOT_DTYPE_F32) {
        const float *X = x->data;
        float *Y = y->data;
        if (g.nsp == 2 && !idx && op != POOL_LP) {
#pragma omp parallel for schedule(static) if (par)
            for (int64_t pl = 0; pl < planes; pl++)
                pool2d_f32(&g, X + pl * g.in_sp, Y + pl * g.out_sp);
            return INGOT_OK;
        }
#pragma omp parallel for schedule(static) if (par)
        for (int64_t pl = 0; pl < planes; pl++)
            pool_plane_f32(&g, X + pl * g.in_sp, Y + pl * g.out_sp, idx ? idx + pl * g.out_sp : NULL,
                           pl * g.in_sp);
        return INGOT_OK;
    }
    size_t nx = (size_t)ing_numel(x), ny = (size_t)ing_numel(y), bx, by;
    if (!ing_mul_fits(nx, sizeof(double), &bx) || !ing_mul_fits(ny, sizeof(double), &by))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "tensor too large");
    double *X = cpu_scratch(ex, 0, bx ? bx : 8), *Y = cpu_scratch(ex, 1, by);
    if (!X || !Y) return INGOT_ERR_NOMEM;
    for (size_t i = 0; i < nx; i++) X[i] = ing_load_f64(x->dtype, x->data, i);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t pl = 0; pl < planes; pl++)
        pool_plane_f64(&g, X + pl * g.in_sp, Y + pl * g.out_sp, idx ? idx + pl * g.out_sp : NULL,
                       pl * g.in_sp);
    for (size_t i = 0; i < ny; i++) ing_store_f64(y->dtype, y->data, i, Y[i]);
    return INGOT_OK;
}

ingot_status cpu_conv_maxpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    if (CPU_CHANNELS_LAST(node)) return cpu_channels_last(cpu_conv_maxpool, x, node, in, n_in, out, n_out);
    return pool_run(x, node, in, n_in, out, n_out, POOL_MAX);
}

ingot_status cpu_conv_avgpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    if (CPU_CHANNELS_LAST(node)) return cpu_channels_last(cpu_conv_avgpool, x, node, in, n_in, out, n_out);
    return pool_run(x, node, in, n_in, out, n_out, POOL_AVG);
}

ingot_status cpu_conv_lppool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    return pool_run(x, node, in, n_in, out, n_out, POOL_LP);
}

static ingot_status global_pool(const ir_node *node, const ing_tensor *x, ing_tensor *y, int is_max)
{
    const int64_t planes = x->rank >= 2 ? x->dims[0] * x->dims[1] : 0;
    int64_t sp = 1;
    for (int i = 2; i < x->rank; i++) sp *= x->dims[i];
    const int par = planes > 1 && planes * sp >= PAR_MIN;
    if (x->dtype == INGOT_DTYPE_F32) {
        const float *X = x->data;
        float *Y = y->data;
#pragma omp parallel for schedule(static) if (par)
        for (int64_t pl = 0; pl < planes; pl++) {
            const float *p = X + pl * sp;
            if (is_max) {
                float m = sp ? p[0] : -INFINITY;
                for (int64_t i = 1; i < sp; i++) m = p[i] > m ? p[i] : m;
                Y[pl] = m;
            } else {
                double acc = 0.0;
                for (int64_t i = 0; i < sp; i++) acc += p[i];
                Y[pl] = sp ? (float)(acc / (double)sp) : 0.0f;
            }
        }
        return INGOT_OK;
    }
    const int dt = x->dtype;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t pl = 0; pl < planes; pl++) {
        double acc = is_max ? -INFINITY : 0.0;
        for (int64_t i = 0; i < sp; i++) {
            double v = ing_load_f64(dt, x->data, (size_t)(pl * sp + i));
            if (is_max) acc = v > acc || i == 0 ? v : acc;
            else acc += v;
        }
        if (!is_max) acc = sp ? acc / (double)sp : 0.0;
        ing_store_f64(y->dtype, y->data, (size_t)pl, acc);
    }
    return INGOT_OK;
}

ingot_status cpu_conv_global_avgpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    return global_pool(node, in[0], out[0], 0);
}

ingot_status cpu_conv_global_maxpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    return global_pool(node, in[0], out[0], 1);
}
