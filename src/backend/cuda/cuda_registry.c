/* The list of CUDA kernel families; each family file defines its table (see cuda.h). */
#include <string.h>

#include "backend/cuda/cuda.h"

extern const cuda_kernel_def cuda_kernels_ew[];
extern const cuda_kernel_def cuda_kernels_reduce[];
extern const cuda_kernel_def cuda_kernels_move[];
extern const cuda_kernel_def cuda_kernels_convert[];
extern const cuda_kernel_def cuda_kernels_ewfuse[];
extern const cuda_kernel_def cuda_kernels_attention[];

static const cuda_kernel_def *const families[] = {
    cuda_kernels_ew,
    cuda_kernels_reduce,
    cuda_kernels_move,
    cuda_kernels_conv,
    cuda_kernels_gemm,
    cuda_kernels_convert,
    cuda_kernels_ewfuse,
    cuda_kernels_attention,
};

const cuda_kernel_def *cuda_kernel_lookup(const char *op)
{
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const cuda_kernel_def *d = families[f]; d->op; d++)
            if (strcmp(d->op, op) == 0) return d;
    return NULL;
}

int cuda_model_uses_family(const ir_model *m, const cuda_kernel_def *family)
{
    for (int32_t i = 0; i < m->n_nodes; i++)
        for (const cuda_kernel_def *d = family; d->op; d++)
            if (!strcmp(m->nodes[i].op, d->op)) return 1;
    return 0;
}
