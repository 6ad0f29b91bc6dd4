/* Runtime I/O on CUDA: every input memory kind (pageable, pinned, mapped, device) against every
 * output destination (the context's own buffers, pageable, pinned, mapped, device, an output
 * allocator), graphs replayed with changing device pointers, counters (0 allocations in a
 * steady state, bytes copied), double-buffered outputs, enqueue on two contexts at once, and
 * pointer/kind mismatches refused. The model is y = 2 * relu(x) + c (exact in f32), with x of
 * 1x3x1024x1024 so a pageable copy crosses the 4 MiB staging chunks several times. Outputs are
 * poisoned (NaN) before each run and compared exactly with the host formula.
 * Skipped (77) without a GPU. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_model.h"

#ifdef INGOT_WITH_CUDA
#include <cuda_runtime.h>

#define N_ELEM ((size_t)3 * 1024 * 1024 + 5) /* not a multiple of the staging chunk */
#define BYTES (N_ELEM * sizeof(float))

static float *fill(float *h, unsigned seed) { return io_fill(h, N_ELEM, seed); }
static size_t wrong(const float *x, const float *y) { return io_wrong(x, y, N_ELEM); }

/* Input buffers of a kind holding x (device: a copy of host x). */
typedef struct buf { void *p; ingot_memory kind; } buf;

static buf make_in(ingot_memory kind, const float *x)
{
    buf b = {NULL, kind};
    if (ingot_memory_alloc(kind, BYTES, &b.p) != INGOT_OK) {
        printf("ingot_memory_alloc(%s): %s\n", ingot_memory_name(kind), ingot_last_error());
        return b;
    }
    if (kind == INGOT_MEMORY_DEVICE) cudaMemcpy(b.p, x, BYTES, cudaMemcpyHostToDevice);
    else memcpy(b.p, x, BYTES);
    return b;
}

static void poison(buf b)
{
    if (b.kind == INGOT_MEMORY_DEVICE) cudaMemset(b.p, 0xFF, BYTES);
    else memset(b.p, 0xFF, BYTES);
}

/* Host copy of an output at p of kind `kind` (device memory copied back). */
static const float *host_view(const void *p, ingot_memory kind, float *tmp)
{
    if (kind != INGOT_MEMORY_DEVICE) return p;
    cudaMemcpy(tmp, p, BYTES, cudaMemcpyDeviceToHost);
    return tmp;
}

enum { OUT_OWN = -1, OUT_ALLOC_DEVICE = 10, OUT_ALLOC_PINNED = 11 };

static const char *out_name(int k)
{
    if (k == OUT_OWN) return "own";
    if (k == OUT_ALLOC_DEVICE) return "allocator(device)";
    if (k == OUT_ALLOC_PINNED) return "allocator(pinned)";
    return ingot_memory_name((ingot_memory)k);
}

/* Three runs (the third replays a graph) of every input kind into output destination ok. */
static void run_kinds(ingot_engine *e, int ok, float *x, float *tmp)
{
    for (int ik = 0; ik < INGOT_MEMORY_COUNT; ik++) {
        ingot_context *c = NULL;
        if (ingot_context_create(e, &c) != INGOT_OK) {
            CHECK(0, "context: %s", ingot_last_error());
            return;
        }
        ingot_context_set_timing(c, 1);
        buf in = make_in((ingot_memory)ik, fill(x, 1));
        buf out = {NULL, INGOT_MEMORY_HOST};
        io_alloc_state as = {0};
        if (ok >= 0 && ok < INGOT_MEMORY_COUNT) {
            out.kind = (ingot_memory)ok;
            ingot_memory_alloc(out.kind, BYTES, &out.p);
            CHECK_STATUS(ingot_context_bind_output_memory(c, "y", out.p, BYTES, out.kind), INGOT_OK, NULL);
        } else if (ok == OUT_ALLOC_DEVICE || ok == OUT_ALLOC_PINNED) {
            as.kind = ok == OUT_ALLOC_DEVICE ? INGOT_MEMORY_DEVICE : INGOT_MEMORY_PINNED;
            ingot_output_allocator a = {io_realloc, io_notify, as.kind, &as};
            CHECK_STATUS(ingot_context_set_output_allocator(c, "y", &a), INGOT_OK, NULL);
        }
        CHECK_STATUS(ingot_context_bind_input_memory(c, "x", in.p, BYTES, in.kind), INGOT_OK, NULL);
        for (int run = 0; run < 3 && in.p; run++) {
            fill(x, 100 + (unsigned)run);
            if (in.kind == INGOT_MEMORY_DEVICE) cudaMemcpy(in.p, x, BYTES, cudaMemcpyHostToDevice);
            else memcpy(in.p, x, BYTES);
            if (out.p) poison(out);
            if (as.mem) poison((buf){as.mem, as.kind});
            ingot_status st = ingot_context_run(c, NULL);
            CHECK(st == INGOT_OK, "in %s, out %s, run %d: %s", ingot_memory_name(in.kind), out_name(ok), run,
                  ingot_last_error());
            if (st != INGOT_OK) break;
            const void *y = NULL;
            size_t n = 0;
            ingot_tensor_info info;
            CHECK_STATUS(ingot_context_get_output(c, "y", &info, &y, &n), INGOT_OK, NULL);
            ingot_memory yk = ok == OUT_OWN ? INGOT_MEMORY_PINNED : out.p ? out.kind : as.kind;
            size_t bad = y && n == BYTES ? wrong(x, host_view(y, yk, tmp)) : N_ELEM;
            CHECK(bad == 0, "in %s, out %s, run %d: %zu of %zu elements wrong", ingot_memory_name(in.kind),
                  out_name(ok), run, bad, N_ELEM);
            ingot_run_counters last;
            CHECK_STATUS(ingot_context_get_counters(c, &last, NULL), INGOT_OK, NULL);
            uint64_t want_h2d = in.kind == INGOT_MEMORY_DEVICE ? 0 : BYTES;
            uint64_t want_d2h = (ok == INGOT_MEMORY_DEVICE || ok == OUT_ALLOC_DEVICE) ? 0 : BYTES;
            CHECK(last.h2d_bytes == want_h2d && last.d2h_bytes == want_d2h,
                  "in %s, out %s, run %d: h2d %llu d2h %llu bytes, want %llu and %llu", ingot_memory_name(in.kind),
                  out_name(ok), run, (unsigned long long)last.h2d_bytes, (unsigned long long)last.d2h_bytes,
                  (unsigned long long)want_h2d, (unsigned long long)want_d2h);
            if (run == 2) {
                CHECK(last.device_allocs == 0 && last.host_allocs == 0, "in %s, out %s: steady run allocated %llu device, %llu host",
                      ingot_memory_name(in.kind), out_name(ok), (unsigned long long)last.device_allocs,
                      (unsigned long long)last.host_allocs);
                ingot_run_timing t;
                CHECK(ingot_context_get_timing(c, &t) == INGOT_OK && t.cuda_graph, "in %s, out %s: third run replays a graph",
                      ingot_memory_name(in.kind), out_name(ok));
            }
        }
        if (as.kind) {
            CHECK(as.calls == 1, "allocator: reallocate called %d times over 3 runs, want 1", as.calls);
            CHECK(as.notified == 3 && as.rank == 2 && as.dims[1] == (int64_t)N_ELEM, "allocator: notified %d times, rank %d",
                  as.notified, as.rank);
        }
        ingot_context_destroy(c);
        ingot_memory_free(in.kind, in.p);
        ingot_memory_free(out.kind, out.p);
        if (as.mem) ingot_memory_free(as.kind, as.mem);
    }
}

/* Device input and output pointers that change between runs: the graph is updated, results
 * follow the pointers. */
static void changing_pointers(ingot_engine *e, float *x, float *tmp)
{
    ingot_context *c = NULL;
    if (ingot_context_create(e, &c) != INGOT_OK) return;
    ingot_context_set_timing(c, 1);
    buf ins[2] = {make_in(INGOT_MEMORY_DEVICE, fill(x, 7)), make_in(INGOT_MEMORY_DEVICE, fill(x, 8))};
    buf outs[2] = {{NULL, INGOT_MEMORY_DEVICE}, {NULL, INGOT_MEMORY_DEVICE}};
    float *xs[2] = {malloc(BYTES), malloc(BYTES)};
    for (int k = 0; k < 2; k++) {
        ingot_memory_alloc(INGOT_MEMORY_DEVICE, BYTES, &outs[k].p);
        fill(xs[k], 7 + (unsigned)k);
    }
    int graphs = 0;
    for (int run = 0; run < 6; run++) {
        int k = run % 2;
        poison(outs[k]);
        ingot_context_bind_input_memory(c, "x", ins[k].p, BYTES, INGOT_MEMORY_DEVICE);
        ingot_context_bind_output_memory(c, "y", outs[k].p, BYTES, INGOT_MEMORY_DEVICE);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        size_t bad = wrong(xs[k], host_view(outs[k].p, INGOT_MEMORY_DEVICE, tmp));
        CHECK(bad == 0, "alternating device buffers, run %d: %zu elements wrong", run, bad);
        ingot_run_timing t;
        if (ingot_context_get_timing(c, &t) == INGOT_OK) graphs += t.cuda_graph;
    }
    CHECK(graphs >= 4, "alternating device buffers: %d of 6 runs replayed a graph, want >= 4", graphs);
    ingot_context_destroy(c);
    for (int k = 0; k < 2; k++) {
        ingot_memory_free(INGOT_MEMORY_DEVICE, ins[k].p);
        ingot_memory_free(INGOT_MEMORY_DEVICE, outs[k].p);
        free(xs[k]);
    }
}

/* Two output sets: run N's data stays put while run N+1 runs. */
static void double_buffering(ingot_engine *e, float *x, float *tmp)
{
    ingot_context *c = NULL;
    if (ingot_context_create(e, &c) != INGOT_OK) return;
    CHECK_STATUS(ingot_context_set_output_buffers(c, 3), INGOT_ERR_INVALID_ARG, "allowed 1 or 2");
    CHECK_STATUS(ingot_context_set_output_buffers(c, 2), INGOT_OK, NULL);
    float *xa = malloc(BYTES);
    const void *prev = NULL, *first = NULL;
    for (int run = 0; run < 5; run++) {
        fill(x, 50 + (unsigned)run);
        ingot_context_bind_input(c, "x", x, BYTES);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        const void *y = NULL;
        ingot_context_get_output(c, "y", NULL, &y, NULL);
        if (prev) {
            CHECK(y != prev, "double buffering: run %d wrote the buffer of run %d", run, run - 1);
            size_t bad = wrong(xa, prev);
            CHECK(bad == 0, "double buffering: run %d's output changed during run %d (%zu wrong)", run - 1, run, bad);
        }
        if (run == 0) first = y;
        if (run == 2) CHECK(y == first, "double buffering: run 2 reuses run 0's set");
        CHECK(wrong(x, y) == 0, "double buffering: run %d correct", run);
        ingot_run_counters last;
        ingot_context_get_counters(c, &last, NULL);
        if (run >= 1) CHECK(last.device_allocs == 0, "double buffering: run %d allocated %llu", run, (unsigned long long)last.device_allocs);
        memcpy(xa, x, BYTES);
        prev = y;
    }
    (void)tmp;
    free(xa);
    ingot_context_destroy(c);
}

/* Two contexts enqueued before either is synchronized. */
static void two_contexts(ingot_engine *e, float *x)
{
    ingot_context *c[2] = {NULL, NULL};
    buf in[2];
    float *xs[2];
    for (int k = 0; k < 2; k++) {
        ingot_context_create(e, &c[k]);
        xs[k] = fill(malloc(BYTES), 300 + (unsigned)k);
        in[k] = make_in(INGOT_MEMORY_PINNED, xs[k]);
        ingot_context_bind_input_memory(c[k], "x", in[k].p, BYTES, INGOT_MEMORY_PINNED);
    }
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 2; k++) CHECK_STATUS(ingot_context_enqueue(c[k], NULL), INGOT_OK, NULL);
        for (int k = 0; k < 2; k++) {
            CHECK_STATUS(ingot_context_synchronize(c[k]), INGOT_OK, NULL);
            const void *y = NULL;
            ingot_context_get_output(c[k], "y", NULL, &y, NULL);
            CHECK(y && wrong(xs[k], y) == 0, "two contexts, round %d, context %d", round, k);
        }
    }
    for (int k = 0; k < 2; k++) {
        ingot_context_destroy(c[k]);
        ingot_memory_free(INGOT_MEMORY_PINNED, in[k].p);
        free(xs[k]);
    }
    (void)x;
}

/* A profiled engine (rows in [1, 8]) whose input shapes alternate: each shape set keeps its
 * own captured graph, so after one plain run and one capture per shape every run replays. */
static void shape_sets(float *x)
{
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = INGOT_BACKEND_CUDA;
    ingot_input_profile p = {"x", 2, {1, 4096}, {8, 4096}, {8, 4096}};
    o.profiles = &p;
    o.n_profiles = 1;
    ingot_engine *e = io_build_opts(&o, -1, 4096);
    CHECK(e != NULL, "profiled CUDA engine: %s", ingot_last_error());
    if (!e) return;
    ingot_context *c = NULL;
    ingot_context_create(e, &c);
    ingot_context_set_timing(c, 1);
    static const int64_t rows[] = {8, 8, 2, 2, 8, 2, 8, 2, 5, 8};
    int replays = 0;
    for (int r = 0; r < 10; r++) {
        size_t n = (size_t)rows[r] * 4096;
        io_fill(x, n, 500 + (unsigned)r);
        ingot_context_set_input_shape(c, "x", 2, (int64_t[]){rows[r], 4096});
        ingot_context_bind_input(c, "x", x, n * sizeof(float));
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        const void *y = NULL;
        ingot_tensor_info info;
        ingot_context_get_output(c, "y", &info, &y, NULL);
        CHECK(y && info.dims[0] == rows[r] && io_wrong(x, y, n) == 0, "shape sets: run %d (%lld rows) correct", r,
              (long long)rows[r]);
        ingot_run_timing t;
        int replayed = ingot_context_get_timing(c, &t) == INGOT_OK && t.cuda_graph;
        if (r >= 4 && r != 8) CHECK(replayed, "shape sets: run %d (%lld rows) replays the graph kept for its shapes", r,
                                    (long long)rows[r]);
        replays += replayed;
        ingot_run_counters last;
        ingot_context_get_counters(c, &last, NULL);
        if (r >= 1) CHECK(last.device_allocs == 0, "shape sets: run %d allocated %llu device buffers", r,
                          (unsigned long long)last.device_allocs);
    }
    CHECK(replays >= 7, "shape sets: %d of 10 runs replayed a graph, want >= 7", replays);
    ingot_context_destroy(c);
    ingot_engine_destroy(e);
}

static void mismatches(ingot_engine *e, float *x)
{
    ingot_context *c = NULL;
    if (ingot_context_create(e, &c) != INGOT_OK) return;
    void *d = NULL;
    ingot_memory_alloc(INGOT_MEMORY_DEVICE, BYTES, &d);
    CHECK_STATUS(ingot_context_bind_input_memory(c, "x", x, BYTES, INGOT_MEMORY_PINNED), INGOT_ERR_INVALID_ARG, "pageable");
    CHECK_STATUS(ingot_context_bind_input_memory(c, "x", d, BYTES, INGOT_MEMORY_HOST), INGOT_ERR_INVALID_ARG, "device");
    CHECK_STATUS(ingot_context_bind_output_memory(c, "y", x, BYTES, INGOT_MEMORY_DEVICE), INGOT_ERR_INVALID_ARG, "pageable");
    CHECK_STATUS(ingot_context_bind_input_memory(c, "x", x, BYTES, (ingot_memory)9), INGOT_ERR_INVALID_ARG, "memory kind 9");
    ingot_memory_free(INGOT_MEMORY_DEVICE, d);
    ingot_context_destroy(c);
}

int main(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        printf("skipped: no CUDA device\n");
        return 77;
    }
    ingot_engine *e = io_build(INGOT_BACKEND_CUDA, 1, (int64_t)N_ELEM);
    if (!e) {
        printf("skipped: the CUDA backend is not available: %s\n", ingot_last_error());
        return 77;
    }
    float *x = malloc(BYTES), *tmp = malloc(BYTES);
    int outs[] = {OUT_OWN, INGOT_MEMORY_HOST, INGOT_MEMORY_PINNED, INGOT_MEMORY_MAPPED, INGOT_MEMORY_DEVICE,
                  OUT_ALLOC_DEVICE, OUT_ALLOC_PINNED};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) run_kinds(e, outs[k], x, tmp);
    changing_pointers(e, x, tmp);
    double_buffering(e, x, tmp);
    two_contexts(e, x);
    shape_sets(x);
    mismatches(e, x);
    free(x);
    free(tmp);
    ingot_engine_destroy(e);
    DONE();
}
#else
int main(void)
{
    printf("skipped: built without the CUDA backend\n");
    return 77;
}
#endif
