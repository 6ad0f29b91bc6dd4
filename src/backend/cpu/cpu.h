/* The CPU backend's kernel interface.
 *
 * Each op family file src/backend/cpu/<family>.c defines a table
 *     const cpu_kernel_def cpu_kernels_<family>[] = { {"Relu", k_relu}, ..., {NULL, NULL} };
 * listed in cpu_registry.c.
 *
 * The executor calls the op's ir infer function on the actual inputs first, allocates every
 * output with the inferred dtype and shape, then calls the kernel. Outputs are contiguous and
 * hold garbage (tests poison them): a kernel writes every element.
 */
#ifndef INGOT_BACKEND_CPU_CPU_H
#define INGOT_BACKEND_CPU_CPU_H

#include "core/dtype.h"
#include "core/status.h"
#include "ir/ir.h"
#include "ir/op.h"

typedef struct cpu_exec cpu_exec; /* the executor; opaque to kernels */

/* in[i]: NULL for an omitted optional input; otherwise data is set and every dim known.
 * out[j]: NULL for an omitted optional output; otherwise allocated to the inferred shape.
 * A kernel that fails returns a status with IR_NODE_FAIL. */
typedef ingot_status (*cpu_kernel_fn)(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                      int n_in, ing_tensor *const *out, int n_out);

typedef struct cpu_kernel_def {
    const char *op;
    cpu_kernel_fn run;
} cpu_kernel_def;

const cpu_kernel_def *cpu_kernel_lookup(const char *op);

/* Scratch memory for a kernel, valid until the kernel returns; reused across calls, so a steady
 * state allocates nothing. slot 0..3 give independent buffers. NULL with a status message on
 * failure (return INGOT_ERR_NOMEM). */
void *cpu_scratch(cpu_exec *x, int slot, size_t bytes);

/* Run a subgraph body (If/Loop/Scan). The caller first writes the body's inputs with
 * cpu_set_value; afterwards cpu_get_value gives the body's outputs (borrowed until the next
 * run of that body). */
ingot_status cpu_run_body(cpu_exec *x, int32_t body);
ingot_status cpu_set_value(cpu_exec *x, int32_t value, const ing_tensor *t); /* copies */
const ing_tensor *cpu_get_value(cpu_exec *x, int32_t value);
const ir_model *cpu_model(cpu_exec *x);

/* Control-flow kernels (If, Loop, Scan) get out[] unallocated: they set each output's shape
 * by calling this, which allocates out value `value` and returns its tensor. */
ing_tensor *cpu_alloc_value(cpu_exec *x, int32_t value, int32_t dtype, int32_t rank,
                            const int64_t *dims);
/* Ops whose kernels allocate their own outputs (control flow). */
int cpu_op_allocates_outputs(const char *op);

/* For other backends' fallback: a CPU executor over a plan, and one node's kernel run on
 * caller-provided host tensors (outputs already allocated to their inferred shapes; control-flow
 * ops instead allocate in the executor's own slots, read them back with cpu_get_value). */
typedef struct engine_plan engine_plan;
ingot_status cpu_exec_new(const engine_plan *plan, cpu_exec **out);
void cpu_exec_free(cpu_exec *x);
ingot_status cpu_run_kernel(cpu_exec *x, const ir_node *n, const ing_tensor *const *in, ing_tensor *const *out);

/* Build-time evaluation (constant folding): an executor with no plan, and one node run on its
 * constant inputs; cpu_eval_node hands over each output's buffer (free with ing_free_aligned). */
ingot_status cpu_eval_begin(const ir_model *m, cpu_exec **out);
ingot_status cpu_eval_node(cpu_exec *x, int32_t node, ing_tensor *outs);
void cpu_eval_end(cpu_exec *x);

/* channels_last (conv_layout.c) on Conv, FusedConv, MaxPool, AveragePool: run the NCHW kernel
 * `nchw` on transposed copies of the inputs and move its output back. */
ingot_status cpu_channels_last(cpu_kernel_fn nchw, cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out);
/* Does the node ask for channels_last? */
#define CPU_CHANNELS_LAST(node) (ir_attr_int((node), "channels_last", 0) != 0)

/* A message when OpenBLAS runs generic kernels on a CPU that has AVX2/AVX-512 (blas_info.c),
 * else NULL. buf receives the message. */
const char *cpu_blas_warning(char *buf, size_t cap);

/* Testing: fill every newly allocated output with 0xA5 bytes before its kernel runs, so a
 * kernel that leaves elements unwritten is caught. Process-wide. */
void cpu_set_poison(int on);

#endif
