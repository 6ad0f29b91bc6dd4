/* Engine reader tests: a valid engine round-trips exactly (memory, file, read and mmap); each
 * enumerated corrupt engine fails with its exact status and a message naming the broken object;
 * every allocation failure leaves no leak and *out untouched; flipping or truncating any byte of
 * a small engine never crashes. Prints "N passed, N failed" last; exits non-zero on failure. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/status.h"
#include "engine/engine_io.h"
#include "engine/format.h"
#include "engine/plan.h"
#include "engine/tactic.h"
#include "ir/ir.h"

static int n_pass, n_fail;
static char fail_msg[1024];

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            int k_ = snprintf(fail_msg, sizeof fail_msg, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
            if (k_ > 0 && (size_t)k_ < sizeof fail_msg)                                            \
                snprintf(fail_msg + k_, sizeof fail_msg - (size_t)k_, __VA_ARGS__);                \
            return 0;                                                                              \
        }                                                                                          \
    } while (0)

#define OK(expr)                                                                                   \
    do {                                                                                           \
        ingot_status ok_st_ = (expr);                                                              \
        CHECK(ok_st_ == INGOT_OK, "%s: %s", ingot_status_name(ok_st_), ingot_last_error());        \
    } while (0)

static void run(const char *name, int (*fn)(void))
{
    fail_msg[0] = '\0';
    if (fn()) {
        n_pass++;
        printf("ok   %s\n", name);
    } else {
        n_fail++;
        printf("FAIL %s: %s\n", name, fail_msg);
    }
    fflush(stdout);
}

/* ---------------------------------------------------------------------------------------- */
/* The test plan                                                                             */

static int add_value(ir_model *m, const char *name, int kind, int dtype, int rank,
                     const int64_t *dims, int32_t *id)
{
    if (ir_add_value(m, name, kind, id) != INGOT_OK) return 0;
    ir_value *v = &m->values[*id];
    v->t.dtype = dtype;
    v->t.rank = rank;
    for (int d = 0; d < rank; d++) v->t.dims[d] = dims[d];
    return 1;
}

static int add_const(ir_model *m, const char *name, int dtype, int rank, const int64_t *dims,
                     const void *data, size_t bytes)
{
    int32_t id;
    if (ir_add_value(m, name, IR_VALUE_CONST, &id) != INGOT_OK) return 0;
    return ir_value_set_const(&m->values[id], dtype, rank, dims, data, bytes) == INGOT_OK;
}

static void *dup_mem(const void *src, size_t n)
{
    void *p = ing_malloc(n);
    if (p && n) memcpy(p, src, n);
    return p;
}

/* Values: inputs with a symbolic dim, constants of six dtypes (one of 0 bytes), activations
 * including one of unknown rank. Nodes: one with every attribute type, an If with two bodies. */
static engine_plan *make_plan(int32_t backend)
{
    ir_model *m = NULL;
    engine_plan *p = NULL;
    int32_t id, x, cond, h, y, tout, eout, nid;
    if (ir_model_create(&m) != INGOT_OK) return NULL;
    m->opset = 17;
    m->producer = ing_strdup("test_corrupt");

    int64_t dx[2] = {-1, 4}, d23[2] = {2, 3}, d3[1] = {3}, d4[1] = {4}, d5[1] = {5}, d03[2] = {0, 3},
            d2[1] = {2};
    float wf[6] = {1.5f, -2.f, 3.25f, 0.f, -0.f, 1e-30f};
    int64_t wi[3] = {INT64_MIN, 0, INT64_MAX};
    uint16_t wh[4] = {0x3c00, 0xbc00, 0x7c00, 0x0001};
    uint8_t wu[5] = {0, 1, 127, 128, 255};
    uint8_t wb[2] = {1, 0};
    int ok = add_value(m, "x", IR_VALUE_INPUT, INGOT_DTYPE_F32, 2, dx, &x) &&
             add_const(m, "w_f32", INGOT_DTYPE_F32, 2, d23, wf, sizeof wf) &&
             add_const(m, "w_i64", INGOT_DTYPE_I64, 1, d3, wi, sizeof wi) &&
             add_const(m, "w_f16", INGOT_DTYPE_F16, 1, d4, wh, sizeof wh) &&
             add_const(m, "w_u8", INGOT_DTYPE_U8, 1, d5, wu, sizeof wu) &&
             add_const(m, "w_empty", INGOT_DTYPE_F32, 2, d03, NULL, 0) &&
             add_const(m, "w_bool", INGOT_DTYPE_BOOL, 1, d2, wb, sizeof wb) &&
             add_value(m, "cond", IR_VALUE_INPUT, INGOT_DTYPE_BOOL, 0, NULL, &cond) &&
             add_value(m, "h", IR_VALUE_ACTIVATION, INGOT_DTYPE_F32, 2, dx, &h) &&
             add_value(m, "y", IR_VALUE_ACTIVATION, INGOT_DTYPE_F32, 2, dx, &y) &&
             add_value(m, "then_out", IR_VALUE_ACTIVATION, INGOT_DTYPE_F32, 2, dx, &tout) &&
             add_value(m, "else_out", IR_VALUE_ACTIVATION, INGOT_DTYPE_F32, 2, dx, &eout) &&
             add_value(m, "unk", IR_VALUE_ACTIVATION, INGOT_DTYPE_UNDEFINED, -1, NULL, &id);
    if (!ok || !m->producer) goto fail;
    m->values[x].dim_params[0] = ing_strdup("N");
    m->values[h].dim_params[0] = ing_strdup("N");
    if (!m->values[x].dim_params[0] || !m->values[h].dim_params[0]) goto fail;

    /* node 0: every attribute type */
    int32_t in0[3] = {x, 1, -1}, out0[1] = {h};
    if (ir_add_node(m, "node_attrs", "Custom", "", 17, in0, 3, out0, 1, &nid) != INGOT_OK) goto fail;
    m->values[h].producer = nid;
    {
        ir_attr a;
        memset(&a, 0, sizeof a);
        a.name = ing_strdup("alpha"), a.type = IR_ATTR_FLOAT, a.f = 0.125f;
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
        a.name = ing_strdup("axis"), a.type = IR_ATTR_INT, a.i = -3;
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
        a.name = ing_strdup("mode"), a.type = IR_ATTR_STRING, a.s = dup_mem("li\0near", 8),
        a.s_len = 7;
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
        int32_t tv[2] = {7, -7};
        a.name = ing_strdup("value"), a.type = IR_ATTR_TENSOR, a.t.dtype = INGOT_DTYPE_I32,
        a.t.rank = 1, a.t.dims[0] = 2, a.t.data = dup_mem(tv, sizeof tv), a.t_bytes = sizeof tv;
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
        int64_t pads[4] = {1, 2, 3, 4};
        a.name = ing_strdup("pads"), a.type = IR_ATTR_INTS, a.ints = dup_mem(pads, sizeof pads),
        a.n = 4;
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
        float sc[2] = {0.5f, 2.f};
        a.name = ing_strdup("scales"), a.type = IR_ATTR_FLOATS, a.floats = dup_mem(sc, sizeof sc),
        a.n = 2;
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
        a.name = ing_strdup("names"), a.type = IR_ATTR_STRINGS, a.strings = ing_calloc(3, sizeof(char *)),
        a.n = 3;
        if (!a.strings) goto fail;
        a.strings[0] = ing_strdup("a"), a.strings[1] = ing_strdup(""), a.strings[2] = ing_strdup("ccc");
        if (ir_node_add_attr(m, nid, &a) != INGOT_OK) goto fail;
    }
    /* node 1: If with two bodies; nodes 2 and 3 run in them */
    int32_t in1[1] = {cond}, out1[1] = {y}, in2[1] = {h}, out2[1] = {tout}, out3[1] = {eout};
    int32_t n_if, n_then, n_else, b0, b1, b2;
    if (ir_add_node(m, "if_node", "If", "", 17, in1, 1, out1, 1, &n_if) != INGOT_OK ||
        ir_add_node(m, "then_id", "Identity", "", 17, in2, 1, out2, 1, &n_then) != INGOT_OK ||
        ir_add_node(m, "else_neg", "Neg", "com.example", 3, in2, 1, out3, 1, &n_else) != INGOT_OK)
        goto fail;
    m->values[y].producer = n_if;
    m->values[tout].producer = n_then;
    m->values[eout].producer = n_else;
    if (ir_add_body(m, -1, &b0) != INGOT_OK || ir_add_body(m, n_if, &b1) != INGOT_OK ||
        ir_add_body(m, n_if, &b2) != INGOT_OK)
        goto fail;
    {
        ir_attr a;
        memset(&a, 0, sizeof a);
        a.name = ing_strdup("then_branch"), a.type = IR_ATTR_GRAPH, a.body = b1;
        if (ir_node_add_attr(m, n_if, &a) != INGOT_OK) goto fail;
        a.name = ing_strdup("else_branch"), a.type = IR_ATTR_GRAPH, a.body = b2;
        if (ir_node_add_attr(m, n_if, &a) != INGOT_OK) goto fail;
    }
    ir_body *B = m->bodies;
    if (ir_body_push(&B[b0].nodes, &B[b0].n_nodes, nid) || ir_body_push(&B[b0].nodes, &B[b0].n_nodes, n_if) ||
        ir_body_push(&B[b0].in, &B[b0].n_in, x) || ir_body_push(&B[b0].in, &B[b0].n_in, cond) ||
        ir_body_push(&B[b0].out, &B[b0].n_out, y) ||
        ir_body_push(&B[b1].nodes, &B[b1].n_nodes, n_then) || ir_body_push(&B[b1].out, &B[b1].n_out, tout) ||
        ir_body_push(&B[b2].nodes, &B[b2].n_nodes, n_else) || ir_body_push(&B[b2].out, &B[b2].n_out, eout))
        goto fail;

    if (engine_plan_create(m, &p) != INGOT_OK) goto fail;
    m = NULL;
    p->target.backend = backend;
    p->target.precision = INGOT_PRECISION_FP32;
    if (backend == INGOT_BACKEND_CUDA) {
        p->target.gpu_sm = 90;
        p->target.cuda_runtime = 12040;
        p->target.cudnn = 90100;
        p->target.cublaslt = 120401;
    }
    p->steps = ing_calloc((size_t)p->model->n_nodes, sizeof *p->steps);
    p->arena_offset = ing_malloc((size_t)p->model->n_values * sizeof(int64_t));
    if (!p->steps || !p->arena_offset) goto fail;
    p->steps[0].kernel = ing_strdup("cpu.Custom");
    p->steps[0].params = dup_mem("\x01\x02\x00\x03\x04", 5);
    p->steps[0].params_len = 5;
    p->steps[1].kernel = ing_strdup("cpu.If");
    /* step 2 keeps a NULL kernel; step 3 carries a tactic record (engine/tactic.h) */
    p->steps[3].kernel = ing_strdup("cuda.Conv");
    engine_tactic tac = {.kind = TACTIC_CUDNN_CONV, .math = 1, .layout = 0, .algo = 6, .workspace = 123456789};
    uint8_t rec[TACTIC_LT_BYTES];
    p->steps[3].params_len = tactic_encode(&tac, rec);
    p->steps[3].params = dup_mem(rec, p->steps[3].params_len);
    for (int32_t i = 0; i < p->model->n_values; i++) p->arena_offset[i] = -1;
    p->arena_offset[h] = 0;
    p->arena_offset[y] = 64;
    p->arena_offset[tout] = 128;
    p->arena_offset[eout] = 128;
    p->arena_bytes = 256;
    return p;
fail:
    ir_model_destroy(m);
    engine_plan_destroy(p);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Comparison                                                                                */

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_tensor(const ing_tensor *a, const ing_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return 0;
    return 1;
}

static int same_ids(const int32_t *a, const int32_t *b, int32_t n)
{
    return n == 0 || memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static int same_plan(const engine_plan *p, const engine_plan *q)
{
    const ir_model *a = p->model, *b = q->model;
    CHECK(memcmp(&p->target, &q->target, sizeof p->target) == 0, "target differs");
    CHECK(strcmp(p->builder_version, q->builder_version) == 0, "builder '%s' vs '%s'",
          p->builder_version, q->builder_version);
    CHECK(a->opset == b->opset && same_str(a->producer, b->producer), "opset/producer differ");
    CHECK(a->n_values == b->n_values && a->n_nodes == b->n_nodes && a->n_bodies == b->n_bodies,
          "counts %d/%d/%d vs %d/%d/%d", a->n_values, a->n_nodes, a->n_bodies, b->n_values,
          b->n_nodes, b->n_bodies);
    for (int32_t i = 0; i < a->n_values; i++) {
        const ir_value *u = &a->values[i], *v = &b->values[i];
        CHECK(same_str(u->name, v->name) && u->kind == v->kind && same_tensor(&u->t, &v->t) &&
                  u->producer == v->producer && u->const_bytes == v->const_bytes,
              "value %d '%s' differs", i, u->name);
        for (int d = 0; d < IR_MAX_RANK; d++)
            CHECK(same_str(u->dim_params[d], v->dim_params[d]), "value %d dim name %d", i, d);
        if (u->kind == IR_VALUE_CONST) {
            CHECK(v->t.data != NULL, "constant %d has no data", i);
            CHECK(u->const_bytes == 0 || memcmp(u->t.data, v->t.data, u->const_bytes) == 0,
                  "constant %d bytes differ", i);
        }
    }
    for (int32_t i = 0; i < a->n_nodes; i++) {
        const ir_node *u = &a->nodes[i], *v = &b->nodes[i];
        CHECK(same_str(u->name, v->name) && same_str(u->op, v->op) &&
                  same_str(u->domain, v->domain) && u->opset == v->opset && u->n_in == v->n_in &&
                  u->n_out == v->n_out && u->n_attr == v->n_attr,
              "node %d '%s' differs", i, u->name);
        CHECK(same_ids(u->in, v->in, u->n_in) && same_ids(u->out, v->out, u->n_out),
              "node %d ids differ", i);
        for (int32_t k = 0; k < u->n_attr; k++) {
            const ir_attr *x = &u->attrs[k], *y = &v->attrs[k];
            CHECK(same_str(x->name, y->name) && x->type == y->type, "node %d attr %d", i, k);
            switch (x->type) {
            case IR_ATTR_FLOAT: CHECK(memcmp(&x->f, &y->f, 4) == 0, "attr %s", x->name); break;
            case IR_ATTR_INT: CHECK(x->i == y->i, "attr %s", x->name); break;
            case IR_ATTR_GRAPH: CHECK(x->body == y->body, "attr %s", x->name); break;
            case IR_ATTR_STRING:
                CHECK(x->s_len == y->s_len && memcmp(x->s, y->s, x->s_len) == 0 &&
                          y->s[y->s_len] == '\0', "attr %s", x->name);
                break;
            case IR_ATTR_INTS:
                CHECK(x->n == y->n && memcmp(x->ints, y->ints, x->n * 8) == 0, "attr %s", x->name);
                break;
            case IR_ATTR_FLOATS:
                CHECK(x->n == y->n && memcmp(x->floats, y->floats, x->n * 4) == 0, "attr %s",
                      x->name);
                break;
            case IR_ATTR_STRINGS:
                CHECK(x->n == y->n, "attr %s", x->name);
                for (size_t s = 0; s < x->n; s++)
                    CHECK(same_str(x->strings[s], y->strings[s]), "attr %s[%zu]", x->name, s);
                break;
            case IR_ATTR_TENSOR:
                CHECK(same_tensor(&x->t, &y->t) && x->t_bytes == y->t_bytes &&
                          memcmp(x->t.data, y->t.data, x->t_bytes) == 0, "attr %s", x->name);
                break;
            default: CHECK(0, "attr type %d", x->type);
            }
        }
    }
    for (int32_t i = 0; i < a->n_bodies; i++) {
        const ir_body *u = &a->bodies[i], *v = &b->bodies[i];
        CHECK(u->parent_node == v->parent_node && u->n_nodes == v->n_nodes &&
                  u->n_in == v->n_in && u->n_out == v->n_out &&
                  same_ids(u->nodes, v->nodes, u->n_nodes) && same_ids(u->in, v->in, u->n_in) &&
                  same_ids(u->out, v->out, u->n_out), "body %d differs", i);
    }
    CHECK(!p->steps == !q->steps, "steps presence differs");
    if (p->steps)
        for (int32_t i = 0; i < a->n_nodes; i++) {
            CHECK(same_str(p->steps[i].kernel, q->steps[i].kernel) &&
                      p->steps[i].params_len == q->steps[i].params_len &&
                      (p->steps[i].params_len == 0 ||
                       memcmp(p->steps[i].params, q->steps[i].params, p->steps[i].params_len) == 0),
                  "step %d differs", i);
        }
    CHECK(!p->arena_offset == !q->arena_offset && p->arena_bytes == q->arena_bytes,
          "memory plan differs");
    if (p->arena_offset)
        CHECK(memcmp(p->arena_offset, q->arena_offset, (size_t)a->n_values * 8) == 0,
              "arena offsets differ");
    return 1;
}

/* ---------------------------------------------------------------------------------------- */
/* Image helpers                                                                             */

static engine_plan *g_plan;
static uint8_t *g_img;
static size_t g_size;

static engine_header_v1 hdr_of(const uint8_t *img)
{
    engine_header_v1 h;
    memcpy(&h, img, sizeof h);
    return h;
}

/* A private copy of the base image to break. */
static uint8_t *copy_img(void)
{
    uint8_t *c = malloc(g_size);
    if (c) memcpy(c, g_img, g_size);
    return c;
}

/* After an edit inside the metadata: store fresh checksums, so the parser, not the checksum,
 * meets the edit. */
static void rehash(uint8_t *img)
{
    /* the metadata's place comes from the intact base image: the edit may be in the header */
    engine_header_v1 ref = hdr_of(g_img), h = hdr_of(img);
    h.metadata_hash = XXH3_64bits(img + ref.metadata_offset, (size_t)ref.metadata_size);
    h.header_hash = XXH3_64bits(&h, ENGINE_HEADER_HASHED_BYTES);
    memcpy(img, &h, sizeof h);
}

/* File offset just past the metadata str `s` (u32 length + bytes), or 0 if absent. */
static size_t after_str(const uint8_t *img, const char *s)
{
    engine_header_v1 h = hdr_of(img);
    uint32_t len = (uint32_t)strlen(s);
    size_t lo = (size_t)h.metadata_offset, hi = lo + (size_t)h.metadata_size;
    for (size_t o = lo; o + 4 + len <= hi; o++) {
        uint32_t l;
        memcpy(&l, img + o, 4);
        if (l == len && memcmp(img + o + 4, s, len) == 0) return o + 4 + len;
    }
    return 0;
}

static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void set_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void set_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The offset of a constant's blob ref in the file: after name, kind/mask/reserved (4), dtype,
 * rank, dims, producer (no dim names on constants). */
static size_t blob_ref_at(const uint8_t *img, const char *name)
{
    size_t o = after_str(img, name);
    if (!o) return 0;
    int32_t rank;
    memcpy(&rank, img + o + 8, 4);
    return o + 12 + (size_t)rank * 8 + 4;
}

/* Read img[0, size) and demand status st with every `want` substring in the message; *out
 * must stay untouched on failure. */
static int expect(const uint8_t *img, size_t size, int verify, ingot_status st, const char *want1,
                  const char *want2)
{
    engine_plan *sentinel = (engine_plan *)(uintptr_t)0x1234, *out = sentinel;
    ingot_clear_error();
    ingot_status got = engine_read_image(img, size, verify, &out);
    if (got == INGOT_OK && out != sentinel) engine_plan_destroy(out);
    CHECK(got == st, "status %s, expected %s (%s)", ingot_status_name(got), ingot_status_name(st),
          ingot_last_error());
    if (st == INGOT_OK) return 1;
    CHECK(out == sentinel, "*out changed on failure");
    const char *msg = ingot_last_error();
    CHECK(!want1 || strstr(msg, want1), "message lacks '%s': %s", want1, msg);
    CHECK(!want2 || strstr(msg, want2), "message lacks '%s': %s", want2, msg);
    return 1;
}

/* Copy, edit with fn, optionally rehash, expect. */
#define CORRUPT_CASE(name, body, do_rehash, verify, st, w1, w2)                                    \
    static int name(void)                                                                          \
    {                                                                                              \
        uint8_t *img = copy_img();                                                                 \
        size_t size = g_size;                                                                      \
        CHECK(img, "out of memory");                                                               \
        body;                                                                                      \
        if (do_rehash) rehash(img);                                                                \
        int r_ = expect(img, size, verify, st, w1, w2);                                            \
        free(img);                                                                                 \
        return r_;                                                                                 \
    }

/* ---------------------------------------------------------------------------------------- */
/* Cases                                                                                     */

static int roundtrip_buffer(void)
{
    engine_plan *q = NULL;
    OK(engine_read_image(g_img, g_size, 1, &q));
    int r = same_plan(g_plan, q);
    if (r) {
        engine_header_v1 h = hdr_of(g_img);
        CHECK(h.weights_offset % ENGINE_WEIGHTS_ALIGN == 0, "weights at %" PRIu64, h.weights_offset);
        for (int32_t i = 0; i < q->model->n_values && r; i++) {
            const ir_value *v = &q->model->values[i];
            if (v->kind != IR_VALUE_CONST) continue;
            size_t off = (size_t)((const uint8_t *)v->t.data - g_img);
            if (v->owns_data || off % ENGINE_BLOB_ALIGN != 0 || off < h.weights_offset) {
                snprintf(fail_msg, sizeof fail_msg, "constant '%s' at file offset %zu, owns %d",
                         v->name, off, v->owns_data);
                r = 0;
            }
        }
    }
    engine_plan_destroy(q);
    return r;
}

static int roundtrip_again_identical(void)
{
    /* read -> write gives the same bytes: nothing is lost or reordered */
    engine_plan *q = NULL;
    void *img2 = NULL;
    size_t size2 = 0;
    OK(engine_read_image(g_img, g_size, 1, &q));
    ingot_status st = engine_write_buffer(q, &img2, &size2);
    engine_plan_destroy(q);
    CHECK(st == INGOT_OK, "%s", ingot_last_error());
    int same = size2 == g_size && memcmp(img2, g_img, g_size) == 0;
    ing_free(img2);
    CHECK(same, "rewritten engine differs (%zu vs %zu bytes)", size2, g_size);
    return 1;
}

static int roundtrip_file(void)
{
    char path[256], tmp[270];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/ingot_test_corrupt_%ld.engine", dir, (long)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    OK(engine_write_file(g_plan, path));
    CHECK(access(tmp, F_OK) != 0, "'%s' left behind", tmp);
    int modes[2] = {INGOT_LOAD_READ, INGOT_LOAD_MMAP};
    for (int k = 0; k < 2; k++) {
        engine_file f = {0};
        engine_plan *q = NULL;
        ingot_status st = engine_file_open(path, modes[k], &f);
        CHECK(st == INGOT_OK, "open mode %d: %s", modes[k], ingot_last_error());
        CHECK(f.mapped == (modes[k] == INGOT_LOAD_MMAP), "mapped %d", f.mapped);
        CHECK(((uintptr_t)f.data % ENGINE_WEIGHTS_ALIGN) == 0, "buffer not 4096-aligned");
        int same_bytes = f.size == g_size && memcmp(f.data, g_img, g_size) == 0;
        st = engine_read_image(f.data, f.size, 1, &q);
        int r = st == INGOT_OK && same_bytes && same_plan(g_plan, q);
        engine_plan_destroy(q);
        engine_file_close(&f);
        if (!r && st == INGOT_OK && same_bytes) return 0; /* same_plan said why */
        CHECK(r, "mode %d: %s (same bytes %d)", modes[k], ingot_status_name(st), same_bytes);
    }
    unlink(path);
    engine_file f = {0};
    CHECK(engine_file_open(path, INGOT_LOAD_READ, &f) == INGOT_ERR_IO, "missing file");
    CHECK(strstr(ingot_last_error(), path) != NULL, "message lacks the path: %s",
          ingot_last_error());
    CHECK(engine_file_open(path, INGOT_LOAD_STREAM, &f) == INGOT_ERR_INVALID_ARG, "stream mode");
    CHECK(engine_write_file(g_plan, "/nonexistent-dir/x.engine") == INGOT_ERR_IO, "bad dir");
    return 1;
}

static int empty_plan(void)
{
    /* no values, no nodes, no bodies, no steps, no memory plan: still a valid engine */
    ir_model *m = NULL;
    engine_plan *p = NULL, *q = NULL;
    void *img = NULL;
    size_t size = 0;
    OK(ir_model_create(&m));
    OK(engine_plan_create(m, &p));
    ingot_status st = engine_write_buffer(p, &img, &size);
    if (st == INGOT_OK) st = engine_read_image(img, size, 1, &q);
    int r = st == INGOT_OK && same_plan(p, q);
    engine_plan_destroy(p);
    engine_plan_destroy(q);
    ing_free(img);
    if (!r && st == INGOT_OK) return 0; /* same_plan said why */
    CHECK(r, "%s %s", ingot_status_name(st), ingot_last_error());
    return 1;
}

static int writer_rejects_bad_plan(void)
{
    void *img = NULL;
    size_t size = 0;
    ir_node *n = &g_plan->model->nodes[2];
    int32_t saved = n->in[0];
    n->in[0] = 999;
    ingot_status st = engine_write_buffer(g_plan, &img, &size);
    n->in[0] = saved;
    CHECK(st == INGOT_ERR_INVALID_ARG && img == NULL, "status %s", ingot_status_name(st));
    CHECK(strstr(ingot_last_error(), "then_id") && strstr(ingot_last_error(), "999"), "%s",
          ingot_last_error());
    ir_value *v = &g_plan->model->values[1];
    v->t.rank = 9;
    st = engine_write_buffer(g_plan, &img, &size);
    v->t.rank = 2;
    CHECK(st == INGOT_ERR_INVALID_ARG && strstr(ingot_last_error(), "rank 9"), "%s",
          ingot_last_error());
    v->const_bytes = 20;
    st = engine_write_buffer(g_plan, &img, &size);
    v->const_bytes = 24;
    CHECK(st == INGOT_ERR_INVALID_ARG && strstr(ingot_last_error(), "w_f32"), "%s",
          ingot_last_error());
    return 1;
}

/* The stream loader's path: header from its first 256 bytes, metadata alone, then weights
 * placed by the blob table and checked against its checksums. */
static int stream_metadata(void)
{
    engine_header_v1 h;
    engine_plan *q = NULL;
    engine_blob *blobs = NULL;
    int32_t n_blobs = -1;
    OK(engine_header_read(g_img, ENGINE_HEADER_SIZE, ENGINE_SIZE_UNKNOWN, &h));
    CHECK(h.file_size == g_size, "file size %" PRIu64, h.file_size);
    CHECK(engine_header_read(g_img, 100, ENGINE_SIZE_UNKNOWN, &h) == INGOT_ERR_CORRUPT,
          "a 100-byte header was accepted");
    CHECK(engine_header_read(g_img, ENGINE_HEADER_SIZE, g_size - 1, &h) == INGOT_ERR_CORRUPT,
          "a wrong file size was accepted");
    OK(engine_read_metadata(&h, g_img + h.metadata_offset, &q, &blobs, &n_blobs));
    int r = n_blobs == 6;
    for (int32_t k = 0; r && k < n_blobs; k++) {
        ir_value *v = &q->model->values[blobs[k].value];
        r = v->kind == IR_VALUE_CONST && v->t.data == NULL && v->const_bytes == blobs[k].bytes;
        v->t.data = g_img + h.weights_offset + blobs[k].offset;
        r = r && XXH3_64bits(v->t.data, v->const_bytes) == blobs[k].hash;
    }
    if (!r) snprintf(fail_msg, sizeof fail_msg, "blob table wrong (%d blobs)", n_blobs);
    r = r && same_plan(g_plan, q);
    engine_plan_destroy(q);
    ing_free(blobs);
    return r;
}

/* Bodies that nest in a cycle (the If runs inside its own then-branch) and a node listed in
 * two bodies: the shared validator rejects both, so neither can be written or read. */
static int body_cycle(void)
{
    engine_plan *p = make_plan(INGOT_BACKEND_CPU);
    void *img = NULL;
    size_t size = 0;
    CHECK(p, "make_plan failed");
    ir_body *B = p->model->bodies;
    B[0].n_nodes = 1; /* main graph runs node 0 only */
    ingot_status st = ir_body_push(&B[1].nodes, &B[1].n_nodes, 1);
    if (st == INGOT_OK) st = engine_write_buffer(p, &img, &size);
    int r = st == INGOT_ERR_INVALID_ARG && strstr(ingot_last_error(), "body 1") &&
            strstr(ingot_last_error(), "cycle");
    char msg[512];
    snprintf(msg, sizeof msg, "%s: %s", ingot_status_name(st), ingot_last_error());
    B[0].n_nodes = 2; /* node 1 now in bodies 0 and 1 */
    st = engine_write_buffer(p, &img, &size);
    int r2 = st == INGOT_ERR_INVALID_ARG && strstr(ingot_last_error(), "already in body 0");
    engine_plan_destroy(p);
    CHECK(r, "cycle: %s", msg);
    CHECK(r2, "node in two bodies: %s: %s", ingot_status_name(st), ingot_last_error());
    return 1;
}

static int verify_ok(void) { return expect(g_img, g_size, 1, INGOT_OK, NULL, NULL); }

CORRUPT_CASE(bad_magic, img[0] = 'X', 0, 0, INGOT_ERR_CORRUPT, "magic", "XNGOTENG")
CORRUPT_CASE(bad_version_future, set_u32(img + 8, 2), 0, 0, INGOT_ERR_VERSION, "version 2",
             "newer")
CORRUPT_CASE(bad_version_old, set_u32(img + 8, 0), 0, 0, INGOT_ERR_VERSION, "version 0", "older")
CORRUPT_CASE(truncated_header, size = 100, 0, 0, INGOT_ERR_CORRUPT, "header", "100 bytes")
CORRUPT_CASE(truncated_header_tiny, size = 5, 0, 0, INGOT_ERR_CORRUPT, "header", "5 bytes")
CORRUPT_CASE(empty_file, size = 0, 0, 0, INGOT_ERR_CORRUPT, "header", "0 bytes")
CORRUPT_CASE(truncated_metadata,
             size = ENGINE_HEADER_SIZE + (size_t)hdr_of(img).metadata_size / 2, 0, 0,
             INGOT_ERR_CORRUPT, "metadata section", "truncated")
CORRUPT_CASE(truncated_weights, size = g_size - 10, 0, 0, INGOT_ERR_CORRUPT, "weight section",
             "truncated")
CORRUPT_CASE(trailing_bytes, size = g_size; img = realloc(img, g_size + 3);
             CHECK(img, "oom"); memset(img + g_size, 0, 3); size = g_size + 3, 0, 0,
             INGOT_ERR_CORRUPT, "file size", "trailing")
CORRUPT_CASE(weight_out_of_bounds,
             size_t o = blob_ref_at(img, "w_f32"); CHECK(o, "w_f32 not found");
             set_u64(img + o, hdr_of(img).weights_size / 256 * 256 + 256), 1, 0,
             INGOT_ERR_CORRUPT, "weight 'w_f32'", "outside the weight section")
CORRUPT_CASE(weight_size_out_of_bounds,
             size_t o = blob_ref_at(img, "w_u8"); CHECK(o, "w_u8 not found");
             set_u64(img + o + 8, UINT64_MAX - 8), 1, 0, INGOT_ERR_CORRUPT, "weight 'w_u8'",
             "outside the weight section")
CORRUPT_CASE(weight_misaligned,
             size_t o = blob_ref_at(img, "w_f32"); CHECK(o, "w_f32 not found");
             set_u64(img + o, get_u64(img + o) + 4), 1, 0, INGOT_ERR_CORRUPT, "weight 'w_f32'",
             "multiple of 256")
CORRUPT_CASE(overlapping_blobs,
             size_t a = blob_ref_at(img, "w_f32"); size_t b = blob_ref_at(img, "w_i64");
             CHECK(a && b, "blobs not found"); set_u64(img + b, get_u64(img + a)), 1, 0,
             INGOT_ERR_CORRUPT, "overlap", "w_i64")
CORRUPT_CASE(checksum_mismatch, img[ENGINE_HEADER_SIZE + 40] ^= 0x10, 0, 0, INGOT_ERR_CORRUPT,
             "metadata", "checksum")
CORRUPT_CASE(weight_checksum_mismatch,
             size_t o = blob_ref_at(img, "w_f32"); CHECK(o, "w_f32 not found");
             img[hdr_of(img).weights_offset + get_u64(img + o) + 3] ^= 0x40, 0, 1,
             INGOT_ERR_CORRUPT, "weight 'w_f32'", "checksum")
CORRUPT_CASE(weight_checksum_unverified,
             size_t o = blob_ref_at(img, "w_f32"); CHECK(o, "w_f32 not found");
             img[hdr_of(img).weights_offset + get_u64(img + o) + 3] ^= 0x40, 0, 0, INGOT_OK,
             NULL, NULL)
CORRUPT_CASE(header_checksum_mismatch, img[offsetof(engine_header_v1, gpu_sm)] ^= 1, 0, 0,
             INGOT_ERR_CORRUPT, "header", "checksum")
CORRUPT_CASE(bad_value_id,
             size_t o = after_str(img, "then_id"); CHECK(o, "then_id not found");
             o += 4 + get_u32(img + o); /* op */ o += 4 + get_u32(img + o); /* domain */
             o += 4 + 4;                /* opset, n_in */
             set_u32(img + o, 9999), 1, 0, INGOT_ERR_CORRUPT, "then_id", "value id 9999")
CORRUPT_CASE(bad_dtype,
             size_t o = after_str(img, "w_f32"); CHECK(o, "w_f32 not found");
             set_u32(img + o + 4, 99), 1, 0, INGOT_ERR_CORRUPT, "w_f32", "dtype 99")
CORRUPT_CASE(bad_rank,
             size_t o = after_str(img, "w_f32"); CHECK(o, "w_f32 not found");
             set_u32(img + o + 8, 9), 1, 0, INGOT_ERR_CORRUPT, "w_f32", "rank 9")
CORRUPT_CASE(bad_kind,
             size_t o = after_str(img, "w_f32"); CHECK(o, "w_f32 not found"); img[o] = 7, 1, 0,
             INGOT_ERR_CORRUPT, "w_f32", "kind 7")
CORRUPT_CASE(const_shape_mismatch,
             size_t o = after_str(img, "w_f32"); CHECK(o, "w_f32 not found");
             set_u64(img + o + 12, 3), 1, 0, INGOT_ERR_CORRUPT, "w_f32", "needs 36")
CORRUPT_CASE(huge_count, set_u32(img + ENGINE_HEADER_SIZE, 0xFFFFFFF0u), 1, 0,
             INGOT_ERR_CORRUPT, "value count 4294967280", "count is corrupt")
CORRUPT_CASE(huge_count_ints,
             size_t o = after_str(img, "pads"); CHECK(o, "pads not found");
             set_u32(img + o + 4, 0x7FFFFFFFu), 1, 0, INGOT_ERR_CORRUPT, "'pads'", "int count")
CORRUPT_CASE(huge_tensor_bytes,
             size_t o = after_str(img, "value"); CHECK(o, "value not found");
             set_u64(img + o + 4 + 8 + 8, (uint64_t)1 << 42), 1, 0, INGOT_ERR_CORRUPT,
             "'value'", "4398046511104 bytes")
CORRUPT_CASE(bad_body_id,
             size_t o = after_str(img, "then_branch"); CHECK(o, "then_branch not found");
             set_u32(img + o + 4, 77), 1, 0, INGOT_ERR_CORRUPT, "then_branch", "body id 77")
CORRUPT_CASE(bad_attr_type,
             size_t o = after_str(img, "alpha"); CHECK(o, "alpha not found");
             set_u32(img + o, 42), 1, 0, INGOT_ERR_CORRUPT, "'alpha'", "type 42")
CORRUPT_CASE(bad_string_length,
             size_t o = after_str(img, "mode"); CHECK(o, "mode not found");
             set_u32(img + o + 4, 0x7FFFFFF0u), 1, 0, INGOT_ERR_CORRUPT, "'mode'", "string")
CORRUPT_CASE(bad_producer,
             size_t o = after_str(img, "then_out"); CHECK(o, "then_out not found");
             /* kind..rank (12), 2 dims, producer */
             set_u32(img + o + 12 + 16, 50), 1, 0, INGOT_ERR_CORRUPT, "then_out", "producer")
CORRUPT_CASE(body_parent_mismatch,
             /* body 1 (parent 1, nodes {2}, no inputs) now claims node 2 as its parent */
             engine_header_v1 h = hdr_of(img); size_t hit = 0;
             for (size_t k = (size_t)h.metadata_offset;
                  k + 16 <= h.metadata_offset + h.metadata_size; k++)
                 if (get_u32(img + k) == 1 && get_u32(img + k + 4) == 1 &&
                     get_u32(img + k + 8) == 2 && get_u32(img + k + 12) == 0) {
                     hit = k;
                     break;
                 }
             CHECK(hit, "body 1 not found"); set_u32(img + hit, 2), 1, 0, INGOT_ERR_CORRUPT,
             "then_branch", "belongs to node 2")
CORRUPT_CASE(bad_arena_offset,
             engine_header_v1 h = hdr_of(img);
             size_t o = (size_t)(h.metadata_offset + h.metadata_size) - 8 * 13 + 8 * 9;
             CHECK(get_u64(img + o) == 64, "y's arena offset not found");
             set_u64(img + o, 300), 1, 0, INGOT_ERR_CORRUPT, "memory plan", "'y'")
CORRUPT_CASE(metadata_trailing,
             /* drop the memory-plan flag: its offsets are then bytes after the last record */
             set_u32(img + ENGINE_HEADER_SIZE + 12, ENGINE_META_HAS_STEPS), 1, 0,
             INGOT_ERR_CORRUPT, "engine metadata", "left over")

/* Input profiles: the base plan with x ([N, 4]) profiled over N in [1, 8] and the arena's slots
 * sized for N = 8. Its cases edit that image; the profile record sits just before the 13
 * planned slot sizes at the end of the metadata: i32 value, i32 rank, i64 min[2], opt[2],
 * max[2]. */
static uint8_t *g_pimg;
static size_t g_psize;

static engine_plan *make_profiled_plan(void)
{
    engine_plan *p = make_plan(INGOT_BACKEND_CPU);
    if (!p) return NULL;
    p->profiles = ing_calloc(1, sizeof *p->profiles);
    p->planned_bytes = ing_malloc((size_t)p->model->n_values * sizeof(int64_t));
    if (!p->profiles || !p->planned_bytes) {
        engine_plan_destroy(p);
        return NULL;
    }
    p->n_profiles = 1;
    *p->profiles = (engine_profile){.value = 0, .rank = 2, .min = {1, 4}, .opt = {2, 4}, .max = {8, 4}};
    for (int32_t i = 0; i < p->model->n_values; i++) p->planned_bytes[i] = p->arena_offset[i] < 0 ? -1 : 64;
    p->planned_bytes[10] = p->planned_bytes[11] = 128; /* then_out and else_out share [128, 256) */
    return p;
}

static size_t profile_at(const uint8_t *img)
{
    engine_header_v1 h = hdr_of(img);
    return (size_t)(h.metadata_offset + h.metadata_size) - 8 * 13 - 56;
}

static int with_profiles(int (*fn)(void))
{
    uint8_t *img = g_img;
    size_t size = g_size;
    g_img = g_pimg;
    g_size = g_psize;
    int r = fn();
    g_img = img;
    g_size = size;
    return r;
}

static int profile_roundtrip(void)
{
    engine_plan *q = NULL;
    ingot_status st = engine_read_image(g_pimg, g_psize, 1, &q);
    CHECK(st == INGOT_OK, "%s", ingot_last_error());
    if (st != INGOT_OK) return 1;
    CHECK(q->n_profiles == 1 && q->profiles[0].value == 0 && q->profiles[0].rank == 2 && q->profiles[0].min[0] == 1 &&
              q->profiles[0].opt[0] == 2 && q->profiles[0].max[0] == 8 && q->profiles[0].max[1] == 4,
          "profile not kept");
    CHECK(q->planned_bytes && q->planned_bytes[8] == 64 && q->planned_bytes[10] == 128 && q->planned_bytes[0] == -1,
          "planned slot sizes not kept");
    CHECK(engine_plan_slot_bytes(q, 10) == 128 && engine_plan_slot_bytes(q, 0) == 0, "slot bytes");
    engine_plan_destroy(q);
    return 1;
}

CORRUPT_CASE(profile_not_input_base, set_u32(img + profile_at(img), 8), 1, 0, INGOT_ERR_CORRUPT, "profile",
             "not a graph input")
CORRUPT_CASE(profile_min_above_max_base, set_u64(img + profile_at(img) + 8, 9), 1, 0, INGOT_ERR_CORRUPT, "'x'",
             "0 <= min <= opt <= max")
CORRUPT_CASE(profile_fixed_dim_base, set_u64(img + profile_at(img) + 48, 5), 1, 0, INGOT_ERR_CORRUPT, "'x'",
             "fixes it to 4")
CORRUPT_CASE(profile_bad_rank_base, set_u32(img + profile_at(img) + 4, 9), 1, 0, INGOT_ERR_CORRUPT, "profile",
             "rank 9")
CORRUPT_CASE(profile_slot_outside_arena_base, set_u64(img + profile_at(img) + 56 + 8 * 9, 1000), 1, 0,
             INGOT_ERR_CORRUPT, "memory plan", "'y'")
CORRUPT_CASE(profile_without_arena_base,
             set_u32(img + ENGINE_HEADER_SIZE + 12, ENGINE_META_HAS_STEPS | ENGINE_META_HAS_PROFILES), 1, 0,
             INGOT_ERR_CORRUPT, "profiles", "without a memory plan")
static int profile_not_input(void) { return with_profiles(profile_not_input_base); }
static int profile_min_above_max(void) { return with_profiles(profile_min_above_max_base); }
static int profile_fixed_dim(void) { return with_profiles(profile_fixed_dim_base); }
static int profile_bad_rank(void) { return with_profiles(profile_bad_rank_base); }
static int profile_slot_outside_arena(void) { return with_profiles(profile_slot_outside_arena_base); }
static int profile_without_arena(void) { return with_profiles(profile_without_arena_base); }
/* The tactic record of step 3 ("cuda.Conv"): after the kernel name, u64 length, then bytes. */
static uint8_t *tactic_at(uint8_t *img) { return img + after_str(img, "cuda.Conv") + 8; }
CORRUPT_CASE(bad_tactic_kind, tactic_at(img)[1] = 9, 1, 0, INGOT_ERR_CORRUPT, "node 'else_neg', cuda.Conv",
             "tactic kind 9")
CORRUPT_CASE(bad_tactic_version_future, tactic_at(img)[0] = 2, 1, 0, INGOT_ERR_VERSION, "else_neg",
             "tactic record version 2")
CORRUPT_CASE(bad_tactic_math, tactic_at(img)[2] = 7, 1, 0, INGOT_ERR_CORRUPT, "else_neg", "math mode 7")
CORRUPT_CASE(bad_tactic_layout, tactic_at(img)[3] = 5, 1, 0, INGOT_ERR_CORRUPT, "else_neg", "layout 5")
CORRUPT_CASE(bad_tactic_algo, set_u32(tactic_at(img) + 4, 0x80000000u), 1, 0, INGOT_ERR_CORRUPT, "else_neg",
             "algorithm -2147483648")
CORRUPT_CASE(bad_tactic_workspace, set_u64(tactic_at(img) + 8, (uint64_t)1 << 40), 1, 0, INGOT_ERR_CORRUPT,
             "else_neg", "workspace of 1099511627776 bytes")
CORRUPT_CASE(bad_tactic_lt_length, tactic_at(img)[1] = TACTIC_CUBLASLT, 1, 0, INGOT_ERR_CORRUPT, "else_neg",
             "tactic record of 16 bytes, kind 2 has 80")

static int wrong_backend(void)
{
    engine_plan *p = make_plan(INGOT_BACKEND_CUDA), *q = NULL;
    void *img = NULL;
    size_t size = 0;
    CHECK(p, "make_plan failed");
    ingot_status st = engine_write_buffer(p, &img, &size);
    if (st == INGOT_OK) st = engine_read_image(img, size, 1, &q);
    engine_plan_destroy(p);
    ing_free(img);
    CHECK(st == INGOT_OK, "%s", ingot_last_error());
    CHECK(q->target.backend == INGOT_BACKEND_CUDA && q->target.gpu_sm == 90 &&
              q->target.cudnn == 90100, "target not kept");
    ingot_clear_error();
    st = engine_check_target(&q->target);
#ifdef INGOT_WITH_CUDA
    CHECK(st == INGOT_OK, "%s", ingot_last_error());
    q->target.backend = 7;
    st = engine_check_target(&q->target);
    engine_plan_destroy(q);
    CHECK(st == INGOT_ERR_BACKEND && strstr(ingot_last_error(), "backend 7"), "%s: %s",
          ingot_status_name(st), ingot_last_error());
#else
    engine_plan_destroy(q);
    CHECK(st == INGOT_ERR_BACKEND, "status %s", ingot_status_name(st));
    CHECK(strstr(ingot_last_error(), "cuda") && strstr(ingot_last_error(), "sm_90") &&
              strstr(ingot_last_error(), "no CUDA"), "%s", ingot_last_error());
#endif
    engine_target t = {.backend = INGOT_BACKEND_CPU, .precision = 9};
    CHECK(engine_check_target(&t) == INGOT_ERR_VERSION, "unknown precision");
    t.precision = INGOT_PRECISION_FP32;
    CHECK(engine_check_target(&t) == INGOT_OK, "cpu target rejected: %s", ingot_last_error());
    return 1;
}

/* Fail the Nth allocation for N = 1.. until the call succeeds; every failure must be NOMEM
 * with *out untouched (leaks are caught by the ASan build). */
static int alloc_fail_read(void)
{
    long n;
    for (n = 1; n < 100000; n++) {
        engine_plan *sentinel = (engine_plan *)(uintptr_t)0x1234, *out = sentinel;
        ing_alloc_fail_at(n);
        ingot_status st = engine_read_image(g_img, g_size, 1, &out);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) {
            int r = same_plan(g_plan, out);
            engine_plan_destroy(out);
            if (!r) return 0; /* same_plan said why */
            break;
        }
        CHECK(st == INGOT_ERR_NOMEM && out == sentinel, "allocation %ld: %s (%s)", n,
              ingot_status_name(st), ingot_last_error());
    }
    CHECK(n > 20, "only %ld allocations: the hook did not reach the reader", n);
    return 1;
}

static int alloc_fail_write(void)
{
    long n;
    for (n = 1; n < 100000; n++) {
        void *data = (void *)(uintptr_t)0x1234;
        size_t size = 77;
        ing_alloc_fail_at(n);
        ingot_status st = engine_write_buffer(g_plan, &data, &size);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) {
            int same = size == g_size && memcmp(data, g_img, size) == 0;
            ing_free(data);
            CHECK(same, "engine written after %ld failures differs", n);
            break;
        }
        CHECK(st == INGOT_ERR_NOMEM && data == (void *)(uintptr_t)0x1234 && size == 77,
              "allocation %ld: %s", n, ingot_status_name(st));
    }
    CHECK(n > 1, "the writer allocated nothing");
    return 1;
}

static int alloc_fail_inspect(void)
{
    FILE *o = fopen("/dev/null", "w");
    CHECK(o, "cannot open /dev/null");
    long n;
    ingot_status st = INGOT_OK;
    for (n = 1; n < 100000; n++) {
        ing_alloc_fail_at(n);
        st = engine_inspect(o, g_img, g_size, (int)(n & 1));
        ing_alloc_fail_at(0);
        if (st == INGOT_OK || st != INGOT_ERR_NOMEM) break;
    }
    fclose(o);
    CHECK(st == INGOT_OK, "allocation %ld: %s (%s)", n, ingot_status_name(st), ingot_last_error());
    return 1;
}

static int inspect_output(void)
{
    char *buf = NULL;
    size_t len = 0;
    for (int json = 0; json < 2; json++) {
        FILE *o = open_memstream(&buf, &len);
        CHECK(o, "open_memstream");
        ingot_status st = engine_inspect(o, g_img, g_size, json);
        fclose(o);
        const char *want[] = {"w_f32", "cpu.Custom", "if_node", "else_neg", "w_empty",
                              json ? "\"params_bytes\":16" : "[tactic: cuDNN algo 6, math 1, workspace 123456789]",
                              json ? "\"checksum_ok\":true" : "ok", json ? "\"arena_bytes\":256"
                                                                        : "arena 256 bytes"};
        int r = st == INGOT_OK;
        for (size_t k = 0; r && k < sizeof want / sizeof want[0]; k++)
            if (!strstr(buf, want[k])) {
                snprintf(fail_msg, sizeof fail_msg, "json=%d output lacks '%s':\n%s", json,
                         want[k], buf);
                r = 0;
            }
        if (r && json && (buf[0] != '{' || !strstr(buf, "}\n"))) r = 0;
        if (st != INGOT_OK) snprintf(fail_msg, sizeof fail_msg, "%s", ingot_last_error());
        free(buf);
        buf = NULL;
        if (!r) return 0;
    }
    /* a corrupt image prints nothing and returns the reader's status */
    FILE *o = open_memstream(&buf, &len);
    CHECK(o, "open_memstream");
    ingot_status st = engine_inspect(o, g_img, 100, 0);
    fclose(o);
    int quiet = len == 0;
    free(buf);
    CHECK(st == INGOT_ERR_CORRUPT && quiet, "status %s, %zu bytes printed",
          ingot_status_name(st), len);
    return 1;
}

/* Flip each byte (three ways) with and without fresh checksums, and cut the file at every
 * length: the reader must never crash, and a cut file must never load. */
static int flip_and_truncate_everything(void)
{
    FILE *devnull = fopen("/dev/null", "w");
    CHECK(devnull, "cannot open /dev/null");
    uint8_t *img = malloc(g_size);
    CHECK(img, "out of memory");
    static const uint8_t masks[3] = {0x01, 0x80, 0xFF};
    long accepted = 0, tried = 0;
    engine_header_v1 h = hdr_of(g_img);
    for (size_t pos = 0; pos < g_size; pos++) {
        int in_meta = pos < h.metadata_offset + h.metadata_size; /* header or metadata */
        for (int m = 0; m < 3; m++)
            for (int rh = 0; rh <= in_meta; rh++) {
                memcpy(img, g_img, g_size);
                img[pos] ^= masks[m];
                if (rh) rehash(img);
                engine_plan *q = NULL;
                tried++;
                if (engine_read_image(img, g_size, 1, &q) == INGOT_OK) {
                    accepted++;
                    engine_plan_destroy(q);
                }
                if (rh && (pos % 7) == 0) (void)engine_inspect(devnull, img, g_size, (int)(pos & 1));
            }
    }
    for (size_t len = 0; len < g_size; len++) {
        engine_plan *q = NULL;
        ingot_status st = engine_read_image(g_img, len, 0, &q);
        if (st == INGOT_OK) {
            engine_plan_destroy(q);
            free(img);
            fclose(devnull);
            CHECK(0, "a file cut to %zu of %zu bytes loaded", len, g_size);
        }
    }
    free(img);
    fclose(devnull);
    printf("     (%ld corrupted images tried, %ld accepted: edits in names, padding or values)\n",
           tried, accepted);
    return 1;
}

int main(void)
{
    g_plan = make_plan(INGOT_BACKEND_CPU);
    if (!g_plan || engine_write_buffer(g_plan, (void **)&g_img, &g_size) != INGOT_OK) {
        printf("setup: cannot build the test engine: %s\n0 passed, 1 failed\n",
               ingot_last_error());
        engine_plan_destroy(g_plan);
        return 1;
    }
    /* INGOT_CORRUPT_DUMP=path saves the test engine, e.g. as a fuzzing seed. */
    const char *dump = getenv("INGOT_CORRUPT_DUMP");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(g_img, 1, g_size, f);
            fclose(f);
        }
    }
    run("ROUNDTRIP_BUFFER", roundtrip_buffer);
    run("ROUNDTRIP_REWRITE_IDENTICAL", roundtrip_again_identical);
    run("ROUNDTRIP_FILE", roundtrip_file);
    run("EMPTY_PLAN", empty_plan);
    run("WRITER_REJECTS_BAD_PLAN", writer_rejects_bad_plan);
    run("VERIFY_OK", verify_ok);
    run("STREAM_METADATA", stream_metadata);
    run("BAD_MAGIC", bad_magic);
    run("BAD_VERSION_FUTURE", bad_version_future);
    run("BAD_VERSION_OLD", bad_version_old);
    run("TRUNCATED_HEADER", truncated_header);
    run("TRUNCATED_HEADER_TINY", truncated_header_tiny);
    run("EMPTY_FILE", empty_file);
    run("TRUNCATED_METADATA", truncated_metadata);
    run("TRUNCATED_WEIGHTS", truncated_weights);
    run("TRAILING_BYTES", trailing_bytes);
    run("WEIGHT_OUT_OF_BOUNDS", weight_out_of_bounds);
    run("WEIGHT_SIZE_OUT_OF_BOUNDS", weight_size_out_of_bounds);
    run("WEIGHT_MISALIGNED", weight_misaligned);
    run("OVERLAPPING_BLOBS", overlapping_blobs);
    run("CHECKSUM_MISMATCH", checksum_mismatch);
    run("WEIGHT_CHECKSUM_MISMATCH", weight_checksum_mismatch);
    run("WEIGHT_CHECKSUM_UNVERIFIED", weight_checksum_unverified);
    run("HEADER_CHECKSUM_MISMATCH", header_checksum_mismatch);
    run("WRONG_BACKEND", wrong_backend);
    run("BAD_VALUE_ID", bad_value_id);
    run("BAD_DTYPE", bad_dtype);
    run("BAD_RANK", bad_rank);
    run("BAD_KIND", bad_kind);
    run("CONST_SHAPE_MISMATCH", const_shape_mismatch);
    run("HUGE_COUNT", huge_count);
    run("HUGE_COUNT_INTS", huge_count_ints);
    run("HUGE_TENSOR_BYTES", huge_tensor_bytes);
    run("BAD_BODY_ID", bad_body_id);
    run("BAD_ATTR_TYPE", bad_attr_type);
    run("BAD_STRING_LENGTH", bad_string_length);
    run("BAD_PRODUCER", bad_producer);
    run("BODY_PARENT_MISMATCH", body_parent_mismatch);
    run("BODY_CYCLE", body_cycle);
    run("BAD_ARENA_OFFSET", bad_arena_offset);
    run("METADATA_TRAILING", metadata_trailing);
    engine_plan *pp = make_profiled_plan();
    if (!pp || engine_write_buffer(pp, (void **)&g_pimg, &g_psize) != INGOT_OK) {
        CHECK(0, "cannot write the profiled test engine: %s", ingot_last_error());
    } else {
        run("PROFILE_ROUNDTRIP", profile_roundtrip);
        run("PROFILE_NOT_INPUT", profile_not_input);
        run("PROFILE_MIN_ABOVE_MAX", profile_min_above_max);
        run("PROFILE_FIXED_DIM_MISMATCH", profile_fixed_dim);
        run("PROFILE_BAD_RANK", profile_bad_rank);
        run("PROFILE_SLOT_OUTSIDE_ARENA", profile_slot_outside_arena);
        run("PROFILE_WITHOUT_ARENA", profile_without_arena);
    }
    engine_plan_destroy(pp);
    ing_free(g_pimg);
    run("BAD_TACTIC_KIND", bad_tactic_kind);
    run("BAD_TACTIC_VERSION_FUTURE", bad_tactic_version_future);
    run("BAD_TACTIC_MATH", bad_tactic_math);
    run("BAD_TACTIC_LAYOUT", bad_tactic_layout);
    run("BAD_TACTIC_ALGO", bad_tactic_algo);
    run("BAD_TACTIC_WORKSPACE", bad_tactic_workspace);
    run("BAD_TACTIC_LT_LENGTH", bad_tactic_lt_length);
    run("ALLOC_FAIL_READ", alloc_fail_read);
    run("ALLOC_FAIL_WRITE", alloc_fail_write);
    run("ALLOC_FAIL_INSPECT", alloc_fail_inspect);
    run("INSPECT_OUTPUT", inspect_output);
    run("FLIP_AND_TRUNCATE_EVERY_BYTE", flip_and_truncate_everything);
    engine_plan_destroy(g_plan);
    ing_free(g_img);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
