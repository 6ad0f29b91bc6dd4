/* layout_nhwc on small CNNs, built as for the CUDA backend (gu_build_as_gpu: the pass runs, the
 * CPU backend, the oracle, runs the channels_last nodes on transposed copies): node counts with
 * the pass off and on (Transposes cancelled down to the one at the input, GlobalAveragePool as
 * ReduceMean + Reshape), outputs equal to the NCHW graph's on random inputs with the rewritten
 * graph's outputs poisoned first (fp32: 1e-4 rel + 1e-5 abs, the same sums in the same order up
 * to BLAS blocking; fp16: 2e-2 + 2e-2); a graph output read between two convolutions keeps its
 * NCHW value; asymmetric pads stay NCHW; a plain CPU build is never rewritten; the shared CNNs
 * and ResNet-50 keep one Transpose; failing allocations fail cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "graph_util.h"
#include "ir/infer.h"
#include "onnx/importer.h"
#include "opt/passes.h"
#include "runtime/runtime.h"

static const char *const OFF[] = {"layout_nhwc"};

static float *randv(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof(float));
    srand(seed);
    for (size_t i = 0; i < n; i++) v[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return v;
}

/* A convolution "name" from x to y: weight [m, c, k, k] and bias, pads k/2, stride s. */
static void conv(gu_graph *g, const char *name, const char *x, const char *y, int64_t c, int64_t m, int64_t k,
                 int64_t s, unsigned seed)
{
    char w[64], b[64], in[160];
    snprintf(w, sizeof w, "%s_w", name);
    snprintf(b, sizeof b, "%s_b", name);
    float *wv = randv((size_t)(m * c * k * k), seed), *bv = randv((size_t)m, seed + 1);
    gu_const_f32(g, w, 4, (int64_t[]){m, c, k, k}, wv);
    gu_const_f32(g, b, 1, (int64_t[]){m}, bv);
    free(wv);
    free(bv);
    snprintf(in, sizeof in, "%s,%s,%s", x, w, b);
    gu_node(g, "Conv", name, in, y);
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){k, k});
    gu_attr_ints(g, "strides", 2, (int64_t[]){s, s});
    gu_attr_ints(g, "pads", 4, (int64_t[]){k / 2, k / 2, k / 2, k / 2});
}

/* y = Conv(x, w) without bias, 3x3, with these pads. */
static gu_graph *single_conv(const int64_t xd[4], int64_t m, const int64_t pads[4])
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, xd);
    float *wv = randv((size_t)(m * xd[1] * 9), 25);
    gu_const_f32(g, "w", 4, (int64_t[]){m, xd[1], 3, 3}, wv);
    free(wv);
    gu_node(g, "Conv", "c", "x,w", "y");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){3, 3});
    gu_attr_ints(g, "pads", 4, pads);
    gu_output(g, "y");
    return g;
}

typedef struct want {
    int transposes, reshapes, reduce_means, gaps, channels_last;
} want;


static void check_case(const char *what, gu_graph *g, int precision, const want *w, double tol)
{
    int off_n = -1, on_n = -1;
    ingot_engine *off = gu_build_as_gpu(g, precision, OFF, 1, &off_n);
    ingot_engine *on = gu_build_as_gpu(g, precision, NULL, 0, &on_n);
    gu_free(g);
    CHECK(off && on, "%s: both builds succeed", what);
    if (off && on) {
        CHECK(gu_count_op(off, "Transpose") == 0 && gu_count_attr(off, "channels_last") == 0, "%s: the pass off leaves NCHW", what);
        CHECK(gu_count_op(on, "Transpose") == w->transposes, "%s: %d Transposes, want %d", what,
              gu_count_op(on, "Transpose"), w->transposes);
        CHECK(gu_count_op(on, "Reshape") == w->reshapes, "%s: %d Reshapes, want %d", what, gu_count_op(on, "Reshape"),
              w->reshapes);
        CHECK(gu_count_op(on, "ReduceMean") == w->reduce_means, "%s: %d ReduceMeans, want %d", what,
              gu_count_op(on, "ReduceMean"), w->reduce_means);
        CHECK(gu_count_op(on, "GlobalAveragePool") == w->gaps, "%s: %d GlobalAveragePools, want %d", what,
              gu_count_op(on, "GlobalAveragePool"), w->gaps);
        CHECK(gu_count_attr(on, "channels_last") == w->channels_last, "%s: %d channels_last nodes, want %d", what,
              gu_count_attr(on, "channels_last"), w->channels_last);
        for (uint64_t seed = 1; seed <= 2; seed++) {
            gu_compare_opts co = {seed * 31, 2, -1.0, 1.0, 1, tol, tol / 10};
            CHECK(gu_compare(on, off, &co), "%s: NHWC equals NCHW (seed %llu)", what, (unsigned long long)seed);
        }
    }
    ingot_engine_destroy(off);
    ingot_engine_destroy(on);
}

/* A ResNet-like stack: stem conv+relu, max pool, a bottleneck with a projection shortcut and a
 * residual add + relu, average pool, GAP, Flatten, Gemm. */
static gu_graph *resnet_like(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 3, 20, 20});
    conv(g, "stem", "x", "s0", 3, 8, 3, 2, 1);
    gu_node(g, "Relu", "stem_relu", "s0", "s1");
    gu_node(g, "MaxPool", "pool", "s1", "p");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){3, 3});
    gu_attr_ints(g, "strides", 2, (int64_t[]){2, 2});
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    conv(g, "c1", "p", "a0", 8, 4, 1, 1, 3);
    gu_node(g, "Relu", "c1_relu", "a0", "a1");
    conv(g, "c2", "a1", "b0", 4, 4, 3, 1, 5);
    gu_node(g, "Relu", "c2_relu", "b0", "b1");
    conv(g, "c3", "b1", "c0", 4, 16, 1, 1, 7);
    conv(g, "proj", "p", "d0", 8, 16, 1, 1, 9);
    gu_node(g, "Add", "res", "c0,d0", "e0");
    gu_node(g, "Relu", "res_relu", "e0", "e1");
    gu_node(g, "AveragePool", "apool", "e1", "f");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){2, 2});
    gu_attr_ints(g, "strides", 2, (int64_t[]){1, 1});
    gu_node(g, "GlobalAveragePool", "gap", "f", "gp");
    gu_node(g, "Flatten", "flat", "gp", "fl");
    float *wv = randv(16 * 5, 11);
    gu_const_f32(g, "fc_w", 2, (int64_t[]){16, 5}, wv);
    free(wv);
    gu_node(g, "MatMul", "fc", "fl,fc_w", "y");
    gu_output(g, "y");
    return g;
}

/* One line per Transpose / Reshape left: what it reads and who reads it (the cost of the
 * layout change, for the log). */
static void print_relayouts(const char *name, const ingot_engine *e)
{
    const ir_model *m = e->plan->model;
    for (int32_t k = 0; k < m->bodies[0].n_nodes; k++) {
        const ir_node *n = &m->nodes[m->bodies[0].nodes[k]];
        if (strcmp(n->op, "Transpose") && strcmp(n->op, "Reshape")) continue;
        int32_t p = m->values[n->in[0]].producer;
        const char *reader = "(graph output)";
        for (int32_t j = 0; j < m->bodies[0].n_nodes; j++) {
            const ir_node *r = &m->nodes[m->bodies[0].nodes[j]];
            for (int32_t i = 0; i < r->n_in; i++)
                if (r->in[i] == n->out[0]) reader = r->op;
        }
        printf("  %s: %s after %s, read by %s\n", name, n->op, p >= 0 ? m->nodes[p].op : "(input)", reader);
    }
}

/* A CNN as built for CUDA: the Transposes left (want_t) and outputs equal to the NCHW build's
 * (when its inputs have fixed shapes). */
static void check_model(const char *name, const char *path, int want_t)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("SKIP %s: %s is absent\n", name, path);
        return;
    }
    fclose(f);
    int off_n = -1, on_n = -1;
    ingot_engine *off = gu_build_file_as_gpu(path, INGOT_PRECISION_TF32, OFF, 1, &off_n);
    ingot_engine *on = gu_build_file_as_gpu(path, INGOT_PRECISION_TF32, NULL, 0, &on_n);
    CHECK(off && on, "%s: both builds", name);
    if (off && on) {
        int t = gu_count_op(on, "Transpose");
        printf("%s as for CUDA: %d steps NCHW, %d NHWC (%d channels_last, %d Transposes, %d Reshapes)\n", name, off_n,
               on_n, gu_count_attr(on, "channels_last"), t, gu_count_op(on, "Reshape"));
        print_relayouts(name, on);
        CHECK(gu_count_attr(on, "channels_last") > 0, "%s: some nodes go NHWC", name);
        if (want_t >= 0) CHECK(t == want_t, "%s: %d Transposes, want %d", name, t, want_t);
        gu_compare_opts co = {99, 2, -2.0, 2.0, 1, 1e-4, 1e-5};
        /* random inputs need fixed shapes (digits_cnn's batch is free) */
        if (gu_inputs_fixed(on)) CHECK(gu_compare(on, off, &co), "%s: NHWC outputs equal the NCHW ones", name);
    }
    ingot_engine_destroy(off);
    ingot_engine_destroy(on);
}

/* Every allocation of import + passes (for CUDA) failing in turn: INGOT_ERR_NOMEM and a model
 * that still frees cleanly (the sanitizer build checks for leaks) until the run succeeds, and
 * then the graph is NHWC. */
static void test_alloc_failures(void)
{
    size_t len;
    gu_graph *g = resnet_like();
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    opt_options oo = {INGOT_BACKEND_CUDA, INGOT_PRECISION_TF32, NULL};
    static const char *const only[] = {"fuse_elementwise"}; /* the CPU build has no NVRTC kernel table */
    int done = 0;
    for (long n = 1; n < 20000 && !done; n++) {
        ir_model *m = NULL;
        ing_alloc_fail_at(n);
        ingot_status st = onnx_import_buffer(bytes, len, ".", &m);
        if (st == INGOT_OK) st = ir_infer_model(m);
        if (st == INGOT_OK) st = opt_run(m, &oo, only, 1, 0);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) {
            done = 1;
            int cl = 0;
            for (int32_t k = 0; k < m->bodies[0].n_nodes; k++)
                cl += ir_attr_int(&m->nodes[m->bodies[0].nodes[k]], "channels_last", 0) != 0;
            CHECK(cl == 7, "alloc: 7 channels_last nodes once allocations succeed (%d)", cl);
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
    test_alloc_failures();
    /* stem, c1, c2, c3 (with proj's output as residual), proj, 2 pools; one Transpose at the input;
     * GAP → ReduceMean + Reshape */
    want rl = {1, 1, 1, 0, 7};
    /* f32 convolutions go NHWC under --tf32 (and --fp16/--bf16, which make them 2-byte later) */
    check_case("ResNet-like tf32", resnet_like(), INGOT_PRECISION_TF32, &rl, 1e-4);
    check_case("ResNet-like fp16", resnet_like(), INGOT_PRECISION_FP16, &rl, 2e-2);
    { /* strict fp32: f32 stays NCHW (no tensor cores; cuDNN's NCHW fp32 kernels are faster) */
        want none = {0, 0, 0, 1, 0};
        check_case("ResNet-like strict fp32 stays NCHW", resnet_like(), INGOT_PRECISION_FP32, &none, 1e-4);
    }

    { /* a graph output between two convolutions keeps its NCHW value: its back-transpose stays */
        gu_graph *g = gu_new(17);
        gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){1, 4, 9, 9});
        conv(g, "a", "x", "h", 4, 6, 3, 1, 21);
        conv(g, "b", "h", "y", 6, 5, 3, 2, 23);
        gu_output(g, "h");
        gu_output(g, "y");
        want w = {3, 0, 0, 0, 2};
        check_case("graph output between convolutions", g, INGOT_PRECISION_TF32, &w, 1e-4);
    }
    { /* a 1x1 spatial output: its back-transpose moves only size-1 dims, a Reshape */
        want w = {1, 1, 0, 0, 1};
        check_case("1x1 output as Reshape", single_conv((int64_t[]){3, 4, 3, 3}, 7, (int64_t[]){0, 0, 0, 0}),
                   INGOT_PRECISION_TF32, &w, 1e-4);
    }
    { /* asymmetric pads: not for cuDNN, left NCHW */
        want w = {0, 0, 0, 0, 0};
        check_case("asymmetric pads stay NCHW", single_conv((int64_t[]){1, 4, 9, 9}, 4, (int64_t[]){0, 0, 1, 1}),
                   INGOT_PRECISION_TF32, &w, 1e-4);
    }
    { /* the model's own Transposes: one moving only size-1 dims becomes a Reshape, one moving
       * data stays */
        gu_graph *g = gu_new(17);
        gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 1, 5, 1});
        gu_input(g, "z", INGOT_DTYPE_F32, 4, (int64_t[]){2, 3, 4, 5});
        gu_node(g, "Transpose", "t1", "x", "a");
        gu_attr_ints(g, "perm", 4, (int64_t[]){0, 3, 1, 2});
        gu_node(g, "Relu", "r", "a", "y");
        gu_node(g, "Transpose", "t2", "z", "w");
        gu_attr_ints(g, "perm", 4, (int64_t[]){0, 2, 1, 3});
        gu_output(g, "y");
        gu_output(g, "w");
        int off_n = -1, on_n = -1;
        ingot_engine *off = gu_build_as_gpu(g, INGOT_PRECISION_TF32, OFF, 1, &off_n);
        ingot_engine *on = gu_build_as_gpu(g, INGOT_PRECISION_TF32, NULL, 0, &on_n);
        gu_free(g);
        CHECK(off && on && on_n == off_n, "size-1 Transpose: both build, same step count");
        if (off && on) {
            CHECK(gu_count_op(on, "Transpose") == 1 && gu_count_op(on, "Reshape") == 1,
                  "size-1 Transpose: %d Transposes (want 1), %d Reshapes (want 1)", gu_count_op(on, "Transpose"),
                  gu_count_op(on, "Reshape"));
            gu_compare_opts co = {5, 2, -1.0, 1.0, 1, 0.0, 0.0};
            CHECK(gu_compare(on, off, &co), "size-1 Transpose: outputs equal exactly");
        }
        ingot_engine_destroy(off);
        ingot_engine_destroy(on);
    }
    { /* a CPU build never runs the pass */
        int n = -1;
        gu_graph *g = resnet_like();
        ingot_engine *e = gu_build(g, NULL, 0, &n);
        gu_free(g);
        CHECK(e && gu_count_op(e, "Transpose") == 0 && gu_count_attr(e, "channels_last") == 0, "CPU build: no NHWC rewrite");
        ingot_engine_destroy(e);
    }
    /* one Transpose at the input; digits_cnn's is a Reshape (one channel) and its Flatten reads
     * NCHW order after the last pool */
    const char *shared = getenv("INGOT_SHARED_DIR"), *const names[] = {"squeezenet1_1", "mobilenet_v3_small", "digits_cnn"};
    char path[2048];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/models/%s/model.onnx", shared ? shared : INGOT_SHARED_DIR, names[i]);
        check_model(names[i], path, 1);
    }
    /* ResNet-50 (bench/models/resnet50.py; INGOT_RESNET50 or build/resnet50.onnx, skipped when
     * absent): FusedConv/Conv/MaxPool/GAP only, so one Transpose at the input */
    const char *r50 = getenv("INGOT_RESNET50");
    snprintf(path, sizeof path, "%s", r50 ? r50 : INGOT_SOURCE_DIR "/build/resnet50.onnx");
    check_model("resnet50", path, 1);
    DONE();
}
