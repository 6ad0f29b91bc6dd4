/* C launchers for the CUDA kernels (kernels/<family>.cu). Each enqueues on `stream` (a
 * cudaStream_t) and returns 0, or a cudaError_t value when the launch itself failed.
 * Pointers are device pointers. This header is included from C and from CUDA. */
#ifndef INGOT_BACKEND_CUDA_KERNELS_LAUNCH_H
#define INGOT_BACKEND_CUDA_KERNELS_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Per-family launchers are declared in kernels/<family>.h. */

#ifdef __cplusplus
}
#endif

#endif
