/* CPU DeformConv (2-D): each kernel tap samples the input at its regular position plus a learned
 * offset, bilinearly, with zeros outside the image, optionally scaled by a mask.
 *
 * Inputs are read into f64 scratch (exact for every float dtype); one (image, output channel)
 * pair per OpenMP iteration; the result is rounded to the output dtype on store.
 */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

ingot_status ir_conv_window(const ir_node *node, int kind, const ing_tensor *x, const int64_t *wk,
                            int64_t *k, int64_t *s, int64_t *d, int64_t *pads, int64_t *out_sp);
enum { CONV_FORWARD = 0, CONV_POOL = 1, CONV_TRANSPOSE = 2 };

ingot_status cpu_conv_deform(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out);

#define PAR_MIN 32768

static double *load_f64(cpu_exec *ex, int slot, const ing_tensor *t)
{
    size_t n = (size_t)ing_numel(t), bytes;
    if (!ing_mul_fits(n, sizeof(double), &bytes)) {
        ingot_fail(INGOT_ERR_NOMEM, "tensor of %zu elements is too large", n);
        return NULL;
    }
    double *p = cpu_scratch(ex, slot, bytes ? bytes : 8);
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = ing_load_f64(t->dtype, t->data, i);
    return p;
}

/* Bilinear sample of plane (H x W) at (h, w); corners outside the plane read 0. */
static double bilinear(const double *plane, int64_t H, int64_t W, double h, double w)
{
    if (!(h > -1.0 && h < (double)H && w > -1.0 && w < (double)W)) return 0.0;
    double hf = floor(h), wf = floor(w);
    int64_t h0 = (int64_t)hf, w0 = (int64_t)wf, h1 = h0 + 1, w1 = w0 + 1;
    double lh = h - hf, lw = w - wf, v = 0.0;
    if (h0 >= 0 && w0 >= 0) v += (1 - lh) * (1 - lw) * plane[h0 * W + w0];
    if (h0 >= 0 && w1 < W) v += (1 - lh) * lw * plane[h0 * W + w1];
    if (h1 < H && w0 >= 0) v += lh * (1 - lw) * plane[h1 * W + w0];
    if (h1 < H && w1 < W) v += lh * lw * plane[h1 * W + w1];
    return v;
}

ingot_status cpu_conv_deform(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *w = in[1], *off = in[2];
    const ing_tensor *b = n_in > 3 ? in[3] : NULL, *mk = n_in > 4 ? in[4] : NULL;
    ing_tensor *y = out[0];
    int64_t wk[2] = {w->dims[2], w->dims[3]}, k[2], s[2], d[2], pads[4], osp[2];
    ING_TRY(ir_conv_window(node, CONV_FORWARD, x, wk, k, s, d, pads, osp));
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t M = y->dims[1], OH = y->dims[2], OW = y->dims[3];
    const int64_t G = ir_attr_int(node, "group", 1), OG = ir_attr_int(node, "offset_group", 1);
    const int64_t Cg = C / G, Mg = M / G, KK = k[0] * k[1];
    char sb[96];
    if (C % OG != 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%lld input channels are not a multiple of "
                            "offset_group %lld", (long long)C, (long long)OG);
    if (off->rank != 4 || off->dims[0] != N || off->dims[1] != OG * KK * 2 || off->dims[2] != OH ||
        off->dims[3] != OW)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "offset is %s; needs [%lld,%lld,%lld,%lld]",
                            ing_shape_str(off, sb, sizeof sb), (long long)N,
                            (long long)(OG * KK * 2), (long long)OH, (long long)OW);
    if (mk && (mk->rank != 4 || mk->dims[0] != N || mk->dims[1] != OG * KK || mk->dims[2] != OH ||
               mk->dims[3] != OW))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "mask is %s; needs [%lld,%lld,%lld,%lld]",
                            ing_shape_str(mk, sb, sizeof sb), (long long)N, (long long)(OG * KK),
                            (long long)OH, (long long)OW);
    if (ing_numel(y) == 0) return INGOT_OK;
    double *X = load_f64(ex, 0, x), *Wt = X ? load_f64(ex, 1, w) : NULL;
    double *O = Wt ? load_f64(ex, 2, off) : NULL, *Mk = NULL;
    if (!O) return INGOT_ERR_NOMEM;
    if (mk && !(Mk = load_f64(ex, 3, mk))) return INGOT_ERR_NOMEM;
    const int64_t cpo = C / OG, osz = OH * OW;
    const int dt = y->dtype;
#pragma omp parallel for schedule(static) if (N * M * osz * Cg * KK >= PAR_MIN)
    for (int64_t j = 0; j < N * M; j++) {
        int64_t n = j / M, m = j % M, g = m / Mg;
        double bias = b ? ing_load_f64(b->dtype, b->data, (size_t)m) : 0.0;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double acc = bias;
                for (int64_t c = 0; c < Cg; c++) {
                    int64_t ci = g * Cg + c, og = ci / cpo;
                    const double *plane = X + (n * C + ci) * H * W;
                    for (int64_t kh = 0; kh < k[0]; kh++)
                        for (int64_t kw = 0; kw < k[1]; kw++) {
                            int64_t t = kh * k[1] + kw, o = oh * OW + ow;
                            /* offset channels: (og, tap, {h, w}) */
                            double dh = O[((n * OG + og) * KK * 2 + t * 2) * osz + o];
                            double dw = O[((n * OG + og) * KK * 2 + t * 2 + 1) * osz + o];
                            double ph = (double)(oh * s[0] - pads[0] + kh * d[0]) + dh;
                            double pw = (double)(ow * s[1] - pads[1] + kw * d[1]) + dw;
                            double v = bilinear(plane, H, W, ph, pw);
                            if (Mk) v *= Mk[((n * OG + og) * KK + t) * osz + o];
                            acc += v * Wt[(m * Cg + c) * KK + t];
                        }
                }
                ing_store_f64(dt, y->data, (size_t)(j * osz + oh * OW + ow), acc);
            }
    }
    return INGOT_OK;
}
