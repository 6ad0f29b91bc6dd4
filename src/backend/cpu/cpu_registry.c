/* The list of CPU kernel families; each family file defines its table (see cpu.h). */
#include <string.h>

#include "backend/cpu/cpu.h"

extern const cpu_kernel_def cpu_kernels_ew[];
extern const cpu_kernel_def cpu_kernels_reduce[];
extern const cpu_kernel_def cpu_kernels_conv[];
extern const cpu_kernel_def cpu_kernels_linalg[];
extern const cpu_kernel_def cpu_kernels_shape[];
extern const cpu_kernel_def cpu_kernels_spatial[];
extern const cpu_kernel_def cpu_kernels_control[];
extern const cpu_kernel_def cpu_kernels_fused[];
extern const cpu_kernel_def cpu_kernels_convert[];
extern const cpu_kernel_def cpu_kernels_fused_ew[];

static const cpu_kernel_def *const families[] = {
    cpu_kernels_ew,
    cpu_kernels_reduce,
    cpu_kernels_conv,
    cpu_kernels_linalg,
    cpu_kernels_shape,
    cpu_kernels_spatial,
    cpu_kernels_control,
    cpu_kernels_fused,
    cpu_kernels_convert,
    cpu_kernels_fused_ew,
};

const cpu_kernel_def *cpu_kernel_lookup(const char *op)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const cpu_kernel_def *d = families[f]; d->op; d++)
            if (strcmp(d->op, op) == 0) return d;
    return NULL;
}
