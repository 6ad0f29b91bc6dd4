/* Plans of the shape family that shape inference (infer_shape.c) shares with the CPU kernels. */
#ifndef INGOT_IR_INFER_SHAPE_H
#define INGOT_IR_INFER_SHAPE_H

#include "ir/ir.h"

/* Slice's start, step and element count per axis of x (each x->rank entries) from the known
 * values of starts, ends, axes and steps (axes and steps may be NULL); count is -1 on an axis of
 * unknown size. */
ingot_status ir_shape_slice_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *starts,
                                 const ing_tensor *ends, const ing_tensor *axes,
                                 const ing_tensor *steps, int64_t *start, int64_t *step,
                                 int64_t *count);

/* Pad's pads before (pb) and after (pe) each axis of x (x->rank entries each) from the known
 * values of pads and axes (axes may be NULL). */
ingot_status ir_shape_pad_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *pads,
                               const ing_tensor *axes, int64_t *pb, int64_t *pe);

/* CenterCropPad as a constant-zero pad with pads that may be negative (crop). */
ingot_status ir_shape_ccp_plan(const ir_node *node, const ing_tensor *x, const ing_tensor *shape,
                               int64_t *pb, int64_t *pe);

/* Unique's grouping of X's slices along axis (axis < 0: of all elements, flattened).
 * *first[g]: the first item of output group g; *inverse[i]: the group of item i; *counts[g].
 * Groups are in ascending order when sorted, else in order of first occurrence.
 * The three arrays are allocated with ing_malloc; the caller frees them (NULL pointers may be
 * passed to skip an array). */
ingot_status ir_shape_unique_groups(const ir_node *node, const ing_tensor *x, int32_t axis,
                                    int sorted, int64_t *n_items, int64_t *n_unique,
                                    int64_t **first, int64_t **inverse, int64_t **counts);

#endif
