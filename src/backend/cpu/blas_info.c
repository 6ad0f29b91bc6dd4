/* Which kernels OpenBLAS chose. Its runtime CPU detection reads the CPU model; virtual machines
 * that hide the model make it fall back to SSE3 kernels ("Prescott") on CPUs with AVX2 or
 * AVX-512, several times slower (measured on the development VM: a 1024^3 sgemm at 40 GFLOP/s
 * against 338 with OPENBLAS_CORETYPE=SkylakeX). OpenBLAS picks its kernels when it loads, before
 * ingot runs, so ingot can only say so. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "backend/cpu/cpu.h"

const char *cpu_blas_warning(char *buf, size_t cap)
{
#if defined(__x86_64__) && defined(__GNUC__)
    const char *core = openblas_get_corename();
    static const char *const old[] = {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
                                      "coppermine", "northwood", "banias"};
    int generic = 0;
    for (size_t i = 0; core && i < sizeof old / sizeof old[0]; i++) generic |= !strcasecmp(core, old[i]);
    if (!generic) return NULL;
    const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX" : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    if (!want) return NULL;
    snprintf(buf, cap,
             "OpenBLAS runs its '%s' kernels on a CPU with %s (its CPU detection failed, as in some virtual "
             "machines): set OPENBLAS_CORETYPE=%s before starting the process for several times faster GEMM "
             "and convolution",
             core, !strcmp(want, "SkylakeX") ? "AVX-512" : "AVX2", want);
    return buf;
#else
    (void)buf;
    (void)cap;
    return NULL;
#endif
}
