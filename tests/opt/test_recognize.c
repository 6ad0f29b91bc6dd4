/* Recognition passes (fuse_layernorm, fuse_gelu, fuse_silu, fuse_attention): each pattern as
 * exporters write it becomes one node, with the node count and op counts checked with the pass
 * off and on and the outputs compared on random inputs; near-misses (wrong constant, wrong axis,
 * an intermediate used elsewhere, broadcasting) must stay as they are. */
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
    const char *pass;  /* the pass under test */
    const char *op;    /* the op it creates */
    int off_nodes;     /* main-graph nodes with the pass off */
    int on_nodes;      /* … and on */
    int on_ops;        /* nodes of type op with the pass on (0 for must-not-fire cases) */
    int origins;       /* ONNX nodes the fused node covers (0: do not check) */
    double rtol, atol;
} expect;

/* Build g with x.pass off and with every pass on; check counts, provenance and outputs; g is
 * freed. Returns the engine built with the pass on (caller destroys) for further checks, or NULL. */
static ingot_engine *run_case(const char *what, gu_graph *g, const expect *x)
{
    int off_n = -1, on_n = -1;
    const char *dis[1] = {x->pass};
    ingot_engine *off = gu_build(g, dis, 1, &off_n), *on = gu_build(g, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed", what);
    if (!off || !on) {
        ingot_engine_destroy(off);
        ingot_engine_destroy(on);
        return NULL;
    }
    CHECK(off_n == x->off_nodes, "%s: %d nodes with %s off, want %d", what, off_n, x->pass, x->off_nodes);
    CHECK(on_n == x->on_nodes, "%s: %d nodes with %s on, want %d", what, on_n, x->pass, x->on_nodes);
    CHECK(gu_count_op(off, x->op) == 0, "%s: no %s with the pass off (%d)", what, x->op, gu_count_op(off, x->op));
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

/* run_case when nothing more is checked on the engine. */
static void run_only(const char *what, gu_graph *g, const expect *x)
{
    ingot_engine_destroy(run_case(what, g, x));
}

static const float k_sqrt2 = 1.41421356f;

/* ---- LayerNorm ------------------------------------------------------------------------------- */

static float gam[8] = {0.5f, 1.5f, -1.0f, 2.0f, 0.25f, 1.0f, -0.5f, 3.0f};
static float bet[8] = {0.1f, -0.2f, 0.3f, 0.0f, 1.0f, -1.0f, 0.5f, 0.25f};

/* x [2,3,8]: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul gamma, Add beta (opset 17,
 * axes as attribute). axes2: the second ReduceMean's axis; out_d: also output the deviation. */
static gu_graph *ln_graph(int64_t axes2, int out_d, float pow_e)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 3, 8});
    gu_const_f32(g, "two", 0, NULL, (float[]){pow_e});
    gu_const_f32(g, "eps", 0, NULL, (float[]){1e-5f});
    gu_const_f32(g, "gamma", 1, (int64_t[]){8}, gam);
    gu_const_f32(g, "beta", 1, (int64_t[]){8}, bet);
    gu_node(g, "ReduceMean", "rm0", "x", "mean");
    gu_attr_ints(g, "axes", 1, (int64_t[]){-1});
    gu_node(g, "Sub", "sub", "x,mean", "d");
    gu_node(g, "Pow", "pow", "d,two", "sq");
    gu_node(g, "ReduceMean", "rm1", "sq", "var");
    gu_attr_ints(g, "axes", 1, (int64_t[]){axes2});
    gu_node(g, "Add", "add_eps", "var,eps", "ve");
    gu_node(g, "Sqrt", "sqrt", "ve", "std");
    gu_node(g, "Div", "div", "d,std", "n");
    gu_node(g, "Mul", "mul_g", "n,gamma", "ng");
    gu_node(g, "Add", "add_b", "beta,ng", "y");
    gu_output(g, "y");
    if (out_d) gu_output(g, "d");
    return g;
}

static void test_layernorm(void)
{
    expect e = {"fuse_layernorm", "LayerNormalization", 9, 1, 1, 9, 1e-4, 1e-5};
    ingot_engine *on = run_case("layernorm full", ln_graph(-1, 0, 2.0f), &e);
    if (on) {
        const ir_node *n = gu_find_op(on, "LayerNormalization");
        CHECK(n && n->opset == 17 && ir_attr_int(n, "axis", 0) == 2, "layernorm: opset 17, axis 2");
        CHECK(n && ir_attr_float(n, "epsilon", 0) == 1e-5f, "layernorm: epsilon 1e-5 (%g)",
              n ? ir_attr_float(n, "epsilon", 0) : -1.0);
        CHECK(n && n->n_in == 3, "layernorm: gamma and beta inputs");
    }
    ingot_engine_destroy(on);

    /* opset 18 (axes as input) over the two trailing axes, Mul(d, d), Reciprocal then Mul, no
     * gamma/beta: a scale of ones is made */
    gu_graph *g = gu_new(18);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 3, 8});
    gu_const(g, "axes", INGOT_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){-1, 1});
    gu_const_f32(g, "eps", 1, (int64_t[]){1}, (float[]){1e-3f});
    gu_node(g, "ReduceMean", "rm0", "x,axes", "mean");
    gu_node(g, "Sub", "sub", "x,mean", "d");
    gu_node(g, "Mul", "sq", "d,d", "sq");
    gu_node(g, "ReduceMean", "rm1", "sq,axes", "var");
    gu_node(g, "Add", "add_eps", "eps,var", "ve");
    gu_node(g, "Sqrt", "sqrt", "ve", "std");
    gu_node(g, "Reciprocal", "rcp", "std", "inv");
    gu_node(g, "Mul", "norm", "inv,d", "y");
    gu_output(g, "y");
    expect e2 = {"fuse_layernorm", "LayerNormalization", 8, 1, 1, 8, 1e-4, 1e-5};
    on = run_case("layernorm opset18 reciprocal", g, &e2);
    if (on) {
        const ir_node *n = gu_find_op(on, "LayerNormalization");
        CHECK(n && ir_attr_int(n, "axis", 0) == 1 && n->n_in == 2, "layernorm: axis 1, scale of ones only");
    }
    ingot_engine_destroy(on);

    /* RMSNorm: x / sqrt(mean(x^2) + eps) * gamma */
    g = gu_new(18);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){4, 8});
    gu_const(g, "axes", INGOT_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){-1});
    gu_const_f32(g, "two", 0, NULL, (float[]){2.0f});
    gu_const_f32(g, "eps", 0, NULL, (float[]){1e-6f});
    gu_const_f32(g, "gamma", 1, (int64_t[]){8}, gam);
    gu_node(g, "Pow", "pow", "x,two", "sq");
    gu_node(g, "ReduceMean", "rm", "sq,axes", "ms");
    gu_node(g, "Add", "add", "ms,eps", "ve");
    gu_node(g, "Sqrt", "sqrt", "ve", "rms");
    gu_node(g, "Div", "div", "x,rms", "n");
    gu_node(g, "Mul", "mul", "gamma,n", "y");
    gu_output(g, "y");
    expect e3 = {"fuse_layernorm", "RMSNormalization", 6, 1, 1, 6, 1e-4, 1e-5};
    run_only("rmsnorm", g, &e3);

    /* RMSNorm as torch.rsqrt exports it: Mul(x, Div(1, Sqrt(…))), x [2,3,8] over the last axis */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 3, 8});
    gu_const_f32(g, "two", 0, NULL, (float[]){2.0f});
    gu_const_f32(g, "one", 0, NULL, (float[]){1.0f});
    gu_const_f32(g, "eps", 0, NULL, (float[]){1e-6f});
    gu_const_f32(g, "gamma", 1, (int64_t[]){8}, gam);
    gu_node(g, "Pow", "pow", "x,two", "sq");
    gu_node(g, "ReduceMean", "rm", "sq", "ms");
    gu_attr_ints(g, "axes", 1, (int64_t[]){2});
    gu_node(g, "Add", "add", "ms,eps", "ve");
    gu_node(g, "Sqrt", "sqrt", "ve", "rms");
    gu_node(g, "Div", "rcp", "one,rms", "inv");
    gu_node(g, "Mul", "norm", "x,inv", "n");
    gu_node(g, "Mul", "mul", "n,gamma", "y");
    gu_output(g, "y");
    expect e4 = {"fuse_layernorm", "RMSNormalization", 7, 1, 1, 7, 1e-4, 1e-5};
    run_only("rmsnorm rsqrt as Div(1, ·)", g, &e4);

    /* must not fire: the variance over another axis; the deviation is also a graph output;
     * Pow 3 is not a square */
    expect no = {"fuse_layernorm", "LayerNormalization", 9, 9, 0, 0, 1e-6, 1e-7};
    run_only("layernorm other axis (no)", ln_graph(1, 0, 2.0f), &no);
    run_only("layernorm deviation used elsewhere (no)", ln_graph(-1, 1, 2.0f), &no);
    run_only("layernorm cube (no)", ln_graph(-1, 0, 3.0f), &no);
}

/* ---- Gelu ------------------------------------------------------------------------------------ */

/* order 0: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5) as PyTorch exports nn.GELU;
 * order 1: Mul(Mul(0.5, x), Add(1, Erf(Mul(x, 1/√2))));
 * order 2: Mul(x, Mul(Add(Erf(x·1/√2), 1), 0.5)).
 * root: the √2 constant; erf_out: also output the Erf result; other: multiply y by another input. */
static gu_graph *gelu_graph(int order, float root, int erf_out, int dtype)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dtype, 2, (int64_t[]){4, 16});
    uint16_t h[4];
    float f[4] = {root, 1.0f, 0.5f, 1.0f / root};
    if (dtype == INGOT_DTYPE_F16) {
        for (int i = 0; i < 4; i++) h[i] = ing_f32_to_f16(f[i]);
        gu_const(g, "r2", dtype, 0, NULL, &h[0]);
        gu_const(g, "one", dtype, 0, NULL, &h[1]);
        gu_const(g, "half", dtype, 0, NULL, &h[2]);
        gu_const(g, "ir2", dtype, 0, NULL, &h[3]);
    } else {
        gu_const_f32(g, "r2", 0, NULL, &f[0]);
        gu_const_f32(g, "one", 0, NULL, &f[1]);
        gu_const_f32(g, "half", 0, NULL, &f[2]);
        gu_const_f32(g, "ir2", 0, NULL, &f[3]);
    }
    if (order == 0) {
        gu_node(g, "Div", "div", "x,r2", "d");
        gu_node(g, "Erf", "erf", "d", "e");
        gu_node(g, "Add", "add", "e,one", "a");
        gu_node(g, "Mul", "mul", "x,a", "xa");
        gu_node(g, "Mul", "mul_half", "xa,half", "y");
    } else if (order == 1) {
        gu_node(g, "Mul", "scale", "x,ir2", "d");
        gu_node(g, "Erf", "erf", "d", "e");
        gu_node(g, "Add", "add", "one,e", "a");
        gu_node(g, "Mul", "mul_half", "half,x", "hx");
        gu_node(g, "Mul", "mul", "hx,a", "y");
    } else {
        gu_node(g, "Mul", "scale", "ir2,x", "d");
        gu_node(g, "Erf", "erf", "d", "e");
        gu_node(g, "Add", "add", "e,one", "a");
        gu_node(g, "Mul", "mul_half", "a,half", "ha");
        gu_node(g, "Mul", "mul", "x,ha", "y");
    }
    gu_output(g, "y");
    if (erf_out) gu_output(g, "e");
    return g;
}

/* 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); cube 0: Pow(x, 3), 1: Mul(Mul(x, x), x). */
static gu_graph *gelu_tanh_graph(int cube, float c1)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 3, 16});
    gu_const_f32(g, "three", 0, NULL, (float[]){3.0f});
    gu_const_f32(g, "c1", 0, NULL, (float[]){c1});
    gu_const_f32(g, "c2", 0, NULL, (float[]){0.7978845608f});
    gu_const_f32(g, "one", 0, NULL, (float[]){1.0f});
    gu_const_f32(g, "half", 0, NULL, (float[]){0.5f});
    if (cube == 0) {
        gu_node(g, "Pow", "pow", "x,three", "x3");
    } else {
        gu_node(g, "Mul", "sq", "x,x", "x2");
        gu_node(g, "Mul", "cube", "x2,x", "x3");
    }
    gu_node(g, "Mul", "m1", "c1,x3", "w");
    gu_node(g, "Add", "inner", "x,w", "in");
    gu_node(g, "Mul", "m2", "in,c2", "u");
    gu_node(g, "Tanh", "tanh", "u", "t");
    gu_node(g, "Add", "add", "t,one", "a");
    gu_node(g, "Mul", "hx", "half,x", "h");
    gu_node(g, "Mul", "y", "h,a", "y");
    gu_output(g, "y");
    return g;
}

static void test_gelu(void)
{
    expect e = {"fuse_gelu", "Gelu", 5, 1, 1, 5, 1e-5, 1e-6};
    ingot_engine *on = run_case("gelu erf (PyTorch order)", gelu_graph(0, k_sqrt2, 0, INGOT_DTYPE_F32), &e);
    if (on) {
        const ir_node *n = gu_find_op(on, "Gelu");
        CHECK(n && n->opset == 20 && !strcmp(ir_attr_string(n, "approximate", "?"), "none"),
              "gelu: opset 20, approximate none");
    }
    ingot_engine_destroy(on);
    run_only("gelu erf (half first)", gelu_graph(1, k_sqrt2, 0, INGOT_DTYPE_F32), &e);
    run_only("gelu erf (half on the sum)", gelu_graph(2, k_sqrt2, 0, INGOT_DTYPE_F32), &e);
    expect eh = {"fuse_gelu", "Gelu", 5, 1, 1, 5, 2e-3, 2e-3};
    run_only("gelu erf f16", gelu_graph(0, k_sqrt2, 0, INGOT_DTYPE_F16), &eh);

    expect et = {"fuse_gelu", "Gelu", 8, 1, 1, 8, 1e-4, 1e-5};
    on = run_case("gelu tanh (Pow)", gelu_tanh_graph(0, 0.044715f), &et);
    if (on) {
        const ir_node *n = gu_find_op(on, "Gelu");
        CHECK(n && !strcmp(ir_attr_string(n, "approximate", "?"), "tanh"), "gelu: approximate tanh");
    }
    ingot_engine_destroy(on);
    expect et2 = {"fuse_gelu", "Gelu", 9, 1, 1, 9, 1e-4, 1e-5};
    run_only("gelu tanh (x*x*x)", gelu_tanh_graph(1, 0.044715f), &et2);

    /* must not fire: a constant off by more than 1e-4; the Erf result used elsewhere; a tanh
     * coefficient that is not 0.044715 */
    expect no = {"fuse_gelu", "Gelu", 5, 5, 0, 0, 1e-6, 1e-7};
    run_only("gelu wrong constant (no)", gelu_graph(0, 1.5f, 0, INGOT_DTYPE_F32), &no);
    run_only("gelu erf used elsewhere (no)", gelu_graph(0, k_sqrt2, 1, INGOT_DTYPE_F32), &no);
    expect not = {"fuse_gelu", "Gelu", 8, 8, 0, 0, 1e-6, 1e-7};
    run_only("gelu tanh wrong coefficient (no)", gelu_tanh_graph(0, 0.05f), &not);

    /* must not fire: the final product is with another tensor, not x */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){4, 16});
    gu_input(g, "z", INGOT_DTYPE_F32, 2, (int64_t[]){4, 16});
    gu_const_f32(g, "r2", 0, NULL, &k_sqrt2);
    gu_const_f32(g, "one", 0, NULL, (float[]){1.0f});
    gu_const_f32(g, "half", 0, NULL, (float[]){0.5f});
    gu_node(g, "Div", "div", "x,r2", "d");
    gu_node(g, "Erf", "erf", "d", "e");
    gu_node(g, "Add", "add", "e,one", "a");
    gu_node(g, "Mul", "mul", "z,a", "za");
    gu_node(g, "Mul", "mul_half", "za,half", "y");
    gu_output(g, "y");
    run_only("gelu times another tensor (no)", g, &no);
}

/* ---- SiLU ------------------------------------------------------------------------------------ */

static void test_silu(void)
{
    /* both operand orders in one graph */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 40});
    gu_node(g, "Sigmoid", "sig0", "x", "s0");
    gu_node(g, "Mul", "mul0", "x,s0", "y0");
    gu_node(g, "Sigmoid", "sig1", "y0", "s1");
    gu_node(g, "Mul", "mul1", "s1,y0", "y");
    gu_output(g, "y");
    expect e = {"fuse_silu", "Swish", 4, 2, 2, 2, 1e-5, 1e-6};
    ingot_engine *on = run_case("silu both orders", g, &e);
    if (on) {
        const ir_node *n = gu_find_op(on, "Swish");
        CHECK(n && n->opset == 24 && ir_attr_float(n, "alpha", 0) == 1.0f, "swish: opset 24, alpha 1");
    }
    ingot_engine_destroy(on);

    /* f16 */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F16, 2, (int64_t[]){3, 40});
    gu_node(g, "Sigmoid", "sig0", "x", "s0");
    gu_node(g, "Mul", "mul0", "s0,x", "y");
    gu_output(g, "y");
    expect eh = {"fuse_silu", "Swish", 2, 1, 1, 2, 2e-3, 2e-3};
    run_only("silu f16", g, &eh);

    /* must not fire: the Sigmoid is also a graph output; Mul of another tensor by Sigmoid(x) */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 40});
    gu_node(g, "Sigmoid", "sig0", "x", "s0");
    gu_node(g, "Mul", "mul0", "x,s0", "y");
    gu_output(g, "y");
    gu_output(g, "s0");
    expect no = {"fuse_silu", "Swish", 2, 2, 0, 0, 1e-6, 1e-7};
    run_only("silu sigmoid used elsewhere (no)", g, &no);
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 40});
    gu_input(g, "z", INGOT_DTYPE_F32, 2, (int64_t[]){3, 40});
    gu_node(g, "Sigmoid", "sig0", "x", "s0");
    gu_node(g, "Mul", "mul0", "z,s0", "y");
    gu_output(g, "y");
    run_only("silu gate of another tensor (no)", g, &no);
}

/* ---- Attention ------------------------------------------------------------------------------- */

enum { AB = 2, AH = 3, AS = 5, AT = 7, AD = 8 };

/* Transformers' eager attention: Kt = Transpose(K, 0,1,3,2), MatMul, Div √D, Add mask,
 * Softmax(-1), MatMul V. mask_kind 0: none, 1: a finite constant [B,1,1,T], 2: a graph input
 * (no NaN guard: must not fire), 3: constant with one key dim (must not fire), 4: a constant
 * holding -inf (no guard: must not fire).
 * softmax_axis: -1 normally. scores_out: also output the raw scores. */
static gu_graph *hf_attention(int mask_kind, int64_t softmax_axis, int scores_out, float div)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "q", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AS, AD});
    gu_input(g, "k", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    gu_input(g, "v", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    gu_const_f32(g, "scale", 0, NULL, &div);
    gu_node(g, "Transpose", "kt", "k", "kt");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 1, 3, 2});
    gu_node(g, "MatMul", "qk", "q,kt", "s");
    gu_node(g, "Div", "div", "s,scale", "ss");
    const char *sm_in = "ss";
    if (mask_kind == 1 || mask_kind == 3 || mask_kind == 4) {
        float mk[AB * AT];
        for (int i = 0; i < AB * AT; i++) mk[i] = (i % 3 == 0) ? (mask_kind == 4 ? -INFINITY : -10000.0f) : 0.0f;
        gu_const_f32(g, "mask", 4, (int64_t[]){AB, 1, 1, mask_kind == 3 ? 1 : AT}, mk);
    } else if (mask_kind == 2) {
        gu_input(g, "mask", INGOT_DTYPE_F32, 4, (int64_t[]){AB, 1, 1, AT});
    }
    if (mask_kind) {
        gu_node(g, "Add", "add_mask", "ss,mask", "sm_in");
        sm_in = "sm_in";
    }
    char ins[32];
    snprintf(ins, sizeof ins, "%s", sm_in);
    gu_node(g, "Softmax", "softmax", ins, "p");
    gu_attr_int(g, "axis", softmax_axis);
    gu_node(g, "MatMul", "pv", "p,v", "y");
    gu_output(g, "y");
    if (scores_out) gu_output(g, "s");
    return g;
}

/* PyTorch's scaled_dot_product_attention export (as in tiny_bert): K arrives [B,T,H,D] and is
 * transposed straight to [B,H,D,T], sqrt(scale) multiplies Q and K^T, the mask is a graph
 * input, and the probabilities pass through Where(IsNaN(p), 0, p). */
static gu_graph *sdpa_attention(int inf_mask)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "q", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AS, AD});
    gu_input(g, "k", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AT, AH, AD});
    gu_input(g, "v", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    if (inf_mask) {
        /* padding as PyTorch writes it: -inf for masked keys; batch 1 masks every key */
        float mk[AB * AS * AT];
        for (int i = 0; i < AB * AS * AT; i++)
            mk[i] = (i >= AS * AT || i % AT >= AT - 2) ? -INFINITY : 0.0f;
        gu_const_f32(g, "mask", 4, (int64_t[]){AB, 1, AS, AT}, mk);
    } else {
        gu_input(g, "mask", INGOT_DTYPE_F32, 4, (int64_t[]){AB, 1, AS, AT});
    }
    gu_const_f32(g, "rs", 0, NULL, (float[]){0.59460356f}); /* sqrt(1/sqrt(8)) */
    gu_const_f32(g, "zero", 1, (int64_t[]){1}, (float[]){0.0f});
    gu_node(g, "Transpose", "kt", "k", "kt");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 2, 3, 1});
    gu_node(g, "Mul", "mq", "q,rs", "qs");
    gu_node(g, "Mul", "mk", "kt,rs", "kts");
    gu_node(g, "MatMul", "qk", "qs,kts", "s");
    gu_node(g, "Add", "add_mask", "s,mask", "sm");
    gu_node(g, "Softmax", "softmax", "sm", "p");
    gu_attr_int(g, "axis", -1);
    gu_node(g, "IsNaN", "isnan", "p", "nan");
    gu_node(g, "Where", "where", "nan,zero,p", "pw");
    gu_node(g, "MatMul", "pv", "pw,v", "y");
    gu_output(g, "y");
    return g;
}

/* BERT's self-attention as exported: Q, K, V [B,S,H·D] split into heads (Reshape [B,S,H,D],
 * Transpose 0,2,1,3; K transposed 0,2,3,1 for Kᵀ), the heads merged after (Transpose 0,2,1,3,
 * Reshape [B,S,H·D]). extra_use: the merged heads' 4-D value is an output too (the 3-D form
 * must not fire). */
static gu_graph *bert_attention(int extra_use)
{
    gu_graph *g = gu_new(17);
    const char *xs[3] = {"q3", "k3", "v3"};
    for (int i = 0; i < 3; i++) gu_input(g, xs[i], INGOT_DTYPE_F32, 3, (int64_t[]){AB, AS, AH * AD});
    float mk[AB * AS];
    for (int i = 0; i < AB * AS; i++) mk[i] = (i % 4 == 3) ? -10000.0f : 0.0f;
    gu_const_f32(g, "mask", 4, (int64_t[]){AB, 1, 1, AS}, mk);
    gu_bert_attention(g, INGOT_DTYPE_F32, AB, AS, AH, AD, "mask", 0);
    gu_output(g, "y");
    if (extra_use) gu_output(g, "ot");
    return g;
}

/* Run e once on inputs 0.25·(i mod 7) - 0.75 and copy its single f32 output to out. */
static int run_outputs(ingot_engine *e, float *out, size_t bytes)
{
    ingot_context *ctx = NULL;
    float *bufs[8] = {0};
    int ok = ingot_context_create(e, &ctx) == INGOT_OK;
    for (size_t i = 0; ok && i < ingot_engine_num_inputs(e) && i < 8; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(e, i, &info);
        size_t n = 1;
        for (int d = 0; d < info.rank; d++) n *= (size_t)info.dims[d];
        bufs[i] = malloc(n * sizeof(float));
        ok = bufs[i] && info.dtype == INGOT_DTYPE_F32;
        for (size_t k = 0; ok && k < n; k++) bufs[i][k] = 0.25f * (float)(k % 7) - 0.75f;
        ok = ok && ingot_context_bind_input(ctx, info.name, bufs[i], n * sizeof(float)) == INGOT_OK;
    }
    ok = ok && ingot_context_run(ctx, NULL) == INGOT_OK;
    ingot_tensor_info oi;
    const void *data = NULL;
    size_t size = 0;
    ok = ok && ingot_engine_get_output(e, 0, &oi) == INGOT_OK &&
         ingot_context_get_output(ctx, oi.name, &oi, &data, &size) == INGOT_OK && size == bytes;
    if (ok) memcpy(out, data, bytes);
    for (int i = 0; i < 8; i++) free(bufs[i]);
    ingot_context_destroy(ctx);
    return ok;
}

static void test_attention(void)
{
    /* the swap folds into the K^T Transpose, which becomes the identity: K is used directly */
    expect e = {"fuse_attention", "Attention", 6, 1, 1, 6, 1e-4, 1e-5};
    ingot_engine *on = run_case("attention hf const mask", hf_attention(1, -1, 0, 2.828427f), &e);
    if (on) {
        const ir_node *n = gu_find_op(on, "Attention");
        CHECK(n && n->opset == 23 && n->n_in == 4, "attention: opset 23, mask input");
        CHECK(n && fabsf(ir_attr_float(n, "scale", 0) - 1.0f / 2.828427f) < 1e-6f, "attention: scale 1/sqrt(8) (%g)",
              n ? ir_attr_float(n, "scale", 0) : -1.0);
    }
    ingot_engine_destroy(on);
    expect e0 = {"fuse_attention", "Attention", 5, 1, 1, 5, 1e-4, 1e-5};
    run_only("attention hf no mask", hf_attention(0, -1, 0, 2.828427f), &e0);
    expect e0b = {"fuse_attention", "Attention", 5, 1, 1, 5, 1e-4, 1e-5};
    run_only("attention hf no mask, softmax axis 3", hf_attention(0, 3, 0, 4.0f), &e0b);

    /* SDPA export: the new Transpose (0,2,1,3) replaces the (0,2,3,1) one */
    expect es = {"fuse_attention", "Attention", 9, 2, 1, 8, 1e-4, 1e-5};
    on = run_case("attention sdpa (tiny_bert form)", sdpa_attention(0), &es);
    if (on) CHECK(gu_count_op(on, "Transpose") == 1, "sdpa: one Transpose left (%d)", gu_count_op(on, "Transpose"));
    ingot_engine_destroy(on);
    /* rows masked whole: the guard's zeros, not NaN (gu_same_outputs does not flag NaN vs a
     * number, so look for NaN too) */
    on = run_case("attention sdpa, -inf mask", sdpa_attention(1), &es);
    if (on) {
        float out[AB * AH * AS * AD];
        CHECK(run_outputs(on, out, sizeof out), "sdpa -inf mask: runs");
        int nan = 0, zero_rows = 1;
        for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
            nan += isnan(out[i]);
            if (i >= (size_t)AH * AS * AD && out[i] != 0.0f) zero_rows = 0;
        }
        CHECK(nan == 0, "sdpa -inf mask: no NaN in the fused output (%d)", nan);
        CHECK(zero_rows, "sdpa -inf mask: the fully masked batch gives zeros");
    }
    ingot_engine_destroy(on);

    /* the K scale before the transpose (as ONNX's function expansions write it) */
    gu_graph *g = gu_new(17);
    gu_input(g, "q", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AS, AD});
    gu_input(g, "k", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    gu_input(g, "v", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    gu_const_f32(g, "rs", 0, NULL, (float[]){0.59460356f});
    gu_node(g, "Mul", "mq", "q,rs", "qs");
    gu_node(g, "Mul", "mk", "k,rs", "ks");
    gu_node(g, "Transpose", "kt", "ks", "kt");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 1, 3, 2});
    gu_node(g, "MatMul", "qk", "qs,kt", "s");
    gu_node(g, "Softmax", "softmax", "s", "p");
    gu_attr_int(g, "axis", -1);
    gu_node(g, "MatMul", "pv", "p,v", "y");
    gu_output(g, "y");
    expect eks = {"fuse_attention", "Attention", 6, 1, 1, 6, 1e-4, 1e-5};
    on = run_case("attention K scaled before its transpose", g, &eks);
    if (on) {
        const ir_node *n = gu_find_op(on, "Attention");
        CHECK(n && fabsf(ir_attr_float(n, "scale", 0) - 0.59460356f * 0.59460356f) < 1e-6f,
              "attention: scale is the product of both (%g)", n ? ir_attr_float(n, "scale", 0) : -1.0);
    }
    ingot_engine_destroy(on);

    /* K^T given as an input: a Transpose is added */
    g = gu_new(17);
    gu_input(g, "q", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AS, AD});
    gu_input(g, "kt", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AD, AT});
    gu_input(g, "v", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    gu_const_f32(g, "scale", 0, NULL, (float[]){0.125f});
    gu_node(g, "MatMul", "qk", "q,kt", "s");
    gu_node(g, "Mul", "mul", "scale,s", "ss");
    gu_node(g, "Softmax", "softmax", "ss", "p");
    gu_attr_int(g, "axis", -1);
    gu_node(g, "MatMul", "pv", "p,v", "y");
    gu_output(g, "y");
    expect ek = {"fuse_attention", "Attention", 4, 2, 1, 4, 1e-4, 1e-5};
    run_only("attention K^T input", g, &ek);

    /* must not fire: a runtime mask without the NaN guard (a row of -inf would differ); softmax
     * over another axis; the scores are also an output; a mask of one key (the kernel does not
     * broadcast keys); a negative scale */
    expect no = {"fuse_attention", "Attention", 6, 6, 0, 0, 1e-6, 1e-7};
    run_only("attention runtime mask, no guard (no)", hf_attention(2, -1, 0, 2.828427f), &no);
    run_only("attention one-key mask (no)", hf_attention(3, -1, 0, 2.828427f), &no);
    run_only("attention -inf constant mask, no guard (no)", hf_attention(4, -1, 0, 2.828427f), &no);
    expect no4 = {"fuse_attention", "Attention", 5, 5, 0, 0, 1e-6, 1e-7};
    run_only("attention softmax axis 2 (no)", hf_attention(0, 2, 0, 2.828427f), &no4);
    run_only("attention scores used elsewhere (no)", hf_attention(0, -1, 1, 2.828427f), &no4);
    run_only("attention negative scale (no)", hf_attention(0, -1, 0, -2.0f), &no4);

    /* BERT's head split and merge: one 3-D Attention on the unsplit tensors */
    expect e3 = {"fuse_attention", "Attention", 13, 1, 1, 13, 1e-4, 1e-5};
    on = run_case("attention bert 3-D", bert_attention(0), &e3);
    if (on) {
        const ir_node *n = gu_find_op(on, "Attention");
        CHECK(n && ir_attr_int(n, "q_num_heads", 0) == AH && ir_attr_int(n, "kv_num_heads", 0) == AH && n->n_in == 4,
              "attention bert: 3-D with %d heads, mask input", AH);
        ingot_engine_destroy(on);
    }
    /* the 4-D result is read elsewhere: the 4-D Attention stays, with its reshapes/transposes */
    expect e4 = {"fuse_attention", "Attention", 13, 9, 1, 0, 1e-4, 1e-5};
    on = run_case("attention bert, merged heads read twice (4-D)", bert_attention(1), &e4);
    if (on) {
        const ir_node *n = gu_find_op(on, "Attention");
        CHECK(n && ir_attr_int(n, "q_num_heads", 0) == 0, "attention bert read twice: stays 4-D");
        ingot_engine_destroy(on);
    }
    /* must not fire: K broadcast over the batch (MatMul broadcasts, Attention does not) */
    g = gu_new(17);
    gu_input(g, "q", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AS, AD});
    gu_input(g, "kt", INGOT_DTYPE_F32, 4, (int64_t[]){1, AH, AD, AT});
    gu_input(g, "v", INGOT_DTYPE_F32, 4, (int64_t[]){AB, AH, AT, AD});
    gu_node(g, "MatMul", "qk", "q,kt", "s");
    gu_node(g, "Softmax", "softmax", "s", "p");
    gu_attr_int(g, "axis", -1);
    gu_node(g, "MatMul", "pv", "p,v", "y");
    gu_output(g, "y");
    expect nob = {"fuse_attention", "Attention", 3, 3, 0, 0, 1e-6, 1e-7};
    run_only("attention broadcast K (no)", g, &nob);
}

/* ---- allocation failures ----------------------------------------------------------------- */

/* Every allocation of a build that runs the rewrites fails in turn (gu_alloc_failures). */
static void alloc_failures(const char *what, gu_graph *g)
{
    int failures = 0, ok = gu_alloc_failures(g, &failures);
    CHECK(ok, "%s: every injected failure is NOMEM and the build eventually succeeds", what);
    CHECK(failures > 20, "%s: allocation failures were injected (%d)", what, failures);
}

static void test_alloc_failures(void)
{
    /* LayerNorm without gamma (a constant of ones is made) */
    gu_graph *g = gu_new(18);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, 8});
    gu_const(g, "axes", INGOT_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){-1});
    gu_const_f32(g, "two", 0, NULL, (float[]){2.0f});
    gu_const_f32(g, "eps", 0, NULL, (float[]){1e-5f});
    gu_node(g, "ReduceMean", "rm0", "x,axes", "mean");
    gu_node(g, "Sub", "sub", "x,mean", "d");
    gu_node(g, "Pow", "pow", "d,two", "sq");
    gu_node(g, "ReduceMean", "rm1", "sq,axes", "var");
    gu_node(g, "Add", "add_eps", "var,eps", "ve");
    gu_node(g, "Sqrt", "sqrt", "ve", "std");
    gu_node(g, "Div", "div", "d,std", "n");
    gu_node(g, "Sigmoid", "sig", "n", "s");
    gu_node(g, "Mul", "silu", "n,s", "y");
    gu_output(g, "y");
    alloc_failures("layernorm + silu", g);
    alloc_failures("gelu", gelu_graph(0, k_sqrt2, 0, INGOT_DTYPE_F32));
    alloc_failures("attention sdpa", sdpa_attention(0));
}

int main(void)
{
    test_layernorm();
    test_gelu();
    test_silu();
    test_attention();
    test_alloc_failures();
    DONE();
}
