#include "backend/reduce_plan.h"

#include <string.h>

void ing_red_plan_build(int rank, const int64_t *dims, const int *red, ing_red_plan *p)
{
    int kind[ING_RED_MAX_RANK];
    int64_t dim[ING_RED_MAX_RANK], str[ING_RED_MAX_RANK];
    int nruns = 0;
    int64_t stride = 1;
    memset(p, 0, sizeof *p);
    p->nout = p->nred = 1;
    for (int d = rank - 1; d >= 0; d--) {
        int64_t n = dims[d];
        if (red[d]) p->nred *= n;
        else p->nout *= n;
        if (n != 1) {
            if (nruns > 0 && kind[nruns - 1] == red[d]) {
                dim[nruns - 1] *= n;
            } else {
                kind[nruns] = red[d];
                dim[nruns] = n;
                str[nruns] = stride;
                nruns++;
            }
        }
        stride *= n;
    }
    for (int r = nruns - 1; r >= 0; r--) { /* runs were built inner to outer */
        if (kind[r]) {
            p->rdim[p->nr] = dim[r];
            p->rstr[p->nr++] = str[r];
        } else {
            p->kdim[p->nk] = dim[r];
            p->kstr[p->nk++] = str[r];
        }
    }
}
