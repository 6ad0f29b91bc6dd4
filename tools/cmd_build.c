/* `ingot build MODEL.onnx -o ENGINE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot build MODEL.onnx -o ENGINE [--backend cpu|cuda] [--fp16|--bf16|--tf32]\n"
               "                  [--shapes NAME:DxDx...[,NAME:...]] [--disable-pass NAME]... [--tune] [--timing-cache FILE]\n"
               "                  [--verbose] [--min-shapes NAME:DxD... --opt-shapes NAME:DxD... --max-shapes NAME:DxD...]\n"
               "                  [--input-format NAME:fp16|bf16|uint8[:nhwc]]...\n"
               "                  [--input-norm NAME:mean=A,B,C:std=X,Y,Z[:scale=S]]...\n"
               "                  [--output-format NAME:fp16|bf16]...\n"
               "       ingot build --list-passes\n"
               "Optimizes an ONNX model for one backend and writes the engine file.\n"
               "  --shapes        fix the shape of inputs with symbolic dimensions\n"
               "  --min-shapes, --opt-shapes, --max-shapes\n"
               "                  the range of shapes an input may take at run time (an optimization\n"
               "                  profile; --opt-shapes defaults to the max); the activation memory is\n"
               "                  planned for the max shapes\n"
               "  --disable-pass  skip an optimization pass (see --list-passes)\n"
               "  --tf32          fp32 tensors; CUDA convolutions and matmuls may use TF32 tensor cores\n"
               "  --tune          CUDA: time each convolution's and matmul's candidate algorithms and\n"
               "                  keep the fastest in the engine (default: the libraries' heuristic)\n"
               "  --timing-cache  CUDA: reuse and extend the tactic choices kept in FILE (created if\n"
               "                  missing); the same cache gives the same engine bytes\n"
               "  --verbose       print what each pass did and, on CUDA, each tactic timed and chosen\n"
               "  --input-format  the engine takes input NAME in this dtype (nhwc: [N,H,W,C] for a\n"
               "                  [N,C,H,W] model input) and converts it on the backend\n"
               "  --input-norm    fold (x*S - mean[c]) / std[c] into that conversion (S default 1;\n"
               "                  1/255 is written scale=0.00392156862745098); without --input-format\n"
               "                  the input stays float32 and only the normalization is folded in\n"
               "  --output-format the engine writes output NAME in this dtype\n");
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

#define MAX_FORMATS 16
#define NAME_CAP 256

typedef struct in_fmt {
    ingot_input_format f;
    char name[NAME_CAP];
    float mean[64], std[64];
    size_t n_mean, n_std;
} in_fmt;

typedef struct fmt_args {
    in_fmt in[MAX_FORMATS];
    size_t n_in;
    ingot_input_format in_list[MAX_FORMATS];
    ingot_output_format out[MAX_FORMATS];
    char out_names[MAX_FORMATS][NAME_CAP];
    size_t n_out;
} fmt_args;

static int parse_dtype(const char *opt, const char *s, size_t len, int allow_u8, ingot_dtype *dt)
{
    if (len == 4 && !strncmp(s, "fp16", 4)) *dt = INGOT_DTYPE_F16;
    else if (len == 4 && !strncmp(s, "bf16", 4)) *dt = INGOT_DTYPE_BF16;
    else if (allow_u8 && len == 5 && !strncmp(s, "uint8", 5)) *dt = INGOT_DTYPE_U8;
    else return cli_fail("build: %s: format '%.*s', allowed %s", opt, (int)len, s, allow_u8 ? "fp16, bf16, uint8" : "fp16, bf16");
    return 0;
}

/* The entry for input name (created as plain f32, as-model), or NULL when full or too long. */
static in_fmt *input_entry(fmt_args *fa, const char *name, size_t len)
{
    for (size_t i = 0; i < fa->n_in; i++)
        if (strlen(fa->in[i].name) == len && !strncmp(fa->in[i].name, name, len)) return &fa->in[i];
    if (fa->n_in == MAX_FORMATS || len == 0 || len >= NAME_CAP) {
        cli_fail("build: input format '%.*s': %s", (int)len, name,
                 len == 0 ? "no input name" : len >= NAME_CAP ? "name too long" : "more than 16 inputs given formats");
        return NULL;
    }
    in_fmt *e = &fa->in[fa->n_in++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, len);
    e->f.dtype = INGOT_DTYPE_F32;
    return e;
}

/* NAME:fp16|bf16|uint8[:nhwc] */
static int parse_input_format(fmt_args *fa, const char *arg)
{
    size_t len = strlen(arg);
    int nhwc = len > 5 && !strcmp(arg + len - 5, ":nhwc");
    if (nhwc) len -= 5;
    const char *colon = NULL;
    for (size_t k = len; k-- > 0;)
        if (arg[k] == ':') {
            colon = arg + k;
            break;
        }
    if (!colon) return cli_fail("build: --input-format '%s': want NAME:fp16|bf16|uint8[:nhwc]", arg);
    in_fmt *e = input_entry(fa, arg, (size_t)(colon - arg));
    if (!e) return 1;
    if (parse_dtype("--input-format", colon + 1, len - (size_t)(colon + 1 - arg), 1, &e->f.dtype)) return 1;
    e->f.layout = nhwc ? INGOT_LAYOUT_NHWC : INGOT_LAYOUT_AS_MODEL;
    return 0;
}

static int parse_floats(const char *arg, const char *s, float *v, size_t cap, size_t *n)
{
    *n = 0;
    while (*s && *s != ':') {
        char *end;
        float f = strtof(s, &end);
        if (end == s || *n == cap || (*end && *end != ',' && *end != ':'))
            return cli_fail("build: --input-norm '%s': bad number list at '%s' (at most %zu numbers, comma-separated)",
                            arg, s, cap);
        v[(*n)++] = f;
        s = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* NAME:mean=a,b,c:std=x,y,z[:scale=s] (any of the three, in any order) */
static int parse_input_norm(fmt_args *fa, const char *arg)
{
    const char *keys[] = {":mean=", ":std=", ":scale="}, *first = NULL;
    for (int k = 0; k < 3; k++) {
        const char *p = strstr(arg, keys[k]);
        if (p && (!first || p < first)) first = p;
    }
    if (!first) return cli_fail("build: --input-norm '%s': want NAME:mean=A,B,C:std=X,Y,Z[:scale=S]", arg);
    in_fmt *e = input_entry(fa, arg, (size_t)(first - arg));
    if (!e) return 1;
    for (const char *s = first; *s == ':';) {
        s++;
        if (!strncmp(s, "mean=", 5)) {
            if (parse_floats(arg, s + 5, e->mean, 64, &e->n_mean)) return 1;
        } else if (!strncmp(s, "std=", 4)) {
            if (parse_floats(arg, s + 4, e->std, 64, &e->n_std)) return 1;
        } else if (!strncmp(s, "scale=", 6)) {
            char *end;
            e->f.scale = strtof(s + 6, &end);
            if (end == s + 6 || (*end && *end != ':'))
                return cli_fail("build: --input-norm '%s': scale '%s' is not a number", arg, s + 6);
        } else {
            return cli_fail("build: --input-norm '%s': unknown key at '%s' (mean=, std=, scale=)", arg, s);
        }
        s = strchr(s, ':');
        if (!s) break;
    }
    if (e->n_mean && e->n_std && e->n_mean != e->n_std)
        return cli_fail("build: --input-norm '%s': mean has %zu values, std %zu; want one per channel in both", arg,
                        e->n_mean, e->n_std);
    return 0;
}

/* NAME:fp16|bf16 */
static int parse_output_format(fmt_args *fa, const char *arg)
{
    const char *colon = strrchr(arg, ':');
    if (!colon) return cli_fail("build: --output-format '%s': want NAME:fp16|bf16", arg);
    size_t len = (size_t)(colon - arg);
    if (fa->n_out == MAX_FORMATS || len == 0 || len >= NAME_CAP)
        return cli_fail("build: --output-format '%s': %s", arg,
                        len == 0 ? "no output name" : len >= NAME_CAP ? "name too long" : "more than 16 given");
    ingot_output_format *f = &fa->out[fa->n_out];
    if (parse_dtype("--output-format", colon + 1, strlen(colon + 1), 0, &f->dtype)) return 1;
    memcpy(fa->out_names[fa->n_out], arg, len);
    fa->out_names[fa->n_out][len] = 0;
    f->name = fa->out_names[fa->n_out];
    fa->n_out++;
    return 0;
}

static void finish_formats(fmt_args *fa, ingot_build_opts *o)
{
    for (size_t i = 0; i < fa->n_in; i++) {
        in_fmt *e = &fa->in[i];
        e->f.name = e->name;
        e->f.n_channels = e->n_mean ? e->n_mean : e->n_std;
        e->f.mean = e->n_mean ? e->mean : NULL;
        e->f.std = e->n_std ? e->std : NULL;
        fa->in_list[i] = e->f;
    }
    o->input_formats = fa->n_in ? fa->in_list : NULL;
    o->n_input_formats = fa->n_in;
    o->output_formats = fa->n_out ? fa->out : NULL;
    o->n_output_formats = fa->n_out;
}

int cmd_build(int argc, char **argv)
{
    static fmt_args fa; /* large; one build per process */
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
        else if (!strcmp(a, "--tune")) o.tune = 1;
        else if (!strcmp(a, "--timing-cache") && i + 1 < argc) o.timing_cache = argv[++i];
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
        } else if (!strcmp(a, "--input-format") && i + 1 < argc) {
            if (parse_input_format(&fa, argv[++i])) return 1;
        } else if (!strcmp(a, "--input-norm") && i + 1 < argc) {
            if (parse_input_norm(&fa, argv[++i])) return 1;
        } else if (!strcmp(a, "--output-format") && i + 1 < argc) {
            if (parse_output_format(&fa, argv[++i])) return 1;
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
    finish_formats(&fa, &o);
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
