/* The CUDA backend's kernel interface (host side; no CUDA types leak past this folder).
 *
 * Each op family file src/backend/cuda/<family>.c defines a table
 *     const cuda_kernel_def cuda_kernels_<family>[] = { {"Relu", k_relu}, ..., {NULL, NULL} };
 * listed in cuda_registry.c. Device code lives in kernels/<family>.cu behind extern "C"
 * launchers (kernels/launch.h).
 *
 * The executor infers every node's output shapes on the host first, then allocates outputs in
 * device memory, then calls the kernel, which enqueues its work on cuda_stream(x) and returns
 * without synchronizing. Tensor data pointers given to a kernel are DEVICE pointers. Ops without
 * a CUDA kernel run through the CPU kernel on host copies (the executor moves the data); the
 * engine's inspect output names those steps "cpu-fallback.<op>".
 */
#ifndef INGOT_BACKEND_CUDA_CUDA_H
#define INGOT_BACKEND_CUDA_CUDA_H

#include "core/dtype.h"
#include "core/status.h"
#include "engine/tactic.h"
#include "engine/plan.h"
#include "ir/ir.h"
#include "ir/op.h"

typedef struct cuda_exec cuda_exec;
typedef struct cuda_tuner cuda_tuner;

typedef ingot_status (*cuda_kernel_fn)(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                                       int n_in, ing_tensor *const *out, int n_out);

typedef struct cuda_kernel_def {
    const char *op;
    cuda_kernel_fn run;
    /* optional: can the kernel run this node with these input dtypes/shapes? NULL = always.
     * Return 0 to make the executor use the CPU fallback for this node. */
    int (*accepts)(const ir_node *node, const ing_tensor *const *in, int n_in);
    /* optional (build time): time the candidate algorithms for this node on the tuner's random
     * buffers and fill *best; the builder stores it as the step's tactic. INGOT_ERR_UNSUPPORTED
     * leaves the step without one (the kernel then asks the library's heuristic at run time). */
    ingot_status (*tune)(cuda_tuner *t, const ir_node *node, const ing_tensor *const *in, int n_in,
                         const ing_tensor *out, engine_tactic *best);
} cuda_kernel_def;

const cuda_kernel_def *cuda_kernel_lookup(const char *op);

/* The families whose kernels call cuDNN (conv.c) and cuBLASLt (gemm.c). */
extern const cuda_kernel_def cuda_kernels_conv[];
extern const cuda_kernel_def cuda_kernels_gemm[];

/* Has any node of m (any body) an op of this family? By op type, not by the build's kernel choice:
 * a step may take its CUDA kernel at run time with shapes known then. */
int cuda_model_uses_family(const ir_model *m, const cuda_kernel_def *family);

/* The stream every kernel enqueues on (a cudaStream_t). */
void *cuda_stream(cuda_exec *x);
/* Device scratch for one kernel call, reused across calls; slot 0..3. NULL on failure. */
void *cuda_scratch(cuda_exec *x, int slot, size_t bytes);
/* Library handles, created once per context (cudnnHandle_t, cublasLtHandle_t). */
void *cuda_cudnn(cuda_exec *x);
void *cuda_cublaslt(cuda_exec *x);
/* Host copy of a constant input (its bytes in the engine), or NULL when in[i] is not a
 * constant. Kernels read attributes-like inputs (axes, shapes, scales) from here. */
const void *cuda_host_const(cuda_exec *x, const ir_node *node, int input);

/* The engine's ingot_precision (TF32 lets fp32 convolutions and matmuls use tensor cores). */
int cuda_precision(cuda_exec *x);
/* The tactic stored for node's step at build time, or NULL (validated when the engine loaded). */
const engine_tactic *cuda_step_tactic(cuda_exec *x, const ir_node *node);

/* Per-node state a kernel keeps across the runs of one context (descriptors and the algorithm
 * chosen for the last shapes), so an uncaptured run does not rebuild them. NULL when none. */
void *cuda_node_state(cuda_exec *x, const ir_node *node);
/* Replace the node's state (the old one goes to its destroy); destroy(state) also runs when
 * the context is destroyed. On failure (INGOT_ERR_NOMEM) destroy(state) has run. */
ingot_status cuda_set_node_state(cuda_exec *x, const ir_node *node, void *state, void (*destroy)(void *));

/* Build-time tactic timing (tactic.c): handles, a stream and device buffers for kernels' tune. */
void *cuda_tuner_cudnn(cuda_tuner *t);
void *cuda_tuner_cublaslt(cuda_tuner *t);
void *cuda_tuner_stream(cuda_tuner *t);
int cuda_tuner_precision(cuda_tuner *t);
/* Device buffer `slot` (0..5) of at least `bytes`, reused across calls. With dtype >= 0 it is
 * filled with random values of that dtype in [-1, 1) (fixed seed); dtype < 0: contents
 * undefined (outputs, workspace). NULL on failure (the error is set). */
void *cuda_tuner_buffer(cuda_tuner *t, int slot, size_t bytes, int dtype);
/* Run `run` twice to warm up, then time it with CUDA events several times: *ms = the median.
 * A failing run returns its status (the candidate is then skipped by the caller). */
ingot_status cuda_tuner_time(cuda_tuner *t, ingot_status (*run)(void *arg), void *arg, double *ms);
/* One line to stderr when the build is verbose. */
void cuda_tuner_log(cuda_tuner *t, const char *fmt, ...) ING_PRINTF(2, 3);
/* Time and store the tactic of every tunable step (plan->steps filled with kernels already). */
struct engine_plan;
struct ing_prepare_opts;
ingot_status cuda_tune_steps(struct engine_plan *plan, const struct ing_prepare_opts *po);

/* Load cuDNN and cuBLASLt (dynlib.c): INGOT_ERR_BACKEND naming the missing library. */
ingot_status cuda_libs_load(void);

/* Turn a failed CUDA runtime call into a status naming the call: "cudaMalloc: out of memory". */
ingot_status cuda_check(int err, const char *call);
/* Check the launch that just happened (cudaGetLastError). */
ingot_status cuda_check_launch(const ir_node *node, const char *kernel);

/* Fused ops (domain "ingot"): the epilogue's activation code from the node's attributes, -1
 * when it has no CUDA epilogue; and the epilogue pass itself (bias by channel, residual, act)
 * over y, where element i uses bias[(i / inner) % channels]. */
int cuda_epilogue_act(const ir_node *n, float *alpha, float *beta);
ingot_status cuda_run_epilogue(cuda_exec *x, const ir_node *n, ing_tensor *y, const ing_tensor *bias,
                               const ing_tensor *residual, int64_t channels, int64_t inner);

/* FusedElementwise (ewfuse*.c, nvrtc.c): NVRTC loaded on first use (INGOT_ERR_BACKEND naming
 * the library when absent) and one compile to a cubin for sm_90 (INGOT_ERR_CUDA with the
 * compiler's log; what names the node); the node's CUDA source (caller frees with ing_free);
 * at build time the step's params record (cubin + source); per engine the loaded kernels. */
ingot_status cuda_nvrtc_load(void);
ingot_status cuda_nvrtc_compile(const char *src, const char *what, void **cubin, size_t *len);
ingot_status cuda_ewfuse_source(const ir_model *m, const ir_node *n, char **out);
/* prev[0..n_prev): earlier steps; a record of the same source is copied, not compiled again. */
ingot_status cuda_ewfuse_prepare(const ir_model *m, int32_t node, engine_step_info *step, const engine_step_info *prev,
                                 int32_t n_prev);
typedef struct cuda_ewfuse cuda_ewfuse;
/* Check every generated step's record against its node (no CUDA call); INGOT_ERR_CORRUPT naming
 * the step. cuda_ewfuse_load checks first, then loads each cubin once. */
ingot_status cuda_ewfuse_validate(const engine_plan *plan);
ingot_status cuda_ewfuse_load(const engine_plan *plan, cuda_ewfuse **out);
void cuda_ewfuse_unload(cuda_ewfuse *f); /* NULL is a no-op */
/* The engine's loaded kernels, and node's id (cuda_backend.c). */
const cuda_ewfuse *cuda_exec_ewfuse(cuda_exec *x, const ir_node *node, int32_t *id);

#endif
