/* The CUDA backend: weights in one device allocation per engine; per context a stream,
 * library handles, an activation arena and one slot per value.
 *
 * Each slot tracks where its current bytes are valid (device, host or both). A node with a
 * CUDA kernel runs on device copies of its inputs; a node without one runs its CPU kernel on
 * host copies (a synchronizing fallback, named "cpu-fallback.<op>" in the plan). Control flow
 * (If/Loop/Scan) runs through the CPU executor, which gets the outer values it needs.
 * When every step of a run stayed on the device and the input shapes repeat, the node loop is
 * captured once as a CUDA graph and replayed. */
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu.h"
#include "backend/cuda/cuda.h"
#include "backend/cuda/upload.h"
#include "core/alloc.h"
#include "core/copy.h"

#define ALIGN 256

ingot_status cuda_check(int err, const char *call)
{
    if (err == cudaSuccess) return INGOT_OK;
    return ingot_fail(err == cudaErrorMemoryAllocation ? INGOT_ERR_NOMEM : INGOT_ERR_CUDA, "%s: %s (%s)", call,
                      cudaGetErrorString((cudaError_t)err), cudaGetErrorName((cudaError_t)err));
}

ingot_status cuda_check_launch(const ir_node *node, const char *kernel)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) return INGOT_OK;
    return IR_NODE_FAIL(node, INGOT_ERR_CUDA, "launching %s: %s", kernel, cudaGetErrorString(e));
}

#define CU(call) ING_TRY(cuda_check((int)(call), #call))

/* ---- the engine: weights on the device (struct cuda_engine in upload.h) ---- */

static ingot_status device_sm(int *sm)
{
    int n = 0, dev = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0)
        return ingot_fail(INGOT_ERR_BACKEND, "no CUDA device: cudaGetDeviceCount: %s",
                          e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    struct cudaDeviceProp p;
    CU(cudaGetDevice(&dev));
    CU(cudaGetDeviceProperties(&p, dev));
    *sm = p.major * 10 + p.minor;
    return INGOT_OK;
}

static ingot_status cuda_available(void)
{
    int sm;
    ING_TRY(device_sm(&sm));
    ING_TRY(cuda_libs_load());
    if (sm != 90)
        return ingot_fail(INGOT_ERR_BACKEND, "this ingot's CUDA kernels are built for sm_90 (Hopper); the GPU is sm_%d", sm);
    return INGOT_OK;
}

static void fill_target(engine_target *t)
{
    int sm = 0, rt = 0;
    device_sm(&sm);
    cudaRuntimeGetVersion(&rt);
    t->gpu_sm = sm;
    t->cuda_runtime = rt;
    t->cudnn = (int32_t)cudnnGetVersion();
    t->cublaslt = (int32_t)cublasLtGetVersion();
}

static ingot_status check_target(const engine_target *built)
{
    engine_target now = *built;
    fill_target(&now);
    if (now.gpu_sm != built->gpu_sm || now.cudnn != built->cudnn || now.cublaslt != built->cublaslt)
        return ingot_fail(INGOT_ERR_VERSION, "engine was built for sm_%d with cuDNN %d and cuBLASLt %d; this machine "
                          "has sm_%d, cuDNN %d, cuBLASLt %d: rebuild the engine here",
                          built->gpu_sm, built->cudnn, built->cublaslt, now.gpu_sm, now.cudnn, now.cublaslt);
    return INGOT_OK;
}

void cuda_engine_destroy(void *state)
{
    cuda_engine *ce = state;
    if (!ce) return;
    cuda_ewfuse_unload(ce->ewfuse);
    cudaFree(ce->weights);
    ing_free(ce->dev);
    ing_free_aligned(ce->host);
    ing_free(ce);
}

ingot_status cuda_engine_check(const engine_target *t)
{
    ING_TRY(cuda_available());
    return check_target(t);
}

static uint64_t engine_device_bytes(const void *state) { return state ? ((const cuda_engine *)state)->bytes : 0; }

static ingot_status engine_create(const engine_plan *plan, void **state)
{
    ING_TRY(cuda_engine_check(&plan->target));
    const ir_model *m = plan->model;
    cuda_engine *ce = ing_calloc(1, sizeof *ce);
    if (!ce) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CUDA engine");
    ce->n_values = m->n_values;
    ce->dev = ing_calloc((size_t)(m->n_values ? m->n_values : 1), sizeof(void *));
    size_t total = 0;
    for (int32_t i = 0; i < m->n_values; i++)
        if (m->values[i].kind == IR_VALUE_CONST) total += (m->values[i].const_bytes + ALIGN - 1) / ALIGN * ALIGN;
    ingot_status st = INGOT_OK;
    if (!ce->dev) st = ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CUDA engine");
    if (st == INGOT_OK && total) st = cuda_check(cudaMalloc(&ce->weights, total), "cudaMalloc (weights)");
    ce->bytes = total;
    size_t off = 0;
    for (int32_t i = 0; i < m->n_values && st == INGOT_OK; i++) {
        const ir_value *v = &m->values[i];
        if (v->kind != IR_VALUE_CONST) continue;
        ce->dev[i] = (char *)ce->weights + off;
        if (v->const_bytes)
            st = cuda_check(cudaMemcpy(ce->dev[i], v->t.data, v->const_bytes, cudaMemcpyHostToDevice), "cudaMemcpy (weights)");
        off += (v->const_bytes + ALIGN - 1) / ALIGN * ALIGN;
    }
    if (st != INGOT_OK) {
        cuda_engine_destroy(ce);
        return ingot_fail_prefix(st, "uploading %zu bytes of weights", total);
    }
    if ((st = cuda_ewfuse_load(plan, &ce->ewfuse)) != INGOT_OK) {
        cuda_engine_destroy(ce);
        return st;
    }
    *state = ce;
    return INGOT_OK;
}

/* ---- the context ---- */

typedef struct dslot {
    ing_tensor t;    /* dtype and shape of the current bytes */
    void *dev;       /* where the device bytes are (owned buffer, arena, or constant) */
    void *dev_buf;   /* owned device buffer */
    size_t dev_cap;
    void *host;      /* where the host bytes are (owned mirror, user memory, or constant) */
    void *host_buf;  /* owned host mirror */
    size_t host_cap;
    int dev_valid, host_valid;
} dslot;

struct cuda_exec {
    const engine_plan *plan;
    const ir_model *m;
    const cuda_engine *ce;
    dslot *slots;
    cudaStream_t own_stream, stream;
    cudnnHandle_t cudnn;
    cublasLtHandle_t lt;
    void *scratch[4];
    size_t scratch_cap[4];
    void *arena;
    cpu_exec *cpu;
    int synced;              /* a run needed a host round trip (no graph then) */
    int capturing;
    /* The graph of the current input-shape set (cur.shapes: the last run's input shapes, with
     * or without a graph), and graphs of other shape sets kept for when those come back. A
     * graph bakes in device addresses: gen counts the reallocations of device buffers, and a
     * graph captured at another gen is dropped, never replayed. */
    struct graph_entry {
        cudaGraphExec_t g;
        int64_t shapes[64][IR_MAX_RANK + 1];
        int32_t n_in, n_io;
        void *io[128];        /* input and output device pointers it was captured with */
        uint64_t gen, used;
        ing_tensor out_t[64]; /* the graph outputs' dtype and shape its replay produces */
    } cur, parked[8];
    uint64_t gen, tick;
    int runs_same_shape;
    int timing, graph_used;
    cudaEvent_t ev[4]; /* before H2D, before compute, after compute, after D2H */
    int graph_off;     /* ingot_context_set_cuda_graph(c, 0) */
    int profiling;     /* events around each node of the main body, graphs off */
    cudaEvent_t *pev;  /* per node id: [2*id] before, [2*id+1] after; created on first use */
    uint8_t *pev_rec;  /* per node id: recorded in the last run */
    /* I/O. ext[v]: the caller's device-addressable memory (DEVICE or MAPPED binding) that
     * graph input or output v uses in place this run, NULL otherwise; ext_cap[v] its bytes.
     * A captured graph bakes these pointers in: cur.io remembers them (inputs, then
     * outputs) and a run with other pointers re-captures and updates the graph. */
    void **ext;
    size_t *ext_cap;
    /* Context-owned outputs: pinned host buffers, out_sets sets of n_out ([set * n_out + j]);
     * the next run writes set out_set. */
    void **obuf;
    size_t *obuf_cap;
    int32_t n_out;
    int out_sets, out_set;
    uint8_t *pageable_out; /* per output: a staged device -> pageable copy waits for sync */
    /* Pinned staging ring for pageable I/O: the memcpy of one chunk overlaps the DMA of the
     * one before. */
    void *stage[4];
    cudaEvent_t stage_ev[4];
    int stage_busy[4];
    ingot_run_counters last, total;
    engine_tactic *tactics; /* per node id: the step's tactic, decoded once */
    uint8_t *has_tactic;    /* per node id */
    struct node_state {     /* per node id: a kernel's cached descriptors */
        void *p;
        void (*destroy)(void *);
    } *node_state;
};

#define STAGE_N 4
#define STAGE_BYTES ((size_t)4 << 20)

void *cuda_stream(cuda_exec *x) { return x->stream; }
void *cuda_cudnn(cuda_exec *x) { return x->cudnn; }
void *cuda_cublaslt(cuda_exec *x) { return x->lt; }
int cuda_precision(cuda_exec *x) { return x->plan->target.precision; }

const engine_tactic *cuda_step_tactic(cuda_exec *x, const ir_node *node)
{
    ptrdiff_t id = node - x->m->nodes;
    if (!x->has_tactic || id < 0 || id >= x->m->n_nodes || !x->has_tactic[id]) return NULL;
    return &x->tactics[id];
}

void *cuda_node_state(cuda_exec *x, const ir_node *node)
{
    ptrdiff_t id = node - x->m->nodes;
    return x->node_state && id >= 0 && id < x->m->n_nodes ? x->node_state[id].p : NULL;
}

ingot_status cuda_set_node_state(cuda_exec *x, const ir_node *node, void *state, void (*destroy)(void *))
{
    ptrdiff_t id = node - x->m->nodes;
    if (id < 0 || id >= x->m->n_nodes) {
        destroy(state);
        return IR_NODE_FAIL(node, INGOT_ERR_STATE, "not a node of this engine");
    }
    if (!x->node_state && !(x->node_state = ing_calloc((size_t)x->m->n_nodes, sizeof *x->node_state))) {
        destroy(state);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory for %d nodes' kernel state", x->m->n_nodes);
    }
    struct node_state *ns = &x->node_state[id];
    if (ns->p) ns->destroy(ns->p);
    ns->p = state;
    ns->destroy = destroy;
    return INGOT_OK;
}

/* Decode every step's tactic (the reader validated them; a plan built in this process too). */
static ingot_status load_tactics(cuda_exec *x)
{
    const engine_plan *p = x->plan;
    int32_t n = x->m->n_nodes;
    if (!p->steps) return INGOT_OK;
    x->tactics = ing_calloc((size_t)(n ? n : 1), sizeof *x->tactics);
    x->has_tactic = ing_calloc((size_t)(n ? n : 1), 1);
    if (!x->tactics || !x->has_tactic) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for %d step tactics", n);
    for (int32_t i = 0; i < n; i++) {
        const engine_step_info *s = &p->steps[i];
        if (!s->params_len || !tactic_kernel(s->kernel)) continue;
        char what[160];
        snprintf(what, sizeof what, "step %d (node '%s', %s)", i, x->m->nodes[i].name, s->kernel);
        ING_TRY(tactic_decode(s->params, s->params_len, what, &x->tactics[i]));
        x->has_tactic[i] = 1;
    }
    return INGOT_OK;
}

const cuda_ewfuse *cuda_exec_ewfuse(cuda_exec *x, const ir_node *node, int32_t *id)
{
    *id = (int32_t)(node - x->m->nodes);
    return x->ce->ewfuse;
}

void *cuda_scratch(cuda_exec *x, int slot, size_t bytes)
{
    if (slot < 0 || slot > 3) return NULL;
    if (x->scratch_cap[slot] < bytes) {
        if (x->capturing) {
            ingot_fail(INGOT_ERR_STATE, "device scratch grew during graph capture");
            return NULL;
        }
        void *p = NULL;
        if (cudaMalloc(&p, bytes) != cudaSuccess) {
            ingot_fail(INGOT_ERR_NOMEM, "cudaMalloc: out of device memory for %zu bytes of kernel scratch", bytes);
            return NULL;
        }
        cudaFree(x->scratch[slot]);
        x->scratch[slot] = p;
        x->scratch_cap[slot] = bytes;
        x->last.device_allocs++;
        x->gen++;
    }
    return x->scratch[slot];
}

const void *cuda_host_const(cuda_exec *x, const ir_node *node, int input)
{
    if (input >= node->n_in || node->in[input] < 0) return NULL;
    const ir_value *v = &x->m->values[node->in[input]];
    return v->kind == IR_VALUE_CONST ? v->t.data : NULL;
}

static ingot_status dev_place(cuda_exec *x, int32_t v, const ing_tensor *t)
{
    dslot *s = &x->slots[v];
    const ir_value *iv = &x->m->values[v];
    size_t bytes = ing_nbytes(t);
    s->t = *t;
    if (x->ext && x->ext[v] && bytes <= x->ext_cap[v]) {
        s->dev = x->ext[v]; /* a graph output written straight into the caller's memory */
    } else if (x->arena && x->plan->arena_offset && x->plan->arena_offset[v] >= 0 &&
               bytes <= engine_plan_slot_bytes(x->plan, v)) {
        s->dev = (char *)x->arena + x->plan->arena_offset[v];
    } else {
        if (s->dev_cap < bytes) {
            if (x->capturing) return ingot_fail(INGOT_ERR_STATE, "value '%s' grew during graph capture", iv->name);
            void *p = NULL;
            ingot_status st = cuda_check(cudaMalloc(&p, bytes), "cudaMalloc");
            if (st != INGOT_OK) return ingot_fail_prefix(st, "value '%s' (%zu bytes)", iv->name, bytes);
            cudaFree(s->dev_buf);
            s->dev_buf = p;
            s->dev_cap = bytes;
            x->last.device_allocs++;
            x->gen++;
        }
        s->dev = s->dev_buf;
    }
    s->dev_valid = 1;
    s->host_valid = 0;
    return INGOT_OK;
}

static ingot_status host_place(cuda_exec *x, int32_t v, const ing_tensor *t)
{
    dslot *s = &x->slots[v];
    size_t bytes = ing_nbytes(t);
    s->t = *t;
    if (s->host_cap < bytes) {
        void *p = ing_malloc_aligned(bytes ? bytes : 1, 64);
        if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for value '%s' (%zu bytes)", x->m->values[v].name, bytes);
        ing_free_aligned(s->host_buf);
        s->host_buf = p;
        s->host_cap = bytes;
        x->last.host_allocs++;
    }
    s->host = s->host_buf;
    s->host_valid = 1;
    s->dev_valid = 0;
    return INGOT_OK;
}

/* Make value v's bytes valid on the host (synchronizes). */
static ingot_status to_host(cuda_exec *x, int32_t v)
{
    dslot *s = &x->slots[v];
    if (s->host_valid) return INGOT_OK;
    if (!s->dev_valid) return ingot_fail(INGOT_ERR_STATE, "value '%s' has no data", x->m->values[v].name);
    size_t bytes = ing_nbytes(&s->t);
    ing_tensor t = s->t;
    void *dev = s->dev;
    ING_TRY(host_place(x, v, &t));
    s->dev_valid = 1;
    x->synced = 1;
    if (bytes) {
        CU(cudaMemcpyAsync(s->host, dev, bytes, cudaMemcpyDeviceToHost, x->stream));
        CU(cudaStreamSynchronize(x->stream));
        x->last.d2h_bytes += bytes;
    }
    return INGOT_OK;
}

/* Make value v's bytes valid on the device. */
static ingot_status to_dev(cuda_exec *x, int32_t v)
{
    dslot *s = &x->slots[v];
    if (s->dev_valid) return INGOT_OK;
    if (!s->host_valid) return ingot_fail(INGOT_ERR_STATE, "value '%s' has no data", x->m->values[v].name);
    ing_tensor t = s->t;
    void *host = s->host;
    ING_TRY(dev_place(x, v, &t));
    s->host_valid = 1;
    s->host = host;
    size_t bytes = ing_nbytes(&t);
    if (bytes) CU(cudaMemcpyAsync(s->dev, host, bytes, cudaMemcpyHostToDevice, x->stream));
    x->last.h2d_bytes += bytes;
    return INGOT_OK;
}

static int uses_fallback(cuda_exec *x, const ir_node *n, const ing_tensor *const *in)
{
    if (cpu_op_allocates_outputs(n->op)) return 1;
    const cuda_kernel_def *k = cuda_kernel_lookup(n->op);
    return !k || (k->accepts && !k->accepts(n, in, n->n_in));
}

/* Run a control-flow node on the CPU executor: give it every outer value its bodies read. */
static ingot_status run_control(cuda_exec *x, const ir_node *n, int32_t node_id)
{
    const ir_model *m = x->m;
    /* values read inside the node's bodies and produced outside them: everything with data */
    for (int32_t a = 0; a < n->n_attr; a++) {
        if (n->attrs[a].type != IR_ATTR_GRAPH) continue;
        int32_t stack[256], top = 0;
        stack[top++] = n->attrs[a].body;
        while (top) {
            const ir_body *b = &m->bodies[stack[--top]];
            for (int32_t k = 0; k < b->n_nodes; k++) {
                const ir_node *bn = &m->nodes[b->nodes[k]];
                for (int32_t i = 0; i < bn->n_in; i++) {
                    int32_t v = bn->in[i];
                    if (v < 0 || m->values[v].kind == IR_VALUE_CONST) continue;
                    dslot *s = &x->slots[v];
                    if (!s->dev_valid && !s->host_valid) continue; /* produced inside */
                    ING_TRY(to_host(x, v));
                    ing_tensor t = s->t;
                    t.data = s->host;
                    ING_TRY(cpu_set_value(x->cpu, v, &t));
                }
                for (int32_t aa = 0; aa < bn->n_attr; aa++)
                    if (bn->attrs[aa].type == IR_ATTR_GRAPH && top < 256) stack[top++] = bn->attrs[aa].body;
            }
        }
    }
    const ing_tensor *in[64];
    ing_tensor *out[64];
    ing_tensor tin[64];
    for (int32_t i = 0; i < n->n_in; i++) {
        in[i] = NULL;
        if (n->in[i] < 0) continue;
        ING_TRY(to_host(x, n->in[i]));
        tin[i] = x->slots[n->in[i]].t;
        tin[i].data = x->slots[n->in[i]].host;
        in[i] = &tin[i];
    }
    for (int32_t j = 0; j < n->n_out; j++) out[j] = NULL;
    ING_TRY(cpu_run_kernel(x->cpu, n, in, out));
    for (int32_t j = 0; j < n->n_out; j++) {
        if (n->out[j] < 0) continue;
        const ing_tensor *r = cpu_get_value(x->cpu, n->out[j]);
        ING_TRY(host_place(x, n->out[j], r));
        size_t nb = ing_nbytes(r);
        if (nb) memcpy(x->slots[n->out[j]].host, r->data, nb);
    }
    (void)node_id;
    return INGOT_OK;
}

static ingot_status run_node(cuda_exec *x, int32_t node_id)
{
    const ir_model *m = x->m;
    const ir_node *n = &m->nodes[node_id];
    if (n->n_in > 64 || n->n_out > 64)
        return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "%d inputs / %d outputs, at most 64", n->n_in, n->n_out);
    ing_tensor tin[64], tout[64];
    const ing_tensor *in[64];
    ing_tensor *out[64];
    /* shapes first, with whatever values the host already has */
    for (int32_t i = 0; i < n->n_in; i++) {
        in[i] = NULL;
        if (n->in[i] < 0) continue;
        dslot *s = &x->slots[n->in[i]];
        tin[i] = s->t;
        tin[i].data = s->host_valid ? s->host : NULL;
        in[i] = &tin[i];
    }
    if (uses_fallback(x, n, in)) {
        if (x->capturing) return ingot_fail(INGOT_ERR_STATE, "node '%s' falls back to the CPU during capture", n->name);
        x->synced = 1;
        if (cpu_op_allocates_outputs(n->op)) return run_control(x, n, node_id);
        for (int32_t i = 0; i < n->n_in; i++) {
            if (!in[i]) continue;
            ING_TRY(to_host(x, n->in[i]));
            tin[i].data = x->slots[n->in[i]].host;
        }
        const ir_op_def *d = ir_op_lookup(n->op);
        if (!d) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "no shape inference for '%s'", n->op);
        for (int32_t j = 0; j < n->n_out; j++) {
            memset(&tout[j], 0, sizeof tout[j]);
            out[j] = n->out[j] >= 0 ? &tout[j] : NULL;
        }
        ING_TRY(d->infer(n, in, n->n_in, out, n->n_out));
        for (int32_t j = 0; j < n->n_out; j++) {
            if (!out[j]) continue;
            if (!ing_shape_known(out[j])) return IR_NODE_FAIL(n, INGOT_ERR_SHAPE, "output %d shape unknown at run time", j);
            ING_TRY(host_place(x, n->out[j], out[j]));
            out[j]->data = x->slots[n->out[j]].host;
        }
        return cpu_run_kernel(x->cpu, n, in, out);
    }
    const ir_op_def *d = ir_op_lookup(n->op);
    if (!d) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "no shape inference for '%s'", n->op);
    for (int32_t j = 0; j < n->n_out; j++) {
        memset(&tout[j], 0, sizeof tout[j]);
        out[j] = n->out[j] >= 0 ? &tout[j] : NULL;
    }
    ING_TRY(d->infer(n, in, n->n_in, out, n->n_out));
    int unknown = 0;
    for (int32_t j = 0; j < n->n_out; j++) unknown |= out[j] && !ing_shape_known(out[j]);
    if (unknown) { /* a data-dependent shape: bring the inputs to the host and ask again */
        if (x->capturing) return ingot_fail(INGOT_ERR_STATE, "node '%s' has a data-dependent shape during capture", n->name);
        for (int32_t i = 0; i < n->n_in; i++) {
            if (!in[i]) continue;
            ING_TRY(to_host(x, n->in[i]));
            tin[i].data = x->slots[n->in[i]].host;
        }
        ING_TRY(d->infer(n, in, n->n_in, out, n->n_out));
        for (int32_t j = 0; j < n->n_out; j++)
            if (out[j] && !ing_shape_known(out[j]))
                return IR_NODE_FAIL(n, INGOT_ERR_SHAPE, "output %d shape unknown at run time", j);
    }
    for (int32_t i = 0; i < n->n_in; i++) {
        if (!in[i]) continue;
        ING_TRY(to_dev(x, n->in[i]));
        tin[i].data = x->slots[n->in[i]].dev;
    }
    for (int32_t j = 0; j < n->n_out; j++) {
        if (!out[j]) continue;
        ING_TRY(dev_place(x, n->out[j], out[j]));
        out[j]->data = x->slots[n->out[j]].dev;
    }
    const cuda_kernel_def *k = cuda_kernel_lookup(n->op);
    return k->run(x, n, in, n->n_in, out, n->n_out);
}

static ingot_status run_main(cuda_exec *x)
{
    const ir_body *b = &x->m->bodies[0];
    if (!x->profiling || x->capturing) {
        for (int32_t k = 0; k < b->n_nodes; k++) ING_TRY(run_node(x, b->nodes[k]));
        return INGOT_OK;
    }
    memset(x->pev_rec, 0, (size_t)x->m->n_nodes);
    for (int32_t k = 0; k < b->n_nodes; k++) {
        int32_t id = b->nodes[k];
        CU(cudaEventRecord(x->pev[2 * id], x->stream));
        ING_TRY(run_node(x, id));
        CU(cudaEventRecord(x->pev[2 * id + 1], x->stream));
        x->pev_rec[id] = 1;
    }
    return INGOT_OK;
}

static void drop_parked(cuda_exec *x);

static void ctx_destroy(void *state)
{
    cuda_exec *x = state;
    if (!x) return;
    if (x->stream) cudaStreamSynchronize(x->stream);
    if (x->cur.g) cudaGraphExecDestroy(x->cur.g);
    drop_parked(x);
    for (int i = 0; i < 4; i++)
        if (x->ev[i]) cudaEventDestroy(x->ev[i]);
    if (x->pev)
        for (int32_t i = 0; i < 2 * x->m->n_nodes; i++)
            if (x->pev[i]) cudaEventDestroy(x->pev[i]);
    ing_free(x->pev);
    ing_free(x->pev_rec);
    ing_free(x->tactics);
    ing_free(x->has_tactic);
    if (x->node_state)
        for (int32_t i = 0; i < x->m->n_nodes; i++)
            if (x->node_state[i].p) x->node_state[i].destroy(x->node_state[i].p);
    ing_free(x->node_state);
    if (x->slots)
        for (int32_t i = 0; i < x->m->n_values; i++) {
            cudaFree(x->slots[i].dev_buf);
            ing_free_aligned(x->slots[i].host_buf);
        }
    for (int i = 0; i < 4; i++) cudaFree(x->scratch[i]);
    for (int i = 0; i < STAGE_N; i++) {
        if (x->stage[i]) cudaFreeHost(x->stage[i]);
        if (x->stage_ev[i]) cudaEventDestroy(x->stage_ev[i]);
    }
    if (x->obuf)
        for (int32_t k = 0; k < 2 * x->n_out; k++)
            if (x->obuf[k]) cudaFreeHost(x->obuf[k]);
    ing_free(x->obuf);
    ing_free(x->obuf_cap);
    ing_free(x->pageable_out);
    ing_free(x->ext);
    ing_free(x->ext_cap);
    cudaFree(x->arena);
    if (x->cudnn) cudnnDestroy(x->cudnn);
    if (x->lt) cublasLtDestroy(x->lt);
    if (x->own_stream) cudaStreamDestroy(x->own_stream);
    cpu_exec_free(x->cpu);
    ing_free(x->slots);
    ing_free(x);
}

static ingot_status ctx_create(const engine_plan *plan, void *engine_state, void **state)
{
    cuda_exec *x = ing_calloc(1, sizeof *x);
    if (!x) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CUDA context");
    x->plan = plan;
    x->m = plan->model;
    x->ce = engine_state;
    ingot_status st = INGOT_OK;
    x->slots = ing_calloc((size_t)(x->m->n_values ? x->m->n_values : 1), sizeof(dslot));
    if (!x->slots) st = ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CUDA context");
    if (st == INGOT_OK) st = cuda_check(cudaStreamCreateWithFlags(&x->own_stream, cudaStreamNonBlocking), "cudaStreamCreate");
    /* the library handles only where a node may run on them: creating a cuDNN handle costs
     * more than many small engines' whole run */
    int dnn = cuda_model_uses_family(x->m, cuda_kernels_conv), lt = cuda_model_uses_family(x->m, cuda_kernels_gemm);
    if (st == INGOT_OK && dnn && cudnnCreate(&x->cudnn) != CUDNN_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cudnnCreate failed");
    if (st == INGOT_OK && lt && cublasLtCreate(&x->lt) != CUBLAS_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cublasLtCreate failed");
    for (int i = 0; i < 4 && st == INGOT_OK; i++) st = cuda_check(cudaEventCreate(&x->ev[i]), "cudaEventCreate");
    for (int i = 0; i < STAGE_N && st == INGOT_OK; i++)
        st = cuda_check(cudaEventCreateWithFlags(&x->stage_ev[i], cudaEventDisableTiming), "cudaEventCreate");
    x->n_out = x->m->bodies[0].n_out;
    x->out_sets = 1;
    if (st == INGOT_OK) {
        size_t nv = (size_t)(x->m->n_values ? x->m->n_values : 1), no = (size_t)(2 * x->n_out + 1);
        x->ext = ing_calloc(nv, sizeof(void *));
        x->ext_cap = ing_calloc(nv, sizeof(size_t));
        x->obuf = ing_calloc(no, sizeof(void *));
        x->obuf_cap = ing_calloc(no, sizeof(size_t));
        x->pageable_out = ing_calloc(no, 1);
        if (!x->ext || !x->ext_cap || !x->obuf || !x->obuf_cap || !x->pageable_out)
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a CUDA context");
    }
    if (st == INGOT_OK && plan->arena_bytes)
        st = cuda_check(cudaMalloc(&x->arena, (size_t)plan->arena_bytes), "cudaMalloc (activation arena)");
    if (st == INGOT_OK) st = cpu_exec_new(plan, &x->cpu);
    if (st == INGOT_OK) st = load_tactics(x);
    if (st != INGOT_OK) {
        ctx_destroy(x);
        return st;
    }
    x->stream = x->own_stream;
    for (int32_t i = 0; i < x->m->n_values; i++) {
        const ir_value *v = &x->m->values[i];
        if (v->kind != IR_VALUE_CONST) continue;
        dslot *s = &x->slots[i];
        s->t = v->t;
        s->host = v->t.data;
        s->dev = x->ce->dev[i];
        s->dev_valid = 1;
        /* A streamed engine keeps large float constants on the device only (upload.c);
         * to_host copies one into this context's mirror if a CPU step needs it. */
        s->host_valid = v->t.data != NULL;
    }
    *state = x;
    return INGOT_OK;
}

/* Were these input shapes e's? */
static int entry_matches(const struct graph_entry *e, const ing_binding *in, int32_t n_in)
{
    if (n_in != e->n_in || n_in > 64) return 0;
    for (int32_t i = 0; i < n_in; i++) {
        if (e->shapes[i][0] != in[i].t.rank) return 0;
        for (int d = 0; d < in[i].t.rank; d++)
            if (e->shapes[i][d + 1] != in[i].t.dims[d]) return 0;
    }
    return 1;
}

static void remember_shapes(cuda_exec *x, const ing_binding *in, int32_t n_in)
{
    x->cur.n_in = n_in > 64 ? 64 : n_in;
    for (int32_t i = 0; i < x->cur.n_in; i++) {
        x->cur.shapes[i][0] = in[i].t.rank;
        for (int d = 0; d < in[i].t.rank; d++) x->cur.shapes[i][d + 1] = in[i].t.dims[d];
    }
}

static int graphs_enabled(const cuda_exec *x) { return !x->graph_off && !x->profiling; }

/* The shapes changed: keep the current graph for later (the least recently used one goes),
 * or drop it when its addresses are stale. */
static void park_graph(cuda_exec *x)
{
    if (!x->cur.g) return;
    if (x->cur.gen != x->gen) {
        cudaGraphExecDestroy(x->cur.g);
        x->cur.g = NULL;
        return;
    }
    struct graph_entry *slot = &x->parked[0];
    for (int k = 0; k < 8; k++) {
        if (!x->parked[k].g) {
            slot = &x->parked[k];
            break;
        }
        if (x->parked[k].used < slot->used) slot = &x->parked[k];
    }
    if (slot->g) cudaGraphExecDestroy(slot->g);
    *slot = x->cur;
    slot->used = ++x->tick;
    x->cur.g = NULL;
}

/* A kept graph for these input shapes, still valid, becomes the current one: 1 if found. */
static int unpark_graph(cuda_exec *x, const ing_binding *in, int32_t n_in)
{
    for (int k = 0; k < 8; k++) {
        struct graph_entry *p = &x->parked[k];
        if (!p->g) continue;
        if (p->gen != x->gen) { /* buffers moved since: never replay it */
            cudaGraphExecDestroy(p->g);
            memset(p, 0, sizeof *p);
            continue;
        }
        if (!entry_matches(p, in, n_in)) continue;
        x->cur = *p;
        memset(p, 0, sizeof *p);
        return 1;
    }
    return 0;
}

static void drop_parked(cuda_exec *x)
{
    for (int k = 0; k < 8; k++)
        if (x->parked[k].g) {
            cudaGraphExecDestroy(x->parked[k].g);
            memset(&x->parked[k], 0, sizeof x->parked[k]);
        }
}

/* Pageable <-> pinned staging. One host thread copies about 7 GB/s, so each chunk is copied by
 * up to 16 threads; the threads stay in one parallel region for the whole transfer (a region
 * per chunk cost a thread wake-up per chunk). Chunks grow from STAGE_FIRST to STAGE_BYTES and
 * shrink again at the end, so the first copy and the last one, which nothing overlaps, are
 * short. */
#define STAGE_FIRST ((size_t)512 << 10)

static size_t stage_len(size_t off, size_t bytes)
{
    size_t n = STAGE_BYTES, left = bytes - off;
    if (n > off) n = off < STAGE_FIRST ? STAGE_FIRST : off; /* doubling from the first */
    if (left <= STAGE_FIRST) return left;
    size_t half = left / 2 < STAGE_FIRST ? STAGE_FIRST : left / 2; /* halving towards the last */
    return n < half ? n : half;
}

static int stage_threads(size_t bytes)
{
    if (bytes < 2 * STAGE_FIRST) return 1;
    int t = omp_get_num_procs();
    return t > 16 ? 16 : t < 1 ? 1 : t;
}

/* Copy n bytes with the threads of the enclosing parallel region (each a share of whole 64 KiB
 * pieces), by streaming stores: neither side is read again by the CPU soon (the DMA reads the
 * staging slot; the caller reads its output later), and a store into the cache would first read
 * the line in. Ends with the region's barrier. */
static void copy_shared(void *dst, const void *src, size_t n)
{
    const size_t piece = (size_t)64 << 10;
    long pieces = (long)((n + piece - 1) / piece);
#pragma omp for schedule(static)
    for (long k = 0; k < pieces; k++) {
        size_t off = (size_t)k * piece, len = n - off < piece ? n - off : piece;
        ing_copy_stream((char *)dst + off, (const char *)src + off, len);
    }
}

static ingot_status stage_ready(cuda_exec *x, int k)
{
    if (!x->stage[k]) {
        CU(cudaHostAlloc(&x->stage[k], STAGE_BYTES, cudaHostAllocDefault));
        x->last.device_allocs++;
    }
    if (x->stage_busy[k]) CU(cudaEventSynchronize(x->stage_ev[k]));
    x->stage_busy[k] = 0;
    return INGOT_OK;
}

/* The DMA of a staged chunk and the event that says when its slot is free again. */
static ingot_status stage_dma(cuda_exec *x, int k, void *dst, const void *src, size_t n, enum cudaMemcpyKind kind)
{
    CU(cudaMemcpyAsync(dst, src, n, kind, x->stream));
    CU(cudaEventRecord(x->stage_ev[k], x->stream));
    x->stage_busy[k] = 1;
    return INGOT_OK;
}

/* Pageable host -> device through the pinned ring: chunk c is copied into slot c % 4 while the
 * DMA of chunk c - 1 runs. The caller's memory is free again when this returns. CUDA calls and
 * the status belong to the calling thread (the region's master); the others only copy. */
static ingot_status h2d_staged(cuda_exec *x, void *dev, const void *host, size_t bytes)
{
    ingot_status st = INGOT_OK;
#pragma omp parallel num_threads(stage_threads(bytes))
    {
        size_t n;
        for (size_t off = 0, c = 0; off < bytes; off += n, c++) {
            int k = (int)(c % STAGE_N);
            n = stage_len(off, bytes);
#pragma omp master
            if (st == INGOT_OK) st = stage_ready(x, k);
#pragma omp barrier
            if (st != INGOT_OK) break; /* every thread reads it after the barrier: all leave */
            copy_shared(x->stage[k], (const char *)host + off, n);
#pragma omp master
            st = stage_dma(x, k, (char *)dev + off, x->stage[k], n, cudaMemcpyHostToDevice);
        }
    }
    return st;
}

/* Device -> pageable host through the ring: up to four chunks in flight; each is copied out as
 * soon as its DMA ends, while the next ones run. Waits for the stream's work before. */
static ingot_status d2h_staged(cuda_exec *x, void *host, const void *dev, size_t bytes)
{
    ingot_status st = INGOT_OK;
    size_t issued = 0, n_issued = 0; /* the master's: bytes and chunks given to the DMA */
#pragma omp parallel num_threads(stage_threads(bytes))
    {
        size_t n;
        for (size_t off = 0, c = 0; off < bytes; off += n, c++) {
            int k = (int)(c % STAGE_N);
            n = stage_len(off, bytes);
#pragma omp master
            {
                while (st == INGOT_OK && issued < bytes && n_issued < c + STAGE_N) {
                    int j = (int)(n_issued % STAGE_N);
                    size_t len = stage_len(issued, bytes);
                    st = stage_ready(x, j);
                    if (st == INGOT_OK)
                        st = stage_dma(x, j, x->stage[j], (const char *)dev + issued, len, cudaMemcpyDeviceToHost);
                    issued += len, n_issued++;
                }
                if (st == INGOT_OK) st = cuda_check(cudaEventSynchronize(x->stage_ev[k]), "cudaEventSynchronize");
                x->stage_busy[k] = 0;
            }
#pragma omp barrier
            if (st != INGOT_OK) break;
            copy_shared((char *)host + off, x->stage[k], n);
        }
    }
    return st;
}

/* The device address of caller memory bound as DEVICE or MAPPED. */
static ingot_status device_view(int32_t memory, const void *p, void **dev)
{
    if (memory == INGOT_MEMORY_DEVICE) {
        *dev = (void *)p;
        return INGOT_OK;
    }
    return cuda_check(cudaHostGetDevicePointer(dev, (void *)p, 0), "cudaHostGetDevicePointer (mapped memory)");
}

/* Capture the node loop into a graph: a new executable graph, or an update of the one held
 * (same topology, other pointers). */
static ingot_status capture(cuda_exec *x)
{
    cudaGraph_t g = NULL;
    CU(cudaStreamBeginCapture(x->stream, cudaStreamCaptureModeThreadLocal));
    x->capturing = 1;
    ingot_status st = run_main(x);
    x->capturing = 0;
    cudaError_t ce = cudaStreamEndCapture(x->stream, &g);
    if (st == INGOT_OK) st = cuda_check(ce, "cudaStreamEndCapture");
    if (st == INGOT_OK && x->cur.g) {
        cudaGraphExecUpdateResultInfo info;
        if (cudaGraphExecUpdate(x->cur.g, g, &info) != cudaSuccess) {
            cudaGetLastError();
            cudaGraphExecDestroy(x->cur.g);
            x->cur.g = NULL;
        }
    }
    if (st == INGOT_OK && !x->cur.g) st = cuda_check(cudaGraphInstantiate(&x->cur.g, g, 0), "cudaGraphInstantiate");
    x->cur.gen = x->gen;
    const ir_body *b0 = &x->m->bodies[0];
    for (int32_t j = 0; j < b0->n_out && j < 64; j++) x->cur.out_t[j] = x->slots[b0->out[j]].t;
    if (g) cudaGraphDestroy(g);
    if (st != INGOT_OK && x->cur.g) {
        cudaGraphExecDestroy(x->cur.g);
        x->cur.g = NULL;
    }
    return st;
}

/* The graph leaves every activation valid on the device only, and the graph outputs with the
 * shapes it was captured for (the slots may hold another shape set's). */
static void mark_graph_outputs(cuda_exec *x)
{
    const ir_body *b = &x->m->bodies[0];
    for (int32_t j = 0; j < b->n_out && j < 64; j++) {
        dslot *s = &x->slots[b->out[j]];
        if (x->m->values[b->out[j]].kind != IR_VALUE_ACTIVATION) continue;
        void *dev = s->dev;
        s->t = x->cur.out_t[j];
        s->dev = dev;
    }
    for (int32_t k = 0; k < b->n_nodes; k++) {
        const ir_node *n = &x->m->nodes[b->nodes[k]];
        for (int32_t j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) {
                x->slots[n->out[j]].dev_valid = 1;
                x->slots[n->out[j]].host_valid = 0;
            }
    }
}

static ingot_status put_inputs(cuda_exec *x, ing_binding *in, int32_t n_in, void **io)
{
    for (int32_t i = 0; i < n_in; i++) {
        int32_t v = in[i].value;
        dslot *s = &x->slots[v];
        size_t bytes = ing_nbytes(&in[i].t);
        if (in[i].memory == INGOT_MEMORY_DEVICE || in[i].memory == INGOT_MEMORY_MAPPED) {
            void *dev;
            ING_TRY(device_view(in[i].memory, in[i].t.data, &dev));
            s->t = in[i].t;
            s->dev = dev;
            s->dev_valid = 1;
            s->host = in[i].t.data;
            s->host_valid = in[i].memory == INGOT_MEMORY_MAPPED;
            if (in[i].memory == INGOT_MEMORY_MAPPED) x->last.h2d_bytes += bytes; /* read across the bus */
            if (i < 128) io[i] = dev;
            continue;
        }
        ING_TRY(dev_place(x, v, &in[i].t));
        if (bytes) {
            if (in[i].memory == INGOT_MEMORY_HOST) ING_TRY(h2d_staged(x, s->dev, in[i].t.data, bytes));
            else CU(cudaMemcpyAsync(s->dev, in[i].t.data, bytes, cudaMemcpyHostToDevice, x->stream));
        }
        x->last.h2d_bytes += bytes;
        /* the caller's memory holds the same bytes while the run is enqueued */
        s->host = in[i].t.data;
        s->host_valid = s->dev_valid = 1;
        if (i < 128) io[i] = s->dev;
    }
    return INGOT_OK;
}

/* A context-owned pinned output buffer of at least bytes, in set `set`. */
static ingot_status out_buffer(cuda_exec *x, int set, int32_t j, size_t bytes, void **p)
{
    size_t k = (size_t)set * (size_t)x->n_out + (size_t)j;
    if (!x->obuf[k] || x->obuf_cap[k] < bytes) {
        void *q = NULL;
        ING_TRY(cuda_check(cudaHostAlloc(&q, bytes ? bytes : 1, cudaHostAllocDefault), "cudaHostAlloc (output buffer)"));
        if (x->obuf[k]) cudaFreeHost(x->obuf[k]);
        x->obuf[k] = q;
        x->obuf_cap[k] = bytes;
        x->last.device_allocs++;
    }
    *p = x->obuf[k];
    return INGOT_OK;
}

static ingot_status take_outputs(cuda_exec *x, ing_binding *out, int32_t n_out)
{
    for (int32_t j = 0; j < n_out; j++) {
        int32_t v = out[j].value;
        dslot *s = &x->slots[v];
        size_t bytes = ing_nbytes(&s->t);
        x->pageable_out[j] = 0;
        ING_TRY(ing_binding_reserve(&out[j], bytes, x->stream));
        if (out[j].user && bytes > out[j].user_size)
            return ingot_fail(INGOT_ERR_SHAPE, "output '%s' needs %zu bytes, the bound buffer holds %zu",
                              x->m->values[v].name, bytes, out[j].user_size);
        int mem = out[j].user ? out[j].memory : INGOT_MEMORY_PINNED;
        void *dst = out[j].user;
        if (!dst) ING_TRY(out_buffer(x, x->out_set, j, bytes, &dst));
        out[j].t = s->t;
        out[j].t.data = dst;
        if (!bytes) continue;
        if (mem == INGOT_MEMORY_DEVICE || mem == INGOT_MEMORY_MAPPED) {
            void *ddst;
            ING_TRY(device_view(mem, dst, &ddst));
            if (mem == INGOT_MEMORY_MAPPED) x->last.d2h_bytes += bytes; /* written across the bus */
            if (s->dev_valid && s->dev == ddst) continue; /* the last kernel wrote it in place */
            if (s->dev_valid) CU(cudaMemcpyAsync(ddst, s->dev, bytes, cudaMemcpyDeviceToDevice, x->stream));
            else CU(cudaMemcpyAsync(ddst, s->host, bytes, cudaMemcpyHostToDevice, x->stream));
            continue;
        }
        if (!s->dev_valid) { /* computed on the host (CPU fallback), which waited already */
            memcpy(dst, s->host, bytes);
            continue;
        }
        x->last.d2h_bytes += bytes;
        if (mem == INGOT_MEMORY_HOST) x->pageable_out[j] = 1; /* staged at sync */
        else CU(cudaMemcpyAsync(dst, s->dev, bytes, cudaMemcpyDeviceToHost, x->stream));
    }
    return INGOT_OK;
}

static ingot_status ctx_enqueue(cuda_exec *x, ing_binding *in, int32_t n_in, ing_binding *out, int32_t n_out)
{
    int shapes_repeat = entry_matches(&x->cur, in, n_in);
    if (!shapes_repeat) {
        park_graph(x);
        shapes_repeat = unpark_graph(x, in, n_in);
    }
    if (x->cur.g && x->cur.gen != x->gen) { /* buffers moved since its capture */
        cudaGraphExecDestroy(x->cur.g);
        x->cur.g = NULL;
    }
    x->runs_same_shape = shapes_repeat ? x->runs_same_shape + 1 : 0;
    remember_shapes(x, in, n_in);
    /* outputs written in place: the caller's device or mapped memory (sized now when the
     * shape is static, so an allocator output is ready before its producer runs) */
    void *io[128] = {0};
    for (int32_t j = 0; j < n_out; j++) {
        int32_t v = out[j].value;
        const ir_value *iv = &x->m->values[v];
        x->ext[v] = NULL;
        if (iv->kind != IR_VALUE_ACTIVATION) continue; /* inputs and constants are copied */
        if (out[j].alloc && ing_shape_known(&iv->t)) ING_TRY(ing_binding_reserve(&out[j], ing_nbytes(&iv->t), x->stream));
        if (out[j].user && (out[j].memory == INGOT_MEMORY_DEVICE || out[j].memory == INGOT_MEMORY_MAPPED)) {
            ING_TRY(device_view(out[j].memory, out[j].user, &x->ext[v]));
            x->ext_cap[v] = out[j].user_size;
            if (n_in + j < 128) io[n_in + j] = x->ext[v];
        }
    }
    if (x->timing) CU(cudaEventRecord(x->ev[0], x->stream));
    ING_TRY(put_inputs(x, in, n_in, io));
    int32_t n_io = n_in + n_out < 128 ? n_in + n_out : 128;
    int io_same = n_io == x->cur.n_io && !memcmp(io, x->cur.io, (size_t)n_io * sizeof(void *));
    if (x->timing) CU(cudaEventRecord(x->ev[1], x->stream));
    x->graph_used = 0;
    int want_graph = graphs_enabled(x) && ((x->cur.g && shapes_repeat) || (x->runs_same_shape >= 1 && !x->synced));
    int failed = 0;
    if (want_graph && !(x->cur.g && io_same)) {
        /* capture anew (first time for these shapes) or with the new pointers */
        if (capture(x) != INGOT_OK) {
            cudaGetLastError();
            failed = 1;
            want_graph = 0;
        }
    }
    if (want_graph && x->cur.g) {
        memcpy(x->cur.io, io, (size_t)n_io * sizeof(void *));
        x->cur.n_io = n_io;
        CU(cudaGraphLaunch(x->cur.g, x->stream));
        mark_graph_outputs(x);
        x->graph_used = 1;
    } else {
        x->synced = 0;
        ING_TRY(run_main(x));
        if (failed) x->synced = 1; /* capture failed: do not try again for these shapes */
    }
    if (x->timing) CU(cudaEventRecord(x->ev[2], x->stream));
    ING_TRY(take_outputs(x, out, n_out));
    return INGOT_OK;
}

static ingot_status ctx_run(void *state, ing_binding *in, int32_t n_in, ing_binding *out, int32_t n_out, void *stream)
{
    cuda_exec *x = state;
    cudaStream_t want = stream ? (cudaStream_t)stream : x->own_stream;
    if (want != x->stream) { /* a new stream: a captured graph stays valid, but sync the old one */
        cudaStreamSynchronize(x->stream);
        x->stream = want;
    }
    memset(&x->last, 0, sizeof x->last);
    x->last.runs = 1;
    ingot_status st = ctx_enqueue(x, in, n_in, out, n_out);
    if (st != INGOT_OK) { /* leave nothing in flight that reads the caller's memory */
        cudaStreamSynchronize(x->stream);
        cudaGetLastError();
        return st;
    }
    if (x->out_sets == 2) { /* while the device works: the set the next run writes */
        int next = 1 - x->out_set;
        for (int32_t j = 0; j < n_out; j++) {
            if (out[j].user || out[j].alloc) continue;
            void *p;
            ING_TRY(out_buffer(x, next, j, ing_nbytes(&out[j].t), &p));
        }
    }
    return INGOT_OK;
}

static ingot_status ctx_sync(void *state, ing_binding *out, int32_t n_out)
{
    cuda_exec *x = state;
    ingot_status st = INGOT_OK;
    for (int32_t j = 0; j < n_out && st == INGOT_OK; j++) {
        if (!x->pageable_out[j]) continue;
        x->pageable_out[j] = 0;
        st = d2h_staged(x, out[j].user, x->slots[out[j].value].dev, ing_nbytes(&out[j].t));
    }
    if (x->timing && st == INGOT_OK) st = cuda_check(cudaEventRecord(x->ev[3], x->stream), "cudaEventRecord");
    ingot_status ss = cuda_check(cudaStreamSynchronize(x->stream), "cudaStreamSynchronize (end of run)");
    if (st == INGOT_OK) st = ss;
    if (x->out_sets == 2) x->out_set = 1 - x->out_set;
    x->total.runs++;
    x->total.device_allocs += x->last.device_allocs;
    x->total.host_allocs += x->last.host_allocs;
    x->total.h2d_bytes += x->last.h2d_bytes;
    x->total.d2h_bytes += x->last.d2h_bytes;
    return st;
}

static void ctx_counters(void *state, ingot_run_counters *last, ingot_run_counters *total)
{
    cuda_exec *x = state;
    *last = x->last;
    *total = x->total;
}

static void ctx_set_output_buffers(void *state, int count)
{
    cuda_exec *x = state;
    x->out_sets = count;
    x->out_set = 0;
}

static ingot_status mem_alloc(int32_t kind, size_t bytes, void **out)
{
    void *p = NULL;
    size_t n = bytes ? bytes : 1;
    const char *call = "cudaMalloc";
    cudaError_t e;
    if (kind == INGOT_MEMORY_DEVICE) {
        e = cudaMalloc(&p, n);
    } else if (kind == INGOT_MEMORY_MAPPED) {
        call = "cudaHostAlloc (mapped)";
        e = cudaHostAlloc(&p, n, cudaHostAllocMapped);
    } else {
        call = "cudaHostAlloc";
        e = cudaHostAlloc(&p, n, cudaHostAllocDefault);
    }
    if (e != cudaSuccess) {
        cudaGetLastError();
        return ingot_fail(e == cudaErrorMemoryAllocation ? INGOT_ERR_NOMEM : INGOT_ERR_CUDA,
                          "ingot_memory_alloc: %s of %zu bytes: %s", call, bytes, cudaGetErrorString(e));
    }
    *out = p;
    return INGOT_OK;
}

static void mem_free(int32_t kind, void *p)
{
    if (kind == INGOT_MEMORY_DEVICE) cudaFree(p);
    else cudaFreeHost(p);
}

static ingot_status mem_check(const void *p, int32_t kind, const char *what)
{
    struct cudaPointerAttributes a;
    cudaError_t e = cudaPointerGetAttributes(&a, p);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return ingot_fail(INGOT_ERR_CUDA, "%s: cudaPointerGetAttributes: %s", what, cudaGetErrorString(e));
    }
    const char *is = a.type == cudaMemoryTypeDevice ? "device" : a.type == cudaMemoryTypeHost ? "pinned host"
                   : a.type == cudaMemoryTypeManaged ? "managed" : "pageable host";
    int ok;
    switch (kind) {
    case INGOT_MEMORY_HOST: ok = a.type == cudaMemoryTypeUnregistered; break;
    case INGOT_MEMORY_PINNED: ok = a.type == cudaMemoryTypeHost; break;
    case INGOT_MEMORY_MAPPED: ok = a.type == cudaMemoryTypeHost && a.devicePointer != NULL; break;
    default: ok = a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged; break;
    }
    if (!ok)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "%s: bound as %s memory, but the pointer is %s memory", what,
                          ingot_memory_name((ingot_memory)kind), is);
    return INGOT_OK;
}

static void ctx_set_timing(void *state, int on) { ((cuda_exec *)state)->timing = on; }

/* Drop a captured graph (runs end with a stream synchronize, so it is idle). */
static void drop_graph(cuda_exec *x)
{
    cudaStreamSynchronize(x->stream);
    drop_parked(x);
    if (!x->cur.g) return;
    cudaGraphExecDestroy(x->cur.g);
    x->cur.g = NULL;
}

static void ctx_set_cuda_graph(void *state, int on)
{
    cuda_exec *x = state;
    x->graph_off = !on;
    if (!on) drop_graph(x);
}

static ingot_status ctx_set_profiling(void *state, int on)
{
    cuda_exec *x = state;
    if (on && !x->pev) {
        int32_t n = x->m->n_nodes;
        x->pev = ing_calloc((size_t)(n ? 2 * n : 1), sizeof(cudaEvent_t));
        x->pev_rec = ing_calloc((size_t)(n ? n : 1), 1);
        if (!x->pev || !x->pev_rec) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for %d profiling events", 2 * n);
        const ir_body *b = &x->m->bodies[0];
        for (int32_t k = 0; k < b->n_nodes; k++)
            for (int e = 0; e < 2; e++) CU(cudaEventCreate(&x->pev[2 * b->nodes[k] + e]));
    }
    if (on) drop_graph(x); /* per-node events need the node loop, not a replay */
    x->profiling = on;
    return INGOT_OK;
}

static ingot_status ctx_get_profile(void *state, double *ms, int32_t n_nodes)
{
    cuda_exec *x = state;
    if (!x->profiling || !x->pev_rec) return ingot_fail(INGOT_ERR_STATE, "profiling is off");
    for (int32_t i = 0; i < n_nodes && i < x->m->n_nodes; i++) {
        ms[i] = 0;
        if (!x->pev_rec[i]) continue;
        float t = 0;
        CU(cudaEventElapsedTime(&t, x->pev[2 * i], x->pev[2 * i + 1]));
        ms[i] = t;
    }
    return INGOT_OK;
}

static ingot_status ctx_get_timing(void *state, ingot_run_timing *t)
{
    cuda_exec *x = state;
    float ms[3];
    for (int i = 0; i < 3; i++) CU(cudaEventElapsedTime(&ms[i], x->ev[i], x->ev[i + 1]));
    t->h2d_ms = ms[0];
    t->compute_ms = ms[1];
    t->d2h_ms = ms[2];
    t->cuda_graph = x->graph_used;
    return INGOT_OK;
}

static ingot_status cuda_supports(const ir_model *m, const ir_node *n)
{
    (void)m;
    if (!cuda_kernel_lookup(n->op) && !cpu_kernel_lookup(n->op))
        return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "op type '%s' (opset %d) has no CUDA or CPU kernel", n->op, n->opset);
    return INGOT_OK;
}

/* FusedElementwise kernels are generated at build time: only with NVRTC (when it is missing,
 * ingot_last_error() says why, and fuse_elementwise skips with that note). */
static int cuda_has_kernel(const char *op)
{
    if (!strcmp(op, "FusedElementwise")) return cuda_nvrtc_load() == INGOT_OK;
    return cuda_kernel_lookup(op) != NULL;
}

static ingot_status cuda_prepare(engine_plan *plan, const ing_prepare_opts *po)
{
    ir_model *m = plan->model;
    fill_target(&plan->target);
    plan->steps = ing_calloc((size_t)(m->n_nodes ? m->n_nodes : 1), sizeof(engine_step_info));
    if (!plan->steps) return ingot_fail(INGOT_ERR_NOMEM, "out of memory preparing steps");
    for (int32_t i = 0; i < m->n_nodes; i++) {
        const ir_node *n = &m->nodes[i];
        const ing_tensor *in[64];
        int32_t k = n->n_in < 64 ? n->n_in : 64;
        for (int32_t j = 0; j < k; j++) in[j] = n->in[j] >= 0 ? &m->values[n->in[j]].t : NULL;
        const cuda_kernel_def *d = cuda_kernel_lookup(n->op);
        int dev = d && !cpu_op_allocates_outputs(n->op) && (!d->accepts || d->accepts(n, in, k));
        char name[96];
        snprintf(name, sizeof name, "%s.%s", dev ? "cuda" : "cpu-fallback", n->op);
        plan->steps[i].kernel = ing_strdup(name);
        if (!plan->steps[i].kernel) return ingot_fail(INGOT_ERR_NOMEM, "out of memory preparing steps");
        if (dev && !strcmp(n->op, "FusedElementwise")) ING_TRY(cuda_ewfuse_prepare(m, i, &plan->steps[i], plan->steps, i));
    }
    return cuda_tune_steps(plan, po);
}

const ing_backend ing_backend_cuda = {
    .name = "cuda",
    .id = INGOT_BACKEND_CUDA,
    .available = cuda_available,
    .supports = cuda_supports,
    .has_kernel = cuda_has_kernel,
    .prepare = cuda_prepare,
    .engine_create = engine_create,
    .engine_destroy = cuda_engine_destroy,
    .engine_create_stream = cuda_engine_create_stream,
    .engine_device_bytes = engine_device_bytes,
    .ctx_create = ctx_create,
    .ctx_destroy = ctx_destroy,
    .run = ctx_run,
    .set_timing = ctx_set_timing,
    .get_timing = ctx_get_timing,
    .set_cuda_graph = ctx_set_cuda_graph,
    .set_profiling = ctx_set_profiling,
    .get_profile = ctx_get_profile,
    .sync = ctx_sync,
    .counters = ctx_counters,
    .set_output_buffers = ctx_set_output_buffers,
    .mem_alloc = mem_alloc,
    .mem_free = mem_free,
    .mem_check = mem_check,
};
