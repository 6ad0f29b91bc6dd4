/* CPU quantized convolutions: ConvInteger (u8/i8 in, i32 out) and QLinearConv (u8/i8 in and
 * out, f32 scales).
 *
 * Both subtract the zero points first (scalar or per output channel for w), so padding reads
 * 0, then accumulate exact integer products in int64 per (image, output channel), one pair per
 * OpenMP iteration. QLinearConv requantizes with y = sat(round_half_even(acc * xs*ws/ys) + yz).
 */
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

/* Zero-point-free copies: xs = x - xz (N*C*in_sp), ws = w - wz[m] (M*Cg*ksz). */
static ingot_status q_prepare(cpu_exec *ex, const ir_node *node, const qconv *q,
                              const ing_tensor *x, const ing_tensor *xz, const ing_tensor *w,
                              const ing_tensor *wz, int32_t **xs, int32_t **ws)
{
    size_t nx = (size_t)ing_numel(x), nw = (size_t)ing_numel(w), bx, bw;
    if (!ing_mul_overflow(nx, sizeof(int32_t), &bx) || !ing_mul_overflow(nw, sizeof(int32_t), &bw))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "tensor too large");
    int32_t *X = cpu_scratch(ex, 0, bx ? bx : 4), *W = cpu_scratch(ex, 1, bw ? bw : 4);
    if (!X || !W) return INGOT_ERR_NOMEM;
    int32_t xzv = zp_at(xz, 0);
    for (size_t i = 0; i < nx; i++) X[i] = (int32_t)ing_load_i64(x->dtype, x->data, i) - xzv;
    int64_t per = q->Cg * q->ksz;
    for (int64_t m = 0; m < q->M; m++) {
        int32_t z = zp_at(wz, m);
        for (int64_t r = 0; r < per; r++)
            W[m * per + r] = (int32_t)ing_load_i64(w->dtype, w->data, (size_t)(m * per + r)) - z;
    }
    *xs = X;
    *ws = W;
    return INGOT_OK;
}

/* acc[(n*M + m)*out_sp + o] = sum over the window of xs * ws, in int64. */
static void q_conv(const qconv *q, const int32_t *X, const int32_t *W, int64_t *acc)
{
    const int nsp = q->nsp;
    const int64_t jobs = q->N * q->M;
#pragma omp parallel for schedule(static) if (jobs * q->out_sp * q->Cg * q->ksz >= PAR_MIN)
    for (int64_t j = 0; j < jobs; j++) {
        int64_t n = j / q->M, m = j % q->M, g = m / q->Mg;
        int64_t oidx[IR_MAX_RANK] = {0};
        for (int64_t o = 0; o < q->out_sp; o++) {
            int64_t a = 0;
            for (int64_t kk = 0; kk < q->ksz; kk++) {
                int64_t u = kk, kidx[IR_MAX_RANK], off = 0;
                for (int i = nsp - 1; i >= 0; i--) {
                    kidx[i] = u % q->k[i];
                    u /= q->k[i];
                }
                int valid = 1;
                for (int i = 0; i < nsp; i++) {
                    int64_t p = oidx[i] * q->s[i] + kidx[i] * q->d[i] - q->pads[i];
                    if (p < 0 || p >= q->isz[i]) {
                        valid = 0;
                        break;
                    }
                    off = off * q->isz[i] + p;
                }
                if (!valid) continue;
                for (int64_t c = 0; c < q->Cg; c++)
                    a += (int64_t)X[(n * q->C + g * q->Cg + c) * q->in_sp + off] *
                         W[(m * q->Cg + c) * q->ksz + kk];
            }
            acc[j * q->out_sp + o] = a;
            for (int i = nsp - 1; i >= 0; i--) {
                if (++oidx[i] < q->osz[i]) break;
                oidx[i] = 0;
            }
        }
    }
}

static ingot_status q_acc(cpu_exec *ex, const ir_node *node, const qconv *q, const int32_t *X,
                          const int32_t *W, int64_t **acc)
{
    size_t ny = (size_t)(q->N * q->M * q->out_sp), by;
    if (!ing_mul_overflow(ny, sizeof(int64_t), &by))
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "output too large");
    *acc = cpu_scratch(ex, 2, by ? by : 8);
    if (!*acc) return INGOT_ERR_NOMEM;
    q_conv(q, X, W, *acc);
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
    int32_t *X, *W;
    int64_t *acc;
    ING_TRY(q_prepare(ex, node, &q, x, xz, w, wz, &X, &W));
    ING_TRY(q_acc(ex, node, &q, X, W, &acc));
    int32_t *Y = out[0]->data;
    int64_t ny = ing_numel(out[0]);
    for (int64_t i = 0; i < ny; i++) Y[i] = (int32_t)acc[i]; /* i32 is the op's accumulator */
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
    int32_t *X, *W;
    int64_t *acc;
    ING_TRY(q_prepare(ex, node, &q, x, in[2], w, in[5], &X, &W));
    ING_TRY(q_acc(ex, node, &q, X, W, &acc));
    const int ydt = out[0]->dtype;
    const int32_t yz = zp_at(in[7], 0);
    const double lo = ydt == INGOT_DTYPE_I8 ? -128.0 : 0.0, hi = ydt == INGOT_DTYPE_I8 ? 127.0 : 255.0;
    for (int64_t n = 0; n < q.N; n++)
        for (int64_t m = 0; m < q.M; m++) {
            const float wsv = ((const float *)wsc->data)[nws > 1 ? m : 0];
            /* The scale in f32, as the reference computes it. */
            const double scale = (double)(xs * wsv / ys);
            const int64_t bias = b ? ing_load_i64(b->dtype, b->data, (size_t)m) : 0;
            const int64_t *a = acc + (n * q.M + m) * q.out_sp;
            for (int64_t o = 0; o < q.out_sp; o++) {
                double v = nearbyint((double)(a[o] + bias) * scale) + yz;
                v = v < lo ? lo : v > hi ? hi : v;
                ing_store_i64(ydt, out[0]->data, (size_t)((n * q.M + m) * q.out_sp + o), (int64_t)v);
            }
        }
    return INGOT_OK;
}
