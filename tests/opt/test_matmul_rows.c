/* matmul_rows: Reshape → Gemm → Reshape over the rows of a 3-D value (GPT-2's Conv1D export)
 * becomes a MatMul (+ bias) on the value, which fuse_epilogue then fuses with the activation and
 * the residual into one FusedMatMul. Step counts and outputs with the pass off and on (f32 on the
 * CPU; fp16 as for a GPU); near-misses keep their graph. Also fuse_qkv's Split form: an Attention
 * reading the three equal parts of one Split reads the Split's input packed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph_util.h"
#include "runtime/runtime.h"

enum { B = 2, S = 3, K = 6, N = 5 };

enum variant {
    V_TRANS_B,    /* fires: W as [N, K], transB = 1 */
    V_PLAIN_B,    /* fires: W as [K, N] */
    V_NO_BIAS,    /* fires: no C */
    V_OTHER_ROWS, /* the last Reshape gives other leading dims: no */
    V_TRANS_A,    /* transA = 1: no */
    V_BIAS_2D     /* C of shape [M, N]: no */
};

static uint32_t rng = 4242u;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) - 0.5f;
}

/* x [B,S,K] → Reshape [B·S,K] → Gemm → Reshape [B,S,N] → + r → Relu → y */
static gu_graph *conv1d(enum variant var)
{
    static float w[K * N], c[B * S * N];
    for (int i = 0; i < K * N; i++) w[i] = rnd();
    for (int i = 0; i < B * S * N; i++) c[i] = rnd();
    int64_t rows = B * S, last[3] = {B, S, N};
    if (var == V_OTHER_ROWS) last[0] = S, last[1] = B;
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, K});
    gu_input(g, "r", INGOT_DTYPE_F32, 3, last);
    gu_const_f32(g, "w", 2, var == V_TRANS_B || var == V_TRANS_A ? (int64_t[]){N, K} : (int64_t[]){K, N}, w);
    gu_const_f32(g, "c", var == V_BIAS_2D ? 2 : 1, var == V_BIAS_2D ? (int64_t[]){rows, N} : (int64_t[]){N}, c);
    gu_const(g, "s_flat", INGOT_DTYPE_I64, 1, (int64_t[]){2},
             var == V_TRANS_A ? (int64_t[]){K, rows} : (int64_t[]){rows, K});
    gu_const(g, "s_back", INGOT_DTYPE_I64, 1, (int64_t[]){3}, last);
    gu_node(g, "Reshape", "flat", "x,s_flat", "a");
    gu_node(g, "Gemm", "gemm", var == V_NO_BIAS ? "a,w" : "a,w,c", "o");
    if (var == V_TRANS_B) gu_attr_int(g, "transB", 1);
    if (var == V_TRANS_A) {
        gu_attr_int(g, "transA", 1);
        gu_attr_int(g, "transB", 1);
    }
    gu_node(g, "Reshape", "back", "o,s_back", "o3");
    gu_node(g, "Add", "res", "o3,r", "h");
    gu_node(g, "Relu", "act", "h", "y");
    gu_output(g, "y");
    return g;
}

static void run_case(const char *what, enum variant var, int fires, int as_gpu, int prec, double tol)
{
    const char *dis[1] = {"matmul_rows"};
    int off_n = -1, on_n = -1;
    gu_graph *g = conv1d(var);
    ingot_engine *off = as_gpu ? gu_build_as_gpu(g, prec, dis, 1, &off_n) : gu_build(g, dis, 1, &off_n);
    ingot_engine *on = as_gpu ? gu_build_as_gpu(g, prec, NULL, 0, &on_n) : gu_build(g, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed (%s)", what, ingot_last_error());
    if (off && on) {
        int fused = gu_count_op(on, "FusedMatMul") == 1 && gu_count_op(on, "Gemm") == 0 &&
                    gu_count_op(on, "Reshape") == 0 && gu_count_op(on, "Relu") == 0 && gu_count_op(on, "Add") == 0;
        CHECK(fused == fires, "%s: one FusedMatMul with the bias, residual and Relu %s", what,
              fires ? "made" : "not made");
        CHECK(!fires || on_n == (as_gpu ? 4 : 1), "%s: %d steps with the pass on (%d off)", what, on_n, off_n);
        CHECK(gu_count_op(off, "Gemm") + gu_count_op(off, "FusedGemm") == 1, "%s: the Gemm stays with the pass off",
              what);
        gu_compare_opts o = {.seed = 5, .runs = 2, .lo = -1.0, .hi = 1.0, .poison = 1, .rtol = tol, .atol = tol};
        CHECK(gu_compare(on, off, &o), "%s: same outputs with matmul_rows on and off", what);
    }
    ingot_engine_destroy(off);
    ingot_engine_destroy(on);
}

/* An Attention on the three parts of a Split of qkv [B, S, 2E + sv] (Q, K of width E, V of sv), K
 * and V swapped when asked. */
enum { H = 2, D = 4, E = H * D };

static gu_graph *split_attention(int64_t sv, int swap)
{
    gu_graph *g = gu_new(23);
    gu_input(g, "qkv", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, 2 * E + sv});
    gu_const(g, "sizes", INGOT_DTYPE_I64, 1, (int64_t[]){3}, (int64_t[]){E, E, sv});
    gu_node(g, "Split", "sp", "qkv,sizes", "q,k,v");
    gu_attr_int(g, "axis", 2);
    gu_node(g, "Attention", "att", swap ? "q,v,k" : "q,k,v", "y");
    gu_attr_int(g, "q_num_heads", H);
    gu_attr_int(g, "kv_num_heads", H);
    gu_output(g, "y");
    return g;
}

static void split_case(const char *what, int64_t sv, int swap, int fires)
{
    const char *dis[1] = {"fuse_qkv"};
    gu_graph *g = split_attention(sv, swap);
    ingot_engine *off = gu_build(g, dis, 1, NULL), *on = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed (%s)", what, ingot_last_error());
    if (off && on) {
        const ir_node *a = gu_find_op(on, "Attention");
        int packed = a && ir_attr_int(a, "qkv_packed", 0) == 1 && gu_count_op(on, "Split") == 0;
        CHECK(packed == fires, "%s: packed %s", what, fires ? "made" : "not made");
        gu_compare_opts o = {.seed = 9, .runs = 2, .lo = -1.0, .hi = 1.0, .poison = 1, .rtol = 1e-5, .atol = 1e-6};
        CHECK(gu_compare(on, off, &o), "%s: same outputs with fuse_qkv on and off", what);
    }
    ingot_engine_destroy(off);
    ingot_engine_destroy(on);
}

/* Every allocation of a build that rewrites (a transposed weight, new nodes) fails in turn. */
static void test_alloc_failures(void)
{
    int failures = 0, ok = gu_alloc_failures(conv1d(V_TRANS_B), &failures);
    CHECK(ok, "alloc failures: every injected failure is NOMEM and the build eventually succeeds");
    CHECK(failures > 20, "alloc failures: failures were injected (%d)", failures);
}

int main(void)
{
    run_case("Conv1D, transB", V_TRANS_B, 1, 0, INGOT_PRECISION_FP32, 1e-5);
    run_case("Conv1D, W as [K,N]", V_PLAIN_B, 1, 0, INGOT_PRECISION_FP32, 1e-5);
    run_case("Conv1D, no bias", V_NO_BIAS, 1, 0, INGOT_PRECISION_FP32, 1e-5);
    run_case("Conv1D as gpu fp16", V_TRANS_B, 1, 1, INGOT_PRECISION_FP16, 2e-3);
    run_case("other leading dims (no)", V_OTHER_ROWS, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("transA (no)", V_TRANS_A, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("bias [M,N] (no)", V_BIAS_2D, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    split_case("Split in Q, K, V order", E, 0, 1);
    split_case("Split with K and V swapped (no)", E, 1, 0);
    split_case("Split with a wider V (no)", 2 * E, 0, 0);
    test_alloc_failures();
    DONE();
}
