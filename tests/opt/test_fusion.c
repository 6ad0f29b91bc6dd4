/* fold_batchnorm and fuse_epilogue on small graphs: node and op counts with the pass off and on,
 * provenance of the fused node, equal outputs on random inputs; near-misses (an intermediate read
 * elsewhere, a non-constant BN parameter, a bias on the wrong axis, a broadcasting residual, a
 * variable Clip bound, a 3-D MatMul before BN) must stay as they are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "graph_util.h"
#include "runtime/runtime.h"

typedef struct expect {
    const char *pass;  /* the pass under test ("fold_batchnorm,fuse_epilogue": both off) */
    const char *op;    /* the op left standing (or created) with every pass on */
    int off_nodes;     /* main-graph nodes with the pass off */
    int on_nodes;      /* … and on */
    int on_ops;        /* nodes of type op with every pass on */
    int origins;       /* ONNX nodes that node covers (0: do not check) */
    double rtol, atol;
} expect;

/* Build g with x->pass off (one or two comma-separated names) and with every pass on; check
 * counts, provenance and outputs. Returns the all-on engine (caller destroys) or NULL. */
static ingot_engine *run_case(const char *what, gu_graph *g, const expect *x)
{
    char names[128];
    snprintf(names, sizeof names, "%s", x->pass);
    const char *dis[2] = {names, NULL};
    size_t n_dis = 1;
    char *comma = strchr(names, ',');
    if (comma) {
        *comma = 0;
        dis[1] = comma + 1;
        n_dis = 2;
    }
    int off_n = -1, on_n = -1;
    ingot_engine *off = gu_build(g, dis, n_dis, &off_n), *on = gu_build(g, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed", what);
    if (!off || !on) {
        ingot_engine_destroy(off);
        ingot_engine_destroy(on);
        return NULL;
    }
    CHECK(off_n == x->off_nodes, "%s: %d nodes with %s off, want %d", what, off_n, x->pass, x->off_nodes);
    CHECK(on_n == x->on_nodes, "%s: %d nodes with %s on, want %d", what, on_n, x->pass, x->on_nodes);
    CHECK(gu_count_op(on, x->op) == x->on_ops, "%s: %d %s nodes with the pass on, want %d", what,
          gu_count_op(on, x->op), x->op, x->on_ops);
    if (x->origins) {
        const ir_node *n = gu_find_op(on, x->op);
        CHECK(n && n->n_origin == x->origins, "%s: %s covers %d ONNX nodes, want %d", what, x->op,
              n ? n->n_origin : -1, x->origins);
    }
    CHECK(gu_same_outputs(off, on, 11, x->rtol, x->atol), "%s: same outputs with %s off and on", what, x->pass);
    CHECK(gu_same_outputs(off, on, 12345, x->rtol, x->atol), "%s: same outputs (second seed)", what);
    ingot_engine_destroy(off);
    return on;
}

static void run_only(const char *what, gu_graph *g, const expect *x) { ingot_engine_destroy(run_case(what, g, x)); }

/* Deterministic pseudo-random values in [lo, hi); each call returns a fresh buffer kept until exit. */
static float *pool[256];
static int n_pool;
static const float *rnd(int64_t n, float lo, float hi)
{
    static uint64_t s = 0x9E3779B97F4A7C15ull;
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = lo + (hi - lo) * (float)((s >> 40) / 16777216.0);
    }
    if (n_pool < 256) pool[n_pool++] = p;
    return p;
}

/* BN parameters for c channels under names <p>.scale/.b/.mean/.var. */
static void bn_params(gu_graph *g, const char *p, int64_t c)
{
    char n[64];
    snprintf(n, sizeof n, "%s.scale", p);
    gu_const_f32(g, n, 1, &c, rnd(c, 0.5f, 1.5f));
    snprintf(n, sizeof n, "%s.b", p);
    gu_const_f32(g, n, 1, &c, rnd(c, -0.5f, 0.5f));
    snprintf(n, sizeof n, "%s.mean", p);
    gu_const_f32(g, n, 1, &c, rnd(c, -0.5f, 0.5f));
    snprintf(n, sizeof n, "%s.var", p);
    gu_const_f32(g, n, 1, &c, rnd(c, 0.25f, 2.0f));
}

/* ---- fold_batchnorm --------------------------------------------------------------------------- */

static void test_fold_batchnorm(void)
{
    /* Conv with bias + BN */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 3, 8, 8});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 3, 3, 3}, rnd(108, -1, 1));
    gu_const_f32(g, "b", 1, (int64_t[]){4}, rnd(4, -1, 1));
    bn_params(g, "bn", 4);
    gu_node(g, "Conv", "conv", "x,w,b", "c");
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gu_node(g, "BatchNormalization", "bn", "c,bn.scale,bn.b,bn.mean,bn.var", "y");
    gu_attr_float(g, "epsilon", 1e-3f);
    gu_output(g, "y");
    expect e1 = {"fold_batchnorm", "Conv", 2, 1, 1, 2, 1e-4, 1e-5};
    ingot_engine *on = run_case("conv+bn", g, &e1);
    if (on) CHECK(gu_count_op(on, "BatchNormalization") == 0, "conv+bn: no BatchNormalization left");
    ingot_engine_destroy(on);

    /* Conv without bias (a new bias constant), BN, Relu: everything ends in one FusedConv */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 4, 6, 6});
    gu_const_f32(g, "w", 4, (int64_t[]){6, 2, 1, 1}, rnd(12, -1, 1));
    bn_params(g, "bn", 6);
    gu_node(g, "Conv", "conv", "x,w", "c");
    gu_attr_int(g, "group", 2);
    gu_node(g, "BatchNormalization", "bn", "c,bn.scale,bn.b,bn.mean,bn.var", "n");
    gu_node(g, "Relu", "relu", "n", "y");
    gu_output(g, "y");
    expect e2 = {"fold_batchnorm,fuse_epilogue", "FusedConv", 3, 1, 1, 3, 1e-4, 1e-5};
    run_only("grouped conv+bn+relu", g, &e2);

    /* ConvTranspose, group 2: output channels are axis 1 of W per group */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 4, 5, 5});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 3, 3, 3}, rnd(108, -1, 1));
    gu_const_f32(g, "b", 1, (int64_t[]){6}, rnd(6, -1, 1));
    bn_params(g, "bn", 6);
    gu_node(g, "ConvTranspose", "convt", "x,w,b", "c");
    gu_attr_int(g, "group", 2);
    gu_attr_ints(g, "strides", 2, (int64_t[]){2, 2});
    gu_node(g, "BatchNormalization", "bn", "c,bn.scale,bn.b,bn.mean,bn.var", "y");
    gu_output(g, "y");
    expect e3 = {"fold_batchnorm", "ConvTranspose", 2, 1, 1, 2, 1e-4, 1e-5};
    run_only("convtranspose+bn", g, &e3);

    /* Gemm transB 1 with C [N], and Gemm transB 0 without C (beta 0.5: the new C divides by it) */
    for (int tb = 0; tb < 2; tb++) {
        g = gu_new(17);
        gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 5});
        gu_const_f32(g, "w", 2, tb ? (int64_t[]){7, 5} : (int64_t[]){5, 7}, rnd(35, -1, 1));
        gu_const_f32(g, "c", 1, (int64_t[]){7}, rnd(7, -1, 1));
        bn_params(g, "bn", 7);
        gu_node(g, "Gemm", "gemm", tb ? "x,w,c" : "x,w", "h");
        gu_attr_int(g, "transB", tb);
        gu_attr_float(g, "alpha", 0.75f);
        if (!tb) gu_attr_float(g, "beta", 0.5f);
        gu_node(g, "BatchNormalization", "bn", "h,bn.scale,bn.b,bn.mean,bn.var", "y");
        gu_output(g, "y");
        expect e4 = {"fold_batchnorm", "Gemm", 2, 1, 1, 2, 1e-4, 1e-5};
        run_only(tb ? "gemm transB + bn" : "gemm no C + bn", g, &e4);
    }

    /* MatMul with a constant 2-D weight: becomes Gemm(x, W', B') */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){4, 6});
    gu_const_f32(g, "w", 2, (int64_t[]){6, 5}, rnd(30, -1, 1));
    bn_params(g, "bn", 5);
    gu_node(g, "MatMul", "mm", "x,w", "h");
    gu_node(g, "BatchNormalization", "bn", "h,bn.scale,bn.b,bn.mean,bn.var", "y");
    gu_output(g, "y");
    expect e5 = {"fold_batchnorm", "Gemm", 2, 1, 1, 2, 1e-4, 1e-5};
    run_only("matmul+bn", g, &e5);

    /* f16 Conv + BN: weights rescaled in f64, stored in f16 */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F16, 4, (int64_t[]){1, 2, 5, 5});
    uint16_t wh[72], sc[4], bb[4], mu[4], va[4];
    const float *wf = rnd(72, -1, 1), *p = rnd(16, 0, 1);
    for (int i = 0; i < 72; i++) wh[i] = ing_f32_to_f16(wf[i]);
    for (int i = 0; i < 4; i++) {
        sc[i] = ing_f32_to_f16(0.5f + p[i]);
        bb[i] = ing_f32_to_f16(p[4 + i] - 0.5f);
        mu[i] = ing_f32_to_f16(p[8 + i] - 0.5f);
        va[i] = ing_f32_to_f16(0.5f + p[12 + i]);
    }
    gu_const(g, "w", INGOT_DTYPE_F16, 4, (int64_t[]){4, 2, 3, 3}, wh);
    gu_const(g, "s", INGOT_DTYPE_F16, 1, (int64_t[]){4}, sc);
    gu_const(g, "bb", INGOT_DTYPE_F16, 1, (int64_t[]){4}, bb);
    gu_const(g, "mu", INGOT_DTYPE_F16, 1, (int64_t[]){4}, mu);
    gu_const(g, "va", INGOT_DTYPE_F16, 1, (int64_t[]){4}, va);
    gu_node(g, "Conv", "conv", "x,w", "c");
    gu_node(g, "BatchNormalization", "bn", "c,s,bb,mu,va", "n");
    gu_node(g, "Relu", "relu", "n", "y");
    gu_output(g, "y");
    expect e6 = {"fold_batchnorm,fuse_epilogue", "FusedConv", 3, 1, 1, 3, 1e-2, 2e-2};
    run_only("f16 conv+bn+relu", g, &e6);

    /* must not fire: the Conv output is also a graph output */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 3, 6, 6});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 3, 3, 3}, rnd(108, -1, 1));
    bn_params(g, "bn", 4);
    gu_node(g, "Conv", "conv", "x,w", "c");
    gu_node(g, "BatchNormalization", "bn", "c,bn.scale,bn.b,bn.mean,bn.var", "y");
    gu_output(g, "y");
    gu_output(g, "c");
    expect n1 = {"fold_batchnorm", "BatchNormalization", 2, 2, 1, 0, 1e-4, 1e-5};
    run_only("conv+bn, conv output read elsewhere", g, &n1);

    /* must not fire: the BN scale is a graph input, not a constant */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 3, 6, 6});
    gu_input(g, "scale", INGOT_DTYPE_F32, 1, (int64_t[]){4});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 3, 3, 3}, rnd(108, -1, 1));
    bn_params(g, "bn", 4);
    gu_node(g, "Conv", "conv", "x,w", "c");
    gu_node(g, "BatchNormalization", "bn", "c,scale,bn.b,bn.mean,bn.var", "y");
    gu_output(g, "y");
    expect n2 = {"fold_batchnorm", "BatchNormalization", 2, 2, 1, 0, 1e-4, 1e-5};
    run_only("conv+bn, variable scale", g, &n2);

    /* must not fire: a 3-D MatMul output has its BN channels on axis 1, not the weight's columns */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 5, 6});
    gu_const_f32(g, "w", 2, (int64_t[]){6, 5}, rnd(30, -1, 1));
    bn_params(g, "bn", 5);
    gu_node(g, "MatMul", "mm", "x,w", "h");
    gu_node(g, "BatchNormalization", "bn", "h,bn.scale,bn.b,bn.mean,bn.var", "y");
    gu_output(g, "y");
    expect n3 = {"fold_batchnorm", "BatchNormalization", 2, 2, 1, 0, 1e-4, 1e-5};
    run_only("3-D matmul+bn", g, &n3);

    /* a weight shared by two Convs is not edited in place: both fold into their own copies */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 3, 6, 6});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 3, 3, 3}, rnd(108, -1, 1));
    bn_params(g, "bn", 4);
    bn_params(g, "bn2", 4);
    gu_node(g, "Conv", "conv", "x,w", "c");
    gu_node(g, "BatchNormalization", "bn", "c,bn.scale,bn.b,bn.mean,bn.var", "y");
    gu_node(g, "Conv", "conv2", "x,w", "c2");
    gu_attr_ints(g, "strides", 2, (int64_t[]){2, 2}); /* not the same Conv, or CSE merges them */
    gu_node(g, "BatchNormalization", "bn2", "c2,bn2.scale,bn2.b,bn2.mean,bn2.var", "y2");
    gu_output(g, "y");
    gu_output(g, "y2");
    expect e7 = {"fold_batchnorm", "Conv", 4, 2, 2, 2, 1e-4, 1e-5};
    run_only("shared weight, two conv+bn", g, &e7);
}

/* ---- fuse_epilogue ---------------------------------------------------------------------------- */

/* x [2,4,6,6] → Conv(4→4, 3x3 pad 1) → c; then the caller's tail. */
static gu_graph *conv_head(int bias)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 4, 6, 6});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 4, 3, 3}, rnd(144, -0.5f, 0.5f));
    if (bias) gu_const_f32(g, "b", 1, (int64_t[]){4}, rnd(4, -1, 1));
    gu_node(g, "Conv", "conv", bias ? "x,w,b" : "x,w", "c");
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    return g;
}

static void test_epilogue_conv(void)
{
    /* ResNet's tail: Conv → Add(bias [4,1,1]) → Add(residual x) → Relu */
    gu_graph *g = conv_head(1);
    gu_const_f32(g, "bias", 3, (int64_t[]){4, 1, 1}, rnd(4, -1, 1));
    gu_node(g, "Add", "add_b", "c,bias", "cb");
    gu_node(g, "Add", "add_r", "x,cb", "s");
    gu_node(g, "Relu", "relu", "s", "y");
    gu_output(g, "y");
    expect e1 = {"fuse_epilogue", "FusedConv", 4, 1, 1, 4, 1e-4, 1e-5};
    ingot_engine *on = run_case("conv+bias+residual+relu", g, &e1);
    if (on) {
        const ir_node *n = gu_find_op(on, "FusedConv");
        CHECK(n && !strcmp(n->domain, "ingot") && n->opset == 17, "fused conv: domain ingot, opset 17");
        CHECK(n && n->n_in == 4 && !strcmp(ir_attr_string(n, "activation", ""), "Relu"),
              "fused conv: 4 inputs, Relu");
        const int64_t *pads;
        size_t np;
        pads = n ? ir_attr_ints(n, "pads", &np) : NULL;
        CHECK(pads && np == 4 && pads[0] == 1, "fused conv keeps Conv's attributes");
    }
    ingot_engine_destroy(on);

    /* MobileNetV3's Conv → HardSwish, and each other activation on its own */
    static const char *acts[] = {"HardSwish", "Sigmoid", "Tanh", "HardSigmoid", "LeakyRelu", "Relu"};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        g = conv_head(i % 2);
        gu_node(g, acts[i], "act", "c", "y");
        if (!strcmp(acts[i], "HardSigmoid")) {
            gu_attr_float(g, "alpha", 0.25f);
            gu_attr_float(g, "beta", 0.4f);
        }
        if (!strcmp(acts[i], "LeakyRelu")) gu_attr_float(g, "alpha", 0.2f);
        gu_output(g, "y");
        char what[64];
        snprintf(what, sizeof what, "conv+%s", acts[i]);
        expect e = {"fuse_epilogue", "FusedConv", 2, 1, 1, 2, 1e-4, 1e-5};
        run_only(what, g, &e);
    }

    /* Clip(0, 6) with constant bounds; Clip with only a max */
    for (int only_max = 0; only_max < 2; only_max++) {
        g = conv_head(1);
        gu_const_f32(g, "lo", 0, NULL, (float[]){0.0f});
        gu_const_f32(g, "hi", 0, NULL, (float[]){0.5f});
        gu_node(g, "Clip", "clip", only_max ? "c,,hi" : "c,lo,hi", "y");
        gu_output(g, "y");
        expect e = {"fuse_epilogue", "FusedConv", 2, 1, 1, 2, 1e-4, 1e-5};
        on = run_case(only_max ? "conv+clip(max)" : "conv+clip", g, &e);
        if (on) {
            const ir_node *n = gu_find_op(on, "FusedConv");
            CHECK(n && ir_attr_float(n, "activation_beta", 0) == 0.5f &&
                      (only_max ? isinf(ir_attr_float(n, "activation_alpha", 0)) && ir_attr_float(n, "activation_alpha", 0) < 0
                                : ir_attr_float(n, "activation_alpha", 1) == 0),
                  "conv+clip: bounds recorded");
        }
        ingot_engine_destroy(on);
    }

    /* must not fire: Clip's bound is a graph input */
    g = conv_head(1);
    gu_input(g, "hi", INGOT_DTYPE_F32, 0, NULL);
    gu_node(g, "Clip", "clip", "c,,hi", "y");
    gu_output(g, "y");
    expect n1 = {"fuse_epilogue", "FusedConv", 2, 2, 0, 0, 1e-4, 1e-5};
    run_only("conv+clip, variable bound", g, &n1);

    /* must not fire: the Conv output is read twice */
    g = conv_head(1);
    gu_node(g, "Relu", "relu", "c", "r");
    gu_node(g, "Add", "add", "r,c", "y");
    gu_output(g, "y");
    expect n2 = {"fuse_epilogue", "FusedConv", 3, 3, 0, 0, 1e-4, 1e-5};
    run_only("conv read twice", g, &n2);

    /* must not fire: the intermediate is a graph output */
    g = conv_head(1);
    gu_node(g, "Relu", "relu", "c", "y");
    gu_output(g, "y");
    gu_output(g, "c");
    expect n3 = {"fuse_epilogue", "FusedConv", 2, 2, 0, 0, 1e-4, 1e-5};
    run_only("conv output is a graph output", g, &n3);

    /* must not fire: a constant along the width axis is no channel bias, nor a same-shape residual */
    g = conv_head(1);
    gu_const_f32(g, "bw", 1, (int64_t[]){6}, rnd(6, -1, 1));
    gu_node(g, "Add", "add", "c,bw", "y");
    gu_output(g, "y");
    expect n4 = {"fuse_epilogue", "FusedConv", 2, 2, 0, 0, 1e-4, 1e-5};
    run_only("conv+add along width", g, &n4);

    /* must not fire: a residual [1,4,6,6] broadcasts over the batch of 2 */
    g = conv_head(0);
    gu_input(g, "r", INGOT_DTYPE_F32, 4, (int64_t[]){1, 4, 6, 6});
    gu_node(g, "Add", "add", "c,r", "y");
    gu_output(g, "y");
    expect n5 = {"fuse_epilogue", "FusedConv", 2, 2, 0, 0, 1e-4, 1e-5};
    run_only("conv+broadcasting residual", g, &n5);

    /* the residual produced after the Conv (ResNet's downsample branch): the fused node runs late */
    g = conv_head(1);
    gu_const_f32(g, "wd", 4, (int64_t[]){4, 4, 1, 1}, rnd(16, -1, 1));
    gu_node(g, "Conv", "down", "x,wd", "d");
    gu_node(g, "Add", "add", "c,d", "s");
    gu_node(g, "Relu", "relu", "s", "y");
    gu_output(g, "y");
    expect e2 = {"fuse_epilogue", "FusedConv", 4, 2, 1, 3, 1e-4, 1e-5};
    run_only("conv+late residual+relu", g, &e2);
}

static void test_epilogue_gemm_matmul(void)
{
    /* Gemm without C → Add(bias [1,N]) → Relu: the bias becomes C */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 5});
    gu_const_f32(g, "w", 2, (int64_t[]){7, 5}, rnd(35, -1, 1));
    gu_const_f32(g, "bias", 2, (int64_t[]){1, 7}, rnd(7, -1, 1));
    gu_node(g, "Gemm", "gemm", "x,w", "h");
    gu_attr_int(g, "transB", 1);
    gu_attr_float(g, "beta", 0.3f);
    gu_node(g, "Add", "add", "h,bias", "hb");
    gu_node(g, "Relu", "relu", "hb", "y");
    gu_output(g, "y");
    expect e1 = {"fuse_epilogue", "FusedGemm", 3, 1, 1, 3, 1e-4, 1e-5};
    run_only("gemm+bias+relu", g, &e1);

    /* Gemm with C (beta 0.5) → Add(bias [N]) → Add(residual) → Tanh */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 5});
    gu_input(g, "r", INGOT_DTYPE_F32, 2, (int64_t[]){3, 7});
    gu_const_f32(g, "w", 2, (int64_t[]){5, 7}, rnd(35, -1, 1));
    gu_const_f32(g, "c", 1, (int64_t[]){7}, rnd(7, -1, 1));
    gu_const_f32(g, "bias", 1, (int64_t[]){7}, rnd(7, -1, 1));
    gu_node(g, "Gemm", "gemm", "x,w,c", "h");
    gu_attr_float(g, "beta", 0.5f);
    gu_node(g, "Add", "add", "bias,h", "hb");
    gu_node(g, "Add", "add_r", "hb,r", "s");
    gu_node(g, "Tanh", "tanh", "s", "y");
    gu_output(g, "y");
    expect e2 = {"fuse_epilogue", "FusedGemm", 4, 1, 1, 4, 1e-4, 1e-5};
    run_only("gemm(C)+bias+residual+tanh", g, &e2);

    /* BERT's MatMul → Add(bias) → Gelu (opset 20), batched 3-D input */
    g = gu_new(20);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 3, 8});
    gu_const_f32(g, "w", 2, (int64_t[]){8, 5}, rnd(40, -1, 1));
    gu_const_f32(g, "bias", 1, (int64_t[]){5}, rnd(5, -1, 1));
    gu_node(g, "MatMul", "mm", "x,w", "h");
    gu_node(g, "Add", "add", "h,bias", "hb");
    gu_node(g, "Gelu", "gelu", "hb", "y");
    gu_attr_string(g, "approximate", "tanh");
    gu_output(g, "y");
    expect e3 = {"fuse_epilogue", "FusedMatMul", 3, 1, 1, 3, 1e-4, 1e-5};
    ingot_engine *on = run_case("matmul+bias+gelu(tanh)", g, &e3);
    if (on) {
        const ir_node *n = gu_find_op(on, "FusedMatMul");
        CHECK(n && n->n_in == 3 && !strcmp(ir_attr_string(n, "activation", ""), "GeluTanh"),
              "fused matmul: bias input, GeluTanh");
    }
    ingot_engine_destroy(on);

    /* MatMul → Add(residual) only, both operands variable */
    g = gu_new(17);
    gu_input(g, "a", INGOT_DTYPE_F32, 3, (int64_t[]){2, 4, 6});
    gu_input(g, "b", INGOT_DTYPE_F32, 2, (int64_t[]){6, 3});
    gu_input(g, "r", INGOT_DTYPE_F32, 3, (int64_t[]){2, 4, 3});
    gu_node(g, "MatMul", "mm", "a,b", "h");
    gu_node(g, "Add", "add", "r,h", "y");
    gu_output(g, "y");
    expect e4 = {"fuse_epilogue", "FusedMatMul", 2, 1, 1, 2, 1e-4, 1e-5};
    run_only("matmul+residual", g, &e4);

    /* MatMul → x·Sigmoid(x) (fuse_silu makes a Swish) → one FusedMatMul */
    g = gu_new(17);
    gu_input(g, "a", INGOT_DTYPE_F32, 2, (int64_t[]){4, 6});
    gu_const_f32(g, "w", 2, (int64_t[]){6, 3}, rnd(18, -1, 1));
    gu_node(g, "MatMul", "mm", "a,w", "h");
    gu_node(g, "Sigmoid", "sig", "h", "s");
    gu_node(g, "Mul", "mul", "h,s", "y");
    gu_output(g, "y");
    expect e5 = {"fuse_epilogue", "FusedMatMul", 2, 1, 1, 3, 1e-4, 1e-5};
    run_only("matmul+silu", g, &e5);

    /* f64 MatMul + bias + Relu: the epilogue's f64 path */
    g = gu_new(17);
    gu_input(g, "a", INGOT_DTYPE_F64, 2, (int64_t[]){4, 6});
    double wd[18], bd[3];
    const float *wr = rnd(21, -1, 1);
    for (int i = 0; i < 18; i++) wd[i] = wr[i];
    for (int i = 0; i < 3; i++) bd[i] = wr[18 + i];
    gu_const(g, "w", INGOT_DTYPE_F64, 2, (int64_t[]){6, 3}, wd);
    gu_const(g, "bias", INGOT_DTYPE_F64, 1, (int64_t[]){3}, bd);
    gu_node(g, "MatMul", "mm", "a,w", "h");
    gu_node(g, "Add", "add", "h,bias", "hb");
    gu_node(g, "Relu", "relu", "hb", "y");
    gu_output(g, "y");
    expect e6 = {"fuse_epilogue", "FusedMatMul", 3, 1, 1, 3, 1e-12, 1e-12};
    run_only("f64 matmul+bias+relu", g, &e6);

    /* must not fire: integer MatMul + Add (the epilogue is for floats) */
    g = gu_new(17);
    gu_input(g, "a", INGOT_DTYPE_I32, 2, (int64_t[]){4, 6});
    gu_const(g, "w", INGOT_DTYPE_I32, 2, (int64_t[]){6, 3}, (int32_t[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    gu_const(g, "bias", INGOT_DTYPE_I32, 1, (int64_t[]){3}, (int32_t[]){1, -2, 3});
    gu_node(g, "MatMul", "mm", "a,w", "h");
    gu_node(g, "Add", "add", "h,bias", "y");
    gu_output(g, "y");
    expect n1 = {"fuse_epilogue", "FusedMatMul", 2, 2, 0, 0, 0, 0};
    run_only("int32 matmul+bias", g, &n1);
}

/* The fused kernels against the unfused ops, written directly (the importer finds ops by name):
 * a residual that broadcasts (dims of 1 on either side, as Add allows), f16, and bad attributes. */
static gu_graph *direct_graph(int fused, int dt, const int64_t *xd, const int64_t *rd, const char *act)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, 4, xd);
    gu_input(g, "r", dt, 4, rd);
    static const float *w;
    if (!w) w = rnd(144, -0.5f, 0.5f); /* the same weights in both graphs */
    static uint16_t wh[144];
    for (int i = 0; i < 144; i++) wh[i] = ing_f32_to_f16(w[i]);
    if (dt == INGOT_DTYPE_F16) gu_const(g, "w", dt, 4, (int64_t[]){4, 4, 3, 3}, wh);
    else gu_const_f32(g, "w", 4, (int64_t[]){4, 4, 3, 3}, w);
    if (fused) {
        gu_node(g, "FusedConv", "fc", "x,w,,r", "y");
        gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
        gu_attr_string(g, "activation", act);
        gu_attr_float(g, "activation_alpha", 0.1f);
    } else {
        gu_node(g, "Conv", "conv", "x,w", "c");
        gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
        gu_node(g, "Add", "add", "c,r", "s");
        gu_node(g, "LeakyRelu", "act", "s", "y");
        gu_attr_float(g, "alpha", 0.1f);
    }
    gu_output(g, "y");
    return g;
}

static void test_fused_kernels(void)
{
    static const int64_t shapes[][2][4] = {
        {{2, 4, 6, 6}, {2, 4, 6, 6}}, {{2, 4, 6, 6}, {1, 4, 1, 6}}, {{1, 4, 6, 6}, {3, 4, 6, 6}}};
    for (int dt = 0; dt < 2; dt++)
        for (int i = 0; i < 3; i++) {
            int type = dt ? INGOT_DTYPE_F16 : INGOT_DTYPE_F32;
            gu_graph *ga = direct_graph(0, type, shapes[i][0], shapes[i][1], "LeakyRelu");
            gu_graph *gb = direct_graph(1, type, shapes[i][0], shapes[i][1], "LeakyRelu");
            ingot_engine *a = gu_build(ga, NULL, 0, NULL), *b = gu_build(gb, NULL, 0, NULL);
            gu_free(ga);
            gu_free(gb);
            CHECK(a && b, "direct FusedConv case %d (%s): both build", i, dt ? "f16" : "f32");
            if (a && b)
                CHECK(gu_same_outputs(a, b, 7, dt ? 1e-2 : 1e-5, dt ? 1e-2 : 1e-6),
                      "direct FusedConv case %d (%s): same outputs as Conv+Add+LeakyRelu", i, dt ? "f16" : "f32");
            ingot_engine_destroy(a);
            ingot_engine_destroy(b);
        }
    /* errors, never crashes: an unknown activation, a residual of another rank */
    gu_graph *g = direct_graph(1, INGOT_DTYPE_F32, shapes[0][0], shapes[0][1], "Mish");
    ingot_engine *e = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    CHECK(e == NULL && strstr(ingot_last_error(), "Mish"), "unknown activation is an error: %s", ingot_last_error());
    ingot_engine_destroy(e);
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 4, 6, 6});
    gu_input(g, "r", INGOT_DTYPE_F32, 3, (int64_t[]){4, 6, 6});
    gu_const_f32(g, "w", 4, (int64_t[]){4, 4, 3, 3}, rnd(144, -1, 1));
    gu_node(g, "FusedConv", "fc", "x,w,,r", "y");
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gu_output(g, "y");
    e = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    CHECK(e == NULL && strstr(ingot_last_error(), "rank"), "residual of another rank is an error: %s",
          ingot_last_error());
    ingot_engine_destroy(e);
}

int main(void)
{
    test_fold_batchnorm();
    test_epilogue_conv();
    test_epilogue_gemm_matmul();
    test_fused_kernels();
    for (int i = 0; i < n_pool; i++) free(pool[i]);
    DONE();
}
