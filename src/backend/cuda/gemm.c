/* MatMul and Gemm on cuBLASLt (f32 and f16; f16 accumulates in f32).
 *
 * Row-major C[M,N] = A[M,K] B[K,N] is column-major C^T = B^T A^T, and a row-major matrix is its
 * own transpose seen column-major: so every call passes B first and A second, column-major,
 * with no copies. Gemm's C of shape [N] or [1,N] with beta 1 becomes the bias epilogue; a full
 * [M,N] C is cuBLASLt's C matrix. Accepted MatMul batching: B 2-D (A's batch folds into M),
 * or equal batch dims, or A 2-D with B batched. Everything else runs the CPU kernel. */
#include <cublasLt.h>
#include <string.h>

#include "backend/cuda/cuda.h"

#define WORKSPACE ((size_t)32 << 20) /* bytes */

static ingot_status lt_check(cublasStatus_t s, const ir_node *n, const char *call)
{
    if (s == CUBLAS_STATUS_SUCCESS) return INGOT_OK;
    return IR_NODE_FAIL(n, INGOT_ERR_CUDA, "%s: cuBLAS status %d", call, (int)s);
}

typedef struct mm {
    int64_t m, n, k, batch;
    int trans_a, trans_b;
    int64_t stride_a, stride_b, stride_c; /* elements; 0 broadcasts */
    const void *bias;   /* [N] epilogue bias or NULL */
    const void *c;      /* full [M,N] C matrix or NULL */
    float alpha, beta;
} mm;

static int float_dtype(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16; }

static int64_t prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= d[i];
    return p;
}

/* MatMul geometry; 0 when not supported here. */
static int matmul_geom(const ing_tensor *a, const ing_tensor *b, mm *g)
{
    if (a->rank < 2 || b->rank < 2 || a->dtype != b->dtype || !float_dtype(a->dtype)) return 0;
    memset(g, 0, sizeof *g);
    g->k = a->dims[a->rank - 1];
    if (b->dims[b->rank - 2] != g->k) return 0;
    g->n = b->dims[b->rank - 1];
    int64_t ba = prod(a->dims, a->rank - 2), bb = prod(b->dims, b->rank - 2);
    g->alpha = 1.0f;
    if (b->rank == 2) { /* fold A's batch into M */
        g->m = ba * a->dims[a->rank - 2];
        g->batch = 1;
        return 1;
    }
    g->m = a->dims[a->rank - 2];
    if (a->rank == b->rank && !memcmp(a->dims, b->dims, (size_t)(a->rank - 2) * sizeof(int64_t))) {
        g->batch = ba;
        g->stride_a = g->m * g->k;
        g->stride_b = g->k * g->n;
    } else if (a->rank == 2) {
        g->batch = bb;
        g->stride_a = 0;
        g->stride_b = g->k * g->n;
    } else {
        return 0;
    }
    g->stride_c = g->m * g->n;
    return 1;
}

static int matmul_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    mm g;
    return n_in >= 2 && in[0] && in[1] && matmul_geom(in[0], in[1], &g);
}

static int gemm_geom(const ir_node *n, const ing_tensor *const *in, int n_in, mm *g)
{
    const ing_tensor *a = in[0], *b = in[1];
    if (!a || !b || a->rank != 2 || b->rank != 2 || a->dtype != b->dtype || !float_dtype(a->dtype)) return 0;
    memset(g, 0, sizeof *g);
    g->trans_a = (int)ir_attr_int(n, "transA", 0);
    g->trans_b = (int)ir_attr_int(n, "transB", 0);
    g->m = g->trans_a ? a->dims[1] : a->dims[0];
    g->k = g->trans_a ? a->dims[0] : a->dims[1];
    g->n = g->trans_b ? b->dims[0] : b->dims[1];
    if ((g->trans_b ? b->dims[1] : b->dims[0]) != g->k) return 0;
    g->alpha = ir_attr_float(n, "alpha", 1.0f);
    g->beta = ir_attr_float(n, "beta", 1.0f);
    g->batch = 1;
    const ing_tensor *c = n_in > 2 ? in[2] : NULL;
    if (c && c->dtype != a->dtype) return 0;
    if (c && g->beta != 0.0f) {
        int row = (c->rank == 1 && c->dims[0] == g->n) || (c->rank == 2 && c->dims[0] == 1 && c->dims[1] == g->n);
        int full = c->rank == 2 && c->dims[0] == g->m && c->dims[1] == g->n;
        if (row && g->beta == 1.0f) g->bias = c; /* marker; the device pointer is taken at run */
        else if (full) g->c = c;
        else return 0;
    }
    return 1;
}

static int gemm_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    mm g;
    return n_in >= 2 && gemm_geom(n, in, n_in, &g);
}

static ingot_status run_lt(cuda_exec *x, const ir_node *node, const mm *g, const void *a, const void *b,
                           const void *c, const void *bias, void *d, int dtype)
{
    cublasLtHandle_t lt = cuda_cublaslt(x);
    cudaDataType_t t = dtype == INGOT_DTYPE_F16 ? CUDA_R_16F : CUDA_R_32F;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL, ld = NULL;
    cublasLtMatmulPreference_t pref = NULL;
    ingot_status st = INGOT_OK;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = lt_check((call), node, #call);                                    \
    } while (0)
    /* column-major operands: first = B (n x k), second = A (k x m), D = n x m */
    cublasOperation_t opb = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, opa = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    TRY(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &opb, sizeof opb));
    TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &opa, sizeof opa));
    if (bias) {
        cublasLtEpilogue_t ep = CUBLASLT_EPILOGUE_BIAS;
        TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
        TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
        TRY(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &t, sizeof t));
    }
    /* stored shapes (column-major rows x cols, leading dimension = rows) */
    uint64_t b_rows = (uint64_t)(g->trans_b ? g->k : g->n), b_cols = (uint64_t)(g->trans_b ? g->n : g->k);
    uint64_t a_rows = (uint64_t)(g->trans_a ? g->m : g->k), a_cols = (uint64_t)(g->trans_a ? g->k : g->m);
    TRY(cublasLtMatrixLayoutCreate(&lb, t, b_rows, b_cols, (int64_t)b_rows));
    TRY(cublasLtMatrixLayoutCreate(&la, t, a_rows, a_cols, (int64_t)a_rows));
    TRY(cublasLtMatrixLayoutCreate(&ld, t, (uint64_t)g->n, (uint64_t)g->m, g->n));
    TRY(cublasLtMatrixLayoutCreate(&lc, t, (uint64_t)g->n, (uint64_t)g->m, g->n));
    if (g->batch > 1) {
        int32_t bc = (int32_t)g->batch;
        int64_t sb = g->stride_b, sa = g->stride_a, sc = g->stride_c;
        TRY(cublasLtMatrixLayoutSetAttribute(lb, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(lb, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sb, sizeof sb));
        TRY(cublasLtMatrixLayoutSetAttribute(la, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(la, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sa, sizeof sa));
        TRY(cublasLtMatrixLayoutSetAttribute(ld, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(ld, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sc, sizeof sc));
        TRY(cublasLtMatrixLayoutSetAttribute(lc, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(lc, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sc, sizeof sc));
    }
    size_t ws_bytes = WORKSPACE;
    void *ws = st == INGOT_OK ? cuda_scratch(x, 1, ws_bytes) : NULL;
    if (st == INGOT_OK && !ws) st = INGOT_ERR_NOMEM;
    TRY(cublasLtMatmulPreferenceCreate(&pref));
    TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes, sizeof ws_bytes));
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    TRY(cublasLtMatmulAlgoGetHeuristic(lt, op, lb, la, c ? lc : ld, ld, pref, 1, &heur, &found));
    if (st == INGOT_OK && found == 0) st = IR_NODE_FAIL(node, INGOT_ERR_CUDA, "cuBLASLt offers no algorithm");
    float beta = c ? g->beta : 0.0f;
    TRY(cublasLtMatmul(lt, op, &g->alpha, b, lb, a, la, &beta, c ? c : d, c ? lc : ld, d, ld, &heur.algo, ws, ws_bytes,
                       cuda_stream(x)));
#undef TRY
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (ld) cublasLtMatrixLayoutDestroy(ld);
    if (op) cublasLtMatmulDescDestroy(op);
    return st;
}

static ingot_status k_matmul(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    mm g;
    if (!matmul_geom(in[0], in[1], &g)) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "shapes not supported on cuBLASLt");
    return run_lt(x, node, &g, in[0]->data, in[1]->data, NULL, NULL, out[0]->data, in[0]->dtype);
}

static ingot_status k_gemm(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    mm g;
    if (!gemm_geom(node, in, n_in, &g)) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "shapes not supported on cuBLASLt");
    const void *bias = g.bias ? in[2]->data : NULL;
    const void *c = g.c ? in[2]->data : NULL;
    return run_lt(x, node, &g, in[0]->data, in[1]->data, c, bias, out[0]->data, in[0]->dtype);
}

/* FusedGemm: A, B, C?, Z?; FusedMatMul: A, B, bias?, Z?: y = act(op + bias + z). The GEMM
 * runs plain (Gemm keeps its C), then one epilogue pass adds the rest. */
static int fused_gemm_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    float a, b;
    int is_mm = !strcmp(n->op, "FusedMatMul");
    if (cuda_epilogue_act(n, &a, &b) < 0 || n_in < 2) return 0;
    if (is_mm ? !matmul_accepts(n, in, 2) : !gemm_accepts(n, in, n_in < 3 ? n_in : 3)) return 0;
    for (int i = 2; i < n_in; i++)
        if (in[i] && in[i]->dtype != in[0]->dtype) return 0;
    if (is_mm && n_in > 2 && in[2] && ing_numel(in[2]) != in[1]->dims[in[1]->rank - 1]) return 0;
    if (n_in < 4 || !in[3]) return 1;
    /* the residual must have the output's exact shape (the epilogue does not broadcast) */
    const ir_op_def *base = ir_op_lookup(is_mm ? "MatMul" : "Gemm");
    ing_tensor y = {0}, *outs[1] = {&y};
    if (!base || base->infer(n, in, is_mm ? 2 : (n_in < 3 ? n_in : 3), outs, 1) != INGOT_OK) return 0;
    return ing_shape_known(&y) && ing_same_shape(&y, in[3]);
}

static ingot_status k_fused_gemm(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    int is_mm = !strcmp(node->op, "FusedMatMul");
    if (is_mm) ING_TRY(k_matmul(x, node, in, 2, out, n_out));
    else ING_TRY(k_gemm(x, node, in, n_in < 3 ? n_in : 3, out, n_out));
    const ing_tensor *bias = is_mm && n_in > 2 ? in[2] : NULL, *res = n_in > 3 ? in[3] : NULL;
    int64_t cols = out[0]->dims[out[0]->rank - 1];
    return cuda_run_epilogue(x, node, out[0], bias, res, cols, 1);
}

const cuda_kernel_def cuda_kernels_gemm[] = {
    {"FusedMatMul", k_fused_gemm, fused_gemm_accepts},
    {"FusedGemm", k_fused_gemm, fused_gemm_accepts},
    {"MatMul", k_matmul, matmul_accepts},
    {"Gemm", k_gemm, gemm_accepts},
    {NULL, NULL, NULL},
};
