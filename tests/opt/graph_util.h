/* Small ONNX graphs for optimizer tests, written as ModelProto bytes with protobuf-c, and a
 * harness that builds them with chosen passes disabled and compares the outputs.
 *
 *   gu_graph *g = gu_new(17);
 *   gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){2, 3});
 *   gu_const_f32(g, "w", 1, (int64_t[]){3}, (float[]){1, 2, 3});   // an initializer
 *   gu_node(g, "Add", "add0", "x,w", "y");                          // comma-separated names
 *   gu_attr_int(g, "axis", 1);                                       // on the last node
 *   gu_output(g, "y");
 *   size_t len; uint8_t *bytes = gu_pack(g, &len);
 */
#ifndef INGOT_TESTS_GRAPH_UTIL_H
#define INGOT_TESTS_GRAPH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"
#include "ir/ir.h"

typedef struct gu_graph gu_graph;

gu_graph *gu_new(int64_t opset);
void gu_free(gu_graph *g);
void gu_input(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims);
void gu_output(gu_graph *g, const char *name);
void gu_const(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims, const void *data);
void gu_const_f32(gu_graph *g, const char *name, int rank, const int64_t *dims, const float *data);
/* A constant of dtype f32, f16 or bf16 from f32 values (n of them). */
void gu_const_as(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims, const float *v, int64_t n);
/* BERT's self-attention after its projections, as exported: values q3, k3, v3 [b,s,h·d] of dtype
 * dtype split into heads (Reshape [b,s,h,d], Transpose 0,2,1,3; K 0,2,3,1 for Kᵀ), MatMul, Div by
 * √d, Add `mask` (a value name; NULL: none), Softmax(-1) [with the exporter's NaN guard: Where(IsNaN,
 * 0)], MatMul V, heads merged (Transpose 0,2,1,3 to "ot", Reshape to "y" [b,s,h·d]). Adds the
 * constants split, merge, scale [and zero]; marks no output. */
void gu_bert_attention(gu_graph *g, int dtype, int64_t b, int64_t s, int64_t h, int64_t d, const char *mask,
                       int nan_guard);
/* A projection as exporters write it: out = MatMul(x, w<name>) + b<name>, the weight [k, n] and
 * bias [n] constants of dtype dtype from f32 values (the MatMul's output is "<name>_mm"). */
void gu_projection(gu_graph *g, int dtype, const char *x, const char *name, int64_t k, int64_t n, const float *w,
                   const float *bias, const char *out);
/* inputs/outputs: comma-separated names; an empty name between commas is an omitted input. */
void gu_node(gu_graph *g, const char *op, const char *name, const char *inputs, const char *outputs);
void gu_attr_int(gu_graph *g, const char *name, int64_t v);
void gu_attr_float(gu_graph *g, const char *name, float v);
void gu_attr_ints(gu_graph *g, const char *name, size_t n, const int64_t *v);
void gu_attr_string(gu_graph *g, const char *name, const char *v);
/* Serialized ModelProto; caller frees with free(). */
uint8_t *gu_pack(gu_graph *g, size_t *len);

/* Build the graph (passes in `disabled` off; NULL/0 for all on). *steps: nodes in the main
 * graph after optimization, counting subgraph nodes. Returns the engine or NULL (message
 * printed). */
ingot_engine *gu_build(gu_graph *g, const char *const *disabled, size_t n_disabled, int *steps);
/* As gu_build, but the passes see the GPU's kernels (CUDA builds: the CUDA kernel table; else
 * every op claimed): passes that ask has_kernel (fuse_elementwise, fuse_attention) rewrite as
 * they would for CUDA, passes for the CUDA target (layout_nhwc) run, and the CPU backend (the
 * oracle) runs the result; no GPU needed.
 * precision: ingot_precision. gu_build_file_as_gpu: the same from an ONNX file. */
ingot_engine *gu_build_as_gpu(gu_graph *g, int precision, const char *const *disabled, size_t n_disabled, int *steps);
ingot_engine *gu_build_file_as_gpu(const char *path, int precision, const char *const *disabled, size_t n_disabled,
                                   int *steps);
/* g built for CUDA (every pass on, `precision`) into *gpu and for the CPU oracle as for a GPU
 * (gu_build_as_gpu) into *cpu; g is freed. Returns INGOT_ERR_BACKEND, building nothing, when
 * there is no usable GPU (a SKIP line printed) or skip_gpu is set (an earlier case found none);
 * else the CUDA build's
 * status (a failed build or oracle prints its message; *cpu NULL when the oracle failed). */
ingot_status gu_build_cuda_pair(gu_graph *g, int precision, int skip_gpu, ingot_engine **gpu, ingot_engine **cpu);
/* The first main-graph node of op type `op`, or NULL. */
const ir_node *gu_find_op(const ingot_engine *e, const char *op);
/* 1 when the engine has a main-graph node of type `op` and every such node runs kernel `want`
 * ("cuda.Conv", "cpu-fallback.TopK" …); else 0 with the reason in why. */
int gu_steps_use(const ingot_engine *e, const char *op, const char *want, char *why, size_t cap);
/* How many main-graph nodes of op type `op` the engine has. */
int gu_count_op(const ingot_engine *e, const char *op);
/* How many main-graph nodes have INT attribute `attr` set non-zero (e.g. "channels_last"). */
int gu_count_attr(const ingot_engine *e, const char *attr);
/* Build for backend b through the public builder with the passes in `disabled` off. A CUDA
 * build without a GPU (INGOT_ERR_BACKEND) sets *no_backend and prints nothing; other failures
 * print the message. Returns the engine or NULL. */
ingot_engine *gu_build_for(gu_graph *g, ingot_backend b, const char *const *disabled, size_t n_disabled,
                           int *no_backend);
/* The same at a precision (INGOT_PRECISION_*); gu_build_for builds fp32. */
ingot_engine *gu_build_for_precision(gu_graph *g, ingot_backend b, int precision, const char *const *disabled,
                                     size_t n_disabled, int *no_backend);

/* Build g (freed) through the public builder with allocation n failing, for n = 1, 2, … until a
 * build succeeds: 1 when every failed build reported NOMEM (the sanitizer build checks that
 * nothing leaks) and one succeeded; else 0 with the offending status printed. *failures: the
 * builds that failed. */
int gu_alloc_failures(gu_graph *g, int *failures);
/* 1 when every input of e has a fixed shape (random inputs can be drawn for it). */
int gu_inputs_fixed(const ingot_engine *e);

/* Run a and b on the same random inputs (seeded) and compare every output with
 * |a - b| <= atol + rtol |b|. Returns 1 when equal, else prints the first difference. */
int gu_same_outputs(ingot_engine *a, ingot_engine *b, uint64_t seed, double rtol, double atol);

/* gu_same_outputs with choices: `runs` runs, each on fresh inputs drawn uniformly from [lo, hi)
 * (floats; integers in 0..3); with poison, a's outputs are bound to caller buffers filled with
 * 0xFF bytes (NaN) before every run, so an element a's kernel never writes cannot match. */
typedef struct gu_compare_opts {
    uint64_t seed;
    int runs;
    double lo, hi;
    int poison;
    double rtol, atol;
} gu_compare_opts;
int gu_compare(ingot_engine *a, ingot_engine *b, const gu_compare_opts *o);

#endif
