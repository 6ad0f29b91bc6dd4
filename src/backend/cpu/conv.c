/* CPU convolutions: Conv, ConvTranspose, ConvInteger, QLinearConv and CausalConvWithState,
 * plus the family's kernel table (pooling lives in conv_pool.c, DeformConv in conv_deform.c).
 *
 * f32 Conv: im2col into cpu_scratch memory, then one cblas_sgemm per (image, group); a 1x1
 * stride-1 unpadded conv multiplies the input directly. Depthwise convs (one input channel per
 * group) skip the GEMM: a direct loop per output plane, planes in parallel. With many small
 * groups OpenMP runs the (image, group) pairs in parallel, each thread with its own column
 * buffer; otherwise im2col runs in parallel and OpenBLAS threads the GEMM.
 * f32 ConvTranspose: one sgemm (W^T x X) per (image, group), then col2im scatters into the
 * output, output channels in parallel.
 * f16/bf16 are widened to f32 scratch and run the same paths, rounded on store; f64 goes
 * through a direct loop in f64. Buffers are contiguous row-major; no alignment is assumed.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

/* From src/ir/infer_conv.c: the window geometry shared with shape inference. */
ingot_status ir_conv_window(const ir_node *node, int kind, const ing_tensor *x, const int64_t *wk,
                            int64_t *k, int64_t *s, int64_t *d, int64_t *pads, int64_t *out_sp);
enum { CONV_FORWARD = 0, CONV_POOL = 1, CONV_TRANSPOSE = 2 };

/* Defined in conv_pool.c and conv_deform.c. */
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
ingot_status cpu_conv_deform(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out);

/* Work (elements touched) above which a loop is worth an OpenMP team. */
#define PAR_MIN 32768

/* The geometry of one forward or transposed conv, all in elements. */
typedef struct conv_shape {
    int nsp;
    int64_t N, C, M, G, Cg, Mg;
    int64_t isz[IR_MAX_RANK], osz[IR_MAX_RANK]; /* spatial extents of x and y */
    int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    int64_t in_sp, out_sp, ksz; /* products of isz, osz, k */
} conv_shape;

/* in[0] = X, in[1] = W, y = out[0]. Transposed: W is (C, M/G, k...). */
static ingot_status conv_shape_get(const ir_node *node, const ing_tensor *x, const ing_tensor *w,
                                   const ing_tensor *y, int transpose, conv_shape *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->nsp = x->rank - 2;
    cs->G = ir_attr_int(node, "group", 1);
    int64_t wk[IR_MAX_RANK], osp[IR_MAX_RANK];
    for (int i = 0; i < cs->nsp; i++) wk[i] = w->dims[i + 2];
    ING_TRY(ir_conv_window(node, transpose ? CONV_TRANSPOSE : CONV_FORWARD, x, wk, cs->k, cs->s,
                           cs->d, cs->pads, osp));
    cs->N = x->dims[0];
    cs->C = x->dims[1];
    cs->M = y->dims[1];
    cs->Cg = cs->C / cs->G;
    cs->Mg = cs->M / cs->G;
    cs->in_sp = cs->out_sp = cs->ksz = 1;
    for (int i = 0; i < cs->nsp; i++) {
        cs->isz[i] = x->dims[i + 2];
        cs->osz[i] = y->dims[i + 2];
        if (osp[i] != cs->osz[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "output spatial dim %d is %lld; the geometry gives %lld", i,
                                (long long)cs->osz[i], (long long)osp[i]);
        cs->in_sp *= cs->isz[i];
        cs->out_sp *= cs->osz[i];
        cs->ksz *= cs->k[i];
    }
    return INGOT_OK;
}

/* ---- f32 forward: im2col + sgemm ---------------------------------------------------------- */

/* The indices i in [0, n) whose position i*step + base lies in [0, extent): [*lo, *hi). */
static inline void valid_range(int64_t base, int64_t step, int64_t extent, int64_t n, int64_t *lo,
                               int64_t *hi)
{
    int64_t l = base >= 0 ? 0 : (-base + step - 1) / step;
    int64_t h = extent - base <= 0 ? 0 : (extent - base + step - 1) / step;
    if (h > n) h = n;
    *lo = l < h ? l : h;
    *hi = h;
}

/* Row-major multi-index of flat index i over dims[0..n). */
static inline void unravel(int64_t i, const int64_t *dims, int n, int64_t *idx)
{
    for (int a = n - 1; a >= 0; a--) {
        idx[a] = i % dims[a];
        i /= dims[a];
    }
}

/* For the first n spatial dims: position idx*s + kidx*d - pad in each; 0 when one falls
 * outside [0, ext), else 1 with *off the row-major offset of the positions over ext. */
static inline int window_offset(const conv_shape *cs, int n, const int64_t *idx,
                                const int64_t *kidx, const int64_t *ext, int64_t *off)
{
    int64_t o = 0;
    for (int a = 0; a < n; a++) {
        int64_t p = idx[a] * cs->s[a] + kidx[a] * cs->d[a] - cs->pads[a];
        if (p < 0 || p >= ext[a]) return 0;
        o = o * ext[a] + p;
    }
    *off = o;
    return 1;
}

/* Rows r = (c, kernel offset) of the column matrix (Cg*ksz x out_sp) for one image and group;
 * positions outside the input read 0. xs: the group's first input channel. One body for f32
 * and f64 elements. */
#define DEFINE_IM2COL(NAME, T)                                                                     \
    static void NAME(const conv_shape *cs, const T *xs, T *col, int par)                           \
    {                                                                                              \
        const int last = cs->nsp - 1;                                                              \
        const int64_t rows = cs->Cg * cs->ksz, ow_n = cs->osz[last], W = cs->isz[last];            \
        const int64_t outer = ow_n ? cs->out_sp / ow_n : 0, sl = cs->s[last];                      \
        _Pragma("omp parallel for schedule(static) if (par && rows * cs->out_sp >= PAR_MIN)")      \
        for (int64_t r = 0; r < rows; r++) {                                                       \
            int64_t kidx[IR_MAX_RANK], oidx[IR_MAX_RANK] = {0}, lo, hi, off;                       \
            unravel(r % cs->ksz, cs->k, cs->nsp, kidx);                                            \
            const T *xc = xs + (r / cs->ksz) * cs->in_sp;                                          \
            const int64_t base = kidx[last] * cs->d[last] - cs->pads[last];                        \
            valid_range(base, sl, W, ow_n, &lo, &hi);                                              \
            for (int64_t t = 0; t < outer; t++) {                                                  \
                T *drow = col + r * cs->out_sp + t * ow_n;                                         \
                if (!window_offset(cs, last, oidx, kidx, cs->isz, &off)) {                         \
                    memset(drow, 0, (size_t)ow_n * sizeof(T));                                     \
                } else {                                                                           \
                    const int64_t roff = off * W + base; /* may be negative; never read there */   \
                    memset(drow, 0, (size_t)lo * sizeof(T));                                       \
                    if (sl == 1 && hi > lo)                                                        \
                        memcpy(drow + lo, xc + roff + lo, (size_t)(hi - lo) * sizeof(T));          \
                    else                                                                           \
                        for (int64_t ow = lo; ow < hi; ow++) drow[ow] = xc[roff + ow * sl];        \
                    memset(drow + hi, 0, (size_t)(ow_n - hi) * sizeof(T));                         \
                }                                                                                  \
                for (int i = last - 1; i >= 0; i--) {                                              \
                    if (++oidx[i] < cs->osz[i]) break;                                             \
                    oidx[i] = 0;                                                                   \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_IM2COL(im2col_f32, float)
DEFINE_IM2COL(im2col_f64, double)

static void add_bias_f32(float *y, const float *b, int64_t M, int64_t sp)
{
    if (!b) return;
#pragma omp parallel for schedule(static) if (M * sp >= PAR_MIN)
    for (int64_t m = 0; m < M; m++) {
        float *row = y + m * sp;
        float bv = b[m];
        for (int64_t i = 0; i < sp; i++) row[i] += bv;
    }
}

/* Depthwise (one input channel per group): per output plane, accumulate each kernel tap's
 * shifted input row into the output row. No column buffer, and the rows stay in cache, where
 * im2col would copy the input ksz times for a GEMM of one row. */
static void conv_depthwise_f32(const conv_shape *cs, const float *X, const float *Wt,
                               const float *B, float *Y)
{
    const int last = cs->nsp - 1;
    const int64_t ow_n = cs->osz[last], W = cs->isz[last], sl = cs->s[last];
    const int64_t outer = ow_n ? cs->out_sp / ow_n : 0, planes = cs->N * cs->M;
#pragma omp parallel for schedule(static) if (planes * cs->out_sp * cs->ksz >= PAR_MIN)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t n = pl / cs->M, m = pl % cs->M, g = m / cs->Mg;
        const float *xc = X + (n * cs->C + g) * cs->in_sp, *wm = Wt + m * cs->ksz;
        float *yp = Y + pl * cs->out_sp;
        const float bv = B ? B[m] : 0.0f;
        for (int64_t o = 0; o < cs->out_sp; o++) yp[o] = bv;
        for (int64_t kk = 0; kk < cs->ksz; kk++) {
            int64_t kidx[IR_MAX_RANK], oidx[IR_MAX_RANK] = {0}, lo, hi, off;
            unravel(kk, cs->k, cs->nsp, kidx);
            const float wv = wm[kk];
            const int64_t base = kidx[last] * cs->d[last] - cs->pads[last];
            valid_range(base, sl, W, ow_n, &lo, &hi);
            for (int64_t t = 0; t < outer; t++) {
                if (window_offset(cs, last, oidx, kidx, cs->isz, &off)) {
                    float *yr = yp + t * ow_n;
                    const int64_t roff = off * W + base; /* may be negative; never read there */
                    if (sl == 1) {
                        const float *xr = xc + roff + lo;
                        float *yo = yr + lo;
                        for (int64_t q = 0; q < hi - lo; q++) yo[q] += wv * xr[q];
                    } else {
                        for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xc[roff + ow * sl];
                    }
                }
                for (int i = last - 1; i >= 0; i--) {
                    if (++oidx[i] < cs->osz[i]) break;
                    oidx[i] = 0;
                }
            }
        }
    }
}

/* C (M x N) = A (M x K) x B (K x N), row-major, on the calling thread. Used inside an OpenMP
 * team when OpenBLAS runs its own pthread pool: called from every thread of the team, that
 * pool oversubscribes the cores (a 32-group 3x3 conv on 16 cores took 91 ms instead of
 * 0.37 ms). An OpenMP build of OpenBLAS runs single-threaded there and is used instead. */
static void gemm_serial(int64_t M, int64_t N, int64_t K, const float *A, const float *B, float *C)
{
    for (int64_t m = 0; m < M; m++) {
        float *c = C + m * N;
        memset(c, 0, (size_t)N * sizeof(float));
        for (int64_t k = 0; k < K; k++) {
            const float a = A[m * K + k], *b = B + k * N;
            for (int64_t n = 0; n < N; n++) c[n] += a * b[n];
        }
    }
}

/* 1x1, stride 1, no padding: the input itself is the column matrix. */
static int conv_is_pointwise(const conv_shape *cs)
{
    for (int i = 0; i < cs->nsp; i++)
        if (cs->k[i] != 1 || cs->s[i] != 1 || cs->pads[i] || cs->pads[cs->nsp + i]) return 0;
    return 1;
}

static ingot_status conv_f32(cpu_exec *ex, const ir_node *node, const conv_shape *cs,
                             const float *X, const float *Wt, const float *B, float *Y)
{
    const int64_t K = cs->Cg * cs->ksz; /* GEMM inner dim */
    if (K == 0) { /* no input channels: BLAS rejects lda 0, and the sum is empty anyway */
        for (int64_t i = 0; i < cs->N * cs->M * cs->out_sp; i++)
            Y[i] = B ? B[(i / cs->out_sp) % cs->M] : 0.0f;
        return INGOT_OK;
    }
    if (cs->Cg == 1 && cs->G > 1) {
        conv_depthwise_f32(cs, X, Wt, B, Y);
        return INGOT_OK;
    }
    const int direct = conv_is_pointwise(cs);
    const int64_t jobs = cs->N * cs->G;
    int nth = omp_get_max_threads();
    /* Many small GEMMs (grouped or batched): one (image, group) per thread. */
    int par_jobs = jobs >= 2 * (int64_t)nth && nth > 1 && cs->Mg * K * cs->out_sp < (1 << 22);
    size_t col_elems = 0, bytes;
    if (!direct) {
        if (!ing_mul_fits((size_t)K, (size_t)cs->out_sp, &col_elems) ||
            !ing_mul_fits(col_elems, sizeof(float) * (par_jobs ? (size_t)nth : 1), &bytes))
            return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "column buffer (%lld x %lld) overflows",
                                (long long)K, (long long)cs->out_sp);
    }
    float *colbuf = NULL;
    if (!direct && col_elems) {
        colbuf = cpu_scratch(ex, 0, bytes);
        if (!colbuf) return INGOT_ERR_NOMEM;
    }
    if (par_jobs) {
        const int blas_omp = openblas_get_parallel() == 2;
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t j = 0; j < jobs; j++) {
            int64_t n = j / cs->G, g = j % cs->G;
            const float *xs = X + (n * cs->C + g * cs->Cg) * cs->in_sp;
            float *col = direct ? (float *)xs : colbuf + (size_t)omp_get_thread_num() * col_elems;
            if (!direct) im2col_f32(cs, xs, col, 0);
            float *yg = Y + (n * cs->M + g * cs->Mg) * cs->out_sp;
            if (blas_omp)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cs->Mg,
                            (int)cs->out_sp, (int)K, 1.0f, Wt + g * cs->Mg * K, (int)K, col,
                            (int)cs->out_sp, 0.0f, yg, (int)cs->out_sp);
            else
                gemm_serial(cs->Mg, cs->out_sp, K, Wt + g * cs->Mg * K, col, yg);
        }
    } else {
        for (int64_t j = 0; j < jobs; j++) {
            int64_t n = j / cs->G, g = j % cs->G;
            const float *xs = X + (n * cs->C + g * cs->Cg) * cs->in_sp;
            const float *col = xs;
            if (!direct) {
                im2col_f32(cs, xs, colbuf, 1);
                col = colbuf;
            }
            float *yg = Y + (n * cs->M + g * cs->Mg) * cs->out_sp;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cs->Mg, (int)cs->out_sp,
                        (int)K, 1.0f, Wt + g * cs->Mg * K, (int)K, col, (int)cs->out_sp, 0.0f, yg,
                        (int)cs->out_sp);
        }
    }
    for (int64_t n = 0; n < cs->N; n++) add_bias_f32(Y + n * cs->M * cs->out_sp, B, cs->M, cs->out_sp);
    return INGOT_OK;
}

/* ---- generic dtypes: direct loops in f64 ----------------------------------------------------- */

/* Converts a whole tensor to f64 scratch. */
static double *to_f64(cpu_exec *ex, int slot, const ing_tensor *t)
{
    int64_t n = ing_numel(t);
    size_t bytes;
    if (!ing_mul_fits((size_t)n, sizeof(double), &bytes)) {
        ingot_fail(INGOT_ERR_NOMEM, "tensor of %lld elements is too large", (long long)n);
        return NULL;
    }
    double *p = cpu_scratch(ex, slot, bytes ? bytes : sizeof(double));
    if (!p) return NULL;
    for (int64_t i = 0; i < n; i++) p[i] = ing_load_f64(t->dtype, t->data, (size_t)i);
    return p;
}

/* f64: im2col + one cblas_dgemm per (image, group), images and groups in sequence. */
static ingot_status conv_f64(cpu_exec *ex, const ir_node *node, const conv_shape *cs,
                             const double *X, const double *Wt, const double *B, double *Y)
{
    const int64_t K = cs->Cg * cs->ksz;
    const int direct = conv_is_pointwise(cs);
    size_t ne, bytes;
    if (!ing_mul_fits((size_t)K, (size_t)cs->out_sp, &ne) ||
        !ing_mul_fits(ne, sizeof(double), &bytes))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "column buffer (%lld x %lld) overflows",
                            (long long)K, (long long)cs->out_sp);
    double *col = direct ? NULL : cpu_scratch(ex, 0, bytes ? bytes : sizeof(double));
    if (!direct && !col) return INGOT_ERR_NOMEM;
    for (int64_t n = 0; n < cs->N; n++)
        for (int64_t g = 0; g < cs->G; g++) {
            const double *xs = X + (n * cs->C + g * cs->Cg) * cs->in_sp, *cm = xs;
            double *yg = Y + (n * cs->M + g * cs->Mg) * cs->out_sp;
            if (K == 0) { /* BLAS rejects lda 0; the sum is empty */
                memset(yg, 0, (size_t)(cs->Mg * cs->out_sp) * sizeof(double));
                continue;
            }
            if (!direct) {
                im2col_f64(cs, xs, col, 1);
                cm = col;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cs->Mg, (int)cs->out_sp,
                        (int)K, 1.0, Wt + g * cs->Mg * K, (int)K, cm, (int)cs->out_sp, 0.0, yg,
                        (int)cs->out_sp);
        }
    if (B)
        for (int64_t i = 0; i < cs->N * cs->M * cs->out_sp; i++) Y[i] += B[(i / cs->out_sp) % cs->M];
    return INGOT_OK;
}

/* f16/bf16 <-> f32 for running half-precision convs through the f32 GEMM path. */
static void widen_f32(const ing_tensor *t, float *dst)
{
    const uint16_t *src = t->data;
    const int64_t n = ing_numel(t);
    if (t->dtype == INGOT_DTYPE_F16)
        for (int64_t i = 0; i < n; i++) dst[i] = ing_f16_to_f32(src[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ing_bf16_to_f32(src[i]);
}

static void narrow_f32(const float *src, ing_tensor *t)
{
    uint16_t *dst = t->data;
    const int64_t n = ing_numel(t);
    if (t->dtype == INGOT_DTYPE_F16)
        for (int64_t i = 0; i < n; i++) dst[i] = ing_f32_to_f16(src[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ing_f32_to_bf16(src[i]);
}

/* One f32 scratch buffer (slot 1) laid out X | W | B | Y for a half-precision conv; slot 0
 * stays free for the f32 path's columns. */
static float *half_buffers(cpu_exec *ex, const ir_node *node, const ing_tensor *x,
                           const ing_tensor *w, const ing_tensor *b, const ing_tensor *y,
                           float **W, float **B, float **Y)
{
    size_t nx = (size_t)ing_numel(x), nw = (size_t)ing_numel(w), nb = b ? (size_t)ing_numel(b) : 0;
    size_t ny = (size_t)ing_numel(y), total = nx + nw + nb + ny, bytes;
    if (!ing_mul_fits(total, sizeof(float), &bytes)) {
        IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "f32 copies of %zu elements are too large", total);
        return NULL;
    }
    float *X = cpu_scratch(ex, 1, bytes);
    if (!X) return NULL;
    *W = X + nx;
    *B = b ? *W + nw : NULL;
    *Y = *W + nw + nb;
    widen_f32(x, X);
    widen_f32(w, *W);
    if (b) widen_f32(b, *B);
    return X;
}

static int is_half(int dt) { return dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }

static ingot_status k_conv(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    if (CPU_CHANNELS_LAST(node)) return cpu_channels_last(k_conv, ex, node, in, n_in, out, n_out);
    const ing_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    conv_shape cs;
    ING_TRY(conv_shape_get(node, x, w, out[0], 0, &cs));
    if (ing_numel(out[0]) == 0) return INGOT_OK;
    if (cs.Mg > INT32_MAX || cs.out_sp > INT32_MAX || cs.Cg * cs.ksz > INT32_MAX)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "GEMM dims (%lld, %lld, %lld) exceed the BLAS int range",
                            (long long)cs.Mg, (long long)cs.out_sp, (long long)(cs.Cg * cs.ksz));
    if (x->dtype == INGOT_DTYPE_F32)
        return conv_f32(ex, node, &cs, x->data, w->data, b ? b->data : NULL, out[0]->data);
    if (x->dtype == INGOT_DTYPE_F64)
        return conv_f64(ex, node, &cs, x->data, w->data, b ? b->data : NULL, out[0]->data);
    if (is_half(x->dtype)) {
        float *Wf, *Bf, *Yf, *Xf = half_buffers(ex, node, x, w, b, out[0], &Wf, &Bf, &Yf);
        if (!Xf) return INGOT_ERR_NOMEM;
        ING_TRY(conv_f32(ex, node, &cs, Xf, Wf, Bf, Yf));
        narrow_f32(Yf, out[0]);
        return INGOT_OK;
    }
    return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s; supported f32, f16, bf16, f64",
                        ingot_dtype_name((ingot_dtype)x->dtype));
}

/* ---- ConvInteger, QLinearConv ----------------------------------------------------------- */

/* Both subtract the zero points first (scalar or per output channel for w), so padding reads
 * 0, then run the f64 path above: products of 8-bit values summed over any realistic window
 * stay integers below 2^53, so the sums are exact, at BLAS speed. QLinearConv requantizes with
 * y = sat(round_half_even(acc * xs*ws/ys) + yz), one (image, output channel) per OpenMP
 * iteration. */

/* A zero point's value for output channel m (scalar or per-channel); 0 when absent. */
static int32_t zp_at(const ing_tensor *t, int64_t m)
{
    if (!t) return 0;
    int64_t n = ing_numel(t);
    return (int32_t)ing_load_i64(t->dtype, t->data, (size_t)(n > 1 ? m : 0));
}

/* Zero-point-free copies in f64, in scratch slots 1 and 2 (conv_f64 takes slot 0):
 * X = x - xz (N*C*in_sp), W = w - wz[m] (M*Cg*ksz). */
static ingot_status q_prepare(cpu_exec *ex, const ir_node *node, const conv_shape *cs,
                              const ing_tensor *x, const ing_tensor *xz, const ing_tensor *w,
                              const ing_tensor *wz, double **xs, double **ws)
{
    size_t nx = (size_t)ing_numel(x), nw = (size_t)ing_numel(w), bx, bw;
    if (!ing_mul_fits(nx, sizeof(double), &bx) || !ing_mul_fits(nw, sizeof(double), &bw))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "tensor too large");
    double *X = cpu_scratch(ex, 1, bx ? bx : 8), *W = cpu_scratch(ex, 2, bw ? bw : 8);
    if (!X || !W) return INGOT_ERR_NOMEM;
    const int32_t xzv = zp_at(xz, 0);
    if (x->dtype == INGOT_DTYPE_U8) {
        const uint8_t *xp = x->data;
        for (size_t i = 0; i < nx; i++) X[i] = (double)((int32_t)xp[i] - xzv);
    } else {
        const int8_t *xp = x->data;
        for (size_t i = 0; i < nx; i++) X[i] = (double)((int32_t)xp[i] - xzv);
    }
    const int64_t per = cs->Cg * cs->ksz;
    for (int64_t m = 0; m < cs->M; m++) {
        const int32_t z = zp_at(wz, m);
        for (int64_t r = 0; r < per; r++)
            W[m * per + r] =
                (double)((int32_t)ing_load_i64(w->dtype, w->data, (size_t)(m * per + r)) - z);
    }
    *xs = X;
    *ws = W;
    return INGOT_OK;
}

/* acc (scratch slot 3, N x M x out_sp) = the integer conv sums, exact in f64. */
static ingot_status q_acc(cpu_exec *ex, const ir_node *node, const conv_shape *cs,
                          const double *X, const double *W, double **acc)
{
    size_t ny = (size_t)(cs->N * cs->M * cs->out_sp), by;
    if (!ing_mul_fits(ny, sizeof(double), &by))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "output of %zu elements is too large", ny);
    if (cs->Mg > INT32_MAX || cs->out_sp > INT32_MAX || cs->Cg * cs->ksz > INT32_MAX)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "GEMM dims (%lld, %lld, %lld) exceed the BLAS int range",
                            (long long)cs->Mg, (long long)cs->out_sp,
                            (long long)(cs->Cg * cs->ksz));
    *acc = cpu_scratch(ex, 3, by ? by : 8);
    if (!*acc) return INGOT_ERR_NOMEM;
    return conv_f64(ex, node, cs, X, W, NULL, *acc);
}

static ingot_status k_conv_integer(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                                   int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[1];
    const ing_tensor *xz = n_in > 2 ? in[2] : NULL, *wz = n_in > 3 ? in[3] : NULL;
    conv_shape q;
    ING_TRY(conv_shape_get(node, x, w, out[0], 0, &q));
    if (ing_numel(out[0]) == 0) return INGOT_OK;
    double *X, *W, *acc;
    ING_TRY(q_prepare(ex, node, &q, x, xz, w, wz, &X, &W));
    ING_TRY(q_acc(ex, node, &q, X, W, &acc));
    int32_t *Y = out[0]->data;
    int64_t ny = ing_numel(out[0]);
    /* i32 is the op's accumulator: a sum beyond it wraps, as in an i32 accumulation. */
    for (int64_t i = 0; i < ny; i++) Y[i] = (int32_t)(uint32_t)(int64_t)acc[i];
    return INGOT_OK;
}

static ingot_status k_qlinear_conv(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                                   int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[3], *b = n_in > 8 ? in[8] : NULL;
    conv_shape q;
    ING_TRY(conv_shape_get(node, x, w, out[0], 0, &q));
    if (ing_numel(out[0]) == 0) return INGOT_OK;
    const float xs = *(const float *)in[1]->data, ys = *(const float *)in[6]->data;
    const ing_tensor *wsc = in[4];
    const int64_t nws = ing_numel(wsc);
    if (!(ys != 0.0f))
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "y_scale is %g; must be non-zero", (double)ys);
    double *X, *W, *acc;
    ING_TRY(q_prepare(ex, node, &q, x, in[2], w, n_in > 5 ? in[5] : NULL, &X, &W));
    ING_TRY(q_acc(ex, node, &q, X, W, &acc));
    const int ydt = out[0]->dtype;
    const int32_t yz = zp_at(n_in > 7 ? in[7] : NULL, 0);
    const double lo = ydt == INGOT_DTYPE_I8 ? -128.0 : 0.0, hi = ydt == INGOT_DTYPE_I8 ? 127.0 : 255.0;
    const int64_t jobs = q.N * q.M;
#pragma omp parallel for schedule(static) if (jobs * q.out_sp >= PAR_MIN)
    for (int64_t j = 0; j < jobs; j++) {
        const int64_t m = j % q.M;
        const float wsv = ((const float *)wsc->data)[nws > 1 ? m : 0];
        /* The scale in f32, as the reference computes it. */
        const double scale = (double)(xs * wsv / ys);
        const double bias = b ? (double)((const int32_t *)b->data)[m] : 0.0;
        const double *a = acc + j * q.out_sp;
        for (int64_t o = 0; o < q.out_sp; o++) {
            double v = nearbyint((a[o] + bias) * scale) + yz;
            v = v < lo ? lo : v > hi ? hi : v;
            if (ydt == INGOT_DTYPE_I8) ((int8_t *)out[0]->data)[j * q.out_sp + o] = (int8_t)v;
            else ((uint8_t *)out[0]->data)[j * q.out_sp + o] = (uint8_t)v;
        }
    }
    return INGOT_OK;
}

/* ---- ConvTranspose ----------------------------------------------------------------------- */

/* Scatter-adds the column matrix (Mg*ksz x in_sp) of one image and group into y (Mg x out_sp):
 * input position i with kernel offset kk lands on output i*s + kk*d - pad. */
static void col2im_f32(const conv_shape *cs, const float *col, float *y)
{
    const int last = cs->nsp - 1;
    const int64_t iw_n = cs->isz[last], OW = cs->osz[last], sl = cs->s[last];
    const int64_t outer = iw_n ? cs->in_sp / iw_n : 0;
#pragma omp parallel for schedule(static) if (cs->Mg * cs->ksz * cs->in_sp >= PAR_MIN)
    for (int64_t m = 0; m < cs->Mg; m++) {
        float *ym = y + m * cs->out_sp;
        for (int64_t kk = 0; kk < cs->ksz; kk++) {
            int64_t kidx[IR_MAX_RANK], iidx[IR_MAX_RANK] = {0}, lo, hi, off;
            unravel(kk, cs->k, cs->nsp, kidx);
            const float *src = col + (m * cs->ksz + kk) * cs->in_sp;
            const int64_t base = kidx[last] * cs->d[last] - cs->pads[last];
            valid_range(base, sl, OW, iw_n, &lo, &hi);
            for (int64_t t = 0; t < outer; t++) {
                if (window_offset(cs, last, iidx, kidx, cs->osz, &off)) {
                    const int64_t roff = off * OW + base; /* may be negative; never written */
                    const float *sr = src + t * iw_n;
                    for (int64_t iw = lo; iw < hi; iw++) ym[roff + iw * sl] += sr[iw];
                }
                for (int i = last - 1; i >= 0; i--) {
                    if (++iidx[i] < cs->isz[i]) break;
                    iidx[i] = 0;
                }
            }
        }
    }
}

static ingot_status conv_transpose_f32(cpu_exec *ex, const ir_node *node, const conv_shape *cs,
                                       const float *X, const float *Wt, const float *B, float *Y)
{
    const int64_t R = cs->Mg * cs->ksz; /* column rows */
    size_t col_elems, bytes;
    if (!ing_mul_fits((size_t)R, (size_t)cs->in_sp, &col_elems) ||
        !ing_mul_fits(col_elems, sizeof(float), &bytes))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "column buffer (%lld x %lld) overflows",
                            (long long)R, (long long)cs->in_sp);
    float *col = cpu_scratch(ex, 0, bytes ? bytes : sizeof(float));
    if (!col) return INGOT_ERR_NOMEM;
    memset(Y, 0, (size_t)(cs->N * cs->M * cs->out_sp) * sizeof(float));
    for (int64_t n = 0; n < cs->N; n++)
        for (int64_t g = 0; g < cs->G; g++) {
            const float *xg = X + (n * cs->C + g * cs->Cg) * cs->in_sp;
            const float *wg = Wt + g * cs->Cg * R;
            if (cs->in_sp > 0)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)R, (int)cs->in_sp,
                            (int)cs->Cg, 1.0f, wg, (int)R, xg, (int)cs->in_sp, 0.0f, col,
                            (int)cs->in_sp);
            col2im_f32(cs, col, Y + (n * cs->M + g * cs->Mg) * cs->out_sp);
        }
    for (int64_t n = 0; n < cs->N; n++) add_bias_f32(Y + n * cs->M * cs->out_sp, B, cs->M, cs->out_sp);
    return INGOT_OK;
}

static void conv_transpose_f64(const conv_shape *cs, const double *X, const double *Wt,
                               const double *B, double *acc)
{
    const int64_t jobs = cs->N * cs->M;
#pragma omp parallel for schedule(static) if (jobs * cs->in_sp * cs->Cg * cs->ksz >= PAR_MIN)
    for (int64_t j = 0; j < jobs; j++) {
        int64_t n = j / cs->M, m = j % cs->M, g = m / cs->Mg, mg = m % cs->Mg;
        double *ym = acc + j * cs->out_sp;
        for (int64_t o = 0; o < cs->out_sp; o++) ym[o] = B ? B[m] : 0.0;
        for (int64_t i = 0; i < cs->in_sp; i++) {
            int64_t iidx[IR_MAX_RANK], kidx[IR_MAX_RANK], off;
            unravel(i, cs->isz, cs->nsp, iidx);
            for (int64_t kk = 0; kk < cs->ksz; kk++) {
                unravel(kk, cs->k, cs->nsp, kidx);
                if (!window_offset(cs, cs->nsp, iidx, kidx, cs->osz, &off)) continue;
                double sum = 0.0;
                for (int64_t c = 0; c < cs->Cg; c++)
                    sum += X[(n * cs->C + g * cs->Cg + c) * cs->in_sp + i] *
                           Wt[((g * cs->Cg + c) * cs->Mg + mg) * cs->ksz + kk];
                ym[off] += sum;
            }
        }
    }
}

static ingot_status k_conv_transpose(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    conv_shape cs;
    ING_TRY(conv_shape_get(node, x, w, out[0], 1, &cs));
    if (ing_numel(out[0]) == 0) return INGOT_OK;
    if (x->dtype == INGOT_DTYPE_F32) {
        if (cs.Mg * cs.ksz > INT32_MAX || cs.in_sp > INT32_MAX || cs.Cg > INT32_MAX)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                                "GEMM dims (%lld, %lld, %lld) exceed the BLAS int range",
                                (long long)(cs.Mg * cs.ksz), (long long)cs.in_sp, (long long)cs.Cg);
        return conv_transpose_f32(ex, node, &cs, x->data, w->data, b ? b->data : NULL,
                                  out[0]->data);
    }
    if (is_half(x->dtype) && cs.Mg * cs.ksz <= INT32_MAX && cs.in_sp <= INT32_MAX &&
        cs.Cg <= INT32_MAX) {
        float *Wf, *Bf, *Yf, *Xf = half_buffers(ex, node, x, w, b, out[0], &Wf, &Bf, &Yf);
        if (!Xf) return INGOT_ERR_NOMEM;
        ING_TRY(conv_transpose_f32(ex, node, &cs, Xf, Wf, Bf, Yf));
        narrow_f32(Yf, out[0]);
        return INGOT_OK;
    }
    double *X = to_f64(ex, 0, x), *W = X ? to_f64(ex, 1, w) : NULL, *B = NULL;
    if (!W) return INGOT_ERR_NOMEM;
    if (b && !(B = to_f64(ex, 2, b))) return INGOT_ERR_NOMEM;
    int64_t ny = ing_numel(out[0]);
    size_t bytes;
    if (!ing_mul_fits((size_t)ny, sizeof(double), &bytes))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "output of %lld elements is too large",
                            (long long)ny);
    double *acc = cpu_scratch(ex, 3, bytes);
    if (!acc) return INGOT_ERR_NOMEM;
    conv_transpose_f64(&cs, X, W, B, acc);
    for (int64_t i = 0; i < ny; i++) ing_store_f64(out[0]->dtype, out[0]->data, (size_t)i, acc[i]);
    return INGOT_OK;
}

/* ---- CausalConvWithState ----------------------------------------------------------------- */

/* Depthwise causal conv over concat(past_state or zeros, input) along the last axis; the
 * present state is the last k-1 positions of that sequence. f16/bf16 compute in f32 and, like
 * the ONNX reference, round the conv result to the dtype before the activation. */
static ingot_status k_causal_conv(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                                  int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[1];
    const ing_tensor *b = n_in > 2 ? in[2] : NULL, *ps = n_in > 3 ? in[3] : NULL;
    ing_tensor *y = out[0], *st = n_out > 1 ? out[1] : NULL;
    const int dt = x->dtype;
    const int64_t Bn = x->dims[0], C = x->dims[1], L = x->dims[2], K = w->dims[2];
    const int silu = strcmp(ir_attr_string(node, "activation", "none"), "none") != 0;
    const int64_t P = L + K - 1; /* padded length */
    size_t per = (size_t)P + (size_t)K, bytes; /* per thread: the sequence, then the taps */
    if (!ing_mul_fits(per, sizeof(float) * (size_t)omp_get_max_threads(), &bytes))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "sequence of %lld is too long", (long long)P);
    float *buf = cpu_scratch(ex, 0, bytes ? bytes : sizeof(float));
    if (!buf) return INGOT_ERR_NOMEM;
    const int64_t jobs = Bn * C;
#pragma omp parallel for schedule(static) if (jobs * P * K >= PAR_MIN)
    for (int64_t j = 0; j < jobs; j++) {
        int64_t c = j % C;
        float *seq = buf + (size_t)omp_get_thread_num() * per, *wv = seq + P;
        for (int64_t t = 0; t < K - 1; t++)
            seq[t] = ps ? (float)ing_load_f64(dt, ps->data, (size_t)(j * (K - 1) + t)) : 0.0f;
        for (int64_t t = 0; t < L; t++)
            seq[K - 1 + t] = (float)ing_load_f64(dt, x->data, (size_t)(j * L + t));
        for (int64_t q = 0; q < K; q++) wv[q] = (float)ing_load_f64(dt, w->data, (size_t)(c * K + q));
        float bias = b ? (float)ing_load_f64(dt, b->data, (size_t)c) : 0.0f;
        for (int64_t t = 0; t < L; t++) {
            float acc = bias;
            for (int64_t q = 0; q < K; q++) acc += wv[q] * seq[t + q];
            if (dt != INGOT_DTYPE_F32) { /* round to the storage dtype as the reference does */
                ing_store_f64(dt, y->data, (size_t)(j * L + t), acc);
                acc = (float)ing_load_f64(dt, y->data, (size_t)(j * L + t));
            }
            if (silu) acc = acc / (1.0f + expf(-acc));
            ing_store_f64(dt, y->data, (size_t)(j * L + t), acc);
        }
        if (st)
            for (int64_t t = 0; t < K - 1; t++)
                ing_store_f64(dt, st->data, (size_t)(j * (K - 1) + t), seq[P - (K - 1) + t]);
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_conv[] = {
    {"Conv", k_conv},
    {"ConvTranspose", k_conv_transpose},
    {"ConvInteger", k_conv_integer},
    {"QLinearConv", k_qlinear_conv},
    {"DeformConv", cpu_conv_deform},
    {"AveragePool", cpu_conv_avgpool},
    {"MaxPool", cpu_conv_maxpool},
    {"LpPool", cpu_conv_lppool},
    {"GlobalAveragePool", cpu_conv_global_avgpool},
    {"GlobalMaxPool", cpu_conv_global_maxpool},
    {"CausalConvWithState", k_causal_conv},
    {NULL, NULL},
};
