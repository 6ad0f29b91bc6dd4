/* Engine file I/O: serialize an engine_plan (writer.c), parse and validate an engine image
 * (reader.c), bring a file into memory (file.c) and describe an engine (inspect.c).
 * The on-disk layout is src/engine/format.h; the spec is docs/engine-format.md. */
#ifndef INGOT_ENGINE_ENGINE_IO_H
#define INGOT_ENGINE_ENGINE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/format.h"
#include "engine/plan.h"

/* Serialize p (IR model with constants' bytes, target, steps, memory plan) into an engine file.
 * The file is written to PATH.tmp, flushed, then renamed to path, so a reader never sees a
 * half-written engine. p is validated first (ids, ranks, dtypes, constant sizes) with the same
 * rules the reader applies.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG (a plan the reader would reject), INGOT_ERR_IO,
 * INGOT_ERR_NOMEM. Thread safety: p is only read. */
ingot_status engine_write_file(const engine_plan *p, const char *path);

/* As engine_write_file, into memory. *data: 4096-aligned (posix_memalign), caller frees with
 * ing_free. *data and *size untouched on failure. */
ingot_status engine_write_buffer(const engine_plan *p, void **data, size_t *size);

/* Parse and validate an engine image in memory (header, metadata, weight section).
 * Constants' data point into `image` (owns_data = 0), so the image must outlive the plan; give
 * a 256-byte-aligned image (engine_file_open's are) so constants are aligned for kernels.
 * verify_weights: non-zero checks every blob's XXH3 checksum (reads every weight byte).
 * out: a new plan; free with engine_plan_destroy. Untouched on failure.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG (NULL arguments), INGOT_ERR_CORRUPT,
 * INGOT_ERR_VERSION (another format version), INGOT_ERR_NOMEM. The target is not checked
 * here: call engine_check_target. Thread safety: may be called concurrently. */
ingot_status engine_read_image(const void *image, size_t size, int verify_weights,
                               engine_plan **out);

/* One constant's blob as the metadata records it (for inspect and the stream loader). */
typedef struct engine_blob {
    int32_t value;   /* value id */
    uint64_t offset; /* bytes from the weight section's start */
    uint64_t bytes;
    uint64_t hash;   /* stored XXH3_64bits */
} engine_blob;

/* As engine_read_image, and also the blob table in value order (*blobs: caller frees with
 * ing_free; *n_blobs entries). Both untouched on failure. */
ingot_status engine_read_image_blobs(const void *image, size_t size, int verify_weights,
                                     engine_plan **out, engine_blob **blobs, int32_t *n_blobs);

/* Decode and validate the header alone: magic, version, header checksum, and every section's
 * offset and size against file_size (the file's real size, or ENGINE_SIZE_UNKNOWN for a
 * stream of unknown length: then the header's own file_size is used). header: `avail` bytes
 * (the stream loader passes just the first 256). *h untouched on failure.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_CORRUPT, INGOT_ERR_VERSION. */
#define ENGINE_SIZE_UNKNOWN UINT64_MAX
ingot_status engine_header_read(const void *header, size_t avail, uint64_t file_size,
                                engine_header_v1 *h);

/* Decode and validate the metadata alone, for loaders that bring the weights themselves (the
 * stream loader): h from engine_header_read; metadata: h->metadata_size bytes (its checksum is
 * checked). Constants get data = NULL and const_bytes set; *blobs (caller frees with ing_free)
 * says where each constant's bytes lie (weights_offset + offset) and their XXH3 checksum, for
 * the caller to read into place and verify. All other checks are engine_read_image's.
 * out, blobs, n_blobs untouched on failure. Returns as engine_read_image. */
ingot_status engine_read_metadata(const engine_header_v1 *h, const void *metadata,
                                  engine_plan **out, engine_blob **blobs, int32_t *n_blobs);

/* Can this build run an engine for target t? INGOT_ERR_BACKEND / INGOT_ERR_VERSION with a
 * message saying what was built and what is running (CUDA engines need INGOT_WITH_CUDA; GPU sm
 * and library versions are checked by the CUDA backend later). */
ingot_status engine_check_target(const engine_target *t);

/* Check that a plan is one the format can hold and a reader accepts: value ids, body ids,
 * ranks, dtypes, constant sizes, steps, memory plan. st is the status to fail with
 * (INGOT_ERR_INVALID_ARG for the writer, INGOT_ERR_CORRUPT for the reader). */
ingot_status engine_plan_validate(const engine_plan *p, ingot_status st);

/* Bring a file into memory: mode INGOT_LOAD_READ (read into a 4096-aligned buffer) or
 * INGOT_LOAD_MMAP (read-only private map); AUTO means MMAP. STREAM is not a whole-file mode:
 * INGOT_ERR_INVALID_ARG. Release with engine_file_close. *f untouched on failure.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_IO, INGOT_ERR_NOMEM. */
typedef struct engine_file { void *data; size_t size; int mapped; } engine_file;
ingot_status engine_file_open(const char *path, int mode, engine_file *f);
void engine_file_close(engine_file *f); /* zeroes *f; a zeroed engine_file is a no-op */

/* Human-readable (json=0) or JSON (json=1) description: header, inputs/outputs, steps (node,
 * op, kernel, inputs→outputs), memory plan (arena size, per-value offsets), weights (name,
 * dtype, shape, offset, bytes, checksum, and whether the bytes match it). The image is fully
 * validated first; on failure nothing is printed and the reader's status is returned.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_CORRUPT, INGOT_ERR_VERSION,
 * INGOT_ERR_NOMEM, INGOT_ERR_IO (writing to out failed). */
ingot_status engine_inspect(FILE *out, const void *image, size_t size, int json);

#endif
