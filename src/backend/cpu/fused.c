#include "backend/cpu/cpu.h"

const cpu_kernel_def cpu_kernels_fused[] = {
    {NULL, NULL},
};
