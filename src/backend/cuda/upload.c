/* Streaming a CUDA engine's weights from the file to the device in bounded host memory.
 *
 * The device allocation takes the weight section's own layout (section offset p is
 * weights + p), so a piece of the stream, whatever blobs and padding it spans, is one copy.
 * Pieces go through a ring of pinned buffers: while slot j's cudaMemcpyAsync runs on the
 * upload stream, the reader fills the next slots; the loader waits on slot j's event before
 * refilling it. Host memory: the metadata, the ring and the host copies of small constants. */
#include "backend/cuda/upload.h"

#include <cuda_runtime.h>
#include <inttypes.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cuda/cuda.h"
#include "core/alloc.h"
#include "core/status.h"

#define HOST_ALIGN 64

typedef struct uploader {
    engine_stream *s;
    cuda_engine *ce;
    cudaStream_t stream;
    cudaEvent_t *ev;      /* one per slot */
    uint8_t *ring;        /* staging_count * staging_bytes, pinned */
    void **slot;          /* slot i = ring + i * staging_bytes */
    uint8_t *keep;        /* per entry of s->blobs: has a host copy */
    int32_t cursor;       /* first blob that may overlap the next piece */
    int direct;           /* read_device: host copies are fetched at the end */
} uploader;

static int is_float(int32_t dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16 || dt == INGOT_DTYPE_F64;
}

/* Mark the values some CPU code reads from the engine's host bytes: inputs of control-flow
 * nodes' bodies (the CPU executor reads its constants from the plan) and of steps planned as
 * CPU fallbacks (an avoidable device-to-host copy each run). Kernels reading shape-like
 * inputs through cuda_host_const are covered by the size and dtype rule in wants_host. */
static void mark_host_readers(const engine_plan *plan, uint8_t *host_read)
{
    const ir_model *m = plan->model;
    for (int32_t b = 1; b < m->n_bodies; b++)
        for (int32_t k = 0; k < m->bodies[b].n_nodes; k++) {
            const ir_node *n = &m->nodes[m->bodies[b].nodes[k]];
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0) host_read[n->in[i]] = 1;
        }
    for (int32_t id = 0; plan->steps && id < m->n_nodes; id++) {
        const char *k = plan->steps[id].kernel;
        if (!k || strncmp(k, "cpu-fallback.", 13) != 0) continue;
        const ir_node *n = &m->nodes[id];
        for (int32_t i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0) host_read[n->in[i]] = 1;
    }
}

static int wants_host(const ir_value *v, const uint8_t *host_read, int32_t id)
{
    return v->const_bytes <= CUDA_HOST_CONST_BYTES || !is_float(v->t.dtype) || host_read[id];
}

/* Copy the parts of kept blobs that lie in piece [p, p + n) of the section out of src. */
static void take_host_copies(uploader *u, uint64_t p, const uint8_t *src, size_t n)
{
    engine_stream *s = u->s;
    const ir_model *m = s->plan->model;
    while (u->cursor < s->n_blobs && s->blobs[u->cursor].offset + s->blobs[u->cursor].bytes <= p) u->cursor++;
    for (int32_t k = u->cursor; k < s->n_blobs && s->blobs[k].offset < p + n; k++) {
        if (!u->keep[k]) continue;
        const engine_blob *b = &s->blobs[k];
        uint64_t lo = b->offset > p ? b->offset : p;
        uint64_t hi = b->offset + b->bytes < p + n ? b->offset + b->bytes : p + n;
        memcpy((uint8_t *)m->values[b->value].t.data + (lo - b->offset), src + (lo - p), (size_t)(hi - lo));
    }
}

static ingot_status up_upload(void *user, uint64_t offset, const void *src, size_t n, int slot)
{
    uploader *u = user;
    take_host_copies(u, offset, src, n);
    ingot_status st = cuda_check((int)cudaMemcpyAsync((uint8_t *)u->ce->weights + offset, src, n,
                                                      cudaMemcpyHostToDevice, u->stream), "cudaMemcpyAsync (weights)");
    if (st == INGOT_OK) st = cuda_check((int)cudaEventRecord(u->ev[slot], u->stream), "cudaEventRecord (staging slot)");
    return st == INGOT_OK ? st : ingot_fail_prefix(st, "uploading weight section bytes [%" PRIu64 ", +%zu)", offset, n);
}

static ingot_status up_wait(void *user, int slot)
{
    uploader *u = user;
    return cuda_check((int)cudaEventSynchronize(u->ev[slot]), "cudaEventSynchronize (staging slot)");
}

static ingot_status up_finish(void *user)
{
    uploader *u = user;
    ingot_status st = cuda_check((int)cudaStreamSynchronize(u->stream), "cudaStreamSynchronize (weight upload)");
    if (st != INGOT_OK || !u->direct) return st;
    /* read_device put every byte on the device: bring the kept constants back. */
    const engine_stream *s = u->s;
    const ir_model *m = s->plan->model;
    for (int32_t k = 0; k < s->n_blobs && st == INGOT_OK; k++)
        if (u->keep[k])
            st = cuda_check((int)cudaMemcpy(m->values[s->blobs[k].value].t.data,
                                            (uint8_t *)u->ce->weights + s->blobs[k].offset, (size_t)s->blobs[k].bytes,
                                            cudaMemcpyDeviceToHost),
                            "cudaMemcpy (host copy of a constant)");
    return st;
}

/* Give every constant its device address and, where wanted, a place in one host block. */
static ingot_status place_constants(uploader *u, uint8_t *host_read)
{
    engine_stream *s = u->s;
    ir_model *m = s->plan->model;
    cuda_engine *ce = u->ce;
    size_t host_bytes = 0;
    for (int32_t k = 0; k < s->n_blobs; k++) {
        const ir_value *v = &m->values[s->blobs[k].value];
        u->keep[k] = (uint8_t)wants_host(v, host_read, s->blobs[k].value);
        if (u->keep[k]) host_bytes += ((size_t)s->blobs[k].bytes + HOST_ALIGN - 1) / HOST_ALIGN * HOST_ALIGN;
    }
    if (!(ce->host = ing_malloc_aligned(host_bytes ? host_bytes : 1, HOST_ALIGN)))
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory for the host copies of small constants (%zu bytes)",
                          host_bytes);
    /* Empty constants have no blob: a valid address on both sides, as the image reader does. */
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST) {
            m->values[i].t.data = m->values[i].const_bytes ? NULL : ce->host;
            ce->dev[i] = ce->weights;
        }
    size_t off = 0;
    for (int32_t k = 0; k < s->n_blobs; k++) {
        int32_t v = s->blobs[k].value;
        ce->dev[v] = (uint8_t *)ce->weights + s->blobs[k].offset;
        if (!u->keep[k]) continue;
        m->values[v].t.data = (uint8_t *)ce->host + off;
        off += ((size_t)s->blobs[k].bytes + HOST_ALIGN - 1) / HOST_ALIGN * HOST_ALIGN;
    }
    return INGOT_OK;
}

static ingot_status make_ring(uploader *u)
{
    engine_stream *s = u->s;
    size_t bytes;
    if (!ing_mul_fits(s->staging_count, s->staging_bytes, &bytes))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "%zu staging buffers of %zu bytes overflow size_t", s->staging_count,
                          s->staging_bytes);
    u->ev = ing_calloc(s->staging_count, sizeof *u->ev);
    u->slot = ing_calloc(s->staging_count, sizeof *u->slot);
    if (!u->ev || !u->slot)
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory for %zu staging slots", s->staging_count);
    ingot_status st = cuda_check((int)cudaHostAlloc((void **)&u->ring, bytes, cudaHostAllocDefault),
                                 "cudaHostAlloc (staging ring)");
    if (st != INGOT_OK)
        return ingot_fail_prefix(st, "%zu pinned staging buffers of %zu bytes", s->staging_count, s->staging_bytes);
    for (size_t i = 0; i < s->staging_count; i++) {
        u->slot[i] = u->ring + i * s->staging_bytes;
        ING_TRY(cuda_check((int)cudaEventCreateWithFlags(&u->ev[i], cudaEventDisableTiming), "cudaEventCreate"));
    }
    return INGOT_OK;
}

static void uploader_free(uploader *u)
{
    if (u->stream) cudaStreamSynchronize(u->stream); /* nothing may still read the ring */
    for (size_t i = 0; u->ev && i < u->s->staging_count; i++)
        if (u->ev[i]) cudaEventDestroy(u->ev[i]);
    if (u->ring) cudaFreeHost(u->ring);
    if (u->stream) cudaStreamDestroy(u->stream);
    ing_free(u->ev);
    ing_free(u->slot);
    ing_free(u->keep);
}

ingot_status cuda_engine_create_stream(engine_stream *s, int verify, void **state)
{
    ir_model *m = s->plan->model;
    uint8_t *host_read = NULL;
    uploader u = {.s = s};
    ingot_status st = cuda_engine_check(&s->plan->target);
    if (st != INGOT_OK) return st;
    cuda_engine *ce = ing_calloc(1, sizeof *ce);
    u.ce = ce;
    if (!ce || !(ce->dev = ing_calloc((size_t)(m->n_values ? m->n_values : 1), sizeof(void *))) ||
        !(host_read = ing_calloc((size_t)(m->n_values ? m->n_values : 1), 1)) ||
        !(u.keep = ing_calloc((size_t)(s->n_blobs ? s->n_blobs : 1), 1))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CUDA engine");
        goto fail;
    }
    ce->n_values = m->n_values;
    ce->bytes = (size_t)s->h.weights_size;
    if (s->h.weights_size > SIZE_MAX) {
        st = ingot_fail(INGOT_ERR_NOMEM, "a weight section of %" PRIu64 " bytes does not fit in size_t",
                        s->h.weights_size);
        goto fail;
    }
    if (ce->bytes && (st = cuda_check((int)cudaMalloc(&ce->weights, ce->bytes), "cudaMalloc (weights)")) != INGOT_OK) {
        st = ingot_fail_prefix(st, "the engine's %zu bytes of weights on the device", ce->bytes);
        goto fail;
    }
    mark_host_readers(s->plan, host_read);
    if ((st = place_constants(&u, host_read)) != INGOT_OK) goto fail;
    if ((st = cuda_check((int)cudaStreamCreateWithFlags(&u.stream, cudaStreamNonBlocking),
                         "cudaStreamCreate (weight upload)")) != INGOT_OK)
        goto fail;
    u.direct = s->r->read_device && !verify;
    if (!u.direct && (st = make_ring(&u)) != INGOT_OK) goto fail;
    engine_stream_sink sink = {
        .upload = up_upload,
        .wait = up_wait,
        .finish = up_finish,
        .staging = u.slot,
        .user = &u,
        .device = ce->weights,
        .stream = u.stream,
    };
    if ((st = engine_stream_weights(s, &sink, verify)) != INGOT_OK) goto fail;
    if ((st = cuda_ewfuse_load(s->plan, &ce->ewfuse)) != INGOT_OK) goto fail;
    uploader_free(&u);
    ing_free(host_read);
    *state = ce;
    return INGOT_OK;
fail:
    uploader_free(&u);
    ing_free(host_read);
    /* The plan goes with the failed load, but leave it without pointers into freed memory. */
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST) m->values[i].t.data = NULL;
    cuda_engine_destroy(ce);
    return st;
}
