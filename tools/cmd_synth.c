/* `ingot synth NAME -o ENGINE [--sparse]`: write a synthetic engine (see engine/synth.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "engine/synth.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot synth NAME -o ENGINE [--sparse] [--backend cpu|cuda]\n"
               "Writes a synthetic engine (CPU unless --backend cuda) with deterministic pseudo-random weights, in a\n"
               "streaming way (a few MiB of memory whatever the size). NAME is one of:\n");
    for (size_t i = 0; i < engine_synth_count(); i++) {
        const char *what, *name = engine_synth_name(i, &what);
        fprintf(f, "  %-9s %s\n", name, what);
    }
    fprintf(f, "  --sparse  weights are zero but for 4 KiB at each end: the file is mostly holes\n"
               "            (for load tests; checksums, offsets and sizes are those of the real\n"
               "            size)\n"
               "  --backend cuda  a CUDA engine for this machine's GPU (for GPU load tests)\n");
    return rc;
}

int cmd_synth(int argc, char **argv)
{
    const char *name = NULL, *out = NULL;
    int sparse = 0;
    int32_t backend = INGOT_BACKEND_CPU;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--sparse")) sparse = 1;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "cpu")) backend = INGOT_BACKEND_CPU;
            else if (!strcmp(b, "cuda")) backend = INGOT_BACKEND_CUDA;
            else return cli_fail("synth: --backend '%s' is not cpu or cuda", b);
        }
        else if (argv[i][0] == '-') return cli_fail("synth: unknown option '%s' (see ingot synth --help)", argv[i]);
        else if (!name) name = argv[i];
        else return cli_fail("synth: more than one name given");
    }
    if (!name) return cli_fail("synth: no name given (see ingot synth --help)");
    if (!out) return cli_fail("synth: no output given (-o ENGINE)");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ingot_status st = engine_synth_write_for(name, out, sparse, backend);
    if (st != INGOT_OK) return cli_fail_status(st, "synth");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct stat sb;
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("wrote %s: synthetic '%s'%s, %lld bytes in %.1f s\n", out, name, sparse ? " (sparse)" : "",
           stat(out, &sb) == 0 ? (long long)sb.st_size : -1LL, dt);
    return 0;
}
