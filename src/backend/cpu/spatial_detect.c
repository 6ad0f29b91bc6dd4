/* CPU kernels for detection helpers and block rearrangement: RoiAlign (avg/max, half_pixel and
 * output_half_pixel), NonMaxSuppression, MaxUnpool and Col2Im.
 *
 * Numerics follow the ONNX reference implementations (op_roi_align.py, the ORT algorithm:
 * coordinates in double here, max mode takes the max of the weighted corner values, as ORT
 * does; op_max_unpool.py: indices address the flattened unpooled tensor, which is then placed
 * in the top-left corner of output_shape; op_col2im.py).
 */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/spatial_internal.h"
#include "core/alloc.h"
#include "ir/infer_spatial.h"

#define SD_PAR_MIN 32768

static inline double ld(int dt, const void *p, int64_t i)
{
    if (dt == INGOT_DTYPE_F32) return ((const float *)p)[i];
    return ing_load_f64(dt, p, (size_t)i);
}

/* ---------------------------------------------------------------------------------------------
 * RoiAlign
 * ------------------------------------------------------------------------------------------- */

typedef struct ra_tap {
    int64_t pos[4];
    double w[4];
} ra_tap;

ingot_status cpu_spatial_roi_align(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                   int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *X = in[0], *R = in[1], *B = in[2];
    ing_tensor *Y = out[0];
    if (X->rank != 4 || R->rank != 2 || R->dims[1] != 4 || B->rank != 1 || B->dims[0] != R->dims[0])
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "expected X [N, C, H, W], rois [R, 4], batch_indices [R]");
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], W = X->dims[3];
    int64_t nr = R->dims[0], oh = Y->dims[2], ow = Y->dims[3];
    int half = node->opset >= 16 &&
               !strcmp(ir_attr_string(node, "coordinate_transformation_mode", "half_pixel"), "half_pixel");
    int is_max = !strcmp(ir_attr_string(node, "mode", "avg"), "max");
    int64_t sr = ir_attr_int(node, "sampling_ratio", 0);
    double ss = ir_attr_float(node, "spatial_scale", 1.0f);
    if (ing_numel(Y) == 0) return INGOT_OK;
    if (H < 1 || W < 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has spatial size %lld x %lld; RoiAlign needs at least 1 x 1",
                            (long long)H, (long long)W);
    for (int64_t r = 0; r < nr; r++) {
        int64_t b = ir_get_i64(B, r);
        if (b < 0 || b >= N)
            return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "batch_indices[%lld] is %lld, expected 0..%lld",
                                (long long)r, (long long)b, (long long)N - 1);
    }
    for (int64_t r = 0; r < nr; r++) {
        double off = half ? 0.5 : 0.0;
        double sw = ld(R->dtype, R->data, r * 4 + 0) * ss - off;
        double sh = ld(R->dtype, R->data, r * 4 + 1) * ss - off;
        double ew = ld(R->dtype, R->data, r * 4 + 2) * ss - off;
        double eh = ld(R->dtype, R->data, r * 4 + 3) * ss - off;
        double rw = ew - sw, rh = eh - sh;
        if (!half) {
            rw = fmax(rw, 1.0);
            rh = fmax(rh, 1.0);
        }
        double bh = rh / (double)oh, bw = rw / (double)ow;
        double gh_f = sr > 0 ? (double)sr : ceil(rh / (double)oh);
        double gw_f = sr > 0 ? (double)sr : ceil(rw / (double)ow);
        if (!(gh_f >= 0)) gh_f = 0; /* negative or NaN extents sample nothing */
        if (!(gw_f >= 0)) gw_f = 0;
        if (gh_f * gw_f * (double)oh * (double)ow > (double)(1 << 26))
            return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "roi %lld needs %g x %g samples per bin; too many",
                                (long long)r, gh_f, gw_f);
        int64_t gh = (int64_t)gh_f, gw = (int64_t)gw_f;
        double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;
        size_t ntap = (size_t)(gh * gw * oh * ow);
        ra_tap *taps = cpu_scratch(x, 0, (ntap ? ntap : 1) * sizeof(ra_tap));
        if (!taps) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for RoiAlign taps");
        size_t ti = 0;
        for (int64_t ph = 0; ph < oh; ph++)
            for (int64_t pw = 0; pw < ow; pw++)
                for (int64_t iy = 0; iy < gh; iy++) {
                    double yy = sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                    for (int64_t ix = 0; ix < gw; ix++, ti++) {
                        double xx = sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                        ra_tap *t = &taps[ti];
                        double yv = yy, xv = xx;
                        if (!(yv >= -1.0 && yv <= (double)H && xv >= -1.0 && xv <= (double)W)) {
                            memset(t, 0, sizeof *t);
                            continue;
                        }
                        yv = fmax(yv, 0);
                        xv = fmax(xv, 0);
                        int64_t yl = (int64_t)yv, xl = (int64_t)xv, yh, xh;
                        if (yl >= H - 1) {
                            yh = yl = H - 1;
                            yv = (double)yl;
                        } else {
                            yh = yl + 1;
                        }
                        if (xl >= W - 1) {
                            xh = xl = W - 1;
                            xv = (double)xl;
                        } else {
                            xh = xl + 1;
                        }
                        double ly = yv - (double)yl, lx = xv - (double)xl, hy = 1 - ly, hx = 1 - lx;
                        t->pos[0] = yl * W + xl;
                        t->pos[1] = yl * W + xh;
                        t->pos[2] = yh * W + xl;
                        t->pos[3] = yh * W + xh;
                        t->w[0] = hy * hx;
                        t->w[1] = hy * lx;
                        t->w[2] = ly * hx;
                        t->w[3] = ly * lx;
                    }
                }
        int64_t b = ir_get_i64(B, r);
        int par = (double)C * (double)ntap >= SD_PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
        for (int64_t c = 0; c < C; c++) {
            int64_t xo = (b * C + c) * H * W;
            size_t k = 0;
            for (int64_t p = 0; p < oh * ow; p++) {
                double acc = 0;
                int first = 1;
                for (int64_t s = 0; s < gh * gw; s++, k++) {
                    const ra_tap *t = &taps[k];
                    if (!is_max) {
                        for (int q = 0; q < 4; q++) acc += t->w[q] * ld(X->dtype, X->data, xo + t->pos[q]);
                    } else {
                        double v = t->w[0] * ld(X->dtype, X->data, xo + t->pos[0]);
                        for (int q = 1; q < 4; q++) v = fmax(v, t->w[q] * ld(X->dtype, X->data, xo + t->pos[q]));
                        acc = first ? v : fmax(acc, v);
                        first = 0;
                    }
                }
                if (!is_max) acc /= count;
                ing_store_f64(Y->dtype, Y->data, (size_t)((r * C + c) * oh * ow + p), acc);
            }
        }
    }
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * NonMaxSuppression
 * ------------------------------------------------------------------------------------------- */

ingot_status cpu_spatial_nms(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out)
{
    ing_tensor *Y = out[0];
    int64_t cap = Y->dims[0], n;
    ING_TRY(ir_spatial_nms(node, in, n_in, Y->data, cap, &n));
    if (n != cap)
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "selected %lld boxes, the output holds %lld",
                            (long long)n, (long long)cap);
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * MaxUnpool
 * ------------------------------------------------------------------------------------------- */

ingot_status cpu_spatial_max_unpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                    int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *X = in[0], *I = in[1];
    ing_tensor *Y = out[0];
    int32_t r = X->rank, k = r - 2;
    if (!ing_same_shape(X, I))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "I must have the shape of X");
    size_t nk = 0, ns = 0, np = 0;
    const int64_t *ks = ir_attr_ints(node, "kernel_shape", &nk);
    const int64_t *st = ir_attr_ints(node, "strides", &ns);
    const int64_t *pd = ir_attr_ints(node, "pads", &np);
    int64_t inf[IR_MAX_RANK];
    inf[0] = X->dims[0];
    inf[1] = X->dims[1];
    int direct = 1;
    for (int32_t i = 0; i < k; i++) {
        int64_t s = st ? st[i] : 1, p = pd ? pd[i] + pd[k + i] : 0;
        inf[2 + i] = (X->dims[2 + i] - 1) * s - p + ks[i];
    }
    int64_t ninf = 1;
    for (int32_t i = 0; i < r; i++) {
        if (inf[i] > Y->dims[i] || inf[i] < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output dim %d is %lld, smaller than the unpooled %lld", i,
                                (long long)Y->dims[i], (long long)inf[i]);
        if (inf[i] != Y->dims[i]) direct = 0;
        ninf *= inf[i];
    }
    size_t es = ingot_dtype_size(Y->dtype);
    memset(Y->data, 0, ing_nbytes(Y));
    char *buf = Y->data;
    if (!direct) {
        buf = cpu_scratch(x, 0, (size_t)ninf * es + 1);
        if (!buf) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory");
        memset(buf, 0, (size_t)ninf * es);
    }
    int64_t nx = ing_numel(X);
    for (int64_t i = 0; i < nx; i++) {
        int64_t j = ir_get_i64(I, i);
        if (j < 0 || j >= ninf)
            return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "I[%lld] is %lld, expected 0..%lld", (long long)i,
                                (long long)j, (long long)ninf - 1);
        memcpy(buf + (size_t)j * es, (const char *)X->data + (size_t)i * es, es);
    }
    if (direct || ninf == 0) return INGOT_OK;
    /* place the unpooled tensor in the corner of output_shape, row by row */
    int64_t rows = ninf / inf[r - 1], w = inf[r - 1];
    for (int64_t row = 0; row < rows; row++) {
        int64_t rem = row, o = 0, mul = Y->dims[r - 1];
        for (int32_t a = r - 2; a >= 0; a--) {
            o += (rem % inf[a]) * mul;
            rem /= inf[a];
            mul *= Y->dims[a];
        }
        memcpy((char *)Y->data + (size_t)o * es, buf + (size_t)(row * w) * es, (size_t)w * es);
    }
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Col2Im
 * ------------------------------------------------------------------------------------------- */

ingot_status cpu_spatial_col2im(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *X = in[0], *IM = in[1], *BL = in[2];
    ing_tensor *Y = out[0];
    int32_t k = Y->rank - 2;
    size_t nd = 0, np = 0, ns = 0;
    const int64_t *dil = ir_attr_ints(node, "dilations", &nd);
    const int64_t *pads = ir_attr_ints(node, "pads", &np);
    const int64_t *str = ir_attr_ints(node, "strides", &ns);
    int64_t blk[IR_MAX_RANK], img[IR_MAX_RANK], nb[IR_MAX_RANK], bprod = 1, L = 1;
    for (int32_t i = 0; i < k; i++) {
        blk[i] = ir_get_i64(BL, i);
        img[i] = ir_get_i64(IM, i);
        int64_t p = pads ? pads[i] + pads[k + i] : 0, di = dil ? dil[i] : 1, s = str ? str[i] : 1;
        nb[i] = (img[i] + p - di * (blk[i] - 1) - 1) / s + 1;
        bprod *= blk[i];
        L *= nb[i];
    }
    int64_t N = X->dims[0], C = Y->dims[1];
    if (X->dims[1] != C * bprod || X->dims[2] != L)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is [%lld, %lld, %lld], expected [%lld, %lld, %lld]",
                            (long long)X->dims[0], (long long)X->dims[1], (long long)X->dims[2], (long long)N,
                            (long long)(C * bprod), (long long)L);
    int64_t S = 1;
    for (int32_t i = 0; i < k; i++) S *= img[i];
    int dt = Y->dtype;
    int mode = dt == INGOT_DTYPE_F32 ? 0 : ing_dtype_is_int(dt) ? 1 : 2; /* f32 / int64 / double */
    size_t ny = (size_t)ing_numel(Y);
    void *acc = Y->data;
    if (mode) {
        acc = cpu_scratch(x, 0, ny * 8 + 8);
        if (!acc) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory");
    }
    memset(acc, 0, mode ? ny * 8 : ny * 4);
    int par = (double)N * (double)C * (double)bprod * (double)L >= SD_PAR_MIN;
#pragma omp parallel for collapse(2) schedule(static) if (par)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            int64_t yo = (n * C + c) * S;
            for (int64_t kc = 0; kc < bprod; kc++) {
                int64_t koff[IR_MAX_RANK], rem = kc;
                for (int32_t i = k - 1; i >= 0; i--) {
                    koff[i] = rem % blk[i];
                    rem /= blk[i];
                }
                int64_t xo = ((n * C + c) * bprod + kc) * L;
                for (int64_t l = 0; l < L; l++) {
                    int64_t rl = l, yi = 0, mul = 1, inside = 1;
                    for (int32_t i = k - 1; i >= 0; i--) {
                        int64_t ci = rl % nb[i];
                        rl /= nb[i];
                        int64_t pos = ci * (str ? str[i] : 1) - (pads ? pads[i] : 0) + koff[i] * (dil ? dil[i] : 1);
                        if (pos < 0 || pos >= img[i]) {
                            inside = 0;
                            break;
                        }
                        yi += pos * mul;
                        mul *= img[i];
                    }
                    if (!inside) continue;
                    if (mode == 0) ((float *)acc)[yo + yi] += ((const float *)X->data)[xo + l];
                    else if (mode == 1) ((int64_t *)acc)[yo + yi] += ing_load_i64(dt, X->data, (size_t)(xo + l));
                    else ((double *)acc)[yo + yi] += ing_load_f64(dt, X->data, (size_t)(xo + l));
                }
            }
        }
    if (mode == 1)
        for (size_t i = 0; i < ny; i++) ing_store_i64(dt, Y->data, i, ((int64_t *)acc)[i]);
    else if (mode == 2)
        for (size_t i = 0; i < ny; i++) ing_store_f64(dt, Y->data, i, ((double *)acc)[i]);
    return INGOT_OK;
}
