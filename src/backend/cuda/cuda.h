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
#include "engine/plan.h"
#include "ir/ir.h"
#include "ir/op.h"

typedef struct cuda_exec cuda_exec;

typedef ingot_status (*cuda_kernel_fn)(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                                       int n_in, ing_tensor *const *out, int n_out);

typedef struct cuda_kernel_def {
    const char *op;
    cuda_kernel_fn run;
    /* optional: can the kernel run this node with these input dtypes/shapes? NULL = always.
     * Return 0 to make the executor use the CPU fallback for this node. */
    int (*accepts)(const ir_node *node, const ing_tensor *const *in, int n_in);
} cuda_kernel_def;

const cuda_kernel_def *cuda_kernel_lookup(const char *op);

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
