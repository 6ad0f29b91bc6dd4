/* fuse_qkv: BERT's self-attention with its Q, K, V projections (MatMul + bias, which fuse_epilogue
 * makes FusedMatMuls and fuse_attention a 3-D Attention) becomes one FusedMatMul with the weights
 * concatenated and an Attention reading its output packed (qkv_packed). Node counts and outputs
 * with the pass off and on (f32 on the CPU; fp16 as for a GPU, run by the CPU oracle); near-misses
 * (a projection of another input, a projection read elsewhere, a residual, an activation, a
 * projection without bias next to two with) must stay as they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph_util.h"
#include "runtime/runtime.h"

enum { B = 2, S = 5, H = 3, D = 8, E = H * D, KIN = 16 };

enum variant {
    V_PLAIN,     /* fires */
    V_NO_MASK,   /* fires: no attention mask */
    V_OTHER_A,   /* K projects another input */
    V_READ_ELSE, /* K's projection is a graph output too */
    V_RESIDUAL,  /* V's projection adds a residual */
    V_ACTIVATION /* V's projection ends in Relu */
};

static uint32_t rng = 12345u;

static float rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) - 0.5f;
}

/* x [B,S,KIN] → Q, K, V = x·W + b (each [B,S,E]) → BERT's head split, scaled scores, mask, softmax,
 * P·V, head merge. */
static gu_graph *bert_qkv(enum variant var)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, KIN});
    if (var == V_OTHER_A) gu_input(g, "x2", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, KIN});
    if (var == V_RESIDUAL) gu_input(g, "r", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, E});
    static float w[KIN * E], bias[E];
    static const char *const names[3] = {"q", "k", "v"}, *const outs[3] = {"q3", "k3", "v3"};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < KIN * E; j++) w[j] = rnd();
        for (int j = 0; j < E; j++) bias[j] = rnd();
        int tail = i == 2 && (var == V_RESIDUAL || var == V_ACTIVATION); /* V's ends in another node */
        gu_projection(g, INGOT_DTYPE_F32, var == V_OTHER_A && i == 1 ? "x2" : "x", names[i], KIN, E, w, bias,
                      tail ? "v_b" : outs[i]);
        if (tail && var == V_RESIDUAL) gu_node(g, "Add", "add_res", "v_b,r", "v3");
        if (tail && var == V_ACTIVATION) gu_node(g, "Relu", "relu_v", "v_b", "v3");
    }
    float mk[B * S];
    for (int i = 0; i < B * S; i++) mk[i] = (i % 4 == 3) ? -10000.0f : 0.0f;
    gu_const_f32(g, "mask", 4, (int64_t[]){B, 1, 1, S}, mk);
    gu_bert_attention(g, INGOT_DTYPE_F32, B, S, H, D, var == V_NO_MASK ? NULL : "mask", 0);
    gu_output(g, "y");
    if (var == V_READ_ELSE) gu_output(g, "k3");
    return g;
}

/* The engine's Attention reads one value three times with qkv_packed = 1, written by a FusedMatMul
 * whose weight is [KIN, 3E]. */
static int packed_form(const ingot_engine *e)
{
    const ir_node *a = gu_find_op(e, "Attention");
    if (!a || ir_attr_int(a, "qkv_packed", 0) != 1 || a->n_in < 3 || a->in[0] != a->in[1] || a->in[0] != a->in[2])
        return 0;
    const ir_model *m = e->plan->model;
    int32_t p = m->values[a->in[0]].producer;
    if (p < 0 || strcmp(m->nodes[p].op, "FusedMatMul") || m->nodes[p].n_in < 2) return 0;
    const ing_tensor *w = &m->values[m->nodes[p].in[1]].t, *y = &m->values[a->in[0]].t;
    return w->rank == 2 && w->dims[0] == KIN && w->dims[1] == 3 * E && y->rank == 3 && y->dims[2] == 3 * E;
}

/* Build with fuse_qkv off and on (as_gpu: as for a GPU at precision prec); counts and outputs. */
static void run_case(const char *what, enum variant var, int fires, int as_gpu, int prec, double tol)
{
    const char *dis[1] = {"fuse_qkv"};
    int off_n = -1, on_n = -1;
    gu_graph *g = bert_qkv(var);
    ingot_engine *off = as_gpu ? gu_build_as_gpu(g, prec, dis, 1, &off_n) : gu_build(g, dis, 1, &off_n);
    ingot_engine *on = as_gpu ? gu_build_as_gpu(g, prec, NULL, 0, &on_n) : gu_build(g, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed", what);
    if (off && on) {
        int mm_off = gu_count_op(off, "FusedMatMul"), mm_on = gu_count_op(on, "FusedMatMul");
        CHECK(gu_count_op(off, "Attention") == 1 && gu_count_op(on, "Attention") == 1, "%s: one Attention", what);
        CHECK(mm_off == 3, "%s: 3 FusedMatMul with fuse_qkv off (%d)", what, mm_off);
        CHECK(mm_on == (fires ? 1 : 3), "%s: %d FusedMatMul with fuse_qkv on, want %d", what, mm_on, fires ? 1 : 3);
        CHECK(on_n == off_n - (fires ? 2 : 0), "%s: %d nodes on, %d off", what, on_n, off_n);
        CHECK(packed_form(on) == fires, "%s: packed Attention %s", what, fires ? "made" : "not made");
        CHECK(gu_count_attr(off, "qkv_packed") == 0, "%s: nothing packed with the pass off", what);
        gu_compare_opts o = {.seed = 7, .runs = 2, .lo = -1.0, .hi = 1.0, .poison = 1, .rtol = tol, .atol = tol};
        CHECK(gu_compare(on, off, &o), "%s: same outputs with fuse_qkv on and off", what);
    }
    ingot_engine_destroy(off);
    ingot_engine_destroy(on);
}

/* One packed Attention (qkv_packed) over a graph input [B, S, width]. */
static gu_graph *packed_graph(int64_t width)
{
    gu_graph *g = gu_new(23);
    gu_input(g, "qkv", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, width});
    gu_node(g, "Attention", "att", "qkv,qkv,qkv", "y");
    gu_attr_int(g, "q_num_heads", H);
    gu_attr_int(g, "kv_num_heads", H);
    gu_attr_int(g, "qkv_packed", 1);
    gu_output(g, "y");
    return g;
}

/* Shape inference refuses a packed Attention whose inputs cannot be split in three. */
static void test_bad_packed(void)
{
    gu_graph *g = packed_graph(3 * E + 1);
    ingot_engine *e = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    CHECK(e == NULL && strstr(ingot_last_error(), "qkv_packed"), "packed Attention with 3E+1 columns is refused: %s",
          e ? "(built)" : ingot_last_error());
    ingot_engine_destroy(e);
}

/* A packed Attention written by hand equals the unpacked one on the three slices. */
static void test_handwritten_packed(void)
{
    gu_graph *g = packed_graph(3 * E);
    ingot_engine *packed = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    g = gu_new(23);
    gu_input(g, "qkv", INGOT_DTYPE_F32, 3, (int64_t[]){B, S, 3 * E});
    gu_const(g, "split", INGOT_DTYPE_I64, 1, (int64_t[]){3}, (int64_t[]){E, E, E});
    gu_node(g, "Split", "sp", "qkv,split", "q,k,v");
    gu_attr_int(g, "axis", 2);
    gu_node(g, "Attention", "att", "q,k,v", "y");
    gu_attr_int(g, "q_num_heads", H);
    gu_attr_int(g, "kv_num_heads", H);
    gu_output(g, "y");
    ingot_engine *split = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    CHECK(packed && split, "hand-written packed and split Attention build");
    if (packed && split) {
        gu_compare_opts o = {.seed = 3, .runs = 2, .lo = -1.0, .hi = 1.0, .poison = 1, .rtol = 1e-5, .atol = 1e-6};
        CHECK(gu_compare(packed, split, &o), "packed Attention equals Attention on the split slices");
    }
    ingot_engine_destroy(packed);
    ingot_engine_destroy(split);
}

/* Every allocation of a build that packs fails in turn (gu_alloc_failures). */
static void test_alloc_failures(void)
{
    int failures = 0, ok = gu_alloc_failures(bert_qkv(V_PLAIN), &failures);
    CHECK(ok, "alloc failures: every injected failure is NOMEM and the build eventually succeeds");
    CHECK(failures > 20, "alloc failures: failures were injected (%d)", failures);
}

int main(void)
{
    run_case("bert qkv", V_PLAIN, 1, 0, INGOT_PRECISION_FP32, 1e-4);
    run_case("bert qkv, no mask", V_NO_MASK, 1, 0, INGOT_PRECISION_FP32, 1e-4);
    run_case("bert qkv as gpu fp16", V_PLAIN, 1, 1, INGOT_PRECISION_FP16, 2e-3);
    run_case("bert qkv as gpu fp32", V_PLAIN, 1, 1, INGOT_PRECISION_FP32, 1e-4);
    run_case("K projects another input (no)", V_OTHER_A, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("K projection read elsewhere (no)", V_READ_ELSE, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("V projection with a residual (no)", V_RESIDUAL, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    run_case("V projection with an activation (no)", V_ACTIVATION, 0, 0, INGOT_PRECISION_FP32, 1e-6);
    test_bad_packed();
    test_handwritten_packed();
    test_alloc_failures();
    DONE();
}
