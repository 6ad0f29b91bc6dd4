/* Operator definitions: shape inference, one entry per ONNX op type.
 *
 * Each op family file src/ir/infer_<family>.c defines a table
 *     const ir_op_def ir_ops_<family>[] = { {"Relu", infer_unary}, ..., {NULL, NULL} };
 * and op_registry.c lists the family tables.
 *
 * Canonical form (the importer guarantees it): where a later opset moved an attribute to an
 * input (Slice starts/ends/axes/steps, Reshape shape, Split split, Squeeze/Unsqueeze axes,
 * Reduce* axes, Clip min/max, Pad pads/constant_value, TopK k, Dropout ratio, Upsample scales →
 * Resize-like scales input, Resize opset 10), the node carries the input form with a constant
 * value, whatever the model's opset. Other opset differences (e.g. Softmax before opset 13
 * flattening to 2-D) are the op's business: read node->opset.
 */
#ifndef INGOT_IR_OP_H
#define INGOT_IR_OP_H

#include "core/status.h"
#include "ir/ir.h"

/* Infer the outputs' dtype and shape from the inputs.
 * in[i] is NULL for an omitted optional input (and for i >= n_in). in[i]->data is NULL when the
 * value is not known (build time); at run time it is always set, so a data-dependent shape
 * (Reshape's shape input, NonZero, …) is computed exactly then. When a needed value is not
 * known, set the affected dims to -1 (or rank to -1) and return INGOT_OK.
 * out[j] is NULL for an omitted optional output; otherwise write dtype, rank and dims (data
 * must not be touched). Return INGOT_ERR_SHAPE / INGOT_ERR_MODEL / INGOT_ERR_UNSUPPORTED with
 * a message naming the node (use IR_NODE_FAIL). */
typedef ingot_status (*ir_infer_fn)(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out);

typedef struct ir_op_def {
    const char *op;
    ir_infer_fn infer;
} ir_op_def;

/* The definition of op type `op` (default domain), or NULL. */
const ir_op_def *ir_op_lookup(const char *op);

#define IR_NODE_FAIL(node, st, fmt, ...)                                                          \
    ingot_fail((st), "node '%s' (%s): " fmt, (node)->name, (node)->op, ##__VA_ARGS__)

/* Shared helpers for shape inference. */

/* Numpy-style multidirectional broadcast of a and b's shapes into out (dtype untouched).
 * Unknown dims (-1) propagate. INGOT_ERR_SHAPE when they cannot broadcast. */
ingot_status ir_broadcast_shape(const ir_node *node, const ing_tensor *a, const ing_tensor *b,
                                ing_tensor *out);
/* Normalize a possibly negative axis against rank; INGOT_ERR_MODEL when out of range. */
ingot_status ir_norm_axis(const ir_node *node, int64_t axis, int32_t rank, int32_t *out);
/* Copy dtype and shape of src into dst. */
void ir_copy_desc(ing_tensor *dst, const ing_tensor *src);
/* Read element i of a tensor of any integer dtype as int64 (for shape-like inputs). */
int64_t ir_get_i64(const ing_tensor *t, int64_t i);

/* InputConvert (domain "ingot", infer_convert.c): the most channels a per-channel
 * normalization may have; the CUDA kernel takes its coefficients as launch arguments. */
#define IR_CONVERT_MAX_CHANNELS 64
/* Its per-channel coefficients, so that every backend computes y = fmaf(x, a[c], b[c]) with
 * the same a and b: a[c] = scale / std[c], b[c] = -mean[c] / std[c]; *channels receives the
 * count (1 without mean/std). a, b: IR_CONVERT_MAX_CHANNELS entries. */
void ir_convert_coeffs(const ir_node *node, float *a, float *b, int64_t *channels);

#endif
