/* Helpers of the elementwise family that shape inference (infer_ew.c) shares with the kernels. */
#ifndef INGOT_IR_INFER_EW_H
#define INGOT_IR_INFER_EW_H

#include "ir/ir.h"

/* Before opset 7, Add/Sub/Mul/Div/Pow and the logical/comparison ops broadcast only with
 * attribute broadcast=1, and then align B with A starting at attribute `axis` rather than at the
 * right. Appending ones to B's shape turns that into numpy broadcasting. Used by the kernels too
 * (ew.c), so the two always agree.
 * view: a copy of *b (data shared) with those ones appended to its dims. */
ingot_status ir_ew_legacy_bcast(const ir_node *node, const ing_tensor *a, const ing_tensor *b,
                                ing_tensor *view);

#endif
