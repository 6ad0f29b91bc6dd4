/* Channels-last convolution stacks on CUDA (layout_nhwc + cuDNN NHWC descriptors + the fused
 * bias/residual/Relu call) against the CPU backend: each graph is built for CUDA twice — with the
 * pass (it must leave channels_last nodes, run on cuda.* kernels) and without it (NCHW) — and for
 * the CPU, all three run on the same fresh random inputs in [-1, 1) with the CUDA outputs
 * poisoned (NaN) before every run. f32 graphs are built with --tf32 (layout_nhwc leaves f32
 * NCHW under strict fp32, which one case checks). Tolerance (relative + absolute): f32 under TF32
 * 1e-2 (10-bit mantissas in the products, f32 sums; 2e-2 through a whole stage), strict fp32
 * 1e-4 (FMA math, sums in another order), f16 2e-2 (fp16 storage between layers, f32
 * accumulation), bf16 6e-2 to 8e-2. Skipped (77) without a GPU. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/dtype.h"
#include "graph_util.h"
#include "runtime/runtime.h"

static int skipped;
static const char *const NO_NHWC[] = {"layout_nhwc"};

static ingot_engine *build(gu_graph *g, ingot_backend b, int precision, int nhwc)
{
    return gu_build_for_precision(g, b, precision, nhwc ? NULL : NO_NHWC, nhwc ? 0 : 1, &skipped);
}

/* ops: the ops that must run on their cuda.* kernel (comma-separated). The CUDA builds use
 * `precision` (f32 graphs go NHWC under TF32 only; strict fp32 keeps NCHW); the CPU reference is
 * fp32. */
static void compare_at(const char *what, gu_graph *g, int precision, const char *ops, int want_cl, double tol)
{
    ingot_engine *nhwc = build(g, INGOT_BACKEND_CUDA, precision, 1);
    if (skipped) {
        ingot_engine_destroy(nhwc);
        gu_free(g);
        return;
    }
    ingot_engine *nchw = build(g, INGOT_BACKEND_CUDA, precision, 0), *cpu = build(g, INGOT_BACKEND_CPU, 0, 1);
    gu_free(g);
    CHECK(nhwc && nchw && cpu, "%s: all three build", what);
    if (nhwc && nchw && cpu) {
        CHECK(gu_count_attr(nhwc, "channels_last") == want_cl, "%s: %d channels_last nodes, want %d", what,
              gu_count_attr(nhwc, "channels_last"), want_cl);
        CHECK(gu_count_attr(nchw, "channels_last") == 0, "%s: none with layout_nhwc off", what);
        char list[128], *save = NULL;
        snprintf(list, sizeof list, "%s", ops);
        for (char *op = strtok_r(list, ",", &save); op; op = strtok_r(NULL, ",", &save)) {
            char want[96], why[200] = "";
            snprintf(want, sizeof want, "cuda.%s", op);
            CHECK(gu_steps_use(nhwc, op, want, why, sizeof why), "%s (NHWC): %s", what, why);
        }
        for (uint64_t seed = 1; seed <= 3; seed++) { /* fresh inputs; later runs replay a CUDA graph */
            gu_compare_opts co = {seed * 7919, 2, -1.0, 1.0, 1, tol, tol};
            CHECK(gu_compare(nhwc, cpu, &co), "%s: CUDA NHWC equals CPU (seed %llu)", what, (unsigned long long)seed);
            CHECK(gu_compare(nchw, cpu, &co), "%s: CUDA NCHW equals CPU (seed %llu)", what, (unsigned long long)seed);
        }
    }
    ingot_engine_destroy(nhwc);
    ingot_engine_destroy(nchw);
    ingot_engine_destroy(cpu);
}

/* 2-byte graphs at fp32 precision (their own dtype decides); f32 graphs under TF32, with tol
 * the TF32 tolerance. */
static void compare(const char *what, gu_graph *g, const char *ops, int want_cl, double tol)
{
    compare_at(what, g, INGOT_PRECISION_TF32, ops, want_cl, tol);
}

/* A constant of n random values in [-0.5, 0.5) stored as dtype. */
static void rconst(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims, unsigned seed)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    float *v = malloc(n * sizeof(float));
    uint16_t *h = malloc(n * sizeof(uint16_t));
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        v[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        h[i] = dtype == INGOT_DTYPE_BF16 ? ing_f32_to_bf16(v[i]) : ing_f32_to_f16(v[i]);
    }
    gu_const(g, name, dtype, rank, dims, dtype == INGOT_DTYPE_F32 ? (const void *)v : (const void *)h);
    free(v);
    free(h);
}

/* Conv name: x → y, [m, c/group, k, k], pads k/2, stride s, with bias when bias. */
static void conv(gu_graph *g, int dt, const char *name, const char *x, const char *y, int64_t c, int64_t m, int64_t k,
                 int64_t s, int64_t group, int bias, unsigned seed)
{
    char w[64], b[64], in[200];
    snprintf(w, sizeof w, "%s_w", name);
    snprintf(b, sizeof b, "%s_b", name);
    rconst(g, w, dt, 4, (int64_t[]){m, c / group, k, k}, seed);
    if (bias) rconst(g, b, dt, 1, (int64_t[]){m}, seed + 1);
    snprintf(in, sizeof in, bias ? "%s,%s,%s" : "%s,%s", x, w, b);
    gu_node(g, "Conv", name, in, y);
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){k, k});
    gu_attr_ints(g, "strides", 2, (int64_t[]){s, s});
    gu_attr_ints(g, "pads", 4, (int64_t[]){k / 2, k / 2, k / 2, k / 2});
    gu_attr_int(g, "group", group);
}

static void pool(gu_graph *g, const char *op, const char *x, const char *y)
{
    gu_node(g, op, op, x, y);
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){3, 3});
    gu_attr_ints(g, "strides", 2, (int64_t[]){2, 2});
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
}

/* A ResNet bottleneck stage: stem conv+bias+relu, MaxPool, 1x1 → 3x3 → 1x1 with a projection
 * shortcut, residual add + relu, AveragePool, GAP. Every conv, both pools: channels_last. */
static gu_graph *bottleneck(int dt)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, 4, (int64_t[]){4, 3, 32, 32});
    conv(g, dt, "stem", "x", "s0", 3, 16, 3, 2, 1, 1, 1);
    gu_node(g, "Relu", "stem_relu", "s0", "s1");
    pool(g, "MaxPool", "s1", "p");
    conv(g, dt, "c1", "p", "a0", 16, 8, 1, 1, 1, 1, 3);
    gu_node(g, "Relu", "c1_relu", "a0", "a1");
    conv(g, dt, "c2", "a1", "b0", 8, 8, 3, 1, 1, 1, 5);
    gu_node(g, "Relu", "c2_relu", "b0", "b1");
    conv(g, dt, "c3", "b1", "c0", 8, 32, 1, 1, 1, 1, 7);
    conv(g, dt, "proj", "p", "d0", 16, 32, 1, 1, 1, 1, 9);
    gu_node(g, "Add", "res", "c0,d0", "e0");
    gu_node(g, "Relu", "res_relu", "e0", "e1");
    pool(g, "AveragePool", "e1", "f");
    gu_node(g, "GlobalAveragePool", "gap", "f", "y");
    gu_output(g, "y");
    return g;
}

/* One conv with what follows it: residual (an input), activation (NULL: none). */
static gu_graph *conv_epilogue(int dt, int64_t k, int64_t s, int64_t group, int bias, int res, const char *act)
{
    const int64_t C = 16, M = 32, H = 14, oh = (H + 2 * (k / 2) - k) / s + 1;
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, 4, (int64_t[]){3, C, H, H});
    if (res) gu_input(g, "r", dt, 4, (int64_t[]){3, M, oh, oh});
    conv(g, dt, "c", "x", res || act ? "c0" : "y", C, M, k, s, group, bias, 11);
    if (res) gu_node(g, "Add", "add", "c0,r", act ? "c1" : "y");
    if (act) gu_node(g, act, "act", res ? "c1" : "c0", "y");
    gu_output(g, "y");
    return g;
}

int main(void)
{
    const int F32 = INGOT_DTYPE_F32, F16 = INGOT_DTYPE_F16, BF16 = INGOT_DTYPE_BF16;
    /* f32 under TF32: 10-bit mantissas in the products, fp32 sums */
    compare("Conv 3x3 + bias (fused identity) f32", conv_epilogue(F32, 3, 1, 1, 1, 0, NULL), "Conv", 1, 1e-2);
    if (skipped) {
        printf("SKIP: %s\n", ingot_last_error());
        return 77;
    }
    compare("Conv 3x3 + bias f16", conv_epilogue(F16, 3, 1, 1, 1, 0, NULL), "Conv", 1, 2e-2);
    compare("Conv 3x3 stride 2, no bias f16", conv_epilogue(F16, 3, 2, 1, 0, 0, NULL), "Conv", 1, 2e-2);
    compare("FusedConv 1x1 bias+residual+relu f32", conv_epilogue(F32, 1, 1, 1, 1, 1, "Relu"), "FusedConv", 1, 1e-2);
    compare("FusedConv 1x1 bias+residual+relu f16", conv_epilogue(F16, 1, 1, 1, 1, 1, "Relu"), "FusedConv", 1, 2e-2);
    compare("FusedConv 3x3 s2 bias+relu f16", conv_epilogue(F16, 3, 2, 1, 1, 0, "Relu"), "FusedConv", 1, 2e-2);
    compare("FusedConv relu, zero bias f32", conv_epilogue(F32, 3, 1, 1, 0, 0, "Relu"), "FusedConv", 1, 1e-2);
    compare("FusedConv residual, identity f16", conv_epilogue(F16, 1, 1, 1, 1, 1, NULL), "FusedConv", 1, 2e-2);
    compare("FusedConv sigmoid (epilogue kernel on NHWC) f32", conv_epilogue(F32, 3, 1, 1, 1, 0, "Sigmoid"),
            "FusedConv", 1, 1e-2);
    compare("FusedConv depthwise + relu f16", conv_epilogue(F16, 3, 1, 16, 1, 0, "Relu"), "FusedConv", 1, 2e-2);
    compare("FusedConv grouped (4) + relu f32", conv_epilogue(F32, 3, 1, 4, 1, 0, "Relu"), "FusedConv", 1, 1e-2);
    /* bf16 (NHWC only): cuDNN's bf16 kernels, fp32 accumulation; 8 mantissa bits */
    compare("FusedConv 1x1 bias+residual+relu bf16", conv_epilogue(BF16, 1, 1, 1, 1, 1, "Relu"), "FusedConv", 1, 6e-2);
    compare("FusedConv 3x3 s2 bias+sigmoid (epilogue kernel) bf16", conv_epilogue(BF16, 3, 2, 1, 1, 0, "Sigmoid"),
            "FusedConv", 1, 6e-2);
    /* stem, MaxPool, c1, c2, c3, proj, AveragePool */
    compare("bottleneck stage f32", bottleneck(F32), "FusedConv,MaxPool,AveragePool,ReduceMean", 7, 2e-2);
    /* strict fp32: NCHW, cuDNN's fp32 kernels */
    compare_at("bottleneck stage strict fp32 stays NCHW", bottleneck(F32), INGOT_PRECISION_FP32,
               "FusedConv,MaxPool,AveragePool", 0, 1e-4);
    compare("bottleneck stage f16", bottleneck(F16), "FusedConv,MaxPool,AveragePool,ReduceMean", 7, 2e-2);
    compare("bottleneck stage bf16", bottleneck(BF16), "FusedConv,MaxPool,AveragePool,ReduceMean", 7, 8e-2);
    DONE();
}
