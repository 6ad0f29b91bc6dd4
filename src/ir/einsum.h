/* Einsum equation parsing (infer_linalg_einsum.c), shared by shape inference and the CPU kernel. */
#ifndef INGOT_IR_EINSUM_H
#define INGOT_IR_EINSUM_H

#include "ir/ir.h"

/* Parse node's "equation" against inputs of the given ranks (n_in entries).
 * Every dimension of every operand gets a label id: letters 'a'..'z' are 0..25, 'A'..'Z' are
 * 26..51, and the broadcast dims that "..." stands for are 52..59, right-aligned across
 * operands (as numpy broadcasts them). labels: n_in * IR_MAX_RANK entries, operand i's dims at
 * [i * IR_MAX_RANK, i * IR_MAX_RANK + ranks[i]). out_labels: IR_MAX_RANK entries, the output's
 * labels; *out_rank their count. */
ingot_status ir_einsum_parse(const ir_node *node, int n_in, const int32_t *ranks, int32_t *labels,
                             int32_t *out_labels, int32_t *out_rank);

#endif
