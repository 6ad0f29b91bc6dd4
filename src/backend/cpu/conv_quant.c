/* CPU quantized convolutions: ConvInteger (u8/i8 in, i32 out) and QLinearConv (u8/i8 in and
 * out, f32 scales).
 *
 * Both subtract the zero points first (scalar or per output channel for w), so padding reads
 * 0, then run im2col + cblas_dgemm in f64: products of 8-bit values summed over any realistic
 * window stay integers below 2^53, so the sums are exact, at BLAS speed. QLinearConv
 * requantizes with y = sat(round_half_even(acc * xs*ws/ys) + yz).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

ingot_status ir_conv_window(const ir_node *node, int kind, const ing_tensor *x, const int64_t *wk,
                            int64_t *k, int64_t *s, int64_t *d, int64_t *pads, int64_t *out_sp);
enum { CONV_FORWARD = 0, CONV_POOL = 1, CONV_TRANSPOSE = 2 };

ingot_status cpu_conv_integer(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_conv_qlinear(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out);

#define PAR_MIN 32768

typedef struct qconv {
    int nsp;
    int64_t N, C, M, G, Cg, Mg;
    int64_t isz[IR_MAX_RANK], osz[IR_MAX_RANK];
    int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    int64_t in_sp, out_sp, ksz;
} qconv;

static ingot_status qconv_get(const ir_node *node, const ing_tensor *x, const ing_tensor *w,
                              const ing_tensor *y, qconv *q)
{
    memset(q, 0, sizeof *q);
    q->nsp = x->rank - 2;
    q->G = ir_attr_int(node, "group", 1);
    int64_t wk[IR_MAX_RANK], osp[IR_MAX_RANK];
    for (int i = 0; i < q->nsp; i++) wk[i] = w->dims[i + 2];
    ING_TRY(ir_conv_window(node, CONV_FORWARD, x, wk, q->k, q->s, q->d, q->pads, osp));
    q->N = x->dims[0];
    q->C = x->dims[1];
    q->M = y->dims[1];
    q->Cg = q->C / q->G;
    q->Mg = q->M / q->G;
    q->in_sp = q->out_sp = q->ksz = 1;
    for (int i = 0; i < q->nsp; i++) {
        q->isz[i] = x->dims[i + 2];
        q->osz[i] = y->dims[i + 2];
        if (osp[i] != q->osz[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "output spatial dim %d is %lld; the geometry gives %lld", i,
                                (long long)q->osz[i], (long long)osp[i]);
        q->in_sp *= q->isz[i];
        q->out_sp *= q->osz[i];
        q->ksz *= q->k[i];
    }
    return INGOT_OK;
}

/* A zero point's value for output channel m (scalar or per-channel); 0 when absent. */
static int32_t zp_at(const ing_tensor *t, int64_t m)
{
    if (!t) return 0;
    int64_t n = ing_numel(t);
    return (int32_t)ing_load_i64(t->dtype, t->data, (size_t)(n > 1 ? m : 0));
}

/* Zero-point-free copies in f64: X = x - xz (N*C*in_sp), W = w - wz[m] (M*Cg*ksz). */
static ingot_status q_prepare(cpu_exec *ex, const ir_node *node, const qconv *q,
                              const ing_tensor *x, const ing_tensor *xz, const ing_tensor *w,
                              const ing_tensor *wz, double **xs, double **ws)
{
    size_t nx = (size_t)ing_numel(x), nw = (size_t)ing_numel(w), bx, bw;
    if (!ing_mul_overflow(nx, sizeof(double), &bx) || !ing_mul_overflow(nw, sizeof(double), &bw))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "tensor too large");
    double *X = cpu_scratch(ex, 0, bx ? bx : 8), *W = cpu_scratch(ex, 1, bw ? bw : 8);
    if (!X || !W) return INGOT_ERR_NOMEM;
    const int32_t xzv = zp_at(xz, 0);
    if (x->dtype == INGOT_DTYPE_U8) {
        const uint8_t *xp = x->data;
        for (size_t i = 0; i < nx; i++) X[i] = (double)((int32_t)xp[i] - xzv);
    } else {
        const int8_t *xp = x->data;
        for (size_t i = 0; i < nx; i++) X[i] = (double)((int32_t)xp[i] - xzv);
    }
    const int64_t per = q->Cg * q->ksz;
    for (int64_t m = 0; m < q->M; m++) {
        const int32_t z = zp_at(wz, m);
        for (int64_t r = 0; r < per; r++)
            W[m * per + r] =
                (double)((int32_t)ing_load_i64(w->dtype, w->data, (size_t)(m * per + r)) - z);
    }
    *xs = X;
    *ws = W;
    return INGOT_OK;
}

/* Column matrix (Cg*ksz x out_sp) of one image and group; padding reads 0, which is the zero
 * point once it has been subtracted. */
static void im2col_f64(const qconv *q, const double *xs, double *col)
{
    const int nsp = q->nsp, last = nsp - 1;
    const int64_t rows = q->Cg * q->ksz, ow_n = q->osz[last], W = q->isz[last], sl = q->s[last];
    const int64_t outer = ow_n ? q->out_sp / ow_n : 0;
#pragma omp parallel for schedule(static) if (rows * q->out_sp >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = r / q->ksz, kk = r % q->ksz, kidx[IR_MAX_RANK], oidx[IR_MAX_RANK] = {0};
        for (int i = last; i >= 0; i--) {
            kidx[i] = kk % q->k[i];
            kk /= q->k[i];
        }
        const double *xc = xs + c * q->in_sp;
        const int64_t base = kidx[last] * q->d[last] - q->pads[last];
        for (int64_t t = 0; t < outer; t++) {
            double *drow = col + r * q->out_sp + t * ow_n;
            int valid = 1;
            int64_t off = 0;
            for (int i = 0; i < last; i++) {
                int64_t p = oidx[i] * q->s[i] + kidx[i] * q->d[i] - q->pads[i];
                if (p < 0 || p >= q->isz[i]) {
                    valid = 0;
                    break;
                }
                off = off * q->isz[i] + p;
            }
            for (int64_t ow = 0; ow < ow_n; ow++) {
                int64_t iw = ow * sl + base;
                drow[ow] = valid && iw >= 0 && iw < W ? xc[off * W + iw] : 0.0;
            }
            for (int i = last - 1; i >= 0; i--) {
                if (++oidx[i] < q->osz[i]) break;
                oidx[i] = 0;
            }
        }
    }
}

/* acc (N x M x out_sp) = the integer conv sums, through im2col and dgemm. Every product and
 * partial sum is an integer below 2^53, so f64 is exact here. */
static ingot_status q_acc(cpu_exec *ex, const ir_node *node, const qconv *q, const double *X,
                          const double *W, double **acc)
{
    const int64_t K = q->Cg * q->ksz;
    size_t ny = (size_t)(q->N * q->M * q->out_sp), by, nc, bc;
    if (!ing_mul_overflow(ny, sizeof(double), &by) ||
        !ing_mul_overflow((size_t)K, (size_t)q->out_sp, &nc) ||
        !ing_mul_overflow(nc, sizeof(double), &bc))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "output or column buffer too large");
    if (q->Mg > INT32_MAX || q->out_sp > INT32_MAX || K > INT32_MAX)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "GEMM dims (%lld, %lld, %lld) exceed the BLAS int range",
                            (long long)q->Mg, (long long)q->out_sp, (long long)K);
    double *Y = cpu_scratch(ex, 2, by ? by : 8);
    if (!Y) return INGOT_ERR_NOMEM;
    *acc = Y;
    if (K == 0) {
        memset(Y, 0, by);
        return INGOT_OK;
    }
    int direct = 1; /* 1x1, stride 1, no padding: the input is the column */
    for (int i = 0; i < q->nsp; i++)
        if (q->k[i] != 1 || q->s[i] != 1 || q->pads[i] || q->pads[q->nsp + i]) direct = 0;
    double *col = direct ? NULL : cpu_scratch(ex, 3, bc ? bc : 8);
    if (!direct && !col) return INGOT_ERR_NOMEM;
    for (int64_t n = 0; n < q->N; n++)
        for (int64_t g = 0; g < q->G; g++) {
            const double *xs = X + (n * q->C + g * q->Cg) * q->in_sp, *cm = xs;
            if (!direct) {
                im2col_f64(q, xs, col);
                cm = col;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)q->Mg, (int)q->out_sp,
                        (int)K, 1.0, W + g * q->Mg * K, (int)K, cm, (int)q->out_sp, 0.0,
                        Y + (n * q->M + g * q->Mg) * q->out_sp, (int)q->out_sp);
        }
    return INGOT_OK;
}

ingot_status cpu_conv_integer(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[1];
    const ing_tensor *xz = n_in > 2 ? in[2] : NULL, *wz = n_in > 3 ? in[3] : NULL;
    qconv q;
    ING_TRY(qconv_get(node, x, w, out[0], &q));
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

ingot_status cpu_conv_qlinear(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[3], *b = n_in > 8 ? in[8] : NULL;
    qconv q;
    ING_TRY(qconv_get(node, x, w, out[0], &q));
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
    for (int64_t n = 0; n < q.N; n++)
        for (int64_t m = 0; m < q.M; m++) {
            const float wsv = ((const float *)wsc->data)[nws > 1 ? m : 0];
            /* The scale in f32, as the reference computes it. */
            const double scale = (double)(xs * wsv / ys);
            const int64_t bias = b ? ing_load_i64(b->dtype, b->data, (size_t)m) : 0;
            const double *a = acc + (n * q.M + m) * q.out_sp;
            for (int64_t o = 0; o < q.out_sp; o++) {
                double v = nearbyint((a[o] + (double)bias) * scale) + yz;
                v = v < lo ? lo : v > hi ? hi : v;
                ing_store_i64(ydt, out[0]->data, (size_t)((n * q.M + m) * q.out_sp + o), (int64_t)v);
            }
        }
    return INGOT_OK;
}
