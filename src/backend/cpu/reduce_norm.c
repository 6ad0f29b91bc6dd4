/* CPU kernels for the normalizations (listed in reduce.c's table): LayerNormalization,
 * RMSNormalization, GroupNormalization, InstanceNormalization, BatchNormalization (inference and
 * training mode), LpNormalization, MeanVarianceNormalization and LRN.
 *
 * Statistics of f16/bf16/f32 inputs are computed in f32 over an f32 copy (f32 inputs are read in
 * place), of f64 inputs in f64; variances are two-pass (mean first), which stays accurate when
 * the mean is large against the spread. The rarely hot paths (BatchNormalization's training
 * statistics, Lp, MVN, LRN) compute in f64. Threads: OpenMP over independent rows or (n, group)
 * blocks once the work reaches PAR_MIN elements. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "backend/cpu/reduce_internal.h"

#define PAR_MIN 32768

/* scratch slots: 0 input copy, 1 output copy, 2 and 3 small parameter/statistics arrays */
enum { S_X = 0, S_Y = 1, S_P = 2, S_Q = 3 };

static ingot_status nomem(const ir_node *node, size_t bytes)
{
    return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for %zu bytes of workspace", bytes);
}

/* Bytes for n elements of size sz, or 0 on overflow (n is a product of known dims). */
static size_t bytes_of(int64_t n, size_t sz)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / sz) return 0;
    size_t b = (size_t)n * sz;
    return b > 0 ? b : sz; /* never ask scratch for 0 bytes */
}

/* ---- LayerNormalization / RMSNormalization ---- */

/* Expand a parameter that broadcasts (right-aligned) to the normalized shape dims[axis:] into a
 * D-long array of T. */
#define DEFINE_EXPAND(T)                                                                           \
    static void expand_##T(const ing_tensor *p, const ing_tensor *x, int axis, int64_t d, T *dst)  \
    {                                                                                              \
        int nr = x->rank - axis;                                                                   \
        int64_t pstr[IR_MAX_RANK];                                                                 \
        int64_t s = 1;                                                                             \
        for (int k = nr - 1; k >= 0; k--) { /* k indexes the normalized dims */                    \
            int pk = k - (nr - p->rank);                                                           \
            int64_t pd = pk >= 0 ? p->dims[pk] : 1;                                                \
            pstr[k] = pd == 1 ? 0 : s;                                                             \
            s *= pd;                                                                               \
        }                                                                                          \
        for (int64_t j = 0; j < d; j++) {                                                          \
            int64_t rem = j, off = 0;                                                              \
            for (int k = nr - 1; k >= 0; k--) {                                                    \
                int64_t xd = x->dims[axis + k];                                                    \
                off += (rem % xd) * pstr[k];                                                       \
                rem /= xd;                                                                         \
            }                                                                                      \
            dst[j] = (T)ing_load_f64(p->dtype, p->data, (size_t)off);                              \
        }                                                                                          \
    }
DEFINE_EXPAND(float)
DEFINE_EXPAND(double)

#define DEFINE_LN(T, SQRT)                                                                         \
    static void ln_##T(const T *x, T *y, int64_t m, int64_t d, const T *sc, const T *bi, T eps,    \
                       int rms, T *mean_out, T *inv_out)                                           \
    {                                                                                              \
        _Pragma("omp parallel for if (m * d >= PAR_MIN && m > 1)")                                 \
        for (int64_t r = 0; r < m; r++) {                                                          \
            const T *xr = x + r * d;                                                               \
            T *yr = y + r * d;                                                                     \
            T mean = 0, var = 0;                                                                   \
            if (!rms) {                                                                            \
                for (int64_t j = 0; j < d; j++) mean += xr[j];                                     \
                mean /= (T)d;                                                                      \
            }                                                                                      \
            for (int64_t j = 0; j < d; j++) {                                                      \
                T c = xr[j] - mean;                                                                \
                var += c * c;                                                                      \
            }                                                                                      \
            var /= (T)d;                                                                           \
            T inv = (T)1 / SQRT(var + eps);                                                        \
            if (bi)                                                                                \
                for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv * sc[j] + bi[j];      \
            else                                                                                   \
                for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv * sc[j];              \
            if (mean_out) mean_out[r] = mean;                                                      \
            if (inv_out) inv_out[r] = inv;                                                         \
        }                                                                                          \
    }
DEFINE_LN(double, sqrt)

/* f32 rows: the same computation with eight partial sums, so the reductions vectorize without
 * -ffast-math (and round less than one running sum). */
static float sum8_f32(const float *p, int64_t n, float c, int sq)
{
    float a[8] = {0};
    int64_t i = 0;
    if (sq)
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) a[j] += (p[i + j] - c) * (p[i + j] - c);
    else
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++) a[j] += p[i + j];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++) s += sq ? (p[i] - c) * (p[i] - c) : p[i];
    return s;
}

static void ln_rows_f32(const float *x, float *y, int64_t m, int64_t d, const float *sc,
                        const float *bi, float eps, int rms, float *mean_out, float *inv_out)
{
#pragma omp parallel for if (m * d >= PAR_MIN && m > 1)
    for (int64_t r = 0; r < m; r++) {
        const float *xr = x + r * d;
        float *yr = y + r * d;
        float mean = rms ? 0.0f : sum8_f32(xr, d, 0.0f, 0) / (float)d;
        float var = sum8_f32(xr, d, mean, 1) / (float)d;
        float inv = 1.0f / sqrtf(var + eps);
        if (bi)
            for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv * sc[j] + bi[j];
        else
            for (int64_t j = 0; j < d; j++) yr[j] = (xr[j] - mean) * inv * sc[j];
        if (mean_out) mean_out[r] = mean;
        if (inv_out) inv_out[r] = inv;
    }
}

ingot_status cpu_red_layernorm(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0], *sc = in[1], *bi = n_in > 2 ? in[2] : NULL;
    int rms = strcmp(node->op, "RMSNormalization") == 0;
    if (rms) bi = NULL;
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), x->rank, &axis));
    double eps = ir_attr_float(node, "epsilon", 1e-5f);
    int64_t m = 1, d = 1;
    for (int k = 0; k < axis; k++) m *= x->dims[k];
    for (int k = axis; k < x->rank; k++) d *= x->dims[k];
    /* Scale and B must broadcast to dims[axis:] (infer checked ranks; check sizes here too) */
    const ing_tensor *ps[2] = {sc, bi};
    for (int i = 0; i < 2; i++) {
        const ing_tensor *p = ps[i];
        if (!p) continue;
        int ok = p->rank <= x->rank - axis;
        for (int k = 0; ok && k < p->rank; k++) {
            int64_t pd = p->dims[p->rank - 1 - k];
            ok = pd == 1 || pd == x->dims[x->rank - 1 - k];
        }
        if (!ok) {
            char s1[96], s2[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s has shape %s; it must broadcast to X's "
                                "normalized dims (X %s, axis %d)", i ? "B" : "Scale",
                                ing_shape_str(p, s1, sizeof s1), ing_shape_str(x, s2, sizeof s2),
                                axis);
        }
    }
    ing_tensor *y = out[0];
    ing_tensor *mo = !rms && n_out > 1 ? out[1] : NULL, *io = !rms && n_out > 2 ? out[2] : NULL;
    if (m * d == 0) {
        /* an empty normalized block has no statistics; the reference's 0/0 gives NaN */
        for (int64_t r = 0; r < m; r++) {
            if (mo) ing_store_f64(mo->dtype, mo->data, (size_t)r, NAN);
            if (io) ing_store_f64(io->dtype, io->data, (size_t)r, NAN);
        }
        return INGOT_OK;
    }
    int dt = x->dtype;
    int64_t stash = ir_attr_int(node, "stash_type", 1);
    int wide = dt == INGOT_DTYPE_F64 || stash == INGOT_DTYPE_F64;
    size_t esz = wide ? sizeof(double) : sizeof(float);
    size_t bx = bytes_of(m * d, esz), bp = bytes_of(2 * d, esz), bs = bytes_of(2 * m, esz);
    if (!bx || !bp || !bs) return nomem(node, SIZE_MAX);
    void *pp = cpu_scratch(ex, S_P, bp), *st = cpu_scratch(ex, S_Q, bs);
    if (!pp || !st) return nomem(node, bp + bs);
    size_t cnt = (size_t)(m * d);
    if (wide) {
        double *scd = pp, *bid = bi ? scd + d : NULL, *mean = st, *inv = mean + m;
        expand_double(sc, x, axis, d, scd);
        if (bi) expand_double(bi, x, axis, d, bid);
        const double *xd = x->data;
        double *yd = y->data;
        if (dt != INGOT_DTYPE_F64) {
            double *bufx = cpu_scratch(ex, S_X, bx), *bufy = cpu_scratch(ex, S_Y, bx);
            if (!bufx || !bufy) return nomem(node, 2 * bx);
            for (size_t i = 0; i < cnt; i++) bufx[i] = ing_load_f64(dt, x->data, i);
            xd = bufx;
            yd = bufy;
        }
        ln_double(xd, yd, m, d, scd, bid, eps, rms, mean, inv);
        if (yd != y->data)
            for (size_t i = 0; i < cnt; i++) ing_store_f64(dt, y->data, i, yd[i]);
        for (int64_t r = 0; r < m; r++) {
            if (mo) ing_store_f64(mo->dtype, mo->data, (size_t)r, mean[r]);
            if (io) ing_store_f64(io->dtype, io->data, (size_t)r, inv[r]);
        }
        return INGOT_OK;
    }
    float *scf = pp, *bif = bi ? scf + d : NULL, *mean = st, *inv = mean + m;
    expand_float(sc, x, axis, d, scf);
    if (bi) expand_float(bi, x, axis, d, bif);
    const float *xf = x->data;
    float *yf = y->data;
    if (dt != INGOT_DTYPE_F32) {
        float *bufx = cpu_scratch(ex, S_X, bx), *bufy = cpu_scratch(ex, S_Y, bx);
        if (!bufx || !bufy) return nomem(node, 2 * bx);
        for (size_t i = 0; i < cnt; i++) bufx[i] = (float)ing_load_f64(dt, x->data, i);
        xf = bufx;
        yf = bufy;
    }
    ln_rows_f32(xf, yf, m, d, scf, bif, (float)eps, rms, mean, inv);
    if (yf != y->data)
        for (size_t i = 0; i < cnt; i++) ing_store_f64(dt, y->data, i, yf[i]);
    for (int64_t r = 0; r < m; r++) {
        if (mo) ing_store_f64(mo->dtype, mo->data, (size_t)r, mean[r]);
        if (io) ing_store_f64(io->dtype, io->data, (size_t)r, inv[r]);
    }
    return INGOT_OK;
}

/* f32 blocks with eight-lane sums (see sum8_f32). */
static void gn_f32(const float *x, float *y, int64_t n, int64_t c, int64_t s, int64_t g,
                   const float *sc, const float *bi, float eps)
{
    int64_t cpg = c / g, blk = cpg * s, nb = n * g;
#pragma omp parallel for if (nb * blk >= PAR_MIN && nb > 1)
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * blk;
        float *yb = y + b * blk;
        float mean = sum8_f32(xb, blk, 0.0f, 0) / (float)blk;
        float var = sum8_f32(xb, blk, mean, 1) / (float)blk;
        float inv = 1.0f / sqrtf(var + eps);
        int64_t c0 = (b % g) * cpg;
        for (int64_t cc = 0; cc < cpg; cc++) {
            float a = inv * sc[c0 + cc], o = bi[c0 + cc] - mean * a;
            const float *xs = xb + cc * s;
            float *ys = yb + cc * s;
            for (int64_t j = 0; j < s; j++) ys[j] = xs[j] * a + o;
        }
    }
}

/* ---- GroupNormalization / InstanceNormalization: X [N, C, S...], g groups of C/g channels,
 * each (n, group) block of (C/g)*S elements contiguous. ---- */

#define DEFINE_GN(T, SQRT)                                                                         \
    static void gn_##T(const T *x, T *y, int64_t n, int64_t c, int64_t s, int64_t g,               \
                       const T *sc, const T *bi, T eps)                                            \
    {                                                                                              \
        int64_t cpg = c / g, blk = cpg * s, nb = n * g;                                            \
        _Pragma("omp parallel for if (nb * blk >= PAR_MIN && nb > 1)")                             \
        for (int64_t b = 0; b < nb; b++) {                                                         \
            const T *xb = x + b * blk;                                                             \
            T *yb = y + b * blk;                                                                   \
            T mean = 0, var = 0;                                                                   \
            for (int64_t j = 0; j < blk; j++) mean += xb[j];                                       \
            mean /= (T)blk;                                                                        \
            for (int64_t j = 0; j < blk; j++) var += (xb[j] - mean) * (xb[j] - mean);              \
            var /= (T)blk;                                                                         \
            T inv = (T)1 / SQRT(var + eps);                                                        \
            int64_t c0 = (b % g) * cpg;                                                            \
            for (int64_t cc = 0; cc < cpg; cc++) {                                                 \
                T a = inv * sc[c0 + cc], o = bi[c0 + cc] - mean * a;                               \
                const T *xs = xb + cc * s;                                                         \
                T *ys = yb + cc * s;                                                               \
                for (int64_t j = 0; j < s; j++) ys[j] = xs[j] * a + o;                             \
            }                                                                                      \
        }                                                                                          \
    }
DEFINE_GN(double, sqrt)

/* per_group: scale/bias hold one value per group (GroupNormalization before opset 21). */
static ingot_status group_norm(cpu_exec *ex, const ir_node *node, const ing_tensor *x,
                               const ing_tensor *sc, const ing_tensor *bi, ing_tensor *y,
                               int64_t g, int per_group, double eps)
{
    int64_t n = x->dims[0], c = x->dims[1], s = 1;
    for (int k = 2; k < x->rank; k++) s *= x->dims[k];
    if (c == 0 && g == 0) return INGOT_OK; /* InstanceNormalization of zero channels */
    if (g <= 0 || c % g != 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "the channel count %lld is not a multiple of "
                            "the group count %lld", (long long)c, (long long)g);
    int64_t want = per_group ? g : c;
    if (ing_numel(sc) != want || ing_numel(bi) != want)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "scale has %lld and bias %lld values; expected "
                            "%lld", (long long)ing_numel(sc), (long long)ing_numel(bi),
                            (long long)want);
    int64_t total = n * c * s;
    if (total == 0) return INGOT_OK;
    int dt = x->dtype, wide = dt == INGOT_DTYPE_F64;
    size_t esz = wide ? sizeof(double) : sizeof(float);
    size_t bx = bytes_of(total, esz), bp = bytes_of(2 * c, esz);
    if (!bx || !bp) return nomem(node, SIZE_MAX);
    void *pp = cpu_scratch(ex, S_P, bp);
    if (!pp) return nomem(node, bp);
    int64_t cpg = c / g;
    size_t cnt = (size_t)total;
    if (wide) {
        double *scd = pp, *bid = scd + c;
        for (int64_t k = 0; k < c; k++) {
            size_t pi = (size_t)(per_group ? k / cpg : k);
            scd[k] = ing_load_f64(sc->dtype, sc->data, pi);
            bid[k] = ing_load_f64(bi->dtype, bi->data, pi);
        }
        gn_double(x->data, y->data, n, c, s, g, scd, bid, eps);
        return INGOT_OK;
    }
    float *scf = pp, *bif = scf + c;
    for (int64_t k = 0; k < c; k++) {
        size_t pi = (size_t)(per_group ? k / cpg : k);
        scf[k] = (float)ing_load_f64(sc->dtype, sc->data, pi);
        bif[k] = (float)ing_load_f64(bi->dtype, bi->data, pi);
    }
    const float *xf = x->data;
    float *yf = y->data;
    if (dt != INGOT_DTYPE_F32) {
        float *bufx = cpu_scratch(ex, S_X, bx), *bufy = cpu_scratch(ex, S_Y, bx);
        if (!bufx || !bufy) return nomem(node, 2 * bx);
        for (size_t i = 0; i < cnt; i++) bufx[i] = (float)ing_load_f64(dt, x->data, i);
        xf = bufx;
        yf = bufy;
    }
    gn_f32(xf, yf, n, c, s, g, scf, bif, (float)eps);
    if (yf != y->data)
        for (size_t i = 0; i < cnt; i++) ing_store_f64(dt, y->data, i, yf[i]);
    return INGOT_OK;
}

ingot_status cpu_red_groupnorm(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    return group_norm(ex, node, in[0], in[1], in[2], out[0], ir_attr_int(node, "num_groups", -1),
                      node->opset < 21, ir_attr_float(node, "epsilon", 1e-5f));
}

ingot_status cpu_red_instnorm(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out)
{
    return group_norm(ex, node, in[0], in[1], in[2], out[0], in[0]->dims[1], 0,
                      ir_attr_float(node, "epsilon", 1e-5f));
}

/* ---- BatchNormalization ---- */

#define DEFINE_BN(T)                                                                               \
    static void bn_##T(const T *x, T *y, int64_t n, int64_t c, int64_t s, const double *a,         \
                       const double *b)                                                            \
    {                                                                                              \
        int64_t nc = n * c;                                                                        \
        _Pragma("omp parallel for if (nc * s >= PAR_MIN && nc > 1)")                               \
        for (int64_t r = 0; r < nc; r++) {                                                         \
            T ar = (T)a[r % c], br = (T)b[r % c];                                                  \
            const T *xs = x + r * s;                                                               \
            T *ys = y + r * s;                                                                     \
            for (int64_t j = 0; j < s; j++) ys[j] = xs[j] * ar + br;                               \
        }                                                                                          \
    }
DEFINE_BN(float)
DEFINE_BN(double)

ingot_status cpu_red_batchnorm(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    int64_t n = x->dims[0], c = x->dims[1], s = 1;
    for (int k = 2; k < x->rank; k++) s *= x->dims[k];
    for (int i = 1; i < 5; i++)
        if (ing_numel(in[i]) != c)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d has %lld values; expected %lld "
                                "(the channel count)", i, (long long)ing_numel(in[i]),
                                (long long)c);
    double eps = ir_attr_float(node, "epsilon", 1e-5f);
    double momentum = ir_attr_float(node, "momentum", 0.9f);
    int training;
    if (node->opset >= 14) {
        training = ir_attr_int(node, "training_mode", 0) != 0;
    } else { /* before 14, training is asking for the statistics outputs */
        training = 0;
        for (int j = 1; j < n_out; j++)
            if (out[j]) training = 1;
    }
    size_t bp = bytes_of(4 * c, sizeof(double));
    if (!bp) return nomem(node, SIZE_MAX);
    double *a = cpu_scratch(ex, S_P, bp);
    if (!a) return nomem(node, bp);
    double *b = a + c, *bmean = b + c, *bvar = bmean + c;
    int dt = x->dtype;
    int64_t total = n * c * s;
    size_t cnt = (size_t)total;
    if (training) {
        /* batch statistics over N and the spatial dims, in f64 (population variance) */
        for (int64_t k = 0; k < c; k++) bmean[k] = bvar[k] = 0.0;
        int64_t per = n * s;
        for (int64_t k = 0; k < c; k++) {
            double sum = 0.0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < s; j++)
                    sum += ing_load_f64(dt, x->data, (size_t)((i * c + k) * s + j));
            double mu = per > 0 ? sum / (double)per : NAN, v = 0.0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < s; j++) {
                    double dlt = ing_load_f64(dt, x->data, (size_t)((i * c + k) * s + j)) - mu;
                    v += dlt * dlt;
                }
            bmean[k] = mu;
            bvar[k] = per > 0 ? v / (double)per : NAN;
        }
    }
    for (int64_t k = 0; k < c; k++) {
        double mu = training ? bmean[k] : ing_load_f64(in[3]->dtype, in[3]->data, (size_t)k);
        double var = training ? bvar[k] : ing_load_f64(in[4]->dtype, in[4]->data, (size_t)k);
        double sck = ing_load_f64(in[1]->dtype, in[1]->data, (size_t)k);
        double bik = ing_load_f64(in[2]->dtype, in[2]->data, (size_t)k);
        a[k] = sck / sqrt(var + eps);
        b[k] = bik - mu * a[k];
    }
    if (total > 0) {
        if (dt == INGOT_DTYPE_F32) {
            bn_float(x->data, y->data, n, c, s, a, b);
        } else if (dt == INGOT_DTYPE_F64) {
            bn_double(x->data, y->data, n, c, s, a, b);
        } else {
            size_t bx = bytes_of(total, sizeof(float));
            float *bufx = bx ? cpu_scratch(ex, S_X, bx) : NULL;
            float *bufy = bx ? cpu_scratch(ex, S_Y, bx) : NULL;
            if (!bufx || !bufy) return nomem(node, 2 * bx);
            for (size_t i = 0; i < cnt; i++) bufx[i] = (float)ing_load_f64(dt, x->data, i);
            bn_float(bufx, bufy, n, c, s, a, b);
            for (size_t i = 0; i < cnt; i++) ing_store_f64(dt, y->data, i, bufy[i]);
        }
    }
    if (training) {
        /* outputs 1, 2: running mean/var; 3, 4 (before opset 14): the batch mean/var */
        for (int j = 1; j < n_out && j < 5; j++) {
            ing_tensor *o = out[j];
            if (!o) continue;
            for (int64_t k = 0; k < c; k++) {
                double v;
                if (j <= 2) {
                    const ing_tensor *run = in[j + 2];
                    double cur = j == 1 ? bmean[k] : bvar[k];
                    v = ing_load_f64(run->dtype, run->data, (size_t)k) * momentum +
                        cur * (1.0 - momentum);
                } else {
                    v = j == 3 ? bmean[k] : bvar[k];
                }
                ing_store_f64(o->dtype, o->data, (size_t)k, v);
            }
        }
    } else {
        /* inference: statistics outputs (if any) pass the inputs through */
        for (int j = 1; j < n_out && j < 5; j++) {
            ing_tensor *o = out[j];
            if (!o) continue;
            const ing_tensor *src = in[j == 1 || j == 3 ? 3 : 4];
            for (int64_t k = 0; k < c; k++)
                ing_store_f64(o->dtype, o->data, (size_t)k,
                              ing_load_f64(src->dtype, src->data, (size_t)k));
        }
    }
    return INGOT_OK;
}

/* ---- LpNormalization: x / ||x||_p along axis (0 where the norm is 0) ---- */

ingot_status cpu_red_lpnorm(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                            int n_in, ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    int32_t axis;
    ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -1), x->rank, &axis));
    int64_t p = ir_attr_int(node, "p", 2);
    if (p != 1 && p != 2)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "p is %lld; allowed: 1 or 2", (long long)p);
    int64_t outer = 1, n = x->dims[axis], inner = 1;
    for (int k = 0; k < axis; k++) outer *= x->dims[k];
    for (int k = axis + 1; k < x->rank; k++) inner *= x->dims[k];
    int dt = x->dtype;
    int64_t rows = outer * inner;
#pragma omp parallel for if (rows * n >= PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t base = (r / inner) * n * inner + r % inner;
        double acc = 0.0;
        for (int64_t k = 0; k < n; k++) {
            double v = ing_load_f64(dt, x->data, (size_t)(base + k * inner));
            acc += p == 1 ? fabs(v) : v * v;
        }
        double norm = p == 1 ? acc : sqrt(acc);
        for (int64_t k = 0; k < n; k++) {
            size_t i = (size_t)(base + k * inner);
            double v = ing_load_f64(dt, x->data, i);
            ing_store_f64(dt, y->data, i, norm == 0.0 ? 0.0 : v / norm);
        }
    }
    return INGOT_OK;
}

/* ---- MeanVarianceNormalization: (x - mean) / (std + 1e-9) over `axes` (default 0, 2, 3) ---- */

ingot_status cpu_red_mvn(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out)
{
    static const int64_t dflt[3] = {0, 2, 3};
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    size_t na;
    const int64_t *axes = ir_attr_ints(node, "axes", &na);
    if (!axes) {
        axes = dflt;
        na = 3;
    }
    int red[IR_MAX_RANK] = {0};
    for (size_t i = 0; i < na; i++) {
        int32_t a;
        ING_TRY(ir_norm_axis(node, axes[i], x->rank, &a));
        red[a] = 1;
    }
    /* kstr[d]: the stride of dim d in the kept-index space (0 for a reduced dim) */
    int64_t kstr[IR_MAX_RANK], nkept = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        kstr[d] = red[d] ? 0 : nkept;
        if (!red[d]) nkept *= x->dims[d];
    }
    int64_t total = ing_numel(x);
    if (total == 0) return INGOT_OK;
    int64_t per = total / nkept;
    size_t bp = bytes_of(2 * nkept, sizeof(double));
    if (!bp) return nomem(node, SIZE_MAX);
    double *mean = cpu_scratch(ex, S_P, bp);
    if (!mean) return nomem(node, bp);
    double *var = mean + nkept;
    for (int64_t k = 0; k < nkept; k++) mean[k] = var[k] = 0.0;
    int dt = x->dtype;
    for (int pass = 0; pass < 3; pass++) {
        for (int64_t e = 0; e < total; e++) {
            int64_t rem = e, ki = 0;
            for (int d = x->rank - 1; d >= 0; d--) {
                ki += (rem % x->dims[d]) * kstr[d];
                rem /= x->dims[d];
            }
            double v = ing_load_f64(dt, x->data, (size_t)e);
            if (pass == 0) mean[ki] += v;
            else if (pass == 1) var[ki] += (v - mean[ki]) * (v - mean[ki]);
            else ing_store_f64(dt, y->data, (size_t)e, (v - mean[ki]) / (sqrt(var[ki]) + 1e-9));
        }
        for (int64_t k = 0; k < nkept; k++) {
            if (pass == 0) mean[k] /= (double)per;
            else if (pass == 1) var[k] /= (double)per;
        }
    }
    return INGOT_OK;
}

/* ---- LRN: x / (bias + alpha/size * sum of squares over a window of channels)^beta ---- */

ingot_status cpu_red_lrn(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out)
{
    const ing_tensor *x = in[0];
    ing_tensor *y = out[0];
    int64_t size = ir_attr_int(node, "size", 0);
    if (size <= 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "size is %lld; allowed: >= 1", (long long)size);
    double alpha = ir_attr_float(node, "alpha", 1e-4f);
    double beta = ir_attr_float(node, "beta", 0.75f);
    double bias = ir_attr_float(node, "bias", 1.0f);
    int64_t n = x->dims[0], c = x->dims[1], s = 1;
    for (int k = 2; k < x->rank; k++) s *= x->dims[k];
    int64_t lo = (size - 1) / 2, hi = size - 1 - lo; /* floor and ceil of (size-1)/2 */
    int dt = x->dtype;
    int64_t rows = n * c;
#pragma omp parallel for if (rows * s * size >= PAR_MIN && rows > 1)
    for (int64_t r = 0; r < rows; r++) {
        int64_t ni = r / c, ci = r % c;
        int64_t c0 = ci - lo < 0 ? 0 : ci - lo, c1 = ci + hi >= c ? c - 1 : ci + hi;
        for (int64_t j = 0; j < s; j++) {
            double sq = 0.0;
            for (int64_t cc = c0; cc <= c1; cc++) {
                double v = ing_load_f64(dt, x->data, (size_t)((ni * c + cc) * s + j));
                sq += v * v;
            }
            size_t i = (size_t)(r * s + j);
            double v = ing_load_f64(dt, x->data, i);
            ing_store_f64(dt, y->data, i, v / pow(bias + alpha / (double)size * sq, beta));
        }
    }
    return INGOT_OK;
}
