/* The CUDA data-movement kernels (backend/cuda/move.c) against the CPU backend.
 *
 * Each case is a one-node ONNX graph built with graph_util, run on the CPU and on CUDA with the
 * same fresh random inputs (seeded per case; floats in ±[0.001, 2], integers in a stated index
 * range). The CUDA outputs go to caller buffers filled with poison bytes first (0xFF: NaN for
 * floats, -1 for integers; then 0x55 and 0xA5), and the node runs three times so the plain
 * run, the CUDA-graph capture and the graph replay are all checked. Tolerance: byte-moving ops
 * must match exactly; Resize linear f32 1e-5 relative + 1e-6 absolute, f16 1e-3 + 1e-3.
 * Prints one line per failing case (op, dtype, shape, first mismatch) and "N passed, N failed";
 * exits 77 when the machine has no usable GPU.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "engine/plan.h"
#include "graph_util.h"
#include "runtime/runtime.h"
#include "onnx.pb-c.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})
#define F32 INGOT_DTYPE_F32
#define F16 INGOT_DTYPE_F16
#define I64 INGOT_DTYPE_I64
#define I32 INGOT_DTYPE_I32
#define U8 INGOT_DTYPE_U8
#define BOOL INGOT_DTYPE_BOOL

static int n_pass, n_fail;

typedef struct feed {
    const char *name;
    const void *data; /* explicit input bytes (shape-like inputs fed at run time) */
} feed;

typedef struct tcase {
    const char *label; /* "Op dtype shape details" */
    int64_t ilo, ihi;  /* integer inputs: uniform in [ilo, ihi] */
    double rtol, atol;
    const feed *feeds;
    int n_feeds;
    /* ConstantOfShape: a `value` tensor attribute added to the node (graph_util has none) */
    int value_dtype;
    const void *value;
} tcase;

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h | 1;
}

/* The packed model with a TENSOR attribute `value` (one element) on its first node. */
static uint8_t *add_value_attr(const uint8_t *bytes, size_t *len, int dtype, const void *val)
{
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, *len, bytes);
    if (!m || !m->graph || m->graph->n_node < 1) return NULL;
    Onnx__NodeProto *n = m->graph->node[0];
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    int64_t dim = 1;
    t.n_dims = 1;
    t.dims = &dim;
    t.has_data_type = 1;
    t.data_type = dtype;
    t.has_raw_data = 1;
    t.raw_data.len = ingot_dtype_size((ingot_dtype)dtype);
    t.raw_data.data = (uint8_t *)val;
    a.name = (char *)"value";
    a.has_type = 1;
    a.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    a.t = &t;
    Onnx__AttributeProto **old = n->attribute, **attrs = calloc(n->n_attribute + 1, sizeof *attrs);
    size_t old_n = n->n_attribute;
    if (old_n) memcpy(attrs, old, old_n * sizeof *attrs);
    attrs[old_n] = &a;
    n->attribute = attrs;
    n->n_attribute = old_n + 1;
    *len = onnx__model_proto__get_packed_size(m);
    uint8_t *out = malloc(*len ? *len : 1);
    onnx__model_proto__pack(m, out);
    n->attribute = old;
    n->n_attribute = old_n;
    free(attrs);
    onnx__model_proto__free_unpacked(m, NULL);
    return out;
}

static void fill_random(ing_tensor *t, uint64_t *s, int64_t ilo, int64_t ihi)
{
    for (int64_t k = 0; k < ing_numel(t); k++) {
        uint64_t r = rng(s);
        if (ing_dtype_is_float(t->dtype)) {
            double u = (double)(r >> 11) / 9007199254740992.0;
            double v = 0.001 + 1.999 * u;
            ing_store_f64(t->dtype, t->data, (size_t)k, (r & 1) ? -v : v);
        } else if (t->dtype == INGOT_DTYPE_BOOL) {
            ((uint8_t *)t->data)[k] = (uint8_t)(r & 1);
        } else {
            int64_t span = ihi - ilo + 1;
            ing_store_i64(t->dtype, t->data, (size_t)k, ilo + (int64_t)((r >> 8) % (uint64_t)span));
        }
    }
}

static void fail(const char *label, const char *fmt, const char *detail)
{
    printf("FAIL %s: %s%s\n", label, fmt, detail ? detail : "");
    n_fail++;
}

/* Build g for CPU and CUDA, run both on the same inputs, compare. Frees g. */
static void run_case(gu_graph *g, const tcase *tc)
{
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    if (tc->value) {
        uint8_t *b2 = add_value_attr(bytes, &len, tc->value_dtype, tc->value);
        free(bytes);
        bytes = b2;
        if (!bytes) {
            fail(tc->label, "could not add the value attribute", NULL);
            return;
        }
    }
    ingot_engine *ec = NULL, *eg = NULL;
    ingot_context *cc = NULL, *cg = NULL;
    void *bufs[16] = {0}, *outs[16] = {0};
    char msg[512];
    /* no folding: a one-node graph of constants (Range, ConstantOfShape, Shape of a static
     * shape) must still run its kernel */
    static const char *const no_passes[] = {"eliminate_identity", "fold_constants", "eliminate_dead", "cse"};
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.disabled_passes = no_passes;
    o.n_disabled_passes = sizeof no_passes / sizeof no_passes[0];
    if (ingot_builder_build_buffer(bytes, len, &o, &ec) != INGOT_OK) {
        fail(tc->label, "CPU build: ", ingot_last_error());
        goto done;
    }
    o.backend = INGOT_BACKEND_CUDA;
    ingot_status st = ingot_builder_build_buffer(bytes, len, &o, &eg);
    if (st == INGOT_ERR_BACKEND) {
        printf("skipped: no usable CUDA device (%s)\n", ingot_last_error());
        exit(77);
    }
    if (st != INGOT_OK) {
        fail(tc->label, "CUDA build: ", ingot_last_error());
        goto done;
    }
    /* the node must run a CUDA kernel, not the CPU fallback (Slice/Resize with parameters fed at
     * run time show as fallback at build time and take the CUDA kernel once the values are known) */
    const ir_model *gm = eg->plan->model;
    for (int32_t k = 0; k < gm->bodies[0].n_nodes; k++) {
        int32_t id = gm->bodies[0].nodes[k];
        const char *kn = eg->plan->steps ? eg->plan->steps[id].kernel : "?";
        const char *op = gm->nodes[id].op;
        if (strncmp(kn, "cuda.", 5) && (tc->n_feeds == 0 || (strcmp(op, "Slice") && strcmp(op, "Resize")))) {
            fail(tc->label, "the CUDA engine runs this node on the CPU fallback: plan step ", kn);
            goto done;
        }
    }
    if (ingot_context_create(ec, &cc) != INGOT_OK || ingot_context_create(eg, &cg) != INGOT_OK) {
        fail(tc->label, "context: ", ingot_last_error());
        goto done;
    }
    uint64_t seed = hash_str(tc->label);
    size_t n_in = ingot_engine_num_inputs(ec);
    for (size_t i = 0; i < n_in && i < 16; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(ec, i, &info);
        ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
        for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
        size_t nb = ing_nbytes(&t);
        bufs[i] = calloc(1, nb ? nb : 1);
        t.data = bufs[i];
        const void *given = NULL;
        for (int f = 0; f < tc->n_feeds; f++)
            if (!strcmp(tc->feeds[f].name, info.name)) given = tc->feeds[f].data;
        if (given) memcpy(t.data, given, nb);
        else fill_random(&t, &seed, tc->ilo, tc->ihi);
        ingot_context_bind_input(cc, info.name, t.data, nb);
        ingot_context_bind_input(cg, info.name, t.data, nb);
    }
    if (ingot_context_run(cc, NULL) != INGOT_OK) {
        fail(tc->label, "CPU run: ", ingot_last_error());
        goto done;
    }
    size_t n_out = ingot_engine_num_outputs(ec);
    static const uint8_t poison[3] = {0xFF, 0x55, 0xA5};
    for (int run = 0; run < 3; run++) {
        for (size_t j = 0; j < n_out && j < 16; j++) {
            ingot_tensor_info info, oi;
            const void *data;
            size_t size;
            ingot_engine_get_output(ec, j, &info);
            ingot_context_get_output(cc, info.name, &oi, &data, &size);
            free(outs[j]);
            outs[j] = malloc(size ? size : 1);
            memset(outs[j], poison[run], size ? size : 1);
            ingot_context_bind_output(cg, info.name, outs[j], size);
        }
        if (ingot_context_run(cg, NULL) != INGOT_OK) {
            snprintf(msg, sizeof msg, "(run %d) %s", run + 1, ingot_last_error());
            fail(tc->label, "CUDA run: ", msg);
            goto done;
        }
        for (size_t j = 0; j < n_out && j < 16; j++) {
            ingot_tensor_info info, ia, ib;
            const void *da, *db;
            size_t sa, sb;
            ingot_engine_get_output(ec, j, &info);
            ingot_context_get_output(cc, info.name, &ia, &da, &sa);
            ingot_context_get_output(cg, info.name, &ib, &db, &sb);
            int same_shape = ia.rank == ib.rank && ia.dtype == ib.dtype && sa == sb;
            for (int d = 0; same_shape && d < ia.rank; d++) same_shape = ia.dims[d] == ib.dims[d];
            if (!same_shape) {
                snprintf(msg, sizeof msg, "output '%s': CUDA gives dtype %s rank %d (%zu bytes), CPU %s rank %d (%zu bytes)",
                         info.name, ingot_dtype_name(ib.dtype), ib.rank, sb, ingot_dtype_name(ia.dtype), ia.rank, sa);
                fail(tc->label, msg, NULL);
                goto done;
            }
            size_t es = ingot_dtype_size(ia.dtype), n = es ? sa / es : 0;
            for (size_t k = 0; k < n; k++) {
                double ref = ing_load_f64(ia.dtype, da, k), got = ing_load_f64(ib.dtype, db, k);
                int bad;
                if (tc->rtol == 0 && tc->atol == 0) bad = memcmp((const char *)da + k * es, (const char *)db + k * es, es) != 0;
                else bad = isnan(got) != isnan(ref) || fabs(got - ref) > tc->atol + tc->rtol * fabs(ref);
                if (bad) {
                    snprintf(msg, sizeof msg, "output '%s' [%zu of %zu] (run %d, poison 0x%02X): CUDA %.9g, CPU %.9g%s", info.name,
                             k, n, run + 1, poison[run], got, ref,
                             isnan(got) || memchr((const char *)db + k * es, poison[run], 1) ? " (possibly unwritten)" : "");
                    fail(tc->label, msg, NULL);
                    goto done;
                }
            }
        }
    }
    n_pass++;
done:
    for (int i = 0; i < 16; i++) {
        free(bufs[i]);
        free(outs[i]);
    }
    ingot_context_destroy(cc);
    ingot_context_destroy(cg);
    ingot_engine_destroy(ec);
    ingot_engine_destroy(eg);
    free(bytes);
}

#define EXACT(label) (&(tcase){label, 0, 0, 0, 0, NULL, 0, 0, NULL})
#define INDEX(label, lo, hi) (&(tcase){label, lo, hi, 0, 0, NULL, 0, 0, NULL})

/* ---- same bytes, new shape ------------------------------------------------------------------- */

static void t_reshape(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 3, D(2, 3, 4));
    gu_const(g, "s", I64, 1, D(2), D(4, -1));
    gu_node(g, "Reshape", "n", "x,s", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Reshape f32 [2,3,4] -> [4,-1]"));

    g = gu_new(17);
    gu_input(g, "x", F16, 4, D(2, 3, 4, 5));
    gu_node(g, "Flatten", "n", "x", "y");
    gu_attr_int(g, "axis", 2);
    gu_output(g, "y");
    run_case(g, EXACT("Flatten f16 [2,3,4,5] axis 2"));

    g = gu_new(17);
    gu_input(g, "x", I64, 4, D(1, 3, 1, 4));
    gu_const(g, "a", I64, 1, D(2), D(0, -2));
    gu_node(g, "Squeeze", "n", "x,a", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Squeeze i64 [1,3,1,4] axes [0,-2]", -1000, 1000));

    g = gu_new(17);
    gu_input(g, "x", BOOL, 2, D(3, 4));
    gu_const(g, "a", I64, 1, D(2), D(0, 3));
    gu_node(g, "Unsqueeze", "n", "x,a", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Unsqueeze bool [3,4] axes [0,3]"));
}

/* ---- Transpose ------------------------------------------------------------------------------- */

static void transpose(int dt, int rank, const int64_t *dims, const int64_t *perm, const char *label)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, rank, dims);
    gu_node(g, "Transpose", "n", "x", "y");
    if (perm) gu_attr_ints(g, "perm", (size_t)rank, perm);
    gu_output(g, "y");
    run_case(g, INDEX(label, -100, 100));
}

static void t_transpose(void)
{
    transpose(F32, 4, D(2, 3, 4, 5), D(0, 2, 3, 1), "Transpose f32 [2,3,4,5] perm [0,2,3,1]");
    transpose(F32, 4, D(5, 6, 7, 8), D(3, 2, 1, 0), "Transpose f32 [5,6,7,8] perm [3,2,1,0]");
    transpose(F16, 2, D(64, 48), NULL, "Transpose f16 [64,48] default perm (tiled)");
    transpose(F32, 3, D(3, 40, 50), D(0, 2, 1), "Transpose f32 [3,40,50] perm [0,2,1] (tiled, ragged tiles)");
    transpose(F32, 3, D(8, 256, 300), D(0, 2, 1), "Transpose f32 [8,256,300] perm [0,2,1] (tiled, large)");
    transpose(I64, 3, D(2, 3, 4), D(2, 0, 1), "Transpose i64 [2,3,4] perm [2,0,1]");
    transpose(U8, 2, D(33, 17), D(1, 0), "Transpose u8 [33,17] perm [1,0] (tiled, 1-byte)");
    transpose(F32, 4, D(2, 16, 9, 12), D(0, 2, 3, 1), "Transpose f32 [2,16,9,12] NCHW->NHWC (tiled)");
    transpose(F16, 4, D(2, 9, 12, 16), D(0, 3, 1, 2), "Transpose f16 [2,9,12,16] NHWC->NCHW (tiled)");
    transpose(F32, 5, D(2, 3, 1, 4, 5), D(4, 2, 0, 3, 1), "Transpose f32 [2,3,1,4,5] perm [4,2,0,3,1]");
}

/* ---- Concat, Split --------------------------------------------------------------------------- */

static void t_concat_split(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "a", F32, 3, D(2, 3, 4));
    gu_input(g, "b", F32, 3, D(2, 5, 4));
    gu_input(g, "c", F32, 3, D(2, 1, 4));
    gu_node(g, "Concat", "n", "a,b,c", "y");
    gu_attr_int(g, "axis", 1);
    gu_output(g, "y");
    run_case(g, EXACT("Concat f32 [2,3,4]+[2,5,4]+[2,1,4] axis 1"));

    g = gu_new(17);
    gu_input(g, "a", F16, 2, D(3, 5));
    gu_input(g, "b", F16, 2, D(3, 7));
    gu_node(g, "Concat", "n", "a,b", "y");
    gu_attr_int(g, "axis", -1);
    gu_output(g, "y");
    run_case(g, EXACT("Concat f16 [3,5]+[3,7] axis -1 (2-byte rows)"));

    g = gu_new(17);
    gu_input(g, "a", I64, 2, D(2, 3));
    gu_input(g, "b", I64, 2, D(4, 3));
    gu_node(g, "Concat", "n", "a,b", "y");
    gu_attr_int(g, "axis", 0);
    gu_output(g, "y");
    run_case(g, INDEX("Concat i64 [2,3]+[4,3] axis 0", -50, 50));

    g = gu_new(17);
    gu_input(g, "a", F32, 3, D(4, 8, 16));
    gu_input(g, "b", F32, 3, D(4, 8, 32));
    gu_node(g, "Concat", "n", "a,b", "y");
    gu_attr_int(g, "axis", 2);
    gu_output(g, "y");
    run_case(g, EXACT("Concat f32 [4,8,16]+[4,8,32] axis 2 (16-byte units)"));

    g = gu_new(17);
    gu_input(g, "x", F32, 2, D(6, 10));
    gu_const(g, "s", I64, 1, D(2), D(3, 7));
    gu_node(g, "Split", "n", "x,s", "y0,y1");
    gu_attr_int(g, "axis", 1);
    gu_output(g, "y0");
    gu_output(g, "y1");
    run_case(g, EXACT("Split f32 [6,10] axis 1 split [3,7]"));

    g = gu_new(18);
    gu_input(g, "x", F16, 2, D(6, 8));
    gu_node(g, "Split", "n", "x", "y0,y1,y2");
    gu_attr_int(g, "axis", 1);
    gu_attr_int(g, "num_outputs", 3);
    gu_output(g, "y0");
    gu_output(g, "y1");
    gu_output(g, "y2");
    run_case(g, EXACT("Split f16 [6,8] axis 1 num_outputs 3 (3,3,2)"));

    g = gu_new(17);
    gu_input(g, "x", I32, 3, D(4, 3, 2));
    gu_node(g, "Split", "n", "x", "y0,y1");
    gu_output(g, "y0");
    gu_output(g, "y1");
    run_case(g, INDEX("Split i32 [4,3,2] axis 0 equal halves", -9, 9));
}

/* ---- Slice ----------------------------------------------------------------------------------- */

static void t_slice(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 3, D(10, 12, 8));
    gu_const(g, "st", I64, 1, D(2), D(1, 10));
    gu_const(g, "en", I64, 1, D(2), D(9, 1));
    gu_const(g, "ax", I64, 1, D(2), D(0, 1));
    gu_const(g, "sp", I64, 1, D(2), D(2, -3));
    gu_node(g, "Slice", "n", "x,st,en,ax,sp", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Slice f32 [10,12,8] starts [1,10] ends [9,1] axes [0,1] steps [2,-3]"));

    g = gu_new(17);
    gu_input(g, "x", F16, 2, D(20, 30));
    gu_const(g, "st", I64, 1, D(1), D(2));
    gu_const(g, "en", I64, 1, D(1), D(1000));
    gu_const(g, "ax", I64, 1, D(1), D(-1));
    gu_node(g, "Slice", "n", "x,st,en,ax", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Slice f16 [20,30] starts [2] ends [1000] axes [-1]"));

    g = gu_new(17);
    gu_input(g, "x", I64, 2, D(5, 6));
    gu_const(g, "st", I32, 1, D(2), ((const int32_t[]){-1, -2}));
    gu_const(g, "en", I32, 1, D(2), ((const int32_t[]){-1000, 0}));
    gu_const(g, "sp", I32, 1, D(2), ((const int32_t[]){-1, -2}));
    gu_const(g, "ax", I32, 1, D(2), ((const int32_t[]){0, 1}));
    gu_node(g, "Slice", "n", "x,st,en,ax,sp", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Slice i64 [5,6] i32 params, reversed both axes", -99, 99));

    /* starts/ends fed at run time: read back from the device, no graph capture */
    static const int64_t st[2] = {1, 0}, en[2] = {4, 5}, ax[2] = {1, 2}, sp[2] = {1, 2};
    static const feed feeds[4] = {{"st", st}, {"en", en}, {"ax", ax}, {"sp", sp}};
    g = gu_new(17);
    gu_input(g, "x", F32, 3, D(3, 6, 5));
    gu_input(g, "st", I64, 1, D(2));
    gu_input(g, "en", I64, 1, D(2));
    gu_input(g, "ax", I64, 1, D(2));
    gu_input(g, "sp", I64, 1, D(2));
    gu_node(g, "Slice", "n", "x,st,en,ax,sp", "y");
    gu_output(g, "y");
    run_case(g, &(tcase){"Slice f32 [3,6,5] params as graph inputs (read back)", 0, 0, 0, 0, feeds, 4, 0, NULL});
}

/* ---- Gather, GatherElements ------------------------------------------------------------------ */

static void t_gather(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 3, D(5, 4, 3));
    gu_input(g, "i", I64, 2, D(2, 3));
    gu_node(g, "Gather", "n", "x,i", "y");
    gu_attr_int(g, "axis", 1);
    gu_output(g, "y");
    run_case(g, INDEX("Gather f32 [5,4,3] axis 1 i64 indices [2,3] in [-4,3]", -4, 3));

    g = gu_new(17);
    gu_input(g, "x", F16, 2, D(6, 5));
    gu_input(g, "i", I32, 1, D(7));
    gu_node(g, "Gather", "n", "x,i", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Gather f16 [6,5] axis 0 i32 indices [7] in [-6,5]", -6, 5));

    g = gu_new(17);
    gu_input(g, "x", F32, 2, D(100, 64));
    gu_input(g, "i", I64, 2, D(8, 16));
    gu_node(g, "Gather", "n", "x,i", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Gather f32 [100,64] axis 0 indices [8,16] (embedding rows, 16-byte units)", 0, 99));

    g = gu_new(17);
    gu_input(g, "x", I64, 1, D(10));
    gu_input(g, "i", I64, 0, NULL);
    gu_node(g, "Gather", "n", "x,i", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Gather i64 [10] scalar index", -10, 9));

    g = gu_new(17);
    gu_input(g, "x", F32, 2, D(4, 5));
    gu_input(g, "i", I64, 2, D(4, 3));
    gu_node(g, "GatherElements", "n", "x,i", "y");
    gu_attr_int(g, "axis", 1);
    gu_output(g, "y");
    run_case(g, INDEX("GatherElements f32 [4,5] axis 1 indices [4,3] in [-5,4]", -5, 4));

    g = gu_new(17);
    gu_input(g, "x", F16, 3, D(3, 4, 5));
    gu_input(g, "i", I32, 3, D(2, 4, 5));
    gu_node(g, "GatherElements", "n", "x,i", "y");
    gu_output(g, "y");
    run_case(g, INDEX("GatherElements f16 [3,4,5] axis 0 i32 indices [2,4,5]", -3, 2));
}

/* ---- Expand, Tile, DepthToSpace, SpaceToDepth -------------------------------------------------- */

static void t_expand_tile(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, D(3, 1));
    gu_const(g, "s", I64, 1, D(3), D(2, 3, 4));
    gu_node(g, "Expand", "n", "x,s", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Expand f32 [3,1] -> [2,3,4]"));

    g = gu_new(17);
    gu_input(g, "x", F16, 2, D(1, 4));
    gu_const(g, "s", I64, 1, D(2), D(3, 1));
    gu_node(g, "Expand", "n", "x,s", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Expand f16 [1,4] -> [3,4] (shape [3,1])"));

    g = gu_new(17);
    gu_input(g, "x", I64, 3, D(2, 1, 3));
    gu_const(g, "s", I64, 1, D(3), D(2, 5, 3));
    gu_node(g, "Expand", "n", "x,s", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Expand i64 [2,1,3] -> [2,5,3]", -1000, 1000));

    g = gu_new(17);
    gu_input(g, "x", F32, 2, D(2, 3));
    gu_const(g, "r", I64, 1, D(2), D(2, 3));
    gu_node(g, "Tile", "n", "x,r", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Tile f32 [2,3] repeats [2,3]"));

    g = gu_new(17);
    gu_input(g, "x", F16, 3, D(2, 3, 4));
    gu_const(g, "r", I64, 1, D(3), D(1, 2, 1));
    gu_node(g, "Tile", "n", "x,r", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Tile f16 [2,3,4] repeats [1,2,1]"));

    const char *modes[2] = {"DCR", "CRD"};
    for (int m = 0; m < 2; m++) {
        char label[96];
        snprintf(label, sizeof label, "DepthToSpace f32 [2,8,3,4] blocksize 2 mode %s", modes[m]);
        g = gu_new(17);
        gu_input(g, "x", F32, 4, D(2, 8, 3, 4));
        gu_node(g, "DepthToSpace", "n", "x", "y");
        gu_attr_int(g, "blocksize", 2);
        gu_attr_string(g, "mode", modes[m]);
        gu_output(g, "y");
        run_case(g, EXACT(label));
    }

    g = gu_new(17);
    gu_input(g, "x", F16, 4, D(2, 3, 6, 8));
    gu_node(g, "SpaceToDepth", "n", "x", "y");
    gu_attr_int(g, "blocksize", 2);
    gu_output(g, "y");
    run_case(g, EXACT("SpaceToDepth f16 [2,3,6,8] blocksize 2"));
}

/* ---- Pad ------------------------------------------------------------------------------------- */

static void t_pad(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, D(3, 4));
    gu_const(g, "p", I64, 1, D(4), D(1, 2, 0, -1));
    gu_const_f32(g, "c", 0, NULL, (const float[]){1.5f});
    gu_node(g, "Pad", "n", "x,p,c", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Pad constant f32 [3,4] pads [1,2,0,-1] value 1.5"));

    g = gu_new(17);
    gu_input(g, "x", I64, 2, D(3, 4));
    gu_const(g, "p", I64, 1, D(4), D(2, 1, 1, 2));
    gu_node(g, "Pad", "n", "x,p", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Pad constant i64 [3,4] pads [2,1,1,2] no value (zero)", 1, 1000));

    g = gu_new(17);
    gu_input(g, "x", F32, 3, D(2, 3, 5));
    gu_const(g, "p", I64, 1, D(6), D(0, 1, 2, 0, 2, 4));
    gu_node(g, "Pad", "n", "x,p", "y");
    gu_attr_string(g, "mode", "reflect");
    gu_output(g, "y");
    run_case(g, EXACT("Pad reflect f32 [2,3,5] pads [0,1,2,0,2,4]"));

    g = gu_new(17);
    gu_input(g, "x", F16, 2, D(4, 5));
    gu_const(g, "p", I64, 1, D(4), D(2, 3, 2, 1));
    gu_node(g, "Pad", "n", "x,p", "y");
    gu_attr_string(g, "mode", "edge");
    gu_output(g, "y");
    run_case(g, EXACT("Pad edge f16 [4,5] pads [2,3,2,1]"));

    g = gu_new(19);
    gu_input(g, "x", F32, 2, D(3, 4));
    gu_const(g, "p", I64, 1, D(4), D(1, 5, 2, 1));
    gu_node(g, "Pad", "n", "x,p", "y");
    gu_attr_string(g, "mode", "wrap");
    gu_output(g, "y");
    run_case(g, EXACT("Pad wrap f32 [3,4] pads [1,5,2,1] (opset 19)"));

    g = gu_new(18);
    gu_input(g, "x", F16, 3, D(2, 3, 4));
    gu_const(g, "p", I64, 1, D(2), D(1, 3));
    gu_const(g, "c", F16, 0, NULL, ((const uint16_t[]){0x3E00})); /* 1.5 */
    gu_const(g, "a", I64, 1, D(1), D(-1));
    gu_node(g, "Pad", "n", "x,p,c,a", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Pad constant f16 [2,3,4] axes [-1] pads [1,3] value 1.5 (opset 18)"));
}

/* ---- ConstantOfShape, Range, Shape, Size ------------------------------------------------------- */

static void t_fill(void)
{
    gu_graph *g = gu_new(17);
    gu_const(g, "s", I64, 1, D(2), D(2, 3));
    gu_input(g, "x", F32, 1, D(1)); /* a graph needs an input; unused */
    gu_node(g, "ConstantOfShape", "n", "s", "y");
    gu_output(g, "y");
    run_case(g, EXACT("ConstantOfShape default f32 zero [2,3]"));

    static const int64_t shp[3] = {4, 5, 6};
    static const feed f1[1] = {{"s", shp}};
    static const uint16_t half_v = 0xBC00; /* -1.0 */
    g = gu_new(17);
    gu_input(g, "s", I64, 1, D(3));
    gu_node(g, "ConstantOfShape", "n", "s", "y");
    gu_output(g, "y");
    run_case(g, &(tcase){"ConstantOfShape f16 value -1 shape fed [4,5,6]", 0, 0, 0, 0, f1, 1, F16, &half_v});

    static const int64_t i64_v = 0x123456789LL;
    g = gu_new(17);
    gu_input(g, "s", I64, 1, D(3));
    gu_node(g, "ConstantOfShape", "n", "s", "y");
    gu_output(g, "y");
    run_case(g, &(tcase){"ConstantOfShape i64 value 0x123456789 shape fed [4,5,6]", 0, 0, 0, 0, f1, 1, I64, &i64_v});

    static const float fs = 1.5f, fl = 20.0f, fd = 0.7f;
    static const feed f2[3] = {{"s", &fs}, {"l", &fl}, {"d", &fd}};
    g = gu_new(17);
    gu_input(g, "s", F32, 0, NULL);
    gu_input(g, "l", F32, 0, NULL);
    gu_input(g, "d", F32, 0, NULL);
    gu_node(g, "Range", "n", "s,l,d", "y");
    gu_output(g, "y");
    run_case(g, &(tcase){"Range f32 1.5 .. 20 step 0.7 (fed)", 0, 0, 0, 0, f2, 3, 0, NULL});

    g = gu_new(17);
    gu_const(g, "s", I64, 0, NULL, D(10));
    gu_const(g, "l", I64, 0, NULL, D(-5));
    gu_const(g, "d", I64, 0, NULL, D(-3));
    gu_input(g, "x", F32, 1, D(1));
    gu_node(g, "Range", "n", "s,l,d", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Range i64 10 .. -5 step -3 (constants)"));

    static const int32_t is = -7, il = 100, id = 9;
    static const feed f3[3] = {{"s", &is}, {"l", &il}, {"d", &id}};
    g = gu_new(17);
    gu_input(g, "s", I32, 0, NULL);
    gu_input(g, "l", I32, 0, NULL);
    gu_input(g, "d", I32, 0, NULL);
    gu_node(g, "Range", "n", "s,l,d", "y");
    gu_output(g, "y");
    run_case(g, &(tcase){"Range i32 -7 .. 100 step 9 (fed)", 0, 0, 0, 0, f3, 3, 0, NULL});

    g = gu_new(17);
    gu_input(g, "x", F32, 4, D(2, 3, 4, 5));
    gu_node(g, "Shape", "n", "x", "y");
    gu_output(g, "y");
    run_case(g, EXACT("Shape f32 [2,3,4,5]"));

    g = gu_new(17);
    gu_input(g, "x", F16, 4, D(2, 3, 4, 5));
    gu_node(g, "Shape", "n", "x", "y");
    gu_attr_int(g, "start", 1);
    gu_attr_int(g, "end", -1);
    gu_output(g, "y");
    run_case(g, EXACT("Shape f16 [2,3,4,5] start 1 end -1"));

    g = gu_new(17);
    gu_input(g, "x", I32, 3, D(7, 3, 5));
    gu_node(g, "Size", "n", "x", "y");
    gu_output(g, "y");
    run_case(g, INDEX("Size i32 [7,3,5]", 0, 5));
}

/* ---- Resize ---------------------------------------------------------------------------------- */

static void resize(int dt, const char *mode, const char *ctm, const char *nm, const float *scales,
                   const int64_t *sizes, double rtol, double atol)
{
    char label[256];
    const int64_t *xd = D(2, 3, 6, 8);
    gu_graph *g = gu_new(13);
    gu_input(g, "x", dt, 4, xd);
    if (scales) gu_const_f32(g, "sc", 1, D(4), scales);
    else gu_const(g, "sz", I64, 1, D(4), sizes);
    gu_node(g, "Resize", "n", scales ? "x,,sc" : "x,,,sz", "y");
    gu_attr_string(g, "mode", mode);
    gu_attr_string(g, "coordinate_transformation_mode", ctm);
    if (nm) gu_attr_string(g, "nearest_mode", nm);
    gu_output(g, "y");
    if (scales)
        snprintf(label, sizeof label, "Resize %s %s [2,3,6,8] scales [%g,%g,%g,%g] %s %s", mode,
                 ingot_dtype_name((ingot_dtype)dt), scales[0], scales[1], scales[2], scales[3], ctm, nm ? nm : "");
    else
        snprintf(label, sizeof label, "Resize %s %s [2,3,6,8] sizes [%lld,%lld,%lld,%lld] %s %s", mode,
                 ingot_dtype_name((ingot_dtype)dt), (long long)sizes[0], (long long)sizes[1], (long long)sizes[2],
                 (long long)sizes[3], ctm, nm ? nm : "");
    run_case(g, &(tcase){label, 0, 0, rtol, atol, NULL, 0, 0, NULL});
}

static void t_resize(void)
{
    static const char *ctms[4] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"};
    static const char *nms[4] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const float up[4] = {1, 1, 2, 1.5f}, down[4] = {1, 1, 0.5f, 0.75f}, odd[4] = {1, 1, 1.7f, 0.6f};
    for (int c = 0; c < 4; c++) {
        for (int n = 0; n < 4; n++) resize(F32, "nearest", ctms[c], nms[n], up, NULL, 0, 0);
        resize(F32, "nearest", ctms[c], NULL, down, NULL, 0, 0);
        resize(F32, "linear", ctms[c], NULL, up, NULL, 1e-5, 1e-6);
        resize(F32, "linear", ctms[c], NULL, down, NULL, 1e-5, 1e-6);
        resize(F32, "linear", ctms[c], NULL, odd, NULL, 1e-5, 1e-6);
        resize(F16, "linear", ctms[c], NULL, odd, NULL, 1e-3, 1e-3);
    }
    resize(F16, "nearest", "asymmetric", "floor", odd, NULL, 0, 0);
    resize(U8, "nearest", "half_pixel", NULL, up, NULL, 0, 0);
    resize(F32, "nearest", "half_pixel", NULL, NULL, D(2, 3, 13, 5), 0, 0);
    resize(F32, "linear", "align_corners", NULL, NULL, D(2, 3, 1, 17), 1e-5, 1e-6);
    resize(F32, "linear", "pytorch_half_pixel", NULL, NULL, D(2, 3, 9, 1), 1e-5, 1e-6);
    resize(F32, "linear", "half_pixel", NULL, NULL, D(4, 3, 6, 11), 1e-5, 1e-6);

    /* Resize-10: scales as the second input, asymmetric, legacy nearest rounding */
    gu_graph *g = gu_new(10);
    gu_input(g, "x", F32, 4, D(1, 2, 4, 5));
    gu_const_f32(g, "sc", 1, D(4), (const float[]){1, 1, 2, 0.6f});
    gu_node(g, "Resize", "n", "x,sc", "y");
    gu_attr_string(g, "mode", "nearest");
    gu_output(g, "y");
    run_case(g, EXACT("Resize-10 nearest f32 [1,2,4,5] scales [1,1,2,0.6]"));

    /* scales fed at run time (read back; the graph capture is refused and the run still works) */
    static const float sc[4] = {1, 1, 1.5f, 2};
    static const feed f[1] = {{"sc", sc}};
    g = gu_new(13);
    gu_input(g, "x", F32, 4, D(1, 2, 4, 5));
    gu_input(g, "sc", F32, 1, D(4));
    gu_node(g, "Resize", "n", "x,,sc", "y");
    gu_attr_string(g, "mode", "linear");
    gu_output(g, "y");
    run_case(g, &(tcase){"Resize linear f32 [1,2,4,5] scales fed [1,1,1.5,2]", 0, 0, 1e-5, 1e-6, f, 1, 0, NULL});
}

/* Out-of-range indices on CUDA: wrapped once, then clamped into [0, n) (no out-of-bounds read;
 * the CPU kernel rejects them, so the expected rows are computed here). */
static void t_gather_clamp(void)
{
    const char *label = "Gather f32 [5,3] axis 0 out-of-range indices {7,-9,2,100,-1} (clamped)";
    static const int64_t idx[5] = {7, -9, 2, 100, -1}, rows[5] = {4, 0, 2, 4, 4};
    float data[15], got[15];
    for (int i = 0; i < 15; i++) data[i] = 0.5f + (float)i;
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, D(5, 3));
    gu_input(g, "i", I64, 1, D(5));
    gu_node(g, "Gather", "n", "x,i", "y");
    gu_output(g, "y");
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    ingot_engine *e = NULL;
    ingot_context *c = NULL;
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = INGOT_BACKEND_CUDA;
    if (ingot_builder_build_buffer(bytes, len, &o, &e) != INGOT_OK || ingot_context_create(e, &c) != INGOT_OK) {
        fail(label, "build: ", ingot_last_error());
        goto done;
    }
    memset(got, 0xFF, sizeof got);
    ingot_context_bind_input(c, "x", data, sizeof data);
    ingot_context_bind_input(c, "i", idx, sizeof idx);
    ingot_context_bind_output(c, "y", got, sizeof got);
    if (ingot_context_run(c, NULL) != INGOT_OK) {
        fail(label, "CUDA run: ", ingot_last_error());
        goto done;
    }
    for (int j = 0; j < 5; j++)
        for (int k = 0; k < 3; k++)
            if (memcmp(&got[j * 3 + k], &data[rows[j] * 3 + k], sizeof(float))) {
                char msg[160];
                snprintf(msg, sizeof msg, "row %d (index %lld) element %d: CUDA %g, row %lld holds %g", j,
                         (long long)idx[j], k, got[j * 3 + k], (long long)rows[j], data[rows[j] * 3 + k]);
                fail(label, msg, NULL);
                goto done;
            }
    n_pass++;
done:
    ingot_context_destroy(c);
    ingot_engine_destroy(e);
    free(bytes);
}

int main(void)
{
    t_reshape();
    t_transpose();
    t_concat_split();
    t_slice();
    t_gather();
    t_gather_clamp();
    t_expand_tile();
    t_pad();
    t_fill();
    t_resize();
    printf("test_cuda_move: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
