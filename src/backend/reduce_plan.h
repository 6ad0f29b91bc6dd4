/* A reduction's layout, shared by the CPU and CUDA backends so that both read the same axes the
 * same way: the input seen as alternating runs of kept and reduced dims (size-1 dims dropped,
 * adjacent dims of one kind merged), so that most reductions become one strided loop.
 * Plain C, no IR types: the CUDA kernels include it too. */
#ifndef INGOT_BACKEND_REDUCE_PLAN_H
#define INGOT_BACKEND_REDUCE_PLAN_H

#include <stdint.h>

#define ING_RED_MAX_RANK 8

typedef struct ing_red_plan {
    int nk, nr;
    int64_t kdim[ING_RED_MAX_RANK], kstr[ING_RED_MAX_RANK]; /* kept runs, outer to inner; input strides */
    int64_t rdim[ING_RED_MAX_RANK], rstr[ING_RED_MAX_RANK]; /* reduced runs, outer to inner */
    int64_t nout, nred; /* output elements; elements reduced into each */
} ing_red_plan;

#ifdef __cplusplus
extern "C" {
#endif

/* dims[rank] of the input (rank <= ING_RED_MAX_RANK); red[d] non-zero for a reduced axis. */
void ing_red_plan_build(int rank, const int64_t *dims, const int *red, ing_red_plan *p);

#ifdef __cplusplus
}
#endif

#endif
