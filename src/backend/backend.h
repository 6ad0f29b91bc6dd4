/* The backend interface: a struct of function pointers (ARCHITECTURE.md, "Backends").
 * Build side: capability query and preparation of the plan (kernel choice, weight packing).
 * Run side: a per-context state that executes the plan on bound inputs. */
#ifndef INGOT_BACKEND_BACKEND_H
#define INGOT_BACKEND_BACKEND_H

#include "engine/plan.h"
#include "engine/stream.h"

/* One graph input or output as the runtime hands it to a backend. */
typedef struct ing_binding {
    int32_t value;    /* value id in the plan's model */
    ing_tensor t;     /* inputs: dtype, shape and data; outputs: filled after the run */
    void *user;       /* outputs: the caller's memory, or NULL for the backend's own buffer */
    size_t user_size; /* bytes */
    int32_t memory;   /* ingot_memory of t.data (inputs) or user (outputs) */
    /* outputs served by an allocator: the backend calls ing_binding_reserve once the output's
     * size is known; it sets user/user_size/memory */
    const ingot_output_allocator *alloc;
    const char *name;
} ing_binding;

/* For an output with an allocator: make sure user holds `bytes` (calling reallocate when the
 * current memory is smaller). INGOT_ERR_NOMEM when the allocator returns NULL. */
ingot_status ing_binding_reserve(ing_binding *b, size_t bytes, void *stream);
/* Tell an output's allocator its shape (no-op without one). */
void ing_binding_notify(const ing_binding *b);
/* What the builder hands prepare besides the plan. */
typedef struct ing_prepare_opts {
    struct ing_timing_cache *timing_cache; /* tactics known already; new ones added; may be NULL */
    const char *timing_cache_path;         /* its file, for messages */
    int verbose;                           /* non-zero: print each tactic decision to stderr */
    int tune;                              /* non-zero: time tactics (else the run-time heuristic) */
} ing_prepare_opts;

typedef struct ing_backend {
    const char *name;
    int32_t id; /* ingot_backend */
    /* INGOT_OK when this build and machine can run it; otherwise INGOT_ERR_BACKEND + message. */
    ingot_status (*available)(void);
    /* Can the backend run node n? INGOT_ERR_UNSUPPORTED with a message when not. */
    ingot_status (*supports)(const ir_model *m, const ir_node *n);
    /* Has the backend its own kernel for op (not a fallback)? Passes ask before creating an op
     * the backend would only run elsewhere (fuse_attention), or that only pays off with a real
     * kernel (fuse_elementwise: the CPU says no, its FusedElementwise is the interpreting oracle;
     * CUDA says yes only when NVRTC loads, and then ingot_last_error() holds why not). */
    int (*has_kernel)(const char *op);
    /* Build time: choose kernels (and time tactics) and fill plan->steps. */
    ingot_status (*prepare)(engine_plan *plan, const ing_prepare_opts *po);
    /* Load time: per-engine state (weights on the device …); NULL when the backend has none. */
    ingot_status (*engine_create)(const engine_plan *plan, void **engine_state);
    void (*engine_destroy)(void *engine_state);
    ingot_status (*ctx_create)(const engine_plan *plan, void *engine_state, void **state);
    void (*ctx_destroy)(void *state);
    /* Run: in[n_in] are bound inputs, out[n_out] receive outputs (t set on return; data valid
     * until the next run or destroy). */
    ingot_status (*run)(void *state, ing_binding *in, int32_t n_in, ing_binding *out, int32_t n_out,
                        void *stream);
    /* Optional: measure the phases of each run (CUDA events); NULL when the backend cannot. */
    void (*set_timing)(void *state, int on);
    ingot_status (*get_timing)(void *state, ingot_run_timing *t);
    /* Optional: load time, from a stream opened up to its weight section (s->plan decoded,
     * constants without bytes): build the per-engine state while the section streams, never
     * holding it whole in host memory (the CUDA backend: pinned ring, device upload). The
     * backend may set constants' t.data (host copies it keeps; NULL for device-only ones).
     * On failure nothing is left allocated. NULL: the runtime streams into host memory and
     * calls engine_create. */
    ingot_status (*engine_create_stream)(engine_stream *s, int verify, void **engine_state);
    /* Optional: bytes of device memory the engine's weights occupy (0 for host backends). */
    uint64_t (*engine_device_bytes)(const void *engine_state);
    /* Optional: allow (default) or forbid CUDA graph capture and replay; NULL: no graphs. */
    void (*set_cuda_graph)(void *state, int on);
    /* Optional: time each node of the following runs (host clock or CUDA events, graphs off
     * while on); NULL when the backend cannot profile. */
    ingot_status (*set_profiling)(void *state, int on);
    /* Optional: per node id (ms[n_nodes]) the time of the last profiled run; 0 for nodes
     * that did not run. */
    ingot_status (*get_profile)(void *state, double *ms, int32_t n_nodes);
    /* Optional: host allocations the runs of this context made so far (-1: not counted). */
    int64_t (*alloc_count)(void *state);
    /* Optional (NULL: run completes before returning): wait for the run started by `run` and
     * finish its outputs (pageable copies). out as given to run. */
    ingot_status (*sync)(void *state, ing_binding *out, int32_t n_out);
    /* Optional: counters of the last run and the total (ingot_run_counters). */
    void (*counters)(void *state, ingot_run_counters *last, ingot_run_counters *total);
    /* Optional: 1 or 2 sets of backend-owned output buffers (double buffering). */
    void (*set_output_buffers)(void *state, int count);
    /* Optional: memory of a kind other than HOST (ingot_memory_alloc) and a check that a
     * pointer is of the kind it is bound as (INGOT_ERR_INVALID_ARG with what it is). */
    ingot_status (*mem_alloc)(int32_t kind, size_t bytes, void **out);
    void (*mem_free)(int32_t kind, void *p);
    ingot_status (*mem_check)(const void *p, int32_t kind, const char *what);
} ing_backend;

/* The backend for id, or NULL when the build has none. */
const ing_backend *ing_backend_get(int32_t id);

extern const ing_backend ing_backend_cpu;
#ifdef INGOT_WITH_CUDA
extern const ing_backend ing_backend_cuda;
#endif

#endif
