/* cuDNN convolution/pooling and cuBLASLt MatMul/Gemm (and their fused forms) against the CPU
 * backend: each one-node (or fusable) graph is built for CUDA and for the CPU, both run on the
 * same fresh random inputs, outputs compared (f32: 1e-4 relative + 1e-4 absolute, the two sum
 * in different orders; f16: 1e-2 + 1e-2; bf16: 3e-2 + 3e-2), and the CUDA plan must use the CUDA kernel, not the
 * fallback. Skipped (77) without a GPU. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/dtype.h"
#include "graph_util.h"
#include "runtime/runtime.h"

static int skipped;

static ingot_engine *build(gu_graph *g, ingot_backend b) { return gu_build_for(g, b, NULL, 0, &skipped); }

static void compare(const char *what, gu_graph *g, const char *op, double tol)
{
    ingot_engine *gpu = build(g, INGOT_BACKEND_CUDA);
    if (skipped) {
        ingot_engine_destroy(gpu);
        gu_free(g);
        return;
    }
    ingot_engine *cpu = build(g, INGOT_BACKEND_CPU);
    CHECK(gpu && cpu, "%s: both build", what);
    if (gpu && cpu) {
        char want[96], why[200] = "";
        snprintf(want, sizeof want, "cuda.%s", op);
        CHECK(gu_steps_use(gpu, op, want, why, sizeof why), "%s: %s", what, why);
        for (uint64_t seed = 1; seed <= 3; seed++) /* fresh inputs; the 2nd and 3rd runs replay a graph */
            CHECK(gu_same_outputs(gpu, cpu, seed * 7919, tol, tol), "%s: CUDA equals CPU (seed %llu)", what,
                  (unsigned long long)seed);
    }
    ingot_engine_destroy(gpu);
    ingot_engine_destroy(cpu);
    gu_free(g);
}

static float *randv(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof(float));
    srand(seed);
    for (size_t i = 0; i < n; i++) v[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return v;
}

static void conv_case(const char *what, int64_t C, int64_t M, int64_t group, int64_t k, int64_t stride,
                      int64_t dil, int64_t pad, int dtype, int with_bias)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dtype, 4, (int64_t[]){2, C, 17, 15});
    int64_t wd[4] = {M, C / group, k, k};
    size_t wn = (size_t)(M * (C / group) * k * k);
    float *w = randv(wn, 3), *b = randv((size_t)M, 4);
    if (dtype == INGOT_DTYPE_F16) {
        uint16_t *wh = malloc(wn * 2), *bh = malloc((size_t)M * 2);
        for (size_t i = 0; i < wn; i++) wh[i] = ing_f32_to_f16(w[i]);
        for (int64_t i = 0; i < M; i++) bh[i] = ing_f32_to_f16(b[i]);
        gu_const(g, "w", dtype, 4, wd, wh);
        gu_const(g, "b", dtype, 1, (int64_t[]){M}, bh);
        free(wh);
        free(bh);
    } else {
        gu_const(g, "w", dtype, 4, wd, w);
        gu_const(g, "b", dtype, 1, (int64_t[]){M}, b);
    }
    gu_node(g, "Conv", "conv", with_bias ? "x,w,b" : "x,w", "y");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){k, k});
    gu_attr_ints(g, "strides", 2, (int64_t[]){stride, stride});
    gu_attr_ints(g, "dilations", 2, (int64_t[]){dil, dil});
    gu_attr_ints(g, "pads", 4, (int64_t[]){pad, pad, pad, pad});
    gu_attr_int(g, "group", group);
    gu_output(g, "y");
    free(w);
    free(b);
    compare(what, g, "Conv", dtype == INGOT_DTYPE_F16 ? 1e-2 : 1e-4);
}

/* A constant of n random values in [-0.5, 0.5) as dtype (f32 or f16). */
static void rand_const(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims, size_t n, unsigned seed)
{
    float *v = randv(n, seed);
    if (dtype == INGOT_DTYPE_F16) {
        uint16_t *h = malloc(n * 2);
        for (size_t i = 0; i < n; i++) h[i] = ing_f32_to_f16(v[i]);
        gu_const(g, name, dtype, rank, dims, h);
        free(h);
    } else {
        gu_const(g, name, dtype, rank, dims, v);
    }
    free(v);
}

/* Conv (+ bias) (+ residual Add) (+ activation) → FusedConv after the passes. Relu and no
 * activation run as cuDNN's fused call (identity: when its algorithm allows; no bias: with a
 * zero bias), Sigmoid as the convolution then the epilogue kernel. */
static void fused_conv_case(const char *what, int dtype, int64_t k, int64_t stride, int with_bias, int with_res,
                            const char *act)
{
    const int64_t C = 8, M = 16, H = 12;
    int64_t oh = (H + 2 * (k / 2) - k) / stride + 1;
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dtype, 4, (int64_t[]){2, C, H, H});
    if (with_res) gu_input(g, "r", dtype, 4, (int64_t[]){2, M, oh, oh});
    rand_const(g, "w", dtype, 4, (int64_t[]){M, C, k, k}, (size_t)(M * C * k * k), 5);
    rand_const(g, "b", dtype, 1, (int64_t[]){M}, (size_t)M, 6);
    const char *cur = act || with_res ? "c" : "y";
    gu_node(g, "Conv", "conv", with_bias ? "x,w,b" : "x,w", cur);
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){k, k});
    gu_attr_ints(g, "strides", 2, (int64_t[]){stride, stride});
    gu_attr_ints(g, "pads", 4, (int64_t[]){k / 2, k / 2, k / 2, k / 2});
    if (with_res) {
        gu_node(g, "Add", "add", "c,r", act ? "s" : "y");
        cur = "s";
    }
    if (act) gu_node(g, act, "act", cur, "y");
    gu_output(g, "y");
    compare(what, g, "FusedConv", dtype == INGOT_DTYPE_F16 ? 1e-2 : 1e-4);
}

static void pool_case(const char *op, int include_pad)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 6, 17, 16});
    gu_node(g, op, "pool", "x", "y");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){3, 3});
    gu_attr_ints(g, "strides", 2, (int64_t[]){2, 2});
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    if (!strcmp(op, "AveragePool")) gu_attr_int(g, "count_include_pad", include_pad);
    gu_output(g, "y");
    char what[64];
    snprintf(what, sizeof what, "%s%s", op, include_pad ? " count_include_pad" : "");
    compare(what, g, op, 1e-5);
}

static void matmul_case(const char *what, int ra, const int64_t *da, int rb, const int64_t *db, int dtype)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "a", dtype, ra, da);
    gu_input(g, "b", dtype, rb, db);
    gu_node(g, "MatMul", "mm", "a,b", "y");
    gu_output(g, "y");
    compare(what, g, "MatMul", dtype == INGOT_DTYPE_F32 ? 1e-4 : dtype == INGOT_DTYPE_F16 ? 1e-2 : 3e-2);
}

static void gemm_case(const char *what, int ta, int tb, float alpha, float beta, int c_rank)
{
    const int64_t M = 9, K = 33, N = 17;
    gu_graph *g = gu_new(17);
    gu_input(g, "a", INGOT_DTYPE_F32, 2, ta ? (int64_t[]){K, M} : (int64_t[]){M, K});
    gu_input(g, "b", INGOT_DTYPE_F32, 2, tb ? (int64_t[]){N, K} : (int64_t[]){K, N});
    float *c = randv((size_t)(M * N), 7);
    if (c_rank == 1) gu_const_f32(g, "c", 1, (int64_t[]){N}, c);
    else if (c_rank == 2) gu_const_f32(g, "c", 2, (int64_t[]){M, N}, c);
    gu_node(g, "Gemm", "gemm", c_rank ? "a,b,c" : "a,b", "y");
    gu_attr_int(g, "transA", ta);
    gu_attr_int(g, "transB", tb);
    gu_attr_float(g, "alpha", alpha);
    gu_attr_float(g, "beta", beta);
    gu_output(g, "y");
    free(c);
    compare(what, g, "Gemm", 1e-4);
}

/* MatMul (A [.., M, K] by a constant B [K, N]) + bias [N] + residual + activation → FusedMatMul:
 * with Relu or none it is one cuBLASLt call (bias and Relu in its epilogue, the residual as its C
 * matrix); any other activation is one in-place pass after that call. */
static void fused_matmul_case(const char *what, int ra, const int64_t *da, int64_t N, int dtype, int residual,
                              const char *act)
{
    gu_graph *g = gu_new(17);
    int64_t K = da[ra - 1], dy[4];
    memcpy(dy, da, (size_t)ra * sizeof(int64_t));
    dy[ra - 1] = N;
    gu_input(g, "a", dtype, ra, da);
    if (residual) gu_input(g, "r", dtype, ra, dy);
    float *w = randv((size_t)(K * N), 8), *b = randv((size_t)N, 9);
    if (dtype != INGOT_DTYPE_F32) { /* f16 or bf16 */
        uint16_t *wh = malloc((size_t)(K * N) * 2), *bh = malloc((size_t)N * 2);
        int h = dtype == INGOT_DTYPE_F16;
        for (int64_t i = 0; i < K * N; i++) wh[i] = h ? ing_f32_to_f16(w[i]) : ing_f32_to_bf16(w[i]);
        for (int64_t i = 0; i < N; i++) bh[i] = h ? ing_f32_to_f16(b[i]) : ing_f32_to_bf16(b[i]);
        gu_const(g, "w", dtype, 2, (int64_t[]){K, N}, wh);
        gu_const(g, "b", dtype, 1, (int64_t[]){N}, bh);
        free(wh);
        free(bh);
    } else {
        gu_const(g, "w", dtype, 2, (int64_t[]){K, N}, w);
        gu_const(g, "b", dtype, 1, (int64_t[]){N}, b);
    }
    gu_node(g, "MatMul", "mm", "a,w", "p");
    gu_node(g, "Add", "bias", "p,b", act || residual ? "q" : "y");
    if (residual) gu_node(g, "Add", "res", "q,r", act ? "s" : "y");
    if (act) gu_node(g, act, "act", residual ? "s" : "q", "y");
    gu_output(g, "y");
    free(w);
    free(b);
    compare(what, g, "FusedMatMul", dtype == INGOT_DTYPE_F32 ? 1e-4 : dtype == INGOT_DTYPE_F16 ? 1e-2 : 3e-2);
}

/* Gemm (transB, bias [N]) + residual + Relu → FusedGemm in one cuBLASLt call. */
static void fused_gemm_case(void)
{
    const int64_t M = 9, K = 40, N = 24;
    gu_graph *g = gu_new(17);
    gu_input(g, "a", INGOT_DTYPE_F32, 2, (int64_t[]){M, K});
    gu_input(g, "r", INGOT_DTYPE_F32, 2, (int64_t[]){M, N});
    float *w = randv((size_t)(N * K), 10), *c = randv((size_t)N, 11);
    gu_const_f32(g, "w", 2, (int64_t[]){N, K}, w);
    gu_const_f32(g, "c", 1, (int64_t[]){N}, c);
    gu_node(g, "Gemm", "gemm", "a,w,c", "p");
    gu_attr_int(g, "transB", 1);
    gu_node(g, "Add", "res", "p,r", "s");
    gu_node(g, "Relu", "act", "s", "y");
    gu_output(g, "y");
    free(w);
    free(c);
    compare("FusedGemm (transB, bias, residual, relu)", g, "FusedGemm", 1e-4);
}

int main(void)
{
    conv_case("Conv 3x3 pad 1", 8, 16, 1, 3, 1, 1, 1, INGOT_DTYPE_F32, 1);
    if (skipped) {
        printf("SKIP: %s\n", ingot_last_error());
        return 77;
    }
    conv_case("Conv 3x3 stride 2 dilation 2", 8, 16, 1, 3, 2, 2, 2, INGOT_DTYPE_F32, 1);
    conv_case("Conv grouped (4 groups), no bias", 8, 16, 4, 3, 1, 1, 1, INGOT_DTYPE_F32, 0);
    conv_case("Conv depthwise", 8, 8, 8, 3, 1, 1, 1, INGOT_DTYPE_F32, 1);
    conv_case("Conv 1x1", 8, 16, 1, 1, 1, 1, 0, INGOT_DTYPE_F32, 1);
    conv_case("Conv 3x3 f16", 8, 16, 1, 3, 1, 1, 1, INGOT_DTYPE_F16, 1);
    fused_conv_case("FusedConv (conv+bias+residual+relu)", INGOT_DTYPE_F32, 3, 1, 1, 1, "Relu");
    fused_conv_case("FusedConv 1x1 (conv+bias+residual+relu) f16", INGOT_DTYPE_F16, 1, 1, 1, 1, "Relu");
    fused_conv_case("FusedConv stride 2 (conv+bias+relu) f16", INGOT_DTYPE_F16, 3, 2, 1, 0, "Relu");
    fused_conv_case("FusedConv (conv+relu, zero bias)", INGOT_DTYPE_F32, 3, 1, 0, 0, "Relu");
    fused_conv_case("FusedConv (conv+residual, zero bias) f16", INGOT_DTYPE_F16, 1, 1, 0, 1, NULL);
    fused_conv_case("FusedConv (conv+bias+residual, identity)", INGOT_DTYPE_F32, 3, 1, 1, 1, NULL);
    fused_conv_case("FusedConv (conv+bias+sigmoid, epilogue kernel)", INGOT_DTYPE_F32, 3, 1, 1, 0, "Sigmoid");
    conv_case("Conv 1x1 f16, bias", 8, 16, 1, 1, 1, 1, 0, INGOT_DTYPE_F16, 1);
    conv_case("Conv 3x3 f16, no bias", 8, 16, 1, 3, 1, 1, 0, INGOT_DTYPE_F16, 0);
    pool_case("MaxPool", 0);
    pool_case("AveragePool", 0);
    pool_case("AveragePool", 1);
    matmul_case("MatMul 2-D", 2, (int64_t[]){7, 33}, 2, (int64_t[]){33, 19}, INGOT_DTYPE_F32);
    matmul_case("MatMul batched", 3, (int64_t[]){3, 7, 33}, 3, (int64_t[]){3, 33, 19}, INGOT_DTYPE_F32);
    matmul_case("MatMul B shared", 4, (int64_t[]){2, 3, 7, 33}, 2, (int64_t[]){33, 19}, INGOT_DTYPE_F32);
    matmul_case("MatMul A shared", 2, (int64_t[]){7, 33}, 3, (int64_t[]){4, 33, 19}, INGOT_DTYPE_F32);
    matmul_case("MatMul f16", 3, (int64_t[]){3, 16, 64}, 3, (int64_t[]){3, 64, 32}, INGOT_DTYPE_F16);
    gemm_case("Gemm", 0, 0, 1.0f, 1.0f, 0);
    gemm_case("Gemm transA transB, bias [N]", 1, 1, 1.0f, 1.0f, 1);
    gemm_case("Gemm alpha beta, C [M,N]", 0, 1, 0.5f, 2.0f, 2);
    fused_matmul_case("FusedMatMul bias", 2, (int64_t[]){7, 33}, 19, INGOT_DTYPE_F32, 0, NULL);
    fused_matmul_case("FusedMatMul bias relu", 2, (int64_t[]){7, 33}, 19, INGOT_DTYPE_F32, 0, "Relu");
    fused_matmul_case("FusedMatMul bias residual relu, 3-D A", 3, (int64_t[]){3, 5, 32}, 24, INGOT_DTYPE_F32, 1,
                      "Relu");
    fused_matmul_case("FusedMatMul bias residual, 3-D A, f16", 3, (int64_t[]){2, 16, 64}, 48, INGOT_DTYPE_F16, 1,
                      NULL);
    fused_matmul_case("FusedMatMul bias residual gelu (epilogue pass), f16", 3, (int64_t[]){2, 16, 64}, 48,
                      INGOT_DTYPE_F16, 1, "Gelu");
    matmul_case("MatMul bf16", 3, (int64_t[]){3, 16, 64}, 3, (int64_t[]){3, 64, 32}, INGOT_DTYPE_BF16);
    fused_matmul_case("FusedMatMul bias residual relu, bf16", 3, (int64_t[]){2, 16, 64}, 48, INGOT_DTYPE_BF16, 1,
                      "Relu");
    fused_matmul_case("FusedMatMul bias gelu (epilogue pass), bf16", 2, (int64_t[]){16, 64}, 48, INGOT_DTYPE_BF16, 0,
                      "Gelu");
    /* the activation pass after a cuBLASLt call with bias (and residual): 16-byte vectors where
     * the element count allows, one element a thread where it does not (7 x 19) */
    fused_matmul_case("FusedMatMul bias residual gelu, f32 (vector pass)", 3, (int64_t[]){2, 16, 64}, 48,
                      INGOT_DTYPE_F32, 1, "Gelu");
    fused_matmul_case("FusedMatMul bias sigmoid, f32, 7x19 (element pass)", 2, (int64_t[]){7, 33}, 19,
                      INGOT_DTYPE_F32, 0, "Sigmoid");
    fused_matmul_case("FusedMatMul bias tanh, f16, 5x13 (element pass)", 2, (int64_t[]){5, 32}, 13, INGOT_DTYPE_F16,
                      0, "Tanh");
    fused_gemm_case();
    DONE();
}
