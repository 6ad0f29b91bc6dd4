/* Describe an engine image for people (text) or tools (JSON): header, target, inputs and
 * outputs, steps per body with their kernels, the memory plan and every weight blob with its
 * checksum recomputed. The image is fully validated before anything is printed. */
#include "engine/engine_io.h"

#include <inttypes.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/status.h"
#include "engine/tactic.h"

static const char *backend_str(int32_t b)
{
    return b == INGOT_BACKEND_CPU ? "cpu" : b == INGOT_BACKEND_CUDA ? "cuda" : "unknown";
}

static const char *precision_str(int32_t p)
{
    switch (p) {
    case INGOT_PRECISION_FP32: return "fp32";
    case INGOT_PRECISION_TF32: return "tf32";
    case INGOT_PRECISION_FP16: return "fp16";
    case INGOT_PRECISION_BF16: return "bf16";
    default: return "unknown";
    }
}

/* A string as a JSON string literal (quoted) or, for text, with control bytes escaped. */
static void put_s(FILE *o, const char *s, int json)
{
    if (!s) {
        fputs(json ? "null" : "(none)", o);
        return;
    }
    if (json) fputc('"', o);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' && json) fputs("\\\"", o);
        else if (*c == '\\' && json) fputs("\\\\", o);
        else if (*c < 0x20 || *c == 0x7f) fprintf(o, json ? "\\u%04x" : "\\x%02x", *c);
        else fputc(*c, o);
    }
    if (json) fputc('"', o);
}

static const char *value_name(const ir_model *m, int32_t id)
{
    return id >= 0 && id < m->n_values ? m->values[id].name : NULL;
}

static void put_dims(FILE *o, const ing_tensor *t)
{
    fputc('[', o);
    for (int32_t d = 0; d < t->rank; d++) fprintf(o, "%s%" PRId64, d ? "," : "", t->dims[d]);
    fputc(']', o);
}

static void put_io(FILE *o, const ir_model *m, const int32_t *ids, int32_t n, int json)
{
    char sh[128];
    for (int32_t k = 0; k < n; k++) {
        const ir_value *v = ids[k] >= 0 ? &m->values[ids[k]] : NULL;
        if (json) {
            fputs(k ? "," : "", o);
            if (!v) {
                fputs("null", o);
                continue;
            }
            fputs("{\"name\":", o);
            put_s(o, v->name, 1);
            fprintf(o, ",\"value\":%d,\"dtype\":\"%s\",\"rank\":%d,\"shape\":", ids[k],
                    ingot_dtype_name((ingot_dtype)v->t.dtype), v->t.rank);
            put_dims(o, &v->t);
            fputc('}', o);
        } else {
            fputs("  ", o);
            put_s(o, v ? v->name : NULL, 0);
            if (v)
                fprintf(o, ": %s %s", ingot_dtype_name((ingot_dtype)v->t.dtype),
                        ing_shape_str(&v->t, sh, sizeof sh));
            fputc('\n', o);
        }
    }
}

static void put_names(FILE *o, const ir_model *m, const int32_t *ids, int32_t n, int json)
{
    if (n == 0 && !json) fputs("-", o);
    for (int32_t k = 0; k < n; k++) {
        fputs(k ? (json ? "," : ", ") : "", o);
        put_s(o, value_name(m, ids[k]), json);
    }
}

static void put_step(FILE *o, const engine_plan *p, int32_t id, int json, int first)
{
    const ir_model *m = p->model;
    const ir_node *n = &m->nodes[id];
    const engine_step_info *s = p->steps ? &p->steps[id] : NULL;
    if (json) {
        fprintf(o, "%s{\"node\":%d,\"name\":", first ? "" : ",", id);
        put_s(o, n->name, 1);
        fputs(",\"op\":", o);
        put_s(o, n->op, 1);
        fputs(",\"domain\":", o);
        put_s(o, n->domain, 1);
        fprintf(o, ",\"opset\":%d,\"kernel\":", n->opset);
        put_s(o, s ? s->kernel : NULL, 1);
        fprintf(o, ",\"params_bytes\":%zu,\"attributes\":%d,\"inputs\":[", s ? s->params_len : 0,
                n->n_attr);
        put_names(o, m, n->in, n->n_in, 1);
        fputs("],\"outputs\":[", o);
        put_names(o, m, n->out, n->n_out, 1);
        fputs("],\"covers\":[", o);
        if (n->n_origin == 0) put_s(o, n->name, 1);
        for (int32_t k = 0; k < n->n_origin; k++) {
            if (k) fputc(',', o);
            put_s(o, n->origin[k], 1);
        }
        fputs("]}", o);
    } else {
        fprintf(o, "  %4d ", id);
        put_s(o, n->name, 0);
        fputs(" (", o);
        if (n->domain[0]) {
            put_s(o, n->domain, 0);
            fputc('.', o);
        }
        put_s(o, n->op, 0);
        fprintf(o, "-%d) kernel ", n->opset);
        put_s(o, s ? s->kernel : NULL, 0);
        engine_tactic t;
        if (s && s->params_len && s->kernel && tactic_kernel(s->kernel) &&
            tactic_decode(s->params, s->params_len, "step", &t) == INGOT_OK) {
            if (t.kind == TACTIC_CUDNN_CONV)
                fprintf(o, " [tactic: cuDNN algo %d, math %d, workspace %" PRIu64 "]", t.algo, t.math, t.workspace);
            else
                fprintf(o, " [tactic: cuBLASLt, compute %s, workspace %" PRIu64 "]",
                        t.math == TACTIC_LT_32F_FAST_TF32 ? "32F_FAST_TF32" : "32F", t.workspace);
        } else if (s && s->params_len) {
            fprintf(o, " [%zu param bytes]", s->params_len);
        }
        fputs(": ", o);
        put_names(o, m, n->in, n->n_in, 0);
        fputs(" -> ", o);
        put_names(o, m, n->out, n->n_out, 0);
        if (n->n_origin) {
            fputs(" [covers ", o);
            for (int32_t k = 0; k < n->n_origin; k++) {
                if (k) fputs(", ", o);
                put_s(o, n->origin[k], 0);
            }
            fputc(']', o);
        }
        fputc('\n', o);
    }
}

static void print_text(FILE *o, const engine_header_v1 *h, const engine_plan *p,
                       const engine_blob *blobs, int32_t n_blobs)
{
    const ir_model *m = p->model;
    char sh[128];
    fprintf(o, "ingot engine, format version %u, %" PRIu64 " bytes, built by ingot %s\n",
            h->format_version, h->file_size, h->builder_version);
    fprintf(o, "target: backend %s (%d), precision %s (%d), sm %d, CUDA runtime %d, cuDNN %d, "
            "cuBLASLt %d\n", backend_str(h->backend), h->backend, precision_str(h->precision),
            h->precision, h->gpu_sm, h->cuda_runtime, h->cudnn, h->cublaslt);
    fprintf(o, "sections: header [0, %u), metadata [%" PRIu64 ", +%" PRIu64 ") xxh3 0x%016"
            PRIx64 ", weights [%" PRIu64 ", +%" PRIu64 ")\n", h->header_size, h->metadata_offset,
            h->metadata_size, h->metadata_hash, h->weights_offset, h->weights_size);
    fprintf(o, "model: opset %d, producer ", m->opset);
    put_s(o, m->producer, 0);
    fprintf(o, ", %d values, %d nodes, %d bodies\n", m->n_values, m->n_nodes, m->n_bodies);
    if (m->n_bodies > 0) {
        fprintf(o, "inputs (%d):\n", m->bodies[0].n_in);
        put_io(o, m, m->bodies[0].in, m->bodies[0].n_in, 0);
        fprintf(o, "outputs (%d):\n", m->bodies[0].n_out);
        put_io(o, m, m->bodies[0].out, m->bodies[0].n_out, 0);
    }
    fprintf(o, "steps:\n");
    for (int32_t b = 0; b < m->n_bodies; b++) {
        const ir_body *y = &m->bodies[b];
        if (b == 0) {
            fprintf(o, " body 0 (main graph), %d steps\n", y->n_nodes);
        } else {
            fprintf(o, " body %d (subgraph of node %d '", b, y->parent_node);
            put_s(o, m->nodes[y->parent_node].name, 0);
            fprintf(o, "'), %d steps, inputs: ", y->n_nodes);
            put_names(o, m, y->in, y->n_in, 0);
            fputs("; outputs: ", o);
            put_names(o, m, y->out, y->n_out, 0);
            fputc('\n', o);
        }
        for (int32_t k = 0; k < y->n_nodes; k++) put_step(o, p, y->nodes[k], 0, k == 0);
    }
    if (p->arena_offset) {
        fprintf(o, "memory plan: arena %" PRIu64 " bytes\n", p->arena_bytes);
        for (int32_t i = 0; i < m->n_values; i++) {
            if (p->arena_offset[i] < 0) continue;
            fputs("  ", o);
            put_s(o, m->values[i].name, 0);
            fprintf(o, ": offset %" PRId64 ", %s %s", p->arena_offset[i],
                    ingot_dtype_name((ingot_dtype)m->values[i].t.dtype),
                    ing_shape_str(&m->values[i].t, sh, sizeof sh));
            if (p->planned_bytes) fprintf(o, ", slot %" PRId64 " bytes", p->planned_bytes[i]);
            fputc('\n', o);
        }
    } else {
        fprintf(o, "memory plan: none\n");
    }
    for (int32_t k = 0; k < p->n_profiles; k++) {
        const engine_profile *pr = &p->profiles[k];
        fputs(k ? "  " : "profile (the arena holds the max shapes):\n  ", o);
        put_s(o, m->values[pr->value].name, 0);
        const int64_t *l[3] = {pr->min, pr->opt, pr->max};
        for (int q = 0; q < 3; q++) {
            fprintf(o, "%s[", q == 0 ? ": min " : q == 1 ? ", opt " : ", max ");
            for (int32_t d = 0; d < pr->rank; d++) fprintf(o, "%s%" PRId64, d ? "," : "", l[q][d]);
            fputc(']', o);
        }
        fputc('\n', o);
    }
    uint64_t total = 0;
    for (int32_t k = 0; k < n_blobs; k++) total += blobs[k].bytes;
    fprintf(o, "weights (%d, %" PRIu64 " bytes):\n", n_blobs, total);
    for (int32_t k = 0; k < n_blobs; k++) {
        const ir_value *v = &m->values[blobs[k].value];
        uint64_t got = XXH3_64bits(v->t.data, v->const_bytes);
        fputs("  ", o);
        put_s(o, v->name, 0);
        fprintf(o, ": %s %s, offset %" PRIu64 ", %" PRIu64 " bytes, xxh3 0x%016" PRIx64 " %s\n",
                ingot_dtype_name((ingot_dtype)v->t.dtype), ing_shape_str(&v->t, sh, sizeof sh),
                blobs[k].offset, blobs[k].bytes, blobs[k].hash,
                got == blobs[k].hash ? "ok" : "MISMATCH");
    }
}

static void print_json(FILE *o, const engine_header_v1 *h, const engine_plan *p,
                       const engine_blob *blobs, int32_t n_blobs)
{
    const ir_model *m = p->model;
    fprintf(o, "{\"format_version\":%u,\"file_size\":%" PRIu64 ",\"header_size\":%u,"
            "\"builder_version\":", h->format_version, h->file_size, h->header_size);
    put_s(o, h->builder_version, 1);
    fprintf(o, ",\"metadata\":{\"offset\":%" PRIu64 ",\"size\":%" PRIu64 ",\"xxh3\":\"0x%016"
            PRIx64 "\"},\"weight_section\":{\"offset\":%" PRIu64 ",\"size\":%" PRIu64 "},",
            h->metadata_offset, h->metadata_size, h->metadata_hash, h->weights_offset,
            h->weights_size);
    fprintf(o, "\"target\":{\"backend\":\"%s\",\"precision\":\"%s\",\"gpu_sm\":%d,"
            "\"cuda_runtime\":%d,\"cudnn\":%d,\"cublaslt\":%d},", backend_str(h->backend),
            precision_str(h->precision), h->gpu_sm, h->cuda_runtime, h->cudnn, h->cublaslt);
    fprintf(o, "\"model\":{\"opset\":%d,\"producer\":", m->opset);
    put_s(o, m->producer, 1);
    fprintf(o, ",\"values\":%d,\"nodes\":%d,\"bodies\":%d},\"inputs\":[", m->n_values,
            m->n_nodes, m->n_bodies);
    if (m->n_bodies > 0) put_io(o, m, m->bodies[0].in, m->bodies[0].n_in, 1);
    fputs("],\"outputs\":[", o);
    if (m->n_bodies > 0) put_io(o, m, m->bodies[0].out, m->bodies[0].n_out, 1);
    fputs("],\"bodies\":[", o);
    for (int32_t b = 0; b < m->n_bodies; b++) {
        const ir_body *y = &m->bodies[b];
        fprintf(o, "%s{\"id\":%d,\"parent_node\":%d,\"inputs\":[", b ? "," : "", b,
                y->parent_node);
        put_names(o, m, y->in, y->n_in, 1);
        fputs("],\"outputs\":[", o);
        put_names(o, m, y->out, y->n_out, 1);
        fputs("],\"steps\":[", o);
        for (int32_t k = 0; k < y->n_nodes; k++) put_step(o, p, y->nodes[k], 1, k == 0);
        fputs("]}", o);
    }
    fputs("],\"memory_plan\":", o);
    if (p->arena_offset) {
        fprintf(o, "{\"arena_bytes\":%" PRIu64 ",\"offsets\":[", p->arena_bytes);
        int first = 1;
        for (int32_t i = 0; i < m->n_values; i++) {
            if (p->arena_offset[i] < 0) continue;
            fprintf(o, "%s{\"value\":%d,\"name\":", first ? "" : ",", i);
            put_s(o, m->values[i].name, 1);
            fprintf(o, ",\"offset\":%" PRId64, p->arena_offset[i]);
            if (p->planned_bytes) fprintf(o, ",\"slot_bytes\":%" PRId64, p->planned_bytes[i]);
            fputc('}', o);
            first = 0;
        }
        fputs("],\"profiles\":[", o);
        for (int32_t k = 0; k < p->n_profiles; k++) {
            const engine_profile *pr = &p->profiles[k];
            fprintf(o, "%s{\"input\":", k ? "," : "");
            put_s(o, m->values[pr->value].name, 1);
            const int64_t *l[3] = {pr->min, pr->opt, pr->max};
            for (int q = 0; q < 3; q++) {
                fprintf(o, ",\"%s\":[", q == 0 ? "min" : q == 1 ? "opt" : "max");
                for (int32_t d = 0; d < pr->rank; d++) fprintf(o, "%s%" PRId64, d ? "," : "", l[q][d]);
                fputc(']', o);
            }
            fputc('}', o);
        }
        fputs("]}", o);
    } else {
        fputs("null", o);
    }
    fputs(",\"weights\":[", o);
    for (int32_t k = 0; k < n_blobs; k++) {
        const ir_value *v = &m->values[blobs[k].value];
        uint64_t got = XXH3_64bits(v->t.data, v->const_bytes);
        fprintf(o, "%s{\"value\":%d,\"name\":", k ? "," : "", blobs[k].value);
        put_s(o, v->name, 1);
        fprintf(o, ",\"dtype\":\"%s\",\"shape\":", ingot_dtype_name((ingot_dtype)v->t.dtype));
        put_dims(o, &v->t);
        fprintf(o, ",\"offset\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"xxh3\":\"0x%016" PRIx64
                "\",\"checksum_ok\":%s}", blobs[k].offset, blobs[k].bytes, blobs[k].hash,
                got == blobs[k].hash ? "true" : "false");
    }
    fputs("]}\n", o);
}

ingot_status engine_inspect(FILE *out, const void *image, size_t size, int json)
{
    engine_header_v1 h;
    engine_plan *p = NULL;
    engine_blob *blobs = NULL;
    int32_t n_blobs = 0;
    if (!out) return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_inspect: NULL output stream");
    ING_TRY(engine_header_read(image, size, size, &h));
    /* Blob checksums are recomputed and shown per weight rather than failing the whole view. */
    ING_TRY(engine_read_image_blobs(image, size, 0, &p, &blobs, &n_blobs));
    if (json) print_json(out, &h, p, blobs, n_blobs);
    else print_text(out, &h, p, blobs, n_blobs);
    engine_plan_destroy(p);
    ing_free(blobs);
    if (fflush(out) != 0 || ferror(out))
        return ingot_fail(INGOT_ERR_IO, "engine_inspect: writing the description failed");
    return INGOT_OK;
}
