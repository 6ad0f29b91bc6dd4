/* Build-time tactic selection: for every step whose CUDA kernel can be tuned (cuDNN
 * convolutions, cuBLASLt matmuls), look its key up in the timing cache, else time the
 * candidates on random device buffers (kernel's tune) and keep the fastest; the choice becomes
 * the step's params (engine/tactic.h) and a new cache entry.
 *
 * The key names everything the choice depends on, so an entry is never used for another shape,
 * math mode, GPU or library version: op, precision, each input's and the output's dtype and
 * shape, the node's attributes, the GPU's name and sm, cuDNN's and cuBLASLt's versions. */
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cuda/cuda.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "engine/plan.h"
#include "ir/infer.h"
#include "plan/timing_cache.h"

#define N_SLOTS 6
#define WARMUP 2
#define REPS 7

struct cuda_tuner {
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasLtHandle_t lt;
    cudaEvent_t ev[2 * REPS];
    void *buf[N_SLOTS];
    size_t cap[N_SLOTS];
    void *host; /* staging for random fills */
    size_t host_cap;
    int precision;
    int verbose;
};

void *cuda_tuner_cudnn(cuda_tuner *t) { return t->cudnn; }
void *cuda_tuner_cublaslt(cuda_tuner *t) { return t->lt; }
void *cuda_tuner_stream(cuda_tuner *t) { return t->stream; }
int cuda_tuner_precision(cuda_tuner *t) { return t->precision; }

void cuda_tuner_log(cuda_tuner *t, const char *fmt, ...)
{
    if (!t->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("tactic: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void tuner_free(cuda_tuner *t)
{
    if (!t) return;
    if (t->stream) cudaStreamSynchronize(t->stream);
    for (int i = 0; i < N_SLOTS; i++) cudaFree(t->buf[i]);
    for (int i = 0; i < 2 * REPS; i++)
        if (t->ev[i]) cudaEventDestroy(t->ev[i]);
    if (t->cudnn) cudnnDestroy(t->cudnn);
    if (t->lt) cublasLtDestroy(t->lt);
    if (t->stream) cudaStreamDestroy(t->stream);
    ing_free_aligned(t->host);
    ing_free(t);
}

static ingot_status tuner_new(int precision, int verbose, cuda_tuner **out)
{
    cuda_tuner *t = ing_calloc(1, sizeof *t);
    if (!t) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for the tactic tuner");
    t->precision = precision;
    t->verbose = verbose;
    ingot_status st = cuda_check(cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    if (st == INGOT_OK && cudnnCreate(&t->cudnn) != CUDNN_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cudnnCreate failed while preparing tactic timing");
    if (st == INGOT_OK && cudnnSetStream(t->cudnn, t->stream) != CUDNN_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cudnnSetStream failed while preparing tactic timing");
    if (st == INGOT_OK && cublasLtCreate(&t->lt) != CUBLAS_STATUS_SUCCESS)
        st = ingot_fail(INGOT_ERR_CUDA, "cublasLtCreate failed while preparing tactic timing");
    for (int i = 0; i < 2 * REPS && st == INGOT_OK; i++) st = cuda_check(cudaEventCreate(&t->ev[i]), "cudaEventCreate");
    if (st != INGOT_OK) {
        tuner_free(t);
        return st;
    }
    *out = t;
    return INGOT_OK;
}

/* xorshift32 from a fixed seed: the same buffers on every build. */
static float next_unit(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (float)(*s >> 8) / (float)(1u << 23) - 1.0f;
}

void *cuda_tuner_buffer(cuda_tuner *t, int slot, size_t bytes, int dtype)
{
    if (slot < 0 || slot >= N_SLOTS) {
        ingot_fail(INGOT_ERR_INVALID_ARG, "tuner buffer slot %d, allowed 0..%d", slot, N_SLOTS - 1);
        return NULL;
    }
    if (bytes == 0) bytes = 1;
    if (t->cap[slot] < bytes) {
        void *p = NULL;
        if (cudaMalloc(&p, bytes) != cudaSuccess) {
            cudaGetLastError();
            ingot_fail(INGOT_ERR_NOMEM, "cudaMalloc: out of device memory for %zu bytes of tactic-timing buffers", bytes);
            return NULL;
        }
        cudaFree(t->buf[slot]);
        t->buf[slot] = p;
        t->cap[slot] = bytes;
    }
    if (dtype < 0) return t->buf[slot];
    size_t es = ingot_dtype_size((ingot_dtype)dtype), n = es ? bytes / es : 0;
    if (t->host_cap < bytes) {
        void *h = ing_malloc_aligned(bytes, 64);
        if (!h) {
            ingot_fail(INGOT_ERR_NOMEM, "out of memory for %zu bytes of tactic-timing data", bytes);
            return NULL;
        }
        ing_free_aligned(t->host);
        t->host = h;
        t->host_cap = bytes;
    }
    uint32_t seed = 0x9e3779b9u ^ (uint32_t)slot;
    for (size_t i = 0; i < n; i++) {
        float v = next_unit(&seed);
        if (dtype == INGOT_DTYPE_F16) ((uint16_t *)t->host)[i] = ing_f32_to_f16(v);
        else if (dtype == INGOT_DTYPE_BF16) ((uint16_t *)t->host)[i] = ing_f32_to_bf16(v);
        else if (dtype == INGOT_DTYPE_F32) ((float *)t->host)[i] = v;
        else memset((char *)t->host + i * es, 0, es);
    }
    if (cudaMemcpy(t->buf[slot], t->host, n * es, cudaMemcpyHostToDevice) != cudaSuccess) {
        cuda_check((int)cudaGetLastError(), "cudaMemcpy (tactic-timing data)");
        return NULL;
    }
    return t->buf[slot];
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The GPU time of one call of run: REPS calls captured into one CUDA graph, as the engine runs
 * them, and the graph replayed between events, so host launch overhead (which a graph replay
 * does not pay) does not count. Timing each call between events on a stream favoured
 * algorithms with fewer launches over faster ones. A candidate that cannot be captured (it
 * synchronizes or allocates) is refused: an engine replaying graphs could not use it. */
ingot_status cuda_tuner_time(cuda_tuner *t, ingot_status (*run)(void *arg), void *arg, double *ms)
{
    for (int i = 0; i < WARMUP; i++) ING_TRY(run(arg));
    ING_TRY(cuda_check(cudaStreamSynchronize(t->stream), "cudaStreamSynchronize (tactic warm-up)"));
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    ING_TRY(cuda_check(cudaStreamBeginCapture(t->stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture"));
    ingot_status st = INGOT_OK;
    for (int i = 0; i < REPS && st == INGOT_OK; i++) st = run(arg);
    cudaError_t ce = cudaStreamEndCapture(t->stream, &g);
    if (st == INGOT_OK) st = cuda_check(ce, "cudaStreamEndCapture (tactic timing)");
    if (st == INGOT_OK) st = cuda_check(cudaGraphInstantiate(&ge, g, 0), "cudaGraphInstantiate (tactic timing)");
    double v[REPS];
    for (int i = 0; i < REPS && st == INGOT_OK; i++) {
        st = cuda_check(cudaEventRecord(t->ev[2 * i], t->stream), "cudaEventRecord");
        if (st == INGOT_OK) st = cuda_check(cudaGraphLaunch(ge, t->stream), "cudaGraphLaunch (tactic timing)");
        if (st == INGOT_OK) st = cuda_check(cudaEventRecord(t->ev[2 * i + 1], t->stream), "cudaEventRecord");
    }
    if (st == INGOT_OK) st = cuda_check(cudaStreamSynchronize(t->stream), "cudaStreamSynchronize (tactic timing)");
    for (int i = 0; i < REPS && st == INGOT_OK; i++) {
        float f = 0;
        st = cuda_check(cudaEventElapsedTime(&f, t->ev[2 * i], t->ev[2 * i + 1]), "cudaEventElapsedTime");
        v[i] = f / REPS;
    }
    if (ge) cudaGraphExecDestroy(ge);
    if (g) cudaGraphDestroy(g);
    if (st != INGOT_OK) {
        cudaGetLastError();
        return st;
    }
    /* the first replay pays for uploading the graph: the median of the rest */
    qsort(v + 1, REPS - 1, sizeof v[0], by_value);
    *ms = v[1 + (REPS - 1) / 2];
    return INGOT_OK;
}

/* ---- keys ---- */

typedef struct kbuf {
    char s[TCACHE_MAX_KEY];
    size_t n;
    int overflow;
} kbuf;

static void kput(kbuf *k, const char *fmt, ...) ING_PRINTF(2, 3);
static void kput(kbuf *k, const char *fmt, ...)
{
    if (k->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(k->s + k->n, sizeof k->s - k->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof k->s - k->n) k->overflow = 1;
    else k->n += (size_t)w;
}

static void kput_tensor(kbuf *k, const char *what, const ing_tensor *t)
{
    if (!t) {
        kput(k, "|%s=none", what);
        return;
    }
    kput(k, "|%s=%s[", what, ingot_dtype_name((ingot_dtype)t->dtype));
    for (int d = 0; d < t->rank; d++) kput(k, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    kput(k, "]");
}

/* 0 when the key does not fit (the step is then timed and not cached). */
static int make_key(kbuf *k, const ir_node *n, const ing_tensor *const *in, int n_in, const ing_tensor *out,
                    int precision, const char *gpu, int sm)
{
    k->n = 0;
    k->overflow = 0;
    kput(k, "%s|%s|precision=%d", n->domain && n->domain[0] ? n->domain : "ai.onnx", n->op, precision);
    for (int i = 0; i < n_in; i++) {
        char w[16];
        snprintf(w, sizeof w, "in%d", i);
        kput_tensor(k, w, in[i]);
    }
    kput_tensor(k, "out", out);
    for (int32_t a = 0; a < n->n_attr; a++) {
        const ir_attr *at = &n->attrs[a];
        kput(k, "|%s:", at->name);
        switch (at->type) {
        case IR_ATTR_INT: kput(k, "%lld", (long long)at->i); break;
        case IR_ATTR_FLOAT: kput(k, "%a", (double)at->f); break; /* exact */
        case IR_ATTR_STRING: kput(k, "'%s'", at->s ? at->s : ""); break;
        case IR_ATTR_INTS:
            for (size_t j = 0; j < at->n; j++) kput(k, "%s%lld", j ? "," : "", (long long)at->ints[j]);
            break;
        case IR_ATTR_FLOATS:
            for (size_t j = 0; j < at->n; j++) kput(k, "%s%a", j ? "," : "", (double)at->floats[j]);
            break;
        default: kput(k, "type%d", at->type); break; /* tensors, graphs: not used by tunable ops */
        }
    }
    kput(k, "|gpu=%s|sm=%d|cudnn=%zu|cublaslt=%zu", gpu, sm, cudnnGetVersion(), cublasLtGetVersion());
    return !k->overflow;
}

static const char *tactic_str(const engine_tactic *t, char *buf, size_t n)
{
    if (t->kind == TACTIC_CUDNN_CONV)
        snprintf(buf, n, "cuDNN algo %d, math %d, workspace %llu", t->algo, t->math, (unsigned long long)t->workspace);
    else
        snprintf(buf, n, "cuBLASLt algo %016llx, compute %s, workspace %llu",
                 (unsigned long long)(t->lt_algo[0] | (uint64_t)t->lt_algo[1] << 8 | (uint64_t)t->lt_algo[2] << 16 |
                                      (uint64_t)t->lt_algo[3] << 24),
                 t->math == TACTIC_LT_32F_FAST_TF32 ? "32F_FAST_TF32" : "32F", (unsigned long long)t->workspace);
    return buf;
}

/* One step: the cache's tactic or a timed one, into step->params. */
static ingot_status tune_step(cuda_tuner *tu, ing_timing_cache *cache, const char *cache_path,
                              const cuda_kernel_def *d, const ir_model *m, const ir_node *n, engine_step_info *step,
                              const char *gpu, int sm)
{
    const ing_tensor *in[64];
    int32_t k = n->n_in < 64 ? n->n_in : 64;
    for (int32_t j = 0; j < k; j++) {
        in[j] = n->in[j] >= 0 ? &m->values[n->in[j]].t : NULL;
        if (in[j] && !ing_shape_known(in[j])) return INGOT_OK; /* shapes known only at run time */
    }
    const ing_tensor *out = n->n_out > 0 && n->out[0] >= 0 ? &m->values[n->out[0]].t : NULL;
    if (!out || !ing_shape_known(out)) return INGOT_OK;
    kbuf *key = ing_malloc(sizeof *key);
    if (!key) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a tactic key");
    int keyed = make_key(key, n, in, k, out, tu->precision, gpu, sm);
    engine_tactic best;
    uint8_t rec[TACTIC_LT_BYTES];
    size_t len = 0;
    char desc[128];
    ingot_status st = INGOT_OK;
    const void *hit = keyed && cache ? tcache_find(cache, key->s, &len) : NULL;
    if (hit) {
        char what[400];
        snprintf(what, sizeof what, "timing cache '%s': the entry for node '%s' (%s)",
                 cache_path ? cache_path : "(memory)", n->name, n->op);
        if ((st = tactic_decode(hit, len, what, &best)) != INGOT_OK) goto done;
        memcpy(rec, hit, len);
        cuda_tuner_log(tu, "node '%s' (%s): cache hit: %s", n->name, n->op, tactic_str(&best, desc, sizeof desc));
    } else {
        st = d->tune(tu, n, in, k, out, &best);
        /* no candidate ran (or the library refused the shapes): the step keeps no tactic and the
         * kernel asks the heuristic at run time, as an engine without tactics does */
        if (st == INGOT_ERR_UNSUPPORTED || st == INGOT_ERR_CUDA) {
            cuda_tuner_log(tu, "node '%s' (%s): no tactic (%s)", n->name, n->op, ingot_last_error());
            st = INGOT_OK;
            goto done;
        }
        if (st != INGOT_OK) goto done;
        len = tactic_encode(&best, rec);
        cuda_tuner_log(tu, "node '%s' (%s): chose %s", n->name, n->op, tactic_str(&best, desc, sizeof desc));
        if (keyed && cache && (st = tcache_put(cache, key->s, rec, len)) != INGOT_OK) goto done;
    }
    if (!(step->params = ing_malloc(len))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory for node '%s''s tactic", n->name);
        goto done;
    }
    memcpy(step->params, rec, len);
    step->params_len = len;
done:
    ing_free(key);
    return st;
}

/* With optimization profiles the model's varying dims are symbolic: give the profiled inputs
 * their opt shapes and infer the rest, so the steps are timed at the shapes the profile says
 * matter most (as the arena is planned at the max shapes). saved: every value's tensor, put back
 * by opt_shapes_restore. A tactic timed there is checked again at run time for other shapes. */
static ingot_status opt_shapes_apply(engine_plan *plan, ing_tensor **saved)
{
    ir_model *m = plan->model;
    *saved = NULL;
    if (!plan->n_profiles || !plan->profiles) return INGOT_OK;
    *saved = ing_malloc((size_t)(m->n_values ? m->n_values : 1) * sizeof **saved);
    if (!*saved) return ingot_fail(INGOT_ERR_NOMEM, "out of memory saving %d value shapes", m->n_values);
    for (int32_t i = 0; i < m->n_values; i++) (*saved)[i] = m->values[i].t;
    for (int32_t k = 0; k < plan->n_profiles; k++) {
        ir_value *iv = &m->values[plan->profiles[k].value];
        for (int32_t d = 0; d < plan->profiles[k].rank; d++) iv->t.dims[d] = plan->profiles[k].opt[d];
    }
    ingot_status st = ir_infer_model(m);
    if (st != INGOT_OK) return ingot_fail_prefix(st, "inferring shapes at the profiles' opt shapes");
    return INGOT_OK;
}

static void opt_shapes_restore(engine_plan *plan, ing_tensor *saved)
{
    ir_model *m = plan->model;
    if (!saved) return;
    for (int32_t i = 0; i < m->n_values; i++) {
        void *data = m->values[i].t.data; /* constants keep their bytes */
        m->values[i].t = saved[i];
        m->values[i].t.data = data;
    }
    ing_free(saved);
}

ingot_status cuda_tune_steps(struct engine_plan *plan, const struct ing_prepare_opts *po)
{
    const ir_model *m = plan->model;
    cuda_tuner *tu = NULL;
    ingot_status st = INGOT_OK;
    struct cudaDeviceProp prop;
    int dev = 0;
    if (!po || !po->tune) return INGOT_OK; /* no tactics: each step runs the heuristic's choice */
    ing_tensor *saved = NULL;
    st = opt_shapes_apply(plan, &saved);
    for (int32_t i = 0; i < m->n_nodes && st == INGOT_OK; i++) {
        const ir_node *n = &m->nodes[i];
        const cuda_kernel_def *d = cuda_kernel_lookup(n->op);
        engine_step_info *step = &plan->steps[i];
        if (!d || !d->tune || strncmp(step->kernel, "cuda.", 5) != 0) continue;
        if (!tu) {
            if ((st = cuda_check(cudaGetDevice(&dev), "cudaGetDevice")) != INGOT_OK) break;
            if ((st = cuda_check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties")) != INGOT_OK) break;
            if ((st = tuner_new(plan->target.precision, po ? po->verbose : 0, &tu)) != INGOT_OK) break;
        }
        st = tune_step(tu, po ? po->timing_cache : NULL, po ? po->timing_cache_path : NULL, d, m, n, step, prop.name,
                       prop.major * 10 + prop.minor);
        if (st != INGOT_OK) st = ingot_fail_prefix(st, "timing tactics for node '%s' (%s)", n->name, n->op);
    }
    tuner_free(tu);
    opt_shapes_restore(plan, saved);
    return st;
}
