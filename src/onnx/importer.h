/* ONNX model -> IR (see importer.c). */
#ifndef INGOT_ONNX_IMPORTER_H
#define INGOT_ONNX_IMPORTER_H

#include "ir/ir.h"
#include "ir/op.h"

/* Parse a serialized ModelProto. base_dir: folder for external data (NULL: not allowed).
 * *out: a new model (ir_model_destroy). */
ingot_status onnx_import_buffer(const void *data, size_t size, const char *base_dir, ir_model **out);
/* Read and parse an .onnx file; external data relative to its folder. */
ingot_status onnx_import_file(const char *path, ir_model **out);

#endif
