/* Tensor files for the CLI: ONNX TensorProto (.pb) and NumPy (.npy). */
#ifndef INGOT_TOOLS_PBIO_H
#define INGOT_TOOLS_PBIO_H

#include <stddef.h>

#include "ir/ir.h"

/* Read a tensor file (.pb or .npy by extension). t->data: ing_malloc'ed (ing_free). *name: the
 * tensor's name in a .pb (ing_malloc'ed, may be NULL); pass NULL to ignore. */
ingot_status tensor_file_read(const char *path, ing_tensor *t, size_t *nbytes, char **name);
/* Write a tensor as .npy (path ending in .npy) or TensorProto .pb (otherwise). */
ingot_status tensor_file_write(const char *path, const ing_tensor *t, const char *name);

#endif
