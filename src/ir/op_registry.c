/* The list of op families; each family file defines its table (see op.h). */
#include <string.h>

#include "ir/op.h"

extern const ir_op_def ir_ops_ew[];
extern const ir_op_def ir_ops_reduce[];
extern const ir_op_def ir_ops_conv[];
extern const ir_op_def ir_ops_linalg[];
extern const ir_op_def ir_ops_shape[];
extern const ir_op_def ir_ops_spatial[];
extern const ir_op_def ir_ops_control[];
extern const ir_op_def ir_ops_fused[];
extern const ir_op_def ir_ops_convert[];
extern const ir_op_def ir_ops_fused_ew[];

static const ir_op_def *const families[] = {
    ir_ops_ew,
    ir_ops_reduce,
    ir_ops_conv,
    ir_ops_linalg,
    ir_ops_shape,
    ir_ops_spatial,
    ir_ops_control,
    ir_ops_fused,
    ir_ops_convert,
    ir_ops_fused_ew,
};

const ir_op_def *ir_op_lookup(const char *op)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const ir_op_def *d = families[f]; d->op; d++)
            if (strcmp(d->op, op) == 0) return d;
    return NULL;
}
