/* Shape inference for convolutions and pooling: Conv, ConvTranspose, ConvInteger, QLinearConv,
 * DeformConv, AveragePool, MaxPool, LpPool, GlobalAveragePool, GlobalMaxPool and
 * CausalConvWithState.
 *
 * The window geometry (ir_conv_window) is also called by the CPU kernels, so that the shape
 * chosen at build time and the loops run at run time come from one computation.
 */
#include <limits.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/op.h"

/* Kinds of window geometry. */
enum { CONV_FORWARD = 0, CONV_POOL = 1, CONV_TRANSPOSE = 2 };

/* Declared again (no shared header of the family) in the CPU conv kernels. */
ingot_status ir_conv_window(const ir_node *node, int kind, const ing_tensor *x, const int64_t *wk,
                            int64_t *k, int64_t *s, int64_t *d, int64_t *pads, int64_t *out_sp);

/* Attribute values beyond this are rejected: it keeps every window product inside int64. */
#define CONV_ATTR_MAX ((int64_t)INT32_MAX)

static ingot_status read_ints(const ir_node *node, const char *name, int64_t n, int64_t lo,
                              int64_t dflt, int64_t *dst)
{
    size_t cnt;
    const int64_t *v = ir_attr_ints(node, name, &cnt);
    if (!v || cnt == 0) {
        for (int64_t i = 0; i < n; i++) dst[i] = dflt;
        return INGOT_OK;
    }
    if ((int64_t)cnt != n)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "%s has %zu values; the input needs %lld", name,
                            cnt, (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > CONV_ATTR_MAX)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "%s[%lld] is %lld; allowed %lld..%lld", name,
                                (long long)i, (long long)v[i], (long long)lo,
                                (long long)CONV_ATTR_MAX);
        dst[i] = v[i];
    }
    return INGOT_OK;
}

/* auto_pad: 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID. */
static ingot_status read_auto_pad(const ir_node *node, int *mode)
{
    const char *s = ir_attr_string(node, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET") || !*s) *mode = 0;
    else if (!strcmp(s, "SAME_UPPER")) *mode = 1;
    else if (!strcmp(s, "SAME_LOWER")) *mode = 2;
    else if (!strcmp(s, "VALID")) *mode = 3;
    else
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL,
                            "auto_pad is '%s'; allowed NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
    return INGOT_OK;
}

/* Window geometry of a conv or pool node over x's spatial dims (x->rank - 2 of them).
 * kind: CONV_FORWARD (Conv-like), CONV_POOL (adds ceil_mode), CONV_TRANSPOSE.
 * wk: the kernel's spatial dims from W (-1 where unknown), or NULL for pooling, which needs
 * kernel_shape. Fills k, s, d (nsp each), pads (2*nsp: begins, then ends) and out_sp (nsp;
 * -1 where an input dim is unknown). For a transpose, out_sp is the output's spatial extent
 * and pads[i] the offset that maps input position i*s + k*d - pads[i] to the output. */
ingot_status ir_conv_window(const ir_node *node, int kind, const ing_tensor *x, const int64_t *wk,
                            int64_t *k, int64_t *s, int64_t *d, int64_t *pads, int64_t *out_sp)
{
    int32_t nsp = x->rank - 2;
    if (x->rank < 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "input is %d-D; needs at least 3-D (N, C, spatial...)", x->rank);
    size_t cnt;
    const int64_t *ks = ir_attr_ints(node, "kernel_shape", &cnt);
    if (ks && cnt > 0) {
        ING_TRY(read_ints(node, "kernel_shape", nsp, 1, 1, k));
        if (wk)
            for (int32_t i = 0; i < nsp; i++)
                if (wk[i] >= 0 && wk[i] != k[i])
                    return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                        "kernel_shape[%d] is %lld but the weight's dim %d is %lld", i,
                                        (long long)k[i], i + 2, (long long)wk[i]);
    } else if (wk) {
        for (int32_t i = 0; i < nsp; i++) {
            if (wk[i] == 0 || wk[i] > CONV_ATTR_MAX)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                    "the weight's spatial dim %d is %lld; allowed 1..%lld", i,
                                    (long long)wk[i], (long long)CONV_ATTR_MAX);
            k[i] = wk[i];
        }
    } else {
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "kernel_shape is required and missing");
    }
    ING_TRY(read_ints(node, "strides", nsp, 1, 1, s));
    ING_TRY(read_ints(node, "dilations", nsp, 1, 1, d));
    ING_TRY(read_ints(node, "pads", 2 * nsp, 0, 0, pads));
    int mode = 0;
    ING_TRY(read_auto_pad(node, &mode));
    int64_t ceil_mode = kind == CONV_POOL ? ir_attr_int(node, "ceil_mode", 0) : 0;
    if (ceil_mode != 0 && ceil_mode != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "ceil_mode is %lld; allowed 0 or 1",
                            (long long)ceil_mode);

    int64_t opad[IR_MAX_RANK] = {0}, oshape[IR_MAX_RANK];
    int has_oshape = 0;
    if (kind == CONV_TRANSPOSE) {
        ING_TRY(read_ints(node, "output_padding", nsp, 0, 0, opad));
        const int64_t *os = ir_attr_ints(node, "output_shape", &cnt);
        if (os && cnt > 0) {
            /* Spatial dims only per the spec; some exporters write the full shape. */
            if ((int64_t)cnt != nsp && (int64_t)cnt != nsp + 2)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL,
                                    "output_shape has %zu values; the input needs %d", cnt, nsp);
            for (int32_t i = 0; i < nsp; i++) {
                oshape[i] = os[(int64_t)cnt - nsp + i];
                if (oshape[i] < 0 || oshape[i] > ((int64_t)1 << 40))
                    return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output_shape[%d] is %lld", i,
                                        (long long)oshape[i]);
            }
            has_oshape = 1;
        }
    }

    for (int32_t i = 0; i < nsp; i++) {
        int64_t D = x->dims[i + 2];
        if (D > ((int64_t)1 << 40))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input dim %d is %lld; too large", i + 2,
                                (long long)D);
        if (k[i] < 0) { /* kernel from an unknown weight dim */
            out_sp[i] = -1;
            pads[i] = pads[nsp + i] = 0;
            continue;
        }
        int64_t ek = (k[i] - 1) * d[i] + 1; /* effective window extent */
        if (kind == CONV_TRANSPOSE) {
            int64_t total = -1, out = -1;
            if (has_oshape) out = oshape[i];
            else if (mode == 1 || mode == 2) out = D < 0 ? -1 : D * s[i];
            if (D < 0 && !has_oshape) {
                out_sp[i] = -1;
                continue;
            }
            int64_t full = D < 0 ? -1 : s[i] * (D - 1) + opad[i] + ek;
            if (out >= 0) {
                /* Clamped at 0 as ONNX Runtime does: a larger output_shape adds zeros at the
                 * end instead of shifting the result. */
                total = full >= 0 && full > out ? full - out : 0;
                if (mode == 1) {
                    pads[i] = total / 2;
                    pads[nsp + i] = total - total / 2;
                } else {
                    pads[i] = total - total / 2;
                    pads[nsp + i] = total / 2;
                }
            } else {
                if (mode == 3) pads[i] = pads[nsp + i] = 0;
                out = full - pads[i] - pads[nsp + i];
                if (out < 0)
                    return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                        "spatial dim %d: pads %lld+%lld exceed the output extent "
                                        "%lld",
                                        i, (long long)pads[i], (long long)pads[nsp + i],
                                        (long long)full);
            }
            out_sp[i] = out;
            continue;
        }
        if (mode == 3) pads[i] = pads[nsp + i] = 0;
        if (D < 0) {
            out_sp[i] = -1;
            continue;
        }
        if (mode == 1 || mode == 2) {
            int64_t out = (D + s[i] - 1) / s[i];
            int64_t total = (out - 1) * s[i] + ek - D;
            if (total < 0) total = 0;
            if (mode == 1) {
                pads[i] = total / 2;
                pads[nsp + i] = total - total / 2;
            } else {
                pads[i] = total - total / 2;
                pads[nsp + i] = total / 2;
            }
            out_sp[i] = out;
            continue;
        }
        int64_t num = D + pads[i] + pads[nsp + i] - ek;
        if (num < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "spatial dim %d: the window (%lld with dilation %lld) is larger "
                                "than the padded input (%lld)",
                                i, (long long)k[i], (long long)d[i],
                                (long long)(D + pads[i] + pads[nsp + i]));
        int64_t out = num / s[i] + 1;
        if (ceil_mode) {
            out = (num + s[i] - 1) / s[i] + 1;
            /* The last window must start inside the input or its left padding. */
            if ((out - 1) * s[i] >= D + pads[i]) out--;
        }
        out_sp[i] = out;
    }
    /* Large pads can ask for an output no allocation could hold; say so before anyone
     * multiplies the dims. */
    int64_t total = 1;
    for (int32_t i = 0; i < nsp; i++) {
        if (out_sp[i] < 0) continue;
        if (out_sp[i] > 0 && total > ((int64_t)1 << 48) / out_sp[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "the output's spatial size exceeds 2^48 elements (dim %d is "
                                "%lld)",
                                i, (long long)out_sp[i]);
        total *= out_sp[i];
    }
    return INGOT_OK;
}

static int is_float_dt(int dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16 ||
           dt == INGOT_DTYPE_F64;
}

static const ing_tensor *opt_in(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

static ingot_status need_inputs(const ir_node *node, const ing_tensor *const *in, int n_in, int n)
{
    for (int i = 0; i < n; i++)
        if (!opt_in(in, n_in, i))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is required and missing", i);
    return INGOT_OK;
}

static ingot_status check_group(const ir_node *node, int64_t *group)
{
    *group = ir_attr_int(node, "group", 1);
    if (*group < 1 || *group > CONV_ATTR_MAX)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "group is %lld; allowed 1..%lld",
                            (long long)*group, (long long)CONV_ATTR_MAX);
    return INGOT_OK;
}

static void set_unknown(ing_tensor *o, int32_t dtype, int32_t rank)
{
    o->dtype = dtype;
    o->rank = rank;
    for (int32_t i = 0; i < IR_MAX_RANK; i++) o->dims[i] = -1;
}

/* Shared by Conv, ConvInteger, QLinearConv, DeformConv: X (N, C, sp...), W (M, C/group, k...).
 * Writes (N, M, out...) into y with dtype dt. */
static ingot_status infer_forward(const ir_node *node, const ing_tensor *x, const ing_tensor *w,
                                  int32_t dt, ing_tensor *y)
{
    int64_t group;
    ING_TRY(check_group(node, &group));
    int32_t rank = x->rank >= 0 ? x->rank : w->rank;
    if (rank < 0) {
        set_unknown(y, dt, -1);
        return INGOT_OK;
    }
    if (rank < 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "input is %d-D; needs at least 3-D (N, C, spatial...)", rank);
    if (x->rank >= 0 && w->rank >= 0 && x->rank != w->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is %d-D but the weight is %d-D",
                            x->rank, w->rank);
    set_unknown(y, dt, rank);
    int64_t wk[IR_MAX_RANK], M = -1, wc = -1;
    for (int32_t i = 0; i < rank - 2; i++) wk[i] = w->rank >= 0 ? w->dims[i + 2] : -1;
    if (w->rank >= 0) {
        M = w->dims[0];
        wc = w->dims[1];
    }
    if (M >= 0 && M % group != 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "the weight has %lld output channels, not a multiple of group %lld",
                            (long long)M, (long long)group);
    if (x->rank < 0) {
        y->dims[1] = M;
        return INGOT_OK;
    }
    if (wc >= 0 && x->dims[1] >= 0 && wc * group != x->dims[1])
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "the input has %lld channels; the weight expects %lld x group %lld",
                            (long long)x->dims[1], (long long)wc, (long long)group);
    int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    ING_TRY(ir_conv_window(node, CONV_FORWARD, x, wk, k, s, d, pads, y->dims + 2));
    y->dims[0] = x->dims[0];
    y->dims[1] = M;
    return INGOT_OK;
}

static ingot_status check_bias(const ir_node *node, const ing_tensor *b, int64_t M, int idx)
{
    if (!b || b->rank < 0) return INGOT_OK;
    if (b->rank != 1 || (M >= 0 && b->dims[0] >= 0 && b->dims[0] != M)) {
        char sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d (bias) is %s; needs [%lld]", idx,
                            ing_shape_str(b, sb, sizeof sb), (long long)M);
    }
    return INGOT_OK;
}

/* channels_last (internal; opt/layout_nhwc.c sets it on Conv, FusedConv, MaxPool and
 * AveragePool): X [N, spatial..., C], W [M, k..., C/group], Y [N, out..., M]. Shapes are worked
 * out on the NCHW view (the last axis moved to 1) and the output's axis 1 moved back last. */
static ingot_status read_channels_last(const ir_node *node, const ing_tensor *x, int *cl)
{
    int64_t v = ir_attr_int(node, "channels_last", 0);
    if (v != 0 && v != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "channels_last is %lld; allowed 0 or 1", (long long)v);
    if (v && x->rank >= 0 && x->rank < 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "channels_last input is %d-D; needs at least 3-D (N, spatial..., C)",
                            x->rank);
    *cl = (int)v;
    return INGOT_OK;
}

static void last_to_1(const ing_tensor *t, ing_tensor *v)
{
    *v = *t;
    if (t->rank < 3) return;
    v->dims[1] = t->dims[t->rank - 1];
    for (int32_t i = 2; i < t->rank; i++) v->dims[i] = t->dims[i - 1];
}

static void axis1_to_last(ing_tensor *t)
{
    if (t->rank < 3) return;
    int64_t c = t->dims[1];
    for (int32_t i = 1; i < t->rank - 1; i++) t->dims[i] = t->dims[i + 1];
    t->dims[t->rank - 1] = c;
}

static ingot_status infer_conv(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    const ing_tensor *x = in[0], *w = in[1], *b = opt_in(in, n_in, 2);
    if (!is_float_dt(x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input dtype %s; supported f32, f16, bf16, f64",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "inputs mix dtypes %s, %s%s%s",
                            ingot_dtype_name((ingot_dtype)x->dtype),
                            ingot_dtype_name((ingot_dtype)w->dtype), b ? " and " : "",
                            b ? ingot_dtype_name((ingot_dtype)b->dtype) : "");
    int cl = 0;
    ing_tensor xv, wv;
    ING_TRY(read_channels_last(node, x, &cl));
    if (cl) {
        last_to_1(x, &xv);
        last_to_1(w, &wv);
        x = &xv, w = &wv;
    }
    ING_TRY(infer_forward(node, x, w, x->dtype, out[0]));
    if (cl) axis1_to_last(out[0]);
    return check_bias(node, b, w->rank >= 0 ? w->dims[0] : -1, 2);
}

static ingot_status infer_conv_transpose(const ir_node *node, const ing_tensor *const *in,
                                         int n_in, ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    const ing_tensor *x = in[0], *w = in[1], *b = opt_in(in, n_in, 2);
    ing_tensor *y = out[0];
    if (!is_float_dt(x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input dtype %s; supported f32, f16, bf16, f64",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "inputs mix dtypes %s and %s",
                            ingot_dtype_name((ingot_dtype)x->dtype),
                            ingot_dtype_name((ingot_dtype)(w->dtype != x->dtype ? w->dtype
                                                                               : b->dtype)));
    int64_t group;
    ING_TRY(check_group(node, &group));
    int32_t rank = x->rank >= 0 ? x->rank : w->rank;
    if (rank < 0) {
        set_unknown(y, x->dtype, -1);
        return INGOT_OK;
    }
    if (rank < 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "input is %d-D; needs at least 3-D (N, C, spatial...)", rank);
    if (x->rank >= 0 && w->rank >= 0 && x->rank != w->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is %d-D but the weight is %d-D",
                            x->rank, w->rank);
    set_unknown(y, x->dtype, rank);
    int64_t M = -1;
    if (w->rank >= 0) {
        if (w->dims[1] >= 0) {
            if (w->dims[1] > CONV_ATTR_MAX)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "weight dim 1 is %lld; too large",
                                    (long long)w->dims[1]);
            M = w->dims[1] * group;
        }
        if (w->dims[0] >= 0 && w->dims[0] % group != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "the weight has %lld input channels, not a multiple of group %lld",
                                (long long)w->dims[0], (long long)group);
    }
    ING_TRY(check_bias(node, b, M, 2));
    if (x->rank < 0) {
        y->dims[1] = M;
        return INGOT_OK;
    }
    if (w->rank >= 0 && x->dims[1] >= 0 && w->dims[0] >= 0 && x->dims[1] != w->dims[0])
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "the input has %lld channels; the weight's dim 0 is %lld",
                            (long long)x->dims[1], (long long)w->dims[0]);
    int64_t wk[IR_MAX_RANK], k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK],
        pads[2 * IR_MAX_RANK];
    for (int32_t i = 0; i < rank - 2; i++) wk[i] = w->rank >= 0 ? w->dims[i + 2] : -1;
    ING_TRY(ir_conv_window(node, CONV_TRANSPOSE, x, wk, k, s, d, pads, y->dims + 2));
    y->dims[0] = x->dims[0];
    y->dims[1] = M;
    return INGOT_OK;
}

static int is_q8(int dt) { return dt == INGOT_DTYPE_U8 || dt == INGOT_DTYPE_I8; }

/* A zero point or scale: a scalar, or 1-D of 1 or `per` values (per-channel). */
static ingot_status check_qparam(const ir_node *node, const ing_tensor *t, int idx, int64_t per,
                                 int dt_need)
{
    if (!t) return INGOT_OK;
    if (dt_need && t->dtype != dt_need)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s; needs %s", idx,
                            ingot_dtype_name((ingot_dtype)t->dtype),
                            ingot_dtype_name((ingot_dtype)dt_need));
    if (t->rank < 0) return INGOT_OK;
    int64_t n = ing_numel(t);
    if (t->rank > 1 || (n >= 0 && n != 1 && (per < 0 || n != per))) {
        char sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "input %d is %s; needs a scalar or 1-D of 1 or %lld values", idx,
                            ing_shape_str(t, sb, sizeof sb), (long long)per);
    }
    return INGOT_OK;
}

static ingot_status infer_conv_integer(const ir_node *node, const ing_tensor *const *in, int n_in,
                                       ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    const ing_tensor *x = in[0], *w = in[1];
    if (!is_q8(x->dtype) || !is_q8(w->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input dtypes %s and %s; supported u8 and i8",
                            ingot_dtype_name((ingot_dtype)x->dtype),
                            ingot_dtype_name((ingot_dtype)w->dtype));
    ING_TRY(check_qparam(node, opt_in(in, n_in, 2), 2, -1, x->dtype));
    ING_TRY(check_qparam(node, opt_in(in, n_in, 3), 3, w->rank >= 0 ? w->dims[0] : -1,
                         w->dtype));
    return infer_forward(node, x, w, INGOT_DTYPE_I32, out[0]);
}

static ingot_status infer_qlinear_conv(const ir_node *node, const ing_tensor *const *in, int n_in,
                                       ing_tensor *const *out, int n_out)
{
    /* The zero points (2, 5, 7) are required by the schema; like the ONNX reference, a
     * missing one reads as 0 and y then takes x's dtype. */
    static const int required[] = {0, 1, 3, 4, 6};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!opt_in(in, n_in, required[i]))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is required and missing",
                                required[i]);
    const ing_tensor *x = in[0], *w = in[3], *b = opt_in(in, n_in, 8), *yz = opt_in(in, n_in, 7);
    int32_t ydt = yz ? yz->dtype : x->dtype;
    if (!is_q8(x->dtype) || !is_q8(w->dtype) || !is_q8(ydt))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "x, w, y_zero_point dtypes %s, %s, %s; supported u8 and i8",
                            ingot_dtype_name((ingot_dtype)x->dtype),
                            ingot_dtype_name((ingot_dtype)w->dtype),
                            ingot_dtype_name((ingot_dtype)ydt));
    int64_t M = w->rank >= 0 ? w->dims[0] : -1;
    ING_TRY(check_qparam(node, in[1], 1, -1, INGOT_DTYPE_F32));
    ING_TRY(check_qparam(node, opt_in(in, n_in, 2), 2, -1, x->dtype));
    ING_TRY(check_qparam(node, in[4], 4, M, INGOT_DTYPE_F32));
    ING_TRY(check_qparam(node, opt_in(in, n_in, 5), 5, M, w->dtype));
    ING_TRY(check_qparam(node, in[6], 6, -1, INGOT_DTYPE_F32));
    ING_TRY(check_qparam(node, yz, 7, -1, 0));
    if (b && b->dtype != INGOT_DTYPE_I32)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input 8 (bias) has dtype %s; needs i32",
                            ingot_dtype_name((ingot_dtype)b->dtype));
    ING_TRY(check_bias(node, b, M, 8));
    return infer_forward(node, x, w, ydt, out[0]);
}

static ingot_status infer_deform_conv(const ir_node *node, const ing_tensor *const *in, int n_in,
                                      ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 3));
    const ing_tensor *x = in[0], *w = in[1];
    for (int i = 0; i < 5; i++) {
        const ing_tensor *t = opt_in(in, n_in, i);
        if (t && t->dtype != x->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s; X has %s", i,
                                ingot_dtype_name((ingot_dtype)t->dtype),
                                ingot_dtype_name((ingot_dtype)x->dtype));
    }
    if (!is_float_dt(x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input dtype %s; supported f32, f16, bf16, f64",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    if (x->rank >= 0 && x->rank != 4)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input is %d-D; supported 4-D (2-D "
                            "deformable convolution)", x->rank);
    int64_t og = ir_attr_int(node, "offset_group", 1);
    if (og < 1 || og > CONV_ATTR_MAX)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "offset_group is %lld; allowed 1..%lld",
                            (long long)og, (long long)CONV_ATTR_MAX);
    ING_TRY(check_bias(node, opt_in(in, n_in, 3), w->rank >= 0 ? w->dims[0] : -1, 3));
    ING_TRY(infer_forward(node, x, w, x->dtype, out[0]));
    /* offset (N, og*2*kH*kW, oH, oW) and mask (N, og*kH*kW, oH, oW), where known. */
    const ing_tensor *y = out[0];
    int64_t taps = w->rank == 4 && w->dims[2] >= 0 && w->dims[3] >= 0 ? w->dims[2] * w->dims[3] : -1;
    for (int i = 2; i <= 4; i += 2) {
        const ing_tensor *t = opt_in(in, n_in, i);
        if (!t || t->rank < 0 || y->rank != 4) continue;
        int64_t want[4] = {y->dims[0], taps >= 0 ? og * taps * (i == 2 ? 2 : 1) : -1, y->dims[2],
                           y->dims[3]};
        int ok = t->rank == 4;
        for (int a = 0; ok && a < 4; a++)
            if (want[a] >= 0 && t->dims[a] >= 0 && t->dims[a] != want[a]) ok = 0;
        if (!ok) {
            char sb[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s is %s; needs [%lld,%lld,%lld,%lld]",
                                i == 2 ? "offset" : "mask", ing_shape_str(t, sb, sizeof sb),
                                (long long)want[0], (long long)want[1], (long long)want[2],
                                (long long)want[3]);
        }
    }
    return INGOT_OK;
}

static ingot_status infer_pool(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 1));
    const ing_tensor *x = in[0];
    int is_max = !strcmp(node->op, "MaxPool");
    if (!is_float_dt(x->dtype) && !(is_max && is_q8(x->dtype)))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input dtype %s; supported %s",
                            ingot_dtype_name((ingot_dtype)x->dtype),
                            is_max ? "f32, f16, bf16, f64, u8, i8" : "f32, f16, bf16, f64");
    int cl = 0;
    ing_tensor xv;
    ING_TRY(read_channels_last(node, x, &cl));
    if (cl && (!strcmp(node->op, "LpPool") || (n_out > 1 && out[1])))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "channels_last on %s%s; allowed on MaxPool without "
                            "Indices and AveragePool", node->op, n_out > 1 && out[1] ? " with Indices" : "");
    if (cl) {
        last_to_1(x, &xv);
        x = &xv;
    }
    ing_tensor *y = out[0];
    set_unknown(y, x->dtype, x->rank);
    if (x->rank >= 0) {
        int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
        ING_TRY(ir_conv_window(node, CONV_POOL, x, NULL, k, s, d, pads, y->dims + 2));
        y->dims[0] = x->dims[0];
        y->dims[1] = x->dims[1];
    }
    if (cl) axis1_to_last(y);
    if (!strcmp(node->op, "LpPool")) {
        float p = ir_attr_float(node, "p", 2.0f);
        if (!(p > 0.0f) || p > 1e6f)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "p is %g; allowed > 0", (double)p);
    }
    if (is_max) {
        int64_t so = ir_attr_int(node, "storage_order", 0);
        if (so != 0 && so != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "storage_order is %lld; allowed 0 or 1",
                                (long long)so);
        if (n_out > 1 && out[1]) {
            ir_copy_desc(out[1], y);
            out[1]->dtype = INGOT_DTYPE_I64;
        }
    }
    return INGOT_OK;
}

static ingot_status infer_global_pool(const ir_node *node, const ing_tensor *const *in, int n_in,
                                      ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 1));
    const ing_tensor *x = in[0];
    if (!is_float_dt(x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input dtype %s; supported f32, f16, bf16, f64",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    ir_copy_desc(out[0], x);
    if (x->rank < 0) return INGOT_OK;
    if (x->rank < 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is %d-D; needs at least 2-D (N, C, ...)",
                            x->rank);
    for (int32_t i = 2; i < x->rank; i++) out[0]->dims[i] = 1;
    return INGOT_OK;
}

static ingot_status infer_causal_conv(const ir_node *node, const ing_tensor *const *in, int n_in,
                                      ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    const ing_tensor *x = in[0], *w = in[1], *b = opt_in(in, n_in, 2), *ps = opt_in(in, n_in, 3);
    if (!is_float_dt(x->dtype) || x->dtype == INGOT_DTYPE_F64)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input dtype %s; supported f32, f16, bf16",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    const ing_tensor *all[4] = {x, w, b, ps};
    for (int i = 1; i < 4; i++)
        if (all[i] && all[i]->dtype != x->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s; input 0 has %s", i,
                                ingot_dtype_name((ingot_dtype)all[i]->dtype),
                                ingot_dtype_name((ingot_dtype)x->dtype));
    const char *act = ir_attr_string(node, "activation", "none");
    if (strcmp(act, "none") && strcmp(act, "silu") && strcmp(act, "swish"))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL,
                            "activation is '%s'; allowed 'none', 'silu', 'swish'", act);
    char sb[96];
    if (x->rank >= 0 && x->rank != 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is %s; needs 3-D (batch, channels, "
                            "length)", ing_shape_str(x, sb, sizeof sb));
    if (w->rank >= 0 && (w->rank != 3 || (w->dims[1] >= 0 && w->dims[1] != 1) || w->dims[2] == 0))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "weight is %s; needs (channels, 1, k >= 1)",
                            ing_shape_str(w, sb, sizeof sb));
    int64_t B = x->rank >= 0 ? x->dims[0] : -1, C = x->rank >= 0 ? x->dims[1] : -1;
    int64_t K = w->rank >= 0 ? w->dims[2] : -1;
    if (C < 0 && w->rank >= 0) C = w->dims[0];
    if (w->rank >= 0 && C >= 0 && w->dims[0] >= 0 && w->dims[0] != C)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "weight has %lld channels; input has %lld",
                            (long long)w->dims[0], (long long)C);
    ING_TRY(check_bias(node, b, C, 2));
    if (ps && ps->rank >= 0) {
        if (ps->rank != 3 || (B >= 0 && ps->dims[0] >= 0 && ps->dims[0] != B) ||
            (C >= 0 && ps->dims[1] >= 0 && ps->dims[1] != C) ||
            (K >= 0 && ps->dims[2] >= 0 && ps->dims[2] != K - 1))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "past_state is %s; needs [%lld,%lld,%lld] (batch, channels, k-1)",
                                ing_shape_str(ps, sb, sizeof sb), (long long)B, (long long)C,
                                (long long)(K >= 0 ? K - 1 : -1));
    }
    set_unknown(out[0], x->dtype, 3);
    out[0]->dims[0] = B;
    out[0]->dims[1] = C;
    out[0]->dims[2] = x->rank >= 0 ? x->dims[2] : -1;
    if (n_out > 1 && out[1]) {
        set_unknown(out[1], x->dtype, 3);
        out[1]->dims[0] = B;
        out[1]->dims[1] = C;
        out[1]->dims[2] = K >= 0 ? K - 1 : -1;
    }
    return INGOT_OK;
}

const ir_op_def ir_ops_conv[] = {
    {"Conv", infer_conv},
    {"ConvTranspose", infer_conv_transpose},
    {"ConvInteger", infer_conv_integer},
    {"QLinearConv", infer_qlinear_conv},
    {"DeformConv", infer_deform_conv},
    {"AveragePool", infer_pool},
    {"MaxPool", infer_pool},
    {"LpPool", infer_pool},
    {"GlobalAveragePool", infer_global_pool},
    {"GlobalMaxPool", infer_global_pool},
    {"CausalConvWithState", infer_causal_conv},
    {NULL, NULL},
};
