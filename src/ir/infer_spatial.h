/* Helpers of the spatial family that shape inference (infer_spatial.c) shares with the CPU kernels. */
#ifndef INGOT_IR_INFER_SPATIAL_H
#define INGOT_IR_INFER_SPATIAL_H

#include "ir/ir.h"

/* Resolve Resize/Upsample's geometry from its inputs and attributes.
 * dims:  rank entries, the output shape; -1 where a needed value is not known yet.
 * scale: rank entries, the scale factor the coordinate transform uses (output/input as the
 *        ONNX reference computes it: the scales value, or sizes/input); 1 where not resized,
 *        0 where not known.
 * roi:   2*rank entries (starts then ends, in input-normalized coordinates); 0/1 by default.
 *        May be NULL. *roi_known (may be NULL) says whether roi values were read.
 * Returns INGOT_OK, or INGOT_ERR_MODEL/SHAPE/UNSUPPORTED for invalid inputs. */
ingot_status ir_spatial_resize_plan(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    int64_t *dims, double *scale, double *roi, int *roi_known);

/* Run NonMaxSuppression on known inputs. Writes up to cap selections (batch, class, box) as
 * int64 triples into sel (may be NULL with cap 0) and the total count into *n_sel.
 * Returns INGOT_OK, INGOT_ERR_SHAPE/UNSUPPORTED for bad inputs, INGOT_ERR_NOMEM. */
ingot_status ir_spatial_nms(const ir_node *node, const ing_tensor *const *in, int n_in,
                            int64_t *sel, int64_t cap, int64_t *n_sel);

#endif
