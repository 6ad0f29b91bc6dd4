/* The CUDA streaming weight loader (backend/cuda/upload.c) against the READ path.
 *
 * Engines: digits_cnn built for CUDA ($INGOT_SHARED_DIR/models/digits_cnn, batch 4) and the synthetic `1g` chain (16 f32
 * 4096x4096 weights, every one device-only) built for CUDA. Each is serialized once; the
 * reference is the engine loaded from those bytes by ingot_engine_load_buffer (host weights,
 * engine_create's cudaMemcpy). Every streamed load must give bit-identical outputs on a fixed
 * input (outputs poisoned with 0xFF first), whatever the reader does:
 *   - short reads (random lengths), 1, 2, 3 and 4 staging slots, odd staging sizes (4097,
 *     65549 bytes), verify on and off: the largest read request <= staging_bytes, peak staging
 *     = the pinned ring, device bytes = the weight section;
 *   - a read_device reader (cudaMemcpyAsync into dev_dst on the given stream): no host staging,
 *     read() never asked for weight bytes; with verify the loader uses read() instead;
 *   - a reader failing at the k-th call (several k, read and read_device), the data ending
 *     inside a weight, a failed cudaMalloc of the weights (device memory taken first):
 *     INGOT_ERR_IO / INGOT_ERR_NOMEM with a message, out untouched, device memory back to its
 *     level (cudaMemGetInfo, 2 MiB slack for the runtime's own pools) and host heap back to its
 *     level (mallinfo2, 64 KiB slack);
 *   - MMAP of a CUDA engine file streams (stats say STREAM); a streamed engine refuses save.
 * Exits 77 when the machine has no usable GPU. */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/synth.h"
#include "ingot.h"
#include "runtime/runtime.h"

#ifdef INGOT_WITH_CUDA
#include <cuda_runtime.h>

/* ---- a reader over memory with faults on demand ---------------------------------------- */

typedef struct src {
    const uint8_t *p;
    uint64_t size, pos, limit;
    long calls, fail_at;      /* fail_at: this call (1-based, read and read_device) fails */
    int short_reads;
    uint32_t rng;
    size_t max_asked;
    uint64_t host_bytes;      /* bytes handed out by read() */
    long dev_calls;
} src;

static size_t next_len(src *s, size_t k)
{
    if (!s->short_reads || k == 0) return k;
    s->rng = s->rng * 1103515245u + 12345u;
    uint32_t r = s->rng >> 8;
    /* a quarter of the calls return 1..7 bytes, the rest a random share of the request */
    size_t want = (r & 3) == 0 ? 1 + (r >> 2) % 7 : 1 + (size_t)((r >> 2) % (k < 1000000 ? k : 1000000));
    return want < k ? want : k;
}

static int64_t take(src *s, size_t n, size_t *k)
{
    s->calls++;
    if (n > s->max_asked) s->max_asked = n;
    if (s->fail_at && s->calls == s->fail_at) return -1;
    uint64_t end = s->limit < s->size ? s->limit : s->size;
    uint64_t left = s->pos < end ? end - s->pos : 0;
    *k = next_len(s, n < left ? n : (size_t)left);
    return 0;
}

static int64_t src_read(void *user, void *dst, size_t n)
{
    src *s = user;
    size_t k;
    if (take(s, n, &k) < 0) return -1;
    memcpy(dst, s->p + s->pos, k);
    s->pos += k;
    s->host_bytes += k;
    return (int64_t)k;
}

static int64_t src_read_device(void *user, void *dev, size_t n, void *stream)
{
    src *s = user;
    size_t k;
    s->dev_calls++;
    if (take(s, n, &k) < 0) return -1;
    if (k && cudaMemcpyAsync(dev, s->p + s->pos, k, cudaMemcpyHostToDevice, (cudaStream_t)stream) != cudaSuccess)
        return -1;
    s->pos += k;
    return (int64_t)k;
}

static src src_over(const uint8_t *p, uint64_t size, int short_reads)
{
    src s = {.p = p, .size = size, .limit = UINT64_MAX, .short_reads = short_reads, .rng = 777};
    return s;
}

static ingot_status load(src *s, int device, size_t count, size_t bytes, int verify, ingot_engine **e)
{
    ingot_reader r = {.read = src_read, .read_device = device ? src_read_device : NULL, .user = s};
    ingot_load_opts o;
    ingot_load_opts_init(&o);
    o.mode = INGOT_LOAD_STREAM;
    o.staging_count = count;
    o.staging_bytes = bytes;
    o.verify_checksums = verify;
    return ingot_engine_load_stream(&r, &o, e);
}

/* ---- engines and their outputs ---------------------------------------------------------- */

typedef struct eng {
    const char *label;
    uint8_t *img;
    int img_ingot;        /* img came from ingot_engine_save_buffer (ingot_free), else malloc */
    size_t size;
    engine_header_v1 h;
    uint8_t *in;          /* fixed input bytes (input 0) */
    size_t in_bytes;
    uint8_t *ref;         /* output 0 of the READ-loaded engine */
    uint64_t in_blob;     /* a file offset in the middle of the largest weight */
    size_t out_bytes;
} eng;

/* Run e on g's input three times on one context (plain run, CUDA-graph capture, replay), the
 * output buffer poisoned before each; *out receives output 0 (malloc'd) when all three agree. */
static int run_once(const ingot_engine *e, const eng *g, uint8_t **out, size_t *n)
{
    ingot_tensor_info ii, oi;
    ingot_context *c = NULL;
    const void *data;
    size_t size = 0;
    if (ingot_engine_get_input(e, 0, &ii) != INGOT_OK || ingot_engine_get_output(e, 0, &oi) != INGOT_OK) return 0;
    size_t want = ingot_dtype_size(oi.dtype);
    for (int d = 0; d < oi.rank; d++) want *= (size_t)oi.dims[d];
    uint8_t *buf = malloc(want ? want : 1), *first = malloc(want ? want : 1);
    int ok = buf && first && ingot_context_create(e, &c) == INGOT_OK &&
             ingot_context_bind_input(c, ii.name, g->in, g->in_bytes) == INGOT_OK &&
             ingot_context_bind_output(c, oi.name, buf, want) == INGOT_OK;
    static const uint8_t poison[3] = {0xFF, 0x55, 0xA5};
    for (int r = 0; r < 3 && ok; r++) {
        memset(buf, poison[r], want);
        ok = ingot_context_run(c, NULL) == INGOT_OK &&
             ingot_context_get_output(c, oi.name, &oi, &data, &size) == INGOT_OK && size == want;
        if (ok && r == 0) memcpy(first, buf, want);
        if (ok && r > 0 && memcmp(first, buf, want) != 0) {
            printf("%s: run %d of one context differs from run 1\n", g->label, r + 1);
            ok = 0;
        }
    }
    free(first);
    if (!ok) printf("run failed: %s\n", ingot_last_error());
    ingot_context_destroy(c);
    if (!ok) {
        free(buf);
        return 0;
    }
    *out = buf;
    *n = want;
    return 1;
}

static int prepare(eng *g, const char *label, uint8_t *img, size_t size)
{
    g->label = label;
    g->img = img;
    g->size = size;
    if (engine_header_read(img, size, size, &g->h) != INGOT_OK) return 0;
    ingot_engine *e = NULL;
    ingot_load_opts o;
    ingot_load_opts_init(&o);
    o.mode = INGOT_LOAD_READ;
    if (ingot_engine_load_buffer(img, size, &o, &e) != INGOT_OK) {
        printf("%s: READ load failed: %s\n", label, ingot_last_error());
        return 0;
    }
    /* load_buffer keeps the image: a constant's file offset is its address less the image's */
    const ir_model *m = e->plan->model;
    size_t largest = 0;
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST && m->values[i].const_bytes > largest) {
            largest = m->values[i].const_bytes;
            g->in_blob = (uint64_t)((const uint8_t *)m->values[i].t.data - (const uint8_t *)e->image) + largest / 2;
        }
    ingot_tensor_info ii;
    ingot_engine_get_input(e, 0, &ii);
    size_t n = ingot_dtype_size(ii.dtype);
    for (int d = 0; d < ii.rank; d++) n *= (size_t)(ii.dims[d] > 0 ? ii.dims[d] : 0); /* fixed shapes only */
    g->in_bytes = n;
    g->in = malloc(n);
    uint32_t r = 99;
    float *f = (float *)g->in; /* every engine here takes f32 */
    for (size_t i = 0; i < n / 4; i++) {
        r = r * 1664525u + 1013904223u;
        f[i] = (float)((r >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    }
    int ok = n > 0 && ii.dtype == INGOT_DTYPE_F32 && run_once(e, g, &g->ref, &g->out_bytes);
    ingot_engine_destroy(e);
    return ok;
}

static void check_same(const ingot_engine *e, const eng *g, const char *what)
{
    uint8_t *out = NULL;
    size_t n = 0;
    int ran = run_once(e, g, &out, &n);
    CHECK(ran && n == g->out_bytes && !memcmp(out, g->ref, n), "%s, %s: outputs differ from the READ-loaded engine",
          g->label, what);
    free(out);
}

static size_t dev_free(void)
{
    size_t f = 0, t = 0;
    cudaMemGetInfo(&f, &t);
    return f;
}

static size_t heap_used(void) { return mallinfo2().uordblks; }

#define DEV_SLACK ((size_t)2 << 20)
#define HEAP_SLACK ((size_t)64 << 10)

/* ---- the cases -------------------------------------------------------------------------- */

static void test_ring(const eng *g)
{
    static const struct { size_t count, bytes; } cfg[] = {{1, 4097}, {2, 4097}, {4, 65549}, {3, 1 << 20}, {0, 0}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++)
        for (int verify = 0; verify < 2; verify++) {
            char what[96];
            snprintf(what, sizeof what, "%zu slots of %zu bytes, verify %d", cfg[c].count, cfg[c].bytes, verify);
            src s = src_over(g->img, g->size, 1);
            ingot_engine *e = NULL;
            CHECK_STATUS(load(&s, 0, cfg[c].count, cfg[c].bytes, verify, &e), INGOT_OK, NULL);
            if (!e) continue;
            size_t bytes = cfg[c].bytes ? cfg[c].bytes : (size_t)16 << 20;
            size_t count = cfg[c].count ? cfg[c].count : 4;
            ingot_load_stats ls;
            ingot_engine_get_load_stats(e, &ls);
            CHECK(s.max_asked <= bytes, "%s, %s: the reader was asked for %zu bytes", g->label, what, s.max_asked);
            CHECK(ls.peak_staging_bytes == (uint64_t)count * bytes, "%s, %s: peak staging %" PRIu64, g->label, what,
                  ls.peak_staging_bytes);
            CHECK(ls.device_bytes == g->h.weights_size, "%s, %s: device bytes %" PRIu64 ", section %" PRIu64,
                  g->label, what, ls.device_bytes, g->h.weights_size);
            CHECK(ls.mode == INGOT_LOAD_STREAM, "%s: mode %d", what, ls.mode);
            check_same(e, g, what);
            ingot_engine_destroy(e);
        }
}

static void test_read_device(const eng *g)
{
    for (int verify = 0; verify < 2; verify++) {
        src s = src_over(g->img, g->size, 1);
        ingot_engine *e = NULL;
        CHECK_STATUS(load(&s, 1, 2, 65549, verify, &e), INGOT_OK, NULL);
        if (!e) continue;
        ingot_load_stats ls;
        ingot_engine_get_load_stats(e, &ls);
        CHECK(s.max_asked <= 65549, "%s read_device: asked for %zu bytes", g->label, s.max_asked);
        if (!verify) {
            CHECK(s.dev_calls > 0 && ls.peak_staging_bytes == 0, "%s read_device: %ld device calls, staging %" PRIu64,
                  g->label, s.dev_calls, ls.peak_staging_bytes);
            CHECK(s.host_bytes <= g->h.weights_offset, "%s read_device: read() gave %" PRIu64 " bytes, the section "
                  "starts at %" PRIu64, g->label, s.host_bytes, g->h.weights_offset);
        } else {
            CHECK(s.dev_calls == 0, "%s read_device with verify: %ld device calls, want 0", g->label, s.dev_calls);
        }
        check_same(e, g, verify ? "read_device reader, verify" : "read_device reader");
        ingot_engine_destroy(e);
    }
}

static void expect_failure(const eng *g, src *s, int device, ingot_status want, const char *mention, const char *what)
{
    size_t d0 = dev_free(), h0 = heap_used();
    ingot_engine *e = (ingot_engine *)(uintptr_t)0x1;
    CHECK_STATUS(load(s, device, 2, 65549, 0, &e), want, mention);
    CHECK(e == (ingot_engine *)(uintptr_t)0x1, "%s, %s: out was written on failure", g->label, what);
    size_t d1 = dev_free(), h1 = heap_used();
    CHECK(d1 + DEV_SLACK >= d0, "%s, %s: device free %zu -> %zu bytes", g->label, what, d0, d1);
    CHECK(h1 <= h0 + HEAP_SLACK, "%s, %s: host heap %zu -> %zu bytes", g->label, what, h0, h1);
}

static void test_failures(const eng *g)
{
    /* how many calls a clean load makes with these settings */
    for (int device = 0; device < 2; device++) {
        src s = src_over(g->img, g->size, 0);
        ingot_engine *e = NULL;
        if (load(&s, device, 2, 65549, 0, &e) != INGOT_OK) {
            CHECK(0, "%s: clean load failed: %s", g->label, ingot_last_error());
            continue;
        }
        ingot_engine_destroy(e);
        long total = s.calls;
        long ks[] = {1, 2, 3, total / 3, total / 2, total - 1, total};
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            if (ks[i] < 1) continue;
            src f = src_over(g->img, g->size, 0);
            f.fail_at = ks[i];
            char what[64];
            snprintf(what, sizeof what, "%s fails at call %ld of %ld", device ? "read_device" : "read", ks[i], total);
            expect_failure(g, &f, device, INGOT_ERR_IO, "the reader failed", what);
        }
        /* the data ends inside the largest weight */
        src t = src_over(g->img, g->size, 0);
        t.limit = g->in_blob;
        expect_failure(g, &t, device, INGOT_ERR_IO, "inside weight", "EOF inside a weight");
    }
}

static void test_no_device_memory(const eng *g)
{
    size_t f = dev_free();
    void *hog = NULL;
    if (f < g->h.weights_size || cudaMalloc(&hog, f - g->h.weights_size / 2) != cudaSuccess) {
        printf("note: could not take device memory to test a failed weights allocation\n");
        return;
    }
    src s = src_over(g->img, g->size, 0);
    expect_failure(g, &s, 0, INGOT_ERR_NOMEM, "cudaMalloc (weights)", "no device memory");
    cudaFree(hog);
}

static void test_mmap_and_save(const eng *g, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/e.engine", dir);
    FILE *fp = fopen(path, "wb");
    int wrote = fp && fwrite(g->img, 1, g->size, fp) == g->size;
    if (fp) fclose(fp);
    CHECK(wrote, "writing %s", path);
    ingot_load_opts o;
    ingot_load_opts_init(&o);
    o.mode = INGOT_LOAD_MMAP;
    ingot_engine *e = NULL;
    CHECK_STATUS(ingot_engine_load(path, &o, &e), INGOT_OK, NULL);
    if (e) {
        ingot_load_stats ls;
        ingot_engine_get_load_stats(e, &ls);
        CHECK(ls.mode == INGOT_LOAD_STREAM && ls.peak_staging_bytes > 0, "%s MMAP: mode %d, staging %" PRIu64,
              g->label, ls.mode, ls.peak_staging_bytes);
        check_same(e, g, "MMAP (streamed)");
        void *buf = NULL;
        size_t n = 0;
        ingot_status st = ingot_engine_save_buffer(e, &buf, &n);
        int has_big = 0; /* saving fails only when some weight lives on the device only */
        const ir_model *m = e->plan->model;
        for (int32_t i = 0; i < m->n_values; i++)
            has_big |= m->values[i].kind == IR_VALUE_CONST && m->values[i].const_bytes && !m->values[i].t.data;
        if (has_big) CHECK_STATUS(st, INGOT_ERR_UNSUPPORTED, "device only");
        else CHECK_STATUS(st, INGOT_OK, NULL);
        ingot_free(buf);
        ingot_engine_destroy(e);
    }
    unlink(path);
}

static void eng_free(eng *g)
{
    if (g->img_ingot) ingot_free(g->img);
    else free(g->img);
    free(g->in);
    free(g->ref);
    memset(g, 0, sizeof *g);
}

static uint8_t *engine_bytes(ingot_engine *e, size_t *n)
{
    void *buf = NULL;
    if (!e || ingot_engine_save_buffer(e, &buf, n) != INGOT_OK) return NULL;
    return buf;
}

int main(void)
{
    const ing_backend *b = ing_backend_get(INGOT_BACKEND_CUDA);
    if (!b || b->available() != INGOT_OK) {
        printf("skipped: no usable CUDA device (%s)\n", ingot_last_error());
        return 77;
    }
    char dir[] = "/tmp/ingot_cuda_load_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    eng g[2];
    memset(g, 0, sizeof g);
    int n_eng = 0;

    ingot_build_opts bo;
    ingot_build_opts_init(&bo);
    bo.backend = INGOT_BACKEND_CUDA;
    /* a fixed batch, so the output's size is known and the caller's buffer can be poisoned */
    ingot_input_shape shape = {.name = "image", .rank = 4, .dims = {4, 1, 8, 8}};
    bo.shapes = &shape;
    bo.n_shapes = 1;
    ingot_engine *built = NULL;
    /* the shared copy: the source tree is not on the GPU machine, INGOT_SHARED_DIR is */
    const char *shared = getenv("INGOT_SHARED_DIR");
    char model[1024];
    snprintf(model, sizeof model, "%s/models/digits_cnn/model.onnx", shared ? shared : INGOT_SHARED_DIR);
    int ok;
    if (access(model, R_OK) != 0) {
        printf("note: %s is absent (set INGOT_SHARED_DIR): the digits_cnn cases are skipped\n", model);
    } else {
        CHECK_STATUS(ingot_builder_build_file(model, &bo, &built), INGOT_OK, NULL);
        size_t n = 0;
        uint8_t *img = engine_bytes(built, &n);
        ingot_engine_destroy(built);
        g[n_eng].img_ingot = 1;
        g[n_eng].img = img; /* owned by g from here; eng_free releases it */
        ok = img && prepare(&g[n_eng], "digits_cnn", img, n);
        CHECK(ok, "digits_cnn engine and reference");
        if (ok) n_eng++;
        else eng_free(&g[n_eng]);
    }

    char path[512];
    snprintf(path, sizeof path, "%s/1g.engine", dir);
    CHECK_STATUS(engine_synth_write_for("1g", path, 0, INGOT_BACKEND_CUDA), INGOT_OK, NULL);
    FILE *fp = fopen(path, "rb");
    uint8_t *big = NULL;
    long sz = -1;
    if (fp && fseek(fp, 0, SEEK_END) == 0 && (sz = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (big = malloc((size_t)sz)) && fread(big, 1, (size_t)sz, fp) != (size_t)sz) {
        free(big);
        big = NULL;
    }
    if (fp) fclose(fp);
    unlink(path);
    g[n_eng].img = big;
    ok = big && prepare(&g[n_eng], "synth 1g", big, (size_t)sz);
    CHECK(ok, "synth 1g engine and reference");
    if (ok) n_eng++;
    else eng_free(&g[n_eng]);

    for (int i = 0; i < n_eng; i++) {
        test_ring(&g[i]);
        test_read_device(&g[i]);
        test_failures(&g[i]);
        test_mmap_and_save(&g[i], dir);
        printf("%s: %d passed, %d failed so far\n", g[i].label, check_passed, check_failed);
    }
    if (n_eng > 0 && !strcmp(g[n_eng - 1].label, "synth 1g")) test_no_device_memory(&g[n_eng - 1]);
    for (int i = 0; i < n_eng; i++) eng_free(&g[i]);
    rmdir(dir);
    DONE();
}

#else
int main(void)
{
    printf("skipped: this build has no CUDA backend\n");
    return 77;
}
#endif
