/* ingot — an inference optimizer and runtime.
 *
 * This header is the whole public API and its reference manual. The flow is:
 *
 *   ingot_builder_build_file()   ONNX model  -> optimized engine (in memory)
 *   ingot_engine_save()          engine      -> engine file
 *   ingot_engine_load()          engine file -> engine (weights resident on the backend)
 *   ingot_context_create()       engine      -> context (shapes, bindings, activations)
 *   ingot_context_run()          run once
 *
 * Conventions
 * - Every function that can fail returns ingot_status. On failure ingot_last_error() holds a
 *   message naming the object, the value found and the value allowed; out-parameters are left
 *   untouched and nothing is leaked.
 * - Dimensions are int64_t, byte counts size_t, strings UTF-8.
 * - Options structs start with `uint32_t version` (set it to INGOT_OPTS_VERSION) and only grow
 *   at the end. A NULL options pointer means defaults.
 * - An engine is immutable after load and may be shared by threads; a context must be used by
 *   one thread at a time.
 * - No CUDA type appears here: streams are `void *` (a cudaStream_t), NULL for the default.
 */
#ifndef INGOT_H
#define INGOT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define INGOT_VERSION_MAJOR 0
#define INGOT_VERSION_MINOR 1
#define INGOT_VERSION_PATCH 0
#define INGOT_OPTS_VERSION 2u /* 2: ingot_build_opts from input_formats on (formats, profiles, timing_cache) */
#define INGOT_MAX_RANK 8

/* ---------------------------------------------------------------------------------------- */
/* Status and errors                                                                         */

typedef enum ingot_status {
    INGOT_OK = 0,
    INGOT_ERR_INVALID_ARG, /* a NULL or out-of-range argument */
    INGOT_ERR_IO,          /* a file could not be opened, read or written */
    INGOT_ERR_CORRUPT,     /* a model or engine file is malformed */
    INGOT_ERR_VERSION,     /* an engine of another format version, backend, GPU or library */
    INGOT_ERR_UNSUPPORTED, /* an operator, attribute, dtype or feature ingot does not support */
    INGOT_ERR_MODEL,       /* a well-formed model that is invalid (dangling input, bad attribute) */
    INGOT_ERR_SHAPE,       /* shapes that do not agree */
    INGOT_ERR_NOMEM,       /* an allocation failed */
    INGOT_ERR_CUDA,        /* a CUDA, cuDNN or cuBLAS call failed */
    INGOT_ERR_BACKEND,     /* the requested backend is not available in this build or machine */
    INGOT_ERR_STATE,       /* a call out of order (run before every input is bound, …) */
    INGOT_ERR_NOT_FOUND,   /* no input or output of that name */
    INGOT_ERR_RUNTIME,     /* an operator failed on the data it was given */
    INGOT_STATUS_COUNT
} ingot_status;

/* The message of the last failed call on this thread. Borrowed; valid until the next ingot call
 * on this thread. Never NULL. Thread safety: thread-local. */
const char *ingot_last_error(void);

/* "INGOT_OK", "INGOT_ERR_IO", … Static string. */
const char *ingot_status_name(ingot_status st);

/* "0.1.0". Static string. */
const char *ingot_version(void);

/* ---------------------------------------------------------------------------------------- */
/* Element types. The values are ONNX's TensorProto.DataType numbers.                        */

typedef enum ingot_dtype {
    INGOT_DTYPE_UNDEFINED = 0,
    INGOT_DTYPE_F32 = 1,
    INGOT_DTYPE_U8 = 2,
    INGOT_DTYPE_I8 = 3,
    INGOT_DTYPE_U16 = 4,
    INGOT_DTYPE_I16 = 5,
    INGOT_DTYPE_I32 = 6,
    INGOT_DTYPE_I64 = 7,
    INGOT_DTYPE_STRING = 8, /* not supported as a tensor type; listed for numbering */
    INGOT_DTYPE_BOOL = 9,   /* one byte, 0 or 1 */
    INGOT_DTYPE_F16 = 10,
    INGOT_DTYPE_F64 = 11,
    INGOT_DTYPE_U32 = 12,
    INGOT_DTYPE_U64 = 13,
    INGOT_DTYPE_BF16 = 16,
    INGOT_DTYPE_COUNT = 17
} ingot_dtype;

/* Bytes per element (0 for UNDEFINED, STRING and unknown values). */
size_t ingot_dtype_size(ingot_dtype dt);
/* "f32", "i64", … ; "?" for unknown values. Static string. */
const char *ingot_dtype_name(ingot_dtype dt);

/* A tensor's description. dims[i] is -1 where the size is not known until run time. */
typedef struct ingot_tensor_info {
    const char *name; /* borrowed from the engine; valid while the engine lives */
    ingot_dtype dtype;
    int32_t rank;
    int64_t dims[INGOT_MAX_RANK];
} ingot_tensor_info;

/* ---------------------------------------------------------------------------------------- */
/* Builder: ONNX -> engine                                                                   */

typedef enum ingot_backend {
    INGOT_BACKEND_CPU = 0,
    INGOT_BACKEND_CUDA = 1,
    INGOT_BACKEND_COUNT
} ingot_backend;

typedef enum ingot_precision {
    INGOT_PRECISION_FP32 = 0,
    INGOT_PRECISION_TF32,
    INGOT_PRECISION_FP16,
    INGOT_PRECISION_BF16,
    INGOT_PRECISION_COUNT
} ingot_precision;

/* One fixed input shape for the builder ("--shapes name:1x3x224x224"). */
typedef struct ingot_input_shape {
    const char *name;
    int32_t rank;
    int64_t dims[INGOT_MAX_RANK];
} ingot_input_shape;

/* I/O formats chosen at build time ("--input-format image:uint8:nhwc"): the engine takes an
 * input in another dtype (and layout) than the model declares, or gives an output in a reduced
 * float type, and converts on the backend, so fewer bytes cross the bus. */
typedef enum ingot_layout {
    INGOT_LAYOUT_AS_MODEL = 0, /* the model's layout (NCHW for images) */
    INGOT_LAYOUT_NHWC = 1,     /* channels last; the model's input must be 4-D NCHW */
    INGOT_LAYOUT_COUNT
} ingot_layout;

/* One input's format. The engine's input named `name` (a float32 input of the model) gets
 * dtype F16, BF16 or U8 (or F32: normalization only) and, for NHWC, dims [N,H,W,C]. Each
 * element becomes (x * scale - mean[c]) / std[c] in the model's (or the compute) type, c the
 * channel (dim 1 of the model's input). mean and std: n_channels entries each or NULL
 * (0 and 1); n_channels must equal the model's channel count. scale 0 means 1 (so a zeroed
 * struct converts without scaling; use 1.0f/255 for 8-bit images). Pointers borrowed for the
 * build call. */
typedef struct ingot_input_format {
    const char *name;
    ingot_dtype dtype;
    ingot_layout layout;
    const float *mean;
    const float *std;
    size_t n_channels;
    float scale;
} ingot_input_format;

/* One output's format: the engine's output `name` (float32 in the model) is written as dtype
 * F16 or BF16. */
typedef struct ingot_output_format {
    const char *name;
    ingot_dtype dtype;
} ingot_output_format;

typedef struct ingot_build_opts {
    uint32_t version;            /* INGOT_OPTS_VERSION */
    ingot_backend backend;       /* default CPU */
    ingot_precision precision;   /* default FP32. TF32: fp32 tensors; CUDA convolutions and
                                  * matmuls may round inputs to TF32 on tensor cores (fp32
                                  * accumulation); the CPU backend runs it as FP32 */
    const ingot_input_shape *shapes; /* borrowed for the call; may be NULL */
    size_t n_shapes;
    const char *external_data_dir; /* where external data files are; NULL: the model's folder
                                    * (for a buffer: the current directory) */
    int verbose;                 /* non-zero: print what each pass did to stderr */
    const char *const *disabled_passes; /* names of optimization passes to skip; borrowed */
    size_t n_disabled_passes;
    const ingot_input_format *input_formats; /* borrowed for the call; may be NULL */
    size_t n_input_formats;
    const ingot_output_format *output_formats; /* borrowed for the call; may be NULL */
    size_t n_output_formats;
    /* Dynamic shapes: the range each listed input may take at run time (an optimization
     * profile). Dimensions where min == max are fixed; the others stay symbolic in the engine.
     * The activation arena is planned for the max shapes, so any shape in range runs without
     * allocating; opt is the shape tactics are chosen for. Borrowed for the call; may be NULL.
     * An input may not appear in both shapes and profiles. */
    const struct ingot_input_profile *profiles;
    size_t n_profiles;
    /* version >= 2. CUDA: a timing-cache file (UTF-8 path, borrowed) mapping each convolution
     * and matmul (shapes, dtypes, attributes, math mode, GPU, library versions) to the tactic
     * chosen for it. Read before the build (a missing file is an empty cache; a corrupt one
     * fails with INGOT_ERR_CORRUPT naming the file and entry); steps found there are not timed;
     * rewritten atomically after a successful build when it gained entries. The same cache
     * gives the same engine bytes. NULL: time every step. The CPU backend ignores it. */
    const char *timing_cache;
    /* version >= 2. CUDA: time the candidate algorithms of every convolution and matmul on this
     * GPU and store the fastest in the engine (also on when timing_cache is given). 0, the
     * default: no tactics are stored and each step runs the library heuristic's first choice.
     * Opt-in because the first H100 measurement of tuned engines (2026-12-06, docs/PERF.md)
     * was slower than the heuristic's; see there. */
    int tune;
} ingot_build_opts;

/* One input's range of shapes ("--min-shapes/--opt-shapes/--max-shapes"):
 * 0 <= min[d] <= opt[d] <= max[d] for every d < rank. */
typedef struct ingot_input_profile {
    const char *name;
    int32_t rank;
    int64_t min[INGOT_MAX_RANK];
    int64_t opt[INGOT_MAX_RANK];
    int64_t max[INGOT_MAX_RANK];
} ingot_input_profile;

/* Fill opts with defaults (version set). */
void ingot_build_opts_init(ingot_build_opts *opts);

/* The optimization passes, in the order the builder runs them. ingot_pass_name returns NULL
 * for index >= ingot_pass_count(); *what (may be NULL) receives a one-line description.
 * Static strings. Thread safety: safe. */
size_t ingot_pass_count(void);
const char *ingot_pass_name(size_t index, const char **what);

typedef struct ingot_engine ingot_engine;
typedef struct ingot_context ingot_context;

/* Build an engine from an ONNX file.
 * path: UTF-8 path of the .onnx file; external data is read relative to its folder.
 * opts: may be NULL for defaults.
 * out:  on success a new engine ready to run; free with ingot_engine_destroy().
 * Returns INGOT_OK, INGOT_ERR_IO, INGOT_ERR_CORRUPT (not an ONNX file, truncated),
 * INGOT_ERR_UNSUPPORTED (node name, op type and opset named), INGOT_ERR_MODEL, INGOT_ERR_SHAPE,
 * INGOT_ERR_BACKEND, INGOT_ERR_NOMEM. Thread safety: may be called concurrently. */
ingot_status ingot_builder_build_file(const char *path, const ingot_build_opts *opts,
                                      ingot_engine **out);

/* As ingot_builder_build_file, from a serialized ModelProto in memory (copied as needed). */
ingot_status ingot_builder_build_buffer(const void *data, size_t size, const ingot_build_opts *opts,
                                        ingot_engine **out);

/* ---------------------------------------------------------------------------------------- */
/* Engine                                                                                    */

typedef enum ingot_load_mode {
    INGOT_LOAD_AUTO = 0, /* MMAP for local files (CUDA engines: STREAM) */
    INGOT_LOAD_READ,     /* read the whole file */
    INGOT_LOAD_MMAP,     /* map the file; CPU engines use weights in place. CUDA engines are
                          * streamed instead (a mapping would make every page resident and
                          * the bytes go to the device anyway); their stats say STREAM */
    INGOT_LOAD_STREAM,   /* through a reader callback, bounded host memory */
    INGOT_LOAD_MODE_COUNT
} ingot_load_mode;

typedef struct ingot_load_opts {
    uint32_t version; /* INGOT_OPTS_VERSION */
    ingot_load_mode mode;
    int verify_checksums; /* non-zero: check every weight blob's checksum while loading */
    /* STREAM: the reader is never asked for more than staging_bytes at a time, and a backend
     * that uploads weights (CUDA) stages them through staging_count buffers of staging_bytes.
     * 0 means the default (4 and 16 MiB). */
    size_t staging_count;
    size_t staging_bytes; /* bytes */
} ingot_load_opts;

void ingot_load_opts_init(ingot_load_opts *opts);

/* Serialize an engine to a file (written to PATH.tmp, then renamed).
 * Returns INGOT_OK, INGOT_ERR_IO, INGOT_ERR_NOMEM, INGOT_ERR_UNSUPPORTED (a CUDA engine loaded
 * by STREAM: its large weights are on the device only). Thread safety: the engine is only read. */
ingot_status ingot_engine_save(const ingot_engine *e, const char *path);

/* Serialize an engine to memory. *data: caller frees with ingot_free(). */
ingot_status ingot_engine_save_buffer(const ingot_engine *e, void **data, size_t *size);

/* Load a serialized engine.
 * path: UTF-8 file path. opts: may be NULL for defaults. opts->mode: AUTO and MMAP map the file
 *       (CPU constants are used in place); READ reads it whole; STREAM reads it front to back
 *       as ingot_engine_load_stream does, with the file's size known up front.
 * out:  on success a new engine; free with ingot_engine_destroy(). Untouched on failure.
 * Returns INGOT_OK, INGOT_ERR_IO, INGOT_ERR_CORRUPT, INGOT_ERR_VERSION, INGOT_ERR_BACKEND,
 * INGOT_ERR_NOMEM, INGOT_ERR_CUDA. Thread safety: may be called concurrently. */
ingot_status ingot_engine_load(const char *path, const ingot_load_opts *opts, ingot_engine **out);

/* Load from memory. The bytes are copied where the engine needs them after the call. */
ingot_status ingot_engine_load_buffer(const void *data, size_t size, const ingot_load_opts *opts,
                                      ingot_engine **out);

/* A source of engine bytes for STREAM loading: a pipe, a socket, an object store, a file.
 * read:  copy up to n bytes to dst; return the count (fewer than n is fine, the loader loops),
 *        0 at the end of the data, negative on error. Never asked for more than
 *        ingot_load_opts.staging_bytes at once. Required.
 * seek:  optional (NULL): move to `offset` bytes from the engine's first byte; 0 on success.
 *        The loader only seeks forward, to skip bytes it does not need (padding) when checksums
 *        are not verified; without seek those bytes are read and dropped.
 * read_device: optional (NULL): as read, into device memory dev_dst, ordered on `stream` (a
 *        cudaStream_t), for readers that can write device memory themselves (GPUDirect
 *        Storage). Only a backend that uploads weights uses it; the CPU backend never does.
 * user:  passed back to each callback.
 * read_at: optional (NULL; used only together with seek): as read, but the bytes starting at
 *        `offset` from the engine's first byte, without moving the position read() goes on
 *        from. The loader calls it from several threads at once, for disjoint ranges of at most
 *        2 MiB, to read large weight pieces in parallel (one thread copying out of a page cache
 *        is slower than a PCIe upload), then seeks past them. A file reader implements it with
 *        pread(2). */
typedef struct ingot_reader {
    int64_t (*read)(void *user, void *dst, size_t n);
    int (*seek)(void *user, uint64_t offset);
    int64_t (*read_device)(void *user, void *dev_dst, size_t n, void *stream);
    void *user;
    int64_t (*read_at)(void *user, void *dst, size_t n, uint64_t offset);
} ingot_reader;

/* Load an engine from a reader, in bounded host memory: the header and metadata, then the
 * weight section read in pieces of at most staging_bytes, straight into the engine's own
 * memory and checksummed as it streams when opts->verify_checksums is set. CPU: one host
 * allocation for all constants. CUDA: one device allocation; the pieces pass through
 * staging_count pinned buffers (async copies overlap the reads), or, when the reader has
 * read_device and verify is off, go straight to the device with no host staging (verify
 * needs the bytes on the host, so it reads through the pinned ring with read()). A CUDA
 * engine keeps host copies only of constants <= 64 KiB, of non-float dtypes, or read by CPU
 * steps; it cannot be saved again (ingot_engine_save: INGOT_ERR_UNSUPPORTED). The reader starts at the engine's first byte; the loader
 * reads up to the engine's last byte and no further. opts->mode is ignored (this is STREAM).
 * Peak host memory: metadata + weights (CPU) or small constants (CUDA) + staging.
 * r: borrowed for the call. out: a new engine, untouched on failure (nothing leaks, no partial
 * engine). Returns INGOT_OK, INGOT_ERR_INVALID_ARG (NULL r, r->read or out; staging 0 after
 * defaults), INGOT_ERR_IO (the reader failed or ended early: the message says at which byte
 * and in which section or weight), INGOT_ERR_CORRUPT, INGOT_ERR_VERSION, INGOT_ERR_BACKEND,
 * INGOT_ERR_NOMEM. Thread safety: may be called concurrently with different readers. */
ingot_status ingot_engine_load_stream(const ingot_reader *r, const ingot_load_opts *opts,
                                      ingot_engine **out);

/* What a load cost. VmHWM is the process's peak resident set (/proc/self/status), so the
 * difference counts whatever any thread of the process touched during the load, not only the
 * loader; it is 0 where /proc is absent. A mapped engine's pages are resident only once used,
 * so MMAP loads show little. */
typedef struct ingot_load_stats {
    ingot_load_mode mode;        /* the mode used (AUTO resolved) */
    uint64_t bytes_read;         /* bytes taken from the file or reader (MMAP: 0) */
    double seconds;              /* wall time of the load */
    double throughput;           /* bytes_read / seconds, bytes per second (0 when unknown) */
    uint64_t peak_staging_bytes; /* bytes of staging buffers held at once */
    uint64_t rss_hwm_before;     /* bytes; VmHWM when the load started */
    uint64_t rss_hwm_after;      /* bytes; VmHWM when it ended */
    uint64_t rss_hwm_delta;      /* rss_hwm_after - rss_hwm_before: how far the load raised the
                                  * process's peak */
    uint64_t device_bytes;       /* bytes of device memory holding the weights (0: CPU) */
} ingot_load_stats;

/* The stats of the load that made e (engines built in memory: all zero but mode AUTO).
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG. Thread safety: safe. */
ingot_status ingot_engine_get_load_stats(const ingot_engine *e, ingot_load_stats *stats);

void ingot_engine_destroy(ingot_engine *e); /* NULL is a no-op */

/* Counts and descriptions of the engine's inputs and outputs, in model order.
 * info->name is borrowed from the engine. Returns INGOT_ERR_INVALID_ARG for an index out of
 * range. Thread safety: safe. */
size_t ingot_engine_num_inputs(const ingot_engine *e);
size_t ingot_engine_num_outputs(const ingot_engine *e);
ingot_status ingot_engine_get_input(const ingot_engine *e, size_t index, ingot_tensor_info *info);
ingot_status ingot_engine_get_output(const ingot_engine *e, size_t index, ingot_tensor_info *info);

/* The range an input's shape may take (its optimization profile). For an input without a
 * profile, min = opt = max = its shape as the engine fixes it (-1 where symbolic and
 * unbounded). Returns INGOT_OK, INGOT_ERR_INVALID_ARG (NULL argument), INGOT_ERR_NOT_FOUND.
 * profile->name is borrowed from the engine. Thread safety: safe. */
ingot_status ingot_engine_get_input_profile(const ingot_engine *e, const char *name, ingot_input_profile *profile);

ingot_backend ingot_engine_get_backend(const ingot_engine *e);
/* Bytes of weights held by the engine. */
size_t ingot_engine_weight_bytes(const ingot_engine *e);

/* Free memory that ingot handed to the caller (ingot_engine_save_buffer). NULL is a no-op. */
void ingot_free(void *p);

/* ---------------------------------------------------------------------------------------- */
/* Context: run an engine                                                                    */

/* Create a context on an engine. The engine must outlive the context.
 * Returns INGOT_OK, INGOT_ERR_NOMEM, INGOT_ERR_CUDA. Thread safety: may be called
 * concurrently on one engine; each context is then used by one thread at a time. */
ingot_status ingot_context_create(const ingot_engine *e, ingot_context **out);
void ingot_context_destroy(ingot_context *c); /* NULL is a no-op */

/* Set the shape of an input whose dimensions are not all fixed by the engine. The shape must
 * agree with every fixed dimension and lie inside the input's profile, if it has one (the
 * message names the dimension, the value and the range). A CUDA context keeps the graph it
 * captured for the last shape set and captures another when shapes change.
 * Returns INGOT_ERR_NOT_FOUND, INGOT_ERR_SHAPE. */
ingot_status ingot_context_set_input_shape(ingot_context *c, const char *name, int32_t rank,
                                           const int64_t *dims);

/* Bind an input's memory: host memory for a CPU engine. data is borrowed; it must hold the
 * input's bytes (dtype size × element count of the shape set, or the engine's fixed shape)
 * until ingot_context_run returns. size is the buffer's size in bytes; it is checked.
 * Returns INGOT_ERR_NOT_FOUND, INGOT_ERR_SHAPE (size too small for the shape). */
ingot_status ingot_context_bind_input(ingot_context *c, const char *name, const void *data,
                                      size_t size);

/* Bind the caller's memory for an output; ingot writes there and never frees it. If the
 * output's shape needs more than size bytes, the run fails with INGOT_ERR_SHAPE: before
 * anything is enqueued when the shape follows from the input shapes (shape inference from the
 * inputs, redone when they change), else (a shape that depends on data) when the output's
 * producer has run, and nothing is written to the buffer either way.
 * Pass data NULL to go back to ingot's own persistent buffer. */
ingot_status ingot_context_bind_output(ingot_context *c, const char *name, void *data,
                                       size_t size);

/* Where a buffer lives. A CUDA engine moves each kind the cheapest way:
 *   HOST    pageable memory (malloc): inputs are copied in chunks into the context's own pinned
 *           staging buffers (the memcpy of a chunk overlapping the DMA of the one before), and
 *           outputs come back the same way;
 *   PINNED  page-locked host memory (cudaHostAlloc, ingot_memory_alloc): one DMA each way;
 *   MAPPED  page-locked host memory mapped into the device's address space
 *           (cudaHostAllocMapped): kernels read inputs and write outputs across the bus
 *           themselves (zero copy); the engine's graph never copies it;
 *   DEVICE  device memory (cudaMalloc): no copy; the engine's first kernel reads the input and
 *           its last writes the output in place (or one device-to-device copy where the plan
 *           needs the value elsewhere).
 * A CPU engine treats HOST, PINNED and MAPPED alike and refuses DEVICE. */
typedef enum ingot_memory {
    INGOT_MEMORY_HOST = 0,
    INGOT_MEMORY_PINNED,
    INGOT_MEMORY_MAPPED,
    INGOT_MEMORY_DEVICE,
    INGOT_MEMORY_COUNT
} ingot_memory;

/* "host", "pinned", "mapped", "device"; "?" for unknown values. Static string. */
const char *ingot_memory_name(ingot_memory kind);

/* Allocate bytes of memory of a kind (HOST: aligned malloc; PINNED: cudaHostAlloc; MAPPED:
 * cudaHostAlloc with cudaHostAllocMapped; DEVICE: cudaMalloc), 256-byte aligned. Free with
 * ingot_memory_free and the same kind. Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_NOMEM,
 * INGOT_ERR_BACKEND (a CUDA kind in a build or on a machine without CUDA), INGOT_ERR_CUDA.
 * *out untouched on failure. Thread safety: safe. */
ingot_status ingot_memory_alloc(ingot_memory kind, size_t bytes, void **out);
void ingot_memory_free(ingot_memory kind, void *p); /* NULL is a no-op */

/* As ingot_context_bind_input / ingot_context_bind_output, with the memory's kind. A CUDA
 * engine checks the pointer against the kind (cudaPointerGetAttributes): device memory bound
 * as HOST, or pageable memory bound as PINNED, is INGOT_ERR_INVALID_ARG naming the input and
 * what the pointer is. Outputs bound as DEVICE or MAPPED are written by the device; read them
 * after the run (or after ingot_context_synchronize). Returns as the plain calls, and
 * INGOT_ERR_INVALID_ARG (kind out of range or not matching), INGOT_ERR_UNSUPPORTED (DEVICE on
 * a CPU engine). */
ingot_status ingot_context_bind_input_memory(ingot_context *c, const char *name, const void *data,
                                             size_t size, ingot_memory kind);
ingot_status ingot_context_bind_output_memory(ingot_context *c, const char *name, void *data,
                                              size_t size, ingot_memory kind);

/* Serves an output whose size is known only at run time (NonZero, …) or that the caller wants
 * to own. reallocate: called during a run when the output needs `size` bytes and the memory
 * it returned before (`current`, NULL the first time) is smaller; return memory of `memory`
 * kind, at least size bytes, aligned to `alignment`, or NULL to fail the run with
 * INGOT_ERR_NOMEM. The old memory stays the caller's (ingot never frees it); ingot writes the
 * output there. stream: the run's stream (a cudaStream_t; NULL for CPU engines).
 * notify_shape: optional; called once per run with the output's shape after it is known.
 * user: passed back. The struct is copied by ingot_context_set_output_allocator. */
typedef struct ingot_output_allocator {
    void *(*reallocate)(void *user, const char *name, void *current, size_t size, size_t alignment,
                        void *stream);
    void (*notify_shape)(void *user, const char *name, int32_t rank, const int64_t *dims);
    ingot_memory memory;
    void *user;
} ingot_output_allocator;

/* Let an allocator serve output `name` (replacing a bound buffer); NULL goes back to the
 * context's own persistent buffer. Returns INGOT_OK, INGOT_ERR_INVALID_ARG (no reallocate, a
 * memory kind the engine cannot write), INGOT_ERR_NOT_FOUND. Thread safety: the context's
 * thread. */
ingot_status ingot_context_set_output_allocator(ingot_context *c, const char *name,
                                                const ingot_output_allocator *a);

/* How many sets of context-owned output buffers the context rotates through: 1 (the default)
 * or 2. With 1, run N+1 overwrites what run N left in ingot's output buffers. With 2 (double
 * buffering, "prealloc"), run N writes set N % 2, and the data that ingot_context_get_output
 * returned after run N stays valid and unchanged while run N+1 is enqueued and runs; run N+2
 * overwrites it. While run N executes on the device, the context prepares the set run N+1
 * will use (sized for run N's output shapes), so steady-state runs allocate nothing. Caller
 * bound outputs and allocator outputs are not affected. Returns INGOT_OK,
 * INGOT_ERR_INVALID_ARG (count not 1 or 2). Thread safety: the context's thread. */
ingot_status ingot_context_set_output_buffers(ingot_context *c, int count);

/* Run the engine once on the bound inputs and wait for it: ingot_context_enqueue followed by
 * ingot_context_synchronize. stream: NULL or a cudaStream_t for CUDA engines.
 * CPU engines finish before returning.
 * Returns INGOT_ERR_STATE (an input not bound), INGOT_ERR_SHAPE, INGOT_ERR_RUNTIME,
 * INGOT_ERR_NOMEM, INGOT_ERR_CUDA. */
ingot_status ingot_context_run(ingot_context *c, void *stream);

/* Start a run on `stream` and return without waiting for the device (CPU engines run to the
 * end). Pageable (HOST) inputs are copied out of the caller's memory before it returns, so
 * they may be reused at once; PINNED, MAPPED and DEVICE inputs must stay unchanged until
 * ingot_context_synchronize returns. Outputs are complete, and may be read, after
 * ingot_context_synchronize (which also copies pageable-bound outputs out of the staging
 * buffers). Steps without a CUDA kernel make the host wait for the device inside enqueue.
 * A context has at most one run in flight: enqueue on a context whose run is not yet
 * synchronized synchronizes it first. Contexts on different streams overlap (copies of one
 * with the compute of another). Returns as ingot_context_run. */
ingot_status ingot_context_enqueue(ingot_context *c, void *stream);
ingot_status ingot_context_synchronize(ingot_context *c);

/* After a run: an output's shape and data. *data is borrowed: it is the caller's bound memory
 * (the allocator's, for an allocator output), or a buffer owned by the context (pinned host
 * memory for CUDA engines) that stays valid, with the same contents, until the run that
 * overwrites it (the next run; the one after with two output buffer sets) or
 * ingot_context_destroy. After ingot_context_enqueue it gives the shape at once and the data
 * once ingot_context_synchronize has returned. */
ingot_status ingot_context_get_output(ingot_context *c, const char *name, ingot_tensor_info *info,
                                      const void **data, size_t *size);

/* What runs cost in allocations and copies. */
typedef struct ingot_run_counters {
    uint64_t runs;          /* runs counted (the total); 1 for the last run */
    uint64_t device_allocs; /* cudaMalloc / cudaHostAlloc calls made by runs */
    uint64_t host_allocs;   /* host buffers allocated or grown by runs */
    uint64_t h2d_bytes;     /* bytes copied host -> device (inputs, CPU-fallback round trips) */
    uint64_t d2h_bytes;     /* bytes copied device -> host */
} ingot_run_counters;

/* The counters of the last run (last) and of all runs since the context was created (total);
 * either may be NULL. A steady state shows 0 device and host allocations per run.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_STATE (no run yet, for last).
 * Thread safety: the context's thread. */
ingot_status ingot_context_get_counters(const ingot_context *c, ingot_run_counters *last,
                                        ingot_run_counters *total);

/* Timing of the last run, when enabled with ingot_context_set_timing. GPU phases are measured
 * with CUDA events on the run's stream; CPU engines report only host_ms (compute_ms = host_ms).
 * Enabling timing costs a few event records per run. */
typedef struct ingot_run_timing {
    double h2d_ms;     /* inputs host -> device */
    double compute_ms; /* the engine's work on the device (or host for CPU engines) */
    double d2h_ms;     /* outputs device -> host */
    double host_ms;    /* wall time of ingot_context_run on the calling thread */
    int cuda_graph;    /* non-zero when the run replayed a captured CUDA graph */
    double enqueue_ms; /* host time of ingot_context_enqueue (the whole run on CPU engines) */
} ingot_run_timing;

ingot_status ingot_context_set_timing(ingot_context *c, int on);
/* INGOT_ERR_STATE when timing is off or no run happened yet. */
ingot_status ingot_context_get_timing(const ingot_context *c, ingot_run_timing *t);

/* ---------------------------------------------------------------------------------------- */
/* Benchmarking and profiling                                                                */

/* Allow (on != 0, the default) or forbid capturing the run as a CUDA graph and replaying it
 * when input shapes repeat. Forbidding drops a graph already captured. CPU engines: accepted,
 * no effect. Returns INGOT_OK, INGOT_ERR_INVALID_ARG. Thread safety: the context's thread. */
ingot_status ingot_context_set_cuda_graph(ingot_context *c, int on);

/* One step of the engine's plan: a node of the optimized graph, in execution order. Strings
 * are borrowed from the engine. */
typedef struct ingot_step_info {
    const char *op;     /* the step's operator ("FusedConv", "Gemm", …) */
    const char *name;   /* the step's node name */
    const char *kernel; /* the backend kernel chosen at build time ("cpu.Conv", …); "" if none */
    int32_t n_origin;   /* how many ONNX nodes of the source model the step covers; 0: itself */
    const char *const *origin; /* their names (n_origin entries) */
} ingot_step_info;

/* The top-level steps (nodes inside If/Loop/Scan bodies are covered by their control step).
 * ingot_engine_get_step returns INGOT_ERR_INVALID_ARG for an index out of range; info's strings
 * are borrowed from the engine and valid while it lives. Thread safety: safe. */
size_t ingot_engine_num_steps(const ingot_engine *e);
ingot_status ingot_engine_get_step(const ingot_engine *e, size_t index, ingot_step_info *info);

/* Time each step of the following runs: a host clock around each node (CPU), CUDA events
 * around each node with CUDA graphs off (CUDA; graphs resume when profiling is turned off).
 * Profiling slows runs down; measure throughput with it off.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_UNSUPPORTED (the backend cannot),
 * INGOT_ERR_NOMEM, INGOT_ERR_CUDA. Thread safety: the context's thread. */
ingot_status ingot_context_set_profiling(ingot_context *c, int on);

/* After a profiled run: ms[i] receives step i's time in milliseconds, for i < n (n at most
 * ingot_engine_num_steps). Returns INGOT_ERR_STATE when profiling is off or no run happened
 * since it was turned on; INGOT_ERR_INVALID_ARG for n above the step count. ms: caller's array.
 * Thread safety: the context's thread. */
ingot_status ingot_context_get_step_times(const ingot_context *c, double *ms, size_t n);

/* Host allocations the context's runs made so far (buffers that grew, scratch). A steady
 * state makes none: run twice and compare. Returns INGOT_ERR_UNSUPPORTED when the backend does
 * not count them (CUDA). Thread safety: the context's thread. */
ingot_status ingot_context_get_alloc_count(const ingot_context *c, uint64_t *count);

#ifdef __cplusplus
}
#endif

#endif /* INGOT_H */
