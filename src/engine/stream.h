/* Streaming engine I/O: read an engine through an ingot_reader in bounded host memory
 * (stream.c), and write one whose weights are generated piece by piece (writer.c), so that
 * neither side ever holds a whole engine. docs/engine-format.md, "Loading", describes both. */
#ifndef INGOT_ENGINE_STREAM_H
#define INGOT_ENGINE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine_io.h"

#define ENGINE_STAGING_COUNT_DEFAULT 4
#define ENGINE_STAGING_BYTES_DEFAULT ((size_t)16 << 20)

/* Where the weight section goes while it streams.
 * host != NULL: the whole section lands at host + (offset in the section); the reader writes
 *   there directly (the CPU backend: the engine's own memory; no staging).
 * host == NULL: each piece (at most staging_bytes) is read into staging buffer `slot` and
 *   handed to upload(), which may start an asynchronous copy (a device upload through a
 *   pinned ring) and return. Before slot is filled again the loader calls wait(slot), so the
 *   copy out of it must be complete when wait returns; finish() follows the last piece.
 *   upload == NULL drops the bytes (verification only). Any callback may be NULL.
 *   staging: the sink's own staging_count buffers of staging_bytes (pinned memory), or NULL
 *   for plain host buffers allocated by the loader on first use. */
typedef struct engine_stream_sink {
    uint8_t *host;
    ingot_status (*upload)(void *user, uint64_t offset, const void *src, size_t n, int slot);
    ingot_status (*wait)(void *user, int slot);
    ingot_status (*finish)(void *user);
    void *const *staging;
    void *user;
    /* device != NULL and the reader has read_device: the section is read straight to
     * device + (offset in the section), in pieces of at most staging_bytes ordered on `stream`
     * (a cudaStream_t), with no host staging; upload and wait are not called, finish() is.
     * Verification needs the bytes on the host, so with verify the loader ignores device and
     * reads through the staging ring as above. */
    void *device;
    void *stream;
} engine_stream_sink;

/* A stream being read: the header, the decoded metadata and the blob table, then the weights.
 * Fields are read-only to callers. */
typedef struct engine_stream {
    const ingot_reader *r;
    size_t staging_count;
    size_t staging_bytes;       /* the most the reader is asked for in one call */
    uint64_t file_size;         /* the real size when known, else ENGINE_SIZE_UNKNOWN */
    uint64_t pos;               /* bytes consumed from the reader (= file offset) */
    uint64_t skipped;           /* of those, bytes passed over with seek instead of read */
    uint64_t peak_staging;      /* bytes of staging buffers held at once */
    engine_header_v1 h;
    engine_plan *plan;          /* owned until taken (set to NULL by the caller) */
    engine_blob *blobs;         /* non-empty blobs sorted by offset; owned */
    int32_t n_blobs;
    uint64_t metadata_bytes;    /* host bytes the metadata took while decoding */
    int pread_fd;               /* >= 0: a regular file whose bytes are also readable by offset:
                                 * large reads use pread(2) on several threads (set by the
                                 * caller after engine_stream_open; -1 there) */
} engine_stream;

/* Read the header and metadata from r (positioned at the engine's first byte) and decode
 * them with the reader's checks (engine_header_read, engine_read_metadata): the plan's
 * constants have data NULL. file_size: the source's size, or ENGINE_SIZE_UNKNOWN.
 * staging_count, staging_bytes: 0 for the defaults. The metadata buffer is freed before
 * returning. On failure *s is zeroed and nothing leaks.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_IO (reader error or early end),
 * INGOT_ERR_CORRUPT, INGOT_ERR_VERSION, INGOT_ERR_NOMEM. */
ingot_status engine_stream_open(engine_stream *s, const ingot_reader *r, uint64_t file_size,
                                size_t staging_count, size_t staging_bytes);

/* Read the weight section into sink (after engine_stream_open). verify: check each blob's
 * XXH3 and that the padding is zero, as the bytes pass. Without verify the padding before the
 * section is skipped with r->seek when the reader has one.
 * Returns INGOT_OK, INGOT_ERR_IO (the message names the byte and the weight it fell in),
 * INGOT_ERR_CORRUPT (checksum or padding), INGOT_ERR_NOMEM, or a sink's status. */
ingot_status engine_stream_weights(engine_stream *s, const engine_stream_sink *sink, int verify);

/* Free what s still owns (plan, blobs); zeroes *s. A zeroed stream is a no-op. */
void engine_stream_close(engine_stream *s);

/* A reader over a file descriptor (read(2), lseek(2)); user is a pointer to the fd. */
int64_t engine_fd_read(void *user, void *dst, size_t n);
int engine_fd_seek(void *user, uint64_t offset);

/* As engine_plan_validate, but constants may lack their bytes (t.data NULL). */
ingot_status engine_plan_validate_layout(const engine_plan *p, ingot_status st);

/* Fills n bytes of constant `value` starting at byte `offset` of its blob. */
typedef ingot_status (*engine_blob_fill_fn)(void *user, int32_t value, uint64_t offset,
                                            void *dst, size_t n);

/* As engine_write_file, for a plan whose constants have no bytes (t.data NULL, const_bytes
 * set): fill() produces each blob in pieces of at most 4 MiB, in file order, each hashed and
 * written once. Pieces that are all zero are not written (the file gets a hole), so a mostly
 * zero engine is a sparse file. The metadata (with the hashes) is written last, at the
 * front. Host memory: the metadata + one 4 MiB piece, whatever the weights' size.
 * Returns as engine_write_file, or fill's status. */
ingot_status engine_write_file_gen(const engine_plan *p, const char *path,
                                   engine_blob_fill_fn fill, void *user);

#endif
