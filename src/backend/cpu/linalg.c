/* CPU kernels for matrix products: MatMul, Gemm, MatMulInteger, QLinearMatMul; and the linalg
 * family's kernel table (Einsum, attention and recurrent kernels live in linalg_*.c).
 *
 * f32/f64 go to OpenBLAS (cblas_sgemm/dgemm); f16/bf16 are widened to f32 in scratch, multiplied
 * by sgemm and rounded on store; integer types multiply in 64-bit wrapping arithmetic. Batched
 * MatMul folds the batch into M when B is shared, runs batches in parallel with OpenMP when
 * there are many small ones, and otherwise lets OpenBLAS thread each product.
 * Outputs are contiguous row-major; inputs too (the executor guarantees it). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/dtype.h"

/* Kernels defined in the other linalg_*.c files. */
ingot_status cpu_linalg_einsum(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out);
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
ingot_status cpu_linalg_rnn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_gru(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_lstm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out);

/* ---- geometry of a numpy matmul -------------------------------------------------------- */

typedef struct mm_geom {
    int64_t m, n, k;
    int64_t batch;                /* product of the output's batch dims */
    int nb;                       /* number of output batch dims */
    int64_t bdims[IR_MAX_RANK];   /* output batch dims */
    int64_t astr[IR_MAX_RANK];    /* A's batch strides in elements; 0 where A broadcasts */
    int64_t bstr[IR_MAX_RANK];
    int a_full, b_shared;         /* A has every batch dim; B is one matrix for all batches */
} mm_geom;

static void mm_geom_init(const ing_tensor *a, const ing_tensor *b, mm_geom *g)
{
    memset(g, 0, sizeof *g);
    int ra = a->rank, rb = b->rank;
    g->k = a->dims[ra - 1];
    g->m = ra >= 2 ? a->dims[ra - 2] : 1;
    g->n = rb >= 2 ? b->dims[rb - 1] : 1;
    int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    g->nb = nba > nbb ? nba : nbb;
    int64_t sa = g->m * g->k, sb = g->k * g->n;
    g->batch = 1;
    g->a_full = 1;
    g->b_shared = 1;
    for (int j = g->nb - 1; j >= 0; j--) {
        int ja = j - (g->nb - nba), jb = j - (g->nb - nbb);
        int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
        int64_t d = da > db ? da : db;
        if (da == 0 || db == 0) d = 0;
        g->bdims[j] = d;
        g->astr[j] = da == 1 ? 0 : sa;
        g->bstr[j] = db == 1 ? 0 : sb;
        if (da != d) g->a_full = 0;
        if (db != 1) g->b_shared = 0;
        sa *= da;
        sb *= db;
        g->batch *= d;
    }
}

static void mm_offsets(const mm_geom *g, int64_t bi, int64_t *ao, int64_t *bo)
{
    int64_t oa = 0, ob = 0;
    for (int j = g->nb - 1; j >= 0; j--) {
        int64_t d = g->bdims[j], idx = bi % d;
        bi /= d;
        oa += idx * g->astr[j];
        ob += idx * g->bstr[j];
    }
    *ao = oa;
    *bo = ob;
}

/* ---- f32 / f64 through OpenBLAS --------------------------------------------------------- */

#define SMALL_GEMM (64 * 64 * 64)

static void matmul_f32(const mm_geom *g, const float *a, const float *b, float *c)
{
    int64_t m = g->m, n = g->n, k = g->k;
    if (m == 0 || n == 0 || g->batch == 0) return;
    if (k == 0) {
        memset(c, 0, sizeof(float) * (size_t)(g->batch * m * n));
        return;
    }
    if (g->b_shared && g->a_full) { /* one product: batches stacked along M */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(g->batch * m), (int)n, (int)k, 1.0f,
                    a, (int)k, b, (int)n, 0.0f, c, (int)n);
        return;
    }
    if (g->batch >= 8 && m * n * k < SMALL_GEMM) {
#pragma omp parallel for schedule(static)
        for (int64_t bi = 0; bi < g->batch; bi++) {
            int64_t ao, bo;
            mm_offsets(g, bi, &ao, &bo);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a + ao,
                        (int)k, b + bo, (int)n, 0.0f, c + bi * m * n, (int)n);
        }
        return;
    }
    for (int64_t bi = 0; bi < g->batch; bi++) {
        int64_t ao, bo;
        mm_offsets(g, bi, &ao, &bo);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, a + ao, (int)k,
                    b + bo, (int)n, 0.0f, c + bi * m * n, (int)n);
    }
}

static void matmul_f64(const mm_geom *g, const double *a, const double *b, double *c)
{
    int64_t m = g->m, n = g->n, k = g->k;
    if (m == 0 || n == 0 || g->batch == 0) return;
    if (k == 0) {
        memset(c, 0, sizeof(double) * (size_t)(g->batch * m * n));
        return;
    }
    if (g->b_shared && g->a_full) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(g->batch * m), (int)n, (int)k, 1.0,
                    a, (int)k, b, (int)n, 0.0, c, (int)n);
        return;
    }
#pragma omp parallel for schedule(static) if (g->batch >= 8 && m * n * k < SMALL_GEMM)
    for (int64_t bi = 0; bi < g->batch; bi++) {
        int64_t ao, bo;
        mm_offsets(g, bi, &ao, &bo);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, a + ao, (int)k,
                    b + bo, (int)n, 0.0, c + bi * m * n, (int)n);
    }
}

/* BLAS takes int dimensions. */
static ingot_status blas_dims_ok(const ir_node *node, int64_t m, int64_t n, int64_t k)
{
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "product %lld x %lld x %lld exceeds the BLAS "
                            "limit of 2^31-1 per dim", (long long)m, (long long)n, (long long)k);
    return INGOT_OK;
}

/* Widen f16/bf16 (or copy f32) into f32. */
static void to_f32(int dt, const void *src, float *dst, int64_t n)
{
    const uint16_t *h = src;
    if (dt == INGOT_DTYPE_F32) memcpy(dst, src, sizeof(float) * (size_t)n);
    else if (dt == INGOT_DTYPE_F16)
        for (int64_t i = 0; i < n; i++) dst[i] = ing_f16_to_f32(h[i]);
    else
        for (int64_t i = 0; i < n; i++) dst[i] = ing_bf16_to_f32(h[i]);
}

static void from_f32(int dt, const float *src, void *dst, int64_t n)
{
    uint16_t *h = dst;
    if (dt == INGOT_DTYPE_F32) memcpy(dst, src, sizeof(float) * (size_t)n);
    else if (dt == INGOT_DTYPE_F16)
        for (int64_t i = 0; i < n; i++) h[i] = ing_f32_to_f16(src[i]);
    else
        for (int64_t i = 0; i < n; i++) h[i] = ing_f32_to_bf16(src[i]);
}

static float half_round(int dt, float v)
{
    return dt == INGOT_DTYPE_F16 ? ing_f16_to_f32(ing_f32_to_f16(v)) : ing_bf16_to_f32(ing_f32_to_bf16(v));
}

/* Bytes for n elements of size sz, or 0 on overflow (callers then fail with NOMEM). */
static size_t nbytes_of(int64_t n, size_t sz)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / sz) return 0;
    return n == 0 ? sz : (size_t)n * sz;
}

/* Integer matmul in wrapping 64-bit arithmetic (the C/numpy result for every integer dtype). */
static void matmul_int(const mm_geom *g, int dt, const void *a, const void *b, void *c)
{
    int64_t m = g->m, n = g->n, k = g->k;
#pragma omp parallel for schedule(static) if (g->batch * m * n * k >= 32768)
    for (int64_t bi = 0; bi < g->batch; bi++) {
        int64_t ao, bo;
        mm_offsets(g, bi, &ao, &bo);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                uint64_t acc = 0;
                for (int64_t p = 0; p < k; p++)
                    acc += (uint64_t)ing_load_i64(dt, a, (size_t)(ao + i * k + p)) *
                           (uint64_t)ing_load_i64(dt, b, (size_t)(bo + p * n + j));
                ing_store_i64(dt, c, (size_t)((bi * m + i) * n + j), (int64_t)acc);
            }
    }
}

static ingot_status k_matmul(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = in[0], *b = in[1];
    ing_tensor *c = out[0];
    mm_geom g;
    mm_geom_init(a, b, &g);
    ING_TRY(blas_dims_ok(node, g.batch * g.m, g.n, g.k));
    int dt = a->dtype;
    switch (dt) {
    case INGOT_DTYPE_F32: matmul_f32(&g, a->data, b->data, c->data); return INGOT_OK;
    case INGOT_DTYPE_F64: matmul_f64(&g, a->data, b->data, c->data); return INGOT_OK;
    case INGOT_DTYPE_F16:
    case INGOT_DTYPE_BF16: {
        int64_t na = ing_numel(a), nb = ing_numel(b), nc = ing_numel(c);
        float *fa = cpu_scratch(x, 0, nbytes_of(na, 4));
        float *fb = cpu_scratch(x, 1, nbytes_of(nb, 4));
        float *fc = cpu_scratch(x, 2, nbytes_of(nc, 4));
        if (!fa || !fb || !fc) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no scratch for f32 copies");
        to_f32(dt, a->data, fa, na);
        to_f32(dt, b->data, fb, nb);
        matmul_f32(&g, fa, fb, fc);
        from_f32(dt, fc, c->data, nc);
        return INGOT_OK;
    }
    case INGOT_DTYPE_I32: case INGOT_DTYPE_I64: case INGOT_DTYPE_U32: case INGOT_DTYPE_U64:
        matmul_int(&g, dt, a->data, b->data, c->data);
        return INGOT_OK;
    default:
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s is not supported", ingot_dtype_name(dt));
    }
}

/* ---- Gemm ------------------------------------------------------------------------------- */

/* Y = C broadcast to (M, N), in f32 (C any float dtype). */
static void fill_c_f32(const ing_tensor *c, float *y, int64_t m, int64_t n)
{
    int64_t cm = c->rank == 2 ? c->dims[0] : 1, cn = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    if (c->dtype == INGOT_DTYPE_F32 && cn == n) { /* the common bias row or full matrix */
        for (int64_t i = 0; i < m; i++)
            memcpy(y + i * n, (const float *)c->data + (cm == 1 ? 0 : i) * n, sizeof(float) * (size_t)n);
        return;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            y[i * n + j] = (float)ing_load_f64(c->dtype, c->data,
                                               (size_t)((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)));
}

static ingot_status k_gemm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = in[0], *b = in[1], *c = n_in > 2 ? in[2] : NULL;
    ing_tensor *y = out[0];
    int ta = ir_attr_int(node, "transA", 0) != 0, tb = ir_attr_int(node, "transB", 0) != 0;
    float alpha = ir_attr_float(node, "alpha", 1.0f), beta = ir_attr_float(node, "beta", 1.0f);
    int64_t m = y->dims[0], n = y->dims[1], k = a->dims[ta ? 0 : 1];
    int lda = (int)a->dims[1], ldb = (int)b->dims[1];
    int dt = a->dtype;
    if (m == 0 || n == 0) return INGOT_OK;
    ING_TRY(blas_dims_ok(node, m, n, k));
    if (!c) beta = 0.0f;
    if (dt == INGOT_DTYPE_F64) {
        double *yd = y->data;
        int64_t cm = c && c->rank == 2 ? c->dims[0] : 1, cn = c && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        const double *cd = c ? c->data : NULL;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                yd[i * n + j] = cd ? cd[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] : 0.0;
        if (k == 0) {
            for (int64_t i = 0; i < m * n; i++) yd[i] *= beta;
            return INGOT_OK;
        }
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
                    (int)n, (int)k, alpha, a->data, lda, b->data, ldb, beta, yd, (int)n);
        return INGOT_OK;
    }
    if (dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16) {
        const float *fa = a->data, *fb = b->data;
        float *fy = y->data;
        if (dt != INGOT_DTYPE_F32) {
            int64_t na = ing_numel(a), nb = ing_numel(b);
            float *sa = cpu_scratch(x, 0, nbytes_of(na, 4)), *sb = cpu_scratch(x, 1, nbytes_of(nb, 4));
            fy = cpu_scratch(x, 2, nbytes_of(m * n, 4));
            if (!sa || !sb || !fy) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no scratch for f32 copies");
            to_f32(dt, a->data, sa, na);
            to_f32(dt, b->data, sb, nb);
            fa = sa;
            fb = sb;
        }
        if (dt != INGOT_DTYPE_F32) {
            /* Half types: round A·B, alpha·(A·B), beta·C and their sum to the dtype, as the
             * reference does, so results agree to the last bit more often than not. */
            if (k == 0) memset(fy, 0, sizeof(float) * (size_t)(m * n));
            else
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
                            (int)n, (int)k, 1.0f, fa, lda, fb, ldb, 0.0f, fy, (int)n);
            int64_t cm = c && c->rank == 2 ? c->dims[0] : 1, cn = c && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    float v = half_round(dt, half_round(dt, fy[i * n + j]) * alpha);
                    if (c && beta != 0.0f) {
                        float cv = (float)ing_load_f64(dt, c->data, (size_t)((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)));
                        v = half_round(dt, v + half_round(dt, cv * beta));
                    }
                    fy[i * n + j] = v;
                }
            from_f32(dt, fy, y->data, m * n);
            return INGOT_OK;
        }
        if (c) fill_c_f32(c, fy, m, n);
        else memset(fy, 0, sizeof(float) * (size_t)(m * n));
        if (k == 0) {
            for (int64_t i = 0; i < m * n; i++) fy[i] *= beta;
        } else {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
                        (int)n, (int)k, alpha, fa, lda, fb, ldb, beta, fy, (int)n);
        }
        return INGOT_OK;
    }
    /* Integer Gemm: alpha and beta are floats in the spec; apply them exactly when integral. */
    int64_t ia = (int64_t)alpha, ib = (int64_t)beta;
    int64_t cm = c && c->rank == 2 ? c->dims[0] : 1, cn = c && c->rank >= 1 ? c->dims[c->rank - 1] : 1;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            uint64_t acc = 0;
            for (int64_t p = 0; p < k; p++) {
                int64_t av = ing_load_i64(dt, a->data, (size_t)(ta ? p * lda + i : i * lda + p));
                int64_t bv = ing_load_i64(dt, b->data, (size_t)(tb ? j * ldb + p : p * ldb + j));
                acc += (uint64_t)av * (uint64_t)bv;
            }
            uint64_t r = acc * (uint64_t)ia;
            if (c)
                r += (uint64_t)ib * (uint64_t)ing_load_i64(dt, c->data,
                                                           (size_t)((cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)));
            ing_store_i64(dt, y->data, (size_t)(i * n + j), (int64_t)r);
        }
    return INGOT_OK;
}

/* ---- quantized matmuls ------------------------------------------------------------------ */

/* Zero point / scale indexing: one value, one per row of A (M) or one per column of B (N). */
static ingot_status per_axis(const ir_node *node, const ing_tensor *t, int64_t len, const char *what,
                             int *per)
{
    int64_t n = t ? ing_numel(t) : 1;
    if (n == 1) *per = 0;
    else if (n == len) *per = 1;
    else
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "%s has %lld values; 1 or %lld are supported", what,
                            (long long)n, (long long)len);
    return INGOT_OK;
}

static ingot_status k_matmulinteger(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = in[0], *b = in[1];
    const ing_tensor *az = n_in > 2 ? in[2] : NULL, *bz = n_in > 3 ? in[3] : NULL;
    mm_geom g;
    mm_geom_init(a, b, &g);
    int pa = 0, pb = 0;
    ING_TRY(per_axis(node, az, g.m, "a_zero_point", &pa));
    ING_TRY(per_axis(node, bz, g.n, "b_zero_point", &pb));
    int32_t *y = out[0]->data;
    int64_t m = g.m, n = g.n, k = g.k;
#pragma omp parallel for schedule(static) if (g.batch * m * n * k >= 32768)
    for (int64_t bi = 0; bi < g.batch; bi++) {
        int64_t ao, bo;
        mm_offsets(&g, bi, &ao, &bo);
        for (int64_t i = 0; i < m; i++) {
            int32_t za = az ? (int32_t)ing_load_i64(az->dtype, az->data, (size_t)(pa ? i : 0)) : 0;
            for (int64_t j = 0; j < n; j++) {
                int32_t zb = bz ? (int32_t)ing_load_i64(bz->dtype, bz->data, (size_t)(pb ? j : 0)) : 0;
                uint32_t acc = 0; /* int32 wraps like the reference */
                for (int64_t p = 0; p < k; p++)
                    acc += (uint32_t)(((int32_t)ing_load_i64(a->dtype, a->data, (size_t)(ao + i * k + p)) - za) *
                                      ((int32_t)ing_load_i64(b->dtype, b->data, (size_t)(bo + p * n + j)) - zb));
                y[(bi * m + i) * n + j] = (int32_t)acc;
            }
        }
    }
    return INGOT_OK;
}

/* A scale value rounded to its own dtype's precision after each operation, as the reference does
 * (numpy computes a_scale * b_scale / y_scale in the scales' dtype). */
static double round_to(int dt, double v)
{
    switch (dt) {
    case INGOT_DTYPE_F16: return ing_f16_to_f32(ing_f32_to_f16((float)v));
    case INGOT_DTYPE_BF16: return ing_bf16_to_f32(ing_f32_to_bf16((float)v));
    case INGOT_DTYPE_F32: return (float)v;
    default: return v;
    }
}

static ingot_status k_qlinearmatmul(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    const ing_tensor *a = in[0], *as = in[1], *az = in[2], *b = in[3], *bs = in[4], *bz = in[5];
    const ing_tensor *ys = in[6], *yz = in[7];
    mm_geom g;
    mm_geom_init(a, b, &g);
    int pas = 0, paz = 0, pbs = 0, pbz = 0, pys = 0, pyz = 0;
    ING_TRY(per_axis(node, as, g.m, "a_scale", &pas));
    ING_TRY(per_axis(node, az, g.m, "a_zero_point", &paz));
    ING_TRY(per_axis(node, bs, g.n, "b_scale", &pbs));
    ING_TRY(per_axis(node, bz, g.n, "b_zero_point", &pbz));
    ING_TRY(per_axis(node, ys, 1, "y_scale", &pys));
    ING_TRY(per_axis(node, yz, 1, "y_zero_point", &pyz));
    int sdt = as->dtype;
    double y_s = ing_load_f64(ys->dtype, ys->data, 0);
    int64_t y_z = ing_load_i64(yz->dtype, yz->data, 0);
    int64_t qmin = yz->dtype == INGOT_DTYPE_U8 ? 0 : -128, qmax = yz->dtype == INGOT_DTYPE_U8 ? 255 : 127;
    int64_t m = g.m, n = g.n, k = g.k;
    for (int64_t bi = 0; bi < g.batch; bi++) {
        int64_t ao, bo;
        mm_offsets(&g, bi, &ao, &bo);
        for (int64_t i = 0; i < m; i++) {
            int32_t za = (int32_t)ing_load_i64(az->dtype, az->data, (size_t)(paz ? i : 0));
            double sa = ing_load_f64(sdt, as->data, (size_t)(pas ? i : 0));
            for (int64_t j = 0; j < n; j++) {
                int32_t zb = (int32_t)ing_load_i64(bz->dtype, bz->data, (size_t)(pbz ? j : 0));
                double sb = ing_load_f64(bs->dtype, bs->data, (size_t)(pbs ? j : 0));
                int64_t acc = 0;
                for (int64_t p = 0; p < k; p++)
                    acc += (int64_t)((int32_t)ing_load_i64(a->dtype, a->data, (size_t)(ao + i * k + p)) - za) *
                           ((int32_t)ing_load_i64(b->dtype, b->data, (size_t)(bo + p * n + j)) - zb);
                double mult = round_to(sdt, round_to(sdt, sa * sb) / y_s);
                double v = nearbyint((double)(int32_t)acc * mult + (double)y_z);
                int64_t q = v < (double)qmin ? qmin : v > (double)qmax ? qmax : (int64_t)v;
                ing_store_i64(yz->dtype, out[0]->data, (size_t)((bi * m + i) * n + j), q);
            }
        }
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_linalg[] = {
    {"MatMul", k_matmul},
    {"Gemm", k_gemm},
    {"MatMulInteger", k_matmulinteger},
    {"QLinearMatMul", k_qlinearmatmul},
    {"Einsum", cpu_linalg_einsum},
    {"Attention", cpu_linalg_attention},
    {"LinearAttention", cpu_linalg_linear_attention},
    {"RotaryEmbedding", cpu_linalg_rotary},
    {"SwiGLU", cpu_linalg_swiglu},
    {"TensorScatter", cpu_linalg_tensorscatter},
    {"RNN", cpu_linalg_rnn},
    {"GRU", cpu_linalg_gru},
    {"LSTM", cpu_linalg_lstm},
    {NULL, NULL},
};
