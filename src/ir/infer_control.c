/* If, Loop and Scan: their shapes come from their bodies, so build-time inference handles them
 * in ir/infer.c and the CPU kernels allocate their own outputs. These entries make the ops
 * known; the infer function reports only what needs no body. */
#include "ir/op.h"

static ingot_status infer_from_body(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    for (int j = 0; j < n_out; j++)
        if (out[j]) out[j]->rank = -1;
    return INGOT_OK;
}

const ir_op_def ir_ops_control[] = {
    {"If", infer_from_body},
    {"Loop", infer_from_body},
    {"Scan", infer_from_body},
    {NULL, NULL},
};
