/* `ingot run ENGINE`: inputs from files or random, outputs printed and optionally written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "pbio.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot run ENGINE [--input NAME=FILE.pb|FILE.npy]... [--shapes NAME:DxD...]\n"
               "                [--output DIR] [--iterations N] [--load-mode auto|read|mmap|stream]\n"
               "                [--seed S] [--load-stats] [--verify]\n"
               "Runs the engine once (or N times) and prints each output's shape and first values.\n"
               "Inputs not given are filled with random values (floats in [-1, 1), uint8 in [0, 255],\n"
               "integers in [0, 10)); bf16 outputs are written to .npy as f32 (exact; numpy has no bf16).\n"
               "  --output DIR   write each output as DIR/NAME.npy\n"
               "  --load-mode    stream: read the file through a FILE* reader in bounded memory\n"
               "  --load-stats   print the load's time, bytes, throughput and peak RSS increase\n"
               "  --load-only    load the engine (and print --load-stats), do not run it\n"
               "  --verify       check every weight's checksum while loading\n");
    return rc;
}

static void print_values(const ing_tensor *t)
{
    int64_t n = ing_numel(t), show = n < 8 ? n : 8;
    printf("  [");
    for (int64_t i = 0; i < show; i++) {
        if (ing_dtype_is_float(t->dtype)) printf("%s%.6g", i ? ", " : "", ing_load_f64(t->dtype, t->data, (size_t)i));
        else printf("%s%lld", i ? ", " : "", (long long)ing_load_i64(t->dtype, t->data, (size_t)i));
    }
    printf("%s]\n", n > show ? ", ..." : "");
}

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *outdir = NULL;
    const char *in_names[64], *in_files[64];
    int n_inputs = 0, iterations = 1, n_shapes = 0, load_stats = 0, load_only = 0;
    ingot_input_shape shapes[64];
    ingot_load_opts lo;
    ingot_load_opts_init(&lo);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
        if (!strcmp(a, "--input") && i + 1 < argc) {
            char *spec = argv[++i], *eq = strchr(spec, '=');
            if (!eq) return cli_fail("run: --input '%s' is not NAME=FILE", spec);
            if (n_inputs == 64) return cli_fail("run: more than 64 --input");
            *eq = '\0';
            in_names[n_inputs] = spec;
            in_files[n_inputs++] = eq + 1;
        } else if (!strcmp(a, "--shapes") && i + 1 < argc) {
            if ((n_shapes = cli_parse_shapes(argv[++i], shapes, 64)) < 0) return 1;
        } else if (!strcmp(a, "--output") && i + 1 < argc) outdir = argv[++i];
        else if (!strcmp(a, "--iterations") && i + 1 < argc) {
            iterations = atoi(argv[++i]);
            if (iterations < 1) return cli_fail("run: --iterations must be >= 1 (got '%s')", argv[i]);
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            cli_seed(strtoull(argv[++i], NULL, 10));
        } else if (!strcmp(a, "--load-mode") && i + 1 < argc) {
            int m = cli_parse_load_mode(argv[++i]);
            if (m < 0) return cli_fail("run: --load-mode '%s' is not auto, read, mmap or stream", argv[i]);
            lo.mode = (ingot_load_mode)m;
        } else if (!strcmp(a, "--load-stats")) {
            load_stats = 1;
        } else if (!strcmp(a, "--verify")) {
            lo.verify_checksums = 1;
        } else if (!strcmp(a, "--load-only")) {
            load_only = load_stats = 1;
        } else if (a[0] == '-') return cli_fail("run: unknown option '%s' (see ingot run --help)", a);
        else if (!path) path = a;
        else return cli_fail("run: more than one engine given");
    }
    if (!path) {
        return cli_fail("run: no engine given");
    }
    ingot_engine *e = NULL;
    ingot_context *c = NULL;
    ingot_status st = cli_load_engine(path, &lo, &e);
    if (st != INGOT_OK) return cli_fail_status(st, "run");
    if (load_stats) {
        static const char *modes[] = {"auto", "read", "mmap", "stream"};
        ingot_load_stats ls;
        ingot_engine_get_load_stats(e, &ls);
        printf("loaded %s (%s): %.3f s, %llu bytes read (%.2f GB/s), staging %llu bytes, "
               "peak RSS +%.1f MiB (VmHWM %.1f -> %.1f MiB, process-wide), device weights %.1f MiB\n",
               path, (unsigned)ls.mode < 4 ? modes[ls.mode] : "?", ls.seconds,
               (unsigned long long)ls.bytes_read, ls.throughput / 1e9,
               (unsigned long long)ls.peak_staging_bytes, ls.rss_hwm_delta / 1048576.0,
               ls.rss_hwm_before / 1048576.0, ls.rss_hwm_after / 1048576.0, ls.device_bytes / 1048576.0);
    }
    if (load_only) {
        ingot_engine_destroy(e);
        return 0;
    }
    int rc = 1;
    size_t n_in = ingot_engine_num_inputs(e), n_out = ingot_engine_num_outputs(e);
    ing_tensor ins[64];
    memset(ins, 0, sizeof ins);
    if (n_in > 64) {
        cli_fail("run: the engine has %zu inputs, at most 64 supported here", n_in);
        goto done;
    }
    for (int k = 0; k < n_inputs; k++) {
        int found = 0;
        for (size_t i = 0; i < n_in; i++) {
            ingot_tensor_info info;
            ingot_engine_get_input(e, i, &info);
            found |= !strcmp(info.name, in_names[k]);
        }
        if (!found) {
            cli_fail("run: --input names '%s', which is not an input of the engine", in_names[k]);
            goto done;
        }
    }
    if ((st = ingot_context_create(e, &c)) != INGOT_OK) {
        cli_fail_status(st, "run");
        goto done;
    }
    for (size_t i = 0; i < n_in; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(e, i, &info);
        const char *file = NULL;
        for (int k = 0; k < n_inputs; k++)
            if (!strcmp(in_names[k], info.name)) file = in_files[k];
        size_t nb;
        ing_tensor *t = &ins[i];
        if (file) {
            if ((st = tensor_file_read(file, t, &nb, NULL)) != INGOT_OK) {
                cli_fail_status(st, "run");
                goto done;
            }
            if (t->dtype != (int)info.dtype) {
                cli_fail("run: input '%s' is %s in '%s', the engine wants %s", info.name,
                         ingot_dtype_name((ingot_dtype)t->dtype), file, ingot_dtype_name(info.dtype));
                goto done;
            }
        } else {
            t->dtype = info.dtype;
            t->rank = info.rank;
            for (int d = 0; d < info.rank; d++) t->dims[d] = info.dims[d];
            for (int s = 0; s < n_shapes; s++)
                if (!strcmp(shapes[s].name, info.name)) {
                    t->rank = shapes[s].rank;
                    for (int d = 0; d < t->rank; d++) t->dims[d] = shapes[s].dims[d];
                }
            if (!ing_shape_known(t)) {
                cli_fail("run: input '%s' has symbolic dimensions: give its shape with --shapes %s:DxD... or --input",
                         info.name, info.name);
                goto done;
            }
            nb = ing_nbytes(t);
            t->data = ing_malloc(nb ? nb : 1);
            if (!t->data) {
                cli_fail("run: out of memory for input '%s'", info.name);
                goto done;
            }
            cli_fill_random(t);
        }
        if ((st = ingot_context_set_input_shape(c, info.name, t->rank, t->dims)) != INGOT_OK ||
            (st = ingot_context_bind_input(c, info.name, t->data ? t->data : (void *)"", nb)) != INGOT_OK) {
            cli_fail_status(st, "run");
            goto done;
        }
    }
    double *times = malloc((size_t)iterations * 4 * sizeof(double));
    if (!times) goto done;
    double *h2d = times + iterations, *comp = h2d + iterations, *d2h = comp + iterations;
    ingot_context_set_timing(c, 1);
    int graphs = 0;
    for (int it = 0; it < iterations; it++) {
        double t0 = cli_now_s();
        st = ingot_context_run(c, NULL);
        times[it] = cli_now_s() - t0;
        if (st != INGOT_OK) {
            free(times);
            cli_fail_status(st, "run");
            goto done;
        }
        ingot_run_timing rt = {0};
        ingot_context_get_timing(c, &rt);
        h2d[it] = rt.h2d_ms, comp[it] = rt.compute_ms, d2h[it] = rt.d2h_ms;
        graphs += rt.cuda_graph != 0;
    }
    /* medians over the runs after the first (warm-up: allocation, graph capture) */
    int skip = iterations > 2 ? 2 : 0, cnt = iterations - skip;
    double *arrs[4] = {times + skip, h2d + skip, comp + skip, d2h + skip};
    for (int k = 0; k < 4; k++) qsort(arrs[k], (size_t)cnt, sizeof(double), cli_cmp_double);
    printf("ran %s: %d iteration%s, median %.3f ms (host wall)\n", path, iterations, iterations > 1 ? "s" : "",
           arrs[0][cnt / 2] * 1e3);
    if (ingot_engine_get_backend(e) == INGOT_BACKEND_CUDA)
        printf("gpu median over %d runs: h2d %.4f ms, compute %.4f ms, d2h %.4f ms; %d runs replayed a CUDA graph\n",
               cnt, arrs[1][cnt / 2], arrs[2][cnt / 2], arrs[3][cnt / 2], graphs);
    free(times);
    if (outdir && mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        cli_fail("run: cannot create '%s': %s", outdir, strerror(errno));
        goto done;
    }
    for (size_t j = 0; j < n_out; j++) {
        ingot_tensor_info info, oi;
        ingot_engine_get_output(e, j, &info);
        const void *data;
        size_t size;
        if ((st = ingot_context_get_output(c, info.name, &oi, &data, &size)) != INGOT_OK) {
            cli_fail_status(st, "run");
            goto done;
        }
        ing_tensor t = {.dtype = oi.dtype, .rank = oi.rank, .data = (void *)data};
        for (int d = 0; d < oi.rank; d++) t.dims[d] = oi.dims[d];
        char sb[128];
        printf("output '%s': %s %s\n", info.name, ingot_dtype_name(oi.dtype), ing_shape_str(&t, sb, sizeof sb));
        print_values(&t);
        if (outdir) {
            char fname[4200], safe[256];
            snprintf(safe, sizeof safe, "%s", info.name);
            for (char *p = safe; *p; p++)
                if (*p == '/' || *p == '\\' || *p == ':') *p = '_';
            snprintf(fname, sizeof fname, "%s/%s.npy", outdir, safe);
            if ((st = tensor_file_write(fname, &t, info.name)) != INGOT_OK) {
                cli_fail_status(st, "run");
                goto done;
            }
        }
    }
    rc = 0;
done:
    for (size_t i = 0; i < 64; i++) ing_free(ins[i].data);
    ingot_context_destroy(c);
    ingot_engine_destroy(e);
    return rc;
}
