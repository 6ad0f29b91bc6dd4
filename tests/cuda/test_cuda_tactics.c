/* Tactic selection on the GPU: a Conv + MatMul graph built twice with the same timing cache
 * gives identical engine bytes (the first build creates the cache, the second only reads it);
 * every Conv/MatMul step carries a tactic of the right kind and math (fp32: FMA and
 * CUBLAS_COMPUTE_32F; tf32: no fp16 down-conversion, 32F_FAST_TF32); tactics round-trip through
 * save/load and the loaded engine still equals the CPU backend (fp32: 1e-4 relative + 1e-4
 * absolute; tf32: 1e-2 + 1e-2, TF32 keeps 10 mantissa bits); a tactic record broken inside a
 * saved engine fails to load with INGOT_ERR_CORRUPT naming the step; one context whose input
 * shapes change between runs (cached descriptors rebuilt) keeps equal to the CPU. Skipped (77)
 * without a GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "check.h"
#include "engine/format.h"
#include "engine/tactic.h"
#include "graph_util.h"
#include "runtime/runtime.h"

static int skipped;

static float *randv(size_t n, unsigned seed)
{
    float *v = malloc(n * sizeof(float));
    srand(seed);
    for (size_t i = 0; i < n; i++) v[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return v;
}

/* x[2,16,20,20] -> Conv 3x3 (32 out, pad 1, bias) -> y[2,32,20,20] -> MatMul w2[20,48] */
static gu_graph *graph(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){2, 16, 20, 20});
    float *w = randv(32 * 16 * 9, 3), *b = randv(32, 4), *w2 = randv(20 * 48, 5);
    gu_const_f32(g, "w", 4, (int64_t[]){32, 16, 3, 3}, w);
    gu_const_f32(g, "b", 1, (int64_t[]){32}, b);
    gu_const_f32(g, "w2", 2, (int64_t[]){20, 48}, w2);
    free(w);
    free(b);
    free(w2);
    gu_node(g, "Conv", "conv", "x,w,b", "c");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){3, 3});
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gu_node(g, "MatMul", "mm", "c,w2", "y");
    gu_output(g, "y");
    return g;
}

static ingot_engine *build(ingot_backend b, ingot_precision p, const char *cache)
{
    gu_graph *g = graph();
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = b;
    o.precision = p;
    o.timing_cache = cache;
    o.tune = 1;
    ingot_engine *e = NULL;
    ingot_status st = ingot_builder_build_buffer(bytes, len, &o, &e);
    free(bytes);
    if (st == INGOT_ERR_BACKEND && b == INGOT_BACKEND_CUDA) skipped = 1;
    else if (st != INGOT_OK) printf("build: %s\n", ingot_last_error());
    return e;
}

/* The tactic of the first main-graph step whose kernel starts with `kernel`; 0 if none. */
static int tactic_of(const ingot_engine *e, const char *kernel, engine_tactic *t)
{
    const engine_plan *p = e->plan;
    for (int32_t i = 0; i < p->model->n_nodes; i++)
        if (p->steps[i].kernel && !strncmp(p->steps[i].kernel, kernel, strlen(kernel)) && p->steps[i].params_len)
            return tactic_decode(p->steps[i].params, p->steps[i].params_len, "step", t) == INGOT_OK;
    return 0;
}

static uint8_t *file_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = malloc(1 << 20);
    *n = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    return b;
}

static void same_cache_same_bytes(const char *cache, ingot_engine *cpu)
{
    ingot_engine *a = build(INGOT_BACKEND_CUDA, INGOT_PRECISION_FP32, cache);
    if (skipped) {
        ingot_engine_destroy(a);
        return;
    }
    CHECK(a, "first build");
    size_t cn1 = 0, cn2 = 0;
    uint8_t *c1 = file_bytes(cache, &cn1);
    CHECK(c1 && cn1 > 16, "the first build wrote the cache (%zu bytes)", cn1);
    ingot_engine *b = build(INGOT_BACKEND_CUDA, INGOT_PRECISION_FP32, cache);
    CHECK(b, "second build");
    uint8_t *c2 = file_bytes(cache, &cn2);
    CHECK(c1 && c2 && cn1 == cn2 && !memcmp(c1, c2, cn1), "the second build left the cache as it was");
    void *ia = NULL, *ib = NULL;
    size_t na = 0, nb = 0;
    if (a && b) {
        CHECK_STATUS(ingot_engine_save_buffer(a, &ia, &na), INGOT_OK, NULL);
        CHECK_STATUS(ingot_engine_save_buffer(b, &ib, &nb), INGOT_OK, NULL);
        CHECK(ia && ib && na == nb && !memcmp(ia, ib, na), "same cache, same engine bytes (%zu vs %zu)", na, nb);
        engine_tactic tc, tm;
        CHECK(tactic_of(a, "cuda.", &tc) && tc.kind == TACTIC_CUDNN_CONV && tc.math == 3 /* CUDNN_FMA_MATH */,
              "fp32 conv tactic: cuDNN on FMA (kind %d math %d)", tc.kind, tc.math);
        const engine_plan *p = a->plan;
        int lt = 0;
        for (int32_t i = 0; i < p->model->n_nodes; i++)
            if (p->steps[i].params_len && !tactic_decode(p->steps[i].params, p->steps[i].params_len, "s", &tm) &&
                tm.kind == TACTIC_CUBLASLT)
                lt += tm.math == TACTIC_LT_32F;
        CHECK(lt == 1, "one matmul tactic on CUBLAS_COMPUTE_32F (found %d)", lt);
        /* save/load keeps the tactics, and the loaded engine computes what the CPU does */
        ingot_engine *l = NULL;
        CHECK_STATUS(ingot_engine_load_buffer(ia, na, NULL, &l), INGOT_OK, NULL);
        if (l) {
            int same = l->plan->model->n_nodes == p->model->n_nodes;
            for (int32_t i = 0; same && i < p->model->n_nodes; i++)
                same = l->plan->steps[i].params_len == p->steps[i].params_len &&
                       (!p->steps[i].params_len ||
                        !memcmp(l->plan->steps[i].params, p->steps[i].params, p->steps[i].params_len));
            CHECK(same, "every step's tactic survives save and load");
            for (uint64_t seed = 1; seed <= 3 && cpu; seed++)
                CHECK(gu_same_outputs(l, cpu, seed * 104729, 1e-4, 1e-4), "loaded fp32 engine equals CPU (seed %llu)",
                      (unsigned long long)seed);
            ingot_engine_destroy(l);
        }
        /* break the matmul's record (kind byte) inside the saved engine, fresh checksums */
        uint8_t *img = ia;
        engine_header_v1 h;
        memcpy(&h, img, sizeof h);
        size_t at = 0;
        for (size_t o = (size_t)h.metadata_offset; o + TACTIC_LT_BYTES <= (size_t)(h.metadata_offset + h.metadata_size); o++)
            if (img[o] == TACTIC_VERSION && img[o + 1] == TACTIC_CUBLASLT && img[o + 4] == 0xff && img[o + 7] == 0xff) {
                at = o;
                break;
            }
        CHECK(at, "the cuBLASLt record is in the metadata");
        if (at) {
            img[at + 1] = 9;
            h.metadata_hash = XXH3_64bits(img + h.metadata_offset, (size_t)h.metadata_size);
            h.header_hash = XXH3_64bits(&h, ENGINE_HEADER_HASHED_BYTES);
            memcpy(img, &h, sizeof h);
            ingot_engine *bad = (ingot_engine *)(uintptr_t)0x1;
            CHECK_STATUS(ingot_engine_load_buffer(img, na, NULL, &bad), INGOT_ERR_CORRUPT, "tactic kind 9");
            CHECK(check_mentions(ingot_last_error(), "node 'mm'"), "names the step: %s", ingot_last_error());
            CHECK(bad == (ingot_engine *)(uintptr_t)0x1, "*out untouched");
        }
    }
    ingot_free(ia);
    ingot_free(ib);
    free(c1);
    free(c2);
    ingot_engine_destroy(a);
    ingot_engine_destroy(b);
}

static void tf32(ingot_engine *cpu)
{
    ingot_engine *e = build(INGOT_BACKEND_CUDA, INGOT_PRECISION_TF32, NULL);
    CHECK(e, "tf32 build");
    if (!e) return;
    engine_tactic tc;
    CHECK(tactic_of(e, "cuda.", &tc) && tc.kind == TACTIC_CUDNN_CONV && tc.math != 2 /* ALLOW_CONVERSION */,
          "tf32 conv tactic without fp16 conversion (math %d)", tc.math);
    const engine_plan *p = e->plan;
    int fast = 0;
    for (int32_t i = 0; i < p->model->n_nodes; i++) {
        engine_tactic t;
        if (p->steps[i].params_len && !tactic_decode(p->steps[i].params, p->steps[i].params_len, "s", &t) &&
            t.kind == TACTIC_CUBLASLT)
            fast += t.math == TACTIC_LT_32F_FAST_TF32;
    }
    CHECK(fast == 1, "the matmul runs CUBLAS_COMPUTE_32F_FAST_TF32 (found %d)", fast);
    for (uint64_t seed = 1; seed <= 3 && cpu; seed++)
        CHECK(gu_same_outputs(e, cpu, seed * 7919, 1e-2, 1e-2), "tf32 within 1e-2 of fp32 CPU (seed %llu)",
              (unsigned long long)seed);
    ingot_engine_destroy(e);
}

/* One context, input shapes changing between runs (digits_cnn with its symbolic batch: no
 * build-time tactics, so the run-time heuristic and the per-node descriptor cache decide):
 * every run equals the CPU backend's (1e-4 + 1e-4), including runs that go back to an earlier
 * batch after the descriptors were rebuilt, and repeats that replay a CUDA graph. */
/* digits_cnn on CUDA against the CPU over a run of batch sizes. With a profile (batch 1..8, opt
 * 4) and --tune, the convolutions and matmuls are timed at batch 4 and keep tactics, which must
 * still give right answers at the other batches (checked again there, else the heuristic). */
static void shape_changes(int profiled)
{
    const char *shared = getenv("INGOT_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/digits_cnn/model.onnx", shared ? shared : INGOT_SHARED_DIR);
    if (access(path, R_OK) != 0) {
        printf("SKIP shape_changes: %s is absent\n", path);
        return;
    }
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    ingot_engine *ge = NULL, *ce = NULL;
    ingot_context *gc = NULL, *cc = NULL;
    ingot_input_profile prof = {"image", 4, {1, 1, 8, 8}, {4, 1, 8, 8}, {8, 1, 8, 8}};
    if (profiled) {
        o.profiles = &prof;
        o.n_profiles = 1;
        o.tune = 1;
    }
    o.backend = INGOT_BACKEND_CUDA;
    CHECK_STATUS(ingot_builder_build_file(path, &o, &ge), INGOT_OK, NULL);
    o.backend = INGOT_BACKEND_CPU;
    o.tune = 0;
    CHECK_STATUS(ingot_builder_build_file(path, &o, &ce), INGOT_OK, NULL);
    if (profiled && ge) {
        engine_tactic t;
        CHECK(tactic_of(ge, "cuda.", &t), "profile: steps were timed at the opt shapes and keep tactics");
    }
    if (ge && ce && ingot_context_create(ge, &gc) == INGOT_OK && ingot_context_create(ce, &cc) == INGOT_OK) {
        const int64_t batches[] = {1, 4, 4, 4, 2, 1, 4, 8, 3};
        float *x = malloc(8 * 64 * sizeof(float));
        srand(11);
        for (size_t r = 0; r < sizeof batches / sizeof batches[0]; r++) {
            int64_t dims[4] = {batches[r], 1, 8, 8};
            size_t n = (size_t)batches[r] * 64;
            for (size_t i = 0; i < n; i++) x[i] = (float)rand() / (float)RAND_MAX * 16.0f;
            ingot_context *cs[2] = {gc, cc};
            const float *out[2] = {NULL, NULL};
            size_t bytes[2] = {0, 0};
            for (int k = 0; k < 2; k++) {
                ingot_tensor_info info;
                const void *d = NULL;
                CHECK_STATUS(ingot_context_set_input_shape(cs[k], "image", 4, dims), INGOT_OK, NULL);
                CHECK_STATUS(ingot_context_bind_input(cs[k], "image", x, n * sizeof(float)), INGOT_OK, NULL);
                CHECK_STATUS(ingot_context_run(cs[k], NULL), INGOT_OK, NULL);
                CHECK_STATUS(ingot_context_get_output(cs[k], "logits", &info, &d, &bytes[k]), INGOT_OK, NULL);
                out[k] = d;
            }
            int same = out[0] && out[1] && bytes[0] == bytes[1] && bytes[0] == (size_t)batches[r] * 10 * sizeof(float);
            for (size_t i = 0; same && i < bytes[0] / sizeof(float); i++)
                same = fabsf(out[0][i] - out[1][i]) <= 1e-4f + 1e-4f * fabsf(out[1][i]);
            CHECK(same, "%srun %zu (batch %lld): CUDA logits equal CPU", profiled ? "profile, tuned: " : "", r,
                  (long long)batches[r]);
        }
        free(x);
    }
    ingot_context_destroy(gc);
    ingot_context_destroy(cc);
    ingot_engine_destroy(ge);
    ingot_engine_destroy(ce);
}

int main(void)
{
    char dir[] = "/tmp/ingot_tactics_XXXXXX", cache[128];
    if (!mkdtemp(dir)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    snprintf(cache, sizeof cache, "%s/t.cache", dir);
    ingot_engine *cpu = build(INGOT_BACKEND_CPU, INGOT_PRECISION_FP32, NULL);
    CHECK(cpu, "cpu build");
    same_cache_same_bytes(cache, cpu);
    if (!skipped) tf32(cpu);
    if (!skipped) shape_changes(0);
    if (!skipped) shape_changes(1);
    ingot_engine_destroy(cpu);
    unlink(cache);
    rmdir(dir);
    if (skipped) {
        printf("skipped: no CUDA device (%s)\n", ingot_last_error());
        return 77;
    }
    DONE();
}
