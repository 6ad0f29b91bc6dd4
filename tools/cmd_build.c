/* `ingot build MODEL.onnx -o ENGINE`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot build MODEL.onnx -o ENGINE [--backend cpu|cuda] [--fp16|--bf16|--tf32]\n"
               "                  [--shapes NAME:DxDx...[,NAME:...]] [--disable-pass NAME]... [--verbose]\n"
               "                  [--min-shapes NAME:DxD... --opt-shapes NAME:DxD... --max-shapes NAME:DxD...]\n"
               "       ingot build --list-passes\n"
               "Optimizes an ONNX model for one backend and writes the engine file.\n"
               "  --shapes        fix the shape of inputs with symbolic dimensions\n"
               "  --min-shapes, --opt-shapes, --max-shapes\n"
               "                  the range of shapes an input may take at run time (an optimization\n"
               "                  profile; --opt-shapes defaults to the max); the activation memory is\n"
               "                  planned for the max shapes\n"
               "  --disable-pass  skip an optimization pass (see --list-passes)\n"
               "  --verbose       print what each pass did\n");
    return rc;
}

static const ingot_input_shape *find_shape(const ingot_input_shape *l, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (!strcmp(l[k].name, name)) return &l[k];
    return NULL;
}

/* Pair --min-shapes with --max-shapes (and --opt-shapes, the max where not given) by name. */
static int make_profiles(const ingot_input_shape *mn, int n_min, const ingot_input_shape *op, int n_opt,
                         const ingot_input_shape *mx, int n_max, ingot_input_profile *out)
{
    if (n_min < 0 || n_max < 0) return cli_fail("build: --min-shapes and --max-shapes go together"), -1;
    if (n_min != n_max) return cli_fail("build: --min-shapes names %d inputs, --max-shapes %d", n_min, n_max), -1;
    for (int k = 0; k < n_min; k++) {
        const ingot_input_shape *hi = find_shape(mx, n_max, mn[k].name);
        const ingot_input_shape *mid = n_opt > 0 ? find_shape(op, n_opt, mn[k].name) : NULL;
        if (!hi) return cli_fail("build: input '%s' has --min-shapes but no --max-shapes", mn[k].name), -1;
        if (!mid) mid = hi;
        if (hi->rank != mn[k].rank || mid->rank != mn[k].rank)
            return cli_fail("build: input '%s': min, opt and max shapes have ranks %d, %d, %d", mn[k].name, mn[k].rank,
                            mid->rank, hi->rank), -1;
        memset(&out[k], 0, sizeof out[k]);
        out[k].name = mn[k].name;
        out[k].rank = mn[k].rank;
        for (int d = 0; d < mn[k].rank; d++) {
            out[k].min[d] = mn[k].dims[d];
            out[k].opt[d] = mid->dims[d];
            out[k].max[d] = hi->dims[d];
        }
    }
    for (int k = 0; k < n_opt; k++)
        if (!find_shape(mn, n_min, op[k].name))
            return cli_fail("build: input '%s' has --opt-shapes but no --min-shapes", op[k].name), -1;
    return n_min;
}

int cmd_build(int argc, char **argv)
{
    const char *model = NULL, *out = NULL;
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    ingot_input_shape shapes[64], pmin[64], popt[64], pmax[64];
    int n_min = -1, n_opt = -1, n_max = -1;
    ingot_input_profile profiles[64];
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
        else if (!strcmp(a, "--shapes") && i + 1 < argc) {
            int n = cli_parse_shapes(argv[++i], shapes, 64);
            if (n < 0) return 1;
            o.shapes = shapes;
            o.n_shapes = (size_t)n;
        } else if ((!strcmp(a, "--min-shapes") || !strcmp(a, "--opt-shapes") || !strcmp(a, "--max-shapes")) &&
                   i + 1 < argc) {
            int n = cli_parse_shapes(argv[++i], a[2] == 'm' && a[3] == 'i' ? pmin : a[2] == 'o' ? popt : pmax, 64);
            if (n < 0) return 1;
            *(a[2] == 'm' && a[3] == 'i' ? &n_min : a[2] == 'o' ? &n_opt : &n_max) = n;
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
    if (n_min >= 0 || n_max >= 0 || n_opt >= 0) {
        int n = make_profiles(pmin, n_min, popt, n_opt, pmax, n_max, profiles);
        if (n < 0) return 1;
        o.profiles = profiles;
        o.n_profiles = (size_t)n;
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
