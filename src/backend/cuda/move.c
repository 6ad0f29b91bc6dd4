/* CUDA kernels of the data-movement family: Reshape, Flatten, Squeeze, Unsqueeze (a device
 * copy), Transpose, Concat, Split, Slice, Gather, GatherElements, Expand, Tile, Pad,
 * ConstantOfShape, Range, Shape, Size, Resize (nearest/linear) and DepthToSpace/SpaceToDepth.
 * The CPU kernels (backend/cpu/shape.c, shape_index.c, spatial.c) are the reference semantics;
 * this file turns each node into a view or a descriptor for kernels/move.cu.
 *
 * Shape-like inputs (Slice starts/ends/axes/steps, Pad pads/axes, Resize scales/sizes) are read
 * on the host: a constant's bytes from the engine; a value computed at run time (a graph input,
 * as in the ONNX node tests) is read back from the device, which synchronizes and is refused
 * during graph capture (the executor then runs that shape set without a graph). `accepts` takes
 * such a node only when the value is known on the host when it asks.
 *
 * Gather/GatherElements indices are data on the device: a negative index wraps once and an index
 * still out of range is clamped into [0, n) — it reads a wrong row but never out of bounds (the
 * CPU kernel reports an error instead).
 */
#include <inttypes.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/move.h"

/* Plans shared with shape inference (src/ir/infer_shape.c, src/ir/infer_spatial.c). */
ingot_status ir_shape_slice_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *starts,
                                 const ing_tensor *ends, const ing_tensor *axes,
                                 const ing_tensor *steps, int64_t *start, int64_t *step,
                                 int64_t *count);
ingot_status ir_shape_pad_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *pads,
                               const ing_tensor *axes, int64_t *pb, int64_t *pe);
ingot_status ir_spatial_resize_plan(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    int64_t *dims, double *scale, double *roi, int *roi_known);

#define KERNEL(fn)                                                                                 \
    static ingot_status fn(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,       \
                           int n_in, ing_tensor *const *out, int n_out)

#define HOST_CAP 256 /* bytes of one shape-like input read back from the device */

static size_t esize(const ing_tensor *t) { return ingot_dtype_size((ingot_dtype)t->dtype); }

static int es_ok(int dt)
{
    size_t s = ingot_dtype_size((ingot_dtype)dt);
    return s == 1 || s == 2 || s == 4 || s == 8;
}

static const ing_tensor *opt_in(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

/* A present input whose bytes the host does not have (data NULL and not empty). */
static int host_unknown(const ing_tensor *const *in, int n_in, int i)
{
    const ing_tensor *t = opt_in(in, n_in, i);
    if (!t) return 0;
    int64_t n = ing_numel(t);
    return n != 0 && (n < 0 || !t->data);
}

/* Status of a launcher's return value, then of the launch itself. */
static ingot_status launched(const ir_node *node, int err, const char *kernel)
{
    if (err) {
        ingot_status st = cuda_check(err, kernel);
        return ingot_fail_prefix(st, "node '%s' (%s)", node->name, node->op);
    }
    return cuda_check_launch(node, kernel);
}

/* The host view of input i: its constant bytes, or a copy read back into buf. Absent inputs
 * give NULL in *out. */
static ingot_status host_input(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               int i, ing_tensor *h, uint8_t *buf, const ing_tensor **out)
{
    const ing_tensor *t = opt_in(in, n_in, i);
    *out = NULL;
    if (!t) return INGOT_OK;
    *h = *t;
    *out = h;
    size_t nb = ing_nbytes(t);
    if (!nb) {
        h->data = NULL;
        return INGOT_OK;
    }
    const void *c = cuda_host_const(x, node, i);
    if (c) {
        h->data = (void *)c;
        return INGOT_OK;
    }
    if (nb > HOST_CAP)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input %d has %zu bytes; a shape-like input read back "
                            "from the device may have at most %d", i, nb, HOST_CAP);
    int e = move_read_back(buf, t->data, nb, cuda_stream(x));
    if (e) {
        ingot_status st = cuda_check(e, "move_read_back");
        return ingot_fail_prefix(st, "node '%s' (%s): input %d is not a constant and is read back from the "
                                 "device (not possible during graph capture)", node->name, node->op, i);
    }
    h->data = buf;
    return INGOT_OK;
}

static void strides_of(const ing_tensor *t, int64_t *s)
{
    int64_t acc = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= t->dims[i];
    }
}

/* ---- accepts -------------------------------------------------------------------------------- */

static int acc_bytes(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    return n_in >= 1 && in[0] && es_ok(in[0]->dtype) && in[0]->rank <= IR_MAX_RANK;
}

static int acc_concat(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    for (int i = 0; i < n_in; i++)
        if (!in[i] || !es_ok(in[i]->dtype)) return 0;
    return n_in >= 1;
}

static int acc_slice(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (!acc_bytes(n, in, n_in) || n_in < 3 || !in[1] || !in[2]) return 0;
    for (int i = 1; i < 5; i++)
        if (host_unknown(in, n_in, i)) return 0;
    return 1;
}

static int acc_index(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (!acc_bytes(n, in, n_in) || n_in < 2 || !in[1] || in[0]->rank < 1) return 0;
    return in[1]->dtype == INGOT_DTYPE_I64 || in[1]->dtype == INGOT_DTYPE_I32;
}

static int pad_mode(const ir_node *n)
{
    const char *m = ir_attr_string(n, "mode", "constant");
    return !strcmp(m, "constant") ? MOVE_PAD_CONSTANT : !strcmp(m, "reflect") ? MOVE_PAD_REFLECT
           : !strcmp(m, "edge")   ? MOVE_PAD_EDGE     : !strcmp(m, "wrap")    ? MOVE_PAD_WRAP
                                                                            : -1;
}

static int acc_pad(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (!acc_bytes(n, in, n_in) || n_in < 2 || !in[1] || pad_mode(n) < 0) return 0;
    const ing_tensor *cv = opt_in(in, n_in, 2);
    if (cv && cv->dtype != in[0]->dtype) return 0;
    return !host_unknown(in, n_in, 1) && !host_unknown(in, n_in, 3);
}

static int acc_constant_of_shape(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    const ir_attr *va = ir_attr_find(n, "value");
    return !va || (va->type == IR_ATTR_TENSOR && va->t.data && es_ok(va->t.dtype));
}

static int acc_range(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (n_in < 3 || !in[0] || !in[2]) return 0;
    int dt = in[0]->dtype;
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F64 || dt == INGOT_DTYPE_I16 || dt == INGOT_DTYPE_I32 ||
           dt == INGOT_DTYPE_I64;
}

static int acc_any(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    return n_in >= 1 && in[0] && in[0]->rank <= IR_MAX_RANK;
}

static int acc_space(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    return acc_bytes(n, in, n_in) && in[0]->rank == 4;
}

static int resize_legacy(const ir_node *n) { return !strcmp(n->op, "Upsample") || n->opset <= 10; }

/* Resize modes the kernel covers; everything else (cubic, antialias, exclude_outside,
 * tf_crop_and_resize, half_pixel_symmetric, tf_half_pixel_for_nn) runs on the CPU. */
static int resize_cfg(const ir_node *n, move_resize_desc *d)
{
    const char *mode = ir_attr_string(n, "mode", "nearest");
    if (!strcmp(mode, "nearest")) d->mode = MOVE_RS_NEAREST;
    else if (!strcmp(mode, "linear")) d->mode = MOVE_RS_LINEAR;
    else return 0;
    if (resize_legacy(n)) {
        d->ctm = MOVE_CT_ASYM;
        d->nm = MOVE_NM_LEGACY;
        return 1;
    }
    const char *ctm = ir_attr_string(n, "coordinate_transformation_mode", "half_pixel");
    if (!strcmp(ctm, "half_pixel")) d->ctm = MOVE_CT_HALF_PIXEL;
    else if (!strcmp(ctm, "pytorch_half_pixel")) d->ctm = MOVE_CT_PYTORCH;
    else if (!strcmp(ctm, "align_corners")) d->ctm = MOVE_CT_ALIGN;
    else if (!strcmp(ctm, "asymmetric")) d->ctm = MOVE_CT_ASYM;
    else return 0;
    const char *nm = ir_attr_string(n, "nearest_mode", "round_prefer_floor");
    if (!strcmp(nm, "round_prefer_floor")) d->nm = MOVE_NM_PREFER_FLOOR;
    else if (!strcmp(nm, "round_prefer_ceil")) d->nm = MOVE_NM_PREFER_CEIL;
    else if (!strcmp(nm, "floor")) d->nm = MOVE_NM_FLOOR;
    else if (!strcmp(nm, "ceil")) d->nm = MOVE_NM_CEIL;
    else return 0;
    if (n->opset >= 18 && ir_attr_int(n, "antialias", 0) != 0 && d->mode != MOVE_RS_NEAREST) return 0;
    if (ir_attr_int(n, "exclude_outside", 0) != 0) return 0;
    return 1;
}

static int acc_resize(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    move_resize_desc d;
    if (strcmp(n->op, "Resize") || n_in < 1 || !in[0] || in[0]->rank < 1 || in[0]->rank > 8) return 0;
    if (!resize_cfg(n, &d)) return 0;
    if (d.mode == MOVE_RS_LINEAR ? in[0]->dtype != INGOT_DTYPE_F32 && in[0]->dtype != INGOT_DTYPE_F16
                                 : !es_ok(in[0]->dtype))
        return 0;
    for (int i = resize_legacy(n) ? 1 : 2; i < n_in; i++)
        if (host_unknown(in, n_in, i)) return 0;
    return 1;
}

/* ---- same bytes, new shape ------------------------------------------------------------------- */

KERNEL(k_reshape)
{
    size_t n = ing_nbytes(in[0]);
    if (n != ing_nbytes(out[0]))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input has %zu bytes, output %zu", n, ing_nbytes(out[0]));
    if (out[0]->data == in[0]->data) return INGOT_OK; /* a view sharing its input's slot (plan/memplan.c) */
    return launched(node, move_copy(out[0]->data, in[0]->data, n, cuda_stream(x)), "cudaMemcpyAsync");
}

static ingot_status run_view(cuda_exec *x, const ir_node *node, const ing_tensor *t, ing_tensor *o,
                             const move_view *v)
{
    if (ing_numel(o) == 0) return INGOT_OK;
    return launched(node, move_strided(o->data, t->data, esize(t), v, cuda_stream(x)), "move_strided");
}

/* ---- Transpose, Concat, Split, Slice ----------------------------------------------------------- */

KERNEL(k_transpose)
{
    const ing_tensor *t = in[0];
    ing_tensor *o = out[0];
    size_t np = 0;
    const int64_t *perm = ir_attr_ints(node, "perm", &np);
    if (perm && np != (size_t)t->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "perm has %zu entries, input rank is %d", np, t->rank);
    int64_t st[IR_MAX_RANK];
    move_view v;
    memset(&v, 0, sizeof v);
    strides_of(t, st);
    v.rank = o->rank;
    for (int i = 0; i < t->rank; i++) {
        int64_t p = perm ? perm[i] : t->rank - 1 - i;
        if (p < 0 || p >= t->rank)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "perm[%d] is %" PRId64 ", allowed [0, %d)", i, p, t->rank);
        v.dims[i] = o->dims[i];
        v.ss[i] = st[p];
    }
    return run_view(x, node, t, o, &v);
}

static void axis_layout(const ing_tensor *t, int32_t a, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < a; i++) *outer *= t->dims[i];
    for (int i = a + 1; i < t->rank; i++) *inner *= t->dims[i];
}

KERNEL(k_concat)
{
    ing_tensor *o = out[0];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 1), o->rank, &a));
    int64_t outer, inner;
    axis_layout(o, a, &outer, &inner);
    int64_t es = (int64_t)esize(o), orow = o->dims[a] * inner * es, off = 0;
    if (ing_numel(o) == 0) return INGOT_OK;
    for (int i = 0; i < n_in; i++) {
        if (!in[i] || in[i]->rank != o->rank || in[i]->dtype != o->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d does not match the output's rank %d and dtype", i,
                                o->rank);
        int64_t len = in[i]->dims[a] * inner * es;
        if (off + len > orow)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "inputs are longer on axis %d than the output (%" PRId64 ")",
                                a, o->dims[a]);
        if (len) ING_TRY(launched(node, move_copy2d((char *)o->data + off, orow, in[i]->data, len, len, outer,
                                                    cuda_stream(x)), "move_copy2d"));
        off += len;
    }
    return INGOT_OK;
}

KERNEL(k_split)
{
    const ing_tensor *t = in[0];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), t->rank, &a));
    int64_t outer, inner;
    axis_layout(t, a, &outer, &inner);
    int64_t es = (int64_t)esize(t), irow = t->dims[a] * inner * es, off = 0;
    if (ing_numel(t) == 0) return INGOT_OK;
    for (int j = 0; j < n_out; j++) {
        /* each output's share of the axis comes from its inferred shape */
        if (!out[j])
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output %d is omitted; every Split output is required", j);
        int64_t len = out[j]->dims[a] * inner * es;
        if (off + len > irow)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "outputs are longer on axis %d than the input (%" PRId64 ")",
                                a, t->dims[a]);
        if (len) ING_TRY(launched(node, move_copy2d(out[j]->data, len, (const char *)t->data + off, irow, len, outer,
                                                    cuda_stream(x)), "move_copy2d"));
        off += len;
    }
    return INGOT_OK;
}

KERNEL(k_slice)
{
    const ing_tensor *t = in[0];
    ing_tensor h[5];
    const ing_tensor *p[5];
    uint8_t buf[5][HOST_CAP];
    for (int i = 1; i < 5; i++) ING_TRY(host_input(x, node, in, n_in, i, &h[i], buf[i], &p[i]));
    if (!p[1] || !p[2]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "starts and ends are required");
    int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], count[IR_MAX_RANK], st[IR_MAX_RANK];
    ING_TRY(ir_shape_slice_plan(node, t, p[1], p[2], p[3], p[4], start, step, count));
    strides_of(t, st);
    move_view v;
    memset(&v, 0, sizeof v);
    v.rank = t->rank;
    for (int i = 0; i < t->rank; i++) {
        if (count[i] != out[0]->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d: plan gives %" PRId64 " elements, output has %" PRId64,
                                i, count[i], out[0]->dims[i]);
        v.dims[i] = count[i];
        v.ss[i] = step[i] * st[i];
        v.off += start[i] * st[i];
    }
    return run_view(x, node, t, out[0], &v);
}

/* ---- Gather, GatherElements -------------------------------------------------------------------- */

KERNEL(k_gather)
{
    const ing_tensor *t = in[0], *idx = in[1];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), t->rank, &a));
    int64_t outer, inner, n = t->dims[a], ni = ing_numel(idx);
    axis_layout(t, a, &outer, &inner);
    if (outer * ni * inner != ing_numel(out[0]))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output has %" PRId64 " elements, data and indices give %" PRId64,
                            ing_numel(out[0]), outer * ni * inner);
    if (ing_numel(out[0]) == 0) return INGOT_OK;
    if (n == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "data axis %d is empty; no index is in range", a);
    return launched(node, move_gather(out[0]->data, t->data, esize(t), idx->data, idx->dtype == INGOT_DTYPE_I64,
                                      outer, n, ni, inner, cuda_stream(x)), "move_gather");
}

KERNEL(k_gather_elements)
{
    const ing_tensor *t = in[0], *idx = in[1];
    int32_t a, r = t->rank;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), r, &a));
    if (idx->rank != r)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices have rank %d, data %d; they must agree", idx->rank, r);
    for (int i = 0; i < r; i++)
        if (i != a && idx->dims[i] > t->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices dim %d is %" PRId64 ", larger than data's %" PRId64, i,
                                idx->dims[i], t->dims[i]);
    if (ing_numel(idx) == 0) return INGOT_OK;
    if (t->dims[a] == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "data axis %d is empty; no index is in range", a);
    int64_t st[IR_MAX_RANK];
    strides_of(t, st);
    return launched(node, move_gather_elements(out[0]->data, t->data, esize(t), idx->data,
                                               idx->dtype == INGOT_DTYPE_I64, r, idx->dims, st, a, t->dims[a],
                                               cuda_stream(x)), "move_gather_elements");
}

/* ---- Expand, Tile, DepthToSpace, SpaceToDepth ---------------------------------------------------- */

KERNEL(k_expand)
{
    const ing_tensor *t = in[0];
    ing_tensor *o = out[0];
    int64_t st[IR_MAX_RANK];
    strides_of(t, st);
    int k = o->rank - t->rank;
    if (k < 0) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output rank %d is below the input's %d", o->rank, t->rank);
    move_view v;
    memset(&v, 0, sizeof v);
    v.rank = o->rank;
    for (int i = 0; i < o->rank; i++) {
        int j = i - k;
        if (j >= 0 && t->dims[j] != 1 && t->dims[j] != o->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input dim %d is %" PRId64 ", output %" PRId64, j, t->dims[j],
                                o->dims[i]);
        v.dims[i] = o->dims[i];
        v.ss[i] = (j < 0 || t->dims[j] == 1) ? 0 : st[j];
    }
    return run_view(x, node, t, o, &v);
}

/* Tile as a view [rep0, d0, rep1, d1, …] with zero strides on the repeat dims; the repeats
 * follow from the inferred output shape. */
KERNEL(k_tile)
{
    const ing_tensor *t = in[0];
    ing_tensor *o = out[0];
    if (ing_numel(o) == 0) return INGOT_OK;
    if (o->rank != t->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output rank %d differs from the input's %d", o->rank, t->rank);
    int64_t st[IR_MAX_RANK];
    strides_of(t, st);
    move_view v;
    memset(&v, 0, sizeof v);
    v.rank = 2 * t->rank;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] <= 0 || o->dims[i] % t->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output dim %d (%" PRId64 ") is no multiple of the input's %" PRId64,
                                i, o->dims[i], t->dims[i]);
        v.dims[2 * i] = o->dims[i] / t->dims[i];
        v.ss[2 * i] = 0;
        v.dims[2 * i + 1] = t->dims[i];
        v.ss[2 * i + 1] = st[i];
    }
    return run_view(x, node, t, o, &v);
}

static ingot_status space_check(const ir_node *node, const ing_tensor *t, int64_t b, int to_space)
{
    if (b <= 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "blocksize is %" PRId64 ", must be positive", b);
    if (to_space && t->dims[1] % (b * b))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "channels %" PRId64 " are no multiple of blocksize² %" PRId64,
                            t->dims[1], b * b);
    if (!to_space && (t->dims[2] % b || t->dims[3] % b))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "H×W %" PRId64 "×%" PRId64 " is no multiple of blocksize %" PRId64,
                            t->dims[2], t->dims[3], b);
    return INGOT_OK;
}

KERNEL(k_depth_to_space)
{
    const ing_tensor *t = in[0];
    int64_t b = ir_attr_int(node, "blocksize", 1);
    ING_TRY(space_check(node, t, b, 1));
    int64_t C = t->dims[1], H = t->dims[2], W = t->dims[3], c = C / (b * b), hw = H * W;
    int crd = strcmp(ir_attr_string(node, "mode", "DCR"), "CRD") == 0;
    /* output viewed as [N, c, H, b1, W, b2]; the source channel is (b1, b2, c) for DCR and
     * (c, b1, b2) for CRD */
    move_view v = {.rank = 6,
                   .dims = {t->dims[0], c, H, b, W, b},
                   .ss = {C * hw, crd ? b * b * hw : hw, W, crd ? b * hw : b * c * hw, 1, crd ? hw : c * hw}};
    return run_view(x, node, t, out[0], &v);
}

KERNEL(k_space_to_depth)
{
    const ing_tensor *t = in[0];
    int64_t b = ir_attr_int(node, "blocksize", 1);
    ING_TRY(space_check(node, t, b, 0));
    int64_t C = t->dims[1], H = t->dims[2], W = t->dims[3];
    /* output viewed as [N, b1, b2, C, H/b, W/b] */
    move_view v = {.rank = 6,
                   .dims = {t->dims[0], b, b, C, H / b, W / b},
                   .ss = {C * H * W, W, 1, H * W, b * W, b}};
    return run_view(x, node, t, out[0], &v);
}

/* ---- Pad --------------------------------------------------------------------------------------- */

KERNEL(k_pad)
{
    const ing_tensor *t = in[0], *cv = opt_in(in, n_in, 2);
    ing_tensor *o = out[0];
    int mode = pad_mode(node);
    if (mode < 0)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s' is not one of constant, reflect, edge, wrap",
                            ir_attr_string(node, "mode", "constant"));
    ing_tensor h[2];
    const ing_tensor *pads, *axes;
    uint8_t buf[2][HOST_CAP];
    ING_TRY(host_input(x, node, in, n_in, 1, &h[0], buf[0], &pads));
    ING_TRY(host_input(x, node, in, n_in, 3, &h[1], buf[1], &axes));
    if (!pads) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "pads is required");
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK];
    ING_TRY(ir_shape_pad_plan(node, t, pads, axes, pb, pe));
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] + pb[i] + pe[i] != o->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d: %" PRId64 " + pads %" PRId64 ", %" PRId64
                                " does not give the output's %" PRId64, i, t->dims[i], pb[i], pe[i], o->dims[i]);
    if (ing_numel(o) == 0) return INGOT_OK;
    if (t->rank == 0)
        return launched(node, move_copy(o->data, t->data, esize(t), cuda_stream(x)), "cudaMemcpyAsync");
    const void *c = cv && ing_numel(cv) == 1 && cv->dtype == t->dtype ? cv->data : NULL;
    return launched(node, move_pad(o->data, t->data, esize(t), t->rank, o->dims, t->dims, pb, mode, c,
                                   cuda_stream(x)), "move_pad");
}

/* ---- ConstantOfShape, Range, Shape, Size --------------------------------------------------------- */

KERNEL(k_constant_of_shape)
{
    ing_tensor *o = out[0];
    const ir_attr *va = ir_attr_find(node, "value");
    size_t es = esize(o);
    uint64_t bits = 0;
    if (va && va->t.data) {
        if (esize(&va->t) != es)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "value has dtype %s, the output %s",
                                ingot_dtype_name((ingot_dtype)va->t.dtype), ingot_dtype_name((ingot_dtype)o->dtype));
        memcpy(&bits, va->t.data, es);
    }
    if (ing_numel(o) == 0) return INGOT_OK;
    return launched(node, move_fill(o->data, es, ing_numel(o), bits, cuda_stream(x)), "move_fill");
}

KERNEL(k_range)
{
    ing_tensor *o = out[0];
    if (in[0]->dtype != o->dtype || in[2]->dtype != o->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "start, delta and output dtypes differ");
    if (ing_numel(o) == 0) return INGOT_OK;
    return launched(node, move_range(o->data, o->dtype, in[0]->data, in[2]->data, o->dims[0], cuda_stream(x)),
                    "move_range");
}

KERNEL(k_shape)
{
    int64_t r = in[0]->rank;
    int64_t s = ir_attr_int(node, "start", 0), e = ir_attr_int(node, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t cnt = e > s ? e - s : 0;
    if (cnt != ing_numel(out[0]))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output has %" PRId64 " elements, start/end give %" PRId64,
                            ing_numel(out[0]), cnt);
    if (!cnt) return INGOT_OK;
    return launched(node, move_write_i64(out[0]->data, in[0]->dims + s, (int)(e - s), cuda_stream(x)),
                    "move_write_i64");
}

KERNEL(k_size)
{
    int64_t n = ing_numel(in[0]);
    return launched(node, move_write_i64(out[0]->data, &n, 1, cuda_stream(x)), "move_write_i64");
}

/* ---- Resize -------------------------------------------------------------------------------------- */

KERNEL(k_resize)
{
    const ing_tensor *t = in[0];
    ing_tensor *o = out[0];
    move_resize_desc d;
    memset(&d, 0, sizeof d);
    if (!resize_cfg(node, &d))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "this mode / coordinate transform has no CUDA kernel");
    if (t->rank < 1 || t->rank > 8)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "rank %d, the CUDA kernel takes 1 to 8", t->rank);
    /* the plan reads scales/sizes on the host; roi matters only to tf_crop_and_resize */
    ing_tensor h[4];
    const ing_tensor *p[4] = {t, NULL, NULL, NULL};
    uint8_t buf[4][HOST_CAP];
    int first = resize_legacy(node) ? 1 : 2;
    int k = n_in < 4 ? n_in : 4;
    for (int i = 1; i < k; i++) {
        if (i < first) {
            p[i] = in[i];
            continue;
        }
        ING_TRY(host_input(x, node, in, n_in, i, &h[i], buf[i], &p[i]));
    }
    int64_t dims[IR_MAX_RANK];
    double scale[IR_MAX_RANK], roi[2 * IR_MAX_RANK];
    int roi_known = 0;
    ING_TRY(ir_spatial_resize_plan(node, p, k, dims, scale, roi, &roi_known));
    d.rank = t->rank;
    for (int a = 0; a < t->rank; a++) {
        if (dims[a] != o->dims[a])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output dim %d is %" PRId64 ", the inputs give %" PRId64, a,
                                o->dims[a], dims[a]);
        d.in[a] = t->dims[a];
        d.out[a] = o->dims[a];
        d.scale[a] = scale[a];
        double ds = scale[a] - 1.0, m = scale[a] > 1.0 ? scale[a] : scale[a] < -1.0 ? -scale[a] : 1.0;
        /* as the CPU kernel: an axis at scale 1 with unchanged size is the identity */
        d.active[a] = !((ds < 0 ? -ds : ds) <= 1e-9 * m && d.out[a] == d.in[a]);
    }
    if (ing_numel(o) == 0) return INGOT_OK;
    if (ing_numel(t) == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input X is empty, the output is not");
    return launched(node, move_resize(o->data, t->data, t->dtype, esize(t), &d, cuda_stream(x)), "move_resize");
}

const cuda_kernel_def cuda_kernels_move[] = {
    {"Reshape", k_reshape, acc_bytes},
    {"Flatten", k_reshape, acc_bytes},
    {"Squeeze", k_reshape, acc_bytes},
    {"Unsqueeze", k_reshape, acc_bytes},
    {"Transpose", k_transpose, acc_bytes},
    {"Concat", k_concat, acc_concat},
    {"Split", k_split, acc_bytes},
    {"Slice", k_slice, acc_slice},
    {"Gather", k_gather, acc_index},
    {"GatherElements", k_gather_elements, acc_index},
    {"Expand", k_expand, acc_bytes},
    {"Tile", k_tile, acc_bytes},
    {"DepthToSpace", k_depth_to_space, acc_space},
    {"SpaceToDepth", k_space_to_depth, acc_space},
    {"Pad", k_pad, acc_pad},
    {"ConstantOfShape", k_constant_of_shape, acc_constant_of_shape},
    {"Range", k_range, acc_range},
    {"Shape", k_shape, acc_any},
    {"Size", k_size, acc_any},
    {"Resize", k_resize, acc_resize},
    {NULL, NULL, NULL},
};
