/* CPU kernels for the shape family, part 1: ops that only move bytes (Shape, Size, Reshape and
 * the other view-like ops, Transpose, Concat, Split, Slice, Expand, Tile, Pad, CenterCropPad,
 * DepthToSpace, SpaceToDepth). Every dtype runs through one byte-moving path keyed on the
 * element size. The index-driven ops (Gather*, Scatter*, NonZero, Unique, …) are in
 * shape_index.c; this file holds the family's table.
 *
 * Threading: the big loops are split over output rows with OpenMP once the output has at least
 * SHAPE_PAR_MIN elements. Buffers are assumed only to be aligned to their element size.
 */
#include <inttypes.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"
#include "ir/infer_shape.h"

#define SHAPE_PAR_MIN 32768
#define COPY_MAX_RANK 16 /* Tile and the space/depth ops view tensors with more dims than IR_MAX_RANK */

/* Kernels of shape_index.c. */
#define DECL_KERNEL(fn)                                                                            \
    ingot_status fn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,       \
                    ing_tensor *const *out, int n_out)
DECL_KERNEL(cpu_shape_gather);
DECL_KERNEL(cpu_shape_gather_elements);
DECL_KERNEL(cpu_shape_gather_nd);
DECL_KERNEL(cpu_shape_scatter_elements);
DECL_KERNEL(cpu_shape_scatter_nd);
DECL_KERNEL(cpu_shape_constant_of_shape);
DECL_KERNEL(cpu_shape_range);
DECL_KERNEL(cpu_shape_eye_like);
DECL_KERNEL(cpu_shape_one_hot);
DECL_KERNEL(cpu_shape_trilu);
DECL_KERNEL(cpu_shape_reverse_sequence);
DECL_KERNEL(cpu_shape_compress);
DECL_KERNEL(cpu_shape_nonzero);
DECL_KERNEL(cpu_shape_unique);

static size_t esize(const ing_tensor *t) { return ingot_dtype_size((ingot_dtype)t->dtype); }

static void strides_of(const ing_tensor *t, int64_t *s)
{
    int64_t acc = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= t->dims[i];
    }
}

#define TILE 32

/* One tile of a 2-D transpose: o[i][j] = p[i + j*sb], i < na, j < nb; o rows are ob apart. */
#define TRANSPOSE_TILE(T)                                                                          \
    do {                                                                                           \
        T *o_ = (T *)o;                                                                            \
        const T *p_ = (const T *)p;                                                                \
        for (int64_t i = i0; i < i1; i++)                                                          \
            for (int64_t j = j0; j < j1; j++) o_[i * ob + j] = p_[i + j * sb];                    \
    } while (0)

/* A block of the last two dims: o[i][j] = p[i*sa + j*sb]. */
#define BLOCK_2D(T)                                                                                \
    do {                                                                                           \
        T *o_ = (T *)o;                                                                            \
        const T *p_ = (const T *)p;                                                                \
        for (int64_t i = 0; i < na; i++)                                                           \
            for (int64_t j = 0; j < nb; j++) *o_++ = p_[i * sa + j * sb];                         \
    } while (0)

#define STRIDED_ROW(T)                                                                             \
    do {                                                                                           \
        T *o_ = (T *)o;                                                                            \
        const T *p_ = (const T *)p;                                                                \
        for (int64_t j = 0; j < inner; j++) o_[j] = p_[j * istr];                                 \
    } while (0)

/* dst (contiguous, shape dims[0..r)) = src[soff + Σ idx[i]·ss[i]] (strides in elements, may be
 * zero or negative). Size-1 dims are dropped and dims that stay adjacent in src are merged, so a
 * Slice of whole rows is a few memcpy calls and a broadcast is a strided loop. */
static void copy_strided(void *dst, const void *src, size_t es, int r, const int64_t *dims,
                         const int64_t *ss, int64_t soff)
{
    int64_t d[COPY_MAX_RANK], s[COPY_MAX_RANK], total = 1;
    int n = 0;
    for (int i = 0; i < r; i++) {
        total *= dims[i];
        if (dims[i] == 1) continue;
        if (n > 0 && s[n - 1] == ss[i] * dims[i]) {
            d[n - 1] *= dims[i];
            s[n - 1] = ss[i];
            continue;
        }
        d[n] = dims[i];
        s[n] = ss[i];
        n++;
    }
    if (total == 0) return;
    const char *sb0 = (const char *)src;
    char *db0 = (char *)dst;
    if (n == 0) {
        memcpy(dst, sb0 + soff * (int64_t)es, es);
        return;
    }
    /* A 2-D transpose at the innermost dims (NCHW→NHWC and the like): tiles keep both sides in
     * cache. */
    if (n >= 2 && s[n - 2] == 1 && s[n - 1] != 1 && d[n - 1] >= 8 && d[n - 2] >= 8 &&
        (es == 1 || es == 2 || es == 4 || es == 8)) {
        int64_t na = d[n - 2], nb = d[n - 1], sb = s[n - 1], ob = nb;
        int64_t blocks = total / (na * nb);
        int64_t ta = (na + TILE - 1) / TILE, tb = (nb + TILE - 1) / TILE;
        int64_t jobs = blocks * ta * tb;
#pragma omp parallel for if (total >= SHAPE_PAR_MIN)
        for (int64_t job = 0; job < jobs; job++) {
            int64_t blk = job / (ta * tb), t = job % (ta * tb);
            int64_t i0 = (t / tb) * TILE, j0 = (t % tb) * TILE;
            int64_t i1 = i0 + TILE < na ? i0 + TILE : na, j1 = j0 + TILE < nb ? j0 + TILE : nb;
            int64_t rem = blk, off = soff;
            for (int k = n - 3; k >= 0; k--) {
                int64_t q = rem / d[k];
                off += (rem - q * d[k]) * s[k];
                rem = q;
            }
            char *o = db0 + (size_t)(blk * na * nb) * es;
            const char *p = sb0 + off * (int64_t)es;
            switch (es) {
            case 1: TRANSPOSE_TILE(uint8_t); break;
            case 2: TRANSPOSE_TILE(uint16_t); break;
            case 4: TRANSPOSE_TILE(uint32_t); break;
            default: TRANSPOSE_TILE(uint64_t); break;
            }
        }
        return;
    }
    /* Short innermost runs (DepthToSpace, NCHW→NHWC with few channels): walk the last two dims
     * per row so the index arithmetic is paid once per block, not once per tiny run. */
    if (n >= 2 && d[n - 1] < 16 && (es == 1 || es == 2 || es == 4 || es == 8)) {
        int64_t na = d[n - 2], nb = d[n - 1], sa = s[n - 2], sb = s[n - 1];
        int64_t blocks = total / (na * nb);
#pragma omp parallel for if (total >= SHAPE_PAR_MIN)
        for (int64_t blk = 0; blk < blocks; blk++) {
            int64_t rem = blk, off = soff;
            for (int k = n - 3; k >= 0; k--) {
                int64_t q = rem / d[k];
                off += (rem - q * d[k]) * s[k];
                rem = q;
            }
            char *o = db0 + (size_t)(blk * na * nb) * es;
            const char *p = sb0 + off * (int64_t)es;
            switch (es) {
            case 1: BLOCK_2D(uint8_t); break;
            case 2: BLOCK_2D(uint16_t); break;
            case 4: BLOCK_2D(uint32_t); break;
            default: BLOCK_2D(uint64_t); break;
            }
        }
        return;
    }
    int64_t inner = d[n - 1], istr = s[n - 1], rows = total / inner;
    size_t run = (size_t)inner * es;
#pragma omp parallel for if (total >= SHAPE_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        int64_t rem = row, off = soff;
        for (int k = n - 2; k >= 0; k--) {
            int64_t q = rem / d[k];
            off += (rem - q * d[k]) * s[k];
            rem = q;
        }
        char *o = db0 + (size_t)row * run;
        const char *p = sb0 + off * (int64_t)es;
        if (istr == 1) {
            memcpy(o, p, run);
            continue;
        }
        switch (es) {
        case 1: STRIDED_ROW(uint8_t); break;
        case 2: STRIDED_ROW(uint16_t); break;
        case 4: STRIDED_ROW(uint32_t); break;
        case 8: STRIDED_ROW(uint64_t); break;
        default:
            for (int64_t j = 0; j < inner; j++) memcpy(o + j * es, p + j * istr * (int64_t)es, es);
        }
    }
}

/* ---- Shape, Size, and the ops that keep the bytes as they are --------------------------------- */

static ingot_status k_shape(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    int64_t r = in[0]->rank;
    int64_t s = ir_attr_int(node, "start", 0), e = ir_attr_int(node, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t *o = out[0]->data;
    for (int64_t i = s; i < e; i++) o[i - s] = in[0]->dims[i];
    return INGOT_OK;
}

static ingot_status k_size(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    *(int64_t *)out[0]->data = ing_numel(in[0]);
    return INGOT_OK;
}

/* Reshape, Flatten, Squeeze, Unsqueeze: same bytes, new shape. */
static ingot_status k_copy(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    size_t n = ing_nbytes(in[0]);
    if (n != ing_nbytes(out[0]))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input has %zu bytes, output %zu", n,
                            ing_nbytes(out[0]));
    if (n && out[0]->data != in[0]->data) memmove(out[0]->data, in[0]->data, n);
    return INGOT_OK;
}

/* ---- Transpose, Concat, Split, Slice ---------------------------------------------------------- */

static ingot_status k_transpose(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    size_t np = 0;
    const int64_t *perm = ir_attr_ints(node, "perm", &np);
    int64_t st[IR_MAX_RANK], ss[IR_MAX_RANK];
    strides_of(t, st);
    for (int i = 0; i < t->rank; i++) ss[i] = st[perm ? perm[i] : t->rank - 1 - i];
    copy_strided(out[0]->data, t->data, esize(t), out[0]->rank, out[0]->dims, ss, 0);
    return INGOT_OK;
}

/* Concat and Split walk the same layout: outer rows × (pieces along the axis) × inner. */
static void axis_layout(const ing_tensor *t, int32_t a, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < a; i++) *outer *= t->dims[i];
    for (int i = a + 1; i < t->rank; i++) *inner *= t->dims[i];
}

static ingot_status k_concat(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    ing_tensor *o = out[0];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 1), o->rank, &a));
    int64_t outer, inner;
    axis_layout(o, a, &outer, &inner);
    size_t es = esize(o), orow = (size_t)(o->dims[a] * inner) * es;
    if (ing_numel(o) == 0) return INGOT_OK;
#pragma omp parallel for if (ing_numel(o) >= SHAPE_PAR_MIN)
    for (int64_t r = 0; r < outer; r++) {
        char *dst = (char *)o->data + (size_t)r * orow;
        for (int i = 0; i < n_in; i++) {
            size_t len = (size_t)(in[i]->dims[a] * inner) * es;
            if (!len) continue;
            memcpy(dst, (const char *)in[i]->data + (size_t)r * len, len);
            dst += len;
        }
    }
    return INGOT_OK;
}

static ingot_status k_split(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), t->rank, &a));
    int64_t outer, inner;
    axis_layout(t, a, &outer, &inner);
    size_t es = esize(t), irow = (size_t)(t->dims[a] * inner) * es;
    if (ing_numel(t) == 0) return INGOT_OK;
    size_t off = 0;
    for (int j = 0; j < n_out; j++) {
        /* Each output's share of the axis comes from its inferred shape, so every one must be
         * present (ONNX makes none of them optional). */
        if (!out[j])
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output %d is omitted; every Split output "
                                "is required", j);
        size_t len = (size_t)(out[j]->dims[a] * inner) * es;
        if (len) {
            char *dst = out[j]->data;
            const char *src = (const char *)t->data + off;
            for (int64_t r = 0; r < outer; r++) memcpy(dst + (size_t)r * len, src + (size_t)r * irow, len);
        }
        off += len;
    }
    return INGOT_OK;
}

static ingot_status k_slice(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], count[IR_MAX_RANK], st[IR_MAX_RANK],
        ss[IR_MAX_RANK], off = 0;
    ING_TRY(ir_shape_slice_plan(node, t, in[1], in[2], n_in > 3 ? in[3] : NULL,
                                n_in > 4 ? in[4] : NULL, start, step, count));
    strides_of(t, st);
    for (int i = 0; i < t->rank; i++) {
        if (count[i] != out[0]->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d: plan gives %" PRId64 " elements, "
                                "output has %" PRId64, i, count[i], out[0]->dims[i]);
        off += start[i] * st[i];
        ss[i] = step[i] * st[i];
    }
    copy_strided(out[0]->data, t->data, esize(t), t->rank, count, ss, off);
    return INGOT_OK;
}

/* ---- Expand, Tile, DepthToSpace, SpaceToDepth -------------------------------------------------- */

static ingot_status k_expand(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    ing_tensor *o = out[0];
    int64_t st[IR_MAX_RANK], ss[IR_MAX_RANK];
    strides_of(t, st);
    int k = o->rank - t->rank;
    for (int i = 0; i < o->rank; i++) {
        int j = i - k;
        ss[i] = (j < 0 || t->dims[j] == 1) ? 0 : st[j];
    }
    copy_strided(o->data, t->data, esize(t), o->rank, o->dims, ss, 0);
    return INGOT_OK;
}

/* Tile as a copy over [rep0, d0, rep1, d1, …] with zero strides on the repeat dims. */
static ingot_status k_tile(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    int64_t st[IR_MAX_RANK], dims[COPY_MAX_RANK], ss[COPY_MAX_RANK];
    strides_of(t, st);
    for (int i = 0; i < t->rank; i++) {
        dims[2 * i] = ir_get_i64(in[1], i);
        ss[2 * i] = 0;
        dims[2 * i + 1] = t->dims[i];
        ss[2 * i + 1] = st[i];
    }
    copy_strided(out[0]->data, t->data, esize(t), 2 * t->rank, dims, ss, 0);
    return INGOT_OK;
}

static ingot_status k_depth_to_space(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    int64_t b = ir_attr_int(node, "blocksize", 1), C = t->dims[1], H = t->dims[2], W = t->dims[3];
    int64_t c = C / (b * b), hw = H * W;
    int crd = strcmp(ir_attr_string(node, "mode", "DCR"), "CRD") == 0;
    /* Output viewed as [N, c, H, b1, W, b2]; the source channel is (b1, b2, c) for DCR and
     * (c, b1, b2) for CRD. */
    int64_t dims[6] = {t->dims[0], c, H, b, W, b};
    int64_t ss[6] = {C * hw, crd ? b * b * hw : hw, W, crd ? b * hw : b * c * hw, 1,
                     crd ? hw : c * hw};
    copy_strided(out[0]->data, t->data, esize(t), 6, dims, ss, 0);
    return INGOT_OK;
}

static ingot_status k_space_to_depth(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0];
    int64_t b = ir_attr_int(node, "blocksize", 1), C = t->dims[1], H = t->dims[2], W = t->dims[3];
    /* Output viewed as [N, b1, b2, C, H/b, W/b]. */
    int64_t dims[6] = {t->dims[0], b, b, C, H / b, W / b};
    int64_t ss[6] = {C * H * W, W, 1, H * W, b * W, b};
    copy_strided(out[0]->data, t->data, esize(t), 6, dims, ss, 0);
    return INGOT_OK;
}

/* ---- Pad, CenterCropPad ------------------------------------------------------------------------ */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

/* o = pad(t) with per-axis begin pads pb (end pads follow from o's shape); negative pads crop.
 * cval: one element, the constant. Each output coordinate maps to a source coordinate through a
 * per-axis table (-1: the constant). */
static ingot_status pad_run(cpu_exec *x, const ir_node *node, const ing_tensor *t, ing_tensor *o,
                            int mode, const void *cval, const int64_t *pb)
{
    int r = t->rank;
    size_t es = esize(t);
    int64_t total = ing_numel(o);
    if (total == 0) return INGOT_OK;
    if (r == 0) {
        memcpy(o->data, t->data, es);
        return INGOT_OK;
    }
    int64_t moff[IR_MAX_RANK], msum = 0, st[IR_MAX_RANK];
    for (int a = 0; a < r; a++) {
        moff[a] = msum;
        msum += o->dims[a];
    }
    int64_t *map = cpu_scratch(x, 0, (size_t)msum * sizeof(int64_t));
    if (!map) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for the pad index maps");
    for (int a = 0; a < r; a++) {
        int64_t n = t->dims[a];
        for (int64_t k = 0; k < o->dims[a]; k++) {
            int64_t i = k - pb[a], m;
            if (i >= 0 && i < n) m = i;
            else if (mode == PAD_CONSTANT || n == 0) m = -1;
            else if (mode == PAD_EDGE) m = i < 0 ? 0 : n - 1;
            else if (mode == PAD_WRAP) m = ((i % n) + n) % n;
            else if (n == 1) m = 0;
            else {
                int64_t p = 2 * (n - 1);
                m = ((i % p) + p) % p;
                if (m >= n) m = p - m;
            }
            map[moff[a] + k] = m;
        }
    }
    strides_of(t, st);
    int64_t inner = o->dims[r - 1], rows = total / inner;
    const int64_t *lm = map + moff[r - 1];
    /* The part of a row that copies one contiguous run of the source row. */
    int64_t lo = pb[r - 1] > 0 ? pb[r - 1] : 0;
    int64_t hi = t->dims[r - 1] + pb[r - 1];
    if (hi > inner) hi = inner;
    if (hi < lo) hi = lo;
    const char *src = t->data;
    char *dst = o->data;
#pragma omp parallel for if (total >= SHAPE_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) {
        int64_t rem = row, off = 0;
        int fill = 0;
        for (int a = r - 2; a >= 0; a--) {
            int64_t q = rem / o->dims[a], k = rem - q * o->dims[a], m = map[moff[a] + k];
            if (m < 0) fill = 1;
            off += m * st[a];
            rem = q;
        }
        char *orow = dst + (size_t)(row * inner) * es;
        if (fill) {
            for (int64_t k = 0; k < inner; k++) memcpy(orow + k * es, cval, es);
            continue;
        }
        const char *srow = src + (size_t)off * es;
        for (int64_t k = 0; k < lo; k++) {
            int64_t m = lm[k];
            memcpy(orow + k * es, m < 0 ? cval : srow + m * es, es);
        }
        if (hi > lo) memcpy(orow + lo * es, srow + lm[lo] * es, (size_t)(hi - lo) * es);
        for (int64_t k = hi; k < inner; k++) {
            int64_t m = lm[k];
            memcpy(orow + k * es, m < 0 ? cval : srow + m * es, es);
        }
    }
    return INGOT_OK;
}

static ingot_status k_pad(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                          ing_tensor *const *out, int n_out)
{
    const ing_tensor *t = in[0], *cv = n_in > 2 ? in[2] : NULL, *axes = n_in > 3 ? in[3] : NULL;
    const char *ms = ir_attr_string(node, "mode", "constant");
    int mode = !strcmp(ms, "reflect") ? PAD_REFLECT : !strcmp(ms, "edge") ? PAD_EDGE
             : !strcmp(ms, "wrap")    ? PAD_WRAP    : PAD_CONSTANT;
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK];
    ING_TRY(ir_shape_pad_plan(node, t, in[1], axes, pb, pe));
    uint64_t zero = 0;
    const void *c = cv && ing_numel(cv) == 1 ? cv->data : &zero;
    return pad_run(x, node, t, out[0], mode, c, pb);
}

static ingot_status k_center_crop_pad(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                      int n_in, ing_tensor *const *out, int n_out)
{
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK];
    ING_TRY(ir_shape_ccp_plan(node, in[0], in[1], pb, pe));
    uint64_t zero = 0;
    return pad_run(x, node, in[0], out[0], PAD_CONSTANT, &zero, pb);
}

const cpu_kernel_def cpu_kernels_shape[] = {
    {"Shape", k_shape},
    {"Size", k_size},
    {"Reshape", k_copy},
    {"Flatten", k_copy},
    {"Squeeze", k_copy},
    {"Unsqueeze", k_copy},
    {"Transpose", k_transpose},
    {"Concat", k_concat},
    {"Split", k_split},
    {"Slice", k_slice},
    {"Expand", k_expand},
    {"Tile", k_tile},
    {"DepthToSpace", k_depth_to_space},
    {"SpaceToDepth", k_space_to_depth},
    {"Pad", k_pad},
    {"CenterCropPad", k_center_crop_pad},
    {"Gather", cpu_shape_gather},
    {"GatherElements", cpu_shape_gather_elements},
    {"GatherND", cpu_shape_gather_nd},
    {"ScatterElements", cpu_shape_scatter_elements},
    {"Scatter", cpu_shape_scatter_elements},
    {"ScatterND", cpu_shape_scatter_nd},
    {"ConstantOfShape", cpu_shape_constant_of_shape},
    {"Range", cpu_shape_range},
    {"EyeLike", cpu_shape_eye_like},
    {"OneHot", cpu_shape_one_hot},
    {"Trilu", cpu_shape_trilu},
    {"ReverseSequence", cpu_shape_reverse_sequence},
    {"Compress", cpu_shape_compress},
    {"NonZero", cpu_shape_nonzero},
    {"Unique", cpu_shape_unique},
    {NULL, NULL},
};
