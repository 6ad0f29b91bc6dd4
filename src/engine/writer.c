/* Engine writer: lay out an engine_plan as header + metadata + weight section (format.h) and
 * emit it into memory or into PATH.tmp, renamed to PATH once complete. Constants' bytes are
 * copied from the plan straight to the output, never staged in a second buffer. */
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack for the streaming writer */
#include "engine/engine_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/status.h"
#include "engine/stream.h"

/* A growing byte buffer for the metadata; the first failure sticks and is reported once. */
typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;      /* an allocation failed */
    int too_long; /* a string longer than a u32 length can say */
} wbuf;

static void put(wbuf *b, const void *src, size_t k)
{
    if (b->oom || k == 0) return;
    if (k > b->cap - b->n) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc - b->n < k) {
            if (nc > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            nc *= 2;
        }
        uint8_t *q = ing_realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, src, k);
    b->n += k;
}

#define PUT(b, type, v)                                                                            \
    do {                                                                                           \
        type put_v_ = (type)(v);                                                                   \
        put((b), &put_v_, sizeof put_v_);                                                          \
    } while (0)

static void put_strn(wbuf *b, const char *s, size_t len)
{
    if (len >= ENGINE_STR_NULL) {
        b->too_long = 1;
        return;
    }
    PUT(b, uint32_t, len);
    put(b, s, len);
}

static void put_str(wbuf *b, const char *s) { put_strn(b, s ? s : "", s ? strlen(s) : 0); }

static void put_value(wbuf *b, const ir_value *v, const engine_blob_ref *ref)
{
    int32_t rank = v->t.rank > 0 ? v->t.rank : 0;
    uint8_t mask = 0;
    for (int32_t d = 0; d < rank; d++)
        if (v->dim_params[d]) mask |= (uint8_t)(1u << d);
    put_str(b, v->name);
    PUT(b, uint8_t, v->kind);
    PUT(b, uint8_t, mask);
    PUT(b, uint16_t, 0);
    PUT(b, int32_t, v->t.dtype);
    PUT(b, int32_t, v->t.rank);
    put(b, v->t.dims, (size_t)rank * sizeof(int64_t));
    for (int32_t d = 0; d < rank; d++)
        if (v->dim_params[d]) put_str(b, v->dim_params[d]);
    PUT(b, int32_t, v->producer);
    if (v->kind == IR_VALUE_CONST) {
        PUT(b, uint64_t, ref->offset);
        PUT(b, uint64_t, ref->bytes);
        PUT(b, uint64_t, ref->hash);
    }
}

static void put_attr(wbuf *b, const ir_attr *a)
{
    put_str(b, a->name);
    PUT(b, uint32_t, a->type);
    switch (a->type) {
    case IR_ATTR_FLOAT: put(b, &a->f, sizeof a->f); break;
    case IR_ATTR_INT: PUT(b, int64_t, a->i); break;
    case IR_ATTR_GRAPH: PUT(b, int32_t, a->body); break;
    case IR_ATTR_STRING: put_strn(b, a->s ? a->s : "", a->s ? a->s_len : 0); break;
    case IR_ATTR_FLOATS:
        PUT(b, uint32_t, a->n);
        put(b, a->floats, a->n * sizeof(float));
        break;
    case IR_ATTR_INTS:
        PUT(b, uint32_t, a->n);
        put(b, a->ints, a->n * sizeof(int64_t));
        break;
    case IR_ATTR_STRINGS:
        PUT(b, uint32_t, a->n);
        for (size_t k = 0; k < a->n; k++) put_str(b, a->strings[k]);
        break;
    case IR_ATTR_TENSOR:
        PUT(b, int32_t, a->t.dtype);
        PUT(b, int32_t, a->t.rank);
        put(b, a->t.dims, (size_t)a->t.rank * sizeof(int64_t));
        PUT(b, uint64_t, a->t_bytes);
        put(b, a->t.data, a->t_bytes);
        break;
    default: break; /* rejected by engine_plan_validate */
    }
}

static void put_ids(wbuf *b, const int32_t *ids, int32_t n)
{
    PUT(b, uint32_t, n);
    put(b, ids, (size_t)n * sizeof(int32_t));
}

/* The whole file but the weight bytes: header, metadata, and where each blob goes. */
typedef struct layout {
    engine_header_v1 h;
    wbuf meta;
    engine_blob_ref *refs; /* per value; meaningful for constants */
} layout;

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* hashes: per value, the blobs' checksums when the caller brings them (the streaming writer,
 * whose constants have no bytes yet); NULL: hash the constants' data. */
static ingot_status make_layout(const engine_plan *p, layout *L, const uint64_t *hashes)
{
    const ir_model *m = p->model;
    uint64_t cur = 0;
    memset(L, 0, sizeof *L);
    ingot_status st = hashes ? engine_plan_validate_layout(p, INGOT_ERR_INVALID_ARG)
                             : engine_plan_validate(p, INGOT_ERR_INVALID_ARG);
    if (st != INGOT_OK) return ingot_fail_prefix(st, "cannot write engine");
    L->refs = ing_calloc(m->n_values ? (size_t)m->n_values : 1, sizeof *L->refs);
    if (!L->refs) return ingot_fail(INGOT_ERR_NOMEM, "out of memory laying out %d values",
                                    m->n_values);
    for (int32_t i = 0; i < m->n_values; i++) {
        const ir_value *v = &m->values[i];
        if (v->kind != IR_VALUE_CONST) continue;
        uint64_t off = align_up(cur, ENGINE_BLOB_ALIGN);
        if (off < cur || (uint64_t)v->const_bytes > UINT64_MAX - off)
            return ingot_fail(INGOT_ERR_INVALID_ARG, "cannot write engine: the weights pass 2^64 "
                              "bytes at constant '%s'", v->name);
        L->refs[i].offset = off;
        L->refs[i].bytes = v->const_bytes;
        L->refs[i].hash = hashes ? hashes[i]
                                 : XXH3_64bits(v->const_bytes ? v->t.data : "", v->const_bytes);
        cur = off + v->const_bytes;
    }

    wbuf *b = &L->meta;
    engine_meta_prefix pre = {
        .n_values = (uint32_t)m->n_values,
        .n_nodes = (uint32_t)m->n_nodes,
        .n_bodies = (uint32_t)m->n_bodies,
        .flags = (p->steps ? ENGINE_META_HAS_STEPS : 0u) |
                 (p->arena_offset ? ENGINE_META_HAS_ARENA : 0u) |
                 (p->arena_offset && p->planned_bytes ? ENGINE_META_HAS_PROFILES : 0u),
        .opset = m->opset,
        .arena_bytes = p->arena_bytes,
    };
    put(b, &pre, sizeof pre);
    if (m->producer) put_str(b, m->producer);
    else PUT(b, uint32_t, ENGINE_STR_NULL);
    for (int32_t i = 0; i < m->n_values; i++) put_value(b, &m->values[i], &L->refs[i]);
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const ir_node *n = &m->nodes[i];
        put_str(b, n->name);
        put_str(b, n->op);
        put_str(b, n->domain);
        PUT(b, int32_t, n->opset);
        put_ids(b, n->in, n->n_in);
        put_ids(b, n->out, n->n_out);
        PUT(b, uint32_t, n->n_attr);
        for (int32_t k = 0; k < n->n_attr; k++) put_attr(b, &n->attrs[k]);
        PUT(b, uint32_t, n->n_origin);
        for (int32_t k = 0; k < n->n_origin; k++) put_str(b, n->origin[k]);
    }
    for (int32_t i = 0; i < m->n_bodies; i++) {
        const ir_body *y = &m->bodies[i];
        PUT(b, int32_t, y->parent_node);
        put_ids(b, y->nodes, y->n_nodes);
        put_ids(b, y->in, y->n_in);
        put_ids(b, y->out, y->n_out);
    }
    if (p->steps)
        for (int32_t i = 0; i < m->n_nodes; i++) {
            const engine_step_info *s = &p->steps[i];
            if (s->kernel) put_str(b, s->kernel);
            else PUT(b, uint32_t, ENGINE_STR_NULL);
            PUT(b, uint64_t, s->params_len);
            put(b, s->params, s->params_len);
        }
    if (p->arena_offset) put(b, p->arena_offset, (size_t)m->n_values * sizeof(int64_t));
    if (p->arena_offset && p->planned_bytes) {
        PUT(b, uint32_t, (uint32_t)p->n_profiles);
        for (int32_t k = 0; k < p->n_profiles; k++) {
            const engine_profile *pr = &p->profiles[k];
            PUT(b, int32_t, pr->value);
            PUT(b, int32_t, pr->rank);
            put(b, pr->min, (size_t)pr->rank * sizeof(int64_t));
            put(b, pr->opt, (size_t)pr->rank * sizeof(int64_t));
            put(b, pr->max, (size_t)pr->rank * sizeof(int64_t));
        }
        put(b, p->planned_bytes, (size_t)m->n_values * sizeof(int64_t));
    }
    if (b->oom)
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory encoding the engine metadata (%zu bytes "
                          "so far)", b->n);
    if (b->too_long)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "cannot write engine: a string is longer than "
                          "%u bytes", ENGINE_STR_NULL - 1);

    engine_header_v1 *h = &L->h;
    memcpy(h->magic, ENGINE_MAGIC, ENGINE_MAGIC_LEN);
    h->format_version = ENGINE_FORMAT_VERSION;
    h->header_size = ENGINE_HEADER_SIZE;
    h->metadata_offset = ENGINE_HEADER_SIZE;
    h->metadata_size = b->n;
    h->weights_offset = align_up(h->metadata_offset + h->metadata_size, ENGINE_WEIGHTS_ALIGN);
    h->weights_size = cur;
    if (cur > UINT64_MAX - h->weights_offset)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "cannot write engine: %" PRIu64 " bytes of "
                          "weights do not fit a 64-bit file size", cur);
    h->file_size = h->weights_offset + h->weights_size;
    h->backend = p->target.backend;
    h->precision = p->target.precision;
    h->gpu_sm = p->target.gpu_sm;
    h->cuda_runtime = p->target.cuda_runtime;
    h->cudnn = p->target.cudnn;
    h->cublaslt = p->target.cublaslt;
    snprintf(h->builder_version, sizeof h->builder_version, "%.*s",
             (int)sizeof h->builder_version - 1,
             p->builder_version[0] ? p->builder_version : ingot_version());
    h->metadata_hash = XXH3_64bits(b->n ? b->p : (const uint8_t *)"", b->n);
    h->header_hash = XXH3_64bits(h, ENGINE_HEADER_HASHED_BYTES);
    return INGOT_OK;
}

static void free_layout(layout *L)
{
    ing_free(L->meta.p);
    ing_free(L->refs);
}

/* Where the bytes go: memory (mem != NULL) or a file descriptor. */
typedef struct sink {
    uint8_t *mem;
    int fd;
    const char *path;
    uint64_t pos;
} sink;

static ingot_status sink_put(sink *s, const void *src, size_t n)
{
    if (s->mem) {
        if (n) memcpy(s->mem + s->pos, src, n);
        s->pos += n;
        return INGOT_OK;
    }
    const uint8_t *q = src;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(s->fd, q + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return ingot_fail(INGOT_ERR_IO, "writing engine '%s' at byte %" PRIu64 ": %s",
                              s->path, s->pos + done, w < 0 ? strerror(errno) : "no progress");
        done += (size_t)w;
    }
    s->pos += n;
    return INGOT_OK;
}

static ingot_status sink_pad_to(sink *s, uint64_t to)
{
    static const uint8_t zeros[4096];
    while (s->pos < to) {
        uint64_t k = to - s->pos;
        ING_TRY(sink_put(s, zeros, k < sizeof zeros ? (size_t)k : sizeof zeros));
    }
    return INGOT_OK;
}

static ingot_status emit(const engine_plan *p, const layout *L, sink *s)
{
    const ir_model *m = p->model;
    ING_TRY(sink_put(s, &L->h, sizeof L->h));
    ING_TRY(sink_put(s, L->meta.p, L->meta.n));
    ING_TRY(sink_pad_to(s, L->h.weights_offset));
    for (int32_t i = 0; i < m->n_values; i++) {
        const ir_value *v = &m->values[i];
        if (v->kind != IR_VALUE_CONST || v->const_bytes == 0) continue;
        ING_TRY(sink_pad_to(s, L->h.weights_offset + L->refs[i].offset));
        ING_TRY(sink_put(s, v->t.data, v->const_bytes));
    }
    ING_TRY(sink_pad_to(s, L->h.file_size));
    return INGOT_OK;
}

ingot_status engine_write_buffer(const engine_plan *p, void **data, size_t *size)
{
    layout L;
    ingot_status st;
    uint8_t *buf = NULL;
    if (!p || !data || !size)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_write_buffer: NULL argument");
    if ((st = make_layout(p, &L, NULL)) != INGOT_OK) goto done;
    if (L.h.file_size > SIZE_MAX) {
        st = ingot_fail(INGOT_ERR_NOMEM, "engine of %" PRIu64 " bytes does not fit in memory",
                        L.h.file_size);
        goto done;
    }
    if (!(buf = ing_malloc_aligned((size_t)L.h.file_size, ENGINE_WEIGHTS_ALIGN))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for a %" PRIu64 "-byte engine",
                        L.h.file_size);
        goto done;
    }
    sink s = {.mem = buf, .fd = -1, .path = "<memory>"};
    if ((st = emit(p, &L, &s)) != INGOT_OK) goto done;
    *data = buf;
    *size = (size_t)L.h.file_size;
    buf = NULL;
done:
    ing_free_aligned(buf);
    free_layout(&L);
    return st;
}

ingot_status engine_write_file(const engine_plan *p, const char *path)
{
    layout L;
    ingot_status st;
    char *tmp = NULL;
    int fd = -1;
    if (!p || !path) return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_write_file: NULL argument");
    if ((st = make_layout(p, &L, NULL)) != INGOT_OK) goto done;
    size_t len = strlen(path);
    if (!(tmp = ing_malloc(len + 5))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory writing engine '%s'", path);
        goto done;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = ingot_fail(INGOT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
        goto done;
    }
    sink s = {.mem = NULL, .fd = fd, .path = tmp};
    if ((st = emit(p, &L, &s)) != INGOT_OK) goto done;
    if (fsync(fd) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "fsync '%s': %s", tmp, strerror(errno));
        goto done;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        st = ingot_fail(INGOT_ERR_IO, "close '%s': %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto done;
    }
    ing_free(tmp);
    tmp = NULL;
done:
    if (fd >= 0) close(fd);
    if (tmp) { /* failed after naming the temporary file: do not leave it behind */
        unlink(tmp);
        ing_free(tmp);
    }
    free_layout(&L);
    return st;
}

/* ---------------------------------------------------------------------------------------- */
/* Streaming writer: weights generated piece by piece, the metadata written last.            */

#define GEN_PIECE_BYTES ((size_t)4 << 20)

static ingot_status pwrite_all(int fd, const char *path, const void *src, size_t n, uint64_t at)
{
    const uint8_t *q = src;
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, q + done, n - done, (off_t)(at + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return ingot_fail(INGOT_ERR_IO, "writing engine '%s' at byte %" PRIu64 ": %s", path,
                              at + done, w < 0 ? strerror(errno) : "no progress");
        done += (size_t)w;
    }
    return INGOT_OK;
}

/* memcmp of the buffer with itself shifted by one byte: vectorized by libc, unlike a loop. */
static int all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Blob offsets and the metadata's size do not depend on the checksums (fixed-size fields), so
 * the layout is made once with zero checksums to place the blobs, the blobs are generated,
 * hashed and written at their offsets, and the layout is made again with the real checksums
 * to write the header and metadata in front. The gaps stay holes, which read as the zero
 * padding the format asks for. */
ingot_status engine_write_file_gen(const engine_plan *p, const char *path,
                                   engine_blob_fill_fn fill, void *user)
{
    layout L;
    ingot_status st;
    char *tmp = NULL;
    int fd = -1;
    uint64_t *hashes = NULL;
    uint8_t *buf = NULL;
    memset(&L, 0, sizeof L);
    if (!p || !p->model || !path || !fill)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_write_file_gen: NULL argument");
    const ir_model *m = p->model;
    hashes = ing_calloc(m->n_values ? (size_t)m->n_values : 1, sizeof *hashes);
    buf = ing_malloc_aligned(GEN_PIECE_BYTES, ENGINE_WEIGHTS_ALIGN);
    size_t len = strlen(path);
    tmp = ing_malloc(len + 5);
    if (!hashes || !buf || !tmp) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory writing engine '%s'", path);
        goto done;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    if ((st = make_layout(p, &L, hashes)) != INGOT_OK) goto done;
    const uint64_t wofs = L.h.weights_offset, fsize = L.h.file_size, msize = L.meta.n;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = ingot_fail(INGOT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
        goto done;
    }
    for (int32_t i = 0; i < m->n_values; i++) {
        const ir_value *v = &m->values[i];
        if (v->kind != IR_VALUE_CONST) continue;
        XXH3_state_t hs;
        XXH3_64bits_reset(&hs);
        for (uint64_t off = 0; off < v->const_bytes;) {
            uint64_t left = v->const_bytes - off;
            size_t n = left < GEN_PIECE_BYTES ? (size_t)left : GEN_PIECE_BYTES;
            if ((st = fill(user, i, off, buf, n)) != INGOT_OK) goto done;
            XXH3_64bits_update(&hs, buf, n);
            if (!all_zero(buf, n) &&
                (st = pwrite_all(fd, tmp, buf, n, wofs + L.refs[i].offset + off)) != INGOT_OK)
                goto done;
            off += n;
        }
        hashes[i] = XXH3_64bits_digest(&hs);
    }
    if (ftruncate(fd, (off_t)fsize) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "cannot size '%s' to %" PRIu64 " bytes: %s", tmp, fsize,
                        strerror(errno));
        goto done;
    }
    free_layout(&L);
    if ((st = make_layout(p, &L, hashes)) != INGOT_OK) goto done;
    if (L.meta.n != msize || L.h.weights_offset != wofs) { /* cannot happen: fixed-size fields */
        st = ingot_fail(INGOT_ERR_INVALID_ARG, "cannot write engine '%s': the metadata changed "
                        "size (%" PRIu64 " -> %zu bytes) when the checksums were filled in", path,
                        msize, L.meta.n);
        goto done;
    }
    if ((st = pwrite_all(fd, tmp, &L.h, sizeof L.h, 0)) != INGOT_OK ||
        (st = pwrite_all(fd, tmp, L.meta.p, L.meta.n, ENGINE_HEADER_SIZE)) != INGOT_OK)
        goto done;
    if (fsync(fd) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "fsync '%s': %s", tmp, strerror(errno));
        goto done;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        st = ingot_fail(INGOT_ERR_IO, "close '%s': %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "rename '%s' to '%s': %s", tmp, path, strerror(errno));
        goto done;
    }
    ing_free(tmp);
    tmp = NULL;
done:
    if (fd >= 0) close(fd);
    if (tmp) { /* failed: do not leave the temporary file behind */
        unlink(tmp);
        ing_free(tmp);
    }
    ing_free_aligned(buf);
    ing_free(hashes);
    free_layout(&L);
    return st;
}
