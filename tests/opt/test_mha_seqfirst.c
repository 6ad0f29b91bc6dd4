/* fuse_attention on PyTorch's nn.MultiheadAttention as TorchScript exports it (torchvision ViT):
 * sequence-first, one packed in-projection on Transpose(x), Q/K/V gathered out of it, heads split
 * and merged by reshapes and transposes around a 4-D Attention, the out-projection a Gemm between
 * reshapes and a last Transpose back to batch-first, then a residual add. With the pass on, one 3-D
 * Attention reads the projection of x in place (qkv_packed), the out-projection is a 3-D matmul
 * that takes the bias and the residual, and every data movement is gone: three steps; outputs
 * equal the pass off (f32 on the CPU; fp16 as for a GPU). Near-misses keep their graph. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph_util.h"
#include "runtime/runtime.h"

enum { B = 3, S = 5, H = 2, D = 4, E = H * D };

enum variant {
    V_PLAIN,      /* fires */
    V_NO_BIAS,    /* fires: in-projection without bias, out-projection a MatMul */
    V_SWAPPED,    /* K and V gathered from the wrong slices */
    V_QKV_OUTPUT, /* the [3,S,B,E] value is a graph output too */
    V_OUT_PERM    /* the last Transpose is not the inverse of the first */
};

static uint32_t rng = 777u;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) - 0.5f;
}

static void shape(gu_graph *g, const char *name, int rank, const int64_t *d)
{
    gu_const(g, name, INGOT_DTYPE_I64, 1, (int64_t[]){rank}, d);
}

static void transpose(gu_graph *g, const char *name, const char *in, const char *out, size_t n, const int64_t *perm)
{
    gu_node(g, "Transpose", name, in, out);
    gu_attr_ints(g, "perm", n, perm);
}

static gu_graph *mha(enum variant var)
{
    static float w[E * 3 * E], b[3 * E], wo[E * E], bo[E];
    for (int i = 0; i < E * 3 * E; i++) w[i] = rnd();
    for (int i = 0; i < 3 * E; i++) b[i] = rnd();
    for (int i = 0; i < E * E; i++) wo[i] = rnd();
    for (int i = 0; i < E; i++) bo[i] = rnd();
    gu_graph *g = gu_new(23);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, E});
    gu_const_f32(g, "w", 2, (int64_t[]){E, 3 * E}, w);
    gu_const_f32(g, "b", 1, (int64_t[]){3 * E}, b);
    gu_const_f32(g, "wo", 2, (int64_t[]){E, E}, wo);
    gu_const_f32(g, "bo", 1, (int64_t[]){E}, bo);
    shape(g, "s_sb3e", 4, (int64_t[]){S, B, 3, E});
    shape(g, "s_split", 3, (int64_t[]){S, B * H, D});
    shape(g, "s_bhsd", 4, (int64_t[]){B, H, S, D});
    shape(g, "s_rows", 2, (int64_t[]){S * B, E});
    shape(g, "s_sbe", 3, (int64_t[]){S, B, E});
    gu_const(g, "ax0", INGOT_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){0});
    gu_const(g, "ax3", INGOT_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){3});
    static const int64_t idx[3] = {0, 1, 2}, swapped[3] = {0, 2, 1};
    static const char *const iname[3] = {"i0", "i1", "i2"};
    for (int i = 0; i < 3; i++) gu_const(g, iname[i], INGOT_DTYPE_I64, 0, NULL, var == V_SWAPPED ? &swapped[i] : &idx[i]);

    transpose(g, "t0", "x", "xt", 3, (int64_t[]){1, 0, 2});
    if (var == V_NO_BIAS) {
        gu_node(g, "MatMul", "in_proj", "xt,w", "p");
    } else {
        gu_node(g, "MatMul", "in_proj", "xt,w", "pm");
        gu_node(g, "Add", "in_bias", "pm,b", "p");
    }
    gu_node(g, "Reshape", "r2", "p,s_sb3e", "p4");
    gu_node(g, "Unsqueeze", "u2", "p4,ax0", "p5");
    transpose(g, "t2", "p5", "p5t", 5, (int64_t[]){3, 1, 2, 0, 4});
    gu_node(g, "Squeeze", "sq", "p5t,ax3", "qkv");
    static const char *const nm[3] = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
        char n1[32], in[96], o1[16], o2[16], o3[16], o4[16];
        snprintf(n1, sizeof n1, "g_%s", nm[i]);
        snprintf(in, sizeof in, "qkv,%s", iname[i]);
        snprintf(o1, sizeof o1, "%s_g", nm[i]);
        gu_node(g, "Gather", n1, in, o1);
        gu_attr_int(g, "axis", 0);
        snprintf(n1, sizeof n1, "r3_%s", nm[i]);
        snprintf(in, sizeof in, "%s,s_split", o1);
        snprintf(o2, sizeof o2, "%s_r", nm[i]);
        gu_node(g, "Reshape", n1, in, o2);
        snprintf(n1, sizeof n1, "t3_%s", nm[i]);
        snprintf(o3, sizeof o3, "%s_t", nm[i]);
        transpose(g, n1, o2, o3, 3, (int64_t[]){1, 0, 2});
        snprintf(n1, sizeof n1, "r6_%s", nm[i]);
        snprintf(in, sizeof in, "%s,s_bhsd", o3);
        snprintf(o4, sizeof o4, "%s4", nm[i]);
        gu_node(g, "Reshape", n1, in, o4);
    }
    gu_node(g, "Attention", "att", "q4,k4,v4", "a4");
    gu_attr_float(g, "scale", 0.5f);
    transpose(g, "t7", "a4", "a4t", 4, (int64_t[]){2, 0, 1, 3});
    gu_node(g, "Reshape", "r9", "a4t,s_rows", "rows");
    if (var == V_NO_BIAS)
        gu_node(g, "MatMul", "out_proj", "rows,wo", "o2");
    else
        gu_node(g, "Gemm", "out_proj", "rows,wo,bo", "o2");
    gu_node(g, "Reshape", "r10", "o2,s_sbe", "o3");
    if (var == V_OUT_PERM) { /* [S,B,E] stays sequence-first: no residual with x */
        transpose(g, "t8", "o3", "y", 3, (int64_t[]){0, 1, 2});
    } else {
        transpose(g, "t8", "o3", "o", 3, (int64_t[]){1, 0, 2});
        gu_node(g, "Add", "residual", "o,x", "y");
    }
    gu_output(g, "y");
    if (var == V_QKV_OUTPUT) gu_output(g, "qkv");
    return g;
}

/* The rewritten form: one Attention, 3-D and packed, reading a value written by a FusedMatMul
 * (after fuse_epilogue; a plain MatMul without a bias) of x itself, and no Transpose left. */
static int seq_first_form(const ingot_engine *e)
{
    const ir_node *a = gu_find_op(e, "Attention");
    if (!a || ir_attr_int(a, "qkv_packed", 0) != 1 || ir_attr_int(a, "q_num_heads", 0) != H || a->n_in != 3 ||
        a->in[0] != a->in[1] || a->in[0] != a->in[2])
        return 0;
    const ir_model *m = e->plan->model;
    int32_t p = m->values[a->in[0]].producer;
    if (p < 0 || (strcmp(m->nodes[p].op, "FusedMatMul") && strcmp(m->nodes[p].op, "MatMul"))) return 0;
    int32_t xin = m->nodes[p].in[0], c = m->values[xin].producer; /* x, or its Cast to fp16 */
    if (c >= 0 && !strcmp(m->nodes[c].op, "Cast")) xin = m->nodes[c].in[0];
    return !strcmp(m->values[xin].name, "x") && gu_count_op(e, "Transpose") == 0 && gu_count_op(e, "Gather") == 0;
}

static void run_case(const char *what, enum variant var, int fires, int as_gpu, int prec, double tol)
{
    const char *dis[1] = {"fuse_attention"};
    int off_n = -1, on_n = -1;
    gu_graph *g = mha(var);
    ingot_engine *off = as_gpu ? gu_build_as_gpu(g, prec, dis, 1, &off_n) : gu_build(g, dis, 1, &off_n);
    ingot_engine *on = as_gpu ? gu_build_as_gpu(g, prec, NULL, 0, &on_n) : gu_build(g, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed (%s)", what, ingot_last_error());
    if (off && on) {
        CHECK(seq_first_form(on) == fires, "%s: the packed 3-D form %s", what, fires ? "made" : "not made");
        /* in-projection, Attention, out-projection with bias and residual (and the casts of fp16 I/O) */
        CHECK(!fires || on_n == (as_gpu ? 5 : 3), "%s: %d steps with the pass on (%d off)", what, on_n, off_n);
        CHECK(!fires || gu_count_op(on, "FusedMatMul") + gu_count_op(on, "MatMul") == 2, "%s: two matmuls, the projections",
              what);
        CHECK(gu_count_attr(off, "qkv_packed") == 0, "%s: nothing packed with the pass off", what);
        gu_compare_opts o = {.seed = 11, .runs = 2, .lo = -1.0, .hi = 1.0, .poison = 1, .rtol = tol, .atol = tol};
        CHECK(gu_compare(on, off, &o), "%s: same outputs with fuse_attention on and off", what);
    }
    ingot_engine_destroy(off);
    ingot_engine_destroy(on);
}

/* Every allocation of a build that rewrites fails in turn (gu_alloc_failures). */
static void test_alloc_failures(void)
{
    int failures = 0, ok = gu_alloc_failures(mha(V_PLAIN), &failures);
    CHECK(ok, "alloc failures: every injected failure is NOMEM and the build eventually succeeds");
    CHECK(failures > 20, "alloc failures: failures were injected (%d)", failures);
}

int main(void)
{
    run_case("seq-first MHA", V_PLAIN, 1, 0, INGOT_PRECISION_FP32, 1e-5);
    run_case("seq-first MHA as gpu fp16", V_PLAIN, 1, 1, INGOT_PRECISION_FP16, 2e-3);
    run_case("seq-first MHA without biases", V_NO_BIAS, 1, 0, INGOT_PRECISION_FP32, 1e-5);
    run_case("K and V from swapped slices (no)", V_SWAPPED, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("packed Q/K/V also a graph output (no)", V_QKV_OUTPUT, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("last Transpose not the inverse (no)", V_OUT_PERM, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    test_alloc_failures();
    DONE();
}
