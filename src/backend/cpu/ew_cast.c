/* CPU kernels for dtype conversions: Cast, CastLike, BitCast, and the linear (de)quantization
 * ops QuantizeLinear, DequantizeLinear (per-tensor, per-axis and blocked; int8/uint8/int16/
 * uint16/int32) and DynamicQuantizeLinear. Registered in ew.c's table.
 *
 * Arithmetic follows the ONNX reference (numpy) so results match bit for bit: quantization
 * divides in the promoted dtype of x and scale, rounds half to even, adds the zero point and
 * saturates; dequantization computes (x - zero_point) * scale in float32.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/ew_internal.h"

#define EW_PAR_MIN 32768 /* elements: below this, threads cost more than they save */
#define CAST_CHUNK 16384

/* double -> float rounded to odd: a float with 2+ more bits than the target (half, bfloat16)
 * then rounds correctly in the second step, where plain (float) would round twice. */
static float f64_to_f32_odd(double d)
{
    float f = (float)d;
    if ((double)f != d && isfinite(f)) {
        uint32_t b;
        memcpy(&b, &f, 4);
        if (!(b & 1u)) f = nextafterf(f, d > (double)f ? INFINITY : -INFINITY);
    }
    return f;
}

static void cast_range(int sdt, const void *src, int ddt, void *dst, int64_t lo, int64_t hi)
{
    int sf = ing_dtype_is_float(sdt);
    for (int64_t k = lo; k < hi; k++) {
        size_t i = (size_t)k;
        if (ddt == INGOT_DTYPE_F16 || ddt == INGOT_DTYPE_BF16) {
            float f = sdt == INGOT_DTYPE_F32 ? ((const float *)src)[i]
                      : sdt == INGOT_DTYPE_F16 || sdt == INGOT_DTYPE_BF16
                          ? (float)ing_load_f64(sdt, src, i)
                          : f64_to_f32_odd(sdt == INGOT_DTYPE_U64 ? (double)ing_load_u64(sdt, src, i)
                                           : sf ? ing_load_f64(sdt, src, i)
                                                : (double)ing_load_i64(sdt, src, i));
            ((uint16_t *)dst)[i] = ddt == INGOT_DTYPE_F16 ? ing_f32_to_f16(f) : ing_f32_to_bf16(f);
        } else if (ddt == INGOT_DTYPE_F32 && !sf) {
            /* one rounding from the integer, not two through double */
            ((float *)dst)[i] = sdt == INGOT_DTYPE_U64 ? (float)ing_load_u64(sdt, src, i)
                                                       : (float)ing_load_i64(sdt, src, i);
        } else if (ing_dtype_is_float(ddt) || sf) {
            ing_store_f64(ddt, dst, i, ing_load_f64(sdt, src, i));
        } else if (sdt == INGOT_DTYPE_U64) {
            ing_store_u64(ddt, dst, i, ing_load_u64(sdt, src, i));
        } else {
            ing_store_i64(ddt, dst, i, ing_load_i64(sdt, src, i));
        }
    }
}

static void cast_elems(int sdt, const void *src, int ddt, void *dst, int64_t n)
{
    if (sdt == ddt) {
        memcpy(dst, src, (size_t)n * ingot_dtype_size((ingot_dtype)sdt));
        return;
    }
    if (sdt == INGOT_DTYPE_F16 && ddt == INGOT_DTYPE_F32) {
        const uint16_t *s = src;
        float *d = dst;
#pragma omp parallel for schedule(static) if (n >= EW_PAR_MIN)
        for (int64_t i = 0; i < n; i++) d[i] = ing_f16_to_f32(s[i]);
        return;
    }
    int64_t nchunk = (n + CAST_CHUNK - 1) / CAST_CHUNK;
#pragma omp parallel for schedule(static) if (n >= EW_PAR_MIN)
    for (int64_t c = 0; c < nchunk; c++) {
        int64_t lo = c * CAST_CHUNK, hi = lo + CAST_CHUNK < n ? lo + CAST_CHUNK : n;
        cast_range(sdt, src, ddt, dst, lo, hi);
    }
}

ingot_status cpu_ew_cast(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out)
{
    int sdt = in[0]->dtype, ddt = out[0]->dtype;
    if (!ing_dtype_valid(sdt) || !ing_dtype_valid(ddt))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "cast from dtype %d to %d is not supported",
                            sdt, ddt);
    cast_elems(sdt, in[0]->data, ddt, out[0]->data, ing_numel(in[0]));
    return INGOT_OK;
}

ingot_status cpu_ew_bitcast(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    size_t nb = ing_nbytes(in[0]);
    if (ing_nbytes(out[0]) != nb)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "output holds %zu bytes, input %zu", ing_nbytes(out[0]),
                            nb);
    if (nb) memcpy(out[0]->data, in[0]->data, nb); /* host is little-endian, as BitCast specifies */
    return INGOT_OK;
}

/* ---- quantization ------------------------------------------------------------------------ */

/* Where element (o, a, i) of x viewed as [outer, A, inner] around the axis finds its scale:
 * o*so + (a/bs)*sa + i*si. Per-tensor has every stride 0; per-axis sa=1; blocked is the
 * scale's own row-major layout. */
typedef struct qlayout {
    int64_t outer, A, inner, bs, so, sa, si;
} qlayout;

static ingot_status q_layout(const ir_node *node, const ing_tensor *x, const ing_tensor *s,
                             const ing_tensor *zp, qlayout *L)
{
    int64_t ns = ing_numel(s), n = ing_numel(x);
    char bx[96], bsc[96];
    if (zp && (ing_numel(zp) != ns || zp->rank != s->rank))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "zero point shape %s differs from scale shape %s",
                            ing_shape_str(zp, bx, sizeof bx), ing_shape_str(s, bsc, sizeof bsc));
    int64_t bs = ir_attr_int(node, "block_size", 0);
    if (bs < 0) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "block_size %lld is negative", (long long)bs);
    memset(L, 0, sizeof *L);
    if (ns == 1) {
        L->outer = 1;
        L->A = 1;
        L->inner = n;
        L->bs = 1;
        return INGOT_OK;
    }
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", 1), x->rank, &axis));
    L->outer = 1;
    L->inner = 1;
    for (int32_t d = 0; d < axis; d++) L->outer *= x->dims[d];
    for (int32_t d = axis + 1; d < x->rank; d++) L->inner *= x->dims[d];
    L->A = x->dims[axis];
    if (bs == 0) {
        if (s->rank != 1 || s->dims[0] != L->A)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "per-axis scale shape %s does not match input "
                                "%s on axis %d (needs [%lld])", ing_shape_str(s, bsc, sizeof bsc),
                                ing_shape_str(x, bx, sizeof bx), axis, (long long)L->A);
        L->bs = 1;
        L->sa = 1;
        return INGOT_OK;
    }
    int ok = s->rank == x->rank;
    for (int32_t d = 0; ok && d < x->rank; d++)
        ok = d == axis ? s->dims[d] == (x->dims[d] + bs - 1) / bs : s->dims[d] == x->dims[d];
    if (!ok)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "blocked scale shape %s does not fit input %s with "
                            "block_size %lld on axis %d", ing_shape_str(s, bsc, sizeof bsc),
                            ing_shape_str(x, bx, sizeof bx), (long long)bs, axis);
    L->bs = bs;
    L->sa = L->inner;
    L->so = s->dims[axis] * L->inner;
    L->si = 1;
    return INGOT_OK;
}

static ingot_status q_range(const ir_node *node, int dt, double *lo, double *hi)
{
    switch (dt) {
    case INGOT_DTYPE_U8: *lo = 0, *hi = 255; return INGOT_OK;
    case INGOT_DTYPE_I8: *lo = -128, *hi = 127; return INGOT_OK;
    case INGOT_DTYPE_U16: *lo = 0, *hi = 65535; return INGOT_OK;
    case INGOT_DTYPE_I16: *lo = -32768, *hi = 32767; return INGOT_OK;
    case INGOT_DTYPE_I32: *lo = -2147483648.0, *hi = 2147483647.0; return INGOT_OK;
    default:
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "quantized dtype %s is not supported (int8, "
                            "uint8, int16, uint16, int32 are)", ingot_dtype_name((ingot_dtype)dt));
    }
}

/* Scale and zero point as double arrays in scratch (they are small: one per block). */
static ingot_status q_params(cpu_exec *ex, const ir_node *node, const ing_tensor *s,
                             const ing_tensor *zp, double **sc, double **zv)
{
    int64_t ns = ing_numel(s);
    if (ns <= 0 || (uint64_t)ns > SIZE_MAX / 2 / sizeof(double))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "scale has %lld elements", (long long)ns);
    *sc = cpu_scratch(ex, 0, (size_t)ns * sizeof(double));
    *zv = cpu_scratch(ex, 1, (size_t)ns * sizeof(double));
    if (!*sc || !*zv) return INGOT_ERR_NOMEM;
    for (int64_t i = 0; i < ns; i++) {
        (*sc)[i] = ing_load_f64(s->dtype, s->data, (size_t)i);
        (*zv)[i] = zp ? ing_load_f64(zp->dtype, zp->data, (size_t)i) : 0.0;
    }
    return INGOT_OK;
}

ingot_status cpu_ew_quantize(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *s = in[1], *zp = n_in > 2 ? in[2] : NULL;
    ing_tensor *y = out[0];
    qlayout L;
    ING_TRY(q_layout(node, x, s, zp, &L));
    double qlo, qhi;
    ING_TRY(q_range(node, y->dtype, &qlo, &qhi));
    /* The division's dtype: `precision` when given, else numpy's promotion of x and scale. */
    int prec = (int)ir_attr_int(node, "precision", 0);
    if (prec == 0) {
        if (x->dtype == INGOT_DTYPE_I32 || s->dtype == INGOT_DTYPE_I32 || x->dtype == INGOT_DTYPE_F64)
            prec = INGOT_DTYPE_F64;
        else prec = x->dtype == s->dtype ? s->dtype : INGOT_DTYPE_F32;
    }
    if (!ing_dtype_is_float(prec))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "precision %d is not a float dtype", prec);
    double *sc, *zv;
    ING_TRY(q_params(ex, node, s, zp, &sc, &zv));
    int xdt = x->dtype, ydt = y->dtype;
    const void *xd = x->data;
    void *yd = y->data;
    int64_t rows = L.outer * L.A, total = rows * L.inner;
#pragma omp parallel for schedule(static) if (total >= EW_PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / L.A, a = r % L.A;
        int64_t base = o * L.so + (a / L.bs) * L.sa;
        for (int64_t i = 0; i < L.inner; i++) {
            size_t idx = (size_t)(r * L.inner + i);
            int64_t k = base + i * L.si;
            double xv = xdt == INGOT_DTYPE_F32 ? ((const float *)xd)[idx] : ing_load_f64(xdt, xd, idx);
            double q;
            if (prec == INGOT_DTYPE_F64) q = xv / sc[k];
            else {
                float qf = (float)xv / (float)sc[k];
                if (prec == INGOT_DTYPE_F16) qf = ing_f16_to_f32(ing_f32_to_f16(qf));
                else if (prec == INGOT_DTYPE_BF16) qf = ing_bf16_to_f32(ing_f32_to_bf16(qf));
                q = qf;
            }
            double v = nearbyint(q) + zv[k];
            if (!(v >= qlo)) v = qlo; /* NaN saturates low, as the reference's int cast does */
            if (v > qhi) v = qhi;
            ing_store_i64(ydt, yd, idx, (int64_t)v);
        }
    }
    return INGOT_OK;
}

ingot_status cpu_ew_dequantize(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *s = in[1], *zp = n_in > 2 ? in[2] : NULL;
    ing_tensor *y = out[0];
    if (zp && zp->dtype != x->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "zero point dtype %s differs from input dtype %s",
                            ingot_dtype_name((ingot_dtype)zp->dtype), ingot_dtype_name((ingot_dtype)x->dtype));
    if (!ing_dtype_is_int(x->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input dtype %s is not supported",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    qlayout L;
    ING_TRY(q_layout(node, x, s, zp, &L));
    double *sc, *zv;
    ING_TRY(q_params(ex, node, s, zp, &sc, &zv));
    int xdt = x->dtype, ydt = y->dtype;
    const void *xd = x->data;
    void *yd = y->data;
    /* The reference promotes int32 - int32 to float64; narrower types stay in float32. */
    int wide = xdt == INGOT_DTYPE_I32 && zp;
    int64_t rows = L.outer * L.A, total = rows * L.inner;
#pragma omp parallel for schedule(static) if (total >= EW_PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / L.A, a = r % L.A;
        int64_t base = o * L.so + (a / L.bs) * L.sa;
        for (int64_t i = 0; i < L.inner; i++) {
            size_t idx = (size_t)(r * L.inner + i);
            int64_t k = base + i * L.si;
            int64_t xv = ing_load_i64(xdt, xd, idx);
            double v;
            if (wide) v = ((double)(float)xv - zv[k]) * sc[k];
            else v = ((float)xv - (float)zv[k]) * (float)sc[k];
            if (ydt == INGOT_DTYPE_F32) ((float *)yd)[idx] = (float)v;
            else ing_store_f64(ydt, yd, idx, v);
        }
    }
    return INGOT_OK;
}

ingot_status cpu_ew_dynquantize(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    if (x->dtype != INGOT_DTYPE_F32)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "input dtype %s is not supported (float is)",
                            ingot_dtype_name((ingot_dtype)x->dtype));
    const float *xd = x->data;
    int64_t n = ing_numel(x);
    float mx = 0.0f, mn = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (xd[i] > mx) mx = xd[i];
        if (xd[i] < mn) mn = xd[i];
    }
    float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    float izp = 0.0f - mn / scale;
    float zp = izp < 0.0f ? 0.0f : izp > 255.0f ? 255.0f : izp;
    float zpi = nearbyintf(zp);
    if (out[0]) {
        uint8_t *y = out[0]->data;
#pragma omp parallel for schedule(static) if (n >= EW_PAR_MIN)
        for (int64_t i = 0; i < n; i++) {
            float v = nearbyintf(xd[i] / scale) + zpi;
            y[i] = (uint8_t)(!(v >= 0.0f) ? 0.0f : v > 255.0f ? 255.0f : v);
        }
    }
    if (n_out > 1 && out[1]) ((float *)out[1]->data)[0] = scale;
    if (n_out > 2 && out[2]) ((uint8_t *)out[2]->data)[0] = (uint8_t)zpi;
    return INGOT_OK;
}
