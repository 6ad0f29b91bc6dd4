/* The engine file, format version 1, as C structs and constants. docs/engine-format.md is the
 * spec in prose; this header and that page must agree.
 *
 *   [0, 256)                       header (engine_header_v1), fixed size
 *   [256, 256 + metadata_size)     metadata: a compact little-endian encoding of the IR model,
 *                                  step info and memory plan (records described below)
 *   zero padding to a 4096 multiple
 *   [weights_offset, +weights_size) weight section: one blob per constant value, each at a
 *                                  256-byte-aligned offset, zero padding between blobs
 *
 * Every integer is little-endian. Every offset and size in the header is 64-bit. The reader
 * maps structs onto the bytes only on little-endian hosts (checked at compile time). */
#ifndef INGOT_ENGINE_FORMAT_H
#define INGOT_ENGINE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the engine format is little-endian and constants are used in place: big-endian hosts are not supported"
#endif

#define ENGINE_MAGIC "INGOTENG" /* 8 bytes, no NUL on disk */
#define ENGINE_MAGIC_LEN 8
#define ENGINE_FORMAT_VERSION 1u     /* the only version this build reads and writes */
#define ENGINE_HEADER_SIZE 256u      /* bytes; header_size of a v1 file */
#define ENGINE_WEIGHTS_ALIGN 4096u   /* the weight section starts at a multiple of this */
#define ENGINE_BLOB_ALIGN 256u       /* each blob starts at a multiple of this (file offset) */
#define ENGINE_BUILDER_VERSION_LEN 32 /* bytes, NUL-terminated and NUL-padded */
#define ENGINE_MAX_BODY_DEPTH 64     /* subgraph nesting the reader accepts */

/* The fixed header. Natural alignment gives no padding; the static asserts below pin every
 * offset, so this struct is the layout. */
typedef struct engine_header_v1 {
    char magic[ENGINE_MAGIC_LEN];  /*   0: "INGOTENG" */
    uint32_t format_version;       /*   8: ENGINE_FORMAT_VERSION */
    uint32_t header_size;          /*  12: bytes, ENGINE_HEADER_SIZE */
    uint64_t file_size;            /*  16: bytes of the whole file */
    uint64_t metadata_offset;      /*  24: bytes from the file start; = header_size */
    uint64_t metadata_size;        /*  32: bytes */
    uint64_t weights_offset;       /*  40: bytes from the file start; multiple of 4096 */
    uint64_t weights_size;         /*  48: bytes; weights_offset + weights_size = file_size */
    int32_t backend;               /*  56: ingot_backend */
    int32_t precision;             /*  60: ingot_precision */
    int32_t gpu_sm;                /*  64: e.g. 90; 0 for CPU engines */
    int32_t cuda_runtime;          /*  68: cudaRuntimeGetVersion(); 0 for CPU */
    int32_t cudnn;                 /*  72: cudnnGetVersion(); 0 when unused */
    int32_t cublaslt;              /*  76: cublasLtGetVersion(); 0 when unused */
    char builder_version[ENGINE_BUILDER_VERSION_LEN]; /* 80: ingot_version() of the builder */
    uint64_t metadata_hash;        /* 112: XXH3_64bits of the metadata bytes */
    uint64_t flags;                /* 120: reserved, written 0, ignored by v1 readers */
    uint8_t reserved[120];         /* 128: written 0, ignored by v1 readers */
    uint64_t header_hash;          /* 248: XXH3_64bits of header bytes [0, 248) */
} engine_header_v1;

_Static_assert(sizeof(engine_header_v1) == ENGINE_HEADER_SIZE, "engine header is 256 bytes");
_Static_assert(offsetof(engine_header_v1, format_version) == 8, "header layout");
_Static_assert(offsetof(engine_header_v1, file_size) == 16, "header layout");
_Static_assert(offsetof(engine_header_v1, weights_size) == 48, "header layout");
_Static_assert(offsetof(engine_header_v1, backend) == 56, "header layout");
_Static_assert(offsetof(engine_header_v1, builder_version) == 80, "header layout");
_Static_assert(offsetof(engine_header_v1, metadata_hash) == 112, "header layout");
_Static_assert(offsetof(engine_header_v1, reserved) == 128, "header layout");
_Static_assert(offsetof(engine_header_v1, header_hash) == 248, "header layout");

#define ENGINE_HEADER_HASHED_BYTES offsetof(engine_header_v1, header_hash)

/* The metadata starts with this fixed prefix (32 bytes), then, in order:
 *   ostr    producer (NULL allowed)
 *   value   values[n_values]
 *   node    nodes[n_nodes]
 *   body    bodies[n_bodies]
 *   step    steps[n_nodes]          only if flags & ENGINE_META_HAS_STEPS
 *   i64     arena_offset[n_values]  only if flags & ENGINE_META_HAS_ARENA
 *   profiles                        only if flags & ENGINE_META_HAS_PROFILES: u32 n, then per
 *           profiled input i32 value, i32 rank, i64 min[rank], i64 opt[rank], i64 max[rank];
 *           then i64 planned_bytes[n_values] (bytes of each arena slot, -1 if not planned)
 * and nothing after: the records must end exactly at metadata_size. */
typedef struct engine_meta_prefix {
    uint32_t n_values;    /*  0: <= INT32_MAX */
    uint32_t n_nodes;     /*  4: <= INT32_MAX */
    uint32_t n_bodies;    /*  8: <= INT32_MAX; bodies[0] is the main graph */
    uint32_t flags;       /* 12: ENGINE_META_HAS_* */
    int32_t opset;        /* 16: ai.onnx opset of the model */
    uint32_t reserved;    /* 20: written 0 */
    uint64_t arena_bytes; /* 24: bytes of the activation arena */
} engine_meta_prefix;

_Static_assert(sizeof(engine_meta_prefix) == 32, "metadata prefix is 32 bytes");

#define ENGINE_META_HAS_STEPS 1u
#define ENGINE_META_HAS_ARENA 2u
#define ENGINE_META_HAS_PROFILES 4u /* needs ENGINE_META_HAS_ARENA */
#define ENGINE_META_KNOWN_FLAGS (ENGINE_META_HAS_STEPS | ENGINE_META_HAS_ARENA | ENGINE_META_HAS_PROFILES)
#define ENGINE_MIN_PROFILE_BYTES 8 /* value + rank, rank 0 */

/* Record encodings (types: u8/u16/u32/u64/i32/i64 little-endian, f32 IEEE bits):
 *   str    u32 len, len bytes (no NUL). A name holds no NUL byte; a STRING attribute may.
 *   ostr   u32 len, len bytes; len = ENGINE_STR_NULL means a NULL string (no bytes follow).
 *   value  str name, u8 kind (ir_value_kind), u8 dim_param_mask, u16 reserved (0),
 *          i32 dtype, i32 rank (-1..8), i64 dims[max(rank, 0)] (each >= -1),
 *          str dim_params[d] for each bit d set in dim_param_mask (d < rank),
 *          i32 producer (-1 or a node id),
 *          if kind == CONST: engine_blob_ref (u64 offset in the weight section, u64 bytes,
 *          u64 XXH3_64bits of the bytes).
 *   node   str name, str op, str domain, i32 opset, u32 n_in, i32 in[n_in],
 *          u32 n_out, i32 out[n_out], u32 n_attr, attr attrs[n_attr].
 *   attr   str name, u32 type (ir_attr_type), then by type:
 *          FLOAT f32 | INT i64 | STRING str | GRAPH i32 body |
 *          FLOATS u32 n, f32[n] | INTS u32 n, i64[n] | STRINGS u32 n, str[n] |
 *          TENSOR i32 dtype, i32 rank (0..8), i64 dims[rank], u64 nbytes, nbytes bytes
 *          (attribute tensors are small and live in the metadata, not the weight section).
 *   body   i32 parent_node, u32 n_nodes, i32 nodes[], u32 n_in, i32 in[], u32 n_out, i32 out[].
 *   step   ostr kernel, u64 params_len, params_len bytes.
 */
#define ENGINE_STR_NULL 0xFFFFFFFFu

typedef struct engine_blob_ref {
    uint64_t offset; /* bytes from weights_offset; multiple of 256 */
    uint64_t bytes;
    uint64_t hash;   /* XXH3_64bits of the blob's bytes */
} engine_blob_ref;

/* The fewest bytes each record can take: the reader compares counts against the bytes left
 * with these before it allocates anything. */
#define ENGINE_MIN_VALUE_BYTES 20u /* name len + kind + mask + reserved + dtype + rank + producer */
#define ENGINE_MIN_NODE_BYTES 32u  /* 3 str lens + opset + 4 counts */
#define ENGINE_MIN_ATTR_BYTES 12u  /* name len + type + the smallest payload */
#define ENGINE_MIN_BODY_BYTES 16u  /* parent + 3 counts */
#define ENGINE_MIN_STEP_BYTES 12u  /* kernel len + params_len */

#endif
