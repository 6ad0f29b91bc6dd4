/* fuse_elementwise on small graphs, built as for a backend that compiles FusedElementwise
 * (gu_build_as_gpu: the CPU backend claims every kernel, so the CPU interpreter, the oracle,
 * runs the fused program): node counts with the pass off and on, provenance, outputs equal to
 * the unfused graph's on random inputs (fp32: 1e-5 rel + 1e-6 abs, the program computes in
 * float32 as the separate kernels do; fp16: 1e-2 + 1e-3, the fused program rounds once instead
 * of after every op); trees broken by an outside reader or a graph output, broadcasting between
 * two non-constant operands and f64 are left alone; a plain CPU build never fuses; malformed
 * programs are rejected by shape inference with the node named. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "graph_util.h"
#include "ir/ew_program.h"
#include "ir/infer.h"
#include "ir/op.h"
#include "onnx/importer.h"
#include "opt/passes.h"
#include "runtime/runtime.h"

static const char *const OFF[] = {"fuse_elementwise"};

/* Off and on builds of g (as for a GPU), counts, outputs; returns the on engine or NULL. */
static ingot_engine *check_case(const char *what, gu_graph *g, int precision, int want_off, int want_on, int want_fused,
                                double rtol, double atol)
{
    int off_n = -1, on_n = -1;
    ingot_engine *off = gu_build_as_gpu(g, precision, OFF, 1, &off_n);
    ingot_engine *on = gu_build_as_gpu(g, precision, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed", what);
    if (!off || !on) {
        ingot_engine_destroy(off);
        ingot_engine_destroy(on);
        return NULL;
    }
    CHECK(off_n == want_off, "%s: %d nodes with fuse_elementwise off, want %d", what, off_n, want_off);
    CHECK(on_n == want_on, "%s: %d nodes with it on, want %d", what, on_n, want_on);
    CHECK(gu_count_op(on, "FusedElementwise") == want_fused, "%s: %d FusedElementwise nodes, want %d", what,
          gu_count_op(on, "FusedElementwise"), want_fused);
    CHECK(gu_count_op(off, "FusedElementwise") == 0, "%s: no FusedElementwise with the pass off", what);
    CHECK(gu_same_outputs(off, on, 7, rtol, atol), "%s: same outputs with the pass off and on", what);
    CHECK(gu_same_outputs(off, on, 4242, rtol, atol), "%s: same outputs (second seed)", what);
    ingot_engine_destroy(off);
    return on;
}

static const float *vals(int64_t n, float lo, float hi)
{
    static float buf[8][4096];
    static int next;
    float *p = buf[next++ % 8];
    static uint64_t s = 0x2545F4914F6CDD1Dull;
    for (int64_t i = 0; i < n && i < 4096; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = lo + (hi - lo) * (float)((s >> 40) / 16777216.0);
    }
    return p;
}

static void scalar(gu_graph *g, const char *name, float v) { gu_const_f32(g, name, 0, NULL, &v); }

/* x·2 + bias[C,1,1] → Sigmoid → ·x → Relu → Clip(-1, 0.75): one node covering six. */
static void test_chain(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 3, 5, 7});
    scalar(g, "two", 2.0f);
    gu_const_f32(g, "bias", 3, (int64_t[]){3, 1, 1}, vals(3, -1, 1));
    scalar(g, "lo", -1.0f);
    scalar(g, "hi", 0.75f);
    gu_node(g, "Mul", "mul", "x,two", "a");
    gu_node(g, "Add", "add", "a,bias", "b");
    gu_node(g, "Sigmoid", "sig", "b", "c");
    gu_node(g, "Mul", "mul2", "c,x", "d");
    gu_node(g, "Relu", "relu", "d", "e");
    gu_node(g, "Clip", "clip", "e,lo,hi", "y");
    gu_output(g, "y");
    ingot_engine *on = check_case("chain", g, INGOT_PRECISION_FP32, 6, 1, 1, 1e-5, 1e-6);
    if (!on) return;
    const ir_node *n = gu_find_op(on, "FusedElementwise");
    CHECK(n && n->n_origin == 6, "chain: the fused node covers %d ONNX nodes, want 6", n ? n->n_origin : -1);
    CHECK(n && n->n_in == 2, "chain: inputs x and bias (scalars are immediates), got %d", n ? n->n_in : -1);
    CHECK(n && !strcmp(n->domain, "ingot"), "chain: domain 'ingot'");
    ingot_engine_destroy(on);
}

/* mobilenet's h-swish written out: x · HardSigmoid(x), then + residual of the same shape; a DAG
 * (x read twice) whose second input is another graph input. */
static void test_dag_two_inputs(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){4, 8, 33});
    gu_input(g, "r", INGOT_DTYPE_F32, 3, (int64_t[]){4, 8, 33});
    gu_node(g, "HardSigmoid", "hs", "x", "a");
    gu_attr_float(g, "alpha", 1.0f / 6.0f);
    gu_node(g, "Mul", "mul", "x,a", "b");
    gu_node(g, "Add", "add", "b,r", "c");
    gu_node(g, "Tanh", "tanh", "c", "d");
    gu_node(g, "Exp", "exp", "d", "e");
    gu_node(g, "LeakyRelu", "lr", "e", "y");
    gu_attr_float(g, "alpha", 0.1f);
    gu_output(g, "y");
    ingot_engine_destroy(check_case("dag", g, INGOT_PRECISION_FP32, 6, 1, 1, 1e-5, 1e-6));

    /* an intermediate read twice, both inside: Exp → (Neg, Abs) → Max */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){16, 16});
    gu_node(g, "Exp", "exp", "x", "a");
    gu_node(g, "Neg", "neg", "a", "b");
    gu_node(g, "Sqrt", "sqrt", "a", "c");
    gu_node(g, "Max", "max", "b,c", "d");
    gu_node(g, "Erf", "erf", "d", "y");
    gu_output(g, "y");
    ingot_engine_destroy(check_case("shared intermediate", g, INGOT_PRECISION_FP32, 5, 1, 1, 1e-5, 1e-6));
}

/* Reads from outside the tree split it; a broadcast between two inputs and f64 stay out. */
static void test_left_alone(void)
{
    /* a = Exp(x) is read by two trees' roots: Exp, Neg and Abs stay separate */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){8, 8});
    gu_node(g, "Exp", "exp", "x", "a");
    gu_node(g, "Neg", "neg", "a", "y1");
    gu_node(g, "Abs", "abs", "a", "y2");
    gu_output(g, "y1");
    gu_output(g, "y2");
    ingot_engine_destroy(check_case("two readers", g, INGOT_PRECISION_FP32, 3, 3, 0, 0, 0));

    /* the intermediate is a graph output: Sigmoid → Relu → Tanh with Relu's output exported:
     * Sigmoid+Relu fuse (Relu's output is the tree's result), Tanh stays alone */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){8, 8});
    gu_node(g, "Sigmoid", "sig", "x", "a");
    gu_node(g, "Relu", "relu", "a", "b");
    gu_node(g, "Tanh", "tanh", "b", "y");
    gu_output(g, "b");
    gu_output(g, "y");
    ingot_engine_destroy(check_case("output in the middle", g, INGOT_PRECISION_FP32, 3, 2, 1, 1e-5, 1e-6));

    /* x[2,3,4] + y[4], both inputs: the Add broadcasts a non-constant, so it stays; Relu alone */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 3, (int64_t[]){2, 3, 4});
    gu_input(g, "v", INGOT_DTYPE_F32, 1, (int64_t[]){4});
    gu_node(g, "Add", "add", "x,v", "a");
    gu_node(g, "Relu", "relu", "a", "y");
    gu_output(g, "y");
    ingot_engine_destroy(check_case("broadcast input", g, INGOT_PRECISION_FP32, 2, 2, 0, 0, 0));

    /* f64: the program computes in float32, so f64 never fuses */
    g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F64, 1, (int64_t[]){10});
    gu_node(g, "Exp", "exp", "x", "a");
    gu_node(g, "Neg", "neg", "a", "y");
    gu_output(g, "y");
    ingot_engine_destroy(check_case("f64", g, INGOT_PRECISION_FP32, 2, 2, 0, 0, 0));
}

/* --fp16: the boundary Casts fuse with the chain; one node reads f32 and writes f32. */
static void test_fp16_casts(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){6, 50});
    gu_const_f32(g, "s", 2, (int64_t[]){1, 50}, vals(50, 0.5f, 1.5f));
    gu_node(g, "Mul", "mul", "x,s", "a");
    gu_node(g, "Gelu", "gelu", "a", "b");
    gu_attr_string(g, "approximate", "tanh");
    gu_node(g, "Sub", "sub", "b,x", "y");
    gu_output(g, "y");
    /* off: Cast(x), Mul, Gelu, Sub, Cast(y); on: the boundary Casts stay alone (an I/O format
     * folds them into its conversion), the three ops between fuse */
    ingot_engine *on = check_case("fp16", g, INGOT_PRECISION_FP16, 5, 3, 1, 1e-2, 1e-3);
    if (!on) return;
    const ir_node *n = gu_find_op(on, "FusedElementwise");
    const ir_model *m = on->plan->model;
    CHECK(n && m->values[n->in[0]].t.dtype == INGOT_DTYPE_F16 && m->values[n->out[0]].t.dtype == INGOT_DTYPE_F16,
          "fp16: the fused node reads and writes f16 (the boundary Casts are outside)");
    CHECK(gu_count_op(on, "Cast") == 2, "fp16: the two boundary Casts remain");
    CHECK(n && n->n_in == 2 && m->values[n->in[1]].t.dtype == INGOT_DTYPE_F16, "fp16: the constant is f16");
    ingot_engine_destroy(on);
}

/* A plain CPU build never creates FusedElementwise; the pass is listed last. */
static void test_cpu_unchanged(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 1, (int64_t[]){10});
    gu_node(g, "Exp", "exp", "x", "a");
    gu_node(g, "Neg", "neg", "a", "y");
    gu_output(g, "y");
    int n = -1;
    ingot_engine *e = gu_build(g, NULL, 0, &n);
    gu_free(g);
    CHECK(e && n == 2 && gu_count_op(e, "FusedElementwise") == 0, "cpu: 2 nodes, none fused (got %d)", n);
    ingot_engine_destroy(e);
    size_t k = ingot_pass_count();
    CHECK(k > 0 && !strcmp(ingot_pass_name(k - 1, NULL), "fuse_elementwise"), "fuse_elementwise is the last pass");
}

/* ewp_parse rejects malformed programs, naming the node. */
static void test_malformed(void)
{
    int64_t code[8] = {EWP_EXP, 0, -1, -1, EWP_ADD, 0, 1, -1};
    ir_attr at[2] = {{.name = "program", .type = IR_ATTR_INTS, .ints = code, .n = 8},
                     {.name = "dtype", .type = IR_ATTR_INT, .i = INGOT_DTYPE_F32}};
    int32_t in[1] = {0}, out[1] = {1};
    ir_node n = {.name = "fe", .op = "FusedElementwise", .domain = "ingot", .n_in = 1, .n_out = 1, .in = in,
                 .out = out, .n_attr = 2, .attrs = at};
    ewp_program p;
    CHECK_STATUS(ewp_parse(&n, &p), INGOT_OK, NULL);
    CHECK(p.n_instr == 2 && p.n_in == 1, "valid program: 2 instructions, 1 input");
    code[6] = 2; /* reads the register it writes */
    CHECK_STATUS(ewp_parse(&n, &p), INGOT_ERR_MODEL, "'fe'");
    code[6] = 1;
    code[4] = 99; /* unknown opcode */
    CHECK_STATUS(ewp_parse(&n, &p), INGOT_ERR_MODEL, "opcode 99");
    code[4] = EWP_CLIP; /* needs two params, has none */
    code[6] = -1;
    CHECK_STATUS(ewp_parse(&n, &p), INGOT_ERR_MODEL, "Clip");
    code[4] = EWP_ADD;
    code[6] = 1;
    at[0].n = 7; /* not a multiple of 4 */
    CHECK_STATUS(ewp_parse(&n, &p), INGOT_ERR_MODEL, "7 entries");
    at[0].n = 8;
    at[1].i = INGOT_DTYPE_F64;
    CHECK_STATUS(ewp_parse(&n, &p), INGOT_ERR_MODEL, "dtype 11");
}

/* The expected step count of "name" in expected_steps.txt, or -1. */
static int expected_steps(const char *name)
{
    FILE *f = fopen(INGOT_SOURCE_DIR "/tests/opt/expected_steps.txt", "r");
    char line[256], n[200];
    int count, found = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%199s %d", n, &count) == 2 && !strcmp(n, name)) found = count;
    if (f) fclose(f);
    return found;
}

/* The shared models as built for CUDA (the CUDA kernel table decides, as in a CUDA build with
 * NVRTC): step counts "<model>:cuda" in expected_steps.txt (CUDA builds only: without CUDA every
 * op is claimed, so other fusions may differ), and outputs equal to the unfused build's. */
static void test_models(void)
{
    const char *shared = getenv("INGOT_SHARED_DIR");
    if (!shared) shared = INGOT_SHARED_DIR;
    static const char *const names[] = {"mobilenet_v3_small", "tiny_bert", "squeezenet1_1", "digits_cnn"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[2048], key[256];
        snprintf(path, sizeof path, "%s/models/%s/model.onnx", shared, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            printf("SKIP %s: %s is absent\n", names[i], path);
            continue;
        }
        fclose(f);
        int off_n = -1, on_n = -1;
        ingot_engine *off = gu_build_file_as_gpu(path, INGOT_PRECISION_FP32, OFF, 1, &off_n);
        ingot_engine *on = gu_build_file_as_gpu(path, INGOT_PRECISION_FP32, NULL, 0, &on_n);
        CHECK(off && on, "%s: both builds", names[i]);
        if (off && on) {
            int fused = gu_count_op(on, "FusedElementwise");
            printf("%s as for CUDA: %d steps unfused, %d with fuse_elementwise (%d FusedElementwise)\n", names[i],
                   off_n, on_n, fused);
            snprintf(key, sizeof key, "%s:cuda", names[i]);
            int want = expected_steps(key);
#ifdef INGOT_WITH_CUDA
            CHECK(want == on_n, "%s: %d steps, expected_steps.txt says %d", key, on_n, want);
#else
            (void)want;
#endif
            gu_compare_opts co = {99, 2, -2.0, 2.0, 1, 1e-4, 1e-5};
            /* random inputs need fixed shapes (digits_cnn's batch is free) */
            if (gu_inputs_fixed(on))
                CHECK(gu_compare(on, off, &co), "%s: fused outputs equal the unfused ones", names[i]);
        }
        ingot_engine_destroy(off);
        ingot_engine_destroy(on);
    }
}

static int claims(const char *op)
{
    (void)op;
    return 1;
}

/* Every allocation of import + passes failing in turn: INGOT_ERR_NOMEM (no leak: the sanitizer
 * build checks) until the run succeeds, and then the chain is fused. */
static void test_alloc_failures(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){4, 4});
    scalar(g, "two", 2.0f);
    gu_node(g, "Mul", "mul", "x,two", "a");
    gu_node(g, "Tanh", "tanh", "a", "b");
    gu_node(g, "Add", "add", "b,x", "y");
    gu_output(g, "y");
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    opt_options oo = {INGOT_BACKEND_CPU, INGOT_PRECISION_FP32, claims};
    int done = 0;
    for (long n = 1; n < 5000 && !done; n++) {
        ir_model *m = NULL;
        ing_alloc_fail_at(n);
        ingot_status st = onnx_import_buffer(bytes, len, ".", &m);
        if (st == INGOT_OK) st = ir_infer_model(m);
        if (st == INGOT_OK) st = opt_run(m, &oo, NULL, 0, 0);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) {
            done = 1;
            CHECK(m->bodies[0].n_nodes == 1 && !strcmp(m->nodes[m->bodies[0].nodes[0]].op, "FusedElementwise"),
                  "alloc: the chain is one FusedElementwise once allocations succeed");
        } else {
            CHECK(st == INGOT_ERR_NOMEM, "alloc %ld: %s (%s)", n, ingot_status_name(st), ingot_last_error());
        }
        ir_model_destroy(m);
    }
    CHECK(done, "alloc: succeeds once allocations stop failing");
    free(bytes);
}

int main(void)
{
    test_chain();
    test_dag_two_inputs();
    test_left_alone();
    test_fp16_casts();
    test_cpu_unchanged();
    test_malformed();
    test_models();
    test_alloc_failures();
    DONE();
}
