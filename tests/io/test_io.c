/* Runtime I/O on the CPU backend: output allocators (called once while the size holds, told
 * the shape every run), two output sets (run N's data intact through run N+1), counters
 * (0 host allocations in a steady state), enqueue/synchronize, and memory kinds a CPU engine
 * refuses. The model is y = 2 * relu(x) + 0.25 (exact in f32); outputs poisoned first. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_model.h"

#define N 1000

static void fill(float *x, unsigned seed) { io_fill(x, N, seed); }
static int wrong(const float *x, const float *y) { return (int)io_wrong(x, y, N); }

/* An output whose size depends on the data: NonZero(x > 0) served by an allocator, grown when
 * more elements are positive, told each run's shape, holding the right indices. */
static void data_dependent_output(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 1, (int64_t[]){64});
    gu_const_f32(g, "zero", 0, NULL, (float[]){0.0f});
    gu_node(g, "Greater", "gt", "x,zero", "pos");
    gu_node(g, "NonZero", "nz", "pos", "y");
    gu_output(g, "y");
    ingot_engine *e = gu_build(g, NULL, 0, NULL);
    gu_free(g);
    CHECK(e != NULL, "NonZero model: %s", ingot_last_error());
    if (!e) return;
    ingot_context *c = NULL;
    ingot_context_create(e, &c);
    io_alloc_state as = {0};
    ingot_output_allocator a = {io_realloc, io_notify, INGOT_MEMORY_HOST, &as};
    CHECK_STATUS(ingot_context_set_output_allocator(c, "y", &a), INGOT_OK, NULL);
    static const int positives[] = {5, 3, 20, 20, 7, 64, 0};
    float x[64];
    int grows = 0, cap = 0;
    for (size_t r = 0; r < sizeof positives / sizeof positives[0]; r++) {
        int k = positives[r];
        for (int i = 0; i < 64; i++) x[i] = (i * 37) % 64 < k ? 1.0f + (float)i : -1.0f - (float)i;
        if (k > cap) grows++, cap = k;
        ingot_context_bind_input(c, "x", x, sizeof x);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        const void *y = NULL;
        ingot_tensor_info info;
        ingot_context_get_output(c, "y", &info, &y, NULL);
        CHECK(as.rank == 2 && as.dims[0] == 1 && as.dims[1] == k, "NonZero run %zu: told [%lld, %lld], want [1, %d]", r,
              (long long)as.dims[0], (long long)as.dims[1], k);
        CHECK(info.rank == 2 && info.dims[1] == k && (k == 0 || y == as.mem), "NonZero run %zu: shape and memory", r);
        int bad = 0, j = 0;
        for (int i = 0; i < 64 && y; i++)
            if (x[i] > 0) bad += ((const int64_t *)y)[j++] != i;
        CHECK(bad == 0 && j == k, "NonZero run %zu: %d of %d indices wrong", r, bad, k);
    }
    CHECK(as.calls == grows + (positives[0] == 0), "NonZero: reallocate called %d times, want %d (once per growth)",
          as.calls, grows);
    CHECK(as.notified == (int)(sizeof positives / sizeof positives[0]), "NonZero: notified %d times", as.notified);
    ingot_context_destroy(c);
    ingot_memory_free(INGOT_MEMORY_HOST, as.mem);
    ingot_engine_destroy(e);
}

static ingot_status build_profiled(int64_t lo, int64_t hi, const char *name, int with_shape, ingot_engine **e)
{
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    ingot_input_profile p = {name, 2, {lo, N / 4}, {hi, N / 4}, {hi, N / 4}};
    ingot_input_shape sh = {"x", 2, {4, N / 4}};
    o.profiles = &p;
    o.n_profiles = 1;
    if (with_shape) {
        o.shapes = &sh;
        o.n_shapes = 1;
    }
    *e = io_build_opts(&o, -1, N / 4);
    return *e ? INGOT_OK : ingot_last_error()[0] ? INGOT_ERR_SHAPE : INGOT_ERR_RUNTIME;
}

/* Optimization profiles: x is [rows, 250] with rows in [1, 4]; any rows in range runs in the
 * arena planned for 4 without allocating, and out of range is refused. */
static void profiles(void)
{
    ingot_engine *e = NULL, *bad = NULL;
    build_profiled(1, 4, "x", 0, &e);
    CHECK(e != NULL, "profiled build: %s", ingot_last_error());
    if (!e) return;
    ingot_input_profile p;
    CHECK_STATUS(ingot_engine_get_input_profile(e, "x", &p), INGOT_OK, NULL);
    CHECK(p.rank == 2 && p.min[0] == 1 && p.opt[0] == 4 && p.max[0] == 4 && p.min[1] == N / 4, "profile read back");
    CHECK_STATUS(ingot_engine_get_input_profile(e, "nope", &p), INGOT_ERR_NOT_FOUND, "nope");
    void *img = NULL;
    size_t size = 0;
    ingot_engine *e2 = NULL;
    CHECK_STATUS(ingot_engine_save_buffer(e, &img, &size), INGOT_OK, NULL);
    CHECK_STATUS(ingot_engine_load_buffer(img, size, NULL, &e2), INGOT_OK, NULL);
    ingot_free(img);
    ingot_engine *engines[2] = {e, e2};
    for (int k = 0; k < 2 && e2; k++) {
        ingot_context *c = NULL;
        ingot_context_create(engines[k], &c);
        float x[N];
        int64_t rows_seq[] = {4, 1, 3, 4, 2};
        for (size_t r = 0; r < sizeof rows_seq / sizeof rows_seq[0]; r++) {
            int64_t rows = rows_seq[r];
            fill(x, 90 + (unsigned)r);
            CHECK_STATUS(ingot_context_set_input_shape(c, "x", 2, (int64_t[]){rows, N / 4}), INGOT_OK, NULL);
            ingot_context_bind_input(c, "x", x, sizeof x);
            CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
            const void *y = NULL;
            ingot_tensor_info info;
            ingot_context_get_output(c, "y", &info, &y, NULL);
            CHECK(info.dims[0] == rows && y && io_wrong(x, y, (size_t)(rows * (N / 4))) == 0,
                  "engine %d, %lld rows: shape and values", k, (long long)rows);
            ingot_run_counters last;
            ingot_context_get_counters(c, &last, NULL);
            if (r > 0) CHECK(last.host_allocs == 0, "engine %d, %lld rows after the max: %llu allocations", k,
                             (long long)rows, (unsigned long long)last.host_allocs);
        }
        /* a bound output too small for the next input shape: refused before anything runs,
         * its memory untouched; the shape that fits runs into it */
        float ybuf[2 * (N / 4)];
        for (int i = 0; i < 2 * (N / 4); i++) ybuf[i] = -7.0f;
        ingot_run_counters before, after;
        ingot_context_get_counters(c, NULL, &before);
        CHECK_STATUS(ingot_context_bind_output(c, "y", ybuf, sizeof ybuf), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_set_input_shape(c, "x", 2, (int64_t[]){3, N / 4}), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_ERR_SHAPE, "nothing was run");
        ingot_context_get_counters(c, NULL, &after);
        int untouched = 1;
        for (int i = 0; i < 2 * (N / 4); i++) untouched &= ybuf[i] == -7.0f;
        CHECK(after.runs == before.runs && untouched, "engine %d: refused before the run (runs %llu -> %llu), buffer "
              "untouched", k, (unsigned long long)before.runs, (unsigned long long)after.runs);
        fill(x, 97);
        CHECK_STATUS(ingot_context_set_input_shape(c, "x", 2, (int64_t[]){2, N / 4}), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        CHECK(io_wrong(x, ybuf, 2 * (N / 4)) == 0, "engine %d: 2 rows run into the bound buffer", k);
        CHECK_STATUS(ingot_context_set_input_shape(c, "x", 2, (int64_t[]){5, N / 4}), INGOT_ERR_SHAPE, "profile range [1, 4]");
        CHECK_STATUS(ingot_context_set_input_shape(c, "x", 2, (int64_t[]){0, N / 4}), INGOT_ERR_SHAPE, "profile range");
        ingot_context_destroy(c);
    }
    ingot_engine_destroy(e2);
    ingot_engine_destroy(e);
    CHECK(build_profiled(5, 2, "x", 0, &bad) != INGOT_OK && strstr(ingot_last_error(), "min <= opt <= max"),
          "min above max refused: %s", ingot_last_error());
    CHECK(build_profiled(1, 4, "nope", 0, &bad) != INGOT_OK && strstr(ingot_last_error(), "'nope'"),
          "unknown input refused: %s", ingot_last_error());
    CHECK(build_profiled(1, 4, "x", 1, &bad) != INGOT_OK && strstr(ingot_last_error(), "both a fixed shape and a profile"),
          "shape and profile together refused: %s", ingot_last_error());
    ingot_engine_destroy(bad);
}

int main(void)
{
    ingot_engine *e = io_build(INGOT_BACKEND_CPU, 4, N / 4);
    CHECK(e != NULL, "build: %s", ingot_last_error());
    if (!e) DONE();
    float x[N], keep[N];
    ingot_context *c = NULL;
    CHECK_STATUS(ingot_context_create(e, &c), INGOT_OK, NULL);

    /* memory kinds */
    CHECK_STATUS(ingot_context_bind_input_memory(c, "x", x, sizeof x, INGOT_MEMORY_DEVICE), INGOT_ERR_UNSUPPORTED, "cpu engine");
    CHECK_STATUS(ingot_context_bind_input_memory(c, "x", x, sizeof x, (ingot_memory)7), INGOT_ERR_INVALID_ARG, "memory kind 7");
    CHECK_STATUS(ingot_context_bind_input_memory(c, "nope", x, sizeof x, INGOT_MEMORY_PINNED), INGOT_ERR_NOT_FOUND, "nope");
    ingot_output_allocator bad = {NULL, NULL, INGOT_MEMORY_HOST, NULL};
    CHECK_STATUS(ingot_context_set_output_allocator(c, "y", &bad), INGOT_ERR_INVALID_ARG, "reallocate");
    ingot_output_allocator dev = {io_realloc, NULL, INGOT_MEMORY_DEVICE, NULL};
    CHECK_STATUS(ingot_context_set_output_allocator(c, "y", &dev), INGOT_ERR_INVALID_ARG, "device");
    void *p = NULL;
    CHECK_STATUS(ingot_memory_alloc(INGOT_MEMORY_HOST, 100, &p), INGOT_OK, NULL);
    CHECK(p && ((uintptr_t)p % 256) == 0, "host memory 256-aligned");
    ingot_memory_free(INGOT_MEMORY_HOST, p);
    CHECK_STATUS(ingot_memory_alloc((ingot_memory)9, 100, &p), INGOT_ERR_INVALID_ARG, "memory kind 9");
    CHECK(!strcmp(ingot_memory_name(INGOT_MEMORY_MAPPED), "mapped"), "memory names");

    /* counters and enqueue/synchronize: pinned-kind host memory behaves as host memory */
    CHECK_STATUS(ingot_context_get_counters(c, &(ingot_run_counters){0}, NULL), INGOT_ERR_STATE, "no run");
    CHECK_STATUS(ingot_context_bind_input_memory(c, "x", x, sizeof x, INGOT_MEMORY_PINNED), INGOT_OK, NULL);
    ingot_context_set_timing(c, 1);
    for (int run = 0; run < 3; run++) {
        fill(x, (unsigned)run + 1);
        CHECK_STATUS(ingot_context_enqueue(c, NULL), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_synchronize(c), INGOT_OK, NULL);
        const void *y = NULL;
        ingot_context_get_output(c, "y", NULL, &y, NULL);
        CHECK(y && wrong(x, y) == 0, "enqueue run %d correct", run);
        ingot_run_counters last, total;
        CHECK_STATUS(ingot_context_get_counters(c, &last, &total), INGOT_OK, NULL);
        CHECK(total.runs == (uint64_t)run + 1, "total runs %llu, want %d", (unsigned long long)total.runs, run + 1);
        if (run > 0) CHECK(last.host_allocs == 0, "run %d allocated %llu host buffers", run, (unsigned long long)last.host_allocs);
        ingot_run_timing t;
        CHECK(ingot_context_get_timing(c, &t) == INGOT_OK && t.enqueue_ms >= 0 && t.host_ms >= t.enqueue_ms,
              "timing: enqueue %.3f ms, host %.3f ms", t.enqueue_ms, t.host_ms);
    }

    /* two output sets */
    CHECK_STATUS(ingot_context_set_output_buffers(c, 0), INGOT_ERR_INVALID_ARG, "allowed 1 or 2");
    CHECK_STATUS(ingot_context_set_output_buffers(c, 2), INGOT_OK, NULL);
    const void *prev = NULL;
    for (int run = 0; run < 5; run++) {
        fill(x, 40 + (unsigned)run);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        const void *y = NULL;
        ingot_context_get_output(c, "y", NULL, &y, NULL);
        CHECK(y && wrong(x, y) == 0, "two sets: run %d correct", run);
        if (prev) {
            CHECK(prev != y, "two sets: run %d did not reuse run %d's buffer", run, run - 1);
            CHECK(wrong(keep, prev) == 0, "two sets: run %d's data intact after run %d", run - 1, run);
        }
        ingot_run_counters last;
        ingot_context_get_counters(c, &last, NULL);
        if (run >= 2) CHECK(last.host_allocs == 0, "two sets: run %d allocated %llu", run, (unsigned long long)last.host_allocs);
        memcpy(keep, x, sizeof x);
        prev = y;
    }
    ingot_context_set_output_buffers(c, 1);

    /* an output allocator: called once, told the shape every run, written correctly */
    io_alloc_state as = {0};
    ingot_output_allocator a = {io_realloc, io_notify, INGOT_MEMORY_HOST, &as};
    CHECK_STATUS(ingot_context_set_output_allocator(c, "y", &a), INGOT_OK, NULL);
    for (int run = 0; run < 3; run++) {
        fill(x, 70 + (unsigned)run);
        if (as.mem) memset(as.mem, 0xFF, sizeof x);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        const void *y = NULL;
        ingot_context_get_output(c, "y", NULL, &y, NULL);
        CHECK(y == as.mem && y && wrong(x, y) == 0, "allocator run %d: output in the allocator's memory, correct", run);
    }
    CHECK(as.calls == 1 && as.notified == 3, "allocator: %d reallocate calls (want 1), %d notifications (want 3)", as.calls,
          as.notified);
    CHECK(as.rank == 2 && as.dims[0] == 4 && as.dims[1] == N / 4, "allocator: shape told %d-D %lld x %lld", as.rank,
          (long long)as.dims[0], (long long)as.dims[1]);
    ingot_memory_free(INGOT_MEMORY_HOST, as.mem);
    io_alloc_state failing = {.fail = 1};
    ingot_output_allocator f = {io_realloc, NULL, INGOT_MEMORY_HOST, &failing};
    ingot_context_set_output_allocator(c, "y", &f);
    CHECK_STATUS(ingot_context_run(c, NULL), INGOT_ERR_NOMEM, "allocator returned NULL");
    ingot_context_set_output_allocator(c, "y", NULL);
    CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);

    ingot_context_destroy(c);
    ingot_engine_destroy(e);
    profiles();
    data_dependent_output();
    DONE();
}
