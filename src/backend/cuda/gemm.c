/* MatMul and Gemm on cuBLASLt (f32, f16 and bf16; f16 and bf16 accumulate in f32).
 *
 * Row-major C[M,N] = A[M,K] B[K,N] is column-major C^T = B^T A^T, and a row-major matrix is its
 * own transpose seen column-major: so every call passes B first and A second, column-major,
 * with no copies. Gemm's C of shape [N] or [1,N] with beta 1 becomes the bias epilogue; a full
 * [M,N] C is cuBLASLt's C matrix. Accepted MatMul batching: B 2-D (A's batch folds into M),
 * or equal batch dims, or A 2-D with B batched. Everything else runs the CPU kernel. */
#include <cublasLt.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/epilogue.h"
#include "core/alloc.h"

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
    const void *c;      /* full [M,N] C matrix (Gemm's C, or a fused op's residual) or NULL */
    float alpha, beta;
    int relu; /* Relu in cuBLASLt's epilogue (after the bias) */
} mm;

static int float_dtype(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }

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

/* The descriptors of one cuBLASLt call. */
typedef struct lt_descs {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, c, d;
} lt_descs;

static void lt_descs_free(lt_descs *l)
{
    if (l->a) cublasLtMatrixLayoutDestroy(l->a);
    if (l->b) cublasLtMatrixLayoutDestroy(l->b);
    if (l->c) cublasLtMatrixLayoutDestroy(l->c);
    if (l->d) cublasLtMatrixLayoutDestroy(l->d);
    if (l->op) cublasLtMatmulDescDestroy(l->op);
    memset(l, 0, sizeof *l);
}

/* compute: TACTIC_LT_*; the fast-TF32 compute type only for fp32 data under --tf32 (fp16
 * always accumulates in strict fp32). bias: the epilogue's device pointer or NULL. */
static ingot_status lt_descs_make(const ir_node *node, const mm *g, int dtype, int compute, const void *bias,
                                  lt_descs *l)
{
    memset(l, 0, sizeof *l);
    cudaDataType_t t = dtype == INGOT_DTYPE_F16 ? CUDA_R_16F : dtype == INGOT_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F;
    cublasComputeType_t ct = compute == TACTIC_LT_32F_FAST_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    ingot_status st = INGOT_OK;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = lt_check((call), node, #call);                                    \
    } while (0)
    /* column-major operands: first = B (n x k), second = A (k x m), D = n x m */
    cublasOperation_t opb = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, opa = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    TRY(cublasLtMatmulDescCreate(&l->op, ct, CUDA_R_32F));
    TRY(cublasLtMatmulDescSetAttribute(l->op, CUBLASLT_MATMUL_DESC_TRANSA, &opb, sizeof opb));
    TRY(cublasLtMatmulDescSetAttribute(l->op, CUBLASLT_MATMUL_DESC_TRANSB, &opa, sizeof opa));
    if (bias || g->relu) {
        cublasLtEpilogue_t ep = !g->relu ? CUBLASLT_EPILOGUE_BIAS : bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
        TRY(cublasLtMatmulDescSetAttribute(l->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep));
    }
    if (bias) {
        TRY(cublasLtMatmulDescSetAttribute(l->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias));
        TRY(cublasLtMatmulDescSetAttribute(l->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &t, sizeof t));
    }
    /* stored shapes (column-major rows x cols, leading dimension = rows) */
    uint64_t b_rows = (uint64_t)(g->trans_b ? g->k : g->n), b_cols = (uint64_t)(g->trans_b ? g->n : g->k);
    uint64_t a_rows = (uint64_t)(g->trans_a ? g->m : g->k), a_cols = (uint64_t)(g->trans_a ? g->k : g->m);
    TRY(cublasLtMatrixLayoutCreate(&l->b, t, b_rows, b_cols, (int64_t)b_rows));
    TRY(cublasLtMatrixLayoutCreate(&l->a, t, a_rows, a_cols, (int64_t)a_rows));
    TRY(cublasLtMatrixLayoutCreate(&l->d, t, (uint64_t)g->n, (uint64_t)g->m, g->n));
    TRY(cublasLtMatrixLayoutCreate(&l->c, t, (uint64_t)g->n, (uint64_t)g->m, g->n));
    if (g->batch > 1) {
        int32_t bc = (int32_t)g->batch;
        int64_t sb = g->stride_b, sa = g->stride_a, sc = g->stride_c;
        TRY(cublasLtMatrixLayoutSetAttribute(l->b, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(l->b, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sb, sizeof sb));
        TRY(cublasLtMatrixLayoutSetAttribute(l->a, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(l->a, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sa, sizeof sa));
        TRY(cublasLtMatrixLayoutSetAttribute(l->d, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(l->d, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sc, sizeof sc));
        TRY(cublasLtMatrixLayoutSetAttribute(l->c, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        TRY(cublasLtMatrixLayoutSetAttribute(l->c, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &sc, sizeof sc));
    }
#undef TRY
    if (st != INGOT_OK) lt_descs_free(l);
    return st;
}

static int base_compute(int dtype, int precision)
{
    return dtype == INGOT_DTYPE_F32 && precision == INGOT_PRECISION_TF32 ? TACTIC_LT_32F_FAST_TF32 : TACTIC_LT_32F;
}

/* Up to `want` heuristic candidates whose workspace is at most WORKSPACE. */
static ingot_status lt_heuristic(cublasLtHandle_t lt, const ir_node *node, const lt_descs *l, int has_c, int want,
                                 cublasLtMatmulHeuristicResult_t *heur, int *found)
{
    cublasLtMatmulPreference_t pref = NULL;
    size_t ws_bytes = WORKSPACE;
    ingot_status st = lt_check(cublasLtMatmulPreferenceCreate(&pref), node, "cublasLtMatmulPreferenceCreate");
    if (st == INGOT_OK)
        st = lt_check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                           sizeof ws_bytes),
                      node, "cublasLtMatmulPreferenceSetAttribute");
    if (st == INGOT_OK)
        st = lt_check(cublasLtMatmulAlgoGetHeuristic(lt, l->op, l->b, l->a, has_c ? l->c : l->d, l->d, pref, want, heur,
                                                     found),
                      node, "cublasLtMatmulAlgoGetHeuristic");
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (st == INGOT_OK && *found == 0) st = IR_NODE_FAIL(node, INGOT_ERR_CUDA, "cuBLASLt offers no algorithm");
    return st;
}

/* What a context keeps per matmul node for the geometry it last ran: descriptors and the
 * algorithm, so uncaptured runs skip the descriptor calls and the heuristic. */
typedef struct lt_state {
    int64_t key[12]; /* m, n, k, batch, trans_a, trans_b, strides a/b/c, dtype, has_c, relu */
    const void *bias; /* the epilogue's pointer is part of the descriptor */
    lt_descs l;
    cublasLtMatmulAlgo_t algo;
    size_t ws_bytes;
} lt_state;

static void lt_state_free(void *p)
{
    lt_state *s = p;
    lt_descs_free(&s->l);
    ing_free(s);
}

static void lt_key(const mm *g, int dtype, int has_c, int64_t key[12])
{
    int64_t k[12] = {g->m, g->n, g->k, g->batch, g->trans_a, g->trans_b, g->stride_a, g->stride_b, g->stride_c,
                     dtype, has_c, g->relu};
    memcpy(key, k, sizeof k);
}

/* Descriptors and algorithm: the step's tactic, or the heuristic's first algorithm. */
static ingot_status lt_state_make(cuda_exec *x, const ir_node *node, const mm *g, int dtype, int has_c,
                                  const void *bias, const int64_t key[12], lt_state **res)
{
    const engine_tactic *tac = cuda_step_tactic(x, node);
    if (tac && tac->kind != TACTIC_CUBLASLT)
        return IR_NODE_FAIL(node, INGOT_ERR_CORRUPT, "the step's tactic is of kind %d, a matmul needs %d", tac->kind,
                            TACTIC_CUBLASLT);
    lt_state *s = ing_calloc(1, sizeof *s);
    if (!s) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for cuBLASLt descriptors");
    memcpy(s->key, key, sizeof s->key);
    s->bias = bias;
    ingot_status st = lt_descs_make(node, g, dtype, tac ? tac->math : base_compute(dtype, cuda_precision(x)), bias, &s->l);
    if (st == INGOT_OK && tac) {
        /* A tactic was timed at one shape (a profile's opt shape when the input dims vary):
         * check its algorithm at these layouts; where cuBLASLt refuses it or it needs more
         * workspace than there is, the heuristic chooses as if there were no tactic. */
        cublasLtMatmulHeuristicResult_t chk;
        memcpy(&s->algo, tac->lt_algo, sizeof s->algo);
        if (cublasLtMatmulAlgoCheck(cuda_cublaslt(x), s->l.op, s->l.b, s->l.a, has_c ? s->l.c : s->l.d, s->l.d,
                                    &s->algo, &chk) == CUBLAS_STATUS_SUCCESS &&
            chk.workspaceSize <= WORKSPACE) {
            s->ws_bytes = chk.workspaceSize > tac->workspace ? chk.workspaceSize : (size_t)tac->workspace;
        } else {
            tac = NULL;
            lt_descs_free(&s->l);
            st = lt_descs_make(node, g, dtype, base_compute(dtype, cuda_precision(x)), bias, &s->l);
        }
    }
    if (st == INGOT_OK && !tac) {
        cublasLtMatmulHeuristicResult_t heur;
        int found = 0;
        st = lt_heuristic(cuda_cublaslt(x), node, &s->l, has_c, 1, &heur, &found);
        s->algo = heur.algo;
        s->ws_bytes = WORKSPACE;
    }
    if (st != INGOT_OK) {
        lt_state_free(s);
        return st;
    }
    *res = s;
    return INGOT_OK;
}

static ingot_status run_lt(cuda_exec *x, const ir_node *node, const mm *g, const void *a, const void *b,
                           const void *c, const void *bias, void *d, int dtype)
{
    int64_t key[12];
    lt_key(g, dtype, c != NULL, key);
    lt_state *s = cuda_node_state(x, node);
    if (!s || memcmp(s->key, key, sizeof key) != 0 || s->bias != bias) {
        ING_TRY(lt_state_make(x, node, g, dtype, c != NULL, bias, key, &s));
        ING_TRY(cuda_set_node_state(x, node, s, lt_state_free));
    }
    void *ws = NULL;
    if (s->ws_bytes && !(ws = cuda_scratch(x, 1, s->ws_bytes))) return INGOT_ERR_NOMEM;
    float beta = c ? g->beta : 0.0f;
    return lt_check(cublasLtMatmul(cuda_cublaslt(x), s->l.op, &g->alpha, b, s->l.b, a, s->l.a, &beta, c ? c : d,
                                   c ? s->l.c : s->l.d, d, s->l.d, &s->algo, ws, s->ws_bytes, cuda_stream(x)),
                    node, "cublasLtMatmul");
}

/* Build time: cuBLASLt's heuristic top TUNE_TOP candidates, each timed on random data. */
#define TUNE_TOP 8

typedef struct lt_trial {
    cublasLtHandle_t lt;
    const lt_descs *l;
    const ir_node *node;
    const mm *g;
    const cublasLtMatmulAlgo_t *algo;
    const void *a, *b, *c;
    void *d, *ws, *stream;
    size_t ws_bytes;
} lt_trial;

static ingot_status lt_trial_run(void *arg)
{
    lt_trial *t = arg;
    float beta = t->c ? t->g->beta : 0.0f;
    return lt_check(cublasLtMatmul(t->lt, t->l->op, &t->g->alpha, t->b, t->l->b, t->a, t->l->a, &beta,
                                   t->c ? t->c : t->d, t->c ? t->l->c : t->l->d, t->d, t->l->d, t->algo, t->ws,
                                   t->ws_bytes, t->stream),
                    t->node, "cublasLtMatmul");
}

static size_t mat_bytes(int64_t rows, int64_t cols, int64_t batch, int dtype)
{
    return (size_t)rows * (size_t)cols * (size_t)(batch > 0 ? batch : 1) * (dtype == INGOT_DTYPE_F32 ? 4 : 2);
}

static ingot_status tune_lt(cuda_tuner *tu, const ir_node *node, const mm *g, int dtype, engine_tactic *best)
{
    cublasLtHandle_t lt = cuda_tuner_cublaslt(tu);
    int compute = base_compute(dtype, cuda_tuner_precision(tu));
    lt_trial t = {lt, NULL, node, g, NULL, NULL, NULL, NULL, NULL, NULL, cuda_tuner_stream(tu), 0};
    const void *bias = NULL;
    int64_t ba = g->stride_a ? g->batch : 1;
    if (!(t.a = cuda_tuner_buffer(tu, 0, mat_bytes(g->m, g->k, ba, dtype), dtype)) ||
        !(t.b = cuda_tuner_buffer(tu, 1, mat_bytes(g->k, g->n, g->batch, dtype), dtype)) ||
        !(t.d = cuda_tuner_buffer(tu, 2, mat_bytes(g->m, g->n, g->batch, dtype), -1)) ||
        (g->c && !(t.c = cuda_tuner_buffer(tu, 3, mat_bytes(g->m, g->n, g->batch, dtype), dtype))) ||
        (g->bias && !(bias = cuda_tuner_buffer(tu, 4, mat_bytes(1, g->n, 1, dtype), dtype))))
        return INGOT_ERR_NOMEM;
    lt_descs l;
    ING_TRY(lt_descs_make(node, g, dtype, compute, bias, &l));
    t.l = &l;
    cublasLtMatmulHeuristicResult_t heur[TUNE_TOP];
    int found = 0;
    double best_ms = -1;
    ingot_status st = lt_heuristic(lt, node, &l, g->c != NULL, TUNE_TOP, heur, &found);
    for (int i = 0; i < found && st == INGOT_OK; i++) {
        if (heur[i].state != CUBLAS_STATUS_SUCCESS) continue;
        t.algo = &heur[i].algo;
        t.ws_bytes = heur[i].workspaceSize;
        t.ws = NULL;
        if (t.ws_bytes && !(t.ws = cuda_tuner_buffer(tu, 5, t.ws_bytes, -1))) {
            st = INGOT_ERR_NOMEM;
            break;
        }
        double ms = 0;
        if (cuda_tuner_time(tu, lt_trial_run, &t, &ms) != INGOT_OK) {
            cuda_tuner_log(tu, "node '%s': cuBLASLt candidate %d: failed: %s", node->name, i, ingot_last_error());
            continue;
        }
        cuda_tuner_log(tu, "node '%s': cuBLASLt candidate %d (workspace %zu, waves %.2f): %.4f ms", node->name, i,
                       heur[i].workspaceSize, (double)heur[i].wavesCount, ms);
        if (best_ms < 0 || ms < best_ms) {
            best_ms = ms;
            memset(best, 0, sizeof *best);
            best->kind = TACTIC_CUBLASLT;
            best->math = (uint8_t)compute;
            best->layout = TACTIC_LAYOUT_NCHW;
            best->algo = -1;
            best->workspace = heur[i].workspaceSize;
            memcpy(best->lt_algo, &heur[i].algo, TACTIC_LT_ALGO_BYTES);
        }
    }
    lt_descs_free(&l);
    if (st == INGOT_OK && best_ms < 0)
        st = IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "none of cuBLASLt's %d candidates ran", found);
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

/* FusedGemm: A, B, C?, Z?; FusedMatMul: A, B, bias?, Z?: y = act(op + bias + z). The bias goes
 * in cuBLASLt's epilogue and the residual in as its C matrix with beta 1 (D = AB + C + bias);
 * Relu too is cuBLASLt's, so with no activation or Relu it is one call, and any other
 * activation is one in-place pass over D after it. Beside Gemm's own full C, the GEMM runs plain
 * (Gemm keeps its C), then one epilogue pass adds the rest. */

/* The cuBLASLt geometry of a fused node with its bias and residual (g->relu for Relu); 0 when
 * the epilogue pass must add them. */
static int fused_geom(const ir_node *n, const ing_tensor *const *in, int n_in, mm *g)
{
    float a, b;
    int act = cuda_epilogue_act(n, &a, &b), is_mm = !strcmp(n->op, "FusedMatMul");
    if (act < 0) return 0;
    if (is_mm ? !matmul_geom(in[0], in[1], g) : !gemm_geom(n, in, n_in < 3 ? n_in : 3, g)) return 0;
    if (is_mm && n_in > 2 && in[2]) g->bias = in[2];
    if (n_in > 3 && in[3]) {
        if (g->c) return 0;
        g->c = in[3];
        g->beta = 1.0f;
    }
    g->relu = act == EPI_ACT_RELU;
    return 1;
}

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
    mm g;
    int64_t cols = out[0]->dims[out[0]->rank - 1];
    if (fused_geom(node, in, n_in, &g)) { /* bias and c are the tensors (markers) fused_geom chose */
        ING_TRY(run_lt(x, node, &g, in[0]->data, in[1]->data, g.c ? ((const ing_tensor *)g.c)->data : NULL,
                       g.bias ? ((const ing_tensor *)g.bias)->data : NULL, out[0]->data, in[0]->dtype));
        return g.relu ? INGOT_OK : cuda_run_epilogue(x, node, out[0], NULL, NULL, cols, 1); /* any other act */
    }
    int is_mm = !strcmp(node->op, "FusedMatMul");
    if (is_mm) ING_TRY(k_matmul(x, node, in, 2, out, n_out));
    else ING_TRY(k_gemm(x, node, in, n_in < 3 ? n_in : 3, out, n_out));
    const ing_tensor *bias = is_mm && n_in > 2 ? in[2] : NULL, *res = n_in > 3 ? in[3] : NULL;
    return cuda_run_epilogue(x, node, out[0], bias, res, cols, 1);
}

static ingot_status tune_gemm_family(cuda_tuner *tu, const ir_node *node, const ing_tensor *const *in, int n_in,
                                     const ing_tensor *out, engine_tactic *best)
{
    (void)out;
    mm g;
    int fused = !strncmp(node->op, "Fused", 5) && fused_geom(node, in, n_in, &g);
    int ok = fused || (!strcmp(node->op, "MatMul") || !strcmp(node->op, "FusedMatMul")
                           ? matmul_geom(in[0], in[1], &g)
                           : gemm_geom(node, in, n_in < 3 ? n_in : 3, &g));
    if (!ok) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "shapes not supported on cuBLASLt");
    return tune_lt(tu, node, &g, in[0]->dtype, best);
}

const cuda_kernel_def cuda_kernels_gemm[] = {
    {"FusedMatMul", k_fused_gemm, fused_gemm_accepts, tune_gemm_family},
    {"FusedGemm", k_fused_gemm, fused_gemm_accepts, tune_gemm_family},
    {"MatMul", k_matmul, matmul_accepts, tune_gemm_family},
    {"Gemm", k_gemm, gemm_accepts, tune_gemm_family},
    {NULL, NULL, NULL, NULL},
};
