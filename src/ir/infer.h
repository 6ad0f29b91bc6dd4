/* Build-time shape inference over a whole model. */
#ifndef INGOT_IR_INFER_H
#define INGOT_IR_INFER_H

#include "ir/ir.h"

/* Infer dtype and shape of every activation from the inputs' declared shapes and the
 * constants, through subgraph bodies too. Unknown dims stay -1. Fails with the node's name when
 * an op's rules are violated by what is known. */
ingot_status ir_infer_model(ir_model *m);

#endif
