/* TensorProto -> dtype, shape and bytes (little-endian, row-major), external data included. */
#ifndef INGOT_ONNX_TENSOR_H
#define INGOT_ONNX_TENSOR_H

#include <stddef.h>

#include "ir/ir.h"
#include "onnx.pb-c.h"

/* Decode tp. base_dir: folder for external data (NULL: external data is an error).
 * what: names the tensor in messages ("initializer 'w'").
 * On success t->dtype/rank/dims are set, t->data is a new ing_malloc'ed buffer of *nbytes
 * (caller frees with ing_free). */
ingot_status onnx_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                ing_tensor *t, size_t *nbytes);

/* Read a whole file into memory (ing_malloc'ed). */
ingot_status onnx_read_file(const char *path, void **data, size_t *size);

#endif
