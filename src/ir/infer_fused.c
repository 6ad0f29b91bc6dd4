#include "ir/op.h"

const ir_op_def ir_ops_fused[] = {
    {NULL, NULL},
};
