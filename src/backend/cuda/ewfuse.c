/* FusedElementwise on CUDA: at build time the node's program becomes CUDA C (ewfuse_gen.c),
 * NVRTC compiles it for sm_90 and the cubin and source go into the step's params; at engine
 * load each cubin is loaded once (cudaLibraryLoadData) and its kernel looked up; a run fills the
 * argument block (coalesced dims, per-input strides and modes) and launches it.
 *
 * Step params record (little-endian; docs/engine-format.md):
 *   0  char[4] "IEWK"      4  u32 version (1)     8  u32 n_in      12 i32 output dtype
 *   16 u64 cubin_bytes    24 u64 source_bytes    32 u8 in_dtype[16] (0 past n_in)
 *   48 cubin (an ELF image), then the CUDA source (text, for inspection); nothing after. */
#include <cuda_runtime.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "core/alloc.h"
#include "ir/ew_program.h"

#define REC_MAGIC "IEWK"
#define REC_VERSION 1u
#define REC_HEADER 48u
#define BLOCK 256

/* The kernel's argument block: the layout of struct ew_args in the generated source. */
typedef struct ew_args {
    int64_t n;
    int32_t rank, vec;
    int32_t small, inner4;
    int64_t dims[8];
    int64_t st[EWP_MAX_IN][8];
    int32_t mode[EWP_MAX_IN];
    const void *in[EWP_MAX_IN];
    void *out;
} ew_args;

struct cuda_ewfuse {
    int32_t n_nodes;
    cudaLibrary_t *lib; /* per node id; NULL for other nodes */
    cudaKernel_t *kernel;
    int sms;            /* multiprocessors, for the grid size */
};

/* ---- build time -------------------------------------------------------------------------- */

/* An earlier step's record compiled from the same source (repeated blocks repeat their chains;
 * one NVRTC compile costs about a second): the same source means the same inputs, dtypes and
 * program, so the whole record fits. */
static const engine_step_info *same_source(const char *src, size_t src_len, const engine_step_info *prev,
                                           int32_t n_prev)
{
    for (int32_t j = 0; j < n_prev; j++) {
        const engine_step_info *p = &prev[j];
        uint64_t cl, sl;
        if (p->params_len < REC_HEADER || memcmp(p->params, REC_MAGIC, 4)) continue;
        memcpy(&cl, (const uint8_t *)p->params + 16, 8);
        memcpy(&sl, (const uint8_t *)p->params + 24, 8);
        if (sl == src_len && REC_HEADER + cl + sl == p->params_len &&
            !memcmp((const uint8_t *)p->params + REC_HEADER + cl, src, src_len))
            return p;
    }
    return NULL;
}

ingot_status cuda_ewfuse_prepare(const ir_model *m, int32_t node, engine_step_info *step, const engine_step_info *prev,
                                 int32_t n_prev)
{
    const ir_node *n = &m->nodes[node];
    char *src = NULL, what[600];
    void *cubin = NULL;
    size_t cubin_len = 0;
    snprintf(what, sizeof what, "node '%s' (FusedElementwise)", n->name);
    ingot_status st = cuda_ewfuse_source(m, n, &src);
    if (st != INGOT_OK) goto done;
    size_t src_len = strlen(src);
    const engine_step_info *twin = same_source(src, src_len, prev, n_prev);
    if (twin) {
        void *copy = ing_malloc(twin->params_len);
        if (!copy) {
            st = ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %zu parameter bytes", what, twin->params_len);
            goto done;
        }
        memcpy(copy, twin->params, twin->params_len);
        ing_free(step->params);
        step->params = copy;
        step->params_len = twin->params_len;
        goto done;
    }
    if ((st = cuda_nvrtc_compile(src, what, &cubin, &cubin_len)) != INGOT_OK) goto done;
    size_t total = REC_HEADER + cubin_len + src_len;
    uint8_t *rec = ing_calloc(1, total);
    if (!rec) {
        st = ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for %zu parameter bytes", what, total);
        goto done;
    }
    uint32_t ver = REC_VERSION, n_in = (uint32_t)n->n_in;
    int32_t dt = m->values[n->out[0]].t.dtype;
    uint64_t cl = cubin_len, sl = src_len;
    memcpy(rec, REC_MAGIC, 4);
    memcpy(rec + 4, &ver, 4);
    memcpy(rec + 8, &n_in, 4);
    memcpy(rec + 12, &dt, 4);
    memcpy(rec + 16, &cl, 8);
    memcpy(rec + 24, &sl, 8);
    for (int32_t j = 0; j < n->n_in; j++) rec[32 + j] = (uint8_t)m->values[n->in[j]].t.dtype;
    memcpy(rec + REC_HEADER, cubin, cubin_len);
    memcpy(rec + REC_HEADER + cubin_len, src, src_len);
    ing_free(step->params);
    step->params = rec;
    step->params_len = total;
done:
    ing_free(src);
    ing_free(cubin);
    return st;
}

/* ---- load time --------------------------------------------------------------------------- */

/* The record of step i checked against its node; *cubin points into it. */
static ingot_status check_record(const ir_model *m, int32_t i, const engine_step_info *s, const uint8_t **cubin)
{
    const ir_node *n = &m->nodes[i];
    const uint8_t *r = s->params;
    uint32_t ver, n_in;
    int32_t dt;
    uint64_t cl, sl;
#define BAD(...) ingot_fail(INGOT_ERR_CORRUPT, "step %d (node '%s', FusedElementwise): " __VA_ARGS__)
    if (!r || s->params_len < REC_HEADER || memcmp(r, REC_MAGIC, 4))
        return BAD("parameters of %zu bytes are not a kernel record (want the magic \"" REC_MAGIC "\" and >= %u bytes); "
                   "the engine is corrupt", i, n->name, s->params_len, REC_HEADER);
    memcpy(&ver, r + 4, 4);
    memcpy(&n_in, r + 8, 4);
    memcpy(&dt, r + 12, 4);
    memcpy(&cl, r + 16, 8);
    memcpy(&sl, r + 24, 8);
    if (ver != REC_VERSION) return BAD("kernel record version %u, this build reads %u", i, n->name, ver, REC_VERSION);
    if (n_in != (uint32_t)n->n_in || n->n_out != 1 || n->out[0] < 0 || dt != m->values[n->out[0]].t.dtype)
        return BAD("kernel record for %u inputs and output dtype %d; the node has %d inputs and dtype %d", i, n->name,
                   n_in, dt, n->n_in, n->n_out == 1 && n->out[0] >= 0 ? m->values[n->out[0]].t.dtype : -1);
    for (int32_t j = 0; j < n->n_in; j++)
        if (n->in[j] < 0 || r[32 + j] != (uint8_t)m->values[n->in[j]].t.dtype)
            return BAD("kernel record says input %d has dtype %u, the node's input has %d", i, n->name, j, r[32 + j],
                       n->in[j] >= 0 ? m->values[n->in[j]].t.dtype : -1);
    if (cl < 4 || cl > s->params_len - REC_HEADER || sl != s->params_len - REC_HEADER - cl)
        return BAD("kernel record sizes (cubin %" PRIu64 ", source %" PRIu64 " bytes) do not add up to its %zu bytes",
                   i, n->name, cl, sl, s->params_len);
    if (memcmp(r + REC_HEADER, "\177ELF", 4)) return BAD("the cubin is not an ELF image", i, n->name);
#undef BAD
    *cubin = r + REC_HEADER;
    return INGOT_OK;
}

void cuda_ewfuse_unload(cuda_ewfuse *f)
{
    if (!f) return;
    for (int32_t i = 0; i < f->n_nodes; i++)
        if (f->lib[i]) cudaLibraryUnload(f->lib[i]);
    ing_free(f->lib);
    ing_free(f->kernel);
    ing_free(f);
}

/* Steps that run a generated kernel. */
static int generated(const engine_plan *plan, int32_t i)
{
    const engine_step_info *s = &plan->steps[i];
    return !strcmp(plan->model->nodes[i].op, "FusedElementwise") && s->kernel && !strcmp(s->kernel, "cuda.FusedElementwise");
}

ingot_status cuda_ewfuse_validate(const engine_plan *plan)
{
    const uint8_t *cubin;
    for (int32_t i = 0; i < plan->model->n_nodes && plan->steps; i++)
        if (generated(plan, i)) ING_TRY(check_record(plan->model, i, &plan->steps[i], &cubin));
    return INGOT_OK;
}

ingot_status cuda_ewfuse_load(const engine_plan *plan, cuda_ewfuse **out)
{
    ING_TRY(cuda_ewfuse_validate(plan)); /* before any CUDA call: a corrupt record is CORRUPT */
    const ir_model *m = plan->model;
    cuda_ewfuse *f = ing_calloc(1, sizeof *f);
    size_t nn = (size_t)(m->n_nodes ? m->n_nodes : 1);
    ingot_status st = INGOT_OK;
    if (!f || !(f->lib = ing_calloc(nn, sizeof *f->lib)) || !(f->kernel = ing_calloc(nn, sizeof *f->kernel))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory loading generated kernels");
        goto fail;
    }
    f->n_nodes = m->n_nodes;
    int dev = 0;
    if ((st = cuda_check(cudaGetDevice(&dev), "cudaGetDevice")) != INGOT_OK) goto fail;
    if ((st = cuda_check(cudaDeviceGetAttribute(&f->sms, cudaDevAttrMultiProcessorCount, dev),
                         "cudaDeviceGetAttribute")) != INGOT_OK)
        goto fail;
    for (int32_t i = 0; i < m->n_nodes && plan->steps; i++) {
        if (!generated(plan, i)) continue;
        const uint8_t *cubin = NULL;
        if ((st = check_record(m, i, &plan->steps[i], &cubin)) != INGOT_OK) goto fail;
        cudaError_t e = cudaLibraryLoadData(&f->lib[i], cubin, NULL, NULL, 0, NULL, NULL, 0);
        if (e == cudaSuccess) e = cudaLibraryGetKernel(&f->kernel[i], f->lib[i], "ingot_ew");
        if (e != cudaSuccess) {
            int bad_image = e == cudaErrorInvalidKernelImage || e == cudaErrorInvalidSource ||
                            e == cudaErrorSymbolNotFound || e == cudaErrorSharedObjectSymbolNotFound;
            st = ingot_fail(bad_image ? INGOT_ERR_CORRUPT : INGOT_ERR_CUDA,
                            "step %d (node '%s', FusedElementwise): loading its cubin: %s (%s)", i, m->nodes[i].name,
                            cudaGetErrorString(e), cudaGetErrorName(e));
            goto fail;
        }
    }
    *out = f;
    return INGOT_OK;
fail:
    cuda_ewfuse_unload(f);
    return st;
}

/* ---- run time ---------------------------------------------------------------------------- */

/* Fill the argument block: drop size-1 dims, merge neighbours every input walks as one (as the
 * CPU's ew_apply does), then classify each input. */
static void fill_args(ew_args *a, const ing_tensor *const *in, int n_in, const ing_tensor *y)
{
    int64_t st[EWP_MAX_IN][IR_MAX_RANK];
    memset(a, 0, sizeof *a);
    for (int j = 0; j < n_in; j++) {
        int64_t s = 1;
        for (int d = y->rank - 1; d >= 0; d--) {
            int td = d - (y->rank - in[j]->rank);
            int64_t dim = td >= 0 ? in[j]->dims[td] : 1;
            st[j][d] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    int nd = 0;
    for (int d = 0; d < y->rank; d++) {
        if (y->dims[d] == 1) continue;
        int merge = nd > 0;
        for (int j = 0; j < n_in && merge; j++) merge = a->st[j][nd - 1] == st[j][d] * y->dims[d];
        if (merge) {
            a->dims[nd - 1] *= y->dims[d];
            for (int j = 0; j < n_in; j++) a->st[j][nd - 1] = st[j][d];
        } else {
            a->dims[nd] = y->dims[d];
            for (int j = 0; j < n_in; j++) a->st[j][nd] = st[j][d];
            nd++;
        }
    }
    a->rank = nd;
    a->n = ing_numel(y);
    a->small = a->n <= UINT32_MAX;
    for (int j = 0; j < n_in; j++) a->small &= (uint64_t)ing_numel(in[j]) <= UINT32_MAX;
    a->inner4 = nd > 0 && a->dims[nd - 1] % 4 == 0;
    a->out = y->data;
    size_t es = ingot_dtype_size((ingot_dtype)y->dtype);
    a->vec = a->n % 4 == 0 && (uintptr_t)y->data % (4 * es) == 0;
    for (int j = 0; j < n_in; j++) {
        a->in[j] = in[j]->data;
        a->mode[j] = ing_numel(in[j]) == a->n ? 0 : ing_numel(in[j]) == 1 ? 1 : 2;
        if (a->mode[j] == 0)
            a->vec &= (uintptr_t)in[j]->data % (4 * ingot_dtype_size((ingot_dtype)in[j]->dtype)) == 0;
    }
}

static ingot_status k_fused_ew(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    (void)n_out;
    int32_t id;
    const cuda_ewfuse *f = cuda_exec_ewfuse(x, node, &id);
    if (!f || id < 0 || id >= f->n_nodes || !f->kernel[id])
        return IR_NODE_FAIL(node, INGOT_ERR_STATE, "its generated kernel is not loaded (built without it?)");
    if (n_in > EWP_MAX_IN) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "%d inputs, at most %d", n_in, EWP_MAX_IN);
    ew_args a;
    fill_args(&a, in, n_in, out[0]);
    if (a.n == 0) return INGOT_OK;
    int64_t work = a.vec ? a.n / 4 : a.n, blocks = (work + BLOCK - 1) / BLOCK, cap = (int64_t)f->sms * 16;
    if (blocks > cap) blocks = cap; /* grid-stride: a few waves of resident blocks is enough */
    void *args[] = {&a};
    dim3 grid = {(unsigned)blocks, 1, 1}, block = {BLOCK, 1, 1};
    cudaError_t e = cudaLaunchKernel((const void *)f->kernel[id], grid, block, args, 0,
                                     (cudaStream_t)cuda_stream(x));
    if (e != cudaSuccess) return IR_NODE_FAIL(node, INGOT_ERR_CUDA, "cudaLaunchKernel: %s", cudaGetErrorString(e));
    return INGOT_OK;
}

const cuda_kernel_def cuda_kernels_ewfuse[] = {
    {"FusedElementwise", k_fused_ew, NULL},
    {NULL, NULL, NULL},
};
