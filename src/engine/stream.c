/* The stream loader's core: an engine read front to back through an ingot_reader, never more
 * than one staging buffer per read call, the header and metadata decoded with the image
 * reader's checks, then the weight section walked piece by piece into a sink (host memory, a
 * device upload hook, or nowhere) with each blob's checksum computed as its bytes pass. */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no allocation per blob */
#include "engine/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#include <xxhash.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/alloc.h"
#include "core/status.h"

/* Where byte `pos` of the file lies, for messages: "inside weight 'w' [off, +n)" … */
static void where(const engine_stream *s, uint64_t pos, char *buf, size_t cap)
{
    const engine_header_v1 *h = &s->h;
    if (!h->header_size || pos < ENGINE_HEADER_SIZE) {
        snprintf(buf, cap, "in the header");
        return;
    }
    if (pos < h->metadata_offset + h->metadata_size) {
        snprintf(buf, cap, "in the metadata [%" PRIu64 ", +%" PRIu64 ")", h->metadata_offset,
                 h->metadata_size);
        return;
    }
    if (pos < h->weights_offset) {
        snprintf(buf, cap, "in the padding before the weight section (at %" PRIu64 ")",
                 h->weights_offset);
        return;
    }
    uint64_t w = pos - h->weights_offset;
    for (int32_t k = 0; s->plan && k < s->n_blobs; k++) {
        const engine_blob *b = &s->blobs[k];
        if (w >= b->offset && w - b->offset < b->bytes) {
            snprintf(buf, cap, "inside weight '%.100s' (value %d, weight section [%" PRIu64
                     ", +%" PRIu64 "))", s->plan->model->values[b->value].name, b->value,
                     b->offset, b->bytes);
            return;
        }
    }
    snprintf(buf, cap, "in the weight section's padding (section offset %" PRIu64 ")", w);
}

/* The data ended at s->pos: the engine is cut short; say where. */
static ingot_status ended(const engine_stream *s)
{
    char at[256];
    where(s, s->pos, at, sizeof at);
    uint64_t want = s->h.header_size ? s->h.file_size : ENGINE_HEADER_SIZE;
    return ingot_fail(INGOT_ERR_IO, "engine stream: the data ended at byte %" PRIu64 ", %s; the engine has %" PRIu64
                      " bytes, so it is truncated", s->pos, at, want);
}

/* Exactly n bytes (n <= staging_bytes) from the reader into dst, however the reader splits
 * them. The end of the data or an error here is an engine cut short: say where. */
static ingot_status read_into(engine_stream *s, void *dst, size_t n, int device, void *stream)
{
    uint8_t *d = dst;
    size_t done = 0;
    char at[256];
    while (done < n) {
        errno = 0; /* a reader over a file leaves the cause here; others leave it 0 */
        int64_t got = device ? s->r->read_device(s->r->user, d + done, n - done, stream)
                             : s->r->read(s->r->user, d + done, n - done);
        if (got < 0 || (uint64_t)got > n - done) {
            int err = errno;
            where(s, s->pos, at, sizeof at);
            if (got < 0)
                return ingot_fail(INGOT_ERR_IO, "engine stream: the reader failed (returned %"
                                  PRId64 "%s%s) at byte %" PRIu64 ", %s", got,
                                  err ? ": " : "", err ? strerror(err) : "", s->pos, at);
            return ingot_fail(INGOT_ERR_IO, "engine stream: the reader returned %" PRId64
                              " bytes when asked for %zu, at byte %" PRIu64 ", %s", got,
                              n - done, s->pos, at);
        }
        if (got == 0) return ended(s);
        done += (size_t)got;
        s->pos += (uint64_t)got;
    }
    return INGOT_OK;
}

/* Large pieces of a regular file (s->pread_fd), or of a reader with read_at and seek, are read
 * by offset on several threads: one thread copying out of the page cache moves about 7 GB/s,
 * below what a PCIe upload takes (H100 machine, 2026-12-06). */
#define PREAD_MIN ((size_t)4 << 20)  /* pieces at least this large */
#define PREAD_PART ((size_t)2 << 20) /* bytes one pread(2) or read_at call asks for */
#define PREAD_THREADS 8

static int64_t read_at_offset(const engine_stream *s, void *dst, size_t n, uint64_t off)
{
    if (s->pread_fd < 0) return s->r->read_at(s->r->user, dst, n, off);
    ssize_t got;
    do {
        got = pread(s->pread_fd, dst, n, (off_t)off);
    } while (got < 0 && errno == EINTR);
    return got < 0 ? -1 : (int64_t)got;
}

/* Exactly n bytes at s->pos in PREAD_PART parts on up to PREAD_THREADS threads; then the
 * sequential position moves past them (lseek, or the reader's seek), so sequential reads go on
 * from there. A short read or an error is reported at the lowest failing byte, as read_into
 * does. */
static ingot_status read_by_offset(engine_stream *s, uint8_t *dst, size_t n)
{
    const uint64_t base = s->pos;
    const int64_t parts = (int64_t)((n + PREAD_PART - 1) / PREAD_PART);
    uint64_t bad_at = UINT64_MAX; /* offset of the first byte not read */
    int bad_errno = 0, bad_count = 0;
    int64_t bad_got = 0;
    int threads = parts < PREAD_THREADS ? (int)parts : PREAD_THREADS;
#ifdef _OPENMP
    if (omp_get_num_procs() < threads) threads = omp_get_num_procs();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
#endif
    for (int64_t i = 0; i < parts; i++) {
        size_t off = (size_t)i * PREAD_PART, len = n - off < PREAD_PART ? n - off : PREAD_PART, done = 0;
        while (done < len) {
            errno = 0;
            int64_t got = read_at_offset(s, dst + off + done, len - done, base + off + done);
            if (got <= 0 || (uint64_t)got > len - done) {
                int e = got < 0 ? errno : 0;
#ifdef _OPENMP
#pragma omp critical(ingot_pread_fail)
#endif
                if (base + off + done < bad_at) {
                    bad_at = base + off + done;
                    bad_errno = e;
                    bad_got = got;
                    bad_count = got > 0; /* returned more than asked for */
                }
                break;
            }
            done += (size_t)got;
        }
    }
    (void)threads;
    char at[256];
    if (bad_at != UINT64_MAX) {
        s->pos = bad_at;
        where(s, s->pos, at, sizeof at);
        if (bad_count)
            return ingot_fail(INGOT_ERR_IO, "engine stream: the reader's read_at returned %" PRId64
                              " bytes, more than asked for, at byte %" PRIu64 ", %s", bad_got, s->pos, at);
        if (bad_got == 0) return ended(s);
        if (s->pread_fd < 0)
            return ingot_fail(INGOT_ERR_IO, "engine stream: the reader's read_at failed (returned %" PRId64
                              "%s%s) at byte %" PRIu64 ", %s", bad_got, bad_errno ? ": " : "",
                              bad_errno ? strerror(bad_errno) : "", s->pos, at);
        return ingot_fail(INGOT_ERR_IO, "engine stream: reading the file failed (%s) at byte %" PRIu64 ", %s",
                          strerror(bad_errno), s->pos, at);
    }
    s->pos = base + n;
    int moved = s->pread_fd >= 0 ? lseek(s->pread_fd, (off_t)s->pos, SEEK_SET) == (off_t)s->pos
                                 : s->r->seek(s->r->user, s->pos) == 0;
    if (!moved) {
        where(s, s->pos, at, sizeof at);
        return ingot_fail(INGOT_ERR_IO, "engine stream: moving the read position to byte %" PRIu64 " failed (%s), %s",
                          s->pos, s->pread_fd >= 0 ? strerror(errno) : "the reader's seek returned non-zero", at);
    }
    return INGOT_OK;
}

static ingot_status read_full(engine_stream *s, void *dst, size_t n)
{
    int by_offset = s->pread_fd >= 0 || (s->r->read_at && s->r->seek);
    if (by_offset && n >= PREAD_MIN) return read_by_offset(s, dst, n);
    return read_into(s, dst, n, 0, NULL);
}

/* Read and drop n bytes through buf (cap bytes), checking they are zero when check is set. */
static ingot_status skip(engine_stream *s, uint64_t n, uint8_t *buf, size_t cap, int check)
{
    while (n > 0) {
        size_t k = n < cap ? (size_t)n : cap;
        uint64_t at = s->pos;
        ING_TRY(read_full(s, buf, k));
        if (check)
            for (size_t i = 0; i < k; i++)
                if (buf[i]) {
                    char w[256];
                    where(s, at + i, w, sizeof w);
                    return ingot_fail(INGOT_ERR_CORRUPT, "padding byte at file offset %" PRIu64
                                      " (%s) is 0x%02x, padding must be zero", at + i, w, buf[i]);
                }
        n -= k;
    }
    return INGOT_OK;
}

static int blob_offset_cmp(const void *a, const void *b)
{
    const engine_blob *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

ingot_status engine_stream_open(engine_stream *s, const ingot_reader *r, uint64_t file_size,
                                size_t staging_count, size_t staging_bytes)
{
    ingot_status st;
    uint8_t hdr[ENGINE_HEADER_SIZE];
    uint8_t *meta = NULL;
    engine_blob *blobs = NULL;
    int32_t n_blobs = 0;
    if (!s || !r || !r->read)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine stream: the reader and its read "
                          "callback must not be NULL");
    memset(s, 0, sizeof *s);
    s->r = r;
    s->pread_fd = -1;
    s->file_size = file_size;
    s->staging_count = staging_count ? staging_count : ENGINE_STAGING_COUNT_DEFAULT;
    s->staging_bytes = staging_bytes ? staging_bytes : ENGINE_STAGING_BYTES_DEFAULT;
    if (s->staging_count > 1024 || s->staging_bytes > ((size_t)1 << 40)) {
        st = ingot_fail(INGOT_ERR_INVALID_ARG, "engine stream: %zu staging buffers of %zu bytes; "
                        "allowed 1..1024 buffers of 1 byte..1 TiB", s->staging_count,
                        s->staging_bytes);
        goto fail;
    }

    /* Header: 256 bytes, or the whole stream when it is shorter (the header check then says
     * what is missing: magic, version or the rest). */
    size_t got = 0;
    while (got < sizeof hdr) {
        size_t k = sizeof hdr - got < s->staging_bytes ? sizeof hdr - got : s->staging_bytes;
        errno = 0;
        int64_t n = r->read(r->user, hdr + got, k);
        if (n < 0 || (uint64_t)n > k) {
            int err = errno;
            st = ingot_fail(INGOT_ERR_IO, "engine stream: the reader failed (returned %" PRId64
                            "%s%s) at byte %zu, in the header", n, err ? ": " : "",
                            err ? strerror(err) : "", got);
            goto fail;
        }
        if (n == 0) break;
        got += (size_t)n;
        s->pos += (uint64_t)n;
    }
    /* A stream of unknown length that ended inside the header: its length is now known. */
    uint64_t size_known = file_size;
    if (size_known == ENGINE_SIZE_UNKNOWN && got < sizeof hdr) size_known = got;
    if ((st = engine_header_read(hdr, got, size_known, &s->h)) != INGOT_OK) goto fail;

    /* Metadata, read in staging-sized calls into one buffer (the decoder needs it whole). */
    const engine_header_v1 *h = &s->h;
    if (h->metadata_size > SIZE_MAX - 1) {
        st = ingot_fail(INGOT_ERR_NOMEM, "engine metadata of %" PRIu64 " bytes does not fit in "
                        "memory", h->metadata_size);
        goto fail;
    }
    if (!(meta = ing_malloc(h->metadata_size ? (size_t)h->metadata_size : 1))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for the engine metadata (%" PRIu64
                        " bytes)", h->metadata_size);
        goto fail;
    }
    for (uint64_t done = 0; done < h->metadata_size;) {
        uint64_t k = h->metadata_size - done;
        if (k > s->staging_bytes) k = s->staging_bytes;
        if ((st = read_full(s, meta + done, (size_t)k)) != INGOT_OK) goto fail;
        done += k;
    }
    s->metadata_bytes = h->metadata_size;
    if ((st = engine_read_metadata(h, meta, &s->plan, &blobs, &n_blobs)) != INGOT_OK) goto fail;
    ing_free(meta);
    meta = NULL;

    /* The walk goes by file offset; empty blobs have no bytes to walk, so they are checked
     * here (their stored checksum must be that of no bytes) and dropped from the table. */
    int32_t kept = 0;
    const uint64_t empty_hash = XXH3_64bits("", 0);
    for (int32_t k = 0; k < n_blobs; k++) {
        if (blobs[k].bytes) {
            blobs[kept++] = blobs[k];
        } else if (blobs[k].hash != empty_hash) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "weight '%.120s' (value %d): checksum 0x%016"
                            PRIx64 " does not match the stored 0x%016" PRIx64 "; the weight "
                            "section is corrupt", s->plan->model->values[blobs[k].value].name,
                            blobs[k].value, empty_hash, blobs[k].hash);
            goto fail;
        }
    }
    qsort(blobs, (size_t)kept, sizeof *blobs, blob_offset_cmp);
    s->blobs = blobs;
    s->n_blobs = kept;
    return INGOT_OK;
fail:
    ing_free(meta);
    ing_free(blobs);
    engine_plan_destroy(s->plan);
    memset(s, 0, sizeof *s);
    return st;
}

/* Checks one piece [p, p + n) of the weight section as it passes: blob bytes feed the blob's
 * running hash (finished and compared at the blob's last byte), bytes between blobs must be
 * zero. *k is the next blob, hs its running state. */
static ingot_status verify_piece(engine_stream *s, const uint8_t *d, uint64_t p, size_t n,
                                 int32_t *k, XXH3_state_t *hs)
{
    uint64_t cur = p, end = p + n;
    while (cur < end) {
        const engine_blob *b = *k < s->n_blobs ? &s->blobs[*k] : NULL;
        if (b && cur >= b->offset) {
            if (cur == b->offset) XXH3_64bits_reset(hs);
            uint64_t bend = b->offset + b->bytes, upto = bend < end ? bend : end;
            XXH3_64bits_update(hs, d + (cur - p), (size_t)(upto - cur));
            cur = upto;
            if (cur == bend) {
                uint64_t got = XXH3_64bits_digest(hs);
                if (got != b->hash)
                    return ingot_fail(INGOT_ERR_CORRUPT, "weight '%.120s' (value %d): checksum "
                                      "0x%016" PRIx64 " does not match the stored 0x%016" PRIx64
                                      "; the weight section is corrupt",
                                      s->plan->model->values[b->value].name, b->value, got,
                                      b->hash);
                (*k)++;
            }
            continue;
        }
        uint64_t upto = b && b->offset < end ? b->offset : end;
        for (uint64_t i = cur; i < upto; i++)
            if (d[i - p]) {
                char w[256];
                where(s, s->h.weights_offset + i, w, sizeof w);
                return ingot_fail(INGOT_ERR_CORRUPT, "weight section: padding byte at offset %"
                                  PRIu64 " (%s) is 0x%02x, padding must be zero; the weight "
                                  "section is corrupt", i, w, d[i - p]);
            }
        cur = upto;
    }
    return INGOT_OK;
}

ingot_status engine_stream_weights(engine_stream *s, const engine_stream_sink *sink, int verify)
{
    ingot_status st = INGOT_OK;
    const engine_header_v1 *h = &s->h;
    uint8_t pad[ENGINE_WEIGHTS_ALIGN];
    void **own = NULL;   /* staging buffers this loop allocated (sink gave none) */
    int *busy = NULL;    /* slot holds a piece whose upload may still be running */
    XXH3_state_t hs;
    int32_t k = 0;
    if (!s->plan || !sink)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_stream_weights: the stream is not open");

    /* The zero padding between the metadata and the weight section (< 4096 bytes). */
    uint64_t pad_bytes = h->weights_offset - s->pos;
    if (s->pos > h->weights_offset) pad_bytes = 0; /* unreachable after engine_stream_open */
    if (pad_bytes && !verify && s->r->seek) {
        if (s->r->seek(s->r->user, h->weights_offset) != 0)
            return ingot_fail(INGOT_ERR_IO, "engine stream: seeking from byte %" PRIu64 " to the "
                              "weight section at %" PRIu64 " failed (the reader's seek returned "
                              "non-zero)", s->pos, h->weights_offset);
        s->skipped += h->weights_offset - s->pos;
        s->pos = h->weights_offset;
    } else {
        ING_TRY(skip(s, pad_bytes, pad, sizeof pad < s->staging_bytes ? sizeof pad : s->staging_bytes, 1));
    }

    if (sink->device && s->r->read_device && !verify) {
        /* Straight to the device: the reader orders its writes on the sink's stream, one
         * staging_bytes piece per call at most, and no host buffer is involved. */
        for (uint64_t p = 0; p < h->weights_size;) {
            uint64_t left = h->weights_size - p;
            size_t n = left < s->staging_bytes ? (size_t)left : s->staging_bytes;
            ING_TRY(read_into(s, (uint8_t *)sink->device + p, n, 1, sink->stream));
            p += n;
        }
        return sink->finish ? sink->finish(sink->user) : INGOT_OK;
    }
    if (!sink->host) {
        busy = ing_calloc(s->staging_count, sizeof *busy);
        if (!sink->staging) own = ing_calloc(s->staging_count, sizeof *own);
        if (!busy || (!sink->staging && !own)) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %zu staging slots",
                            s->staging_count);
            goto done;
        }
        if (sink->staging) s->peak_staging = (uint64_t)s->staging_count * s->staging_bytes;
    }

    /* The ring: piece i goes to slot i % count. A device sink's upload of slot j runs while
     * the reader fills the next slots; wait(j) before j is refilled keeps at most `count`
     * pieces in flight. This is the one place a CUDA pinned-ring loader plugs in. */
    size_t slot = 0;
    for (uint64_t p = 0; p < h->weights_size;) {
        uint64_t left = h->weights_size - p;
        size_t n = left < s->staging_bytes ? (size_t)left : s->staging_bytes;
        uint8_t *dst;
        if (sink->host) {
            dst = sink->host + p;
        } else {
            if (busy[slot] && sink->wait && (st = sink->wait(sink->user, (int)slot)) != INGOT_OK)
                goto done;
            busy[slot] = 0;
            if (sink->staging) {
                dst = sink->staging[slot];
            } else {
                if (!own[slot]) {
                    if (!(own[slot] = ing_malloc_aligned(s->staging_bytes, ENGINE_WEIGHTS_ALIGN))) {
                        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for a %zu-byte staging "
                                        "buffer", s->staging_bytes);
                        goto done;
                    }
                    s->peak_staging += s->staging_bytes;
                }
                dst = own[slot];
            }
        }
        if ((st = read_full(s, dst, n)) != INGOT_OK) goto done;
        if (verify && (st = verify_piece(s, dst, p, n, &k, &hs)) != INGOT_OK) goto done;
        if (!sink->host && sink->upload) {
            if ((st = sink->upload(sink->user, p, dst, n, (int)slot)) != INGOT_OK) goto done;
            busy[slot] = 1;
        }
        if (!sink->host) slot = (slot + 1) % s->staging_count;
        p += n;
    }
    if (!sink->host && sink->finish) st = sink->finish(sink->user);
done:
    if (st != INGOT_OK && busy && sink->wait) /* nothing may still read a buffer freed below */
        for (size_t i = 0; i < s->staging_count; i++)
            if (busy[i]) sink->wait(sink->user, (int)i);
    if (own)
        for (size_t i = 0; i < s->staging_count; i++) ing_free_aligned(own[i]);
    ing_free(own);
    ing_free(busy);
    return st;
}

void engine_stream_close(engine_stream *s)
{
    if (!s) return;
    engine_plan_destroy(s->plan);
    ing_free(s->blobs);
    memset(s, 0, sizeof *s);
}

int64_t engine_fd_read(void *user, void *dst, size_t n)
{
    int fd = *(const int *)user;
    for (;;) {
        ssize_t got = read(fd, dst, n);
        if (got < 0 && errno == EINTR) continue;
        return got < 0 ? -1 : (int64_t)got;
    }
}

int engine_fd_seek(void *user, uint64_t offset)
{
    int fd = *(const int *)user;
    if (offset > (uint64_t)INT64_MAX) return -1;
    return lseek(fd, (off_t)offset, SEEK_SET) == (off_t)offset ? 0 : -1;
}
