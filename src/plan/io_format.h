/* Build-time I/O formats (ingot_build_opts.input_formats / output_formats), applied to the
 * optimized graph. */
#ifndef INGOT_PLAN_IO_FORMAT_H
#define INGOT_PLAN_IO_FORMAT_H

#include "ir/ir.h"

/* Retype the graph inputs and outputs named in o and insert the conversions (InputConvert,
 * Cast) on the backend side, folding the Casts that assign_precision put at the boundary.
 * Run after the optimization passes; the caller re-infers shapes afterwards.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG, INGOT_ERR_NOT_FOUND, INGOT_ERR_UNSUPPORTED,
 * INGOT_ERR_SHAPE, INGOT_ERR_NOMEM. */
ingot_status io_format_apply(ir_model *m, const ingot_build_opts *o);

#endif
