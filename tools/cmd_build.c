/* `ingot build MODEL.onnx -o ENGINE`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot build MODEL.onnx -o ENGINE [--backend cpu|cuda] [--fp16|--bf16|--tf32]\n"
               "                  [--shapes NAME:DxDx...[,NAME:...]] [--disable-pass NAME]... [--timing-cache FILE]\n"
               "                  [--verbose]\n"
               "       ingot build --list-passes\n"
               "Optimizes an ONNX model for one backend and writes the engine file.\n"
               "  --shapes        fix the shape of inputs with symbolic dimensions\n"
               "  --disable-pass  skip an optimization pass (see --list-passes)\n"
               "  --tf32          fp32 tensors; CUDA convolutions and matmuls may use TF32 tensor cores\n"
               "  --timing-cache  CUDA: reuse and extend the tactic choices kept in FILE (created if\n"
               "                  missing); the same cache gives the same engine bytes\n"
               "  --verbose       print what each pass did and, on CUDA, each tactic timed and chosen\n");
    return rc;
}

int cmd_build(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    ingot_input_shape shapes[64];
    const char *disabled[64];
    size_t n_disabled = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "cpu")) o.backend = INGOT_BACKEND_CPU;
            else if (!strcmp(b, "cuda")) o.backend = INGOT_BACKEND_CUDA;
            else return cli_fail("build: --backend '%s' is not a backend (cpu, cuda)", b);
        } else if (!strcmp(a, "--fp16")) o.precision = INGOT_PRECISION_FP16;
        else if (!strcmp(a, "--bf16")) o.precision = INGOT_PRECISION_BF16;
        else if (!strcmp(a, "--tf32")) o.precision = INGOT_PRECISION_TF32;
        else if (!strcmp(a, "--timing-cache") && i + 1 < argc) o.timing_cache = argv[++i];
        else if (!strcmp(a, "--shapes") && i + 1 < argc) {
            int n = cli_parse_shapes(argv[++i], shapes, 64);
            if (n < 0) return 1;
            o.shapes = shapes;
            o.n_shapes = (size_t)n;
        } else if (!strcmp(a, "--disable-pass") && i + 1 < argc) {
            if (n_disabled == 64) return cli_fail("build: more than 64 --disable-pass");
            disabled[n_disabled++] = argv[++i];
            o.disabled_passes = disabled;
            o.n_disabled_passes = n_disabled;
        } else if (!strcmp(a, "--list-passes")) {
            for (size_t k = 0; k < ingot_pass_count(); k++) {
                const char *what;
                const char *name = ingot_pass_name(k, &what);
                printf("%-24s %s\n", name, what);
            }
            return 0;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) o.verbose = 1;
        else if (a[0] == '-') return cli_fail("build: unknown option '%s' (see ingot build --help)", a);
        else if (!model) model = a;
        else return cli_fail("build: more than one model given ('%s', '%s')", model, a);
    }
    if (!model || !out) {
        return cli_fail("build: %s", !model ? "no model given" : "no output given (-o ENGINE)");
    }
    ingot_engine *e;
    ingot_status st = ingot_builder_build_file(model, &o, &e);
    if (st != INGOT_OK) return cli_fail_status(st, "build");
    st = ingot_engine_save(e, out);
    if (st != INGOT_OK) {
        ingot_engine_destroy(e);
        return cli_fail_status(st, "build: saving the engine");
    }
    printf("built %s -> %s (%zu inputs, %zu outputs, %zu bytes of weights)\n", model, out,
           ingot_engine_num_inputs(e), ingot_engine_num_outputs(e), ingot_engine_weight_bytes(e));
    ingot_engine_destroy(e);
    return 0;
}
