/* Shape inference for the spatial family: Resize, Upsample, GridSample, AffineGrid, RoiAlign,
 * NonMaxSuppression, MaxUnpool, Col2Im.
 *
 * Two helpers here are shared with the CPU kernels (declared in infer_spatial.h):
 * ir_spatial_resize_plan (output size, per-axis scale and roi of Resize/Upsample) and
 * ir_spatial_nms (the box selection, whose count is NonMaxSuppression's output shape).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "ir/infer_spatial.h"
#include "ir/op.h"

/* An input that is present: not omitted and not an empty tensor (opset 11 Resize passes empty
 * roi/scales for "absent"). An input whose shape is unknown counts as present. */
static int present(const ing_tensor *t)
{
    if (!t) return 0;
    int64_t n = ing_numel(t);
    return n != 0;
}

static const ing_tensor *input(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

static int str_in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set)) return 1;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Resize / Upsample
 * ------------------------------------------------------------------------------------------- */

static ingot_status resize_check_attrs(const ir_node *node)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear", NULL};
    static const char *const ctms[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                       "align_corners", "asymmetric", "tf_crop_and_resize",
                                       "tf_half_pixel_for_nn", NULL};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
    static const char *const kars[] = {"stretch", "not_larger", "not_smaller", NULL};
    const char *mode = ir_attr_string(node, "mode", "nearest");
    if (!str_in(mode, modes))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s' is not one of nearest, linear, cubic", mode);
    if (!strcmp(mode, "bilinear") && strcmp(node->op, "Upsample"))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s' is not one of nearest, linear, cubic", mode);
    const char *ctm = ir_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (!str_in(ctm, ctms))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "coordinate_transformation_mode '%s' is not one of half_pixel, "
                            "half_pixel_symmetric, pytorch_half_pixel, align_corners, asymmetric, "
                            "tf_crop_and_resize, tf_half_pixel_for_nn", ctm);
    const char *nm = ir_attr_string(node, "nearest_mode", "round_prefer_floor");
    if (!str_in(nm, nms))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "nearest_mode '%s' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil", nm);
    const char *kar = ir_attr_string(node, "keep_aspect_ratio_policy", "stretch");
    if (!str_in(kar, kars))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "keep_aspect_ratio_policy '%s' is not one of stretch, not_larger, not_smaller", kar);
    return INGOT_OK;
}

ingot_status ir_spatial_resize_plan(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    int64_t *dims, double *scale, double *roi, int *roi_known)
{
    const ing_tensor *x = input(in, n_in, 0);
    if (!x) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input X is missing");
    int32_t r = x->rank;
    if (r < 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input X has unknown rank");
    int legacy = !strcmp(node->op, "Upsample") || node->opset <= 10;
    const ing_tensor *roi_t = NULL, *scales_t, *sizes_t = NULL;
    if (legacy) {
        scales_t = n_in >= 3 ? input(in, n_in, 2) : input(in, n_in, 1);
    } else {
        roi_t = input(in, n_in, 1);
        scales_t = input(in, n_in, 2);
        sizes_t = input(in, n_in, 3);
    }
    if (!present(scales_t)) scales_t = NULL;
    if (!present(sizes_t)) sizes_t = NULL;
    if (!present(roi_t)) roi_t = NULL;
    /* roi only matters to tf_crop_and_resize; other modes ignore whatever is passed */
    if (strcmp(ir_attr_string(node, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize"))
        roi_t = NULL;

    /* axes (opset 18+): which dims scales/sizes/roi refer to */
    int32_t axes[IR_MAX_RANK];
    int32_t na = r;
    size_t n_axes_attr = 0;
    const int64_t *axes_attr = node->opset >= 18 ? ir_attr_ints(node, "axes", &n_axes_attr) : NULL;
    if (axes_attr) {
        if (n_axes_attr > (size_t)r)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes has %zu entries, input rank is %d", n_axes_attr, r);
        na = (int32_t)n_axes_attr;
        for (int32_t i = 0; i < na; i++) {
            ING_TRY(ir_norm_axis(node, axes_attr[i], r, &axes[i]));
            for (int32_t j = 0; j < i; j++)
                if (axes[j] == axes[i])
                    return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axes lists axis %d twice", axes[i]);
        }
    } else {
        for (int32_t i = 0; i < r; i++) axes[i] = i;
    }

    for (int32_t i = 0; i < r; i++) {
        dims[i] = x->dims[i];
        scale[i] = 1.0;
    }
    if (roi) {
        for (int32_t i = 0; i < r; i++) {
            roi[i] = 0.0;
            roi[r + i] = 1.0;
        }
    }
    if (roi_known) *roi_known = 0;

    if (scales_t && sizes_t) {
        /* An input of unknown size may turn out empty at run time: decide then. */
        if (ing_numel(scales_t) < 0 || ing_numel(sizes_t) < 0) {
            for (int32_t i = 0; i < na; i++) {
                dims[axes[i]] = -1;
                scale[axes[i]] = 0;
            }
            return INGOT_OK;
        }
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "both scales and sizes are given; exactly one is allowed");
    }
    if (!scales_t && !sizes_t)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "neither scales nor sizes is given; exactly one is needed");

    if (roi_t && roi) {
        int64_t n = ing_numel(roi_t);
        if (n >= 0 && n != 2 * (int64_t)na)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "roi has %lld values, expected %d (2 x %d axes)",
                                (long long)n, 2 * na, na);
        if (roi_t->data && n >= 0) {
            if (!ing_dtype_is_float(roi_t->dtype))
                return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "roi has dtype %s, expected a float type",
                                    ingot_dtype_name(roi_t->dtype));
            for (int32_t i = 0; i < na; i++) {
                roi[axes[i]] = ing_load_f64(roi_t->dtype, roi_t->data, (size_t)i);
                roi[r + axes[i]] = ing_load_f64(roi_t->dtype, roi_t->data, (size_t)(na + i));
            }
            if (roi_known) *roi_known = 1;
        }
    }

    const ing_tensor *v = scales_t ? scales_t : sizes_t;
    const char *vname = scales_t ? "scales" : "sizes";
    if (v->rank >= 0 && v->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s must be 1-D, got rank %d", vname, v->rank);
    if (v->rank == 1 && v->dims[0] >= 0 && v->dims[0] != na)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s has %lld values, expected %d (%s)", vname,
                            (long long)v->dims[0], na, axes_attr ? "one per axes entry" : "the input rank");
    if (!v->data || v->rank != 1) {
        for (int32_t i = 0; i < na; i++) {
            dims[axes[i]] = -1;
            scale[axes[i]] = 0;
        }
        return INGOT_OK;
    }

    if (scales_t) {
        if (!ing_dtype_is_float(v->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "scales has dtype %s, expected a float type",
                                ingot_dtype_name(v->dtype));
        for (int32_t i = 0; i < na; i++) {
            double s = ing_load_f64(v->dtype, v->data, (size_t)i);
            int32_t a = axes[i];
            if (!(s > 0) || !isfinite(s))
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "scales[%d] is %g; scales must be positive and finite", i, s);
            scale[a] = s;
            if (x->dims[a] < 0) {
                dims[a] = -1;
                continue;
            }
            double o = floor(s * (double)x->dims[a]);
            if (o > 4.0e18)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "scales[%d] = %g makes dim %d of size %lld overflow",
                                    i, s, a, (long long)x->dims[a]);
            dims[a] = (int64_t)o;
        }
        return INGOT_OK;
    }

    if (!ing_dtype_is_int(v->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "sizes has dtype %s, expected int64",
                            ingot_dtype_name(v->dtype));
    const char *kar = ir_attr_string(node, "keep_aspect_ratio_policy", "stretch");
    int keep = node->opset >= 18 && strcmp(kar, "stretch") != 0;
    int known = 1;
    for (int32_t i = 0; i < na; i++) {
        int64_t s = ir_get_i64(v, i);
        int32_t a = axes[i];
        if (s < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "sizes[%d] is %lld; sizes must be >= 0", i, (long long)s);
        dims[a] = s;
        if (x->dims[a] < 0) {
            known = 0;
            scale[a] = 0;
            continue;
        }
        if (x->dims[a] == 0) {
            if (s != 0)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "sizes[%d] is %lld but input dim %d is 0; an empty dim "
                                    "cannot be resized", i, (long long)s, a);
            scale[a] = 1.0;
            continue;
        }
        scale[a] = (double)s / (double)x->dims[a];
    }
    if (!keep) return INGOT_OK;
    if (!known) {
        for (int32_t i = 0; i < na; i++) dims[axes[i]] = -1;
        return INGOT_OK;
    }
    double k = scale[axes[0]];
    for (int32_t i = 1; i < na; i++) {
        double s = scale[axes[i]];
        if (!strcmp(kar, "not_larger") ? s < k : s > k) k = s;
    }
    for (int32_t i = 0; i < na; i++) {
        int32_t a = axes[i];
        scale[a] = k;
        double o = k * (double)x->dims[a] + 0.5;
        if (o > 4.0e18)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "keep_aspect_ratio_policy makes dim %d overflow", a);
        dims[a] = (int64_t)o;
    }
    return INGOT_OK;
}

static ingot_status infer_resize(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = input(in, n_in, 0);
    if (!x) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input X is missing");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output Y is missing");
    ING_TRY(resize_check_attrs(node));
    out[0]->dtype = x->dtype;
    if (x->rank < 0) {
        out[0]->rank = -1;
        return INGOT_OK;
    }
    int64_t dims[IR_MAX_RANK];
    double scale[IR_MAX_RANK], roi[2 * IR_MAX_RANK];
    ING_TRY(ir_spatial_resize_plan(node, in, n_in, dims, scale, roi, NULL));
    out[0]->rank = x->rank;
    memcpy(out[0]->dims, dims, sizeof(int64_t) * (size_t)x->rank);
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * GridSample / AffineGrid
 * ------------------------------------------------------------------------------------------- */

static ingot_status infer_grid_sample(const ir_node *node, const ing_tensor *const *in, int n_in,
                                      ing_tensor *const *out, int n_out)
{
    static const char *const modes[] = {"linear", "nearest", "cubic", "bilinear", "bicubic", NULL};
    static const char *const pads[] = {"zeros", "border", "reflection", NULL};
    const ing_tensor *x = input(in, n_in, 0), *g = input(in, n_in, 1);
    if (!x || !g) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs inputs X and grid");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output Y is missing");
    const char *mode = ir_attr_string(node, "mode", node->opset >= 20 ? "linear" : "bilinear");
    if (!str_in(mode, modes))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s' is not one of linear, nearest, cubic "
                            "(bilinear, bicubic before opset 20)", mode);
    const char *pm = ir_attr_string(node, "padding_mode", "zeros");
    if (!str_in(pm, pads))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "padding_mode '%s' is not one of zeros, border, reflection", pm);
    if (!ing_dtype_is_float(g->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "grid has dtype %s, expected a float type",
                            ingot_dtype_name(g->dtype));
    out[0]->dtype = x->dtype;
    int32_t r = x->rank >= 0 ? x->rank : g->rank;
    if (r < 0) {
        out[0]->rank = -1;
        return INGOT_OK;
    }
    if (r < 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has rank %d, expected >= 3 (N, C, spatial...)", r);
    if (x->rank >= 0 && g->rank >= 0 && x->rank != g->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "grid has rank %d, expected %d (the rank of X)", g->rank, x->rank);
    if (g->rank >= 0 && g->dims[r - 1] >= 0 && g->dims[r - 1] != r - 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "grid's last dim is %lld, expected %d (the spatial rank of X)",
                            (long long)g->dims[r - 1], r - 2);
    if (x->rank >= 0 && g->rank >= 0 && x->dims[0] >= 0 && g->dims[0] >= 0 && x->dims[0] != g->dims[0])
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "grid has batch %lld, X has batch %lld",
                            (long long)g->dims[0], (long long)x->dims[0]);
    out[0]->rank = r;
    out[0]->dims[0] = x->rank >= 0 ? x->dims[0] : g->dims[0];
    out[0]->dims[1] = x->rank >= 0 ? x->dims[1] : -1;
    for (int32_t i = 2; i < r; i++) out[0]->dims[i] = g->rank >= 0 ? g->dims[i - 1] : -1;
    return INGOT_OK;
}

static ingot_status infer_affine_grid(const ir_node *node, const ing_tensor *const *in, int n_in,
                                      ing_tensor *const *out, int n_out)
{
    const ing_tensor *th = input(in, n_in, 0), *sz = input(in, n_in, 1);
    if (!th || !sz) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs inputs theta and size");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output grid is missing");
    if (!ing_dtype_is_float(th->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "theta has dtype %s, expected a float type",
                            ingot_dtype_name(th->dtype));
    out[0]->dtype = th->dtype;
    if (th->rank >= 0 && th->rank != 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "theta has rank %d, expected 3 (N, 2, 3) or (N, 3, 4)", th->rank);
    if (sz->rank >= 0 && sz->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "size has rank %d, expected 1", sz->rank);
    int32_t k = -1; /* spatial rank */
    if (th->rank == 3 && th->dims[1] >= 0) {
        k = (int32_t)th->dims[1];
        if (!((k == 2 && (th->dims[2] < 0 || th->dims[2] == 3)) || (k == 3 && (th->dims[2] < 0 || th->dims[2] == 4))))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "theta has shape [N, %lld, %lld], expected [N, 2, 3] or [N, 3, 4]",
                                (long long)th->dims[1], (long long)th->dims[2]);
    }
    if (sz->rank == 1 && sz->dims[0] >= 0) {
        if (sz->dims[0] != 4 && sz->dims[0] != 5)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "size has %lld values, expected 4 (N, C, H, W) or 5 (N, C, D, H, W)",
                                (long long)sz->dims[0]);
        int32_t k2 = (int32_t)sz->dims[0] - 2;
        if (k >= 0 && k != k2)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "size has %d spatial dims but theta is for %d", k2, k);
        k = k2;
    }
    if (k < 0) {
        out[0]->rank = -1;
        return INGOT_OK;
    }
    out[0]->rank = k + 2;
    out[0]->dims[k + 1] = k;
    for (int32_t i = 0; i <= k; i++) out[0]->dims[i] = -1;
    if (th->rank == 3) out[0]->dims[0] = th->dims[0];
    if (sz->data && sz->rank == 1 && sz->dims[0] == k + 2) {
        if (!ing_dtype_is_int(sz->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "size has dtype %s, expected int64", ingot_dtype_name(sz->dtype));
        int64_t n = ir_get_i64(sz, 0);
        if (th->rank == 3 && th->dims[0] >= 0 && n != th->dims[0])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "size[0] (N) is %lld, theta has batch %lld",
                                (long long)n, (long long)th->dims[0]);
        for (int32_t i = 0; i < k + 2; i++) {
            int64_t d = ir_get_i64(sz, i);
            if (d < 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "size[%d] is %lld, expected >= 0", i, (long long)d);
        }
        out[0]->dims[0] = n;
        for (int32_t i = 0; i < k; i++) out[0]->dims[1 + i] = ir_get_i64(sz, 2 + i);
    }
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * RoiAlign
 * ------------------------------------------------------------------------------------------- */

static ingot_status infer_roi_align(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = input(in, n_in, 0), *rois = input(in, n_in, 1), *bi = input(in, n_in, 2);
    if (!x || !rois || !bi) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs inputs X, rois and batch_indices");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output Y is missing");
    const char *mode = ir_attr_string(node, "mode", "avg");
    if (strcmp(mode, "avg") && strcmp(mode, "max"))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s' is not one of avg, max", mode);
    const char *ctm = ir_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (strcmp(ctm, "half_pixel") && strcmp(ctm, "output_half_pixel"))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "coordinate_transformation_mode '%s' is not one of half_pixel, output_half_pixel", ctm);
    int64_t oh = ir_attr_int(node, "output_height", 1), ow = ir_attr_int(node, "output_width", 1);
    int64_t sr = ir_attr_int(node, "sampling_ratio", 0);
    if (oh < 1 || ow < 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output_height %lld / output_width %lld must be >= 1",
                            (long long)oh, (long long)ow);
    if (sr < 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "sampling_ratio is %lld, expected >= 0", (long long)sr);
    if (!ing_dtype_is_float(x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "X has dtype %s, expected a float type", ingot_dtype_name(x->dtype));
    if (!ing_dtype_is_float(rois->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "rois has dtype %s, expected a float type", ingot_dtype_name(rois->dtype));
    if (!ing_dtype_is_int(bi->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "batch_indices has dtype %s, expected int64",
                            ingot_dtype_name(bi->dtype));
    if (x->rank >= 0 && x->rank != 4)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has rank %d, expected 4 (N, C, H, W)", x->rank);
    if (rois->rank >= 0 && (rois->rank != 2 || (rois->dims[1] >= 0 && rois->dims[1] != 4)))
    {
        char sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "rois must be [num_rois, 4], got %s", ing_shape_str(rois, sb, sizeof sb));
    }
    if (bi->rank >= 0 && bi->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "batch_indices has rank %d, expected 1", bi->rank);
    int64_t nr = rois->rank == 2 ? rois->dims[0] : -1;
    int64_t nb = bi->rank == 1 ? bi->dims[0] : -1;
    if (nr >= 0 && nb >= 0 && nr != nb)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "rois has %lld rows, batch_indices has %lld", (long long)nr, (long long)nb);
    out[0]->dtype = x->dtype;
    out[0]->rank = 4;
    out[0]->dims[0] = nr >= 0 ? nr : nb;
    out[0]->dims[1] = x->rank == 4 ? x->dims[1] : -1;
    out[0]->dims[2] = oh;
    out[0]->dims[3] = ow;
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * NonMaxSuppression
 * ------------------------------------------------------------------------------------------- */

typedef struct nms_cand {
    float score;
    int64_t idx;
} nms_cand;

static int nms_cmp(const void *a, const void *b)
{
    const nms_cand *p = a, *q = b;
    if (p->score != q->score) return p->score > q->score ? -1 : 1; /* higher score first */
    return p->idx < q->idx ? -1 : (p->idx > q->idx); /* ties: lower index first */
}

/* The reference computes in the boxes' precision; float matches it for f32 (and is exact
 * for IoU threshold boundary cases the tests probe). */
static int nms_suppress(const float *b1, const float *b2, int center, float thr)
{
    float x1min, x1max, y1min, y1max, x2min, x2max, y2min, y2max;
    if (!center) {
        y1min = fminf(b1[0], b1[2]); y1max = fmaxf(b1[0], b1[2]);
        x1min = fminf(b1[1], b1[3]); x1max = fmaxf(b1[1], b1[3]);
        y2min = fminf(b2[0], b2[2]); y2max = fmaxf(b2[0], b2[2]);
        x2min = fminf(b2[1], b2[3]); x2max = fmaxf(b2[1], b2[3]);
    } else {
        x1min = b1[0] - b1[2] / 2; x1max = b1[0] + b1[2] / 2;
        y1min = b1[1] - b1[3] / 2; y1max = b1[1] + b1[3] / 2;
        x2min = b2[0] - b2[2] / 2; x2max = b2[0] + b2[2] / 2;
        y2min = b2[1] - b2[3] / 2; y2max = b2[1] + b2[3] / 2;
    }
    float ixmin = fmaxf(x1min, x2min), ixmax = fminf(x1max, x2max);
    if (ixmax <= ixmin) return 0;
    float iymin = fmaxf(y1min, y2min), iymax = fminf(y1max, y2max);
    if (iymax <= iymin) return 0;
    float inter = (ixmax - ixmin) * (iymax - iymin);
    if (inter <= 0) return 0;
    float a1 = (x1max - x1min) * (y1max - y1min), a2 = (x2max - x2min) * (y2max - y2min);
    float uni = a1 + a2 - inter;
    if (a1 <= 0 || a2 <= 0 || uni <= 0) return 0;
    return inter / uni > thr;
}

ingot_status ir_spatial_nms(const ir_node *node, const ing_tensor *const *in, int n_in,
                            int64_t *sel, int64_t cap, int64_t *n_sel)
{
    const ing_tensor *boxes = input(in, n_in, 0), *scores = input(in, n_in, 1);
    const ing_tensor *mo = input(in, n_in, 2), *iou = input(in, n_in, 3), *st = input(in, n_in, 4);
    if (!boxes || !scores || !boxes->data || !scores->data)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "boxes and scores must be known");
    int64_t B = boxes->dims[0], N = boxes->dims[1], C = scores->dims[1];
    int center = (int)ir_attr_int(node, "center_point_box", 0);
    int64_t max_out = 0;
    float iou_thr = 0, score_thr = 0;
    int has_score_thr = 0;
    if (present(mo) && mo->data) max_out = ir_get_i64(mo, 0);
    if (max_out < 0) max_out = 0;
    if (present(iou) && iou->data) iou_thr = (float)ing_load_f64(iou->dtype, iou->data, 0);
    if (present(st) && st->data) {
        score_thr = (float)ing_load_f64(st->dtype, st->data, 0);
        has_score_thr = 1;
    }
    *n_sel = 0;
    if (max_out == 0 || N == 0 || B == 0 || C == 0) return INGOT_OK;

    size_t nb, nc;
    if (!ing_mul_fits((size_t)B * (size_t)N, 4 * sizeof(float), &nb) ||
        !ing_mul_fits((size_t)N, sizeof(nms_cand) + sizeof(int64_t), &nc))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "boxes [%lld, %lld, 4] are too many", (long long)B, (long long)N);
    float *bx = NULL;
    nms_cand *cand = ing_malloc(nc);
    if (!cand) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes", nc);
    int64_t *kept = (int64_t *)(cand + N);
    const float *bf = boxes->data;
    if (boxes->dtype != INGOT_DTYPE_F32) {
        bx = ing_malloc(nb);
        if (!bx) {
            ing_free(cand);
            return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes", nb);
        }
        for (size_t i = 0; i < (size_t)B * (size_t)N * 4; i++)
            bx[i] = (float)ing_load_f64(boxes->dtype, boxes->data, i);
        bf = bx;
    }
    int64_t count = 0;
    for (int64_t b = 0; b < B; b++) {
        const float *bb = bf + (size_t)b * (size_t)N * 4;
        for (int64_t c = 0; c < C; c++) {
            size_t so = ((size_t)b * (size_t)C + (size_t)c) * (size_t)N;
            int64_t nc_ = 0;
            for (int64_t i = 0; i < N; i++) {
                float s = scores->dtype == INGOT_DTYPE_F32 ? ((const float *)scores->data)[so + (size_t)i]
                                                           : (float)ing_load_f64(scores->dtype, scores->data, so + (size_t)i);
                if (has_score_thr && !(s > score_thr)) continue;
                cand[nc_].score = s;
                cand[nc_].idx = i;
                nc_++;
            }
            qsort(cand, (size_t)nc_, sizeof *cand, nms_cmp);
            int64_t nk = 0;
            for (int64_t i = 0; i < nc_ && nk < max_out; i++) {
                const float *bi = bb + cand[i].idx * 4;
                int keep = 1;
                for (int64_t j = 0; j < nk && keep; j++)
                    if (nms_suppress(bi, bb + kept[j] * 4, center, iou_thr)) keep = 0;
                if (!keep) continue;
                kept[nk++] = cand[i].idx;
                if (sel && count < cap) {
                    sel[count * 3 + 0] = b;
                    sel[count * 3 + 1] = c;
                    sel[count * 3 + 2] = cand[i].idx;
                }
                count++;
            }
        }
    }
    ing_free(bx);
    ing_free(cand);
    *n_sel = count;
    return INGOT_OK;
}

static ingot_status infer_nms(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    const ing_tensor *boxes = input(in, n_in, 0), *scores = input(in, n_in, 1);
    if (!boxes || !scores) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs inputs boxes and scores");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output selected_indices is missing");
    int64_t cpb = ir_attr_int(node, "center_point_box", 0);
    if (cpb != 0 && cpb != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "center_point_box is %lld, expected 0 or 1", (long long)cpb);
    if (!ing_dtype_is_float(boxes->dtype) || !ing_dtype_is_float(scores->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "boxes/scores have dtypes %s/%s, expected float types",
                            ingot_dtype_name(boxes->dtype), ingot_dtype_name(scores->dtype));
    const ing_tensor *mo = input(in, n_in, 2), *iou = input(in, n_in, 3), *st = input(in, n_in, 4);
    if (present(mo) && !ing_dtype_is_int(mo->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "max_output_boxes_per_class has dtype %s, expected int64",
                            ingot_dtype_name(mo->dtype));
    if ((present(iou) && !ing_dtype_is_float(iou->dtype)) || (present(st) && !ing_dtype_is_float(st->dtype)))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "iou_threshold/score_threshold must be float tensors");
    out[0]->dtype = INGOT_DTYPE_I64;
    out[0]->rank = 2;
    out[0]->dims[0] = -1;
    out[0]->dims[1] = 3;
    if (boxes->rank >= 0 && boxes->rank != 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "boxes has rank %d, expected 3 (batch, boxes, 4)", boxes->rank);
    if (scores->rank >= 0 && scores->rank != 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "scores has rank %d, expected 3 (batch, classes, boxes)", scores->rank);
    if (!ing_shape_known(boxes) || !ing_shape_known(scores)) return INGOT_OK;
    if (boxes->dims[2] != 4)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "boxes' last dim is %lld, expected 4", (long long)boxes->dims[2]);
    if (scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "scores [%lld, %lld, %lld] do not match boxes [%lld, %lld, 4]",
                            (long long)scores->dims[0], (long long)scores->dims[1], (long long)scores->dims[2],
                            (long long)boxes->dims[0], (long long)boxes->dims[1]);
    const ing_tensor *opt[3] = {mo, iou, st};
    for (int i = 0; i < 3; i++) {
        int64_t n = opt[i] ? ing_numel(opt[i]) : 0;
        if (n > 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d has %lld values, expected a scalar", i + 2, (long long)n);
        if (opt[i] && n < 0) return INGOT_OK;
        if (n == 1 && !opt[i]->data) return INGOT_OK;
    }
    if (!boxes->data || !scores->data) return INGOT_OK;
    int64_t n_sel;
    ING_TRY(ir_spatial_nms(node, in, n_in, NULL, 0, &n_sel));
    out[0]->dims[0] = n_sel;
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * MaxUnpool
 * ------------------------------------------------------------------------------------------- */

static ingot_status infer_max_unpool(const ir_node *node, const ing_tensor *const *in, int n_in,
                                     ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = input(in, n_in, 0), *ind = input(in, n_in, 1), *os = input(in, n_in, 2);
    if (!x || !ind) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs inputs X and I");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output Y is missing");
    if (!ing_dtype_is_int(ind->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "I has dtype %s, expected int64", ingot_dtype_name(ind->dtype));
    out[0]->dtype = x->dtype;
    if (x->rank < 0) {
        out[0]->rank = -1;
        return INGOT_OK;
    }
    int32_t r = x->rank, k = r - 2;
    if (r < 3) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "X has rank %d, expected >= 3 (N, C, spatial...)", r);
    if (ind->rank >= 0 && ind->rank != r)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "I has rank %d, X has rank %d", ind->rank, r);
    size_t nk = 0, ns = 0, np = 0;
    const int64_t *ks = ir_attr_ints(node, "kernel_shape", &nk);
    const int64_t *st = ir_attr_ints(node, "strides", &ns);
    const int64_t *pd = ir_attr_ints(node, "pads", &np);
    if (!ks || nk != (size_t)k)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "kernel_shape has %zu values, expected %d (spatial rank)", nk, k);
    if (st && ns != (size_t)k)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "strides has %zu values, expected %d", ns, k);
    if (pd && np != (size_t)(2 * k))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "pads has %zu values, expected %d", np, 2 * k);
    out[0]->rank = r;
    out[0]->dims[0] = x->dims[0];
    out[0]->dims[1] = x->dims[1];
    for (int32_t i = 0; i < k; i++) {
        int64_t s = st ? st[i] : 1, p = pd ? pd[i] + pd[k + i] : 0;
        if (ks[i] < 1 || s < 1 || (pd && (pd[i] < 0 || pd[k + i] < 0)))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "kernel_shape/strides/pads of axis %d are invalid "
                                "(%lld, %lld, %lld); kernel and stride must be >= 1, pads >= 0",
                                i, (long long)ks[i], (long long)s, (long long)p);
        int64_t d = x->dims[2 + i];
        if (d < 0) {
            out[0]->dims[2 + i] = -1;
            continue;
        }
        if (d > 0 && (d - 1) > (INT64_MAX / 4) / s)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "spatial dim %d overflows", i);
        int64_t o = (d - 1) * s - p + ks[i];
        if (o < 0) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "spatial dim %d of the output is %lld, negative", i, (long long)o);
        out[0]->dims[2 + i] = o;
    }
    if (present(os)) {
        if (os->rank >= 0 && (os->rank != 1 || (os->dims[0] >= 0 && os->dims[0] != r)))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output_shape must be 1-D with %d values", r);
        if (!os->data || os->rank != 1) {
            for (int32_t i = 0; i < r; i++) out[0]->dims[i] = -1;
            return INGOT_OK;
        }
        for (int32_t i = 0; i < r; i++) {
            int64_t v = ir_get_i64(os, i), inf = out[0]->dims[i];
            if (v < 0 || (inf >= 0 && v < inf))
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output_shape[%d] is %lld, expected >= %lld (the "
                                    "unpooled size)", i, (long long)v, (long long)inf);
            out[0]->dims[i] = v;
        }
    }
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Col2Im
 * ------------------------------------------------------------------------------------------- */

static ingot_status infer_col2im(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = input(in, n_in, 0), *im = input(in, n_in, 1), *bl = input(in, n_in, 2);
    if (!x || !im || !bl) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs inputs input, image_shape and block_shape");
    if (n_out < 1 || !out[0]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output is missing");
    out[0]->dtype = x->dtype;
    if (x->rank >= 0 && x->rank != 3)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input has rank %d, expected 3 (N, C*prod(block_shape), L)", x->rank);
    if (im->rank >= 0 && im->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "image_shape has rank %d, expected 1", im->rank);
    if (bl->rank >= 0 && bl->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "block_shape has rank %d, expected 1", bl->rank);
    int64_t k = im->rank == 1 ? im->dims[0] : -1;
    if (k < 0 && bl->rank == 1) k = bl->dims[0];
    if (k < 0) {
        out[0]->rank = -1;
        return INGOT_OK;
    }
    if (k < 1 || k > IR_MAX_RANK - 2)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "image_shape has %lld values, expected 1..%d",
                            (long long)k, IR_MAX_RANK - 2);
    if (bl->rank == 1 && bl->dims[0] >= 0 && bl->dims[0] != k)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "block_shape has %lld values, image_shape %lld",
                            (long long)bl->dims[0], (long long)k);
    size_t nd = 0, np = 0, ns = 0;
    const int64_t *dil = ir_attr_ints(node, "dilations", &nd);
    const int64_t *pads = ir_attr_ints(node, "pads", &np);
    const int64_t *str = ir_attr_ints(node, "strides", &ns);
    if ((dil && nd != (size_t)k) || (str && ns != (size_t)k) || (pads && np != (size_t)(2 * k)))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "dilations/strides/pads have %zu/%zu/%zu values, expected %lld/%lld/%lld",
                            nd, ns, np, (long long)k, (long long)k, (long long)(2 * k));
    out[0]->rank = (int32_t)k + 2;
    for (int32_t i = 0; i < out[0]->rank; i++) out[0]->dims[i] = -1;
    if (x->rank == 3) out[0]->dims[0] = x->dims[0];
    if (!bl->data || !im->data) return INGOT_OK;
    if (!ing_dtype_is_int(bl->dtype) || !ing_dtype_is_int(im->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "image_shape/block_shape must be int64");
    int64_t bprod = 1, nblocks = 1;
    for (int32_t i = 0; i < k; i++) {
        int64_t b = ir_get_i64(bl, i), d = ir_get_i64(im, i);
        int64_t di = dil ? dil[i] : 1, s = str ? str[i] : 1;
        int64_t p = pads ? pads[i] + pads[k + i] : 0;
        if (b < 1 || d < 1 || di < 1 || s < 1 || (pads && (pads[i] < 0 || pads[k + i] < 0)))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %d: block %lld, image %lld, dilation %lld, stride %lld "
                                "must be >= 1 and pads >= 0", i, (long long)b, (long long)d, (long long)di, (long long)s);
        if (b > (1LL << 31) || d > (1LL << 40) || di > (1LL << 20) || bprod > (INT64_MAX >> 32))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d: sizes too large", i);
        bprod *= b;
        int64_t nbk = (d + p - di * (b - 1) - 1) / s + 1;
        if (d + p - di * (b - 1) - 1 < 0 || nbk < 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d: block %lld (dilation %lld) does not fit the padded "
                                "image %lld", i, (long long)b, (long long)di, (long long)(d + p));
        if (nblocks > (INT64_MAX >> 24)) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "too many blocks");
        nblocks *= nbk;
        out[0]->dims[2 + i] = d;
    }
    if (x->rank == 3 && x->dims[1] >= 0) {
        if (x->dims[1] % bprod != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input dim 1 is %lld, not a multiple of prod(block_shape) = %lld",
                                (long long)x->dims[1], (long long)bprod);
        out[0]->dims[1] = x->dims[1] / bprod;
    }
    if (x->rank == 3 && x->dims[2] >= 0 && x->dims[2] != nblocks)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input dim 2 is %lld, expected %lld sliding blocks",
                            (long long)x->dims[2], (long long)nblocks);
    return INGOT_OK;
}

const ir_op_def ir_ops_spatial[] = {
    {"Resize", infer_resize},
    {"Upsample", infer_resize},
    {"GridSample", infer_grid_sample},
    {"AffineGrid", infer_affine_grid},
    {"RoiAlign", infer_roi_align},
    {"NonMaxSuppression", infer_nms},
    {"MaxUnpool", infer_max_unpool},
    {"Col2Im", infer_col2im},
    {NULL, NULL},
};
