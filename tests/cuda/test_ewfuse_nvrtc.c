#define _GNU_SOURCE /* memmem */
/* Build-time half of the CUDA FusedElementwise path, which needs NVRTC but no GPU (runs in CI):
 * the pass's programs (fp32 with a per-channel constant, fp16 and bf16 with boundary Casts, every
 * opcode the pass emits) become CUDA source that NVRTC compiles for sm_90; the step's params
 * record has the documented layout (magic, version, counts, dtypes, an ELF cubin, the source,
 * sizes adding up); a compile error is INGOT_ERR_CUDA naming the node with the compiler's log.
 * Exits 77 (skipped) with a message when libnvrtc cannot be loaded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "check.h"
#include "core/alloc.h"
#include "ewfuse_graphs.h"
#include "graph_util.h"
#include "runtime/runtime.h"

static void check_record(const char *what, const ingot_engine *e, int want_in_dtype, int want_out_dtype)
{
    const ir_model *m = e->plan->model;
    int found = 0;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const ir_node *n = &m->nodes[i];
        if (strcmp(n->op, "FusedElementwise")) continue;
        found++;
        engine_step_info s = {0};
        ingot_status st = cuda_ewfuse_prepare(m, i, &s, NULL, 0);
        CHECK(st == INGOT_OK, "%s: prepare: %s", what, ingot_last_error());
        if (st != INGOT_OK) continue;
        const uint8_t *r = s.params;
        uint32_t ver, n_in;
        int32_t dt;
        uint64_t cl, sl;
        memcpy(&ver, r + 4, 4);
        memcpy(&n_in, r + 8, 4);
        memcpy(&dt, r + 12, 4);
        memcpy(&cl, r + 16, 8);
        memcpy(&sl, r + 24, 8);
        CHECK(s.params_len > 48 && !memcmp(r, "IEWK", 4) && ver == 1, "%s: magic and version", what);
        CHECK(n_in == (uint32_t)n->n_in && dt == want_out_dtype, "%s: %u inputs (node %d), dtype %d (want %d)", what,
              n_in, n->n_in, dt, want_out_dtype);
        CHECK(r[32] == want_in_dtype, "%s: input 0 dtype %u, want %d", what, r[32], want_in_dtype);
        CHECK(48 + cl + sl == s.params_len, "%s: 48 + %" PRIu64 " + %" PRIu64 " == %zu", what, cl, sl, s.params_len);
        CHECK(cl > 4 && !memcmp(r + 48, "\177ELF", 4), "%s: the cubin is an ELF image", what);
        CHECK(sl > 0 && memmem(r + 48 + cl, sl, "ingot_ew", 8), "%s: the source follows the cubin", what);
        ing_free(s.params);
    }
    CHECK(found == 1, "%s: %d FusedElementwise nodes, want 1", what, found);
}

/* The load-time checks of the record (cuda_ewfuse_validate, no GPU needed): a good record
 * passes; each corruption is INGOT_ERR_CORRUPT naming the step's node. */
static void test_corrupt_records(void)
{
    gu_graph *g = ewfuse_all_ops(40);
    ingot_engine *e = gu_build_as_gpu(g, INGOT_PRECISION_FP32, NULL, 0, NULL);
    gu_free(g);
    CHECK(e != NULL, "corrupt: build");
    if (!e) return;
    engine_plan *pl = e->plan;
    int32_t id = -1;
    for (int32_t i = 0; i < pl->model->n_nodes; i++)
        if (!strcmp(pl->model->nodes[i].op, "FusedElementwise")) id = i;
    engine_step_info *s = &pl->steps[id];
    ing_free(s->kernel);
    s->kernel = ing_strdup("cuda.FusedElementwise"); /* as a CUDA build names it */
    CHECK_STATUS(cuda_ewfuse_validate(pl), INGOT_ERR_CORRUPT, "not a kernel record"); /* no params at all */
    CHECK_STATUS(cuda_ewfuse_prepare(pl->model, id, s, NULL, 0), INGOT_OK, NULL);
    CHECK_STATUS(cuda_ewfuse_validate(pl), INGOT_OK, NULL);
    const char *node = pl->model->nodes[id].name;
    uint8_t *r = s->params;
    size_t len = s->params_len;
    struct {
        const char *name;
        size_t at;
        uint8_t value;
        size_t cut;
        const char *mention;
    } cases[] = {
        {"BAD_MAGIC", 0, 'X', 0, "magic"},
        {"FUTURE_VERSION", 4, 2, 0, "version 2"},
        {"INPUT_COUNT", 8, 7, 0, "7 inputs"},
        {"OUTPUT_DTYPE", 12, 10, 0, "dtype 10"},
        {"INPUT_DTYPE", 33, 16, 0, "input 1 has dtype 16"},
        {"CUBIN_SIZE", 16 + 7, 0x10, 0, "do not add up"},
        {"NOT_ELF", 48, 0, 0, "not an ELF"},
        {"TRUNCATED", 0, 0, 100, "do not add up"},
        {"HEADER_ONLY", 0, 0, SIZE_MAX, "not a kernel record"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t save = r[cases[c].at];
        if (!cases[c].cut) r[cases[c].at] = cases[c].value;
        else s->params_len = cases[c].cut == SIZE_MAX ? 40 : len - cases[c].cut;
        ingot_status st = cuda_ewfuse_validate(pl);
        CHECK(st == INGOT_ERR_CORRUPT && strstr(ingot_last_error(), node) &&
                  strstr(ingot_last_error(), cases[c].mention),
              "%s: got %s: %s", cases[c].name, ingot_status_name(st), ingot_last_error());
        r[cases[c].at] = save;
        s->params_len = len;
    }
    CHECK_STATUS(cuda_ewfuse_validate(pl), INGOT_OK, NULL);
    ingot_engine_destroy(e);
}

/* Two chains with the same program: the second step copies the first's record (no compile). */
static void test_shared_compile(void)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 1, (int64_t[]){64});
    gu_input(g, "z", INGOT_DTYPE_F32, 1, (int64_t[]){64});
    gu_node(g, "Exp", "e1", "x", "a1");
    gu_node(g, "Neg", "n1", "a1", "y1");
    gu_node(g, "Exp", "e2", "z", "a2");
    gu_node(g, "Neg", "n2", "a2", "y2");
    gu_output(g, "y1");
    gu_output(g, "y2");
    ingot_engine *e = gu_build_as_gpu(g, INGOT_PRECISION_FP32, NULL, 0, NULL);
    gu_free(g);
    CHECK(e && gu_count_op(e, "FusedElementwise") == 2, "shared: two fused nodes");
    if (!e) return;
    const ir_model *m = e->plan->model;
    engine_step_info st[64] = {{0}};
    int32_t ids[2], k = 0;
    for (int32_t i = 0; i < m->n_nodes && i < 64 && k < 2; i++)
        if (!strcmp(m->nodes[i].op, "FusedElementwise")) ids[k++] = i;
    if (k == 2) {
        CHECK_STATUS(cuda_ewfuse_prepare(m, ids[0], &st[ids[0]], st, ids[0]), INGOT_OK, NULL);
        CHECK_STATUS(cuda_ewfuse_prepare(m, ids[1], &st[ids[1]], st, ids[1]), INGOT_OK, NULL);
        CHECK(st[ids[0]].params_len && st[ids[0]].params_len == st[ids[1]].params_len &&
                  !memcmp(st[ids[0]].params, st[ids[1]].params, st[ids[0]].params_len),
              "shared: the second record is the first's");
        CHECK(st[ids[0]].params != st[ids[1]].params, "shared: each step owns its copy");
    }
    for (int i = 0; i < 64; i++) ing_free(st[i].params);
    ingot_engine_destroy(e);
}

int main(void)
{
    if (cuda_nvrtc_load() != INGOT_OK) {
        printf("SKIP: %s\n", ingot_last_error());
        return 77;
    }
    static const struct {
        const char *what;
        int precision, in_dt, out_dt, steps;
    } cases[] = {{"fp32", INGOT_PRECISION_FP32, INGOT_DTYPE_F32, INGOT_DTYPE_F32, 1},
                 /* 16-bit: the boundary Casts (2 in, 1 out) stay outside, for I/O formats to fold */
                 {"fp16", INGOT_PRECISION_FP16, INGOT_DTYPE_F16, INGOT_DTYPE_F16, 4},
                 {"bf16", INGOT_PRECISION_BF16, INGOT_DTYPE_BF16, INGOT_DTYPE_BF16, 4}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gu_graph *g = ewfuse_all_ops(40);
        int steps = -1;
        ingot_engine *e = gu_build_as_gpu(g, cases[c].precision, NULL, 0, &steps);
        gu_free(g);
        CHECK(e && steps == cases[c].steps, "%s: %d steps, want %d (one fused)", cases[c].what, steps, cases[c].steps);
        if (e) check_record(cases[c].what, e, cases[c].in_dt, cases[c].out_dt);
        ingot_engine_destroy(e);
    }
    /* a 16-bit output: the model itself in f16 (no boundary Casts) */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F16, 1, (int64_t[]){64});
    gu_node(g, "Sigmoid", "s", "x", "a");
    gu_node(g, "Add", "m", "a,x", "y"); /* not Mul: fuse_silu would take x·σ(x) */
    gu_output(g, "y");
    ingot_engine *e = gu_build_as_gpu(g, INGOT_PRECISION_FP32, NULL, 0, NULL);
    gu_free(g);
    CHECK(e != NULL, "f16 model builds");
    if (e) check_record("f16 model", e, INGOT_DTYPE_F16, INGOT_DTYPE_F16);
    ingot_engine_destroy(e);

    void *bin = NULL;
    size_t len = 0;
    CHECK_STATUS(cuda_nvrtc_compile("extern \"C\" __global__ void k() { undeclared_name = 1; }", "node 'broken'",
                                    &bin, &len),
                 INGOT_ERR_CUDA, "node 'broken'");
    CHECK(strstr(ingot_last_error(), "undeclared_name") != NULL, "the compiler log is in the message: %s",
          ingot_last_error());
    CHECK(bin == NULL, "no cubin on failure");
    test_corrupt_records();
    test_shared_compile();
    DONE();
}
