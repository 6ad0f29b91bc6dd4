/* CPU kernels for the shape family, part 2: ops driven by index or mask tensors (Gather,
 * GatherElements, GatherND, ScatterElements/Scatter, ScatterND, Compress, NonZero, Unique,
 * OneHot, ReverseSequence) and the generators (ConstantOfShape, Range, EyeLike, Trilu).
 * The table that lists them is in shape.c.
 *
 * Indices may be negative (they count from the end); one outside [-n, n) fails the run with
 * INGOT_ERR_RUNTIME before anything is written. Scatter reductions combine in the element's own
 * arithmetic: integers in 64-bit integer arithmetic, floats in double rounded once on store.
 */
#include <inttypes.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"
#include "ir/infer_shape.h"

#define SHAPE_PAR_MIN 32768

#define KERNEL(fn)                                                                                 \
    ingot_status fn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,       \
                    ing_tensor *const *out, int n_out)

static size_t esize(const ing_tensor *t) { return ingot_dtype_size((ingot_dtype)t->dtype); }

static int64_t idx_at(const ing_tensor *t, int64_t i)
{
    return t->dtype == INGOT_DTYPE_I32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

/* Index v into an axis of n: wrapped into [0, n), or -1 when out of range. */
static int64_t wrap_index(int64_t v, int64_t n)
{
    if (v < 0) v += n;
    return v >= 0 && v < n ? v : -1;
}

static ingot_status bad_index(const ir_node *node, const char *what, int64_t pos, int64_t v,
                              int64_t n)
{
    return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "%s[%" PRId64 "] = %" PRId64 " is out of range [-%"
                        PRId64 ", %" PRId64 ")", what, pos, v, n, n);
}

static void strides_of(const ing_tensor *t, int64_t *s)
{
    int64_t acc = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= t->dims[i];
    }
}

/* ---- Gather family ---------------------------------------------------------------------------- */

KERNEL(cpu_shape_gather)
{
    const ing_tensor *t = in[0], *idx = in[1];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), t->rank, &a));
    int64_t outer = 1, inner = 1, n = t->dims[a], ni = ing_numel(idx);
    for (int i = 0; i < a; i++) outer *= t->dims[i];
    for (int i = a + 1; i < t->rank; i++) inner *= t->dims[i];
    for (int64_t j = 0; j < ni; j++)
        if (wrap_index(idx_at(idx, j), n) < 0) return bad_index(node, "indices", j, idx_at(idx, j), n);
    size_t run = (size_t)inner * esize(t);
    if (!run) return INGOT_OK;
    const char *src = t->data;
    char *dst = out[0]->data;
    int64_t jobs = outer * ni;
#pragma omp parallel for if (jobs * inner >= SHAPE_PAR_MIN)
    for (int64_t job = 0; job < jobs; job++) {
        int64_t o = job / ni, j = job - o * ni, v = wrap_index(idx_at(idx, j), n);
        memcpy(dst + (size_t)job * run, src + (size_t)(o * n + v) * run, run);
    }
    return INGOT_OK;
}

KERNEL(cpu_shape_gather_elements)
{
    const ing_tensor *t = in[0], *idx = in[1];
    int32_t a, r = t->rank;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), r, &a));
    for (int i = 0; i < r; i++)
        if (i != a && idx->dims[i] > t->dims[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices dim %d is %" PRId64 ", larger than "
                                "data's %" PRId64, i, idx->dims[i], t->dims[i]);
    int64_t st[IR_MAX_RANK], c[IR_MAX_RANK] = {0}, ni = ing_numel(idx), n = t->dims[a];
    strides_of(t, st);
    size_t es = esize(t);
    const char *src = t->data;
    char *dst = out[0]->data;
    for (int64_t p = 0; p < ni; p++) {
        int64_t v = wrap_index(idx_at(idx, p), n);
        if (v < 0) return bad_index(node, "indices", p, idx_at(idx, p), n);
        int64_t off = 0;
        for (int i = 0; i < r; i++) off += (i == a ? v : c[i]) * st[i];
        memcpy(dst + (size_t)p * es, src + (size_t)off * es, es);
        for (int i = r - 1; i >= 0 && ++c[i] == idx->dims[i]; i--) c[i] = 0;
    }
    return INGOT_OK;
}

/* Offset (in elements of data, within one batch) of the index tuple idx[p*k .. p*k+k) over data
 * dims b..b+k; -1 with *bad set to the failing position when an index is out of range. */
static int64_t nd_offset(const ing_tensor *t, const int64_t *ix, int64_t b, int64_t k,
                         const int64_t *st, int64_t *bad)
{
    int64_t off = 0;
    for (int64_t j = 0; j < k; j++) {
        int64_t v = wrap_index(ix[j], t->dims[b + j]);
        if (v < 0) {
            *bad = j;
            return -1;
        }
        off += v * st[b + j];
    }
    return off;
}

KERNEL(cpu_shape_gather_nd)
{
    const ing_tensor *t = in[0], *idx = in[1];
    int64_t b = node->opset >= 12 ? ir_attr_int(node, "batch_dims", 0) : 0;
    int32_t q = idx->rank;
    int64_t k = idx->dims[q - 1], st[IR_MAX_RANK], nb = 1, per = 1, slice = 1;
    strides_of(t, st);
    for (int64_t i = 0; i < b; i++) nb *= idx->dims[i];
    for (int64_t i = b; i < q - 1; i++) per *= idx->dims[i];
    for (int64_t i = b + k; i < t->rank; i++) slice *= t->dims[i];
    int64_t bstride = b > 0 ? st[b - 1] : 0; /* elements per batch in data */
    size_t es = esize(t), run = (size_t)slice * es;
    const int64_t *ix = idx->data;
    const char *src = t->data;
    char *dst = out[0]->data;
    for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t p = 0; p < per; p++) {
            int64_t pos = bi * per + p, bad = 0;
            int64_t off = nd_offset(t, ix + pos * k, b, k, st, &bad);
            if (off < 0)
                return bad_index(node, "indices", pos * k + bad, ix[pos * k + bad],
                                 t->dims[b + bad]);
            if (run) memcpy(dst + (size_t)pos * run, src + (size_t)(bi * bstride + off) * es, run);
        }
    return INGOT_OK;
}

/* ---- Scatter family --------------------------------------------------------------------------- */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static int reduction_of(const ir_node *node)
{
    const char *s = ir_attr_string(node, "reduction", "none");
    return !strcmp(s, "add") ? RED_ADD : !strcmp(s, "mul") ? RED_MUL : !strcmp(s, "max") ? RED_MAX
         : !strcmp(s, "min") ? RED_MIN : RED_NONE;
}

/* dst[di] = dst[di] ∘ src[si] for n consecutive elements. */
static void combine(int dt, int red, char *dst, const char *src, int64_t n)
{
    size_t es = ingot_dtype_size((ingot_dtype)dt);
    if (red == RED_NONE) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        if (ing_dtype_is_float(dt)) {
            double a = ing_load_f64(dt, dst, (size_t)i), b = ing_load_f64(dt, src, (size_t)i), v;
            v = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (b > a ? b : a)
                                                                                : (b < a ? b : a);
            ing_store_f64(dt, dst, (size_t)i, v);
        } else if (dt == INGOT_DTYPE_U64) {
            uint64_t a = ing_load_u64(dt, dst, (size_t)i), b = ing_load_u64(dt, src, (size_t)i), v;
            v = red == RED_ADD ? a + b : red == RED_MUL ? a * b : red == RED_MAX ? (b > a ? b : a)
                                                                                : (b < a ? b : a);
            ing_store_u64(dt, dst, (size_t)i, v);
        } else {
            int64_t a = ing_load_i64(dt, dst, (size_t)i), b = ing_load_i64(dt, src, (size_t)i), v;
            /* Wrapping add/mul through uint64: int64 overflow must not be undefined behaviour. */
            v = red == RED_ADD   ? (int64_t)((uint64_t)a + (uint64_t)b)
              : red == RED_MUL   ? (int64_t)((uint64_t)a * (uint64_t)b)
              : red == RED_MAX   ? (b > a ? b : a)
                                 : (b < a ? b : a);
            ing_store_i64(dt, dst, (size_t)i, v);
        }
    }
}

KERNEL(cpu_shape_scatter_elements)
{
    const ing_tensor *t = in[0], *idx = in[1], *upd = in[2];
    int32_t a, r = t->rank;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 0), r, &a));
    for (int i = 0; i < r; i++)
        if (idx->dims[i] != upd->dims[i] || (i != a && idx->dims[i] > t->dims[i]))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "indices/updates dim %d (%" PRId64 "/%" PRId64
                                ") does not fit data's %" PRId64, i, idx->dims[i], upd->dims[i],
                                t->dims[i]);
    int red = node->opset >= 16 ? reduction_of(node) : RED_NONE;
    int64_t st[IR_MAX_RANK], c[IR_MAX_RANK] = {0}, ni = ing_numel(idx), n = t->dims[a];
    strides_of(t, st);
    size_t es = esize(t);
    for (int64_t p = 0; p < ni; p++)
        if (wrap_index(idx_at(idx, p), n) < 0) return bad_index(node, "indices", p, idx_at(idx, p), n);
    if (ing_nbytes(t)) memcpy(out[0]->data, t->data, ing_nbytes(t));
    char *dst = out[0]->data;
    const char *src = upd->data;
    for (int64_t p = 0; p < ni; p++) {
        int64_t v = wrap_index(idx_at(idx, p), n), off = 0;
        for (int i = 0; i < r; i++) off += (i == a ? v : c[i]) * st[i];
        combine(t->dtype, red, dst + (size_t)off * es, src + (size_t)p * es, 1);
        for (int i = r - 1; i >= 0 && ++c[i] == idx->dims[i]; i--) c[i] = 0;
    }
    return INGOT_OK;
}

KERNEL(cpu_shape_scatter_nd)
{
    const ing_tensor *t = in[0], *idx = in[1], *upd = in[2];
    int32_t q = idx->rank;
    int64_t k = idx->dims[q - 1], st[IR_MAX_RANK], np = 1, slice = 1;
    strides_of(t, st);
    for (int i = 0; i < q - 1; i++) np *= idx->dims[i];
    for (int64_t i = k; i < t->rank; i++) slice *= t->dims[i];
    if (ing_numel(upd) != np * slice)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "updates has %" PRId64 " elements; %" PRId64
                            " expected", ing_numel(upd), np * slice);
    int red = node->opset >= 16 ? reduction_of(node) : RED_NONE;
    const int64_t *ix = idx->data;
    for (int64_t p = 0; p < np; p++) {
        int64_t bad = 0;
        if (nd_offset(t, ix + p * k, 0, k, st, &bad) < 0)
            return bad_index(node, "indices", p * k + bad, ix[p * k + bad], t->dims[bad]);
    }
    size_t es = esize(t);
    if (ing_nbytes(t)) memcpy(out[0]->data, t->data, ing_nbytes(t));
    char *dst = out[0]->data;
    const char *src = upd->data;
    for (int64_t p = 0; p < np; p++) {
        int64_t bad = 0, off = nd_offset(t, ix + p * k, 0, k, st, &bad);
        if (slice) combine(t->dtype, red, dst + (size_t)off * es, src + (size_t)(p * slice) * es, slice);
    }
    return INGOT_OK;
}

/* ---- Compress, NonZero, Unique ----------------------------------------------------------------- */

KERNEL(cpu_shape_compress)
{
    const ing_tensor *t = in[0], *cond = in[1];
    const ir_attr *aa = ir_attr_find(node, "axis");
    int64_t outer = 1, n = ing_numel(t), inner = 1;
    if (aa) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, aa->i, t->rank, &a));
        n = t->dims[a];
        for (int i = 0; i < a; i++) outer *= t->dims[i];
        for (int i = a + 1; i < t->rank; i++) inner *= t->dims[i];
    }
    int64_t nc = ing_numel(cond), lim = nc < n ? nc : n, kept = 0;
    for (int64_t i = 0; i < lim; i++) kept += ((const uint8_t *)cond->data)[i] != 0;
    size_t run = (size_t)inner * esize(t);
    if (!run || !kept) return INGOT_OK;
    const char *src = t->data;
    char *dst = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < lim; i++)
            if (((const uint8_t *)cond->data)[i]) {
                memcpy(dst, src + (size_t)(o * n + i) * run, run);
                dst += run;
            }
    return INGOT_OK;
}

static int nonzero_at(int dt, const void *p, int64_t i)
{
    if (ing_dtype_is_float(dt)) return ing_load_f64(dt, p, (size_t)i) != 0.0;
    return ing_load_u64(dt, p, (size_t)i) != 0;
}

KERNEL(cpu_shape_nonzero)
{
    const ing_tensor *t = in[0];
    int64_t n = ing_numel(t), nnz = out[0]->dims[1], c = 0, pos[IR_MAX_RANK] = {0};
    int64_t *o = out[0]->data;
    for (int64_t i = 0; i < n; i++) {
        if (nonzero_at(t->dtype, t->data, i)) {
            if (c >= nnz)
                return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "more non-zeros than the %" PRId64
                                    " counted", nnz);
            for (int d = 0; d < t->rank; d++) o[d * nnz + c] = pos[d];
            c++;
        }
        for (int d = t->rank - 1; d >= 0 && ++pos[d] == t->dims[d]; d--) pos[d] = 0;
    }
    if (c != nnz)
        return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "found %" PRId64 " non-zeros, %" PRId64
                            " counted", c, nnz);
    return INGOT_OK;
}

KERNEL(cpu_shape_unique)
{
    const ing_tensor *t = in[0];
    const ir_attr *aa = ir_attr_find(node, "axis");
    int32_t a = -1;
    if (aa) ING_TRY(ir_norm_axis(node, aa->i, t->rank, &a));
    int64_t n = 0, u = 0, *first = NULL, *inv = NULL, *cnt = NULL;
    ING_TRY(ir_shape_unique_groups(node, t, a, (int)ir_attr_int(node, "sorted", 1), &n, &u, &first,
                                   &inv, &cnt));
    int64_t outer = 1, inner = 1;
    if (a >= 0) {
        for (int i = 0; i < a; i++) outer *= t->dims[i];
        for (int i = a + 1; i < t->rank; i++) inner *= t->dims[i];
    }
    size_t run = (size_t)inner * esize(t);
    if (out[0] && run)
        for (int64_t o = 0; o < outer; o++)
            for (int64_t g = 0; g < u; g++)
                memcpy((char *)out[0]->data + (size_t)(o * u + g) * run,
                       (const char *)t->data + (size_t)(o * n + first[g]) * run, run);
    if (n_out > 1 && out[1] && u) memcpy(out[1]->data, first, (size_t)u * sizeof(int64_t));
    if (n_out > 2 && out[2] && n) memcpy(out[2]->data, inv, (size_t)n * sizeof(int64_t));
    if (n_out > 3 && out[3] && u) memcpy(out[3]->data, cnt, (size_t)u * sizeof(int64_t));
    ing_free(first);
    ing_free(inv);
    ing_free(cnt);
    return INGOT_OK;
}

/* ---- OneHot, ReverseSequence, Trilu ------------------------------------------------------------ */

KERNEL(cpu_shape_one_hot)
{
    const ing_tensor *idx = in[0], *vals = in[2];
    ing_tensor *o = out[0];
    int32_t a;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), o->rank, &a));
    int64_t depth = o->dims[a], outer = 1, inner = 1;
    for (int i = 0; i < a; i++) outer *= o->dims[i];
    for (int i = a + 1; i < o->rank; i++) inner *= o->dims[i];
    size_t es = esize(o);
    const char *off = vals->data, *on = off + es;
    char *dst = o->data;
    int64_t total = ing_numel(o);
    for (int64_t i = 0; i < total; i++) memcpy(dst + (size_t)i * es, off, es);
    int fl = ing_dtype_is_float(idx->dtype);
    for (int64_t oi = 0; oi < outer; oi++)
        for (int64_t ii = 0; ii < inner; ii++) {
            size_t p = (size_t)(oi * inner + ii);
            /* Float indices truncate toward zero, as a cast to int64 would. */
            double fv = fl ? ing_load_f64(idx->dtype, idx->data, p) : 0.0;
            int64_t v = fl ? (fv > -9.2e18 && fv < 9.2e18 ? (int64_t)fv : INT64_MIN)
                           : ing_load_i64(idx->dtype, idx->data, p);
            if (v < 0 && v >= -depth) v += depth;
            if (v < 0 || v >= depth) continue; /* out of range: the row stays all off */
            memcpy(dst + (size_t)((oi * depth + v) * inner + ii) * es, on, es);
        }
    return INGOT_OK;
}

KERNEL(cpu_shape_reverse_sequence)
{
    const ing_tensor *t = in[0], *lens = in[1];
    int64_t ta = ir_attr_int(node, "time_axis", 0);
    int64_t T = t->dims[ta], B = t->dims[1 - ta], inner = 1;
    for (int i = 2; i < t->rank; i++) inner *= t->dims[i];
    if (ing_numel(lens) != B)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "sequence_lens has %" PRId64 " entries; batch is %"
                            PRId64, ing_numel(lens), B);
    size_t run = (size_t)inner * esize(t);
    const char *src = t->data;
    char *dst = out[0]->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t len = ing_load_i64(lens->dtype, lens->data, (size_t)b);
        if (len < 0 || len > T)
            return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "sequence_lens[%" PRId64 "] = %" PRId64
                                " is out of range [0, %" PRId64 "]", b, len, T);
        if (!run) continue;
        for (int64_t i = 0; i < T; i++) {
            int64_t j = i < len ? len - 1 - i : i;
            int64_t di = ta == 0 ? i * B + b : b * T + i, si = ta == 0 ? j * B + b : b * T + j;
            memcpy(dst + (size_t)di * run, src + (size_t)si * run, run);
        }
    }
    return INGOT_OK;
}

KERNEL(cpu_shape_trilu)
{
    const ing_tensor *t = in[0], *kt = n_in > 1 ? in[1] : NULL;
    int upper = (int)ir_attr_int(node, "upper", 1);
    int64_t N = t->dims[t->rank - 2], M = t->dims[t->rank - 1], k = 0;
    if (kt) k = ing_load_i64(kt->dtype, kt->data, 0);
    /* Beyond ±(N+M) every k keeps all or nothing; clamping keeps i + k from overflowing. */
    int64_t lim = N + M + 1;
    k = k > lim ? lim : k < -lim ? -lim : k;
    int64_t mats = (N > 0 && M > 0) ? ing_numel(t) / (N * M) : 0;
    size_t es = esize(t);
    const char *src = t->data;
    char *dst = out[0]->data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < N; i++) {
            /* Keep columns [lo, hi): upper keeps j >= i + k, lower keeps j <= i + k. */
            int64_t lo = upper ? i + k : 0, hi = upper ? M : i + k + 1;
            lo = lo < 0 ? 0 : lo > M ? M : lo;
            hi = hi < 0 ? 0 : hi > M ? M : hi;
            if (hi < lo) hi = lo;
            size_t row = (size_t)((m * N + i) * M) * es;
            memset(dst + row, 0, (size_t)lo * es);
            memcpy(dst + row + (size_t)lo * es, src + row + (size_t)lo * es, (size_t)(hi - lo) * es);
            memset(dst + row + (size_t)hi * es, 0, (size_t)(M - hi) * es);
        }
    return INGOT_OK;
}

/* ---- Generators -------------------------------------------------------------------------------- */

KERNEL(cpu_shape_constant_of_shape)
{
    ing_tensor *o = out[0];
    const ir_attr *va = ir_attr_find(node, "value");
    size_t es = esize(o);
    uint64_t zero = 0;
    const void *v = va && va->t.data ? va->t.data : &zero;
    int64_t n = ing_numel(o);
    char *dst = o->data;
    for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, v, es);
    return INGOT_OK;
}

KERNEL(cpu_shape_range)
{
    int dt = in[0]->dtype;
    ing_tensor *o = out[0];
    int64_t n = o->dims[0];
    if (ing_dtype_is_float(dt)) {
        double s = ing_load_f64(dt, in[0]->data, 0), d = ing_load_f64(dt, in[2]->data, 0);
        /* stash_type FLOAT (opset 27): low-precision ranges accumulate in f32, as the reference. */
        int f32 = ir_attr_int(node, "stash_type", INGOT_DTYPE_F64) == INGOT_DTYPE_F32 &&
                  (dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16);
        for (int64_t i = 0; i < n; i++) {
            double v = f32 ? (double)((float)s + (float)i * (float)d) : s + (double)i * d;
            ing_store_f64(dt, o->data, (size_t)i, v);
        }
    } else if (dt == INGOT_DTYPE_U64) {
        uint64_t s = ing_load_u64(dt, in[0]->data, 0), d = ing_load_u64(dt, in[2]->data, 0);
        for (int64_t i = 0; i < n; i++) ing_store_u64(dt, o->data, (size_t)i, s + (uint64_t)i * d);
    } else {
        int64_t s = ing_load_i64(dt, in[0]->data, 0), d = ing_load_i64(dt, in[2]->data, 0);
        for (int64_t i = 0; i < n; i++)
            ing_store_i64(dt, o->data, (size_t)i, (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d));
    }
    return INGOT_OK;
}

KERNEL(cpu_shape_eye_like)
{
    ing_tensor *o = out[0];
    int64_t N = o->dims[0], M = o->dims[1], k = ir_attr_int(node, "k", 0);
    if (ing_nbytes(o)) memset(o->data, 0, ing_nbytes(o));
    for (int64_t i = 0; i < N; i++) {
        if (k > M || k < -N) break;
        int64_t j = i + k;
        if (j >= 0 && j < M) ing_store_f64(o->dtype, o->data, (size_t)(i * M + j), 1.0);
    }
    return INGOT_OK;
}
