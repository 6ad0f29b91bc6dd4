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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu.h"
#include "backend/cuda/cuda.h"
#include "core/alloc.h"

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

/* ---- the engine: weights on the device ---- */

typedef struct cuda_engine {
    void *weights;     /* one device allocation */
    size_t bytes;
    void **dev;        /* per value: device pointer of a constant, else NULL */
    int32_t n_values;
    cuda_ewfuse *ewfuse; /* generated FusedElementwise kernels, loaded once per engine */
} cuda_engine;

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

static void engine_destroy(void *state)
{
    cuda_engine *ce = state;
    if (!ce) return;
    cuda_ewfuse_unload(ce->ewfuse);
    cudaFree(ce->weights);
    ing_free(ce->dev);
    ing_free(ce);
}

static ingot_status engine_create(const engine_plan *plan, void **state)
{
    ING_TRY(cuda_available());
    ING_TRY(check_target(&plan->target));
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
        engine_destroy(ce);
        return ingot_fail_prefix(st, "uploading %zu bytes of weights", total);
    }
    if ((st = cuda_ewfuse_load(plan, &ce->ewfuse)) != INGOT_OK) {
        engine_destroy(ce);
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
    cudaGraphExec_t graph;
    int64_t graph_shapes[64][IR_MAX_RANK + 1];
    int32_t graph_n_in;
    int runs_same_shape;
    int timing, graph_used;
    cudaEvent_t ev[4]; /* before H2D, before compute, after compute, after D2H */
    int graph_off;     /* ingot_context_set_cuda_graph(c, 0) */
    int profiling;     /* events around each node of the main body, graphs off */
    cudaEvent_t *pev;  /* per node id: [2*id] before, [2*id+1] after; created on first use */
    uint8_t *pev_rec;  /* per node id: recorded in the last run */
};

void *cuda_stream(cuda_exec *x) { return x->stream; }
void *cuda_cudnn(cuda_exec *x) { return x->cudnn; }
void *cuda_cublaslt(cuda_exec *x) { return x->lt; }

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
    if (x->plan->arena_offset && x->plan->arena_offset[v] >= 0 && x->arena && bytes <= ing_nbytes(&iv->t)) {
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

static void ctx_destroy(void *state)
{
    cuda_exec *x = state;
    if (!x) return;
    if (x->stream) cudaStreamSynchronize(x->stream);
    if (x->graph) cudaGraphExecDestroy(x->graph);
    for (int i = 0; i < 4; i++)
        if (x->ev[i]) cudaEventDestroy(x->ev[i]);
    if (x->pev)
        for (int32_t i = 0; i < 2 * x->m->n_nodes; i++)
            if (x->pev[i]) cudaEventDestroy(x->pev[i]);
    ing_free(x->pev);
    ing_free(x->pev_rec);
    if (x->slots)
        for (int32_t i = 0; i < x->m->n_values; i++) {
            cudaFree(x->slots[i].dev_buf);
            ing_free_aligned(x->slots[i].host_buf);
        }
    for (int i = 0; i < 4; i++) cudaFree(x->scratch[i]);
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
    if (st == INGOT_OK && cudnnCreate(&x->cudnn) != CUDNN_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cudnnCreate failed");
    if (st == INGOT_OK && cublasLtCreate(&x->lt) != CUBLAS_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cublasLtCreate failed");
    for (int i = 0; i < 4 && st == INGOT_OK; i++) st = cuda_check(cudaEventCreate(&x->ev[i]), "cudaEventCreate");
    if (st == INGOT_OK && plan->arena_bytes)
        st = cuda_check(cudaMalloc(&x->arena, (size_t)plan->arena_bytes), "cudaMalloc (activation arena)");
    if (st == INGOT_OK) st = cpu_exec_new(plan, &x->cpu);
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
        s->host_valid = s->dev_valid = 1;
    }
    *state = x;
    return INGOT_OK;
}

/* Did the inputs keep the shapes the graph was captured with? */
static int same_shapes(cuda_exec *x, const ing_binding *in, int32_t n_in)
{
    if (n_in != x->graph_n_in || n_in > 64) return 0;
    for (int32_t i = 0; i < n_in; i++) {
        if (x->graph_shapes[i][0] != in[i].t.rank) return 0;
        for (int d = 0; d < in[i].t.rank; d++)
            if (x->graph_shapes[i][d + 1] != in[i].t.dims[d]) return 0;
    }
    return 1;
}

static void remember_shapes(cuda_exec *x, const ing_binding *in, int32_t n_in)
{
    x->graph_n_in = n_in > 64 ? 64 : n_in;
    for (int32_t i = 0; i < x->graph_n_in; i++) {
        x->graph_shapes[i][0] = in[i].t.rank;
        for (int d = 0; d < in[i].t.rank; d++) x->graph_shapes[i][d + 1] = in[i].t.dims[d];
    }
}

static int graphs_enabled(const cuda_exec *x) { return !x->graph_off && !x->profiling; }

static ingot_status ctx_run(void *state, ing_binding *in, int32_t n_in, ing_binding *out, int32_t n_out, void *stream)
{
    cuda_exec *x = state;
    cudaStream_t want = stream ? (cudaStream_t)stream : x->own_stream;
    if (want != x->stream) { /* a new stream: a captured graph stays valid, but sync the old one */
        cudaStreamSynchronize(x->stream);
        x->stream = want;
    }
    int shapes_repeat = same_shapes(x, in, n_in);
    if (!shapes_repeat && x->graph) {
        cudaGraphExecDestroy(x->graph);
        x->graph = NULL;
    }
    x->runs_same_shape = shapes_repeat ? x->runs_same_shape + 1 : 0;
    remember_shapes(x, in, n_in);
    if (x->timing) CU(cudaEventRecord(x->ev[0], x->stream));
    /* inputs: host memory, copied to the device */
    for (int32_t i = 0; i < n_in; i++) {
        int32_t v = in[i].value;
        dslot *s = &x->slots[v];
        if (!x->graph || ing_nbytes(&in[i].t) > s->dev_cap) ING_TRY(dev_place(x, v, &in[i].t));
        s->t = in[i].t;
        size_t bytes = ing_nbytes(&in[i].t);
        if (bytes) CU(cudaMemcpyAsync(s->dev, in[i].t.data, bytes, cudaMemcpyHostToDevice, x->stream));
        s->host = in[i].t.data; /* the caller's memory holds the same bytes until the run returns */
        s->host_valid = s->dev_valid = 1;
    }
    if (x->timing) CU(cudaEventRecord(x->ev[1], x->stream));
    x->graph_used = x->graph != NULL;
    if (x->graph) {
        CU(cudaGraphLaunch(x->graph, x->stream));
        /* the graph leaves every activation valid on the device only */
        const ir_body *b = &x->m->bodies[0];
        for (int32_t k = 0; k < b->n_nodes; k++) {
            const ir_node *n = &x->m->nodes[b->nodes[k]];
            for (int32_t j = 0; j < n->n_out; j++)
                if (n->out[j] >= 0) {
                    x->slots[n->out[j]].dev_valid = 1;
                    x->slots[n->out[j]].host_valid = 0;
                }
        }
    } else if (x->runs_same_shape >= 1 && !x->synced && graphs_enabled(x)) {
        /* the last run with these shapes stayed on the device: capture this one */
        cudaGraph_t g = NULL;
        CU(cudaStreamBeginCapture(x->stream, cudaStreamCaptureModeThreadLocal));
        x->capturing = 1;
        ingot_status st = run_main(x);
        x->capturing = 0;
        cudaError_t ce = cudaStreamEndCapture(x->stream, &g);
        if (st == INGOT_OK) st = cuda_check(ce, "cudaStreamEndCapture");
        if (st == INGOT_OK) st = cuda_check(cudaGraphInstantiate(&x->graph, g, 0), "cudaGraphInstantiate");
        if (g) cudaGraphDestroy(g);
        if (st == INGOT_OK) st = cuda_check(cudaGraphLaunch(x->graph, x->stream), "cudaGraphLaunch");
        if (st != INGOT_OK) {
            if (x->graph) cudaGraphExecDestroy(x->graph);
            x->graph = NULL;
            cudaGetLastError();
            x->synced = 1; /* do not try again for these shapes */
            ING_TRY(run_main(x));
        }
    } else {
        x->synced = 0;
        ING_TRY(run_main(x));
    }
    if (x->timing) CU(cudaEventRecord(x->ev[2], x->stream));
    /* outputs to host memory: the caller's, or the slot's own mirror */
    for (int32_t j = 0; j < n_out; j++) {
        int32_t v = out[j].value;
        dslot *s = &x->slots[v];
        size_t bytes = ing_nbytes(&s->t);
        if (out[j].user && bytes > out[j].user_size)
            return ingot_fail(INGOT_ERR_SHAPE, "output '%s' needs %zu bytes, the bound buffer holds %zu",
                              x->m->values[v].name, bytes, out[j].user_size);
        if (out[j].user) {
            if (s->dev_valid) {
                if (bytes) CU(cudaMemcpyAsync(out[j].user, s->dev, bytes, cudaMemcpyDeviceToHost, x->stream));
            } else if (bytes) {
                memcpy(out[j].user, s->host, bytes);
            }
        } else if (!s->host_valid) {
            ing_tensor t = s->t;
            void *dev = s->dev;
            ING_TRY(host_place(x, v, &t));
            s->dev_valid = 1;
            if (bytes) CU(cudaMemcpyAsync(s->host, dev, bytes, cudaMemcpyDeviceToHost, x->stream));
        }
        out[j].t = s->t;
        out[j].t.data = out[j].user ? out[j].user : s->host;
    }
    if (x->timing) CU(cudaEventRecord(x->ev[3], x->stream));
    CU(cudaStreamSynchronize(x->stream));
    return INGOT_OK;
}

static void ctx_set_timing(void *state, int on) { ((cuda_exec *)state)->timing = on; }

/* Drop a captured graph (runs end with a stream synchronize, so it is idle). */
static void drop_graph(cuda_exec *x)
{
    if (!x->graph) return;
    cudaStreamSynchronize(x->stream);
    cudaGraphExecDestroy(x->graph);
    x->graph = NULL;
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

static ingot_status cuda_prepare(engine_plan *plan)
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
    return INGOT_OK;
}

const ing_backend ing_backend_cuda = {
    .name = "cuda",
    .id = INGOT_BACKEND_CUDA,
    .available = cuda_available,
    .supports = cuda_supports,
    .has_kernel = cuda_has_kernel,
    .prepare = cuda_prepare,
    .engine_create = engine_create,
    .engine_destroy = engine_destroy,
    .ctx_create = ctx_create,
    .ctx_destroy = ctx_destroy,
    .run = ctx_run,
    .set_timing = ctx_set_timing,
    .get_timing = ctx_get_timing,
    .set_cuda_graph = ctx_set_cuda_graph,
    .set_profiling = ctx_set_profiling,
    .get_profile = ctx_get_profile,
};
