/* Saving and loading engines: the public face of src/engine/. Loading comes in four modes
 * (READ, MMAP, STREAM, AUTO = MMAP; a backend that keeps weights on the device streams for MMAP
 * and AUTO) and records what it cost (ingot_engine_get_load_stats). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"
#include "engine/stream.h"
#include "runtime/runtime.h"

/* A streamed CUDA engine keeps large weights on the device only: nothing to write from. */
static ingot_status check_savable(const ingot_engine *e)
{
    const ir_model *m = e->plan->model;
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST && m->values[i].const_bytes && !m->values[i].t.data)
            return ingot_fail(INGOT_ERR_UNSUPPORTED, "saving an engine: weight '%s' (%zu bytes) is on the device "
                              "only (the engine was streamed to the GPU); save the file it was loaded from, or "
                              "load it with INGOT_LOAD_READ to save it", m->values[i].name, m->values[i].const_bytes);
    return INGOT_OK;
}

ingot_status ingot_engine_save(const ingot_engine *e, const char *path)
{
    if (!e || !path) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_save: engine and path must not be NULL");
    ING_TRY(check_savable(e));
    return engine_write_file(e->plan, path);
}

ingot_status ingot_engine_save_buffer(const ingot_engine *e, void **data, size_t *size)
{
    if (!e || !data || !size)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_save_buffer: engine, data and size must not be NULL");
    ING_TRY(check_savable(e));
    return engine_write_buffer(e->plan, data, size);
}

static ingot_status check_opts(const ingot_load_opts *opts, ingot_load_opts *o)
{
    ingot_load_opts_init(o);
    if (!opts) return INGOT_OK;
    if (opts->version == 0 || opts->version > INGOT_OPTS_VERSION)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "load options version %u, supported 1..%u", opts->version, INGOT_OPTS_VERSION);
    *o = *opts;
    if ((unsigned)o->mode >= INGOT_LOAD_MODE_COUNT)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "load mode %d, allowed 0..%d", o->mode, INGOT_LOAD_MODE_COUNT - 1);
    if (o->staging_count > 1024)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "load options: %zu staging buffers, allowed 0 (default %d)..1024",
                          o->staging_count, ENGINE_STAGING_COUNT_DEFAULT);
    if (o->staging_bytes > ((size_t)1 << 40))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "load options: staging buffers of %zu bytes, allowed 0 (default %zu)..2^40",
                          o->staging_bytes, ENGINE_STAGING_BYTES_DEFAULT);
    return INGOT_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The process's peak resident set (VmHWM), in bytes; 0 where /proc is absent. */
static uint64_t rss_hwm(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %" SCNu64 " kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

typedef struct load_clock {
    double t0;
    uint64_t hwm0;
} load_clock;

static load_clock clock_start(void) { return (load_clock){now_s(), rss_hwm()}; }

static void clock_stop(const load_clock *c, ingot_load_stats *s, ingot_load_mode mode, uint64_t bytes,
                       uint64_t staging)
{
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->bytes_read = bytes;
    s->seconds = now_s() - c->t0;
    s->throughput = s->seconds > 0 ? (double)bytes / s->seconds : 0;
    s->peak_staging_bytes = staging;
    s->rss_hwm_before = c->hwm0;
    s->rss_hwm_after = rss_hwm();
    s->rss_hwm_delta = s->rss_hwm_after > c->hwm0 ? s->rss_hwm_after - c->hwm0 : 0;
}

static void stats_device(ingot_engine *e)
{
    if (e->backend->engine_device_bytes) e->load_stats.device_bytes = e->backend->engine_device_bytes(e->backend_state);
}

/* A 4096-aligned block of `extra` bytes (the engine's own copy of weights or image). */
static uint8_t *block_new(uint64_t extra, const char *what)
{
    if (extra > SIZE_MAX - ENGINE_WEIGHTS_ALIGN) {
        ingot_fail(INGOT_ERR_NOMEM, "%s: %" PRIu64 " bytes do not fit in memory", what, extra);
        return NULL;
    }
    uint8_t *b = ing_malloc_aligned(extra ? (size_t)extra : 1, ENGINE_WEIGHTS_ALIGN);
    if (!b) {
        ingot_fail(INGOT_ERR_NOMEM, "out of memory for %s (%" PRIu64 " bytes)", what, extra);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    /* Gigabytes of weights are faulted in page by page as the reader fills them: huge pages
     * cut the faults 512-fold (advice only; ignored where transparent huge pages are off). */
    if (extra >= ((uint64_t)64 << 20)) {
        uintptr_t lo = ((uintptr_t)b + ((uintptr_t)2 << 20) - 1) & ~(((uintptr_t)2 << 20) - 1);
        uintptr_t hi = ((uintptr_t)b + (size_t)extra) & ~(((uintptr_t)2 << 20) - 1);
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
    return b;
}

/* Faulting in gigabytes of fresh pages costs about as much as copying the bytes into them
 * (zeroing each page first). A helper thread pre-faults the weights block ahead of the reader
 * with MADV_POPULATE_WRITE, which maps pages writable without changing what they hold, so it
 * may race the reader's writes safely; the faults then overlap the reads. Where the kernel
 * lacks it (before Linux 5.14) the thread stops at once and the reader faults as it goes. */
#define PREFAULT_MIN_BYTES ((uint64_t)256 << 20)
#define PREFAULT_STEP ((size_t)64 << 20)

typedef struct prefault {
    uint8_t *p; /* page-aligned */
    size_t n;
    int stop;   /* set by the loader, read by the helper (atomics) */
    int running;
    pthread_t th;
} prefault;

static void *prefault_main(void *arg)
{
#ifdef MADV_POPULATE_WRITE
    prefault *pf = arg;
    for (size_t off = 0; off < pf->n && !__atomic_load_n(&pf->stop, __ATOMIC_RELAXED);
         off += PREFAULT_STEP) {
        size_t k = pf->n - off < PREFAULT_STEP ? pf->n - off : PREFAULT_STEP;
        if (madvise(pf->p + off, k, MADV_POPULATE_WRITE) != 0) break;
    }
#else
    (void)arg;
#endif
    return NULL;
}

static void prefault_start(prefault *pf, uint8_t *p, uint64_t n)
{
    memset(pf, 0, sizeof *pf);
#ifdef MADV_POPULATE_WRITE
    if (n < PREFAULT_MIN_BYTES) return;
    pf->p = p;
    pf->n = (size_t)n & ~(size_t)(ENGINE_WEIGHTS_ALIGN - 1);
    pf->running = pthread_create(&pf->th, NULL, prefault_main, pf) == 0; /* optional help */
#else
    (void)p;
    (void)n;
#endif
}

static void prefault_stop(prefault *pf)
{
    if (!pf->running) return;
    __atomic_store_n(&pf->stop, 1, __ATOMIC_RELAXED);
    pthread_join(pf->th, NULL);
    pf->running = 0;
}

/* Plan from an image that stays alive as long as the engine (file or owned copy). */
static ingot_status from_image(const void *image, size_t size, const ingot_load_opts *o, ingot_engine **out)
{
    engine_plan *plan;
    ING_TRY(engine_read_image(image, size, o->verify_checksums, &plan));
    ingot_status st = engine_check_target(&plan->target);
    if (st == INGOT_OK) st = runtime_engine_from_plan(plan, out);
    if (st != INGOT_OK) engine_plan_destroy(plan);
    return st;
}

/* STREAM into host memory: the weight section into one host block that becomes the engine's
 * (constants point into it). On success the plan is the engine's. */
static ingot_status stream_to_host(engine_stream *s, const ingot_load_opts *o, ingot_engine **out)
{
    ingot_engine *e;
    uint8_t *block = block_new(s->h.weights_size, "the engine's weights");
    if (!block) return INGOT_ERR_NOMEM;
    ir_model *m = s->plan->model;
    /* The metadata decoder checked every blob lies inside the section. */
    for (int32_t k = 0; k < s->n_blobs; k++) m->values[s->blobs[k].value].t.data = block + s->blobs[k].offset;
    /* Empty constants are not in s->blobs: give them a valid address, as the image reader does. */
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST && !m->values[i].t.data) m->values[i].t.data = block;
    engine_stream_sink sink = {.host = block};
    prefault pf;
    prefault_start(&pf, block, s->h.weights_size);
    ingot_status st = engine_stream_weights(s, &sink, o->verify_checksums);
    prefault_stop(&pf);
    if (st == INGOT_OK) st = runtime_engine_from_plan(s->plan, &e);
    if (st != INGOT_OK) {
        ing_free_aligned(block);
        return st;
    }
    e->image = block;
    *out = e;
    return INGOT_OK;
}

/* STREAM to a backend that keeps weights on the device: it reads the section itself. */
static ingot_status stream_to_device(engine_stream *s, const ing_backend *b, const ingot_load_opts *o,
                                     ingot_engine **out)
{
    void *state = NULL;
    ING_TRY(b->engine_create_stream(s, o->verify_checksums, &state));
    ingot_status st = runtime_engine_adopt(s->plan, state, out);
    if (st != INGOT_OK) b->engine_destroy(state);
    return st;
}

/* STREAM: header and metadata, then the weight section, in bounded host memory.
 * file_size: known for files, else ENGINE_SIZE_UNKNOWN. pread_fd: the reader's regular file
 * (large reads then go by offset on several threads), else -1. */
static ingot_status load_stream(const ingot_reader *r, const ingot_load_opts *o, uint64_t file_size, int pread_fd,
                                ingot_engine **out)
{
    load_clock c = clock_start();
    engine_stream s;
    ingot_engine *e = NULL;
    ingot_status st = engine_stream_open(&s, r, file_size, o->staging_count, o->staging_bytes);
    if (st != INGOT_OK) return st;
    s.pread_fd = pread_fd;
    if ((st = engine_check_target(&s.plan->target)) == INGOT_OK) {
        const ing_backend *b = ing_backend_get(s.plan->target.backend);
        st = b && b->engine_create_stream ? stream_to_device(&s, b, o, &e) : stream_to_host(&s, o, &e);
    }
    if (st != INGOT_OK) {
        engine_stream_close(&s);
        return st;
    }
    s.plan = NULL; /* the engine's now */
    clock_stop(&c, &e->load_stats, INGOT_LOAD_STREAM, s.pos - s.skipped, s.peak_staging);
    stats_device(e);
    engine_stream_close(&s);
    *out = e;
    return INGOT_OK;
}

ingot_status ingot_engine_load_stream(const ingot_reader *r, const ingot_load_opts *opts, ingot_engine **out)
{
    if (!r || !r->read || !out)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_load_stream: reader, its read callback and out must not be NULL");
    ingot_load_opts o;
    ING_TRY(check_opts(opts, &o));
    return load_stream(r, &o, ENGINE_SIZE_UNKNOWN, -1, out);
}

/* STREAM from a path: the file through read(2), its size known up front. */
static ingot_status load_stream_path(const char *path, const ingot_load_opts *o, ingot_engine **out)
{
    struct stat sb;
    ingot_status st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ingot_fail(INGOT_ERR_IO, "cannot open engine '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || sb.st_size < 0) {
        st = ingot_fail(INGOT_ERR_IO, "cannot stat engine '%s': %s", path, strerror(errno));
    } else {
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* read-ahead: a hint, failure is fine */
#endif
        ingot_reader r = {.read = engine_fd_read, .seek = engine_fd_seek, .user = &fd};
        int regular = S_ISREG(sb.st_mode);
        st = load_stream(&r, o, regular ? (uint64_t)sb.st_size : ENGINE_SIZE_UNKNOWN, regular ? fd : -1, out);
    }
    close(fd);
    return st;
}

/* Does the file hold an engine for a backend that streams its weights to the device? Mapping
 * such a file buys nothing (the bytes are copied to the device anyway) and would make every
 * page of it resident, so MMAP and AUTO stream it instead. Unreadable or foreign files answer
 * no and fail later with the mapping's own message. */
static int streams_to_device(const char *path)
{
    uint8_t h[ENGINE_HEADER_SIZE];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t got = pread(fd, h, sizeof h, 0);
    close(fd);
    int32_t backend;
    if (got < (ssize_t)offsetof(engine_header_v1, backend) + 4 || memcmp(h, ENGINE_MAGIC, ENGINE_MAGIC_LEN) != 0)
        return 0;
    memcpy(&backend, h + offsetof(engine_header_v1, backend), sizeof backend); /* little-endian file, host */
    const ing_backend *b = ing_backend_get(backend);
    return b && b->engine_create_stream;
}

ingot_status ingot_engine_load(const char *path, const ingot_load_opts *opts, ingot_engine **out)
{
    if (!path || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_load: path and out must not be NULL");
    ingot_load_opts o;
    ING_TRY(check_opts(opts, &o));
    if (o.mode == INGOT_LOAD_STREAM ||
        ((o.mode == INGOT_LOAD_MMAP || o.mode == INGOT_LOAD_AUTO) && streams_to_device(path))) {
        ingot_status st = load_stream_path(path, &o, out);
        return st == INGOT_OK ? st : ingot_fail_prefix(st, "loading '%s'", path);
    }
    ingot_load_mode mode = o.mode == INGOT_LOAD_AUTO ? INGOT_LOAD_MMAP : o.mode;
    load_clock c = clock_start();
    engine_file f;
    ingot_status st = engine_file_open(path, mode, &f);
    if (st != INGOT_OK) return st;
    ingot_engine *e;
    st = from_image(f.data, f.size, &o, &e);
    if (st != INGOT_OK) {
        engine_file_close(&f);
        return ingot_fail_prefix(st, "loading '%s'", path);
    }
    e->file = f;
    clock_stop(&c, &e->load_stats, mode, f.mapped ? 0 : (uint64_t)f.size, 0);
    stats_device(e);
    *out = e;
    return INGOT_OK;
}

ingot_status ingot_engine_load_buffer(const void *data, size_t size, const ingot_load_opts *opts, ingot_engine **out)
{
    if (!data || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_load_buffer: data and out must not be NULL");
    ingot_load_opts o;
    ING_TRY(check_opts(opts, &o));
    load_clock c = clock_start();
    uint8_t *block = block_new(size, "copying the engine"); /* constants are used in place */
    if (!block) return INGOT_ERR_NOMEM;
    memcpy(block, data, size);
    ingot_engine *e;
    ingot_status st = from_image(block, size, &o, &e);
    if (st != INGOT_OK) {
        ing_free_aligned(block);
        return st;
    }
    e->image = block;
    clock_stop(&c, &e->load_stats, INGOT_LOAD_READ, size, 0);
    stats_device(e);
    *out = e;
    return INGOT_OK;
}

ingot_status ingot_engine_get_load_stats(const ingot_engine *e, ingot_load_stats *stats)
{
    if (!e || !stats)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_get_load_stats: engine and stats must not be NULL");
    *stats = e->load_stats;
    return INGOT_OK;
}
