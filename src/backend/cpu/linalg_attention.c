/* CPU kernels for attention-style ops: Attention (opset 23-25), LinearAttention, RotaryEmbedding,
 * SwiGLU and TensorScatter.
 *
 * Attention widens Q, K, V to f32 in head-major layout ([B, H, S, D], past keys/values first), then
 * per (batch, query head) runs QK^T and PV through cblas_sgemm with a max-subtracted softmax in
 * between. (batch, head) pairs run in parallel with OpenMP when the work is large; each thread has
 * its own score rows. The mask bias (attn_mask, causal, window, padding) is computed per row. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/dtype.h"

ingot_status cpu_linalg_attention(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                  int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_linear_attention(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                         int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_rotary(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_swiglu(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_tensorscatter(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                      int n_in, ing_tensor *const *out, int n_out);

static const ing_tensor *opt_in(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

static inline float ldf(int dt, const void *p, size_t i)
{
    switch (dt) {
    case INGOT_DTYPE_F32: return ((const float *)p)[i];
    case INGOT_DTYPE_F16: return ing_f16_to_f32(((const uint16_t *)p)[i]);
    case INGOT_DTYPE_BF16: return ing_bf16_to_f32(((const uint16_t *)p)[i]);
    case INGOT_DTYPE_F64: return (float)((const double *)p)[i];
    default: return (float)ing_load_f64(dt, p, i);
    }
}

static inline void stf(int dt, void *p, size_t i, float v)
{
    switch (dt) {
    case INGOT_DTYPE_F32: ((float *)p)[i] = v; break;
    case INGOT_DTYPE_F16: ((uint16_t *)p)[i] = ing_f32_to_f16(v); break;
    case INGOT_DTYPE_BF16: ((uint16_t *)p)[i] = ing_f32_to_bf16(v); break;
    case INGOT_DTYPE_F64: ((double *)p)[i] = v; break;
    default: ing_store_f64(dt, p, i, v); break;
    }
}

/* v rounded to dtype dt's precision (the reference rounds its intermediates there). */
static inline float rnd(int dt, float v)
{
    if (dt == INGOT_DTYPE_F16) return ing_f16_to_f32(ing_f32_to_f16(v));
    if (dt == INGOT_DTYPE_BF16) return ing_bf16_to_f32(ing_f32_to_bf16(v));
    return v;
}

/* Bytes for a product of counts times sz; 0 on overflow. */
static size_t bytes3(int64_t a, int64_t b, size_t sz)
{
    if (a < 0 || b < 0) return 0;
    if (b != 0 && (uint64_t)a > (uint64_t)INT64_MAX / (uint64_t)b) return 0;
    uint64_t n = (uint64_t)(a * b);
    if (n > SIZE_MAX / sz) return 0;
    return n ? (size_t)n * sz : sz;
}

/* ---- Attention -------------------------------------------------------------------------- */

typedef struct attn_shape {
    int r3;                       /* 3-D inputs */
    int64_t b, hq, hkv, sq, skv, past, t, dh, dv;
} attn_shape;

/* Element index of row (b, h, s) of a K/V-like input (head size d) in its own layout; a 3-D input's
 * sequence rows are `row` elements apart (heads * d, or 3E for the packed form's slices). */
static int64_t kv_row(const attn_shape *s, int64_t b, int64_t h, int64_t seq, int64_t len, int64_t heads,
                      int64_t d, int64_t row)
{
    if (s->r3) return (b * len + seq) * row + h * d;
    return ((b * heads + h) * len + seq) * d;
}

/* Write present = concat(past, new) along the sequence in [B, Hkv, T, D] layout, bytes copied. */
static void write_present(const attn_shape *s, const ing_tensor *past, const ing_tensor *cur, ing_tensor *dst,
                          int64_t d, int64_t cur_row)
{
    size_t es = ingot_dtype_size(dst->dtype), row = (size_t)d * es;
    char *o = dst->data;
    for (int64_t b = 0; b < s->b; b++)
        for (int64_t h = 0; h < s->hkv; h++)
            for (int64_t t = 0; t < s->t; t++) {
                int64_t at = t < s->past ? ((b * s->hkv + h) * s->past + t) * d
                                         : kv_row(s, b, h, t - s->past, s->skv, s->hkv, d, cur_row);
                const char *src = (const char *)(t < s->past ? past->data : cur->data) + (size_t)at * es;
                memcpy(o + (size_t)(((b * s->hkv + h) * s->t + t)) * row, src, row);
            }
}

/* Gather K or V (with past) into f32 [B, Hkv, T, D], each value multiplied by mul and rounded to
 * the input dtype (as the reference scales K in its own precision). */
static void gather_kv(const attn_shape *s, const ing_tensor *past, const ing_tensor *cur, float *dst, int64_t d,
                      int64_t cur_row, float mul)
{
    int dt = cur->dtype;
    for (int64_t b = 0; b < s->b; b++)
        for (int64_t h = 0; h < s->hkv; h++)
            for (int64_t t = 0; t < s->t; t++) {
                float *o = dst + ((b * s->hkv + h) * s->t + t) * d;
                const void *base;
                int64_t off;
                if (t < s->past) {
                    base = past->data;
                    off = ((b * s->hkv + h) * s->past + t) * d;
                } else {
                    base = cur->data;
                    off = kv_row(s, b, h, t - s->past, s->skv, s->hkv, d, cur_row);
                }
                if (mul == 1.0f)
                    for (int64_t i = 0; i < d; i++) o[i] = ldf(dt, base, (size_t)(off + i));
                else
                    for (int64_t i = 0; i < d; i++) o[i] = rnd(dt, ldf(dt, base, (size_t)(off + i)) * mul);
            }
}

ingot_status cpu_linalg_attention(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                  int n_in, ing_tensor *const *out, int n_out)
{
    /* The packed form (qkv_packed) reads Q, K, V as slices of one [B, S, 3E] tensor in place. */
    ing_tensor sl[3];
    int64_t prow = 0;
    int packed = ir_attention_slices(node, in, n_in, sl, &prow);
    if (packed < 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "qkv_packed = 1 but Q, K, V are not one 3-D [B, S, 3E] shape");
    const ing_tensor *q = packed ? &sl[0] : in[0], *k = packed ? &sl[1] : in[1], *v = packed ? &sl[2] : in[2];
    const ing_tensor *mask = opt_in(in, n_in, 3), *pk = opt_in(in, n_in, 4), *pv = opt_in(in, n_in, 5);
    const ing_tensor *nonpad = opt_in(in, n_in, 6);
    ing_tensor *y = out[0];
    ing_tensor *present_k = n_out > 1 ? out[1] : NULL, *present_v = n_out > 2 ? out[2] : NULL;
    ing_tensor *qk_out = n_out > 3 ? out[3] : NULL;
    attn_shape s = {0};
    s.r3 = q->rank == 3;
    s.b = q->dims[0];
    if (s.r3) {
        s.hq = ir_attr_int(node, "q_num_heads", 0);
        s.hkv = ir_attr_int(node, "kv_num_heads", 0);
        s.sq = q->dims[1];
        s.skv = k->dims[1];
        s.dh = q->dims[2] / s.hq;
        s.dv = v->dims[2] / s.hkv;
    } else {
        s.hq = q->dims[1];
        s.hkv = k->dims[1];
        s.sq = q->dims[2];
        s.skv = k->dims[2];
        s.dh = q->dims[3];
        s.dv = v->dims[3];
    }
    if (s.hkv <= 0 || s.hq % s.hkv)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "q heads %lld is not a multiple of kv heads %lld",
                            (long long)s.hq, (long long)s.hkv);
    s.past = pk ? pk->dims[2] : 0;
    s.t = s.past + s.skv;
    int64_t group = s.hq / s.hkv;

    const ir_attr *sa = ir_attr_find(node, "scale");
    double scale = sa ? (double)sa->f : 1.0 / sqrt((double)s.dh);
    float sqs = rnd(q->dtype, (float)sqrt(scale));
    float softcap = ir_attr_float(node, "softcap", 0.0f);
    int causal = ir_attr_int(node, "is_causal", 0) != 0;
    int64_t mode = ir_attr_int(node, "qk_matmul_output_mode", 0);
    int64_t lw = ir_attr_int(node, "left_window_size", -1), rw = ir_attr_int(node, "right_window_size", -1);

    int64_t qrow = packed ? prow : s.hq * s.dh, krow = packed ? prow : s.hkv * s.dh;
    int64_t vrow = packed ? prow : s.hkv * s.dv;
    if (present_k) write_present(&s, pk, k, present_k, s.dh, krow);
    if (present_v) write_present(&s, pv, v, present_v, s.dv, vrow);

    /* Per-thread workspace: a score block [Sq, T] and an output block [Sq, Dv]. */
    int nthr = omp_get_max_threads();
    if (nthr < 1) nthr = 1;
    int64_t per_thr = s.sq * s.t + s.sq * s.dv;
    float *qf = cpu_scratch(x, 0, bytes3(s.b * s.hq, s.sq * s.dh, 4));
    float *kf = cpu_scratch(x, 1, bytes3(s.b * s.hkv, s.t * s.dh, 4));
    float *vf = cpu_scratch(x, 2, bytes3(s.b * s.hkv, s.t * s.dv, 4));
    float *ws = cpu_scratch(x, 3, bytes3(nthr, per_thr, 4));
    if (!qf || !kf || !vf || !ws)
        return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no scratch for attention (B=%lld, heads=%lld, T=%lld)",
                            (long long)s.b, (long long)s.hq, (long long)s.t);
    /* Q scaled by sqrt(scale) in [B, Hq, Sq, Dh]. */
    for (int64_t b = 0; b < s.b; b++)
        for (int64_t h = 0; h < s.hq; h++)
            for (int64_t i = 0; i < s.sq; i++) {
                float *o = qf + ((b * s.hq + h) * s.sq + i) * s.dh;
                int64_t off = kv_row(&s, b, h, i, s.sq, s.hq, s.dh, qrow);
                for (int64_t d = 0; d < s.dh; d++) o[d] = rnd(q->dtype, ldf(q->dtype, q->data, (size_t)(off + d)) * sqs);
            }
    gather_kv(&s, pk, k, kf, s.dh, krow, sqs);
    gather_kv(&s, pv, v, vf, s.dv, vrow, 1.0f);

    /* attn_mask broadcast: element strides for (b, h, i), right-aligned to (B, Hq, Sq, T). */
    int64_t mstr[3] = {0, 0, 0}, mlen = 0;
    if (mask) {
        int mr = mask->rank;
        mlen = mask->dims[mr - 1];
        int64_t st = mlen;
        for (int d = mr - 2; d >= 0; d--) {
            int pos = 4 - mr + d; /* 0=b, 1=h, 2=i */
            if (mask->dims[d] != 1) mstr[pos] = st;
            st *= mask->dims[d];
        }
    }
    const int64_t *np = nonpad ? nonpad->data : NULL;
    int64_t groups = s.b * s.hq;
    int64_t work = groups * s.sq * s.t * (s.dh + s.dv);
    int mask_bool = mask && mask->dtype == INGOT_DTYPE_BOOL;
    /* The softmax runs at softmax_precision when given (rounded there), else at Q's dtype. */
    int qdt = q->dtype;
    int sdt = (int)ir_attr_int(node, "softmax_precision", qdt);
    if (sdt != INGOT_DTYPE_F16 && sdt != INGOT_DTYPE_BF16) sdt = INGOT_DTYPE_F32;

    /* Heads run in parallel when each one's products are small enough that OpenBLAS would run
     * them on one thread anyway (its cut-off is about 64^3 multiply-adds); larger ones go one
     * after another and OpenBLAS threads each product. */
    int64_t per_group = s.sq * s.t * (s.dh > s.dv ? s.dh : s.dv);
    int par = groups > 1 && work >= 32768 && per_group < 64 * 64 * 64;
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int64_t g = 0; g < groups; g++) {
        int64_t b = g / s.hq, h = g % s.hq, hk = h / group;
        float *sc = ws + (int64_t)omp_get_thread_num() * per_thr;
        float *ob = sc + s.sq * s.t;
        const float *qg = qf + g * s.sq * s.dh;
        const float *kg = kf + (b * s.hkv + hk) * s.t * s.dh;
        const float *vg = vf + (b * s.hkv + hk) * s.t * s.dv;
        if (s.sq > 0 && s.t > 0) {
            if (s.dh > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s.sq, (int)s.t, (int)s.dh, 1.0f, qg,
                            (int)s.dh, kg, (int)s.dh, 0.0f, sc, (int)s.t);
            else
                memset(sc, 0, sizeof(float) * (size_t)(s.sq * s.t));
        }
        int64_t offset = pk ? s.past : np ? np[b] - s.sq : 0;
        for (int64_t i = 0; i < s.sq; i++) {
            float *row = sc + i * s.t;
            size_t qk_base = (size_t)((g * s.sq + i) * s.t);
            /* Half types round each intermediate to the dtype (rnd), as the reference computes
             * in that precision; for f32 rnd is the identity. */
            for (int64_t j = 0; j < s.t; j++) row[j] = rnd(qdt, row[j]);
            /* Mode 0 is the raw product even with softcap, as the spec says (the Python
             * reference returns the capped value there; no backend test depends on it). */
            if (softcap > 0.0f)
                for (int64_t j = 0; j < s.t; j++) {
                    if (qk_out && mode == 0) stf(qk_out->dtype, qk_out->data, qk_base + (size_t)j, row[j]);
                    row[j] = rnd(qdt, softcap * rnd(qdt, tanhf(rnd(qdt, row[j] / softcap))));
                }
            if (qk_out && (mode == 1 || (mode == 0 && softcap <= 0.0f)))
                for (int64_t j = 0; j < s.t; j++) stf(qk_out->dtype, qk_out->data, qk_base + (size_t)j, row[j]);
            int64_t mbase = b * mstr[0] + h * mstr[1] + i * mstr[2];
            int64_t p = offset + i; /* absolute query position */
            float bmax = -INFINITY;
            for (int64_t j = 0; j < s.t; j++) {
                float bias = 0.0f;
                if (mask) {
                    if (j >= mlen) bias = -INFINITY;
                    else if (mask_bool) bias = ((const uint8_t *)mask->data)[mbase + j] ? 0.0f : -INFINITY;
                    else bias = ldf(mask->dtype, mask->data, (size_t)(mbase + j));
                }
                if (causal && j > p) bias = -INFINITY;
                if (lw >= 0 && p - j > lw) bias = -INFINITY;
                if (rw >= 0 && j - p > rw) bias = -INFINITY;
                if (np && j >= np[b]) bias = -INFINITY;
                row[j] = rnd(qdt, row[j] + bias);
                if (bias > bmax || isnan(bias)) bmax = bias;
            }
            if (qk_out && mode == 2)
                for (int64_t j = 0; j < s.t; j++) stf(qk_out->dtype, qk_out->data, qk_base + (size_t)j, row[j]);
            /* Softmax; a row whose bias masks every key is all zeros (the spec's guard). */
            float mx = -INFINITY;
            for (int64_t j = 0; j < s.t; j++)
                if (row[j] > mx) mx = row[j];
            if (bmax == -INFINITY || mx == -INFINITY) {
                memset(row, 0, sizeof(float) * (size_t)s.t);
            } else {
                float sum = 0.0f;
                for (int64_t j = 0; j < s.t; j++) {
                    row[j] = rnd(sdt, expf(rnd(sdt, rnd(sdt, row[j]) - mx)));
                    sum += row[j];
                }
                if (sdt == INGOT_DTYPE_F32 && qdt == INGOT_DTYPE_F32) {
                    float inv = 1.0f / sum;
                    for (int64_t j = 0; j < s.t; j++) row[j] *= inv;
                } else {
                    sum = rnd(sdt, sum);
                    for (int64_t j = 0; j < s.t; j++) row[j] = rnd(qdt, rnd(sdt, row[j] / sum));
                }
            }
            if (qk_out && mode == 3)
                for (int64_t j = 0; j < s.t; j++) stf(qk_out->dtype, qk_out->data, qk_base + (size_t)j, row[j]);
        }
        if (s.sq > 0 && s.dv > 0) {
            if (s.t > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s.sq, (int)s.dv, (int)s.t, 1.0f, sc,
                            (int)s.t, vg, (int)s.dv, 0.0f, ob, (int)s.dv);
            else
                memset(ob, 0, sizeof(float) * (size_t)(s.sq * s.dv));
        }
        for (int64_t i = 0; i < s.sq; i++) {
            int64_t off = s.r3 ? (b * s.sq + i) * s.hq * s.dv + h * s.dv : ((b * s.hq + h) * s.sq + i) * s.dv;
            for (int64_t d = 0; d < s.dv; d++) stf(y->dtype, y->data, (size_t)(off + d), ob[i * s.dv + d]);
        }
    }
    return INGOT_OK;
}

/* ---- LinearAttention -------------------------------------------------------------------- */

ingot_status cpu_linalg_linear_attention(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                         int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *q = in[0], *k = in[1], *v = in[2], *ps = opt_in(in, n_in, 3);
    const ing_tensor *decay = opt_in(in, n_in, 4), *beta = opt_in(in, n_in, 5);
    ing_tensor *y = out[0], *pres = n_out > 1 ? out[1] : NULL;
    int64_t hq = ir_attr_int(node, "q_num_heads", 0), hkv = ir_attr_int(node, "kv_num_heads", 0);
    int64_t bsz = q->dims[0], tl = q->dims[1], dk = q->dims[2] / hq, dv = v->dims[2] / hkv;
    int64_t group = hq / hkv;
    float scale = ir_attr_float(node, "scale", 0.0f);
    if (scale == 0.0f) scale = (float)(1.0 / sqrt((double)dk));
    int64_t dlast = decay ? decay->dims[2] : 0, blast = beta ? beta->dims[2] : 0;
    int per_key = decay && dlast != hkv; /* else one decay per head (infer allows only these two) */
    int64_t sz = dk * dv;
    int nthr = omp_get_max_threads();
    if (nthr < 1) nthr = 1;
    /* States for every (b, head) plus per-thread row buffers (retrieved/updated values). */
    float *st = cpu_scratch(x, 0, bytes3(bsz * hkv, sz, 4));
    float *tmp = cpu_scratch(x, 1, bytes3(nthr, dv > 0 ? dv : 1, 4));
    if (!st || !tmp) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no scratch for the recurrent state");
    int64_t pairs = bsz * hkv;

#pragma omp parallel for schedule(static) if (pairs * tl * sz * (group + 2) >= 32768)
    for (int64_t pi = 0; pi < pairs; pi++) {
        int64_t b = pi / hkv, hk = pi % hkv;
        float *S = st + pi * sz;
        float *u = tmp + (int64_t)omp_get_thread_num() * (dv > 0 ? dv : 1);
        for (int64_t i = 0; i < sz; i++) S[i] = ps ? ldf(ps->dtype, ps->data, (size_t)(pi * sz + i)) : 0.0f;
        for (int64_t t = 0; t < tl; t++) {
            size_t krow = (size_t)(((b * tl + t) * hkv + hk) * dk), vrow = (size_t)(((b * tl + t) * hkv + hk) * dv);
            if (decay) {
                size_t drow = (size_t)((b * tl + t) * dlast);
                for (int64_t d = 0; d < dk; d++) {
                    float gv = per_key ? ldf(decay->dtype, decay->data, drow + (size_t)(hk * dk + d))
                                       : ldf(decay->dtype, decay->data, drow + (size_t)hk);
                    float e = expf(gv);
                    for (int64_t m = 0; m < dv; m++) S[d * dv + m] *= e;
                }
            }
            for (int64_t m = 0; m < dv; m++) u[m] = ldf(v->dtype, v->data, vrow + (size_t)m);
            if (beta) {
                float bt = ldf(beta->dtype, beta->data, (size_t)((b * tl + t) * blast + (blast == 1 ? 0 : hk)));
                for (int64_t m = 0; m < dv; m++) {
                    float r = 0.0f;
                    for (int64_t d = 0; d < dk; d++) r += S[d * dv + m] * ldf(k->dtype, k->data, krow + (size_t)d);
                    u[m] = bt * (u[m] - r);
                }
            }
            for (int64_t d = 0; d < dk; d++) {
                float kd = ldf(k->dtype, k->data, krow + (size_t)d);
                for (int64_t m = 0; m < dv; m++) S[d * dv + m] += kd * u[m];
            }
            for (int64_t gq = 0; gq < group; gq++) {
                int64_t h = hk * group + gq;
                size_t qrow = (size_t)(((b * tl + t) * hq + h) * dk), orow = (size_t)(((b * tl + t) * hq + h) * dv);
                for (int64_t m = 0; m < dv; m++) {
                    float o = 0.0f;
                    for (int64_t d = 0; d < dk; d++) o += ldf(q->dtype, q->data, qrow + (size_t)d) * S[d * dv + m];
                    stf(y->dtype, y->data, orow + (size_t)m, scale * o);
                }
            }
        }
        if (pres)
            for (int64_t i = 0; i < sz; i++) stf(pres->dtype, pres->data, (size_t)(pi * sz + i), S[i]);
    }
    return INGOT_OK;
}

/* ---- RotaryEmbedding -------------------------------------------------------------------- */

ingot_status cpu_linalg_rotary(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    const ing_tensor *xt = in[0], *cc = in[1], *sc = in[2], *pos = opt_in(in, n_in, 3);
    ing_tensor *y = out[0];
    int r3 = xt->rank == 3;
    int64_t bsz = xt->dims[0], heads, seq, hd;
    if (r3) {
        heads = ir_attr_int(node, "num_heads", 0);
        seq = xt->dims[1];
        if (heads <= 0 || xt->dims[2] % heads)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "hidden size %lld is not a multiple of num_heads %lld",
                                (long long)xt->dims[2], (long long)heads);
        hd = xt->dims[2] / heads;
    } else {
        heads = xt->dims[1];
        seq = xt->dims[2];
        hd = xt->dims[3];
    }
    int64_t rot = ir_attr_int(node, "rotary_embedding_dim", 0);
    if (rot == 0) rot = hd;
    if (rot < 0 || rot > hd || rot % 2)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "rotary dim %lld must be even and within head size %lld",
                            (long long)rot, (long long)hd);
    int64_t half = rot / 2;
    int interleaved = ir_attr_int(node, "interleaved", 0) != 0;
    if (cc->dims[cc->rank - 1] != half || sc->dims[sc->rank - 1] != half || !ing_same_shape(cc, sc))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "cos/sin caches must have last dim %lld (rotary dim / 2) "
                            "and equal shapes; have %lld and %lld",
                            (long long)half, (long long)cc->dims[cc->rank - 1], (long long)sc->dims[sc->rank - 1]);
    int64_t max_pos = cc->dims[0];
    if (pos) {
        if (pos->dims[0] != bsz || pos->dims[1] != seq)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "position_ids is [%lld,%lld], must be [%lld,%lld]",
                                (long long)pos->dims[0], (long long)pos->dims[1], (long long)bsz, (long long)seq);
        const int64_t *pp = pos->data;
        for (int64_t i = 0; i < bsz * seq; i++)
            if (pp[i] < 0 || pp[i] >= max_pos)
                return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "position id %lld is outside the cache [0, %lld)",
                                    (long long)pp[i], (long long)max_pos);
    } else if (cc->dims[0] != bsz || cc->dims[1] != seq) {
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "without position_ids the caches must be [%lld,%lld,%lld]; "
                            "have [%lld,%lld,...]", (long long)bsz, (long long)seq, (long long)half,
                            (long long)cc->dims[0], (long long)cc->dims[1]);
    }
    int dt = xt->dtype;
    int64_t rows = bsz * seq * heads;
#pragma omp parallel for schedule(static) if (rows * hd >= 32768)
    for (int64_t r = 0; r < rows; r++) {
        int64_t b, s, h;
        if (r3) { b = r / (seq * heads); s = (r / heads) % seq; h = r % heads; }
        else { b = r / (seq * heads); h = (r / seq) % heads; s = r % seq; }
        int64_t off = r3 ? ((b * seq + s) * heads + h) * hd : ((b * heads + h) * seq + s) * hd;
        int64_t crow = (pos ? ((const int64_t *)pos->data)[b * seq + s] : b * seq + s) * half;
        for (int64_t i = 0; i < half; i++) {
            float c = ldf(dt, cc->data, (size_t)(crow + i)), sn = ldf(dt, sc->data, (size_t)(crow + i));
            int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
            float x1 = ldf(dt, xt->data, (size_t)(off + i1)), x2 = ldf(dt, xt->data, (size_t)(off + i2));
            /* products rounded to the dtype first, as the reference computes in it */
            stf(dt, y->data, (size_t)(off + i1), rnd(dt, c * x1) - rnd(dt, sn * x2));
            stf(dt, y->data, (size_t)(off + i2), rnd(dt, sn * x1) + rnd(dt, c * x2));
        }
        size_t es = ingot_dtype_size(dt);
        memcpy((char *)y->data + (size_t)(off + rot) * es, (const char *)xt->data + (size_t)(off + rot) * es,
               (size_t)(hd - rot) * es);
    }
    return INGOT_OK;
}

/* ---- SwiGLU ----------------------------------------------------------------------------- */

ingot_status cpu_linalg_swiglu(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = in[0], *b = in[1];
    if (!ing_same_shape(a, b))
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "A and B must have identical shapes");
    float alpha = ir_attr_float(node, "alpha", 1.0f);
    int64_t n = ing_numel(a);
    int dt = a->dtype;
    if (dt == INGOT_DTYPE_F32) {
        const float *pa = a->data, *pb = b->data;
        float *py = out[0]->data;
#pragma omp parallel for schedule(static) if (n >= 32768)
        for (int64_t i = 0; i < n; i++) py[i] = pa[i] / (1.0f + expf(-alpha * pa[i])) * pb[i];
    } else if (dt == INGOT_DTYPE_F64) {
        const double *pa = a->data, *pb = b->data;
        double *py = out[0]->data;
#pragma omp parallel for schedule(static) if (n >= 32768)
        for (int64_t i = 0; i < n; i++) py[i] = pa[i] / (1.0 + exp(-(double)alpha * pa[i])) * pb[i];
    } else {
        /* Round where the reference does: sigmoid, swish, product each in the input dtype. */
#pragma omp parallel for schedule(static) if (n >= 32768)
        for (int64_t i = 0; i < n; i++) {
            float av = ldf(dt, a->data, (size_t)i);
            float sg = rnd(dt, 1.0f / (1.0f + expf(-alpha * av)));
            stf(dt, out[0]->data, (size_t)i, rnd(dt, av * sg) * ldf(dt, b->data, (size_t)i));
        }
    }
    return INGOT_OK;
}

/* ---- TensorScatter ---------------------------------------------------------------------- */

ingot_status cpu_linalg_tensorscatter(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                      int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *past = in[0], *upd = in[1], *wi = opt_in(in, n_in, 2);
    ing_tensor *y = out[0];
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -2), past->rank, &axis));
    int circular = strcmp(ir_attr_string(node, "mode", "linear"), "circular") == 0;
    size_t es = ingot_dtype_size(past->dtype);
    memcpy(y->data, past->data, ing_nbytes(past));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= past->dims[d];
    for (int d = axis + 1; d < past->rank; d++) inner *= past->dims[d];
    int64_t maxs = past->dims[axis], seq = upd->dims[axis];
    int64_t per_batch = outer / (past->dims[0] ? past->dims[0] : 1);
    const int64_t *w = wi ? wi->data : NULL;
    for (int64_t o = 0; o < outer; o++) {
        int64_t b = per_batch ? o / per_batch : 0;
        int64_t start = w ? w[b] : 0;
        for (int64_t sI = 0; sI < seq; sI++) {
            int64_t c = start + sI;
            if (circular) {
                c %= maxs;
                if (c < 0) c += maxs;
            } else if (c < 0 || c >= maxs) {
                return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME,
                                    "write index %lld + %lld is outside the cache's %lld positions (batch %lld)",
                                    (long long)start, (long long)sI, (long long)maxs, (long long)b);
            }
            memcpy((char *)y->data + (size_t)((o * maxs + c) * inner) * es,
                   (const char *)upd->data + (size_t)((o * seq + sI) * inner) * es, (size_t)inner * es);
        }
    }
    return INGOT_OK;
}
