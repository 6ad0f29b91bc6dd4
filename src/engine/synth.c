/* Synthetic engines at the sizes users hit without an ONNX model (`ingot synth`): the graph is
 * built directly as IR (shapes set by hand, no inference or optimization), planned and given
 * CPU kernels, and written with the streaming writer while the weights are generated piece by
 * piece from a counter-based hash (deterministic, any piece computable on its own). */
#include "engine/synth.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backend/backend.h"
#include "core/alloc.h"
#include "core/status.h"
#include "engine/stream.h"
#include "plan/memplan.h"

static const struct {
    const char *name, *what;
} kinds[] = {
    {"tiny", "MatMul chain, 4 f32 64x64 weights (64 KiB), for tests"},
    {"64m", "MatMul chain, 4 f32 2048x2048 weights (64 MiB), for tests of large reads"},
    {"1g", "MatMul chain, 16 f32 4096x4096 weights (1 GiB)"},
    {"5g", "MatMul chain, 80 f32 4096x4096 weights (5 GiB; offsets past 4 GiB)"},
    {"blob-5g", "one f32 weight of 5 GiB (a single blob past 4 GiB) feeding Shape"},
    {"llama-7b", "LLaMA-7B weight set in f16 (13.5 GB): embeddings, 32 layers of attention and "
                 "MLP matrices with norms, output head; run as a chain over every weight"},
};

size_t engine_synth_count(void) { return sizeof kinds / sizeof kinds[0]; }

const char *engine_synth_name(size_t i, const char **what)
{
    if (i >= engine_synth_count()) return NULL;
    if (what) *what = kinds[i].what;
    return kinds[i].name;
}

/* ---- graph construction ---------------------------------------------------------------- */

typedef struct gb {
    ir_model *m;
    ingot_status st; /* the first failure sticks */
} gb;

static int32_t value(gb *g, const char *name, int32_t kind, int32_t dtype, int32_t rank,
                     const int64_t *dims)
{
    int32_t id = -1;
    if (g->st != INGOT_OK) return -1;
    if ((g->st = ir_add_value(g->m, name, kind, &id)) != INGOT_OK) return -1;
    ir_value *v = &g->m->values[id];
    v->t.dtype = dtype;
    v->t.rank = rank;
    size_t bytes = ingot_dtype_size((ingot_dtype)dtype);
    for (int32_t d = 0; d < rank; d++) {
        v->t.dims[d] = dims[d];
        if (dims[d] < 0 || !ing_mul_fits(bytes, (size_t)dims[d], &bytes)) {
            g->st = ingot_fail(INGOT_ERR_INVALID_ARG, "synthetic weight '%s' is too large", name);
            return -1;
        }
    }
    if (kind == IR_VALUE_CONST) v->const_bytes = bytes; /* the bytes come while writing */
    return id;
}

static int32_t weight(gb *g, const char *name, int32_t dtype, int64_t d0, int64_t d1)
{
    int64_t dims[2] = {d0, d1};
    return value(g, name, IR_VALUE_CONST, dtype, d1 ? 2 : 1, dims);
}

/* out = op(a, b) with out's shape given; returns out's id. */
static int32_t node(gb *g, const char *op, const char *name, int32_t a, int32_t b, int32_t dtype,
                    int32_t rank, const int64_t *dims)
{
    int32_t out = value(g, name, IR_VALUE_ACTIVATION, dtype, rank, dims), id;
    if (g->st != INGOT_OK) return -1;
    int32_t in[2] = {a, b};
    if ((g->st = ir_add_node(g->m, name, op, "", 17, in, b >= 0 ? 2 : 1, &out, 1, &id)) !=
        INGOT_OK)
        return -1;
    g->m->values[out].producer = id;
    if ((g->st = ir_body_push(&g->m->bodies[0].nodes, &g->m->bodies[0].n_nodes, id)) != INGOT_OK)
        return -1;
    return out;
}

static void io(gb *g, int32_t id, int is_input)
{
    if (g->st != INGOT_OK) return;
    ir_body *b = &g->m->bodies[0];
    g->st = is_input ? ir_body_push(&b->in, &b->n_in, id) : ir_body_push(&b->out, &b->n_out, id);
}

static void chain(gb *g, int64_t dim, int n)
{
    int64_t row[2] = {1, dim};
    int32_t x = value(g, "x", IR_VALUE_INPUT, INGOT_DTYPE_F32, 2, row);
    io(g, x, 1);
    for (int i = 0; i < n; i++) {
        char wn[32], yn[32];
        snprintf(wn, sizeof wn, "w%d", i);
        snprintf(yn, sizeof yn, i == n - 1 ? "y" : "h%d", i);
        x = node(g, "MatMul", yn, x, weight(g, wn, INGOT_DTYPE_F32, dim, dim), INGOT_DTYPE_F32, 2,
                 row);
    }
    io(g, x, 0);
}

static void blob5g(gb *g)
{
    int64_t one[1] = {2};
    int32_t w = weight(g, "big", INGOT_DTYPE_F32, 5, (int64_t)1 << 28);
    int32_t y = node(g, "Shape", "shape", w, -1, INGOT_DTYPE_I64, 1, one);
    io(g, y, 0);
}

/* LLaMA-7B's weight set (dim 4096, MLP 11008, 32 layers, vocab 32000, f16). The graph is not
 * attention: it runs every weight once in a chain so the engine is runnable and every byte is
 * used, with the real shapes and the real byte count. */
static void llama7b(gb *g)
{
    const int64_t dim = 4096, hid = 11008, vocab = 32000;
    const int32_t f16 = INGOT_DTYPE_F16;
    int64_t one[1] = {1}, row[2] = {1, dim}, hrow[2] = {1, hid}, lrow[2] = {1, vocab};
    char n[64], m[64];
    int32_t ids = value(g, "ids", IR_VALUE_INPUT, INGOT_DTYPE_I64, 1, one);
    io(g, ids, 1);
    int32_t x = node(g, "Gather", "embed", weight(g, "tok_embeddings.weight", f16, vocab, dim),
                     ids, f16, 2, row);
    for (int l = 0; l < 32; l++) {
#define W(name, d0, d1) (snprintf(n, sizeof n, "layers.%d." name, l), weight(g, n, f16, d0, d1))
#define NAME(s) (snprintf(m, sizeof m, "l%d." s, l), m)
        int32_t h = node(g, "Mul", NAME("attn_norm"), x, W("attention_norm.weight", dim, 0), f16,
                         2, row);
        h = node(g, "MatMul", NAME("q"), h, W("attention.wq.weight", dim, dim), f16, 2, row);
        h = node(g, "MatMul", NAME("k"), h, W("attention.wk.weight", dim, dim), f16, 2, row);
        h = node(g, "MatMul", NAME("v"), h, W("attention.wv.weight", dim, dim), f16, 2, row);
        h = node(g, "MatMul", NAME("o"), h, W("attention.wo.weight", dim, dim), f16, 2, row);
        x = node(g, "Add", NAME("attn_res"), x, h, f16, 2, row);
        h = node(g, "Mul", NAME("ffn_norm"), x, W("ffn_norm.weight", dim, 0), f16, 2, row);
        int32_t gate = node(g, "MatMul", NAME("w1"), h, W("feed_forward.w1.weight", dim, hid),
                            f16, 2, hrow);
        int32_t up = node(g, "MatMul", NAME("w3"), h, W("feed_forward.w3.weight", dim, hid), f16,
                          2, hrow);
        h = node(g, "Mul", NAME("gate_up"), gate, up, f16, 2, hrow);
        h = node(g, "MatMul", NAME("w2"), h, W("feed_forward.w2.weight", hid, dim), f16, 2, row);
        x = node(g, "Add", NAME("ffn_res"), x, h, f16, 2, row);
#undef W
#undef NAME
    }
    x = node(g, "Mul", "final_norm", x, weight(g, "norm.weight", f16, dim, 0), f16, 2, row);
    x = node(g, "MatMul", "logits", x, weight(g, "output.weight", f16, dim, vocab), f16, 2, lrow);
    io(g, x, 0);
}

ingot_status engine_synth_plan(const char *name, engine_plan **out)
{
    return engine_synth_plan_for(name, INGOT_BACKEND_CPU, out);
}

ingot_status engine_synth_plan_for(const char *name, int32_t backend, engine_plan **out)
{
    const ing_backend *be = ing_backend_get(backend);
    if (!be)
        return ingot_fail(INGOT_ERR_BACKEND, "synthetic engine '%s' for backend %d: this build of ingot does not "
                          "have that backend", name ? name : "(null)", backend);
    ir_model *m = NULL;
    engine_plan *p = NULL;
    int32_t body;
    size_t k = 0;
    while (k < engine_synth_count() && strcmp(kinds[k].name, name ? name : "") != 0) k++;
    if (k == engine_synth_count())
        return ingot_fail(INGOT_ERR_INVALID_ARG, "synthetic engine '%s' is not one of tiny, 1g, "
                          "5g, blob-5g, llama-7b", name ? name : "(null)");
    ING_TRY(ir_model_create(&m));
    gb g = {m, INGOT_OK};
    m->opset = 17;
    if ((g.st = ir_add_body(m, -1, &body)) == INGOT_OK) {
        if (!strcmp(name, "tiny")) chain(&g, 64, 4);
        else if (!strcmp(name, "64m")) chain(&g, 2048, 4);
        else if (!strcmp(name, "1g")) chain(&g, 4096, 16);
        else if (!strcmp(name, "5g")) chain(&g, 4096, 80);
        else if (!strcmp(name, "blob-5g")) blob5g(&g);
        else llama7b(&g);
    }
    ingot_status st = g.st;
    if (st == INGOT_OK && (st = engine_plan_create(m, &p)) == INGOT_OK) {
        m = NULL;
        p->target.backend = backend;
        p->target.precision = INGOT_PRECISION_FP32;
        if ((st = plan_memory(p)) == INGOT_OK) st = be->prepare(p, NULL);
    }
    if (st != INGOT_OK) {
        ir_model_destroy(m);
        engine_plan_destroy(p);
        return st;
    }
    *out = p;
    return INGOT_OK;
}

/* ---- weights --------------------------------------------------------------------------- */

static uint64_t mix(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Small values of random sign (|w| in [2^-7, 2^-6)), so a chain of 4096-wide products keeps
 * its scale: 64-bit word i of a blob is a function of (value, i) alone. */
static uint64_t word(int32_t dtype, int32_t value, uint64_t i)
{
    uint64_t r = mix(((uint64_t)(uint32_t)value << 40) ^ i);
    if (dtype == INGOT_DTYPE_F16) return (r & 0x83FF83FF83FF83FFull) | 0x2000200020002000ull;
    return (r & 0x807FFFFF807FFFFFull) | 0x3C0000003C000000ull;
}

#define SPARSE_EDGE 4096u /* bytes kept at each end of a blob in sparse mode */

/* Blob bytes [from, to) of `value` into d, which holds the piece starting at blob byte `base`;
 * from is a multiple of 8. */
static void fill_words(uint8_t *d, uint64_t base, int32_t dtype, int32_t value, uint64_t from,
                       uint64_t to)
{
    if (from >= to) return;
    int64_t words = (int64_t)((to - from + 7) / 8);
#pragma omp parallel for if (words >= 32768) schedule(static)
    for (int64_t w = 0; w < words; w++) {
        uint64_t at = from + (uint64_t)w * 8;
        uint64_t x = word(dtype, value, at / 8);
        memcpy(d + (at - base), &x, to - at < 8 ? (size_t)(to - at) : 8);
    }
}

ingot_status engine_synth_fill(void *user, int32_t value, uint64_t offset, void *dst, size_t n)
{
    const engine_synth_fill_ctx *c = user;
    const ir_value *v = &c->plan->model->values[value];
    uint64_t end = offset + n;
    /* Word-aligned pieces (the writer's pieces start at multiples of 4 MiB). */
    if (offset % 8 != 0)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "synthetic weight '%s': piece at byte %" PRIu64
                          " is not 8-byte aligned", v->name, offset);
    if (!c->sparse) {
        fill_words(dst, offset, v->t.dtype, value, offset, end);
        return INGOT_OK;
    }
    /* Sparse: zeros, but for the words that hold the first and last SPARSE_EDGE bytes. */
    uint64_t tail = (v->const_bytes > SPARSE_EDGE ? v->const_bytes - SPARSE_EDGE : 0) & ~7ull;
    memset(dst, 0, n);
    fill_words(dst, offset, v->t.dtype, value, offset, end < SPARSE_EDGE ? end : SPARSE_EDGE);
    fill_words(dst, offset, v->t.dtype, value, offset > tail ? offset : tail, end);
    return INGOT_OK;
}

ingot_status engine_synth_write(const char *name, const char *path, int sparse)
{
    return engine_synth_write_for(name, path, sparse, INGOT_BACKEND_CPU);
}

ingot_status engine_synth_write_for(const char *name, const char *path, int sparse, int32_t backend)
{
    engine_plan *p;
    ING_TRY(engine_synth_plan_for(name, backend, &p));
    engine_synth_fill_ctx c = {p, sparse};
    ingot_status st = engine_write_file_gen(p, path, engine_synth_fill, &c);
    engine_plan_destroy(p);
    return st;
}
