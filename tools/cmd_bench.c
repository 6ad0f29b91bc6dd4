/* `ingot bench ENGINE`: trtexec-style measurement of an engine on random inputs.
 *
 * Warm-up for a time, then timed runs (a count or a duration), each measured with a host clock
 * around ingot_context_run plus the runtime's own timing (H2D, compute, D2H on CUDA). Reports
 * throughput, latency statistics and warnings; --profile times each step in a separate run
 * after the timed ones so that the per-node clocks do not disturb the measurement. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/cpu/cpu.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "ir/ir.h"

#ifdef INGOT_WITH_CUDA
#include <cuda_runtime.h>
#endif

#define MAX_IO 64
#define MAX_PCT 16
#define MAX_STREAMS 16

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: ingot bench ENGINE [--warmup MS] [--iterations N | --duration S] [--shapes NAME:DxD...]\n"
            "                  [--cuda-graph | --no-cuda-graph] [--percentile P[,P...]] [--load]\n"
            "                  [--load-mode auto|read|mmap|stream] [--json FILE] [--profile]\n"
            "                  [--io-memory pageable|pinned|mapped|device] [--output-memory KIND]\n"
            "                  [--no-data-transfers] [--streams N]\n"
            "                  [--output-buffers 1|2] [--output-alloc-per-run] [--seed S]\n"
            "Measures an engine on random inputs, as trtexec does.\n"
            "  --warmup MS        run untimed for MS milliseconds first (default 200)\n"
            "  --iterations N     timed runs (default: as many as fit in --duration, at least 10)\n"
            "  --duration S       timed seconds (default 3)\n"
            "  --cuda-graph       capture and replay the run as a CUDA graph (default on CUDA)\n"
            "  --no-cuda-graph    run node by node\n"
            "  --shapes           shapes of inputs with symbolic dimensions\n"
            "  --percentile       latency percentiles to report (default 90,95,99)\n"
            "  --load             report the engine's load time, bytes read and peak RSS increase\n"
            "  --json FILE        write every figure to FILE\n"
            "  --profile          time each step in a separate run after the timed runs\n"
            "  --io-memory KIND   where inputs and outputs live: pageable (default), pinned, mapped\n"
            "                     (zero-copy) or device (CUDA engines; CPU engines: pageable only)\n"
            "  --output-memory KIND  where outputs live when it differs from the inputs' --io-memory\n"
            "  --no-data-transfers  inputs and outputs in device memory: no H2D or D2H (= --io-memory device)\n"
            "  --streams N        N contexts on N streams, runs enqueued round-robin so the copies of\n"
            "                     one overlap the compute of another (CUDA engines); reports throughput\n"
            "  --output-buffers 2 double-buffered context-owned outputs (ingot_context_set_output_buffers)\n"
            "  --output-alloc-per-run  allocate (and free) the bound output buffers around every run, as a\n"
            "                     caller without persistent outputs does; for comparison\n");
    return rc;
}

/* ---- statistics ---- */

typedef struct stats {
    int valid;
    double min, mean, median, max, stddev, cv;
    double pct[MAX_PCT];
} stats;

/* Nearest-rank percentile of sorted v[n]. */
static double percentile(const double *v, size_t n, double p)
{
    if (!n) return 0;
    double r = ceil(p / 100.0 * (double)n);
    size_t k = r < 1 ? 0 : (size_t)r - 1;
    return v[k < n ? k : n - 1];
}

static stats compute_stats(double *v, size_t n, const double *pcts, int n_pct)
{
    stats s;
    memset(&s, 0, sizeof s);
    if (!n) return s;
    qsort(v, n, sizeof *v, cli_cmp_double);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    s.mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) sq += (v[i] - s.mean) * (v[i] - s.mean);
    s.stddev = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
    s.cv = s.mean > 0 ? s.stddev / s.mean : 0;
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    for (int k = 0; k < n_pct; k++) s.pct[k] = percentile(v, n, pcts[k]);
    s.valid = 1;
    return s;
}

static void print_stats(const char *what, const stats *s, const double *pcts, int n_pct)
{
    printf("%-14s min %.4f, mean %.4f, median %.4f", what, s->min, s->mean, s->median);
    for (int k = 0; k < n_pct; k++) printf(", p%g %.4f", pcts[k], s->pct[k]);
    printf(", max %.4f ms\n", s->max);
}

/* ---- JSON output ---- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* JSON has no inf or nan. */
static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.9g", v);
    else fputs("null", f);
}

static void json_stats(FILE *f, const char *key, const stats *s, const double *pcts, int n_pct)
{
    fprintf(f, ",\n  ");
    json_str(f, key);
    if (!s->valid) {
        fputs(": null", f);
        return;
    }
    fputs(": {\"min\": ", f);
    json_num(f, s->min);
    fputs(", \"mean\": ", f);
    json_num(f, s->mean);
    fputs(", \"median\": ", f);
    json_num(f, s->median);
    fputs(", \"max\": ", f);
    json_num(f, s->max);
    fputs(", \"stddev\": ", f);
    json_num(f, s->stddev);
    fputs(", \"cv\": ", f);
    json_num(f, s->cv);
    fputs(", \"percentiles\": {", f);
    for (int k = 0; k < n_pct; k++) {
        fprintf(f, "%s\"%g\": ", k ? ", " : "", pcts[k]);
        json_num(f, s->pct[k]);
    }
    fputs("}}", f);
}

/* ---- the per-run samples ---- */

typedef struct samples {
    double *lat, *enq, *h2d, *comp, *d2h; /* ms per timed run */
    size_t n, cap;
} samples;

static int samples_push(samples *s, double lat, const ingot_run_timing *rt)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double **arr[5] = {&s->lat, &s->enq, &s->h2d, &s->comp, &s->d2h};
        for (int k = 0; k < 5; k++) {
            double *p = realloc(*arr[k], cap * sizeof(double));
            if (!p) return -1;
            *arr[k] = p;
        }
        s->cap = cap;
    }
    s->lat[s->n] = lat;
    s->enq[s->n] = rt->enqueue_ms;
    s->h2d[s->n] = rt->h2d_ms;
    s->comp[s->n] = rt->compute_ms;
    s->d2h[s->n] = rt->d2h_ms;
    s->n++;
    return 0;
}

static void samples_free(samples *s)
{
    free(s->lat);
    free(s->enq);
    free(s->h2d);
    free(s->comp);
    free(s->d2h);
}

static int parse_percentiles(char *spec, double *pcts)
{
    int n = 0;
    for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
        char *end;
        double p = strtod(tok, &end);
        if (end == tok || *end || !(p >= 0 && p <= 100))
            return cli_fail("bench: --percentile '%s' is not a number in 0..100", tok), -1;
        if (n == MAX_PCT) return cli_fail("bench: --percentile: at most %d values", MAX_PCT), -1;
        pcts[n++] = p;
    }
    if (!n) return cli_fail("bench: --percentile needs at least one value (e.g. 90,95,99)"), -1;
    return n;
}

typedef struct step_row {
    ingot_step_info info;
    double ms;
} step_row;

/* One context of the run and the memory it is bound to. */
typedef struct bench_ctx {
    ingot_context *c;
    void *in[MAX_IO], *out[MAX_IO];
    size_t in_bytes[MAX_IO], out_bytes[MAX_IO];
    int pending;
    double t_enqueue; /* ms */
} bench_ctx;

/* Copy host bytes into memory of kind `kind` (device memory through the CUDA runtime). */
static ingot_status put_bytes(void *dst, ingot_memory kind, const void *src, size_t n)
{
    if (kind != INGOT_MEMORY_DEVICE) {
        memcpy(dst, src, n);
        return INGOT_OK;
    }
#ifdef INGOT_WITH_CUDA
    cudaError_t err = cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice);
    if (err != cudaSuccess) return ingot_fail(INGOT_ERR_CUDA, "cudaMemcpy (bench inputs): %s", cudaGetErrorString(err));
    return INGOT_OK;
#else
    return ingot_fail(INGOT_ERR_BACKEND, "device memory needs the CUDA backend");
#endif
}

/* A context with its inputs in memory of `kind`, holding the bytes of ins[]. */
static ingot_status bench_ctx_open(ingot_engine *e, bench_ctx *b, const ing_tensor *ins, size_t n_in, ingot_memory kind,
                                   int graph, int out_sets)
{
    ING_TRY(ingot_context_create(e, &b->c));
    for (size_t i = 0; i < n_in; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(e, i, &info);
        size_t nb = ing_nbytes(&ins[i]);
        ING_TRY(ingot_memory_alloc(kind, nb ? nb : 1, &b->in[i]));
        b->in_bytes[i] = nb;
        ING_TRY(put_bytes(b->in[i], kind, ins[i].data, nb));
        ING_TRY(ingot_context_set_input_shape(b->c, info.name, ins[i].rank, ins[i].dims));
        ING_TRY(ingot_context_bind_input_memory(b->c, info.name, b->in[i], nb, kind));
    }
    ingot_context_set_cuda_graph(b->c, graph);
    ingot_context_set_timing(b->c, 1);
    return ingot_context_set_output_buffers(b->c, out_sets);
}

/* Bind every output to new memory of `kind`, freeing what was bound before: after a first run
 * has sized them (the sizes are read then), and before every run with --output-alloc-per-run. */
static ingot_status bench_ctx_bind_outputs(ingot_engine *e, bench_ctx *b, ingot_memory kind)
{
    size_t n_out = ingot_engine_num_outputs(e);
    for (size_t j = 0; j < n_out && j < MAX_IO; j++) {
        ingot_tensor_info info;
        ingot_engine_get_output(e, j, &info);
        if (!b->out[j]) {
            const void *data;
            ING_TRY(ingot_context_get_output(b->c, info.name, NULL, &data, &b->out_bytes[j]));
        }
        size_t nb = b->out_bytes[j] ? b->out_bytes[j] : 1;
        ingot_memory_free(kind, b->out[j]);
        b->out[j] = NULL;
        ING_TRY(ingot_memory_alloc(kind, nb, &b->out[j]));
        ING_TRY(ingot_context_bind_output_memory(b->c, info.name, b->out[j], nb, kind));
    }
    return INGOT_OK;
}

static void bench_ctx_close(bench_ctx *b, ingot_memory in_kind, ingot_memory out_kind)
{
    if (b->c) ingot_context_synchronize(b->c);
    ingot_context_destroy(b->c);
    for (size_t i = 0; i < MAX_IO; i++) {
        ingot_memory_free(in_kind, b->in[i]);
        ingot_memory_free(out_kind, b->out[i]);
    }
    memset(b, 0, sizeof *b);
}

/* A memory kind by its CLI name (pageable, pinned, mapped, device); INGOT_MEMORY_COUNT if none. */
static int memory_kind(const char *m)
{
    for (int k = 0; k < INGOT_MEMORY_COUNT; k++)
        if (!strcmp(m, k == INGOT_MEMORY_HOST ? "pageable" : ingot_memory_name((ingot_memory)k))) return k;
    return INGOT_MEMORY_COUNT;
}

static const char *memory_cli_name(int k)
{
    return k == INGOT_MEMORY_HOST ? "pageable" : ingot_memory_name((ingot_memory)k);
}

int cmd_bench(int argc, char **argv)
{
    const char *path = NULL, *json_path = NULL;
    double warmup_ms = 200, duration_s = 3, pcts[MAX_PCT] = {90, 95, 99};
    long iterations = 0;
    int n_pct = 3, n_shapes = 0, want_load = 0, profile = 0, graph = 1, io_kind = INGOT_MEMORY_HOST, out_sets = 1;
    int alloc_per_run = 0, out_kind = -1; /* -1 until parsed: then as io_kind unless given */
    long n_streams = 1;
    ingot_input_shape shapes[MAX_IO];
    ingot_load_opts lo;
    ingot_load_opts_init(&lo);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i], *end;
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
        if (!strcmp(a, "--warmup") && has) {
            warmup_ms = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(warmup_ms >= 0 && warmup_ms <= 3.6e6))
                return cli_fail("bench: --warmup '%s' is not milliseconds in 0..3600000", argv[i]);
        } else if (!strcmp(a, "--iterations") && has) {
            iterations = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || iterations < 1 || iterations > 100000000)
                return cli_fail("bench: --iterations '%s' is not a count in 1..100000000", argv[i]);
        } else if (!strcmp(a, "--duration") && has) {
            duration_s = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(duration_s > 0 && duration_s <= 86400))
                return cli_fail("bench: --duration '%s' is not seconds in (0, 86400]", argv[i]);
        } else if (!strcmp(a, "--cuda-graph")) {
            graph = 1;
        } else if (!strcmp(a, "--no-cuda-graph")) {
            graph = 0;
        } else if (!strcmp(a, "--shapes") && has) {
            if ((n_shapes = cli_parse_shapes(argv[++i], shapes, MAX_IO)) < 0) return 1;
        } else if (!strcmp(a, "--percentile") && has) {
            if ((n_pct = parse_percentiles(argv[++i], pcts)) < 0) return 1;
        } else if (!strcmp(a, "--load")) {
            want_load = 1;
        } else if (!strcmp(a, "--load-mode") && has) {
            int m = cli_parse_load_mode(argv[++i]);
            if (m < 0) return cli_fail("bench: --load-mode '%s' is not auto, read, mmap or stream", argv[i]);
            lo.mode = (ingot_load_mode)m;
        } else if (!strcmp(a, "--json") && has) {
            json_path = argv[++i];
        } else if (!strcmp(a, "--profile")) {
            profile = 1;
        } else if (!strcmp(a, "--seed") && has) {
            cli_seed(strtoull(argv[++i], NULL, 10));
        } else if (!strcmp(a, "--no-data-transfers")) {
            io_kind = INGOT_MEMORY_DEVICE;
        } else if (!strcmp(a, "--streams") && has) {
            n_streams = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || n_streams < 1 || n_streams > MAX_STREAMS)
                return cli_fail("bench: --streams '%s' is not a count in 1..%d", argv[i], MAX_STREAMS);
        } else if (!strcmp(a, "--output-alloc-per-run")) {
            alloc_per_run = 1;
        } else if (!strcmp(a, "--output-buffers") && has) {
            out_sets = (int)strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || (out_sets != 1 && out_sets != 2))
                return cli_fail("bench: --output-buffers '%s' is not 1 or 2", argv[i]);
        } else if (!strcmp(a, "--io-memory") && has) {
            if ((io_kind = memory_kind(argv[++i])) == INGOT_MEMORY_COUNT)
                return cli_fail("bench: --io-memory '%s' is not pageable, pinned, mapped or device", argv[i]);
        } else if (!strcmp(a, "--output-memory") && has) {
            if ((out_kind = memory_kind(argv[++i])) == INGOT_MEMORY_COUNT)
                return cli_fail("bench: --output-memory '%s' is not pageable, pinned, mapped or device", argv[i]);
        } else if (a[0] == '-') {
            return cli_fail("bench: unknown option '%s' or missing value (see ingot bench --help)", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_fail("bench: more than one engine given");
        }
    }
    if (!path) return cli_fail("bench: no engine given (see ingot bench --help)");
    if (out_kind < 0) out_kind = io_kind;

    ingot_engine *e = NULL;
    ingot_context *c = NULL;
    static bench_ctx bc[MAX_STREAMS];
    memset(bc, 0, sizeof bc);
    ing_tensor ins[MAX_IO];
    memset(ins, 0, sizeof ins);
    samples sm;
    memset(&sm, 0, sizeof sm);
    step_row *rows = NULL;
    double *step_ms = NULL;
    FILE *jf = NULL;
    int rc = 1;
    ingot_status st = cli_load_engine(path, &lo, &e);
    if (st != INGOT_OK) return cli_fail_status(st, "bench");
    int cuda = ingot_engine_get_backend(e) == INGOT_BACKEND_CUDA;
    ingot_load_stats ls;
    memset(&ls, 0, sizeof ls);
    ingot_engine_get_load_stats(e, &ls);
    static const char *modes[] = {"auto", "read", "mmap", "stream"};
    const char *mode_name = (unsigned)ls.mode < 4 ? modes[ls.mode] : "?";
    const char *io_name = memory_cli_name(io_kind), *out_name = memory_cli_name(out_kind);
    if (alloc_per_run && out_sets != 1) {
        cli_fail("bench: --output-alloc-per-run binds the outputs itself; it does not combine with --output-buffers 2");
        goto done;
    }
    if (!cuda && (io_kind != INGOT_MEMORY_HOST || out_kind != INGOT_MEMORY_HOST || n_streams > 1)) {
        cli_fail("bench: %s applies to CUDA engines; this engine is for the cpu backend (use --io-memory pageable, "
                 "--streams 1)", n_streams > 1 ? "--streams N > 1" : "memory other than pageable");
        goto done;
    }

    size_t n_in = ingot_engine_num_inputs(e);
    if (n_in > MAX_IO) {
        cli_fail("bench: the engine has %zu inputs, at most %d supported here", n_in, MAX_IO);
        goto done;
    }
    for (int s = 0; s < n_shapes; s++) {
        int found = 0;
        for (size_t i = 0; i < n_in; i++) {
            ingot_tensor_info info;
            ingot_engine_get_input(e, i, &info);
            found |= !strcmp(info.name, shapes[s].name);
        }
        if (!found) {
            cli_fail("bench: --shapes names '%s', which is not an input of the engine", shapes[s].name);
            goto done;
        }
    }
    int64_t batch = -1; /* the first input's leading dim, when it looks like a batch */
    for (size_t i = 0; i < n_in; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(e, i, &info);
        ing_tensor *t = &ins[i];
        t->dtype = info.dtype;
        t->rank = info.rank;
        for (int d = 0; d < info.rank && d < INGOT_MAX_RANK; d++) t->dims[d] = info.dims[d];
        for (int s = 0; s < n_shapes; s++)
            if (!strcmp(shapes[s].name, info.name)) {
                t->rank = shapes[s].rank;
                for (int d = 0; d < t->rank; d++) t->dims[d] = shapes[s].dims[d];
            }
        if (!ing_shape_known(t)) {
            cli_fail("bench: input '%s' has symbolic dimensions: give its shape with --shapes %s:DxD...", info.name,
                     info.name);
            goto done;
        }
        int64_t n = ing_numel(t);
        size_t esz = ingot_dtype_size(info.dtype), nb;
        if (n < 0 || !esz || !ing_mul_fits((size_t)n, esz, &nb)) {
            cli_fail("bench: input '%s': %lld elements of %s do not fit in memory", info.name, (long long)n,
                     ingot_dtype_name(info.dtype));
            goto done;
        }
        t->data = ing_malloc(nb ? nb : 1);
        if (!t->data) {
            cli_fail("bench: out of memory for input '%s' (%zu bytes)", info.name, nb);
            goto done;
        }
        cli_fill_random(t);
        if (i == 0 && t->rank >= 2 && t->dims[0] >= 1) batch = t->dims[0];
    }
    for (long k = 0; k < n_streams; k++) {
        if ((st = bench_ctx_open(e, &bc[k], ins, n_in, (ingot_memory)io_kind, graph, out_sets)) != INGOT_OK ||
            (st = ingot_context_run(bc[k].c, NULL)) != INGOT_OK ||
            (out_sets == 1 && (st = bench_ctx_bind_outputs(e, &bc[k], (ingot_memory)out_kind)) != INGOT_OK)) {
            char what[64];
            snprintf(what, sizeof what, "bench: setting up context %ld", k);
            cli_fail_status(st, what);
            goto done;
        }
    }
    c = bc[0].c;

    /* warm-up: at least one run per context (first-run allocations, graph capture) */
    double w0 = (cli_now_s() * 1e3);
    long warm_runs = 0;
    do {
        for (long k = 0; k < n_streams; k++)
            if ((st = ingot_context_run(bc[k].c, NULL)) != INGOT_OK) {
                cli_fail_status(st, "bench: warm-up run");
                goto done;
            }
        warm_runs += n_streams;
    } while ((cli_now_s() * 1e3) - w0 < warmup_ms);
    double warm_total = (cli_now_s() * 1e3) - w0;

    ingot_run_counters cnt0[MAX_STREAMS], cnt1;
    for (long k = 0; k < n_streams; k++) ingot_context_get_counters(bc[k].c, NULL, &cnt0[k]);
    uint64_t d_allocs = 0, h_allocs = 0, h2d_bytes = 0, d2h_bytes = 0;
    long graph_runs = 0;
    double t_begin = (cli_now_s() * 1e3), t_end = t_begin;
    /* Runs are enqueued round-robin over the contexts; a context's run is waited for just
     * before that context is enqueued again (with one stream: at once), and the ones still in
     * flight at the end are drained. Latency is from the enqueue to the end of the
     * synchronize. */
    long n_enq = 0;
    for (long left = -1; left != 0;) {
        bench_ctx *b = &bc[n_enq % n_streams];
        int enough = iterations ? n_enq >= iterations : (sm.n >= 10 && t_end - t_begin >= duration_s * 1e3);
        if (enough) { /* drain: the next context still in flight, if any */
            left = 0;
            for (long k = 0; k < n_streams && !left; k++)
                if (bc[k].pending) b = &bc[k], left = 1;
            if (!left) break;
        }
        if (b->pending) {
            st = ingot_context_synchronize(b->c);
            t_end = (cli_now_s() * 1e3);
            b->pending = 0;
            if (st != INGOT_OK) {
                cli_fail_status(st, "bench: timed run");
                goto done;
            }
            ingot_run_timing rt;
            memset(&rt, 0, sizeof rt);
            ingot_context_get_timing(b->c, &rt);
            graph_runs += rt.cuda_graph != 0;
            if (samples_push(&sm, t_end - b->t_enqueue, &rt) != 0) {
                cli_fail("bench: out of memory for %zu samples", sm.n);
                goto done;
            }
        }
        if (enough) continue;
        b->t_enqueue = (cli_now_s() * 1e3);
        if (alloc_per_run && (st = bench_ctx_bind_outputs(e, b, (ingot_memory)out_kind)) != INGOT_OK) {
            cli_fail_status(st, "bench: --output-alloc-per-run");
            goto done;
        }
        if ((st = ingot_context_enqueue(b->c, NULL)) != INGOT_OK) {
            cli_fail_status(st, "bench: timed run");
            goto done;
        }
        b->pending = 1;
        n_enq++;
    }
    for (long k = 0; k < n_streams; k++) {
        ingot_context_get_counters(bc[k].c, NULL, &cnt1);
        d_allocs += cnt1.device_allocs - cnt0[k].device_allocs;
        h_allocs += cnt1.host_allocs - cnt0[k].host_allocs;
        h2d_bytes += cnt1.h2d_bytes - cnt0[k].h2d_bytes;
        d2h_bytes += cnt1.d2h_bytes - cnt0[k].d2h_bytes;
    }
    double wall_ms = t_end - t_begin;
    double allocs_per_run = sm.n ? (double)(d_allocs + h_allocs) / (double)sm.n : 0;
    /* GPU-side sums per run, before the arrays are sorted */
    double xfer_sum = 0, comp_sum = 0;
    for (size_t i = 0; i < sm.n; i++) {
        xfer_sum += sm.h2d[i] + sm.d2h[i];
        comp_sum += sm.comp[i];
    }
    stats lat = compute_stats(sm.lat, sm.n, pcts, n_pct);
    stats enq = compute_stats(sm.enq, sm.n, pcts, n_pct);
    stats h2d, comp, d2h;
    memset(&h2d, 0, sizeof h2d);
    comp = d2h = h2d;
    if (cuda) {
        h2d = compute_stats(sm.h2d, sm.n, pcts, n_pct);
        comp = compute_stats(sm.comp, sm.n, pcts, n_pct);
        d2h = compute_stats(sm.d2h, sm.n, pcts, n_pct);
    }
    double ips = wall_ms > 0 ? (double)sm.n / (wall_ms * 1e-3) : 0;

    /* warnings */
    char warn[4][400];
    int n_warn = 0;
    if (cuda && comp.valid) {
        double gpu = (xfer_sum + comp_sum) / (double)sm.n;
        if (enq.mean > 2.0 * gpu && enq.mean - gpu > 0.05)
            snprintf(warn[n_warn++], sizeof warn[0],
                     "enqueue-bound: host time per run %.4f ms is %.1fx the GPU time %.4f ms; %s", enq.mean,
                     gpu > 0 ? enq.mean / gpu : 0.0, gpu,
                     !graph ? "try --cuda-graph"
                     : graph_runs ? "the runs already replay a CUDA graph: the host overhead is in the runtime"
                                  : "CUDA graphs are on but no run replayed one (a step falls back to the CPU or shapes change)");
        if (xfer_sum > comp_sum)
            snprintf(warn[n_warn++], sizeof warn[0],
                     "transfer-bound: H2D+D2H %.4f ms per run exceed GPU compute %.4f ms; keep inputs and outputs in "
                     "device memory (--io-memory device), or use pinned memory and reduced-precision I/O formats",
                     xfer_sum / (double)sm.n, comp_sum / (double)sm.n);
    }
    if (!cuda && cpu_blas_warning(warn[n_warn], sizeof warn[0])) n_warn++;
    if (lat.cv > 0.10)
        snprintf(warn[n_warn++], sizeof warn[0],
                 "unstable: latency coefficient of variation is %.1f%% (> 10%%); quiet the machine, pin clocks or "
                 "run longer", lat.cv * 100);

    /* profile: a separate run set, after the timed runs */
    size_t n_steps = ingot_engine_num_steps(e);
    long prof_runs = 0;
    double prof_total = 0;
    if (profile) {
        rows = calloc(n_steps ? n_steps : 1, sizeof *rows);
        step_ms = calloc(n_steps ? n_steps : 1, sizeof *step_ms);
        if (!rows || !step_ms) {
            cli_fail("bench: out of memory for a profile of %zu steps", n_steps);
            goto done;
        }
        for (size_t i = 0; i < n_steps; i++) ingot_engine_get_step(e, i, &rows[i].info);
        if ((st = ingot_context_set_profiling(c, 1)) != INGOT_OK) {
            cli_fail_status(st, "bench: --profile");
            goto done;
        }
        /* one untimed run with the per-node clocks on, then the average of up to 50 runs */
        long want = iterations ? (iterations < 50 ? iterations : 50) : 50;
        for (long r = -1; r < want; r++) {
            if ((st = ingot_context_run(c, NULL)) != INGOT_OK ||
                (st = ingot_context_get_step_times(c, step_ms, n_steps)) != INGOT_OK) {
                cli_fail_status(st, "bench: profiling run");
                goto done;
            }
            if (r < 0) continue;
            for (size_t i = 0; i < n_steps; i++) rows[i].ms += step_ms[i];
            prof_runs++;
        }
        ingot_context_set_profiling(c, 0);
        for (size_t i = 0; i < n_steps; i++) {
            rows[i].ms /= (double)prof_runs;
            prof_total += rows[i].ms;
        }
    }

    /* ---- text report ---- */
    printf("engine: %s (%s backend)\n", path, cuda ? "cuda" : "cpu");
    for (size_t i = 0; i < n_in; i++) {
        ingot_tensor_info info;
        char sb[128];
        ingot_engine_get_input(e, i, &info);
        printf("input '%s': %s %s\n", info.name, ingot_dtype_name(info.dtype), ing_shape_str(&ins[i], sb, sizeof sb));
    }
    if (want_load)
        printf("load (%s): %.3f ms, %llu bytes read (%.2f GB/s), staging %llu bytes, peak RSS +%.1f MiB "
               "(VmHWM %.1f -> %.1f MiB, process-wide), device weights %.1f MiB\n",
               mode_name, ls.seconds * 1e3, (unsigned long long)ls.bytes_read, ls.throughput / 1e9,
               (unsigned long long)ls.peak_staging_bytes, ls.rss_hwm_delta / 1048576.0, ls.rss_hwm_before / 1048576.0,
               ls.rss_hwm_after / 1048576.0, ls.device_bytes / 1048576.0);
    printf("warm-up: %ld runs in %.1f ms; timed: %zu runs in %.1f ms (total host walltime %.3f s)\n", warm_runs,
           warm_total, sm.n, wall_ms, wall_ms * 1e-3);
    if (cuda) printf("cuda graph: %s, %ld of %zu timed runs replayed a graph; io memory %s%s%s%s; %ld stream%s; %d output "
                     "buffer set%s\n", graph ? "on" : "off", graph_runs, sm.n, io_name, out_kind != io_kind ? " (outputs " : "",
                     out_kind != io_kind ? out_name : "", out_kind != io_kind ? ")" : "", n_streams,
                     n_streams > 1 ? "s" : "", out_sets, out_sets > 1 ? "s" : "");
    printf("throughput: %.2f inferences/s", ips);
    if (batch > 0) printf(", %.2f items/s (batch %lld)", ips * (double)batch, (long long)batch);
    printf("\n");
    print_stats("latency:", &lat, pcts, n_pct);
    print_stats("enqueue:", &enq, pcts, n_pct);
    if (cuda) {
        print_stats("h2d:", &h2d, pcts, n_pct);
        print_stats("gpu compute:", &comp, pcts, n_pct);
        print_stats("d2h:", &d2h, pcts, n_pct);
    }
    printf("per run: %.2f allocations (%llu device, %llu host in %zu timed runs), %.0f bytes H2D, %.0f bytes D2H\n",
           allocs_per_run, (unsigned long long)d_allocs, (unsigned long long)h_allocs, sm.n,
           sm.n ? (double)h2d_bytes / (double)sm.n : 0.0, sm.n ? (double)d2h_bytes / (double)sm.n : 0.0);
    for (int k = 0; k < n_warn; k++) printf("warning: %s\n", warn[k]);
    if (profile) {
        printf("profile (%s, mean of %ld runs, %.4f ms in steps):\n",
               cuda ? "CUDA events around each step, graphs off" : "host clock around each step", prof_runs, prof_total);
        printf("  %4s %10s %6s  %-18s %-24s %s\n", "step", "ms", "%", "op", "kernel", "covers");
        for (size_t i = 0; i < n_steps; i++) {
            const ingot_step_info *si = &rows[i].info;
            printf("  %4zu %10.4f %5.1f%%  %-18s %-24s ", i, rows[i].ms,
                   prof_total > 0 ? 100.0 * rows[i].ms / prof_total : 0.0, si->op, si->kernel);
            if (si->n_origin == 0) printf("%s", si->name);
            for (int32_t k = 0; k < si->n_origin; k++) printf("%s%s", k ? ", " : "", si->origin[k]);
            printf("\n");
        }
    }

    /* ---- JSON ---- */
    if (json_path) {
        jf = fopen(json_path, "w");
        if (!jf) {
            cli_fail("bench: cannot write '%s': %s", json_path, strerror(errno));
            goto done;
        }
        fputs("{\n  \"engine\": ", jf);
        json_str(jf, path);
        fprintf(jf, ",\n  \"backend\": \"%s\",\n  \"ingot_version\": ", cuda ? "cuda" : "cpu");
        json_str(jf, ingot_version());
        fputs(",\n  \"config\": {\"warmup_ms\": ", jf);
        json_num(jf, warmup_ms);
        fputs(", \"iterations\": ", jf);
        if (iterations) fprintf(jf, "%ld", iterations);
        else fputs("null", jf);
        fputs(", \"duration_s\": ", jf);
        if (iterations) fputs("null", jf);
        else json_num(jf, duration_s);
        /* cuda_graph: null on CPU engines, where it does not apply */
        fprintf(jf, ", \"cuda_graph\": %s, \"io_memory\": \"%s\", \"output_memory\": \"%s\", \"streams\": %ld, "
                    "\"output_buffers\": %d, \"output_alloc_per_run\": %s, \"load_mode\": \"%s\", \"percentiles\": [",
                !cuda ? "null" : graph ? "true" : "false", io_name, out_name, n_streams, out_sets,
                alloc_per_run ? "true" : "false", mode_name);
        for (int k = 0; k < n_pct; k++) fprintf(jf, "%s%g", k ? ", " : "", pcts[k]);
        fputs("]},\n  \"inputs\": [", jf);
        for (size_t i = 0; i < n_in; i++) {
            ingot_tensor_info info;
            ingot_engine_get_input(e, i, &info);
            fprintf(jf, "%s{\"name\": ", i ? ", " : "");
            json_str(jf, info.name);
            fprintf(jf, ", \"dtype\": \"%s\", \"shape\": [", ingot_dtype_name(info.dtype));
            for (int d = 0; d < ins[i].rank; d++) fprintf(jf, "%s%lld", d ? ", " : "", (long long)ins[i].dims[d]);
            fputs("]}", jf);
        }
        fputs("],\n  \"load\": ", jf);
        {
            fprintf(jf, "{\"mode\": \"%s\", \"ms\": ", mode_name);
            json_num(jf, ls.seconds * 1e3);
            fprintf(jf, ", \"bytes_read\": %llu, \"throughput_bytes_per_s\": ", (unsigned long long)ls.bytes_read);
            json_num(jf, ls.throughput);
            fprintf(jf, ", \"peak_staging_bytes\": %llu, \"rss_hwm_before\": %llu, \"rss_hwm_after\": %llu, "
                        "\"rss_hwm_delta\": %llu, \"device_bytes\": %llu}",
                    (unsigned long long)ls.peak_staging_bytes, (unsigned long long)ls.rss_hwm_before,
                    (unsigned long long)ls.rss_hwm_after, (unsigned long long)ls.rss_hwm_delta,
                    (unsigned long long)ls.device_bytes);
        }
        fprintf(jf, ",\n  \"warmup_runs\": %ld,\n  \"warmup_ms\": ", warm_runs);
        json_num(jf, warm_total);
        fprintf(jf, ",\n  \"iterations\": %zu,\n  \"total_host_walltime_s\": ", sm.n);
        json_num(jf, wall_ms * 1e-3);
        fputs(",\n  \"throughput\": {\"inferences_per_s\": ", jf);
        json_num(jf, ips);
        fputs(", \"items_per_s\": ", jf);
        if (batch > 0) json_num(jf, ips * (double)batch);
        else fputs("null", jf);
        fputs(", \"batch\": ", jf);
        if (batch > 0) fprintf(jf, "%lld", (long long)batch);
        else fputs("null", jf);
        fputs("}", jf);
        json_stats(jf, "latency_ms", &lat, pcts, n_pct);
        json_stats(jf, "enqueue_ms", &enq, pcts, n_pct);
        fprintf(jf, ",\n  \"enqueue_note\": \"%s\"",
                cuda ? "host time of ingot_context_enqueue (returns before the device finishes)"
                     : "host time of the run (CPU engines finish inside enqueue)");
        json_stats(jf, "h2d_ms", &h2d, pcts, n_pct);
        json_stats(jf, "gpu_compute_ms", &comp, pcts, n_pct);
        json_stats(jf, "d2h_ms", &d2h, pcts, n_pct);
        fputs(",\n  \"cuda_graph_runs\": ", jf);
        if (cuda) fprintf(jf, "%ld", graph_runs);
        else fputs("null", jf);
        fputs(",\n  \"allocations_per_run\": ", jf);
        json_num(jf, allocs_per_run);
        fprintf(jf, ",\n  \"allocations_total\": %llu,\n  \"device_allocations_total\": %llu,\n  "
                    "\"host_allocations_total\": %llu,\n  \"h2d_bytes_per_run\": ",
                (unsigned long long)(d_allocs + h_allocs), (unsigned long long)d_allocs, (unsigned long long)h_allocs);
        json_num(jf, sm.n ? (double)h2d_bytes / (double)sm.n : 0.0);
        fputs(",\n  \"d2h_bytes_per_run\": ", jf);
        json_num(jf, sm.n ? (double)d2h_bytes / (double)sm.n : 0.0);
        fputs(",\n  \"warnings\": [", jf);
        for (int k = 0; k < n_warn; k++) {
            fputs(k ? ", " : "", jf);
            json_str(jf, warn[k]);
        }
        fputs("],\n  \"profile\": ", jf);
        if (profile) {
            fprintf(jf, "{\"method\": \"%s\", \"runs\": %ld, \"total_ms\": ",
                    cuda ? "cuda-events-graphs-off" : "host-clock", prof_runs);
            json_num(jf, prof_total);
            fputs(", \"steps\": [", jf);
            for (size_t i = 0; i < n_steps; i++) {
                const ingot_step_info *si = &rows[i].info;
                fprintf(jf, "%s\n    {\"index\": %zu, \"op\": ", i ? "," : "", i);
                json_str(jf, si->op);
                fputs(", \"name\": ", jf);
                json_str(jf, si->name);
                fputs(", \"kernel\": ", jf);
                json_str(jf, si->kernel);
                fputs(", \"ms\": ", jf);
                json_num(jf, rows[i].ms);
                fputs(", \"percent\": ", jf);
                json_num(jf, prof_total > 0 ? 100.0 * rows[i].ms / prof_total : 0.0);
                fputs(", \"covers\": [", jf);
                if (si->n_origin == 0) json_str(jf, si->name);
                for (int32_t k = 0; k < si->n_origin; k++) {
                    fputs(k ? ", " : "", jf);
                    json_str(jf, si->origin[k]);
                }
                fputs("]}", jf);
            }
            fputs("\n  ]}", jf);
        } else {
            fputs("null", jf);
        }
        fputs("\n}\n", jf);
        int bad = ferror(jf);
        if (fclose(jf) != 0 || bad) {
            jf = NULL;
            cli_fail("bench: writing '%s' failed: %s", json_path, strerror(errno));
            goto done;
        }
        jf = NULL;
        printf("json: %s\n", json_path);
    }
    rc = 0;
done:
    if (jf) fclose(jf);
    free(rows);
    free(step_ms);
    samples_free(&sm);
    for (size_t i = 0; i < MAX_IO; i++) ing_free(ins[i].data);
    for (long k = 0; k < MAX_STREAMS; k++) bench_ctx_close(&bc[k], (ingot_memory)io_kind, (ingot_memory)out_kind);
    ingot_engine_destroy(e);
    return rc;
}
