/* Engine loading: every mode gives the same engine; STREAM through readers that return 1..7
 * bytes at a time, fail at every call, end early inside each section and weight, fail to
 * seek; corrupt weights; allocation failure at every allocation (no leak, no partial engine);
 * the device-upload hook's ring discipline and the read_device path; and, with --large DIR,
 * a sparse engine over 4 GiB (one 5 GiB weight) read by MMAP and STREAM.
 *   test_load                 the small cases (seconds; also under ASan)
 *   test_load --large DIR     the > 4 GiB case, its engine written in DIR */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "check.h"
#include "core/alloc.h"
#include "engine/stream.h"
#include "engine/synth.h"
#include "ingot.h"
#include "runtime/runtime.h"

/* ---- a reader over memory with faults on demand ---------------------------------------- */

typedef struct mem_src {
    const uint8_t *p;
    uint64_t size, pos;
    uint64_t limit;   /* the data "ends" here (truncation) */
    long calls;       /* read calls so far */
    long fail_at;     /* this read call (1-based) returns -1; 0: never */
    int short_reads;  /* return 1..7 bytes per call */
    uint32_t rng;
    size_t max_asked; /* the most bytes one read call asked for */
    int seek_fails;
    long seeks;
} mem_src;

static int64_t mem_read(void *user, void *dst, size_t n)
{
    mem_src *s = user;
    s->calls++;
    if (n > s->max_asked) s->max_asked = n;
    if (s->fail_at && s->calls == s->fail_at) return -1;
    uint64_t end = s->limit < s->size ? s->limit : s->size;
    uint64_t left = s->pos < end ? end - s->pos : 0;
    size_t k = n < left ? n : (size_t)left;
    if (s->short_reads && k > 0) {
        s->rng = s->rng * 1103515245u + 12345u;
        size_t want = 1 + (s->rng >> 16) % 7;
        if (want < k) k = want;
    }
    memcpy(dst, s->p + s->pos, k);
    s->pos += k;
    return (int64_t)k;
}

static int mem_seek(void *user, uint64_t offset)
{
    mem_src *s = user;
    s->seeks++;
    if (s->seek_fails || offset > s->size) return -1;
    s->pos = offset;
    return 0;
}

static mem_src src_over(const uint8_t *p, uint64_t size)
{
    mem_src s = {.p = p, .size = size, .limit = UINT64_MAX, .rng = 12345};
    return s;
}

static ingot_status load_mem(mem_src *s, int with_seek, int verify, size_t staging_bytes,
                             ingot_engine **e)
{
    ingot_reader r = {.read = mem_read, .seek = with_seek ? mem_seek : NULL, .user = s};
    ingot_load_opts o;
    ingot_load_opts_init(&o);
    o.mode = INGOT_LOAD_STREAM;
    o.verify_checksums = verify;
    o.staging_bytes = staging_bytes;
    return ingot_engine_load_stream(&r, &o, e);
}

/* ---- helpers --------------------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

/* Run e on a fixed input x = [1, 64] and copy the output into y (64 floats). */
static int run_tiny(const ingot_engine *e, float *y)
{
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)(i % 7) - 3.0f;
    ingot_context *c = NULL;
    const void *data;
    size_t size;
    ingot_tensor_info info;
    int ok = ingot_context_create(e, &c) == INGOT_OK &&
             ingot_context_bind_input(c, "x", x, sizeof x) == INGOT_OK &&
             ingot_context_run(c, NULL) == INGOT_OK &&
             ingot_context_get_output(c, "y", &info, &data, &size) == INGOT_OK &&
             size == 64 * sizeof(float);
    if (ok) memcpy(y, data, 64 * sizeof(float));
    ingot_context_destroy(c);
    return ok;
}

/* The weight named `name`'s bytes in e. */
static const ir_value *weight_of(const ingot_engine *e, const char *name)
{
    const ir_model *m = e->plan->model;
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST && !strcmp(m->values[i].name, name))
            return &m->values[i];
    return NULL;
}

/* ---- the small cases ------------------------------------------------------------------- */

static char tiny_path[512];
static uint8_t *img;
static size_t img_size;
static engine_header_v1 hdr;
static float y_ref[64];

static void test_modes(void)
{
    ingot_engine *e = NULL;
    CHECK_STATUS(ingot_engine_load(tiny_path, NULL, &e), INGOT_OK, NULL);
    CHECK(e && run_tiny(e, y_ref), "the tiny engine runs");
    ingot_engine_destroy(e);
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero |= y_ref[i] != 0;
    CHECK(nonzero, "the reference output is not all zero");

    static const ingot_load_mode modes[] = {INGOT_LOAD_AUTO, INGOT_LOAD_READ, INGOT_LOAD_MMAP,
                                            INGOT_LOAD_STREAM};
    static const ingot_load_mode used[] = {INGOT_LOAD_MMAP, INGOT_LOAD_READ, INGOT_LOAD_MMAP,
                                           INGOT_LOAD_STREAM};
    for (int verify = 0; verify < 2; verify++)
        for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
            ingot_load_opts o;
            ingot_load_opts_init(&o);
            o.mode = modes[k];
            o.verify_checksums = verify;
            e = NULL;
            CHECK_STATUS(ingot_engine_load(tiny_path, &o, &e), INGOT_OK, NULL);
            if (!e) continue;
            float y[64];
            CHECK(run_tiny(e, y) && !memcmp(y, y_ref, sizeof y), "mode %d verify %d: same output",
                  modes[k], verify);
            ingot_load_stats ls;
            CHECK_STATUS(ingot_engine_get_load_stats(e, &ls), INGOT_OK, NULL);
            CHECK(ls.mode == used[k], "mode %d recorded as %d", modes[k], ls.mode);
            CHECK(ls.seconds >= 0 && ls.rss_hwm_after >= ls.rss_hwm_before, "stats sane");
            /* STREAM without verification seeks over the padding before the weights. */
            uint64_t pad = hdr.weights_offset - hdr.metadata_offset - hdr.metadata_size;
            uint64_t want = used[k] == INGOT_LOAD_STREAM && !verify ? img_size - pad : img_size;
            if (used[k] != INGOT_LOAD_MMAP)
                CHECK(ls.bytes_read == want, "mode %d read %" PRIu64 " bytes, want %" PRIu64,
                      modes[k], ls.bytes_read, want);
            if (used[k] == INGOT_LOAD_STREAM)
                CHECK(ls.peak_staging_bytes == 0, "CPU STREAM reads into the engine's memory");
            const ir_value *w = weight_of(e, "w3");
            CHECK(w && ((uintptr_t)w->t.data % 256) == 0, "constants stay 256-aligned");
            ingot_engine_destroy(e);
        }
    ingot_load_stats ls;
    CHECK_STATUS(ingot_engine_get_load_stats(NULL, &ls), INGOT_ERR_INVALID_ARG, NULL);
    CHECK_STATUS(ingot_engine_load_stream(NULL, NULL, &e), INGOT_ERR_INVALID_ARG, "reader");
}

static void test_short_reads(void)
{
    for (int verify = 0; verify < 2; verify++) {
        mem_src s = src_over(img, img_size);
        s.short_reads = 1;
        ingot_engine *e = NULL;
        CHECK_STATUS(load_mem(&s, 0, verify, 100, &e), INGOT_OK, NULL);
        float y[64];
        CHECK(e && run_tiny(e, y) && !memcmp(y, y_ref, sizeof y), "short reads: same output");
        CHECK(s.max_asked <= 100, "asked for %zu bytes at once, staging is 100", s.max_asked);
        CHECK(s.pos == img_size, "read %" PRIu64 " of %zu bytes, not past the engine", s.pos,
              img_size);
        ingot_engine_destroy(e);
    }
    /* The default staging (16 MiB) is more than this engine: one call per section. */
    mem_src s = src_over(img, img_size);
    ingot_engine *e = NULL;
    CHECK_STATUS(load_mem(&s, 1, 1, 0, &e), INGOT_OK, NULL);
    CHECK(s.max_asked <= ((size_t)16 << 20), "default staging bound");
    ingot_engine_destroy(e);
}

static void test_reader_errors(void)
{
    mem_src s = src_over(img, img_size);
    ingot_engine *e = NULL;
    CHECK_STATUS(load_mem(&s, 0, 1, 4096, &e), INGOT_OK, NULL);
    ingot_engine_destroy(e);
    long n = s.calls;
    CHECK(n > 10, "a 4096-byte staging makes %ld read calls", n);
    for (long i = 1; i <= n; i++) {
        s = src_over(img, img_size);
        s.fail_at = i;
        e = NULL;
        ingot_status st = load_mem(&s, 0, 1, 4096, &e);
        CHECK(st == INGOT_ERR_IO && e == NULL, "read call %ld fails: %s (%s)", i,
              ingot_status_name(st), ingot_last_error());
        CHECK(check_mentions(ingot_last_error(), "reader failed"), "call %ld: '%s'", i,
              ingot_last_error());
    }
}

static void test_truncation(void)
{
    uint64_t cuts[64];
    int n = 0;
    uint64_t wo = hdr.weights_offset, me = hdr.metadata_offset + hdr.metadata_size;
    uint64_t fixed[] = {0, 7, 8, 12, 255, 256, 300, me - 1, me, me + 1, wo - 1, wo, wo + 1,
                        img_size - 1};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) cuts[n++] = fixed[k];
    for (int w = 0; w < 4; w++) cuts[n++] = wo + (uint64_t)w * 16384 + 8192; /* mid-weight */
    for (int i = 0; i < n; i++)
        for (int sh = 0; sh < 2; sh++) {
            mem_src s = src_over(img, img_size);
            s.limit = cuts[i];
            s.short_reads = sh;
            ingot_engine *e = NULL;
            ingot_status st = load_mem(&s, 0, 0, 4096, &e);
            CHECK((st == INGOT_ERR_IO || st == INGOT_ERR_CORRUPT) && e == NULL,
                  "cut at %" PRIu64 ": %s (%s)", cuts[i], ingot_status_name(st),
                  ingot_last_error());
            if (cuts[i] >= 256)
                CHECK(st == INGOT_ERR_IO && check_mentions(ingot_last_error(), "truncated"),
                      "cut at %" PRIu64 ": '%s'", cuts[i], ingot_last_error());
        }
    /* The end of the data inside a weight names the weight. */
    for (int w = 0; w < 4; w++) {
        mem_src s = src_over(img, img_size);
        s.limit = wo + (uint64_t)w * 16384 + 100;
        ingot_engine *e = NULL;
        char name[16];
        snprintf(name, sizeof name, "'w%d'", w);
        const char *want = name; /* CHECK_STATUS tests its mention for NULL */
        CHECK_STATUS(load_mem(&s, 0, 1, 0, &e), INGOT_ERR_IO, want);
    }
}

static void test_seek(void)
{
    mem_src s = src_over(img, img_size);
    s.seek_fails = 1;
    ingot_engine *e = NULL;
    CHECK_STATUS(load_mem(&s, 1, 0, 0, &e), INGOT_ERR_IO, "seek");
    CHECK(e == NULL && s.seeks == 1, "one failed seek, no engine");
    s = src_over(img, img_size);
    CHECK_STATUS(load_mem(&s, 1, 0, 0, &e), INGOT_OK, NULL);
    CHECK(s.seeks == 1, "the padding is skipped with seek when not verifying");
    ingot_load_stats ls;
    CHECK(e && ingot_engine_get_load_stats(e, &ls) == INGOT_OK &&
          ls.bytes_read == img_size - (hdr.weights_offset - hdr.metadata_offset - hdr.metadata_size),
          "bytes read leave out the %" PRIu64 " bytes skipped",
          hdr.weights_offset - hdr.metadata_offset - hdr.metadata_size);
    float y[64];
    CHECK(e && run_tiny(e, y) && !memcmp(y, y_ref, sizeof y), "after a seek: same output");
    ingot_engine_destroy(e);
    e = NULL;
    s = src_over(img, img_size);
    s.seek_fails = 1;
    CHECK_STATUS(load_mem(&s, 1, 1, 0, &e), INGOT_OK, NULL); /* verify reads the padding */
    CHECK(s.seeks == 0, "no seek when verifying");
    ingot_engine_destroy(e);
}

static void test_corrupt(void)
{
    uint8_t *bad = malloc(img_size);
    memcpy(bad, img, img_size);
    bad[hdr.weights_offset + 2 * 16384 + 5000] ^= 0x40; /* inside w2 */
    mem_src s = src_over(bad, img_size);
    ingot_engine *e = NULL;
    CHECK_STATUS(load_mem(&s, 0, 1, 4096, &e), INGOT_ERR_CORRUPT, "'w2'");
    CHECK(e == NULL, "no engine from a corrupt stream");
    s = src_over(bad, img_size);
    CHECK_STATUS(load_mem(&s, 0, 0, 4096, &e), INGOT_OK, NULL); /* not verified: loads */
    ingot_engine_destroy(e);
    e = NULL;
    memcpy(bad, img, img_size);
    bad[hdr.weights_offset - 10] = 1; /* padding before the weights */
    s = src_over(bad, img_size);
    CHECK_STATUS(load_mem(&s, 0, 1, 0, &e), INGOT_ERR_CORRUPT, "padding");
    memcpy(bad, img, img_size);
    bad[300] ^= 1; /* metadata */
    s = src_over(bad, img_size);
    CHECK_STATUS(load_mem(&s, 0, 0, 0, &e), INGOT_ERR_CORRUPT, "metadata");
    memcpy(bad, img, img_size);
    bad[20] ^= 1; /* header */
    s = src_over(bad, img_size);
    CHECK_STATUS(load_mem(&s, 0, 0, 0, &e), INGOT_ERR_CORRUPT, "header");
    CHECK(e == NULL, "no engine");
    free(bad);
}

static void test_alloc_failures(void)
{
    for (int path = 0; path < 3; path++) {
        int done = 0;
        for (long n = 1; n < 500 && !done; n++) {
            ingot_engine *e = NULL;
            mem_src s = src_over(img, img_size);
            ingot_load_opts o;
            ingot_load_opts_init(&o);
            o.mode = path == 1 ? INGOT_LOAD_STREAM : INGOT_LOAD_MMAP;
            o.verify_checksums = 1;
            ing_alloc_fail_at(n);
            ingot_status st = path == 0 ? load_mem(&s, 0, 1, 4096, &e)
                                        : ingot_engine_load(tiny_path, &o, &e);
            ing_alloc_fail_at(0);
            if (st == INGOT_OK) {
                done = 1;
                CHECK(e != NULL, "engine on success");
            } else {
                CHECK(st == INGOT_ERR_NOMEM && e == NULL, "path %d alloc %ld: %s (%s)", path, n,
                      ingot_status_name(st), ingot_last_error());
            }
            ingot_engine_destroy(e);
        }
        CHECK(done, "path %d loads once allocations stop failing", path);
    }
}

/* The device hook: a fake "device" (host memory) receives the section through a 2-slot ring;
 * a slot is never refilled while its upload is pending. */
typedef struct fake_dev {
    uint8_t *mem;
    int pending[2];
    int violations, uploads, waits, finished;
} fake_dev;

static ingot_status fd_upload(void *user, uint64_t off, const void *src, size_t n, int slot)
{
    fake_dev *d = user;
    if (slot < 0 || slot > 1 || d->pending[slot]) d->violations++;
    memcpy(d->mem + off, src, n);
    d->pending[slot] = 1;
    d->uploads++;
    return INGOT_OK;
}

static ingot_status fd_wait(void *user, int slot)
{
    fake_dev *d = user;
    d->pending[slot] = 0;
    d->waits++;
    return INGOT_OK;
}

static ingot_status fd_finish(void *user)
{
    fake_dev *d = user;
    d->pending[0] = d->pending[1] = 0;
    d->finished++;
    return INGOT_OK;
}

static void test_device_hook(void)
{
    mem_src s = src_over(img, img_size);
    ingot_reader r = {.read = mem_read, .user = &s};
    engine_stream es;
    CHECK_STATUS(engine_stream_open(&es, &r, ENGINE_SIZE_UNKNOWN, 2, 1000), INGOT_OK, NULL);
    fake_dev d = {.mem = calloc(1, hdr.weights_size)};
    engine_stream_sink sink = {.upload = fd_upload, .wait = fd_wait, .finish = fd_finish,
                               .user = &d};
    CHECK_STATUS(engine_stream_weights(&es, &sink, 1), INGOT_OK, NULL);
    CHECK(!memcmp(d.mem, img + hdr.weights_offset, hdr.weights_size), "the device got the section");
    CHECK(d.violations == 0 && d.finished == 1, "ring discipline: %d violations", d.violations);
    CHECK(d.uploads == (int)((hdr.weights_size + 999) / 1000), "%d uploads of <= 1000 bytes",
          d.uploads);
    CHECK(es.peak_staging == 2000, "two 1000-byte staging buffers (%" PRIu64 ")", es.peak_staging);
    CHECK(s.max_asked <= 1000, "asked %zu", s.max_asked);
    engine_stream_close(&es);
    free(d.mem);
}

/* The read_device path of the weight loop: a fake device (host memory) written by the
 * reader's read_device, no staging, upload never called; with verify the loop uses read()
 * through the ring instead; a read_device error or an early end names the weight. */
static long dev_reads;

static int64_t mem_read_device(void *user, void *dev, size_t n, void *stream)
{
    dev_reads++;
    return stream == (void *)&dev_reads ? mem_read(user, dev, n) : -1; /* the sink's stream is passed on */
}

static void test_read_device(void)
{
    for (int verify = 0; verify < 2; verify++) {
        mem_src s = src_over(img, img_size);
        s.short_reads = 1;
        ingot_reader r = {.read = mem_read, .read_device = mem_read_device, .user = &s};
        engine_stream es;
        CHECK_STATUS(engine_stream_open(&es, &r, ENGINE_SIZE_UNKNOWN, 2, 1000), INGOT_OK, NULL);
        fake_dev d = {.mem = calloc(1, hdr.weights_size)};
        uint8_t *dev = calloc(1, hdr.weights_size);
        engine_stream_sink sink = {.upload = fd_upload, .wait = fd_wait, .finish = fd_finish, .user = &d,
                                   .device = dev, .stream = &dev_reads};
        dev_reads = 0;
        CHECK_STATUS(engine_stream_weights(&es, &sink, verify), INGOT_OK, NULL);
        const uint8_t *got = verify ? d.mem : dev;
        CHECK(!memcmp(got, img + hdr.weights_offset, hdr.weights_size), "verify %d: the section arrived", verify);
        CHECK(d.finished == 1, "verify %d: finish called once (%d)", verify, d.finished);
        if (!verify)
            CHECK(dev_reads > 0 && d.uploads == 0 && es.peak_staging == 0,
                  "read_device: %ld device reads, %d uploads, staging %" PRIu64, dev_reads, d.uploads,
                  es.peak_staging);
        else
            CHECK(dev_reads == 0 && d.uploads > 0, "verify: %ld device reads (want 0), %d uploads", dev_reads,
                  d.uploads);
        CHECK(s.max_asked <= 1000, "asked %zu", s.max_asked);
        engine_stream_close(&es);
        free(d.mem);
        free(dev);
    }
    /* failures: the device reader fails, the data ends inside a weight */
    for (int k = 0; k < 2; k++) {
        mem_src s = src_over(img, img_size);
        ingot_reader r = {.read = mem_read, .read_device = mem_read_device, .user = &s};
        engine_stream es;
        CHECK_STATUS(engine_stream_open(&es, &r, ENGINE_SIZE_UNKNOWN, 2, 1000), INGOT_OK, NULL);
        if (k == 0) s.fail_at = s.calls + 3;
        else s.limit = hdr.weights_offset + es.blobs[0].offset + es.blobs[0].bytes / 2;
        uint8_t *dev = calloc(1, hdr.weights_size);
        fake_dev d = {0};
        engine_stream_sink sink = {.finish = fd_finish, .user = &d, .device = dev, .stream = &dev_reads};
        CHECK_STATUS(engine_stream_weights(&es, &sink, 0), INGOT_ERR_IO, k == 0 ? "the reader failed" : "inside weight");
        CHECK(d.finished == 0, "finish is not called after a failure");
        engine_stream_close(&es);
        free(dev);
    }
}

/* ---- > 4 GiB --------------------------------------------------------------------------- */

static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    uint64_t kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

/* The last 4 KiB of the 5 GiB weight (past 4 GiB) hold the generator's bytes. */
static int tail_ok(const engine_plan *p, const ir_value *w, int32_t id)
{
    uint8_t want[4096];
    engine_synth_fill_ctx c = {p, 1};
    if (engine_synth_fill(&c, id, w->const_bytes - sizeof want, want, sizeof want) != INGOT_OK)
        return 0;
    return !memcmp((const uint8_t *)w->t.data + w->const_bytes - sizeof want, want, sizeof want);
}

static int test_large(const char *dir)
{
    char path[1024];
    struct statvfs vs;
    snprintf(path, sizeof path, "%s/blob-5g.engine", dir);
    /* Sparse: the file takes ~8 MiB of disk; ask for 64 MiB to be safe. */
    if (statvfs(dir, &vs) != 0 || (uint64_t)vs.f_bavail * vs.f_frsize < ((uint64_t)64 << 20)) {
        printf("SKIP: %s lacks 64 MiB of free space for a sparse 5 GiB engine\n", dir);
        return 77;
    }
    ingot_status st = engine_synth_write("blob-5g", path, 1);
    if (st == INGOT_ERR_IO) {
        printf("SKIP: cannot write a 5 GiB sparse file in %s: %s\n", dir, ingot_last_error());
        return 77;
    }
    CHECK_STATUS(st, INGOT_OK, NULL);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (uint64_t)sb.st_size > ((uint64_t)4 << 30), "over 4 GiB");

    ingot_load_opts o;
    ingot_load_opts_init(&o);
    o.mode = INGOT_LOAD_MMAP;
    ingot_engine *e = NULL;
    CHECK_STATUS(ingot_engine_load(path, &o, &e), INGOT_OK, NULL);
    if (e) {
        const ir_value *w = weight_of(e, "big");
        CHECK(w && w->const_bytes == ((uint64_t)5 << 30), "one 5 GiB weight");
        CHECK(w && tail_ok(e->plan, w, (int32_t)(w - e->plan->model->values)), "MMAP: tail bytes");
        ingot_engine_destroy(e);
        e = NULL;
    }
    /* STREAM holds the weights in host memory: 5 GiB. Without that much memory, stream the
     * file through the verifier (same reader loop, bounded memory) instead. */
    int fd_ok = 0;
    if (mem_available() > ((uint64_t)7 << 30)) {
        o.mode = INGOT_LOAD_STREAM; /* not verified: hashing 5 GiB again adds seconds, and
                                     * the stream verifier is covered by the small cases */
        CHECK_STATUS(ingot_engine_load(path, &o, &e), INGOT_OK, NULL);
        if (e) {
            const ir_value *w = weight_of(e, "big");
            CHECK(w && tail_ok(e->plan, w, (int32_t)(w - e->plan->model->values)),
                  "STREAM: tail bytes");
            ingot_load_stats ls;
            ingot_engine_get_load_stats(e, &ls);
            /* all but the padding before the weights (< 4096 bytes, skipped with seek) */
            CHECK(ls.bytes_read <= (uint64_t)sb.st_size &&
                  ls.bytes_read + ENGINE_WEIGHTS_ALIGN > (uint64_t)sb.st_size,
                  "STREAM read %" PRIu64 " bytes of %lld", ls.bytes_read, (long long)sb.st_size);
            printf("STREAM of %lld bytes: %.2f s, VmHWM +%.0f MiB\n", (long long)sb.st_size,
                   ls.seconds, ls.rss_hwm_delta / 1048576.0);
            ingot_engine_destroy(e);
        }
        fd_ok = 1;
    } else {
        printf("note: %.1f GiB of memory available, fewer than 7: STREAM-verifying instead of "
               "STREAM-loading\n", mem_available() / 1073741824.0);
    }
    if (!fd_ok) {
        FILE *f = fopen(path, "rb");
        int fd = f ? fileno(f) : -1;
        ingot_reader r = {.read = engine_fd_read, .user = &fd};
        engine_stream es;
        CHECK_STATUS(engine_stream_open(&es, &r, (uint64_t)sb.st_size, 1, (size_t)4 << 20),
                     INGOT_OK, NULL);
        engine_stream_sink drop = {0};
        CHECK_STATUS(engine_stream_weights(&es, &drop, 1), INGOT_OK, NULL);
        CHECK(es.pos == (uint64_t)sb.st_size, "streamed the whole file");
        engine_stream_close(&es);
        if (f) fclose(f);
    }
    unlink(path);
    DONE();
}

/* Path-based STREAM loads of a file whose weights are read by offset on several threads
 * (pieces of 2 MiB): checksums verified as the bytes pass, for several staging sizes; a file
 * cut inside a weight is refused before any weight is read. */
/* A reader with read_at over memory, called from several threads at once: counts its calls,
 * fails one (fail_at, 1-based), ends the data at limit, or returns too much (overshoot). */
typedef struct at_src {
    mem_src m;
    long at_calls; /* atomic */
    long fail_at;
    int overshoot;
} at_src;

static int64_t at_read(void *user, void *dst, size_t n) { return mem_read(&((at_src *)user)->m, dst, n); }
static int at_seek(void *user, uint64_t offset) { return mem_seek(&((at_src *)user)->m, offset); }

static int64_t at_read_at(void *user, void *dst, size_t n, uint64_t off)
{
    at_src *s = user;
    long call = __atomic_add_fetch(&s->at_calls, 1, __ATOMIC_SEQ_CST);
    if (s->fail_at && call == s->fail_at) return -1;
    uint64_t end = s->m.limit < s->m.size ? s->m.limit : s->m.size;
    uint64_t left = off < end ? end - off : 0;
    size_t k = n < left ? n : (size_t)left;
    memcpy(dst, s->m.p + off, k);
    return s->overshoot && k ? (int64_t)n + 1 : (int64_t)k;
}

/* Large pieces come through read_at on several threads when the reader has it and seek. */
static void test_read_at(const uint8_t *bytes, size_t size, const engine_header_v1 *h)
{
    for (int with_seek = 0; with_seek < 2; with_seek++) {
        at_src s = {.m = src_over(bytes, size)};
        ingot_reader r = {.read = at_read, .seek = with_seek ? at_seek : NULL, .read_at = at_read_at, .user = &s};
        ingot_load_opts o;
        ingot_load_opts_init(&o);
        o.verify_checksums = 1;
        ingot_engine *e = NULL;
        CHECK_STATUS(ingot_engine_load_stream(&r, &o, &e), INGOT_OK, NULL);
        if (with_seek)
            CHECK(s.at_calls >= 24 && s.m.pos == size, "read_at: %ld calls (64 MiB of weights in 2 MiB parts), the "
                  "sequential position at the end (%llu of %zu)", s.at_calls, (unsigned long long)s.m.pos, size);
        else
            CHECK(s.at_calls == 0, "read_at without seek is not used (%ld calls)", s.at_calls);
        ingot_engine_destroy(e);
    }
    /* a failing call, the data ending inside a weight, a call returning more than asked */
    for (int k = 0; k < 3; k++) {
        at_src s = {.m = src_over(bytes, size)};
        if (k == 0) s.fail_at = 5;
        if (k == 1) s.m.limit = h->weights_offset + ((uint64_t)20 << 20) + 77;
        if (k == 2) s.overshoot = 1;
        ingot_reader r = {.read = at_read, .seek = at_seek, .read_at = at_read_at, .user = &s};
        ingot_load_opts o;
        ingot_load_opts_init(&o);
        ingot_engine *e = NULL;
        ingot_status st = ingot_engine_load_stream(&r, &o, &e);
        const char *want = k == 0 ? "read_at failed" : k == 1 ? "truncated" : "more than asked";
        CHECK(st == INGOT_ERR_IO && e == NULL && check_mentions(ingot_last_error(), want),
              "read_at fault %d: %s (%s)", k, ingot_status_name(st), ingot_last_error());
        ingot_engine_destroy(e);
    }
}

static void test_parallel_reads(const char *dir)
{
    char path[512], cut[600];
    snprintf(path, sizeof path, "%s/64m.engine", dir);
    snprintf(cut, sizeof cut, "%s/64m-cut.engine", dir);
    CHECK_STATUS(engine_synth_write("64m", path, 0), INGOT_OK, NULL);
    size_t size = 0;
    uint8_t *bytes = read_file(path, &size);
    engine_header_v1 h;
    CHECK(bytes && engine_header_read(bytes, size, size, &h) == INGOT_OK, "64m engine");
    if (!bytes) return;
    const size_t stagings[] = {0, (size_t)4 << 20, ((size_t)5 << 20) + 4097, (size_t)64 << 20};
    for (size_t k = 0; k < sizeof stagings / sizeof stagings[0]; k++) {
        ingot_load_opts o;
        ingot_load_opts_init(&o);
        o.mode = INGOT_LOAD_STREAM;
        o.verify_checksums = 1;
        o.staging_bytes = stagings[k];
        ingot_engine *e = NULL;
        CHECK_STATUS(ingot_engine_load(path, &o, &e), INGOT_OK, NULL);
        ingot_load_stats ls;
        if (e && ingot_engine_get_load_stats(e, &ls) == INGOT_OK)
            CHECK(ls.bytes_read + 4096 >= size, "staging %zu: %llu of %zu bytes read", stagings[k],
                  (unsigned long long)ls.bytes_read, size);
        ingot_engine_destroy(e);
    }
    test_read_at(bytes, size, &h);
    /* cuts inside weights 0..3 (16 MiB each, 256-byte aligned from the section's start) */
    for (int w = 0; w < 4; w++) {
        uint64_t at = h.weights_offset + (uint64_t)w * ((uint64_t)16 << 20) + ((uint64_t)9 << 20) + 123;
        FILE *f = fopen(cut, "wb");
        CHECK(f && fwrite(bytes, 1, (size_t)at, f) == (size_t)at, "writing the cut file");
        if (f) fclose(f);
        ingot_load_opts o;
        ingot_load_opts_init(&o);
        o.mode = INGOT_LOAD_STREAM;
        ingot_engine *e = NULL;
        /* a file's size is known before any weight is read: the header check refuses it */
        ingot_status st = ingot_engine_load(cut, &o, &e);
        CHECK(st == INGOT_ERR_CORRUPT && e == NULL && check_mentions(ingot_last_error(), "weight section") &&
                  check_mentions(ingot_last_error(), "truncated"),
              "cut at %llu: %s (%s)", (unsigned long long)at, ingot_status_name(st), ingot_last_error());
    }
    free(bytes);
    unlink(cut);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--large")) return test_large(argv[2]);
    char dir[] = "/tmp/ingot_load_XXXXXX";
    if (!mkdtemp(dir)) {
        printf("cannot make a temporary folder\n");
        return 1;
    }
    snprintf(tiny_path, sizeof tiny_path, "%s/tiny.engine", dir);
    CHECK_STATUS(engine_synth_write("tiny", tiny_path, 0), INGOT_OK, NULL);
    img = read_file(tiny_path, &img_size);
    CHECK(img && engine_header_read(img, img_size, img_size, &hdr) == INGOT_OK, "tiny engine");
    if (img) {
        test_modes();
        test_short_reads();
        test_reader_errors();
        test_truncation();
        test_seek();
        test_corrupt();
        test_alloc_failures();
        test_device_hook();
        test_read_device();
        test_parallel_reads(dir);
    }
    free(img);
    unlink(tiny_path);
    rmdir(dir);
    DONE();
}
