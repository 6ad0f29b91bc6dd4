/* CPU kernels of the spatial family: Resize and Upsample here; GridSample and AffineGrid in
 * spatial_grid.c; RoiAlign, NonMaxSuppression, MaxUnpool and Col2Im in spatial_detect.c.
 *
 * Resize follows the ONNX reference (onnx/reference/ops/op_resize.py): the resize is separable,
 * so each resized axis is one pass over the data with a per-output-position table of source
 * indices and weights, built in double with the reference's coordinate formulas, neighbour
 * windows and edge clamping. Nearest mode is a pure gather (exact for every dtype); linear and
 * cubic run in f32 for f32 data and in f64 otherwise (f16/bf16 round on store, integers round
 * to nearest and saturate).
 */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/spatial_internal.h"
#include "core/alloc.h"
#include "ir/infer_spatial.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYM, CT_PYTORCH, CT_ALIGN, CT_ASYM, CT_TF_CROP, CT_TF_HALF_NN };
enum { NM_PREFER_FLOOR, NM_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_LEGACY };

#define RS_PAR_MIN 32768 /* elements × taps below which a pass stays single-threaded */

typedef struct rs_cfg {
    int mode, ctm, nm, antialias, exclude;
    double cubic_a, ext;
} rs_cfg;

/* One resized axis: for each output position, n source indices (clamped into the input) and
 * weights; ext marks positions outside a tf_crop_and_resize roi. Nearest mode has n == 1 and
 * index -1 for "zero" (exclude_outside dropped the only tap). */
typedef struct rs_axis {
    int32_t axis;
    int64_t in, out, n;
    int64_t *idx;
    double *wd;
    float *wf;
    uint8_t *ext;
    int has_ext;     /* any ext[] set */
    int has_special; /* any ext[] set or any nearest index -1 */
} rs_axis;

static void rs_parse(const ir_node *node, rs_cfg *c)
{
    int legacy = !strcmp(node->op, "Upsample") || node->opset <= 10;
    const char *mode = ir_attr_string(node, "mode", "nearest");
    c->mode = !strcmp(mode, "nearest") ? RS_NEAREST : !strcmp(mode, "cubic") ? RS_CUBIC : RS_LINEAR;
    c->antialias = 0;
    c->exclude = 0;
    c->cubic_a = -0.75;
    c->ext = 0.0;
    if (legacy) {
        /* Upsample and Resize-10 sample asymmetrically; their nearest is ORT's legacy rule. */
        c->ctm = CT_ASYM;
        c->nm = NM_LEGACY;
        return;
    }
    const char *ctm = ir_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    c->ctm = !strcmp(ctm, "half_pixel_symmetric") ? CT_HALF_PIXEL_SYM
             : !strcmp(ctm, "pytorch_half_pixel") ? CT_PYTORCH
             : !strcmp(ctm, "align_corners")      ? CT_ALIGN
             : !strcmp(ctm, "asymmetric")         ? CT_ASYM
             : !strcmp(ctm, "tf_crop_and_resize") ? CT_TF_CROP
             : !strcmp(ctm, "tf_half_pixel_for_nn") ? CT_TF_HALF_NN
                                                  : CT_HALF_PIXEL;
    const char *nm = ir_attr_string(node, "nearest_mode", "round_prefer_floor");
    c->nm = !strcmp(nm, "round_prefer_ceil") ? NM_PREFER_CEIL
            : !strcmp(nm, "floor")           ? NM_FLOOR
            : !strcmp(nm, "ceil")            ? NM_CEIL
                                             : NM_PREFER_FLOOR;
    c->antialias = node->opset >= 18 && ir_attr_int(node, "antialias", 0) != 0 && c->mode != RS_NEAREST;
    c->exclude = ir_attr_int(node, "exclude_outside", 0) != 0;
    c->cubic_a = ir_attr_float(node, "cubic_coeff_a", -0.75f);
    c->ext = ir_attr_float(node, "extrapolation_value", 0.0f);
}

/* Source coordinate of output position y (op_resize.py _compute_x_ori). */
static double rs_coord(const rs_cfg *c, double y, double scale, int64_t in_w, int64_t out_int,
                       double roi0, double roi1, int *ext)
{
    double out_w = scale * (double)in_w; /* the reference's float output width */
    double x;
    *ext = 0;
    switch (c->ctm) {
    case CT_ALIGN: x = out_w == 1 ? 0.0 : y * (double)(in_w - 1) / (out_w - 1); break;
    case CT_ASYM: x = y / scale; break;
    case CT_TF_HALF_NN: x = (y + 0.5) / scale; break;
    case CT_TF_CROP:
        x = out_w == 1 ? (roi1 - roi0) * (double)(in_w - 1) / 2
                       : y * (roi1 - roi0) * (double)(in_w - 1) / (out_w - 1);
        x += roi0 * (double)(in_w - 1);
        if (x < 0 || x > (double)(in_w - 1) || isnan(x)) *ext = 1;
        break;
    case CT_PYTORCH: x = out_w == 1 ? -0.5 : (y + 0.5) / scale - 0.5; break;
    case CT_HALF_PIXEL_SYM: {
        double adj = (double)out_int / out_w, center = (double)in_w / 2;
        x = center * (1 - adj) + (y + 0.5) / scale - 0.5;
        break;
    }
    default: x = (y + 0.5) / scale - 0.5; break;
    }
    if (!(x > -9.0e15)) x = -9.0e15; /* keeps the int64 index math defined; NaN lands here too */
    if (x > 9.0e15) x = 9.0e15;
    return x;
}

/* Taps per output position along an axis (the length of the reference's coefficient vector). */
static int64_t rs_taps(const rs_cfg *c, double scale)
{
    if (c->mode == RS_NEAREST) return 1;
    if (!c->antialias || scale >= 1) return c->mode == RS_LINEAR ? 2 : 4;
    double start = floor((c->mode == RS_LINEAR ? -1.0 : -2.0) / scale) + 1;
    if (start < -(double)(1 << 22)) return -1;
    return 2 - 2 * (int64_t)start;
}

static double rs_cubic(double x, double A)
{
    x = fabs(x);
    if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
    if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    return 0;
}

static void rs_coeffs(const rs_cfg *c, double ratio, double scale, int64_t n, double *w)
{
    if (c->mode == RS_LINEAR && n == 2 && (!c->antialias || scale >= 1)) {
        w[0] = 1 - ratio;
        w[1] = ratio;
        return;
    }
    if (c->mode == RS_CUBIC && (!c->antialias || scale >= 1)) {
        double A = c->cubic_a, r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
        w[0] = ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A;
        w[1] = ((A + 2) * ratio - (A + 3)) * ratio * ratio + 1;
        w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
        w[3] = ((A * q1 - 5 * A) * q1 + 8 * A) * q1 - 4 * A;
        return;
    }
    /* antialiased downsampling: the kernel stretched by 1/scale, normalized */
    double sc = scale < 1 ? scale : 1, sum = 0;
    int64_t start = 1 - n / 2;
    for (int64_t k = 0; k < n; k++) {
        double arg = ((double)(start + k) - ratio) * sc;
        double v;
        if (c->mode == RS_LINEAR) {
            v = 1 - fabs(arg);
            v = v < 0 ? 0 : v > 1 ? 1 : v;
        } else {
            v = rs_cubic(arg, c->cubic_a);
        }
        w[k] = v;
        sum += v;
    }
    if (sum != 0)
        for (int64_t k = 0; k < n; k++) w[k] /= sum;
}

/* First index of the n-tap window around x (op_resize.py _interpolate_1d_along_axis). */
static int64_t rs_window(double x, int64_t n)
{
    int64_t pad = (n + 1) / 2;
    double xp = x + (double)pad, p = floor(xp), frac = xp - p;
    int64_t off;
    if (n % 2 == 0) off = frac == 0 ? -(n / 2) : -(n / 2) + 1;
    else off = frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1;
    return (int64_t)p + off - pad;
}

static void rs_build_axis(const rs_cfg *c, rs_axis *t, double scale, double roi0, double roi1)
{
    int64_t n = t->n, in_w = t->in;
    double w[64], *wp = w;
    double *wbig = n > 64 ? t->wd : NULL; /* large antialias windows compute in place */
    t->has_ext = t->has_special = 0;
    for (int64_t o = 0; o < t->out; o++) {
        int ext;
        double x = rs_coord(c, (double)o, scale, in_w, t->out, roi0, roi1, &ext);
        int64_t *ix = t->idx + o * n;
        double *wd = t->wd + o * n;
        t->ext[o] = (uint8_t)ext;
        t->has_ext |= ext;
        t->has_special |= ext;
        if (ext) {
            for (int64_t k = 0; k < n; k++) {
                ix[k] = 0;
                wd[k] = 0;
                t->wf[o * n + k] = 0;
            }
            continue;
        }
        double xi = floor(x);
        double ratio = x == xi ? 1.0 : x - xi;
        if (c->mode == RS_NEAREST) {
            int64_t lo = rs_window(x, 2), j;
            if (ratio == 1.0) j = lo + 1;
            else {
                switch (c->nm) {
                case NM_PREFER_CEIL: j = ratio < 0.5 ? lo : lo + 1; break;
                case NM_FLOOR: j = lo; break;
                case NM_CEIL: j = lo + 1; break;
                case NM_LEGACY: j = scale < 1 ? lo + 1 : lo; break; /* ceil when downsampling */
                default: j = ratio <= 0.5 ? lo : lo + 1; break;
                }
            }
            if (c->exclude && (j < 0 || j >= in_w)) {
                j = -1;
                t->has_special = 1;
            } else {
                j = j < 0 ? 0 : j >= in_w ? in_w - 1 : j;
            }
            ix[0] = j;
            wd[0] = 1;
            t->wf[o] = 1;
            continue;
        }
        wp = wbig ? wd : w;
        rs_coeffs(c, ratio, scale, n, wp);
        int64_t start = rs_window(x, n);
        double sum = 0;
        for (int64_t k = 0; k < n; k++) {
            int64_t j = start + k;
            if (c->exclude && (j < 0 || j >= in_w)) wp[k] = 0;
            sum += wp[k];
            ix[k] = j < 0 ? 0 : j >= in_w ? in_w - 1 : j;
        }
        if (c->exclude && sum == 0) sum = 1;
        for (int64_t k = 0; k < n; k++) {
            wd[k] = c->exclude ? wp[k] / sum : wp[k];
            t->wf[o * n + k] = (float)wd[k];
        }
    }
}

/* One separable pass: src [outer, in_w, inner] -> dst [outer, out_w, inner].
 * inner == 1 (the last axis): each output is a dot product of n gathered inputs; threads split
 * the rows. inner > 1: each output row is a weighted sum of n contiguous input rows, which
 * vectorizes; threads split (row block, output position) pairs. */
#define RS_PASS(NAME, T, WF)                                                                       \
    static void NAME(const T *src, T *dst, int64_t outer, int64_t inner, const rs_axis *t, T extv) \
    {                                                                                              \
        const int64_t in_w = t->in, out_w = t->out, n = t->n;                                      \
        const int64_t *restrict idx = t->idx;                                                      \
        const T *restrict wt = t->WF;                                                              \
        const uint8_t *restrict ext = t->ext;                                                      \
        const int has_ext = t->has_ext;                                                            \
        int par = (double)outer * (double)out_w * (double)inner * (double)n >= RS_PAR_MIN;         \
        if (inner == 1) {                                                                          \
            _Pragma("omp parallel for schedule(static) if (par)")                                  \
            for (int64_t o = 0; o < outer; o++) {                                                  \
                const T *restrict s = src + o * in_w;                                              \
                T *restrict d = dst + o * out_w;                                                   \
                if (n == 2) {                                                                      \
                    for (int64_t y = 0; y < out_w; y++)                                            \
                        d[y] = wt[2 * y] * s[idx[2 * y]] + wt[2 * y + 1] * s[idx[2 * y + 1]];      \
                } else {                                                                           \
                    for (int64_t y = 0; y < out_w; y++) {                                          \
                        T acc = 0;                                                                 \
                        for (int64_t k = 0; k < n; k++) acc += wt[y * n + k] * s[idx[y * n + k]];  \
                        d[y] = acc;                                                                \
                    }                                                                              \
                }                                                                                  \
                if (has_ext)                                                                       \
                    for (int64_t y = 0; y < out_w; y++)                                            \
                        if (ext[y]) d[y] = extv;                                                   \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        _Pragma("omp parallel for collapse(2) schedule(static) if (par)")                         \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            for (int64_t y = 0; y < out_w; y++) {                                                  \
                T *restrict d = dst + (o * out_w + y) * inner;                                     \
                const T *s = src + o * in_w * inner;                                               \
                if (has_ext && ext[y]) {                                                           \
                    for (int64_t j = 0; j < inner; j++) d[j] = extv;                               \
                    continue;                                                                      \
                }                                                                                  \
                const int64_t *ix = idx + y * n;                                                   \
                const T *w = wt + y * n;                                                           \
                const T *restrict s0 = s + ix[0] * inner;                                          \
                const T w0 = w[0];                                                                 \
                if (n == 2) {                                                                      \
                    const T *restrict s1 = s + ix[1] * inner;                                      \
                    const T w1 = w[1];                                                             \
                    for (int64_t j = 0; j < inner; j++) d[j] = w0 * s0[j] + w1 * s1[j];            \
                    continue;                                                                      \
                }                                                                                  \
                for (int64_t j = 0; j < inner; j++) d[j] = w0 * s0[j];                             \
                for (int64_t k = 1; k < n; k++) {                                                  \
                    const T *restrict sk = s + ix[k] * inner;                                      \
                    const T wk = w[k];                                                             \
                    if (wk == 0) continue;                                                         \
                    for (int64_t j = 0; j < inner; j++) d[j] += wk * sk[j];                        \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

RS_PASS(rs_pass_f32, float, wf)
RS_PASS(rs_pass_f64, double, wd)

/* Store v into element i of an integer or float tensor: floats round on store, integers round
 * to nearest and saturate. */
static void rs_store(int dt, void *base, size_t i, double v)
{
    if (ing_dtype_is_float(dt)) {
        ing_store_f64(dt, base, i, v);
        return;
    }
    double lo, hi;
    switch (dt) {
    case INGOT_DTYPE_U8: lo = 0; hi = 255; break;
    case INGOT_DTYPE_I8: lo = -128; hi = 127; break;
    case INGOT_DTYPE_U16: lo = 0; hi = 65535; break;
    case INGOT_DTYPE_I16: lo = -32768; hi = 32767; break;
    case INGOT_DTYPE_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    case INGOT_DTYPE_U32: lo = 0; hi = 4294967295.0; break;
    case INGOT_DTYPE_U64: lo = 0; hi = 18446744073709549568.0; break;
    case INGOT_DTYPE_BOOL: lo = 0; hi = 1; break;
    default: lo = -9223372036854775808.0; hi = 9223372036854774784.0; break;
    }
    v = isnan(v) ? 0 : nearbyint(v);
    v = v < lo ? lo : v > hi ? hi : v;
    ing_store_f64(dt, base, i, v);
}

/* Nearest: every output element copies one input element (or the extrapolation/zero value).
 * Rows (runs along the last axis) whose source row equals the previous row's, as in
 * upsampling, are copied from the output row just written. Threads split the rows. */
static void rs_gather(const ing_tensor *xin, ing_tensor *y, rs_axis *const *tab, const void *extv)
{
    int32_t r = y->rank;
    size_t es = ingot_dtype_size(y->dtype);
    int64_t istr[IR_MAX_RANK];
    int64_t s = 1;
    for (int32_t a = r - 1; a >= 0; a--) {
        istr[a] = s;
        s *= xin->dims[a];
    }
    int64_t w = y->dims[r - 1], rows = 1;
    for (int32_t a = 0; a < r - 1; a++) rows *= y->dims[a];
    const rs_axis *last = tab[r - 1];
    const int64_t *restrict lidx = last->idx;
    const char *src = xin->data;
    char *dst = y->data;
    static const char zero[8];
    int par = (double)rows * (double)w >= RS_PAR_MIN;
#pragma omp parallel if (par)
    {
        int64_t prev_key = INT64_MIN, prev_row = -1;
#pragma omp for schedule(static)
        for (int64_t row = 0; row < rows; row++) {
            int64_t rem = row, base = 0;
            int special = 0; /* 1: zero, 2: extrapolate */
            for (int32_t a = r - 2; a >= 0; a--) {
                int64_t c = rem % y->dims[a];
                rem /= y->dims[a];
                const rs_axis *t = tab[a];
                if (t->ext[c]) special = 2;
                else if (t->idx[c] < 0) special = special ? special : 1;
                else base += t->idx[c] * istr[a];
            }
            char *d = dst + (size_t)row * (size_t)w * es;
            int64_t key = special ? -special : base;
            if (row == prev_row + 1 && key == prev_key) {
                memcpy(d, d - (size_t)w * es, (size_t)w * es);
                prev_row = row;
                continue;
            }
            prev_key = key;
            prev_row = row;
            if (!special && !last->has_special) {
                const char *sb = src + (size_t)base * es;
                switch (es) {
                case 1: for (int64_t o = 0; o < w; o++) ((uint8_t *)d)[o] = ((const uint8_t *)sb)[lidx[o]]; break;
                case 2: for (int64_t o = 0; o < w; o++) ((uint16_t *)d)[o] = ((const uint16_t *)sb)[lidx[o]]; break;
                case 4: for (int64_t o = 0; o < w; o++) ((uint32_t *)d)[o] = ((const uint32_t *)sb)[lidx[o]]; break;
                default: for (int64_t o = 0; o < w; o++) ((uint64_t *)d)[o] = ((const uint64_t *)sb)[lidx[o]]; break;
                }
                continue;
            }
            for (int64_t o = 0; o < w; o++) {
                int sp = special;
                int64_t j = lidx[o];
                if (last->ext[o]) sp = 2;
                else if (j < 0 && !sp) sp = 1;
                const char *p = sp == 2 ? (const char *)extv : sp == 1 ? zero : src + (size_t)(base + j) * es;
                memcpy(d + (size_t)o * es, p, es);
            }
        }
    }
}

static ingot_status k_resize(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    const ing_tensor *xin = in[0];
    ing_tensor *y = out[0];
    int32_t r = xin->rank;
    int dt = xin->dtype;
    if (!ing_dtype_valid(dt) || dt == INGOT_DTYPE_STRING)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "X has dtype %s, which Resize does not support",
                            ingot_dtype_name(dt));
    int64_t dims[IR_MAX_RANK];
    double scale[IR_MAX_RANK], roi[2 * IR_MAX_RANK];
    int roi_known = 0;
    ING_TRY(ir_spatial_resize_plan(node, in, n_in, dims, scale, roi, &roi_known));
    for (int32_t a = 0; a < r; a++)
        if (dims[a] != y->dims[a])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output dim %d is %lld, the inputs give %lld", a,
                                (long long)y->dims[a], (long long)dims[a]);
    if (ing_numel(y) == 0) return INGOT_OK;
    if (r == 0) {
        memcpy(y->data, xin->data, ingot_dtype_size(dt));
        return INGOT_OK;
    }
    rs_cfg c;
    rs_parse(node, &c);
    if (c.ctm == CT_TF_CROP && !roi_known)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "coordinate_transformation_mode tf_crop_and_resize needs the roi input");
    if (c.mode != RS_NEAREST && !ing_dtype_is_float(dt) && !ing_dtype_is_int(dt))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode linear/cubic on dtype %s is not supported",
                            ingot_dtype_name(dt));

    /* Tables: one per axis (identity axes too in nearest mode, which gathers all at once). */
    rs_axis axes[IR_MAX_RANK];
    int active[IR_MAX_RANK];
    size_t bytes = 0;
    for (int32_t a = 0; a < r; a++) {
        rs_axis *t = &axes[a];
        t->axis = a;
        t->in = xin->dims[a];
        t->out = dims[a];
        double rs = roi[a], re = roi[r + a];
        active[a] = !(fabs(scale[a] - 1.0) <= 1e-9 * fmax(1.0, fabs(scale[a])) && t->out == t->in &&
                      (c.ctm != CT_TF_CROP || (rs == 0.0 && re == 1.0)));
        t->n = active[a] ? rs_taps(&c, scale[a]) : 1;
        if (t->n < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "antialias at scale %g of axis %d needs too many taps",
                                scale[a], a);
        if (!active[a] && c.mode != RS_NEAREST) continue;
        size_t nt, b;
        if (!ing_mul_fits((size_t)t->out, (size_t)t->n, &nt) || !ing_mul_fits(nt, 20, &b) ||
            b > ((size_t)1 << 40))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d: %lld outputs x %lld taps are too many", a,
                                (long long)t->out, (long long)t->n);
        bytes += b + (size_t)t->out + 16;
    }
    char *mem = cpu_scratch(x, 0, bytes ? bytes : 8);
    if (!mem) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes of resize tables", bytes);
    for (int32_t a = 0; a < r; a++) {
        rs_axis *t = &axes[a];
        if (!active[a] && c.mode != RS_NEAREST) continue;
        size_t nt = (size_t)t->out * (size_t)t->n;
        t->idx = (int64_t *)mem;
        mem += nt * 8;
        t->wd = (double *)mem;
        mem += nt * 8;
        t->wf = (float *)mem;
        mem += (nt * 4 + 7) & ~(size_t)7; /* keep the next table 8-byte aligned */
        t->ext = (uint8_t *)mem;
        mem += ((size_t)t->out + 7) & ~(size_t)7;
        if (active[a]) {
            rs_build_axis(&c, t, scale[a], roi[a], roi[r + a]);
        } else {
            t->has_ext = t->has_special = 0;
            for (int64_t o = 0; o < t->out; o++) {
                t->idx[o] = o;
                t->wd[o] = 1;
                t->wf[o] = 1;
                t->ext[o] = 0;
            }
        }
    }

    if (c.mode == RS_NEAREST) {
        uint64_t extv = 0;
        ing_store_f64(dt, &extv, 0, c.ext);
        rs_axis *tab[IR_MAX_RANK];
        for (int32_t a = 0; a < r; a++) tab[a] = &axes[a];
        rs_gather(xin, y, tab, &extv);
        return INGOT_OK;
    }

    int n_active = 0;
    for (int32_t a = 0; a < r; a++) n_active += active[a];
    if (n_active == 0) {
        memcpy(y->data, xin->data, ing_nbytes(xin));
        return INGOT_OK;
    }
    int f32 = dt == INGOT_DTYPE_F32;
    size_t es = f32 ? sizeof(float) : sizeof(double);
    const void *cur = xin->data;
    if (!f32) {
        size_t nin = (size_t)ing_numel(xin), b;
        if (!ing_mul_fits(nin, es, &b)) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X is too large");
        double *buf = cpu_scratch(x, 3, b ? b : 8);
        if (!buf) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes", b);
        for (size_t i = 0; i < nin; i++) buf[i] = ing_load_f64(dt, xin->data, i);
        cur = buf;
    }
    int64_t cd[IR_MAX_RANK];
    memcpy(cd, xin->dims, sizeof(int64_t) * (size_t)r);
    /* Pass order: shrinking axes first and growing axes last keeps the intermediates small;
     * at equal ratio the last axis goes first, since its gather pass costs more per element
     * than the row-blend passes of the other axes. */
    int32_t order[IR_MAX_RANK], no = 0;
    for (int32_t a = r - 1; a >= 0; a--)
        if (active[a]) order[no++] = a;
    for (int32_t i = 1; i < no; i++)
        for (int32_t j = i; j > 0; j--) {
            const rs_axis *p = &axes[order[j - 1]], *q = &axes[order[j]];
            if ((double)q->out * (double)p->in >= (double)p->out * (double)q->in) break;
            int32_t tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    int done = 0, slot = 1;
    for (int32_t oi = 0; oi < no; oi++) {
        int32_t a = order[oi];
        int64_t outer = 1, inner = 1;
        for (int32_t b = 0; b < a; b++) outer *= cd[b];
        for (int32_t b = a + 1; b < r; b++) inner *= cd[b];
        cd[a] = axes[a].out;
        done++;
        void *dst;
        if (done == n_active && f32) {
            dst = y->data;
        } else {
            size_t ne = (size_t)(outer * inner) * (size_t)cd[a], b;
            if (!ing_mul_fits(ne, es, &b)) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "intermediate too large");
            dst = cpu_scratch(x, slot, b ? b : 8);
            if (!dst) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes", b);
            slot = 3 - slot;
        }
        if (f32) rs_pass_f32(cur, dst, outer, inner, &axes[a], (float)c.ext);
        else rs_pass_f64(cur, dst, outer, inner, &axes[a], c.ext);
        cur = dst;
    }
    if (!f32) {
        const double *res = cur;
        int64_t ne = ing_numel(y);
        for (int64_t i = 0; i < ne; i++) rs_store(dt, y->data, (size_t)i, res[i]);
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_spatial[] = {
    {"Resize", k_resize},
    {"Upsample", k_resize},
    {"GridSample", cpu_spatial_grid_sample},
    {"AffineGrid", cpu_spatial_affine_grid},
    {"RoiAlign", cpu_spatial_roi_align},
    {"NonMaxSuppression", cpu_spatial_nms},
    {"MaxUnpool", cpu_spatial_max_unpool},
    {"Col2Im", cpu_spatial_col2im},
    {NULL, NULL},
};
