/* Shape inference for the shape family: ops that move, select or generate data without
 * arithmetic (Reshape, Transpose, Slice, Gather, Scatter, Pad, NonZero, Unique, …).
 *
 * Data-dependent output shapes are computed from input values when they are known (always at
 * run time); at build time an unknown value gives -1 dims (or rank -1). The plans that kernels
 * share with inference (Slice, Pad, CenterCropPad, Unique) live here too, so that a kernel
 * never disagrees with the shape its outputs were allocated for.
 */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "ir/infer_shape.h"
#include "ir/op.h"

/* A value is known when its bytes are there; an empty tensor of known shape is known too (an
 * executor may give zero-byte tensors no buffer). */
static int val_known(const ing_tensor *t)
{
    return t && t->rank >= 0 && (t->data != NULL || ing_numel(t) == 0);
}

static ingot_status need_inputs(const ir_node *node, const ing_tensor *const *in, int n_in, int n)
{
    for (int i = 0; i < n; i++)
        if (i >= n_in || in[i] == NULL)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is required but missing (%d given)",
                                i, n_in);
    return INGOT_OK;
}

#define NEED(n) ING_TRY(need_inputs(node, in, n_in, (n)))

static const ing_tensor *opt_in(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

/* a*b for dims; -1 when either is unknown; INGOT_ERR_SHAPE on overflow. */
static ingot_status dim_mul(const ir_node *node, int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) {
        *out = -1;
        return INGOT_OK;
    }
    if (a != 0 && b > INT64_MAX / a)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "element count %" PRId64 " x %" PRId64
                            " overflows int64", a, b);
    *out = a * b;
    return INGOT_OK;
}

/* The output's element count and byte size must fit int64 and size_t. */
static ingot_status check_size(const ir_node *node, const ing_tensor *t)
{
    if (t->rank < 0) return INGOT_OK;
    if (t->rank > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %d exceeds the maximum %d",
                            t->rank, IR_MAX_RANK);
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) return INGOT_OK;
        ING_TRY(dim_mul(node, n, t->dims[i], &n));
    }
    size_t es = ingot_dtype_size((ingot_dtype)t->dtype), bytes;
    if (es == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %d is not supported", t->dtype);
    if ((uint64_t)n > SIZE_MAX || ing_mul_fits((size_t)n, es, &bytes) == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output of %" PRId64 " elements of %zu bytes "
                            "overflows size_t", n, es);
    return INGOT_OK;
}

static int is_index_dtype(int dt) { return dt == INGOT_DTYPE_I32 || dt == INGOT_DTYPE_I64; }

static ingot_status check_index_dtype(const ir_node *node, const ing_tensor *t, const char *what)
{
    if (!is_index_dtype(t->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "%s has dtype %s; int32 or int64 expected",
                            what, ingot_dtype_name((ingot_dtype)t->dtype));
    return INGOT_OK;
}

/* A 1-D shape-like input (or a scalar, when scalar_ok): its element count, or -1 unknown. */
static ingot_status vec_len(const ir_node *node, const ing_tensor *t, const char *what,
                            int scalar_ok, int64_t *n)
{
    if (t->rank < 0) {
        *n = -1;
        return INGOT_OK;
    }
    if (t->rank == 0 && scalar_ok) {
        *n = 1;
        return INGOT_OK;
    }
    if (t->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "%s must be 1-D; it has rank %d", what, t->rank);
    if (!ing_dtype_is_int(t->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "%s must be an integer tensor; it is %s", what,
                            ingot_dtype_name((ingot_dtype)t->dtype));
    *n = t->dims[0];
    return INGOT_OK;
}

static void set_unknown(ing_tensor *o, int32_t dtype, int32_t rank)
{
    o->dtype = dtype;
    o->rank = rank;
    for (int i = 0; i < IR_MAX_RANK; i++) o->dims[i] = -1;
}

/* ---- Shape, Size ---------------------------------------------------------------------------- */

static ingot_status infer_shape_op(const ir_node *node, const ing_tensor *const *in, int n_in,
                                   ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    set_unknown(out[0], INGOT_DTYPE_I64, 1);
    if (x->rank < 0) return INGOT_OK;
    int64_t r = x->rank;
    int64_t s = ir_attr_int(node, "start", 0), e = ir_attr_int(node, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    out[0]->dims[0] = e > s ? e - s : 0;
    return INGOT_OK;
}

static ingot_status infer_size(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    NEED(1);
    set_unknown(out[0], INGOT_DTYPE_I64, 0);
    return INGOT_OK;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ---------------------------------------------------- */

static ingot_status infer_reshape(const ir_node *node, const ing_tensor *const *in, int n_in,
                                  ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *sh = in[1];
    ing_tensor *o = out[0];
    int64_t n = -1;
    ING_TRY(vec_len(node, sh, "shape", 0, &n));
    if (n > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "shape has %" PRId64 " entries; at most %d "
                            "supported", n, IR_MAX_RANK);
    if (!val_known(sh)) {
        set_unknown(o, x->dtype, n < 0 ? -1 : (int32_t)n);
        return INGOT_OK;
    }
    int allowzero = node->opset >= 14 ? (int)ir_attr_int(node, "allowzero", 0) : 0;
    int32_t neg = -1;
    int unknown = 0, has_zero = 0;
    int64_t prod = 1;
    set_unknown(o, x->dtype, (int32_t)n);
    for (int32_t i = 0; i < (int32_t)n; i++) {
        int64_t v = ir_get_i64(sh, i), d;
        if (v == -1) {
            if (neg >= 0)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape has -1 at both index %d and %d; "
                                    "at most one dim can be inferred", neg, i);
            neg = i;
            continue;
        }
        if (v < -1)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape[%d] = %" PRId64 "; dims must be >= -1",
                                i, v);
        if (v == 0 && !allowzero) {
            if (x->rank >= 0 && i >= x->rank)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape[%d] = 0 copies input dim %d, but "
                                    "the input has rank %d", i, i, x->rank);
            d = x->rank < 0 ? -1 : x->dims[i];
        } else {
            d = v;
            if (v == 0) has_zero = 1;
        }
        o->dims[i] = d;
        if (d < 0) unknown = 1;
        else ING_TRY(dim_mul(node, prod, d, &prod));
    }
    if (allowzero && has_zero && neg >= 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape has both 0 and -1 with allowzero=1");
    int64_t total = ing_numel(x);
    if (neg >= 0) {
        if (unknown || total < 0) o->dims[neg] = -1;
        else if (prod == 0) {
            if (total != 0)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "cannot infer the -1 dim: the other dims "
                                    "multiply to 0 but the input has %" PRId64 " elements", total);
            o->dims[neg] = 0;
        } else {
            if (total % prod != 0) {
                char b[96];
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %s (%" PRId64 " elements) cannot "
                                    "be reshaped with %" PRId64 " elements per -1 step",
                                    ing_shape_str(x, b, sizeof b), total, prod);
            }
            o->dims[neg] = total / prod;
        }
    } else if (!unknown && total >= 0 && prod != total) {
        char b1[96], b2[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %s has %" PRId64 " elements, target %s has %"
                            PRId64, ing_shape_str(x, b1, sizeof b1), total,
                            ing_shape_str(o, b2, sizeof b2), prod);
    }
    return INGOT_OK;
}

static ingot_status infer_flatten(const ir_node *node, const ing_tensor *const *in, int n_in,
                                  ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    set_unknown(out[0], x->dtype, 2);
    if (x->rank < 0) return INGOT_OK;
    int64_t axis = ir_attr_int(node, "axis", 1), a = axis < 0 ? axis + x->rank : axis;
    if (a < 0 || a > x->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %" PRId64 " is out of range [%d, %d]", axis,
                            -x->rank, x->rank);
    int64_t p0 = 1, p1 = 1;
    for (int i = 0; i < x->rank; i++) {
        if (i < a) ING_TRY(dim_mul(node, p0, x->dims[i], &p0));
        else ING_TRY(dim_mul(node, p1, x->dims[i], &p1));
    }
    out[0]->dims[0] = p0;
    out[0]->dims[1] = p1;
    return INGOT_OK;
}

/* Normalize the axes of a known axes tensor against rank r into mask (duplicates are errors). */
static ingot_status axes_mask(const ir_node *node, const ing_tensor *axes, int32_t r, uint32_t *mask)
{
    *mask = 0;
    int64_t n = ing_numel(axes);
    for (int64_t i = 0; i < n; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, ir_get_i64(axes, i), r, &a));
        if (*mask & (1u << a))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %" PRId64 " is repeated in axes",
                                ir_get_i64(axes, i));
        *mask |= 1u << a;
    }
    return INGOT_OK;
}

static ingot_status infer_squeeze(const ir_node *node, const ing_tensor *const *in, int n_in,
                                  ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0], *axes = opt_in(in, n_in, 1);
    ing_tensor *o = out[0];
    if (axes) {
        int64_t n = -1;
        ING_TRY(vec_len(node, axes, "axes", 1, &n));
        if (x->rank < 0 || !val_known(axes)) {
            set_unknown(o, x->dtype, x->rank < 0 || n < 0 ? -1 : (int32_t)(x->rank - n));
            if (o->rank < -1) o->rank = -1;
            return INGOT_OK;
        }
        uint32_t mask;
        ING_TRY(axes_mask(node, axes, x->rank, &mask));
        set_unknown(o, x->dtype, 0);
        for (int i = 0; i < x->rank; i++) {
            if (mask & (1u << i)) {
                if (x->dims[i] != 1 && x->dims[i] >= 0)
                    return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "cannot squeeze axis %d of size %"
                                        PRId64 "; only size-1 axes can be removed", i, x->dims[i]);
                continue;
            }
            o->dims[o->rank++] = x->dims[i];
        }
        return INGOT_OK;
    }
    if (x->rank < 0) {
        set_unknown(o, x->dtype, -1);
        return INGOT_OK;
    }
    set_unknown(o, x->dtype, 0);
    for (int i = 0; i < x->rank; i++) {
        if (x->dims[i] < 0) { /* might be 1: the output rank is not known */
            set_unknown(o, x->dtype, -1);
            return INGOT_OK;
        }
        if (x->dims[i] != 1) o->dims[o->rank++] = x->dims[i];
    }
    return INGOT_OK;
}

static ingot_status infer_unsqueeze(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *axes = in[1];
    ing_tensor *o = out[0];
    int64_t n = -1;
    ING_TRY(vec_len(node, axes, "axes", 1, &n));
    if (x->rank < 0 || n < 0) {
        set_unknown(o, x->dtype, -1);
        return INGOT_OK;
    }
    if (x->rank + n > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %" PRId64 " exceeds the "
                            "maximum %d", x->rank + n, IR_MAX_RANK);
    int32_t r = (int32_t)(x->rank + n);
    set_unknown(o, x->dtype, r);
    if (!val_known(axes)) return INGOT_OK;
    uint32_t mask;
    ING_TRY(axes_mask(node, axes, r, &mask));
    for (int i = 0, j = 0; i < r; i++) o->dims[i] = (mask & (1u << i)) ? 1 : x->dims[j++];
    return INGOT_OK;
}

/* ---- Transpose, Concat, Split ----------------------------------------------------------------- */

static ingot_status infer_transpose(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    size_t np = 0;
    const int64_t *perm = ir_attr_ints(node, "perm", &np);
    const ir_attr *pa = ir_attr_find(node, "perm");
    if (x->rank < 0) {
        set_unknown(out[0], x->dtype, pa ? (int32_t)np : -1);
        return INGOT_OK;
    }
    int32_t r = x->rank;
    if (pa && np != (size_t)r)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "perm has %zu entries; the input has rank %d",
                            np, r);
    uint32_t seen = 0;
    set_unknown(out[0], x->dtype, r);
    for (int32_t i = 0; i < r; i++) {
        int64_t p = pa ? perm[i] : r - 1 - i;
        if (p < 0 || p >= r || (seen & (1u << p)))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "perm[%d] = %" PRId64 " is out of range "
                                "[0, %d) or repeated", i, p, r);
        seen |= 1u << p;
        out[0]->dims[i] = x->dims[p];
    }
    return INGOT_OK;
}

static ingot_status infer_concat(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    if (n_in < 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs at least one input");
    NEED(n_in);
    const ir_attr *aa = ir_attr_find(node, "axis");
    if (!aa && node->opset >= 4)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "attribute 'axis' is required");
    int64_t axis = aa ? aa->i : 1;
    int32_t r = -1;
    for (int i = 0; i < n_in; i++) {
        if (in[i]->dtype != in[0]->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s, input 0 has %s", i,
                                ingot_dtype_name((ingot_dtype)in[i]->dtype),
                                ingot_dtype_name((ingot_dtype)in[0]->dtype));
        if (in[i]->rank < 0) continue;
        if (r >= 0 && in[i]->rank != r)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d has rank %d, another input has rank "
                                "%d", i, in[i]->rank, r);
        r = in[i]->rank;
    }
    ing_tensor *o = out[0];
    set_unknown(o, in[0]->dtype, r);
    if (r < 0) return INGOT_OK;
    if (r == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "cannot concatenate scalars (rank 0)");
    int32_t a;
    ING_TRY(ir_norm_axis(node, axis, r, &a));
    int64_t sum = 0;
    for (int i = 0; i < n_in; i++) {
        if (in[i]->rank < 0) {
            sum = -1;
            continue;
        }
        for (int32_t d = 0; d < r; d++) {
            int64_t v = in[i]->dims[d];
            if (d == a) {
                if (v < 0) sum = -1;
                else if (sum >= 0) {
                    if (v > INT64_MAX - sum)
                        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "concatenated dim overflows");
                    sum += v;
                }
                continue;
            }
            if (v < 0) continue;
            if (o->dims[d] >= 0 && o->dims[d] != v) {
                char b[96];
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d has shape %s; dim %d must be %"
                                    PRId64 " (only axis %d may differ)", i,
                                    ing_shape_str(in[i], b, sizeof b), d, o->dims[d], a);
            }
            o->dims[d] = v;
        }
    }
    o->dims[a] = sum;
    return INGOT_OK;
}

static ingot_status infer_split(const ir_node *node, const ing_tensor *const *in, int n_in,
                                ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0], *split = opt_in(in, n_in, 1);
    if (n_out < 1) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs at least one output");
    for (int j = 0; j < n_out; j++)
        if (out[j]) set_unknown(out[j], x->dtype, x->rank);
    if (x->rank < 0) return INGOT_OK;
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), x->rank, &a));
    if (x->rank == 0) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "cannot split a scalar");
    int64_t d = x->dims[a];
    int64_t sizes[64];
    int nsz = n_out;
    if (n_out > 64)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "%d outputs; at most 64 supported", n_out);
    int known = 1;
    if (split) {
        int64_t n = -1;
        ING_TRY(vec_len(node, split, "split", 1, &n));
        if (n >= 0 && n != n_out)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "split has %" PRId64 " entries for %d outputs",
                                n, n_out);
        if (!val_known(split)) known = 0;
        else {
            int64_t sum = 0;
            for (int j = 0; j < nsz; j++) {
                sizes[j] = ir_get_i64(split, j);
                if (sizes[j] < 0 || sizes[j] > INT64_MAX - sum)
                    return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "split[%d] = %" PRId64 " is invalid",
                                        j, sizes[j]);
                sum += sizes[j];
            }
            if (d >= 0 && sum != d)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "split sums to %" PRId64 "; axis %d has "
                                    "size %" PRId64, sum, a, d);
        }
    } else if (d < 0) {
        known = 0;
    } else {
        const ir_attr *na = node->opset >= 18 ? ir_attr_find(node, "num_outputs") : NULL;
        if (na) {
            if (na->i != n_out)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "num_outputs = %" PRId64 " but the node "
                                    "has %d outputs", na->i, n_out);
            /* Chunks of ceil(d / n); the tail gets what is left, possibly nothing (as the
             * reference's slicing does when d is small, e.g. 5 into 4 gives 2, 2, 1, 0). */
            int64_t chunk = d / n_out + (d % n_out != 0), left = d;
            for (int j = 0; j < nsz; j++) {
                sizes[j] = left < chunk ? left : chunk;
                left -= sizes[j];
            }
        } else {
            if (d % n_out != 0)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d of size %" PRId64 " does not "
                                    "split evenly into %d outputs", a, d, n_out);
            for (int j = 0; j < nsz; j++) sizes[j] = d / n_out;
        }
    }
    for (int j = 0; j < n_out; j++) {
        if (!out[j]) continue;
        memcpy(out[j]->dims, x->dims, sizeof x->dims);
        out[j]->dims[a] = known ? sizes[j] : -1;
    }
    return INGOT_OK;
}

/* ---- Slice ------------------------------------------------------------------------------------ */

ingot_status ir_shape_slice_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *starts,
                                 const ing_tensor *ends, const ing_tensor *axes,
                                 const ing_tensor *steps, int64_t *start, int64_t *step,
                                 int64_t *count)
{
    int32_t r = x->rank;
    for (int32_t i = 0; i < r; i++) {
        start[i] = 0;
        step[i] = 1;
        count[i] = x->dims[i];
    }
    int64_t n = ing_numel(starts);
    if (starts->rank > 1 || ends->rank > 1 || ing_numel(ends) != n ||
        (axes && ing_numel(axes) != n) || (steps && ing_numel(steps) != n))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "starts, ends, axes and steps must be 1-D of one "
                            "length (starts has %" PRId64 ", ends %" PRId64 ")", n, ing_numel(ends));
    uint32_t seen = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, axes ? ir_get_i64(axes, i) : i, r, &a));
        if (seen & (1u << a))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %d is sliced twice", a);
        seen |= 1u << a;
        int64_t st = ir_get_i64(starts, i), en = ir_get_i64(ends, i);
        int64_t sp = steps ? ir_get_i64(steps, i) : 1, d = x->dims[a];
        if (sp == 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "steps[%" PRId64 "] is 0", i);
        step[a] = sp;
        if (d < 0) {
            count[a] = -1;
            continue;
        }
        if (st < 0) st += d;
        if (en < 0) en += d;
        if (sp > 0) {
            st = st < 0 ? 0 : st > d ? d : st;
            en = en < 0 ? 0 : en > d ? d : en;
            count[a] = en > st ? (en - st - 1) / sp + 1 : 0;
        } else {
            st = st < -1 ? -1 : st > d - 1 ? d - 1 : st;
            en = en < -1 ? -1 : en > d - 1 ? d - 1 : en;
            count[a] = st > en ? (sp == INT64_MIN ? 1 : (st - en - 1) / -sp + 1) : 0;
        }
        start[a] = count[a] > 0 ? st : 0;
    }
    return INGOT_OK;
}

static ingot_status infer_slice(const ir_node *node, const ing_tensor *const *in, int n_in,
                                ing_tensor *const *out, int n_out)
{
    NEED(3);
    const ing_tensor *x = in[0], *starts = in[1], *ends = in[2];
    const ing_tensor *axes = opt_in(in, n_in, 3), *steps = opt_in(in, n_in, 4);
    ing_tensor *o = out[0];
    set_unknown(o, x->dtype, x->rank);
    if (x->rank < 0) return INGOT_OK;
    if (!val_known(starts) || !val_known(ends) || (axes && !val_known(axes)) ||
        (steps && !val_known(steps))) {
        /* Without axes values every dim may change; with them only the named ones. */
        if (axes && val_known(axes)) {
            uint32_t mask;
            ING_TRY(axes_mask(node, axes, x->rank, &mask));
            for (int i = 0; i < x->rank; i++)
                if (!(mask & (1u << i))) o->dims[i] = x->dims[i];
        }
        return INGOT_OK;
    }
    int64_t start[IR_MAX_RANK], step[IR_MAX_RANK];
    return ir_shape_slice_plan(node, x, starts, ends, axes, steps, start, step, o->dims);
}

/* ---- Gather family ---------------------------------------------------------------------------- */

static ingot_status infer_gather(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *idx = in[1];
    ING_TRY(check_index_dtype(node, idx, "indices"));
    if (x->rank < 0 || idx->rank < 0) {
        set_unknown(out[0], x->dtype, -1);
        return INGOT_OK;
    }
    if (x->rank == 0) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "data must have rank >= 1");
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), x->rank, &a));
    int32_t r = x->rank - 1 + idx->rank;
    if (r > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %d exceeds the maximum %d", r,
                            IR_MAX_RANK);
    ing_tensor *o = out[0];
    set_unknown(o, x->dtype, r);
    int k = 0;
    for (int i = 0; i < a; i++) o->dims[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) o->dims[k++] = idx->dims[i];
    for (int i = a + 1; i < x->rank; i++) o->dims[k++] = x->dims[i];
    return INGOT_OK;
}

static ingot_status infer_gather_elements(const ir_node *node, const ing_tensor *const *in, int n_in,
                                          ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *idx = in[1];
    ING_TRY(check_index_dtype(node, idx, "indices"));
    ir_copy_desc(out[0], idx);
    out[0]->dtype = x->dtype;
    if (x->rank < 0 || idx->rank < 0) return INGOT_OK;
    if (x->rank != idx->rank || x->rank == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "data has rank %d and indices rank %d; they must "
                            "be equal and >= 1", x->rank, idx->rank);
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), x->rank, &a));
    return INGOT_OK;
}

static ingot_status infer_gather_nd(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *idx = in[1];
    if (idx->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "indices has dtype %s; int64 expected",
                            ingot_dtype_name((ingot_dtype)idx->dtype));
    int64_t b = node->opset >= 12 ? ir_attr_int(node, "batch_dims", 0) : 0;
    ing_tensor *o = out[0];
    if (x->rank < 0 || idx->rank < 0 || (idx->rank > 0 && idx->dims[idx->rank - 1] < 0)) {
        set_unknown(o, x->dtype, -1);
        return INGOT_OK;
    }
    int32_t r = x->rank, q = idx->rank;
    if (r < 1 || q < 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "data (rank %d) and indices (rank %d) must have "
                            "rank >= 1", r, q);
    int64_t k = idx->dims[q - 1];
    if (b < 0 || b >= (r < q ? r : q))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "batch_dims = %" PRId64 " must be in [0, %d)", b,
                            r < q ? r : q);
    if (k < 1 || k > r - b)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices' last dim is %" PRId64 "; it must be in "
                            "[1, %" PRId64 "] (data rank %d, batch_dims %" PRId64 ")", k, r - b, r, b);
    for (int64_t i = 0; i < b; i++)
        if (x->dims[i] >= 0 && idx->dims[i] >= 0 && x->dims[i] != idx->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "batch dim %" PRId64 ": data has %" PRId64
                                ", indices %" PRId64, i, x->dims[i], idx->dims[i]);
    int64_t orank = (q - 1) + (r - b - k);
    if (orank > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %" PRId64 " exceeds %d", orank,
                            IR_MAX_RANK);
    set_unknown(o, x->dtype, (int32_t)orank);
    int j = 0;
    for (int i = 0; i < q - 1; i++) o->dims[j++] = idx->dims[i];
    for (int64_t i = b + k; i < r; i++) o->dims[j++] = x->dims[i];
    return INGOT_OK;
}

static ingot_status check_reduction(const ir_node *node)
{
    const char *red = ir_attr_string(node, "reduction", "none");
    if (strcmp(red, "none") && strcmp(red, "add") && strcmp(red, "mul") && strcmp(red, "max") &&
        strcmp(red, "min"))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "reduction '%s'; none, add, mul, max or min "
                            "expected", red);
    return INGOT_OK;
}

static ingot_status infer_scatter_elements(const ir_node *node, const ing_tensor *const *in,
                                           int n_in, ing_tensor *const *out, int n_out)
{
    NEED(3);
    const ing_tensor *x = in[0], *idx = in[1], *upd = in[2];
    ING_TRY(check_index_dtype(node, idx, "indices"));
    ING_TRY(check_reduction(node));
    if (upd->dtype != x->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "updates has dtype %s, data %s",
                            ingot_dtype_name((ingot_dtype)upd->dtype),
                            ingot_dtype_name((ingot_dtype)x->dtype));
    ir_copy_desc(out[0], x);
    if (x->rank < 0 || idx->rank < 0 || upd->rank < 0) return INGOT_OK;
    if (idx->rank != x->rank || upd->rank != x->rank || x->rank == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "data, indices and updates must have one rank "
                            ">= 1 (got %d, %d, %d)", x->rank, idx->rank, upd->rank);
    for (int i = 0; i < x->rank; i++)
        if (idx->dims[i] >= 0 && upd->dims[i] >= 0 && idx->dims[i] != upd->dims[i]) {
            char b1[96], b2[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices %s and updates %s must have one shape",
                                ing_shape_str(idx, b1, sizeof b1), ing_shape_str(upd, b2, sizeof b2));
        }
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), x->rank, &a));
    return INGOT_OK;
}

static ingot_status infer_scatter_nd(const ir_node *node, const ing_tensor *const *in, int n_in,
                                     ing_tensor *const *out, int n_out)
{
    NEED(3);
    const ing_tensor *x = in[0], *idx = in[1], *upd = in[2];
    if (idx->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "indices has dtype %s; int64 expected",
                            ingot_dtype_name((ingot_dtype)idx->dtype));
    ING_TRY(check_reduction(node));
    if (upd->dtype != x->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "updates has dtype %s, data %s",
                            ingot_dtype_name((ingot_dtype)upd->dtype),
                            ingot_dtype_name((ingot_dtype)x->dtype));
    ir_copy_desc(out[0], x);
    if (x->rank < 0 || idx->rank < 0 || upd->rank < 0) return INGOT_OK;
    int32_t r = x->rank, q = idx->rank;
    if (r < 1 || q < 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "data (rank %d) and indices (rank %d) must have "
                            "rank >= 1", r, q);
    int64_t k = idx->dims[q - 1];
    if (k < 0) return INGOT_OK;
    if (k < 1 || k > r)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices' last dim is %" PRId64 "; it must be in "
                            "[1, %d]", k, r);
    int64_t ur = (q - 1) + (r - k);
    int ok = upd->rank == ur;
    for (int i = 0; ok && i < ur; i++) {
        int64_t want = i < q - 1 ? idx->dims[i] : x->dims[k + i - (q - 1)];
        if (want >= 0 && upd->dims[i] >= 0 && want != upd->dims[i]) ok = 0;
    }
    if (!ok) {
        char b1[96], b2[96], b3[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "updates %s must be indices.shape[:-1] + "
                            "data.shape[k:] (indices %s, data %s)",
                            ing_shape_str(upd, b1, sizeof b1), ing_shape_str(idx, b2, sizeof b2),
                            ing_shape_str(x, b3, sizeof b3));
    }
    return INGOT_OK;
}

/* ---- Expand, Tile, Pad, CenterCropPad ---------------------------------------------------------- */

static ingot_status infer_expand(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *sh = in[1];
    ing_tensor *o = out[0];
    int64_t n = -1;
    ING_TRY(vec_len(node, sh, "shape", 0, &n));
    if (n > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "shape has %" PRId64 " entries; at most %d",
                            n, IR_MAX_RANK);
    if (x->rank < 0 || n < 0) {
        set_unknown(o, x->dtype, -1);
        return INGOT_OK;
    }
    if (!val_known(sh)) {
        set_unknown(o, x->dtype, x->rank > n ? x->rank : (int32_t)n);
        return INGOT_OK;
    }
    ing_tensor t;
    set_unknown(&t, sh->dtype, (int32_t)n);
    for (int i = 0; i < n; i++) {
        t.dims[i] = ir_get_i64(sh, i);
        if (t.dims[i] < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape[%d] = %" PRId64 "; dims must be >= 0",
                                i, t.dims[i]);
    }
    o->dtype = x->dtype;
    ING_TRY(ir_broadcast_shape(node, x, &t, o));
    return check_size(node, o);
}

static ingot_status infer_tile(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *rep = in[1];
    ing_tensor *o = out[0];
    if (node->opset < 6)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "Tile-%d (tiles/axis inputs) is not "
                            "supported; opset 6 or later expected", node->opset);
    set_unknown(o, x->dtype, x->rank);
    int64_t n = -1;
    ING_TRY(vec_len(node, rep, "repeats", 0, &n));
    if (x->rank < 0) return INGOT_OK;
    if (n >= 0 && n != x->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "repeats has %" PRId64 " entries; the input has "
                            "rank %d", n, x->rank);
    if (!val_known(rep)) return INGOT_OK;
    for (int i = 0; i < x->rank; i++) {
        int64_t v = ir_get_i64(rep, i);
        if (v < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "repeats[%d] = %" PRId64 "; must be >= 0", i,
                                v);
        ING_TRY(dim_mul(node, x->dims[i], v, &o->dims[i]));
    }
    return check_size(node, o);
}

static int pad_mode(const ir_node *node)
{
    const char *m = ir_attr_string(node, "mode", "constant");
    if (!strcmp(m, "constant")) return 0;
    if (!strcmp(m, "reflect")) return 1;
    if (!strcmp(m, "edge")) return 2;
    if (!strcmp(m, "wrap") && node->opset >= 19) return 3;
    return -1;
}

ingot_status ir_shape_pad_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *pads,
                               const ing_tensor *axes, int64_t *pb, int64_t *pe)
{
    int32_t r = x->rank;
    for (int i = 0; i < r; i++) pb[i] = pe[i] = 0;
    int64_t na = axes ? ing_numel(axes) : r;
    if (pads->rank != 1 || ing_numel(pads) != 2 * na)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "pads has %" PRId64 " entries; 2 x %" PRId64
                            " (axes) expected", ing_numel(pads), na);
    uint32_t seen = 0;
    for (int64_t i = 0; i < na; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, axes ? ir_get_i64(axes, i) : i, r, &a));
        if (seen & (1u << a)) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %d is padded twice", a);
        seen |= 1u << a;
        pb[a] = ir_get_i64(pads, i);
        pe[a] = ir_get_i64(pads, na + i);
        /* Keep later sums far from overflow: no real tensor has 2^40 elements on one axis. */
        if (pb[a] > (INT64_C(1) << 40) || pe[a] > (INT64_C(1) << 40) ||
            pb[a] < -(INT64_C(1) << 40) || pe[a] < -(INT64_C(1) << 40))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "pads for axis %d (%" PRId64 ", %" PRId64
                                ") are out of range", a, pb[a], pe[a]);
    }
    return INGOT_OK;
}

static ingot_status infer_pad(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *pads = in[1], *cv = opt_in(in, n_in, 2), *axes = opt_in(in, n_in, 3);
    ing_tensor *o = out[0];
    int mode = pad_mode(node);
    if (mode < 0)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s'; constant, reflect, edge or wrap "
                            "(opset >= 19) expected", ir_attr_string(node, "mode", "constant"));
    if (cv && cv->dtype != x->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "constant_value has dtype %s, data %s",
                            ingot_dtype_name((ingot_dtype)cv->dtype),
                            ingot_dtype_name((ingot_dtype)x->dtype));
    if (cv && ing_numel(cv) > 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "constant_value has %" PRId64 " elements; one "
                            "expected", ing_numel(cv));
    set_unknown(o, x->dtype, x->rank);
    if (x->rank < 0 || !val_known(pads) || (axes && !val_known(axes))) return INGOT_OK;
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK];
    ING_TRY(ir_shape_pad_plan(node, x, pads, axes, pb, pe));
    for (int i = 0; i < x->rank; i++) {
        int64_t d = x->dims[i];
        if (d < 0) continue;
        if (d + pb[i] + pe[i] < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d of size %" PRId64 " with pads (%"
                                PRId64 ", %" PRId64 ") gives a negative size", i, d, pb[i], pe[i]);
        if (mode != 0 && d == 0 && (pb[i] > 0 || pe[i] > 0))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis %d is empty; mode '%s' cannot pad it", i,
                                ir_attr_string(node, "mode", "constant"));
        o->dims[i] = d + pb[i] + pe[i];
    }
    return check_size(node, o);
}

ingot_status ir_shape_ccp_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *shape,
                               int64_t *pb, int64_t *pe)
{
    int32_t r = x->rank;
    for (int i = 0; i < r; i++) pb[i] = pe[i] = 0;
    size_t na = 0;
    const int64_t *axes = ir_attr_ints(node, "axes", &na);
    if (!ir_attr_find(node, "axes")) na = (size_t)r;
    if (shape->rank != 1 || ing_numel(shape) != (int64_t)na)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape has %" PRId64 " entries; %zu (one per "
                            "axis) expected", ing_numel(shape), na);
    uint32_t seen = 0;
    for (size_t i = 0; i < na; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, axes ? axes[i] : (int64_t)i, r, &a));
        if (seen & (1u << a)) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %d is repeated", a);
        seen |= 1u << a;
        int64_t s = ir_get_i64(shape, (int64_t)i), d = x->dims[a];
        if (s < 0 || s > (INT64_C(1) << 40))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape[%zu] = %" PRId64 " is out of range", i,
                                s);
        if (d < 0) continue;
        pb[a] = s >= d ? (s - d) / 2 : -((d - s) / 2);
        pe[a] = s - d - pb[a];
    }
    return INGOT_OK;
}

static ingot_status infer_center_crop_pad(const ir_node *node, const ing_tensor *const *in, int n_in,
                                          ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *shape = in[1];
    ing_tensor *o = out[0];
    set_unknown(o, x->dtype, x->rank);
    if (x->rank < 0) return INGOT_OK;
    if (!val_known(shape)) {
        if (ir_attr_find(node, "axes")) {
            size_t na = 0;
            const int64_t *axes = ir_attr_ints(node, "axes", &na);
            memcpy(o->dims, x->dims, sizeof o->dims);
            for (size_t i = 0; i < na; i++) {
                int32_t a;
                ING_TRY(ir_norm_axis(node, axes[i], x->rank, &a));
                o->dims[a] = -1;
            }
        }
        return INGOT_OK;
    }
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK];
    ING_TRY(ir_shape_ccp_plan(node, x, shape, pb, pe));
    for (int i = 0; i < x->rank; i++)
        o->dims[i] = x->dims[i] < 0 ? -1 : x->dims[i] + pb[i] + pe[i];
    return check_size(node, o);
}

/* ---- Generators: ConstantOfShape, Range, EyeLike, OneHot --------------------------------------- */

static ingot_status infer_constant_of_shape(const ir_node *node, const ing_tensor *const *in, int n_in,
                                            ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *sh = in[0];
    const ir_attr *va = ir_attr_find(node, "value");
    int32_t dt = INGOT_DTYPE_F32;
    if (va) {
        if (va->type != IR_ATTR_TENSOR || ing_numel(&va->t) != 1 || !ing_dtype_valid(va->t.dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "attribute 'value' must be a one-element "
                                "tensor of a supported dtype");
        dt = va->t.dtype;
    }
    int64_t n = -1;
    ING_TRY(vec_len(node, sh, "input", 0, &n));
    if (n > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "shape has %" PRId64 " entries; at most %d",
                            n, IR_MAX_RANK);
    ing_tensor *o = out[0];
    set_unknown(o, dt, n < 0 ? -1 : (int32_t)n);
    if (!val_known(sh)) return INGOT_OK;
    for (int i = 0; i < n; i++) {
        o->dims[i] = ir_get_i64(sh, i);
        if (o->dims[i] < 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "shape[%d] = %" PRId64 "; dims must be >= 0",
                                i, o->dims[i]);
    }
    return check_size(node, o);
}

static ingot_status infer_range(const ir_node *node, const ing_tensor *const *in, int n_in,
                                ing_tensor *const *out, int n_out)
{
    NEED(3);
    int32_t dt = in[0]->dtype;
    for (int i = 0; i < 3; i++) {
        if (in[i]->dtype != dt)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d has dtype %s, start has %s", i,
                                ingot_dtype_name((ingot_dtype)in[i]->dtype),
                                ingot_dtype_name((ingot_dtype)dt));
        if (in[i]->rank >= 0 && ing_numel(in[i]) >= 0 && ing_numel(in[i]) != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d must be a scalar; it has %" PRId64
                                " elements", i, ing_numel(in[i]));
    }
    if (!ing_dtype_valid(dt) || dt == INGOT_DTYPE_BOOL)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s", ingot_dtype_name((ingot_dtype)dt));
    ing_tensor *o = out[0];
    set_unknown(o, dt, 1);
    if (!in[0]->data || !in[1]->data || !in[2]->data) return INGOT_OK;
    int64_t n;
    if (ing_dtype_is_float(dt)) {
        double s = ing_load_f64(dt, in[0]->data, 0), l = ing_load_f64(dt, in[1]->data, 0);
        double d = ing_load_f64(dt, in[2]->data, 0);
        if (d == 0.0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "delta is 0");
        double c = ceil((l - s) / d);
        if (c != c || c <= 0) c = 0;
        if (c > 9.0e15)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "range of %g elements is too large", c);
        n = (int64_t)c;
    } else if (dt == INGOT_DTYPE_U64) {
        uint64_t s = ing_load_u64(dt, in[0]->data, 0), l = ing_load_u64(dt, in[1]->data, 0);
        uint64_t d = ing_load_u64(dt, in[2]->data, 0);
        if (d == 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "delta is 0");
        uint64_t c = l > s ? (l - s - 1) / d + 1 : 0;
        if (c > (uint64_t)INT64_MAX) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "range too large");
        n = (int64_t)c;
    } else {
        int64_t s = ing_load_i64(dt, in[0]->data, 0), l = ing_load_i64(dt, in[1]->data, 0);
        int64_t d = ing_load_i64(dt, in[2]->data, 0);
        if (d == 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "delta is 0");
        uint64_t c;
        if (d > 0) c = l > s ? ((uint64_t)l - (uint64_t)s - 1) / (uint64_t)d + 1 : 0;
        else c = s > l ? ((uint64_t)s - (uint64_t)l - 1) / (0 - (uint64_t)d) + 1 : 0;
        if (c > (uint64_t)INT64_MAX) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "range too large");
        n = (int64_t)c;
    }
    o->dims[0] = n;
    return check_size(node, o);
}

static ingot_status infer_eye_like(const ir_node *node, const ing_tensor *const *in, int n_in,
                                   ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    int64_t dt = ir_attr_int(node, "dtype", x->dtype);
    if (!ing_dtype_valid((int)dt))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %" PRId64 " is not supported", dt);
    ir_copy_desc(out[0], x);
    out[0]->dtype = (int32_t)dt;
    if (x->rank >= 0 && x->rank != 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input must be 2-D; it has rank %d", x->rank);
    if (x->rank < 0) out[0]->rank = 2, out[0]->dims[0] = out[0]->dims[1] = -1;
    return INGOT_OK;
}

static ingot_status infer_one_hot(const ir_node *node, const ing_tensor *const *in, int n_in,
                                  ing_tensor *const *out, int n_out)
{
    NEED(3);
    const ing_tensor *idx = in[0], *depth = in[1], *vals = in[2];
    ing_tensor *o = out[0];
    if (vals->rank >= 0 && ing_numel(vals) >= 0 && ing_numel(vals) != 2)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "values must have 2 elements (off, on); it has %"
                            PRId64, ing_numel(vals));
    if (depth->rank >= 0 && ing_numel(depth) >= 0 && ing_numel(depth) != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "depth must have one element; it has %" PRId64,
                            ing_numel(depth));
    if (!ing_dtype_is_int(idx->dtype) && !ing_dtype_is_float(idx->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "indices dtype %s",
                            ingot_dtype_name((ingot_dtype)idx->dtype));
    if (idx->rank < 0) {
        set_unknown(o, vals->dtype, -1);
        return INGOT_OK;
    }
    int32_t r = idx->rank + 1, a;
    if (r > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, IR_MAX_RANK);
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), r, &a));
    set_unknown(o, vals->dtype, r);
    int64_t dv = -1;
    if (val_known(depth) && ing_numel(depth) == 1) {
        dv = ing_dtype_is_float(depth->dtype) ? (int64_t)ing_load_f64(depth->dtype, depth->data, 0)
                                              : ing_load_i64(depth->dtype, depth->data, 0);
        if (dv < 1)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "depth = %" PRId64 "; must be >= 1", dv);
    }
    for (int i = 0, j = 0; i < r; i++) o->dims[i] = i == a ? dv : idx->dims[j++];
    return check_size(node, o);
}

/* ---- Trilu, ReverseSequence, DepthToSpace, SpaceToDepth ----------------------------------------- */

static ingot_status infer_trilu(const ir_node *node, const ing_tensor *const *in, int n_in,
                                ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0], *k = opt_in(in, n_in, 1);
    if (x->rank >= 0 && x->rank < 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input must have rank >= 2; it has %d", x->rank);
    if (k && ing_numel(k) >= 0 && ing_numel(k) != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "k must have one element; it has %" PRId64,
                            ing_numel(k));
    ir_copy_desc(out[0], x);
    return INGOT_OK;
}

static ingot_status infer_reverse_sequence(const ir_node *node, const ing_tensor *const *in, int n_in,
                                           ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *lens = in[1];
    int64_t ta = ir_attr_int(node, "time_axis", 0), ba = ir_attr_int(node, "batch_axis", 1);
    if (!((ta == 0 && ba == 1) || (ta == 1 && ba == 0)))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "time_axis %" PRId64 " and batch_axis %" PRId64
                            " must be 0 and 1 in some order", ta, ba);
    if (!ing_dtype_is_int(lens->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "sequence_lens must be an integer tensor");
    ir_copy_desc(out[0], x);
    if (x->rank < 0) return INGOT_OK;
    if (x->rank < 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input must have rank >= 2; it has %d", x->rank);
    if (lens->rank >= 0 && (lens->rank != 1 || (lens->dims[0] >= 0 && x->dims[ba] >= 0 &&
                                                 lens->dims[0] != x->dims[ba])))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "sequence_lens must be 1-D with %" PRId64
                            " entries (the batch size)", x->dims[ba]);
    return INGOT_OK;
}

static ingot_status infer_depth_to_space(const ir_node *node, const ing_tensor *const *in, int n_in,
                                         ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    int64_t b = ir_attr_int(node, "blocksize", 0);
    const char *mode = ir_attr_string(node, "mode", "DCR");
    if (b < 1 || b > (1 << 20))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "blocksize = %" PRId64 "; must be >= 1", b);
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s'; DCR or CRD expected", mode);
    set_unknown(out[0], x->dtype, 4);
    if (x->rank < 0) return INGOT_OK;
    if (x->rank != 4)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input must be 4-D; it has rank %d", x->rank);
    int64_t c = x->dims[1];
    if (c >= 0 && c % (b * b) != 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "channels %" PRId64 " are not divisible by "
                            "blocksize^2 = %" PRId64, c, b * b);
    out[0]->dims[0] = x->dims[0];
    out[0]->dims[1] = c < 0 ? -1 : c / (b * b);
    ING_TRY(dim_mul(node, x->dims[2], b, &out[0]->dims[2]));
    ING_TRY(dim_mul(node, x->dims[3], b, &out[0]->dims[3]));
    return INGOT_OK;
}

static ingot_status infer_space_to_depth(const ir_node *node, const ing_tensor *const *in, int n_in,
                                         ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    int64_t b = ir_attr_int(node, "blocksize", 0);
    if (b < 1 || b > (1 << 20))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "blocksize = %" PRId64 "; must be >= 1", b);
    set_unknown(out[0], x->dtype, 4);
    if (x->rank < 0) return INGOT_OK;
    if (x->rank != 4)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input must be 4-D; it has rank %d", x->rank);
    for (int i = 2; i < 4; i++)
        if (x->dims[i] >= 0 && x->dims[i] % b != 0)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "dim %d (%" PRId64 ") is not divisible by "
                                "blocksize %" PRId64, i, x->dims[i], b);
    out[0]->dims[0] = x->dims[0];
    ING_TRY(dim_mul(node, x->dims[1], b * b, &out[0]->dims[1]));
    out[0]->dims[2] = x->dims[2] < 0 ? -1 : x->dims[2] / b;
    out[0]->dims[3] = x->dims[3] < 0 ? -1 : x->dims[3] / b;
    return INGOT_OK;
}

/* ---- Data-dependent: Compress, NonZero, Unique ------------------------------------------------- */

static ingot_status infer_compress(const ir_node *node, const ing_tensor *const *in, int n_in,
                                   ing_tensor *const *out, int n_out)
{
    NEED(2);
    const ing_tensor *x = in[0], *cond = in[1];
    ing_tensor *o = out[0];
    if (cond->rank >= 0 && cond->rank != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "condition must be 1-D; it has rank %d",
                            cond->rank);
    if (cond->dtype != INGOT_DTYPE_BOOL)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "condition has dtype %s; bool expected",
                            ingot_dtype_name((ingot_dtype)cond->dtype));
    const ir_attr *aa = ir_attr_find(node, "axis");
    int32_t a = -1;
    if (aa) {
        if (x->rank < 0) {
            set_unknown(o, x->dtype, -1);
            return INGOT_OK;
        }
        ING_TRY(ir_norm_axis(node, aa->i, x->rank, &a));
        if (x->rank == 0) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input is a scalar");
        ir_copy_desc(o, x);
    } else {
        set_unknown(o, x->dtype, 1);
    }
    int64_t len = a >= 0 ? x->dims[a] : ing_numel(x);
    int64_t *slot = a >= 0 ? &o->dims[a] : &o->dims[0];
    *slot = -1;
    if (!val_known(cond) || len < 0) return INGOT_OK;
    int64_t n = ing_numel(cond), cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!ing_load_i64(cond->dtype, cond->data, (size_t)i)) continue;
        if (i >= len)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "condition[%" PRId64 "] is true but the "
                                "compressed axis has only %" PRId64 " entries", i, len);
        cnt++;
    }
    *slot = cnt;
    return INGOT_OK;
}

static ingot_status infer_nonzero(const ir_node *node, const ing_tensor *const *in, int n_in,
                                  ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    set_unknown(out[0], INGOT_DTYPE_I64, 2);
    out[0]->dims[0] = x->rank;
    if (!val_known(x)) return INGOT_OK;
    int64_t n = ing_numel(x), cnt = 0;
    int fl = ing_dtype_is_float(x->dtype);
    for (int64_t i = 0; i < n; i++)
        cnt += fl ? ing_load_f64(x->dtype, x->data, (size_t)i) != 0.0
                  : ing_load_u64(x->dtype, x->data, (size_t)i) != 0;
    out[0]->dims[1] = cnt;
    return INGOT_OK;
}

/* Element comparison for Unique: integers exactly, floats by value (NaN sorts last). */
static int cmp_elem(int dt, const void *base, size_t i, size_t j)
{
    if (ing_dtype_is_float(dt)) {
        double a = ing_load_f64(dt, base, i), b = ing_load_f64(dt, base, j);
        if (a < b) return -1;
        if (a > b) return 1;
        if (a == b) return 0;
        return (a != a) - (b != b);
    }
    if (dt == INGOT_DTYPE_U64) {
        uint64_t a = ing_load_u64(dt, base, i), b = ing_load_u64(dt, base, j);
        return a < b ? -1 : a > b;
    }
    int64_t a = ing_load_i64(dt, base, i), b = ing_load_i64(dt, base, j);
    return a < b ? -1 : a > b;
}

typedef struct uq_ctx {
    int dt;
    const void *data;
    int64_t outer, n, inner;
} uq_ctx;

/* Lexicographic comparison of slices i and j along the axis (numpy.unique's order). */
static int uq_cmp(const uq_ctx *c, int64_t i, int64_t j)
{
    for (int64_t o = 0; o < c->outer; o++)
        for (int64_t k = 0; k < c->inner; k++) {
            int r = cmp_elem(c->dt, c->data, (size_t)((o * c->n + i) * c->inner + k),
                             (size_t)((o * c->n + j) * c->inner + k));
            if (r) return r;
        }
    return 0;
}

/* Stable merge sort of ids by key (key == NULL: by slice). */
static void uq_sort(const uq_ctx *c, const int64_t *key, int64_t *a, int64_t *tmp, int64_t n)
{
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int le = key ? key[a[i]] <= key[a[j]] : uq_cmp(c, a[i], a[j]) <= 0;
                tmp[k++] = le ? a[i++] : a[j++];
            }
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
}

ingot_status ir_shape_unique_groups(const ir_node *node, const ing_tensor *x, int32_t axis,
                                    int sorted, int64_t *n_items, int64_t *n_unique,
                                    int64_t **first, int64_t **inverse, int64_t **counts)
{
    uq_ctx c = {x->dtype, x->data, 1, ing_numel(x), 1};
    if (axis >= 0) {
        c.n = x->dims[axis];
        for (int i = 0; i < axis; i++) c.outer *= x->dims[i];
        for (int i = axis + 1; i < x->rank; i++) c.inner *= x->dims[i];
    }
    int64_t n = c.n;
    size_t bytes;
    if ((uint64_t)n > SIZE_MAX / 4 || ing_mul_fits((size_t)n + 1, sizeof(int64_t), &bytes) == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "too many items (%" PRId64 ")", n);
    int64_t *ids = ing_malloc(bytes), *tmp = ing_malloc(bytes), *inv = ing_malloc(bytes);
    int64_t *fst = ing_malloc(bytes), *cnt = ing_malloc(bytes), *rank = ing_malloc(bytes);
    ingot_status st = INGOT_OK;
    if (!ids || !tmp || !inv || !fst || !cnt || !rank) {
        st = IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory grouping %" PRId64 " items", n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) ids[i] = i;
    uq_sort(&c, NULL, ids, tmp, n);
    int64_t u = 0;
    for (int64_t s = 0; s < n; s++) {
        if (s == 0 || uq_cmp(&c, ids[s - 1], ids[s]) != 0) {
            fst[u] = ids[s]; /* stable sort: the earliest item of its group */
            cnt[u++] = 0;
        }
        inv[ids[s]] = u - 1;
        cnt[u - 1]++;
    }
    if (!sorted) { /* reorder groups by first occurrence */
        for (int64_t g = 0; g < u; g++) ids[g] = g;
        uq_sort(&c, fst, ids, tmp, u);
        for (int64_t g = 0; g < u; g++) rank[ids[g]] = g;
        for (int64_t g = 0; g < u; g++) tmp[g] = fst[ids[g]];
        memcpy(fst, tmp, (size_t)u * sizeof *fst);
        for (int64_t g = 0; g < u; g++) tmp[g] = cnt[ids[g]];
        memcpy(cnt, tmp, (size_t)u * sizeof *cnt);
        for (int64_t i = 0; i < n; i++) inv[i] = rank[inv[i]];
    }
    *n_items = n;
    *n_unique = u;
    if (first) *first = fst, fst = NULL;
    if (inverse) *inverse = inv, inv = NULL;
    if (counts) *counts = cnt, cnt = NULL;
done:
    ing_free(ids);
    ing_free(tmp);
    ing_free(inv);
    ing_free(fst);
    ing_free(cnt);
    ing_free(rank);
    return st;
}

static ingot_status infer_unique(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    NEED(1);
    const ing_tensor *x = in[0];
    const ir_attr *aa = ir_attr_find(node, "axis");
    int32_t a = -1;
    if (aa && x->rank >= 0) {
        ING_TRY(ir_norm_axis(node, aa->i, x->rank, &a));
        if (x->rank == 0) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "axis given for a scalar input");
    }
    int64_t n = -1, u = -1;
    if (val_known(x)) {
        ING_TRY(ir_shape_unique_groups(node, x, a, (int)ir_attr_int(node, "sorted", 1), &n, &u, NULL,
                                       NULL, NULL));
    } else if (x->rank >= 0) {
        n = a >= 0 ? x->dims[a] : ing_numel(x);
    }
    if (out[0]) {
        if (aa) {
            ir_copy_desc(out[0], x);
            if (a >= 0) out[0]->dims[a] = u;
        } else {
            set_unknown(out[0], x->dtype, 1);
            out[0]->dims[0] = u;
        }
    }
    for (int j = 1; j < n_out && j < 4; j++) {
        if (!out[j]) continue;
        set_unknown(out[j], INGOT_DTYPE_I64, 1);
        out[j]->dims[0] = j == 2 ? n : u;
    }
    return INGOT_OK;
}

const ir_op_def ir_ops_shape[] = {
    {"Shape", infer_shape_op},
    {"Size", infer_size},
    {"Reshape", infer_reshape},
    {"Flatten", infer_flatten},
    {"Squeeze", infer_squeeze},
    {"Unsqueeze", infer_unsqueeze},
    {"Transpose", infer_transpose},
    {"Concat", infer_concat},
    {"Split", infer_split},
    {"Slice", infer_slice},
    {"Gather", infer_gather},
    {"GatherElements", infer_gather_elements},
    {"GatherND", infer_gather_nd},
    {"ScatterElements", infer_scatter_elements},
    {"Scatter", infer_scatter_elements},
    {"ScatterND", infer_scatter_nd},
    {"Expand", infer_expand},
    {"Tile", infer_tile},
    {"Pad", infer_pad},
    {"CenterCropPad", infer_center_crop_pad},
    {"ConstantOfShape", infer_constant_of_shape},
    {"Range", infer_range},
    {"EyeLike", infer_eye_like},
    {"OneHot", infer_one_hot},
    {"Trilu", infer_trilu},
    {"ReverseSequence", infer_reverse_sequence},
    {"DepthToSpace", infer_depth_to_space},
    {"SpaceToDepth", infer_space_to_depth},
    {"Compress", infer_compress},
    {"NonZero", infer_nonzero},
    {"Unique", infer_unique},
    {NULL, NULL},
};
