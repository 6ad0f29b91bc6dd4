/* Engine reader: decode and validate the header, the metadata and the blob table of an engine
 * image (format.h), rebuild the engine_plan, and check that a plan is self-consistent (shared
 * with the writer). Every offset, size, count, id, dtype and rank from the file is checked
 * before it is used; nothing is allocated from a count that the remaining bytes cannot hold. */
#include "engine/engine_io.h"
#include "engine/stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "engine/tactic.h"

/* ---------------------------------------------------------------------------------------- */
/* Plan validation (reader and writer)                                                       */

/* Bytes of a tensor of known shape into *out; 0 if the dims overflow size_t or are unknown. */
static int tensor_bytes(int32_t dtype, int32_t rank, const int64_t *dims, size_t *out)
{
    size_t n = ingot_dtype_size((ingot_dtype)dtype);
    if (rank < 0) return 0;
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] < 0 || (uint64_t)dims[d] > SIZE_MAX) return 0;
        if (!ing_mul_fits(n, (size_t)dims[d], &n)) return 0;
    }
    *out = n;
    return 1;
}

static ingot_status check_id(ingot_status st, int32_t id, int32_t n, const char *obj,
                             int32_t obj_id, const char *obj_name, const char *field,
                             int32_t index)
{
    if (id >= -1 && id < n) return INGOT_OK;
    return ingot_fail(st, "%s %d '%s' %s %d: value id %d is outside [-1, %d)", obj, obj_id,
                      obj_name, field, index, id, n);
}

static ingot_status validate_tensor_attr(ingot_status st, const ir_node *n, int32_t ni,
                                         const ir_attr *a)
{
    const ing_tensor *t = &a->t;
    if (!ing_dtype_valid(t->dtype))
        return ingot_fail(st, "node %d '%s' attribute '%s': tensor dtype %d is not one ingot "
                          "stores (1-7, 9-13, 16)", ni, n->name, a->name, t->dtype);
    if (t->rank < 0 || t->rank > IR_MAX_RANK)
        return ingot_fail(st, "node %d '%s' attribute '%s': tensor rank %d is outside [0, %d]",
                          ni, n->name, a->name, t->rank, IR_MAX_RANK);
    size_t bytes = 0;
    int known = tensor_bytes(t->dtype, t->rank, t->dims, &bytes);
    if (!known || bytes != a->t_bytes) {
        char sh[96];
        return ingot_fail(st, "node %d '%s' attribute '%s': tensor holds %zu bytes, its %s %s "
                          "shape needs %zu%s", ni, n->name, a->name, a->t_bytes,
                          ingot_dtype_name((ingot_dtype)t->dtype), ing_shape_str(t, sh, sizeof sh),
                          bytes, known ? "" : " (overflow)");
    }
    if (a->t_bytes && !t->data)
        return ingot_fail(st, "node %d '%s' attribute '%s': tensor of %zu bytes has no data", ni,
                          n->name, a->name, a->t_bytes);
    return INGOT_OK;
}

static ingot_status validate_attr(ingot_status st, const ir_model *m, const ir_node *n,
                                  int32_t ni, const ir_attr *a)
{
    if (!a->name) return ingot_fail(st, "node %d '%s': an attribute has no name", ni, n->name);
    switch (a->type) {
    case IR_ATTR_FLOAT:
    case IR_ATTR_INT: return INGOT_OK;
    case IR_ATTR_STRING:
        if (!a->s && a->s_len)
            return ingot_fail(st, "node %d '%s' attribute '%s': string of %zu bytes has no data",
                              ni, n->name, a->name, a->s_len);
        if (a->s_len > UINT32_MAX - 1)
            return ingot_fail(st, "node %d '%s' attribute '%s': string of %zu bytes, at most %u "
                              "allowed", ni, n->name, a->name, a->s_len, UINT32_MAX - 1);
        return INGOT_OK;
    case IR_ATTR_FLOATS:
    case IR_ATTR_INTS:
    case IR_ATTR_STRINGS:
        if (a->n > INT32_MAX)
            return ingot_fail(st, "node %d '%s' attribute '%s': %zu entries, at most %d allowed",
                              ni, n->name, a->name, a->n, INT32_MAX);
        if (a->n && ((a->type == IR_ATTR_FLOATS && !a->floats) ||
                     (a->type == IR_ATTR_INTS && !a->ints) ||
                     (a->type == IR_ATTR_STRINGS && !a->strings)))
            return ingot_fail(st, "node %d '%s' attribute '%s': %zu entries but no array", ni,
                              n->name, a->name, a->n);
        if (a->type == IR_ATTR_STRINGS)
            for (size_t k = 0; k < a->n; k++)
                if (!a->strings[k])
                    return ingot_fail(st, "node %d '%s' attribute '%s': string %zu is NULL", ni,
                                      n->name, a->name, k);
        return INGOT_OK;
    case IR_ATTR_TENSOR: return validate_tensor_attr(st, n, ni, a);
    case IR_ATTR_GRAPH:
        if (a->body < 1 || a->body >= m->n_bodies)
            return ingot_fail(st, "node %d '%s' attribute '%s': body id %d is outside [1, %d) "
                              "(body 0 is the main graph)", ni, n->name, a->name, a->body,
                              m->n_bodies);
        if (m->bodies[a->body].parent_node != ni)
            return ingot_fail(st, "node %d '%s' attribute '%s': body %d belongs to node %d, not "
                              "to this node", ni, n->name, a->name, a->body,
                              m->bodies[a->body].parent_node);
        return INGOT_OK;
    default:
        return ingot_fail(st, "node %d '%s' attribute '%s': type %d is not an attribute type "
                          "(1..8)", ni, n->name, a->name, a->type);
    }
}

static ingot_status validate_value(ingot_status st, const ir_model *m, int32_t i, int need_data)
{
    const ir_value *v = &m->values[i];
    const char *name = v->name ? v->name : "";
    if (!v->name) return ingot_fail(st, "value %d has no name", i);
    if (v->kind < IR_VALUE_ACTIVATION || v->kind > IR_VALUE_BODY_INPUT)
        return ingot_fail(st, "value %d '%s': kind %d is not a value kind (0..3)", i, name,
                          v->kind);
    if (v->t.rank < -1 || v->t.rank > IR_MAX_RANK)
        return ingot_fail(st, "value %d '%s': rank %d is outside [-1, %d]", i, name, v->t.rank,
                          IR_MAX_RANK);
    for (int32_t d = 0; d < v->t.rank; d++)
        if (v->t.dims[d] < -1)
            return ingot_fail(st, "value %d '%s': dim %d is %" PRId64 ", allowed >= 0 or -1 "
                              "(unknown)", i, name, d, v->t.dims[d]);
    if (v->t.dtype != INGOT_DTYPE_UNDEFINED && !ing_dtype_valid(v->t.dtype))
        return ingot_fail(st, "value %d '%s': dtype %d is not one ingot stores (1-7, 9-13, 16; "
                          "0 for unknown)", i, name, v->t.dtype);
    if (v->producer < -1 || v->producer >= m->n_nodes)
        return ingot_fail(st, "value %d '%s': producer node %d is outside [-1, %d)", i, name,
                          v->producer, m->n_nodes);
    if (v->kind != IR_VALUE_CONST) return INGOT_OK;
    if (!ing_dtype_valid(v->t.dtype))
        return ingot_fail(st, "constant %d '%s': dtype %d is not one ingot stores", i, name,
                          v->t.dtype);
    size_t bytes;
    if (!tensor_bytes(v->t.dtype, v->t.rank, v->t.dims, &bytes)) {
        char sh[96];
        return ingot_fail(st, "constant %d '%s': shape %s is not a known shape of addressable "
                          "size", i, name, ing_shape_str(&v->t, sh, sizeof sh));
    }
    if (bytes != v->const_bytes) {
        char sh[96];
        return ingot_fail(st, "constant %d '%s': %zu bytes of data, its %s %s shape needs %zu", i,
                          name, v->const_bytes, ingot_dtype_name((ingot_dtype)v->t.dtype),
                          ing_shape_str(&v->t, sh, sizeof sh), bytes);
    }
    if (need_data && v->const_bytes && !v->t.data)
        return ingot_fail(st, "constant %d '%s': %zu bytes but no data", i, name, v->const_bytes);
    return INGOT_OK;
}

static ingot_status validate_bodies(ingot_status st, const ir_model *m)
{
    ingot_status rc = INGOT_OK;
    int32_t *owner = NULL;
    if (m->n_bodies == 0) return INGOT_OK;
    if (m->bodies[0].parent_node != -1)
        return ingot_fail(st, "body 0 (the main graph) has parent node %d, expected -1",
                          m->bodies[0].parent_node);
    owner = ing_malloc((size_t)(m->n_nodes > 0 ? m->n_nodes : 1) * sizeof *owner);
    if (!owner) return ingot_fail(INGOT_ERR_NOMEM, "out of memory checking %d nodes", m->n_nodes);
    for (int32_t k = 0; k < m->n_nodes; k++) owner[k] = -1;
    for (int32_t b = 0; b < m->n_bodies; b++) {
        const ir_body *y = &m->bodies[b];
        if (b > 0 && (y->parent_node < 0 || y->parent_node >= m->n_nodes)) {
            rc = ingot_fail(st, "body %d: parent node %d is outside [0, %d)", b, y->parent_node,
                            m->n_nodes);
            goto done;
        }
        if (y->n_nodes < 0 || y->n_in < 0 || y->n_out < 0 || (y->n_nodes && !y->nodes) ||
            (y->n_in && !y->in) || (y->n_out && !y->out)) {
            rc = ingot_fail(st, "body %d: counts %d nodes, %d inputs, %d outputs without arrays",
                            b, y->n_nodes, y->n_in, y->n_out);
            goto done;
        }
        for (int32_t k = 0; k < y->n_nodes; k++) {
            int32_t id = y->nodes[k];
            if (id < 0 || id >= m->n_nodes) {
                rc = ingot_fail(st, "body %d node %d: node id %d is outside [0, %d)", b, k, id,
                                m->n_nodes);
                goto done;
            }
            if (owner[id] != -1) {
                rc = ingot_fail(st, "body %d node %d: node %d '%s' is already in body %d; a node "
                                "runs in one body", b, k, id, m->nodes[id].name, owner[id]);
                goto done;
            }
            owner[id] = b;
        }
        for (int32_t k = 0; k < y->n_in + y->n_out; k++) {
            int32_t id = k < y->n_in ? y->in[k] : y->out[k - y->n_in];
            if (id < -1 || id >= m->n_values) {
                rc = ingot_fail(st, "body %d %s %d: value id %d is outside [-1, %d)", b,
                                k < y->n_in ? "input" : "output", k < y->n_in ? k : k - y->n_in,
                                id, m->n_values);
                goto done;
            }
        }
    }
    /* A subgraph's parent node runs in an enclosing body; following parents must reach the
     * main graph (or a node that runs nowhere) within the depth limit, else bodies nest in a
     * cycle and an executor would recurse forever. */
    for (int32_t b = 1; b < m->n_bodies; b++) {
        int32_t cur = b, depth = 0;
        while (cur > 0) {
            cur = owner[m->bodies[cur].parent_node];
            if (++depth > ENGINE_MAX_BODY_DEPTH) {
                rc = ingot_fail(st, "body %d: subgraphs nest deeper than %d levels or in a cycle",
                                b, ENGINE_MAX_BODY_DEPTH);
                goto done;
            }
        }
    }
done:
    ing_free(owner);
    return rc;
}

/* need_data = 0: constants may have no bytes yet (metadata decoded without the weights). */
/* Each profile names a distinct graph input of its rank, 0 <= min <= opt <= max, and agrees
 * with the dims the input fixes. */
static ingot_status validate_profiles(const engine_plan *p, ingot_status st)
{
    const ir_model *m = p->model;
    if (p->n_profiles && !p->profiles) return ingot_fail(st, "%d input profiles without an array", p->n_profiles);
    if (p->n_profiles && !p->planned_bytes) return ingot_fail(st, "input profiles without planned slot sizes");
    const ir_body *b = m->n_bodies ? &m->bodies[0] : NULL;
    for (int32_t k = 0; k < p->n_profiles; k++) {
        const engine_profile *pr = &p->profiles[k];
        int is_input = 0;
        for (int32_t i = 0; b && i < b->n_in; i++) is_input |= b->in[i] == pr->value;
        if (!is_input) return ingot_fail(st, "input profile %d names value %d, which is not a graph input", k, pr->value);
        for (int32_t q = 0; q < k; q++)
            if (p->profiles[q].value == pr->value) return ingot_fail(st, "input profiles %d and %d name the same input", q, k);
        const ir_value *v = &m->values[pr->value];
        if (v->t.rank != pr->rank)
            return ingot_fail(st, "input profile of '%s' has rank %d, the input has rank %d", v->name, pr->rank, v->t.rank);
        for (int32_t d = 0; d < pr->rank; d++) {
            if (!(0 <= pr->min[d] && pr->min[d] <= pr->opt[d] && pr->opt[d] <= pr->max[d]))
                return ingot_fail(st, "input profile of '%s': dim %d has min %" PRId64 ", opt %" PRId64 ", max %" PRId64
                                  "; need 0 <= min <= opt <= max", v->name, d, pr->min[d], pr->opt[d], pr->max[d]);
            if (v->t.dims[d] >= 0 && (pr->min[d] != v->t.dims[d] || pr->max[d] != v->t.dims[d]))
                return ingot_fail(st, "input profile of '%s': dim %d ranges over [%" PRId64 ", %" PRId64 "], the input "
                                  "fixes it to %" PRId64, v->name, d, pr->min[d], pr->max[d], v->t.dims[d]);
        }
    }
    return INGOT_OK;
}

static ingot_status validate_plan(const engine_plan *p, ingot_status st, int need_data)
{
    if (!p || !p->model) return ingot_fail(st, "the plan has no model");
    const ir_model *m = p->model;
    if (m->n_values < 0 || m->n_nodes < 0 || m->n_bodies < 0 ||
        (m->n_values && !m->values) || (m->n_nodes && !m->nodes) || (m->n_bodies && !m->bodies))
        return ingot_fail(st, "model counts %d values, %d nodes, %d bodies without arrays",
                          m->n_values, m->n_nodes, m->n_bodies);
    for (int32_t i = 0; i < m->n_values; i++) ING_TRY(validate_value(st, m, i, need_data));
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const ir_node *n = &m->nodes[i];
        if (!n->name || !n->op || !n->domain)
            return ingot_fail(st, "node %d has no name, op or domain", i);
        if (n->n_in < 0 || n->n_out < 0 || n->n_attr < 0 || (n->n_in && !n->in) ||
            (n->n_out && !n->out) || (n->n_attr && !n->attrs))
            return ingot_fail(st, "node %d '%s': counts %d inputs, %d outputs, %d attributes "
                              "without arrays", i, n->name, n->n_in, n->n_out, n->n_attr);
        for (int32_t k = 0; k < n->n_in; k++)
            ING_TRY(check_id(st, n->in[k], m->n_values, "node", i, n->name, "input", k));
        for (int32_t k = 0; k < n->n_out; k++)
            ING_TRY(check_id(st, n->out[k], m->n_values, "node", i, n->name, "output", k));
        for (int32_t k = 0; k < n->n_attr; k++) ING_TRY(validate_attr(st, m, n, i, &n->attrs[k]));
    }
    ING_TRY(validate_bodies(st, m));
    if (p->steps)
        for (int32_t i = 0; i < m->n_nodes; i++)
        {
            const engine_step_info *s = &p->steps[i];
            if (s->params_len && !s->params)
                return ingot_fail(st, "step %d (node '%s'): %zu parameter bytes but no data", i,
                                  m->nodes[i].name, s->params_len);
            /* a CUDA step's parameters are its tactic (engine/tactic.h) */
            if (s->params_len && s->kernel && tactic_kernel(s->kernel)) {
                char what[160];
                engine_tactic t;
                snprintf(what, sizeof what, "step %d (node '%s', %s)", i, m->nodes[i].name, s->kernel);
                ING_TRY(tactic_decode(s->params, s->params_len, what, &t));
            }
        }
    ING_TRY(validate_profiles(p, st));
    if (p->arena_offset)
        for (int32_t i = 0; i < m->n_values; i++) {
            const ir_value *v = &m->values[i];
            int64_t off = p->arena_offset[i];
            size_t bytes = 0;
            if (p->planned_bytes) {
                int64_t pb = p->planned_bytes[i];
                if (pb < -1 || (off == -1) != (pb == -1) ||
                    (off >= 0 && pb >= 0 && ((uint64_t)off > p->arena_bytes || (uint64_t)pb > p->arena_bytes - (uint64_t)off)))
                    return ingot_fail(st, "memory plan: value %d '%s' has a %" PRId64 "-byte slot at arena offset %"
                                      PRId64 "; slots are -1 exactly where offsets are -1 and lie inside the arena's %"
                                      PRIu64 " bytes", i, v->name, pb, off, p->arena_bytes);
            }
            if (off == -1) continue;
            if (off < 0 || (uint64_t)off > p->arena_bytes)
                return ingot_fail(st, "memory plan: value %d '%s' at arena offset %" PRId64
                                  ", allowed -1 or [0, %" PRIu64 "] (the arena size)", i,
                                  v->name, off, p->arena_bytes);
            if (ing_dtype_valid(v->t.dtype) &&
                tensor_bytes(v->t.dtype, v->t.rank, v->t.dims, &bytes) &&
                bytes > p->arena_bytes - (uint64_t)off)
                return ingot_fail(st, "memory plan: value %d '%s' needs %zu bytes at arena offset "
                                  "%" PRId64 ", past the arena's %" PRIu64 " bytes", i, v->name,
                                  bytes, off, p->arena_bytes);
        }
    return INGOT_OK;
}

ingot_status engine_plan_validate(const engine_plan *p, ingot_status st)
{
    return validate_plan(p, st, 1);
}

/* For the streaming writer (stream.h), whose constants get their bytes while being written. */
ingot_status engine_plan_validate_layout(const engine_plan *p, ingot_status st)
{
    return validate_plan(p, st, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Target                                                                                    */

ingot_status engine_check_target(const engine_target *t)
{
    if (!t) return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_check_target: target is NULL");
    if (t->backend < 0 || t->backend >= INGOT_BACKEND_COUNT)
        return ingot_fail(INGOT_ERR_BACKEND, "engine targets backend %d, which this build of "
                          "ingot %s does not know (0 = cpu, 1 = cuda); it was built by a newer "
                          "ingot", t->backend, ingot_version());
    if (t->precision < 0 || t->precision >= INGOT_PRECISION_COUNT)
        return ingot_fail(INGOT_ERR_VERSION, "engine uses precision %d, which this build of "
                          "ingot %s does not know (0..%d); it was built by a newer ingot",
                          t->precision, ingot_version(), INGOT_PRECISION_COUNT - 1);
    if (t->backend == INGOT_BACKEND_CUDA) {
#ifndef INGOT_WITH_CUDA
        return ingot_fail(INGOT_ERR_BACKEND, "engine targets backend cuda (sm_%d, CUDA runtime "
                          "%d.%d, cuDNN %d, cuBLASLt %d); this build of ingot %s has no CUDA "
                          "backend (built with INGOT_CUDA=OFF or without nvcc); rebuild ingot "
                          "with CUDA or build a cpu engine", t->gpu_sm, t->cuda_runtime / 1000,
                          (t->cuda_runtime % 1000) / 10, t->cudnn, t->cublaslt, ingot_version());
#endif
    }
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Header                                                                                    */

ingot_status engine_header_read(const void *header, size_t avail, uint64_t file_size,
                                 engine_header_v1 *out)
{
    const uint8_t *b = header;
    engine_header_v1 h;
    if (!header && avail) return ingot_fail(INGOT_ERR_INVALID_ARG, "engine header: NULL bytes");
    if ((uint64_t)avail > file_size) avail = (size_t)file_size;
    if (avail < ENGINE_MAGIC_LEN)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: the file has %zu bytes, fewer than "
                          "the %d-byte magic; not an engine, or truncated", avail,
                          ENGINE_MAGIC_LEN);
    if (memcmp(b, ENGINE_MAGIC, ENGINE_MAGIC_LEN) != 0) {
        char shown[ENGINE_MAGIC_LEN * 4 + 1];
        size_t k = 0;
        for (int i = 0; i < ENGINE_MAGIC_LEN; i++)
            k += (size_t)snprintf(shown + k, sizeof shown - k,
                                  b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' ? "%c" : "\\x%02x",
                                  b[i]);
        return ingot_fail(INGOT_ERR_CORRUPT, "not an ingot engine: magic is \"%s\", expected "
                          "\"%s\"", shown, ENGINE_MAGIC);
    }
    if (avail < offsetof(engine_header_v1, header_size))
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: the file has %zu bytes, the format "
                          "version needs %zu; the engine is truncated", avail,
                          offsetof(engine_header_v1, header_size));
    uint32_t version;
    memcpy(&version, b + offsetof(engine_header_v1, format_version), sizeof version);
    if (version != ENGINE_FORMAT_VERSION)
        return ingot_fail(INGOT_ERR_VERSION, "engine format version %u is %s than the version "
                          "this build of ingot %s reads (%u); %s", version,
                          version > ENGINE_FORMAT_VERSION ? "newer" : "older", ingot_version(),
                          ENGINE_FORMAT_VERSION,
                          version > ENGINE_FORMAT_VERSION
                              ? "upgrade ingot or rebuild the engine with this version"
                              : "rebuild the engine from its model with this version");
    if (avail < ENGINE_HEADER_SIZE)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: the file has %zu bytes, the v%u "
                          "header needs %u; the engine is truncated", avail,
                          ENGINE_FORMAT_VERSION, ENGINE_HEADER_SIZE);
    memcpy(&h, b, sizeof h);
    if (h.header_size != ENGINE_HEADER_SIZE)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: header size %u, a v%u header is %u "
                          "bytes", h.header_size, ENGINE_FORMAT_VERSION, ENGINE_HEADER_SIZE);
    uint64_t hh = XXH3_64bits(b, ENGINE_HEADER_HASHED_BYTES);
    if (hh != h.header_hash)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: checksum 0x%016" PRIx64 " does not "
                          "match the stored 0x%016" PRIx64 "; the header is corrupt", hh,
                          h.header_hash);
    if (file_size == ENGINE_SIZE_UNKNOWN) file_size = h.file_size; /* a stream of unknown length */
    if (memchr(h.builder_version, '\0', sizeof h.builder_version) == NULL)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: builder version is not terminated "
                          "within its %d bytes", ENGINE_BUILDER_VERSION_LEN);
    if (h.metadata_offset != h.header_size)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: metadata offset %" PRIu64 ", the "
                          "metadata follows the header at %u", h.metadata_offset, h.header_size);
    if (h.metadata_size > file_size - h.metadata_offset)
        return ingot_fail(INGOT_ERR_CORRUPT, "metadata section [%" PRIu64 ", +%" PRIu64 ") lies "
                          "outside the file (%" PRIu64 " bytes); the engine is truncated or "
                          "corrupt", h.metadata_offset, h.metadata_size, file_size);
    if (h.weights_offset % ENGINE_WEIGHTS_ALIGN != 0)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight section offset %" PRIu64 " is not a "
                          "multiple of %u", h.weights_offset, ENGINE_WEIGHTS_ALIGN);
    if (h.weights_offset < h.metadata_offset + h.metadata_size)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight section starts at %" PRIu64 ", inside the "
                          "metadata [%" PRIu64 ", %" PRIu64 ")", h.weights_offset,
                          h.metadata_offset, h.metadata_offset + h.metadata_size);
    /* meta_end <= file_size (checked above); rounding up cannot wrap unless the file claims
     * the last 4 KiB of the 64-bit range, which the first comparison rejects. */
    uint64_t meta_end = h.metadata_offset + h.metadata_size;
    uint64_t want = (meta_end + ENGINE_WEIGHTS_ALIGN - 1) / ENGINE_WEIGHTS_ALIGN * ENGINE_WEIGHTS_ALIGN;
    if (meta_end > UINT64_MAX - ENGINE_WEIGHTS_ALIGN || h.weights_offset != want)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight section starts at %" PRIu64 ", expected %"
                          PRIu64 " (the metadata's end, %" PRIu64 ", rounded up to %u)",
                          h.weights_offset, want, meta_end, ENGINE_WEIGHTS_ALIGN);
    if (h.weights_offset > file_size || h.weights_size > file_size - h.weights_offset)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight section [%" PRIu64 ", +%" PRIu64 ") lies "
                          "outside the file (%" PRIu64 " bytes); the engine is truncated or "
                          "corrupt", h.weights_offset, h.weights_size, file_size);
    if (h.file_size != file_size)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine header: file size %" PRIu64 ", but the file "
                          "has %" PRIu64 " bytes; the engine is truncated or has trailing bytes",
                          h.file_size, file_size);
    if (h.weights_offset + h.weights_size != h.file_size)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight section ends at %" PRIu64 ", the file at %"
                          PRIu64 "; the weight section is the last section",
                          h.weights_offset + h.weights_size, h.file_size);
    *out = h;
    return INGOT_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Metadata decoding                                                                         */

typedef struct rd {
    const uint8_t *p;
    size_t n, pos;
    char ctx[192]; /* the object being decoded, for messages */
} rd;

static size_t rd_left(const rd *r) { return r->n - r->pos; }

static ingot_status rd_bytes(rd *r, void *dst, size_t k, const char *what)
{
    if (k > rd_left(r))
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: %s needs %zu bytes at metadata byte %zu, %zu "
                          "left; the metadata is truncated or corrupt", r->ctx, what, k, r->pos,
                          rd_left(r));
    if (k) memcpy(dst, r->p + r->pos, k);
    r->pos += k;
    return INGOT_OK;
}

#define RD(r, var, what) ING_TRY(rd_bytes((r), &(var), sizeof(var), (what)))

/* A u32 count of entries of at least min_each bytes: bounded by INT32_MAX and by the bytes
 * left, so no allocation is larger than a small multiple of the file. */
static ingot_status rd_count(rd *r, uint32_t *out, size_t min_each, const char *what)
{
    uint32_t n = 0;
    RD(r, n, what);
    if (n > INT32_MAX || (uint64_t)n * min_each > rd_left(r))
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: %s %u needs at least %" PRIu64 " bytes, the "
                          "metadata has %zu left; the count is corrupt", r->ctx, what, n,
                          (uint64_t)n * min_each, rd_left(r));
    *out = n;
    return INGOT_OK;
}

/* A str (or ostr when allow_null). names forbid NUL bytes inside (they are C strings). */
static ingot_status rd_str(rd *r, char **out, size_t *len_out, int allow_nul, int allow_null,
                           const char *what)
{
    uint32_t len = 0;
    RD(r, len, what);
    if (allow_null && len == ENGINE_STR_NULL) {
        *out = NULL;
        if (len_out) *len_out = 0;
        return INGOT_OK;
    }
    if (len > rd_left(r))
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: %s of %u bytes at metadata byte %zu, %zu left; "
                          "the metadata is truncated or corrupt", r->ctx, what, len, r->pos,
                          rd_left(r));
    if (!allow_nul && memchr(r->p + r->pos, '\0', len))
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: %s of %u bytes holds a NUL byte", r->ctx, what,
                          len);
    char *s = ing_malloc((size_t)len + 1);
    if (!s) return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %s (%u bytes)", r->ctx,
                              what, len);
    memcpy(s, r->p + r->pos, len);
    s[len] = '\0';
    r->pos += len;
    *out = s;
    if (len_out) *len_out = len;
    return INGOT_OK;
}

/* An array of n i32 ids into *out (allocated with room for cap entries, cap >= n). */
static ingot_status rd_ids(rd *r, int32_t **out, uint32_t n, size_t cap, const char *what)
{
    int32_t *a = ing_malloc((cap ? cap : 1) * sizeof *a);
    if (!a) return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %u %s", r->ctx, n, what);
    ingot_status st = rd_bytes(r, a, (size_t)n * sizeof *a, what);
    if (st != INGOT_OK) {
        ing_free(a);
        return st;
    }
    *out = a;
    return INGOT_OK;
}

static ingot_status rd_dims(rd *r, int32_t rank, int allow_unknown_rank, int64_t *dims)
{
    if (rank < (allow_unknown_rank ? -1 : 0) || rank > IR_MAX_RANK)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: rank %d is outside [%d, %d]", r->ctx, rank,
                          allow_unknown_rank ? -1 : 0, IR_MAX_RANK);
    for (int32_t d = 0; d < rank; d++) {
        RD(r, dims[d], "dims");
        if (dims[d] < -1)
            return ingot_fail(INGOT_ERR_CORRUPT, "%s: dim %d is %" PRId64 ", allowed >= 0 or -1 "
                              "(unknown)", r->ctx, d, dims[d]);
    }
    return INGOT_OK;
}

typedef struct weights {
    const uint8_t *base; /* image + weights_offset */
    uint64_t size;
} weights;

static ingot_status rd_value(rd *r, ir_value *v, int32_t i, const weights *w, engine_blob *blob)
{
    uint8_t kind = 0, mask = 0;
    uint16_t reserved = 0;
    snprintf(r->ctx, sizeof r->ctx, "value %d", i);
    ING_TRY(rd_str(r, &v->name, NULL, 0, 0, "name"));
    snprintf(r->ctx, sizeof r->ctx, "value %d '%.120s'", i, v->name);
    RD(r, kind, "kind");
    RD(r, mask, "dim-name mask");
    RD(r, reserved, "reserved field");
    RD(r, v->t.dtype, "dtype");
    RD(r, v->t.rank, "rank");
    v->kind = kind;
    if (kind > IR_VALUE_BODY_INPUT)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: kind %u is not a value kind (0..3)", r->ctx,
                          kind);
    ING_TRY(rd_dims(r, v->t.rank, 1, v->t.dims));
    int32_t rank = v->t.rank > 0 ? v->t.rank : 0;
    if (rank < 8 && (mask >> rank) != 0)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: dim-name mask 0x%02x names dims past rank %d",
                          r->ctx, mask, v->t.rank);
    for (int32_t d = 0; d < rank; d++)
        if (mask & (1u << d)) ING_TRY(rd_str(r, &v->dim_params[d], NULL, 0, 0, "dim name"));
    RD(r, v->producer, "producer");
    if (kind != IR_VALUE_CONST) return INGOT_OK;
    engine_blob_ref ref;
    RD(r, ref.offset, "blob offset");
    RD(r, ref.bytes, "blob size");
    RD(r, ref.hash, "blob checksum");
    if (ref.offset % ENGINE_BLOB_ALIGN != 0)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight '%.120s' (value %d): blob offset %" PRIu64
                          " is not a multiple of %u", v->name, i, ref.offset, ENGINE_BLOB_ALIGN);
    if (ref.offset > w->size || ref.bytes > w->size - ref.offset || ref.bytes > SIZE_MAX)
        return ingot_fail(INGOT_ERR_CORRUPT, "weight '%.120s' (value %d): bytes [%" PRIu64 ", +%"
                          PRIu64 ") lie outside the weight section (%" PRIu64 " bytes); the "
                          "engine is truncated or corrupt", v->name, i, ref.offset, ref.bytes,
                          w->size);
    v->t.data = w->base ? (void *)(uintptr_t)(w->base + ref.offset) : NULL;
    v->const_bytes = (size_t)ref.bytes;
    v->owns_data = 0;
    blob->value = i;
    blob->offset = ref.offset;
    blob->bytes = ref.bytes;
    blob->hash = ref.hash;
    return INGOT_OK;
}

static ingot_status rd_attr(rd *r, ir_attr *a, int32_t ni, const char *node, int32_t k)
{
    uint32_t type = 0, n = 0;
    snprintf(r->ctx, sizeof r->ctx, "node %d '%.80s' attribute %d", ni, node, k);
    ING_TRY(rd_str(r, &a->name, NULL, 0, 0, "name"));
    snprintf(r->ctx, sizeof r->ctx, "node %d '%.80s' attribute '%.60s'", ni, node, a->name);
    RD(r, type, "type");
    switch (type) {
    case IR_ATTR_FLOAT: RD(r, a->f, "float"); break;
    case IR_ATTR_INT: RD(r, a->i, "int"); break;
    case IR_ATTR_GRAPH: RD(r, a->body, "body id"); break;
    case IR_ATTR_STRING: ING_TRY(rd_str(r, &a->s, &a->s_len, 1, 0, "string")); break;
    case IR_ATTR_FLOATS:
        ING_TRY(rd_count(r, &n, sizeof(float), "float count"));
        if (!(a->floats = ing_malloc((size_t)(n ? n : 1) * sizeof(float))))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %u floats", r->ctx, n);
        a->n = n;
        ING_TRY(rd_bytes(r, a->floats, (size_t)n * sizeof(float), "floats"));
        break;
    case IR_ATTR_INTS:
        ING_TRY(rd_count(r, &n, sizeof(int64_t), "int count"));
        if (!(a->ints = ing_malloc((size_t)(n ? n : 1) * sizeof(int64_t))))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %u ints", r->ctx, n);
        a->n = n;
        ING_TRY(rd_bytes(r, a->ints, (size_t)n * sizeof(int64_t), "ints"));
        break;
    case IR_ATTR_STRINGS:
        ING_TRY(rd_count(r, &n, sizeof(uint32_t), "string count"));
        if (!(a->strings = ing_calloc(n ? n : 1, sizeof(char *))))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %u strings", r->ctx, n);
        a->n = n;
        for (uint32_t s = 0; s < n; s++) ING_TRY(rd_str(r, &a->strings[s], NULL, 0, 0, "string"));
        break;
    case IR_ATTR_TENSOR: {
        uint64_t nbytes = 0;
        RD(r, a->t.dtype, "tensor dtype");
        RD(r, a->t.rank, "tensor rank");
        ING_TRY(rd_dims(r, a->t.rank, 0, a->t.dims));
        RD(r, nbytes, "tensor size");
        if (nbytes > rd_left(r))
            return ingot_fail(INGOT_ERR_CORRUPT, "%s: tensor of %" PRIu64 " bytes at metadata "
                              "byte %zu, %zu left; the size is corrupt", r->ctx, nbytes, r->pos,
                              rd_left(r));
        if (!(a->t.data = ing_malloc((size_t)nbytes)))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for a %" PRIu64 "-byte tensor",
                              r->ctx, nbytes);
        a->t_bytes = (size_t)nbytes;
        ING_TRY(rd_bytes(r, a->t.data, (size_t)nbytes, "tensor data"));
        break;
    }
    default:
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: type %u is not an attribute type (1..8)",
                          r->ctx, type);
    }
    a->type = (int32_t)type;
    return INGOT_OK;
}

static ingot_status rd_node(rd *r, ir_node *n, int32_t i)
{
    uint32_t cnt = 0;
    snprintf(r->ctx, sizeof r->ctx, "node %d", i);
    ING_TRY(rd_str(r, &n->name, NULL, 0, 0, "name"));
    snprintf(r->ctx, sizeof r->ctx, "node %d '%.120s'", i, n->name);
    ING_TRY(rd_str(r, &n->op, NULL, 0, 0, "op"));
    ING_TRY(rd_str(r, &n->domain, NULL, 0, 0, "domain"));
    RD(r, n->opset, "opset");
    ING_TRY(rd_count(r, &cnt, sizeof(int32_t), "input count"));
    ING_TRY(rd_ids(r, &n->in, cnt, cnt, "inputs"));
    n->n_in = (int32_t)cnt;
    ING_TRY(rd_count(r, &cnt, sizeof(int32_t), "output count"));
    ING_TRY(rd_ids(r, &n->out, cnt, cnt, "outputs"));
    n->n_out = (int32_t)cnt;
    ING_TRY(rd_count(r, &cnt, ENGINE_MIN_ATTR_BYTES, "attribute count"));
    if (cnt) {
        if (!(n->attrs = ing_calloc(cnt, sizeof(ir_attr))))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %u attributes", r->ctx, cnt);
        n->n_attr = (int32_t)cnt;
    }
    for (uint32_t k = 0; k < cnt; k++) ING_TRY(rd_attr(r, &n->attrs[k], i, n->name, (int32_t)k));
    ING_TRY(rd_count(r, &cnt, sizeof(uint32_t), "origin count"));
    if (cnt) {
        if (!(n->origin = ing_calloc(cnt, sizeof(char *))))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %u origin names", r->ctx, cnt);
        n->n_origin = (int32_t)cnt;
    }
    for (uint32_t k = 0; k < cnt; k++) ING_TRY(rd_str(r, &n->origin[k], NULL, 0, 0, "origin name"));
    return INGOT_OK;
}

/* ir_body_push infers capacity as the next power of two at or above the count. */
static size_t pow2_cap(uint32_t n)
{
    size_t c = 1;
    while (c < n) c *= 2;
    return c;
}

static ingot_status rd_body(rd *r, ir_body *b, int32_t i)
{
    uint32_t cnt = 0;
    snprintf(r->ctx, sizeof r->ctx, "body %d", i);
    RD(r, b->parent_node, "parent node");
    ING_TRY(rd_count(r, &cnt, sizeof(int32_t), "node count"));
    ING_TRY(rd_ids(r, &b->nodes, cnt, pow2_cap(cnt), "nodes"));
    b->n_nodes = (int32_t)cnt;
    ING_TRY(rd_count(r, &cnt, sizeof(int32_t), "input count"));
    ING_TRY(rd_ids(r, &b->in, cnt, pow2_cap(cnt), "inputs"));
    b->n_in = (int32_t)cnt;
    ING_TRY(rd_count(r, &cnt, sizeof(int32_t), "output count"));
    ING_TRY(rd_ids(r, &b->out, cnt, pow2_cap(cnt), "outputs"));
    b->n_out = (int32_t)cnt;
    return INGOT_OK;
}

static ingot_status rd_step(rd *r, engine_step_info *s, int32_t i)
{
    uint64_t len = 0;
    snprintf(r->ctx, sizeof r->ctx, "step %d", i);
    ING_TRY(rd_str(r, &s->kernel, NULL, 0, 1, "kernel name"));
    RD(r, len, "parameter size");
    if (len > rd_left(r))
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: %" PRIu64 " parameter bytes at metadata byte "
                          "%zu, %zu left; the size is corrupt", r->ctx, len, r->pos, rd_left(r));
    if (len) {
        if (!(s->params = ing_malloc((size_t)len)))
            return ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %" PRIu64 " parameter "
                              "bytes", r->ctx, len);
        s->params_len = (size_t)len;
        ING_TRY(rd_bytes(r, s->params, (size_t)len, "parameters"));
    }
    return INGOT_OK;
}

static int blob_cmp(const void *a, const void *b)
{
    const engine_blob *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset ? 1 : 0;
}

/* Blobs lie inside the weight section (checked per value); here: no two overlap. */
static ingot_status check_overlap(const ir_model *m, const engine_blob *blobs, int32_t n)
{
    engine_blob *s;
    ingot_status st = INGOT_OK;
    if (n < 2) return INGOT_OK;
    if (!(s = ing_malloc((size_t)n * sizeof *s)))
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory sorting %d weight blobs", n);
    memcpy(s, blobs, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, blob_cmp);
    const engine_blob *prev = NULL;
    for (int32_t k = 0; k < n; k++) {
        if (s[k].bytes == 0) continue; /* empty blobs cannot overlap anything */
        if (prev && prev->offset + prev->bytes > s[k].offset) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "weights '%.100s' [%" PRIu64 ", +%" PRIu64 ") and "
                            "'%.100s' [%" PRIu64 ", +%" PRIu64 ") overlap in the weight section",
                            m->values[prev->value].name, prev->offset, prev->bytes,
                            m->values[s[k].value].name, s[k].offset, s[k].bytes);
            break;
        }
        prev = &s[k];
    }
    ing_free(s);
    return st;
}

/* The first non-zero byte in [p, p + n), or -1. */
static int64_t nonzero_at(const uint8_t *p, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++)
        if (p[k]) return (int64_t)k;
    return -1;
}

/* Padding between blobs and after the last one is zero (checked with the weights, since it
 * reads the whole section). Blobs are already known not to overlap. */
static ingot_status check_blob_padding(const ir_model *m, const uint8_t *base, uint64_t size,
                                       const engine_blob *blobs, int32_t n)
{
    engine_blob *s = NULL;
    ingot_status st = INGOT_OK;
    uint64_t cur = 0;
    if (n > 0) {
        if (!(s = ing_malloc((size_t)n * sizeof *s)))
            return ingot_fail(INGOT_ERR_NOMEM, "out of memory sorting %d weight blobs", n);
        memcpy(s, blobs, (size_t)n * sizeof *s);
        qsort(s, (size_t)n, sizeof *s, blob_cmp);
    }
    for (int32_t k = 0; k <= n; k++) {
        uint64_t next = k < n ? s[k].offset : size;
        if (k < n && s[k].bytes == 0) continue;
        int64_t z = next > cur ? nonzero_at(base + cur, next - cur) : -1;
        if (z >= 0) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "weight section: padding byte at offset %" PRIu64
                            " (before %s%.100s%s) is 0x%02x, padding must be zero; the weight "
                            "section is corrupt", cur + (uint64_t)z, k < n ? "weight '" : "",
                            k < n ? m->values[s[k].value].name : "the end",
                            k < n ? "'" : "", base[cur + (uint64_t)z]);
            break;
        }
        if (k < n) cur = s[k].offset + s[k].bytes;
    }
    ing_free(s);
    return st;
}

static ingot_status verify_blobs(const ir_model *m, const engine_blob *blobs, int32_t n)
{
    for (int32_t k = 0; k < n; k++) {
        const ir_value *v = &m->values[blobs[k].value];
        uint64_t h = XXH3_64bits(v->t.data, v->const_bytes);
        if (h != blobs[k].hash)
            return ingot_fail(INGOT_ERR_CORRUPT, "weight '%.120s' (value %d): checksum 0x%016"
                              PRIx64 " does not match the stored 0x%016" PRIx64 "; the weight "
                              "section is corrupt", v->name, blobs[k].value, h, blobs[k].hash);
    }
    return INGOT_OK;
}

/* Decode the metadata of h. wbase: the weight section's bytes, or NULL when the caller brings
 * the weights later (constants then have data NULL and verify must be 0). */
static ingot_status decode(const engine_header_v1 *h, const uint8_t *meta, const uint8_t *wbase,
                           int verify, engine_plan **out, engine_blob **out_blobs,
                           int32_t *out_n_blobs)
{
    ingot_status st;
    ir_model *m = NULL;
    engine_plan *p = NULL;
    engine_blob *blobs = NULL;
    int32_t n_blobs = 0;
    engine_meta_prefix pre;
    rd r = {.p = meta, .n = (size_t)h->metadata_size, .pos = 0};
    weights w = {.base = wbase, .size = h->weights_size};
    snprintf(r.ctx, sizeof r.ctx, "engine metadata");

    if ((st = rd_bytes(&r, &pre, sizeof pre, "prefix")) != INGOT_OK) return st;
    if (pre.flags & ~ENGINE_META_KNOWN_FLAGS)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: flags 0x%x has bits this reader "
                          "does not know (known 0x%x)", pre.flags, ENGINE_META_KNOWN_FLAGS);
    /* Counts against the bytes left, before any allocation. */
    struct { uint32_t n; uint64_t min; const char *what; } counts[] = {
        {pre.n_values, ENGINE_MIN_VALUE_BYTES, "value count"},
        {pre.n_nodes, ENGINE_MIN_NODE_BYTES, "node count"},
        {pre.n_bodies, ENGINE_MIN_BODY_BYTES, "body count"},
    };
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
        if (counts[k].n > INT32_MAX || (uint64_t)counts[k].n * counts[k].min > rd_left(&r))
            return ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: %s %u needs at least %" PRIu64
                              " bytes, the metadata has %zu left; the count is corrupt",
                              counts[k].what, counts[k].n, (uint64_t)counts[k].n * counts[k].min,
                              rd_left(&r));

    if ((st = ir_model_create(&m)) != INGOT_OK) return st;
    if ((st = engine_plan_create(m, &p)) != INGOT_OK) {
        ir_model_destroy(m);
        return st;
    }
    m->opset = pre.opset;
    p->arena_bytes = pre.arena_bytes;
    p->target.backend = h->backend;
    p->target.precision = h->precision;
    p->target.gpu_sm = h->gpu_sm;
    p->target.cuda_runtime = h->cuda_runtime;
    p->target.cudnn = h->cudnn;
    p->target.cublaslt = h->cublaslt;
    memcpy(p->builder_version, h->builder_version, sizeof p->builder_version);
    p->builder_version[sizeof p->builder_version - 1] = '\0';

    if ((st = rd_str(&r, &m->producer, NULL, 0, 1, "producer")) != INGOT_OK) goto fail;
    if (pre.n_values) {
        m->values = ing_calloc(pre.n_values, sizeof(ir_value));
        blobs = ing_malloc((size_t)pre.n_values * sizeof *blobs);
        if (!m->values || !blobs) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u values", pre.n_values);
            goto fail;
        }
        m->n_values = m->cap_values = (int32_t)pre.n_values;
    }
    for (int32_t i = 0; i < m->n_values; i++) {
        ir_value *v = &m->values[i];
        if ((st = rd_value(&r, v, i, &w, &blobs[n_blobs])) != INGOT_OK) goto fail;
        if (v->kind == IR_VALUE_CONST) n_blobs++;
    }
    if (pre.n_nodes) {
        if ((uint64_t)pre.n_nodes * ENGINE_MIN_NODE_BYTES > rd_left(&r)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: node count %u needs at least %"
                            PRIu64 " bytes, %zu left after the values; the count is corrupt",
                            pre.n_nodes, (uint64_t)pre.n_nodes * ENGINE_MIN_NODE_BYTES,
                            rd_left(&r));
            goto fail;
        }
        if (!(m->nodes = ing_calloc(pre.n_nodes, sizeof(ir_node)))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u nodes", pre.n_nodes);
            goto fail;
        }
        m->n_nodes = m->cap_nodes = (int32_t)pre.n_nodes;
    }
    for (int32_t i = 0; i < m->n_nodes; i++)
        if ((st = rd_node(&r, &m->nodes[i], i)) != INGOT_OK) goto fail;
    if (pre.n_bodies) {
        if ((uint64_t)pre.n_bodies * ENGINE_MIN_BODY_BYTES > rd_left(&r)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: body count %u needs at least %"
                            PRIu64 " bytes, %zu left after the nodes; the count is corrupt",
                            pre.n_bodies, (uint64_t)pre.n_bodies * ENGINE_MIN_BODY_BYTES,
                            rd_left(&r));
            goto fail;
        }
        if (!(m->bodies = ing_calloc(pre.n_bodies, sizeof(ir_body)))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u bodies", pre.n_bodies);
            goto fail;
        }
        m->n_bodies = m->cap_bodies = (int32_t)pre.n_bodies;
    }
    for (int32_t i = 0; i < m->n_bodies; i++)
        if ((st = rd_body(&r, &m->bodies[i], i)) != INGOT_OK) goto fail;
    if (pre.flags & ENGINE_META_HAS_STEPS) {
        if ((uint64_t)pre.n_nodes * ENGINE_MIN_STEP_BYTES > rd_left(&r)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: %u steps need at least %" PRIu64
                            " bytes, %zu left; the metadata is truncated or corrupt", pre.n_nodes,
                            (uint64_t)pre.n_nodes * ENGINE_MIN_STEP_BYTES, rd_left(&r));
            goto fail;
        }
        if (!(p->steps = ing_calloc(pre.n_nodes ? pre.n_nodes : 1, sizeof *p->steps))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u steps", pre.n_nodes);
            goto fail;
        }
        for (int32_t i = 0; i < m->n_nodes; i++)
            if ((st = rd_step(&r, &p->steps[i], i)) != INGOT_OK) goto fail;
    }
    if (pre.flags & ENGINE_META_HAS_ARENA) {
        size_t bytes = (size_t)pre.n_values * sizeof(int64_t);
        snprintf(r.ctx, sizeof r.ctx, "memory plan");
        if (bytes > rd_left(&r)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: memory plan of %u offsets needs "
                            "%zu bytes, %zu left; the metadata is truncated or corrupt",
                            pre.n_values, bytes, rd_left(&r));
            goto fail;
        }
        if (!(p->arena_offset = ing_malloc(bytes ? bytes : 1))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u arena offsets", pre.n_values);
            goto fail;
        }
        if ((st = rd_bytes(&r, p->arena_offset, bytes, "arena offsets")) != INGOT_OK) goto fail;
    }
    if (pre.flags & ENGINE_META_HAS_PROFILES) {
        uint32_t np = 0;
        snprintf(r.ctx, sizeof r.ctx, "input profiles");
        if (!(pre.flags & ENGINE_META_HAS_ARENA)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: input profiles without a memory plan (flags "
                            "0x%x); the metadata is corrupt", pre.flags);
            goto fail;
        }
        if ((st = rd_count(&r, &np, ENGINE_MIN_PROFILE_BYTES, "profile count")) != INGOT_OK) goto fail;
        if (!(p->profiles = ing_calloc(np ? np : 1, sizeof *p->profiles))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u input profiles", np);
            goto fail;
        }
        p->n_profiles = (int32_t)np;
        for (uint32_t k = 0; k < np; k++) {
            engine_profile *pr = &p->profiles[k];
            if ((st = rd_bytes(&r, &pr->value, sizeof pr->value, "profile input")) != INGOT_OK ||
                (st = rd_bytes(&r, &pr->rank, sizeof pr->rank, "profile rank")) != INGOT_OK)
                goto fail;
            if (pr->rank < 0 || pr->rank > IR_MAX_RANK) {
                st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: input profile %u has rank %d, allowed "
                                "0..%d; the metadata is corrupt", k, pr->rank, IR_MAX_RANK);
                goto fail;
            }
            size_t nb = (size_t)pr->rank * sizeof(int64_t);
            if ((st = rd_bytes(&r, pr->min, nb, "profile min")) != INGOT_OK ||
                (st = rd_bytes(&r, pr->opt, nb, "profile opt")) != INGOT_OK ||
                (st = rd_bytes(&r, pr->max, nb, "profile max")) != INGOT_OK)
                goto fail;
        }
        size_t bytes = (size_t)pre.n_values * sizeof(int64_t);
        if (!(p->planned_bytes = ing_malloc(bytes ? bytes : 1))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for %u planned sizes", pre.n_values);
            goto fail;
        }
        if ((st = rd_bytes(&r, p->planned_bytes, bytes, "planned slot sizes")) != INGOT_OK) goto fail;
    }
    if (rd_left(&r) != 0) {
        st = ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: %zu bytes left over after the last "
                        "record (metadata is %zu bytes); the metadata is corrupt", rd_left(&r),
                        r.n);
        goto fail;
    }
    if ((st = validate_plan(p, INGOT_ERR_CORRUPT, wbase != NULL)) != INGOT_OK) {
        if (st == INGOT_ERR_CORRUPT) ingot_fail_prefix(st, "engine metadata");
        goto fail;
    }
    if ((st = check_overlap(m, blobs, n_blobs)) != INGOT_OK) goto fail;
    if (verify && wbase && ((st = verify_blobs(m, blobs, n_blobs)) != INGOT_OK ||
                   (st = check_blob_padding(m, w.base, w.size, blobs, n_blobs)) != INGOT_OK))
        goto fail;

    *out = p;
    if (out_blobs) {
        *out_blobs = blobs;
        *out_n_blobs = n_blobs;
    } else {
        ing_free(blobs);
    }
    return INGOT_OK;
fail:
    ing_free(blobs);
    engine_plan_destroy(p);
    return st;
}

ingot_status engine_read_image_blobs(const void *image, size_t size, int verify_weights,
                                     engine_plan **out, engine_blob **blobs, int32_t *n_blobs)
{
    engine_header_v1 h;
    if (!out || (!image && size) || (blobs && !n_blobs))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_read_image: NULL argument");
    ING_TRY(engine_header_read(image, size, size, &h));
    const uint8_t *meta = (const uint8_t *)image + h.metadata_offset;
    uint64_t mh = XXH3_64bits(meta, (size_t)h.metadata_size);
    if (mh != h.metadata_hash)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: checksum 0x%016" PRIx64 " does not "
                          "match the stored 0x%016" PRIx64 " (metadata checksum mismatch); the "
                          "metadata is corrupt", mh, h.metadata_hash);
    /* The padding before the weight section is at most a page: always check it is zero. */
    uint64_t pad_at = h.metadata_offset + h.metadata_size;
    int64_t z = nonzero_at((const uint8_t *)image + pad_at, h.weights_offset - pad_at);
    if (z >= 0)
        return ingot_fail(INGOT_ERR_CORRUPT, "padding byte at file offset %" PRIu64 " (between "
                          "the metadata and the weight section) is 0x%02x, padding must be zero",
                          pad_at + (uint64_t)z, ((const uint8_t *)image)[pad_at + (uint64_t)z]);
    return decode(&h, meta, (const uint8_t *)image + h.weights_offset, verify_weights, out, blobs,
                  n_blobs);
}

ingot_status engine_read_metadata(const engine_header_v1 *h, const void *metadata,
                                  engine_plan **out, engine_blob **blobs, int32_t *n_blobs)
{
    if (!h || !out || !blobs || !n_blobs || (!metadata && h->metadata_size))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_read_metadata: NULL argument");
    uint64_t mh = XXH3_64bits(metadata, (size_t)h->metadata_size);
    if (mh != h->metadata_hash)
        return ingot_fail(INGOT_ERR_CORRUPT, "engine metadata: checksum 0x%016" PRIx64 " does not "
                          "match the stored 0x%016" PRIx64 " (metadata checksum mismatch); the "
                          "metadata is corrupt", mh, h->metadata_hash);
    return decode(h, metadata, NULL, 0, out, blobs, n_blobs);
}

ingot_status engine_read_image(const void *image, size_t size, int verify_weights,
                               engine_plan **out)
{
    return engine_read_image_blobs(image, size, verify_weights, out, NULL, NULL);
}
