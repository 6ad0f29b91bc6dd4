/* `ingot conformance DIR`: the ONNX backend node tests, per ../shared/onnx-node/SCOPE.md.
 *
 * Each test runs in a child process (fork) with a time limit, so a crash or hang in one kernel
 * is reported as that test's failure and the run goes on. */
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/cpu/cpu.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_tensor.h"
#include "pbio.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define TEST_TIMEOUT_S 120
#define MAX_OPS 256

static const char *const excluded_ops[] = {
    "Adagrad", "Adam", "Momentum", "Gradient", "SequenceEmpty", "SequenceInsert", "SequenceLength",
    "SequenceMap", "SplitToSequence", "ConcatFromSequence", "SequenceAt", "SequenceConstruct",
    "SequenceErase", "Optional", "OptionalHasElement", "OptionalGetElement", "StringSplit",
    "StringNormalizer", "StringConcat", "RegexFullMatch", "TfIdfVectorizer", "RandomUniformLike",
    "RandomNormalLike", "RandomUniform", "RandomNormal", "Bernoulli", "Multinomial", "ImageDecoder",
    "DFT", "STFT", "HannWindow", "HammingWindow", "BlackmanWindow", "MelWeightMatrix",
    "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss", NULL};

typedef struct op_row {
    char op[64];
    int passed, failed;
} op_row;

typedef struct run_opts {
    const char *dir, *filter, *expected, *write_passes;
    int backend, verbose;
    int shard, n_shards; /* run only tests whose index % n_shards == shard */
} run_opts;

static int is_excluded_type(int t) { return t == 8 || t == 14 || t == 15 || (t >= 17 && t <= 23) || t >= 24; }

static int excluded_op(const char *op)
{
    for (int i = 0; excluded_ops[i]; i++)
        if (!strcmp(excluded_ops[i], op)) return 1;
    return 0;
}

/* Is the test in scope? Also collects its top-level op types. 1 yes, 0 no, -1 unreadable. */
static int in_scope(const char *model_path, char ops[][64], int *n_ops)
{
    void *buf;
    size_t size;
    *n_ops = 0;
    if (onnx_read_file(model_path, &buf, &size) != INGOT_OK) return -1;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, buf);
    ing_free(buf);
    if (!mp || !mp->graph) {
        if (mp) onnx__model_proto__free_unpacked(mp, NULL);
        return -1;
    }
    int ok = 1;
    const Onnx__GraphProto *g = mp->graph;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) ok = 0;
        if (n->op_type && excluded_op(n->op_type)) ok = 0;
        if (!n->op_type) continue;
        int seen = 0;
        for (int k = 0; k < *n_ops; k++)
            if (!strcmp(ops[k], n->op_type)) seen = 1;
        if (!seen && *n_ops < 32) snprintf(ops[(*n_ops)++], 64, "%s", n->op_type);
    }
    for (int io = 0; io < 2; io++) {
        size_t cnt = io ? g->n_output : g->n_input;
        Onnx__ValueInfoProto **vis = io ? g->output : g->input;
        for (size_t i = 0; i < cnt; i++) {
            const Onnx__TypeProto *tp = vis[i]->type;
            if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type &&
                tp->tensor_type->has_elem_type && is_excluded_type(tp->tensor_type->elem_type))
                ok = 0;
        }
    }
    onnx__model_proto__free_unpacked(mp, NULL);
    return ok;
}

/* Compare got with expected; on mismatch write the reason. */
static int compare(const ing_tensor *got, const ing_tensor *exp, const char *oname, char *why, size_t cap)
{
    char sg[128], se[128];
    if (got->dtype != exp->dtype) {
        snprintf(why, cap, "output '%s': dtype %s, expected %s", oname, ingot_dtype_name((ingot_dtype)got->dtype),
                 ingot_dtype_name((ingot_dtype)exp->dtype));
        return 0;
    }
    if (!ing_same_shape(got, exp)) {
        snprintf(why, cap, "output '%s': shape %s, expected %s", oname, ing_shape_str(got, sg, sizeof sg),
                 ing_shape_str(exp, se, sizeof se));
        return 0;
    }
    int64_t n = ing_numel(exp);
    int fl = ing_dtype_is_float(exp->dtype);
    for (int64_t i = 0; i < n; i++) {
        if (fl) {
            double g = ing_load_f64(got->dtype, got->data, (size_t)i), e = ing_load_f64(exp->dtype, exp->data, (size_t)i);
            if (isnan(e) && isnan(g)) continue;
            if (isinf(e) && g == e) continue;
            if (fabs(g - e) <= ATOL + RTOL * fabs(e)) continue;
            snprintf(why, cap, "output '%s': wrong value at index %lld: got %.9g, expected %.9g", oname, (long long)i, g, e);
            return 0;
        }
        uint64_t g = ing_load_u64(got->dtype, got->data, (size_t)i), e = ing_load_u64(exp->dtype, exp->data, (size_t)i);
        if (g != e) {
            snprintf(why, cap, "output '%s': wrong value at index %lld: got %lld, expected %lld", oname, (long long)i,
                     (long long)g, (long long)e);
            return 0;
        }
    }
    return 1;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Run one test in this (child) process; write the reason on failure. Returns 1 on pass. */
static int run_test(const char *tdir, int backend, char *why, size_t cap)
{
    char path[8400];
    ingot_engine *e = NULL;
    ingot_context *c = NULL;
    ingot_build_opts bo;
    ingot_build_opts_init(&bo);
    bo.backend = (ingot_backend)backend;
    snprintf(path, sizeof path, "%s/model.onnx", tdir);
    ingot_status st = ingot_builder_build_file(path, &bo, &e);
    if (st != INGOT_OK) {
        snprintf(why, cap, "build: %s", ingot_last_error());
        return 0;
    }
    int pass = 1, sets = 0;
    size_t n_in = ingot_engine_num_inputs(e), n_out = ingot_engine_num_outputs(e);
    if ((st = ingot_context_create(e, &c)) != INGOT_OK) {
        snprintf(why, cap, "context: %s", ingot_last_error());
        ingot_engine_destroy(e);
        return 0;
    }
    for (int s = 0; pass; s++) {
        char sdir[4200];
        snprintf(sdir, sizeof sdir, "%s/test_data_set_%d", tdir, s);
        if (!file_exists(sdir)) break;
        sets++;
        ing_tensor ins[64] = {{0}};
        size_t n_loaded = 0;
        for (size_t i = 0; i < n_in && i < 64 && pass; i++) {
            ingot_tensor_info info;
            ingot_engine_get_input(e, i, &info);
            snprintf(path, sizeof path, "%s/input_%zu.pb", sdir, i);
            size_t nb;
            if (tensor_file_read(path, &ins[i], &nb, NULL) != INGOT_OK) {
                snprintf(why, cap, "input %zu: %s", i, ingot_last_error());
                pass = 0;
                break;
            }
            n_loaded = i + 1;
            if (ingot_context_set_input_shape(c, info.name, ins[i].rank, ins[i].dims) != INGOT_OK ||
                ingot_context_bind_input(c, info.name, ins[i].data ? ins[i].data : (void *)"", nb) != INGOT_OK) {
                snprintf(why, cap, "input '%s': %s", info.name, ingot_last_error());
                pass = 0;
            }
        }
        if (pass && (st = ingot_context_run(c, NULL)) != INGOT_OK) {
            snprintf(why, cap, "run: %s", ingot_last_error());
            pass = 0;
        }
        for (size_t j = 0; j < n_out && pass; j++) {
            ingot_tensor_info info;
            ingot_engine_get_output(e, j, &info);
            snprintf(path, sizeof path, "%s/output_%zu.pb", sdir, j);
            ing_tensor exp;
            size_t nb;
            if (tensor_file_read(path, &exp, &nb, NULL) != INGOT_OK) {
                snprintf(why, cap, "expected output %zu: %s", j, ingot_last_error());
                pass = 0;
                break;
            }
            ingot_tensor_info oi;
            const void *data;
            size_t size;
            if (ingot_context_get_output(c, info.name, &oi, &data, &size) != INGOT_OK) {
                snprintf(why, cap, "output '%s': %s", info.name, ingot_last_error());
                pass = 0;
            } else {
                ing_tensor got = {.dtype = oi.dtype, .rank = oi.rank, .data = (void *)data};
                for (int d = 0; d < oi.rank; d++) got.dims[d] = oi.dims[d];
                pass = compare(&got, &exp, info.name, why, cap);
            }
            ing_free(exp.data);
        }
        for (size_t i = 0; i < n_loaded; i++) ing_free(ins[i].data);
    }
    if (pass && sets == 0) {
        snprintf(why, cap, "no test_data_set_0 folder");
        pass = 0;
    }
    ingot_context_destroy(c);
    ingot_engine_destroy(e);
    return pass;
}

/* Fork, run, collect. Returns 1 pass, 0 fail (why set). */
static int run_isolated(const char *tdir, int backend, char *why, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        return 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        alarm(TEST_TIMEOUT_S);
        char reason[1024] = "";
        int ok = run_test(tdir, backend, reason, sizeof reason);
        char msg[1100];
        int len = snprintf(msg, sizeof msg, "%c%s", ok ? 'P' : 'F', reason);
        if (write(fds[1], msg, (size_t)len) < 0) _exit(3);
        close(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    char msg[1100];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0) got += (size_t)r;
    msg[got] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        snprintf(why, cap, sig == SIGALRM ? "timed out after %d s" : "crashed (signal %d)", sig == SIGALRM ? TEST_TIMEOUT_S : sig);
        return 0;
    }
    if (got == 0) {
        snprintf(why, cap, "the test process exited with status %d and no result", WEXITSTATUS(status));
        return 0;
    }
    snprintf(why, cap, "%s", msg + 1);
    return msg[0] == 'P';
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot conformance DIR [--backend cpu|cuda] [--filter SUBSTRING]\n"
               "                          [--expected FILE] [--write-passes FILE] [--poison] [--shard I/N]\n"
               "                          [--verbose]\n"
               "Runs the ONNX backend node tests in DIR (folders with model.onnx and test_data_set_N/)\n"
               "that are in scope (ai.onnx ops only, no training/sequence/string/random ops, no string,\n"
               "complex, float8 or 4-bit tensors). Compares outputs with rtol 1e-3, atol 1e-7.\n"
               "  --expected FILE      tests that must pass: exit 1 if any of them fails\n"
               "  --write-passes FILE  write the names of the passing tests\n"
               "  --poison             fill outputs with garbage before each kernel runs\n"
               "  --shard I/N          run every N-th test starting at I (for parallel runs)\n");
    return rc;
}

int cmd_conformance(int argc, char **argv)
{
    run_opts o = {0};
    int poison = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
        if (!strcmp(a, "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "cpu")) o.backend = INGOT_BACKEND_CPU;
            else if (!strcmp(b, "cuda")) o.backend = INGOT_BACKEND_CUDA;
            else return cli_fail("--backend: '%s' is not a backend (cpu, cuda)", b);
        } else if (!strcmp(a, "--filter") && i + 1 < argc) {
            o.filter = argv[++i];
        } else if (!strcmp(a, "--expected") && i + 1 < argc) {
            o.expected = argv[++i];
        } else if (!strcmp(a, "--write-passes") && i + 1 < argc) {
            o.write_passes = argv[++i];
        } else if (!strcmp(a, "--shard") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d/%d", &o.shard, &o.n_shards) != 2 || o.n_shards < 1 || o.shard < 0 ||
                o.shard >= o.n_shards)
                return cli_fail("conformance: --shard '%s' is not I/N with 0 <= I < N", argv[i]);
        } else if (!strcmp(a, "--poison")) {
            poison = 1;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o.verbose = 1;
        } else if (a[0] == '-') {
            return cli_fail("conformance: unknown option '%s' (see --help)", a);
        } else if (!o.dir) {
            o.dir = a;
        } else {
            return cli_fail("conformance: more than one DIR given ('%s', '%s')", o.dir, a);
        }
    }
    if (!o.dir) return cli_fail("conformance: no DIR given (see ingot conformance --help)");
    cpu_set_poison(poison);

    DIR *d = opendir(o.dir);
    if (!d) return cli_fail("conformance: cannot open '%s': %s", o.dir, strerror(errno));
    size_t n_names = 0, cap = 0;
    char **names = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (o.filter && !strstr(de->d_name, o.filter)) continue;
        if (n_names == cap) {
            cap = cap ? cap * 2 : 256;
            char **p = realloc(names, cap * sizeof *p);
            if (!p) return cli_fail("out of memory");
            names = p;
        }
        names[n_names++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n_names, sizeof *names, cmp_str);

    /* expected passes */
    char **expected = NULL;
    size_t n_expected = 0;
    if (o.expected) {
        FILE *f = fopen(o.expected, "r");
        if (!f) return cli_fail("conformance: cannot open expected list '%s': %s", o.expected, strerror(errno));
        char line[512];
        size_t ecap = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n #")] = '\0';
            if (!line[0]) continue;
            if (n_expected == ecap) {
                ecap = ecap ? ecap * 2 : 256;
                expected = realloc(expected, ecap * sizeof *expected);
                if (!expected) return cli_fail("out of memory");
            }
            expected[n_expected++] = strdup(line);
        }
        fclose(f);
    }
    FILE *wp = NULL;
    if (o.write_passes && !(wp = fopen(o.write_passes, "w")))
        return cli_fail("conformance: cannot create '%s': %s", o.write_passes, strerror(errno));

    op_row *rows = calloc(MAX_OPS, sizeof *rows);
    int n_rows = 0, passed = 0, failed = 0, skipped = 0, regressions = 0;
    char (*ops)[64] = calloc(32, 64);
    if (!rows || !ops) return cli_fail("out of memory");
    for (size_t t = 0; t < n_names; t++) {
        char tdir[4096], model[4200];
        snprintf(tdir, sizeof tdir, "%s/%s", o.dir, names[t]);
        snprintf(model, sizeof model, "%s/model.onnx", tdir);
        if (!file_exists(model)) continue;
        if (o.n_shards > 1 && (int)(t % (size_t)o.n_shards) != o.shard) continue;
        int n_ops = 0;
        int sc = in_scope(model, ops, &n_ops);
        if (sc <= 0) {
            skipped++;
            if (o.verbose) printf("SKIP %s: %s\n", names[t], sc < 0 ? "model unreadable" : "out of scope");
            continue;
        }
        char why[1100] = "";
        int ok = run_isolated(tdir, o.backend, why, sizeof why);
        if (ok) {
            passed++;
            if (wp) fprintf(wp, "%s\n", names[t]);
            if (o.verbose) printf("PASS %s\n", names[t]);
        } else {
            failed++;
            int is_expected = 0;
            for (size_t k = 0; k < n_expected; k++)
                if (!strcmp(expected[k], names[t])) is_expected = 1;
            regressions += is_expected;
            printf("FAIL %s%s: %s\n", names[t], is_expected ? " (EXPECTED TO PASS)" : "", why);
        }
        for (int k = 0; k < n_ops; k++) {
            int r = 0;
            while (r < n_rows && strcmp(rows[r].op, ops[k]) != 0) r++;
            if (r == n_rows) {
                if (n_rows == MAX_OPS) continue;
                snprintf(rows[n_rows++].op, sizeof rows[0].op, "%s", ops[k]);
            }
            if (ok) rows[r].passed++;
            else rows[r].failed++;
        }
        fflush(stdout);
    }
    if (wp) fclose(wp);
    /* expected tests not present at all also count as regressions */
    for (size_t k = 0; k < n_expected; k++) {
        int present = 0;
        for (size_t t = 0; t < n_names && !present; t++) present = !strcmp(names[t], expected[k]);
        if (!present && (!o.filter || strstr(expected[k], o.filter))) {
            printf("FAIL %s (EXPECTED TO PASS): the test folder is missing\n", expected[k]);
            regressions++;
        }
    }
    printf("\n%-28s %7s %7s\n", "op type", "passed", "failed");
    for (int r = 0; r < n_rows; r++) printf("%-28s %7d %7d\n", rows[r].op, rows[r].passed, rows[r].failed);
    if (o.expected) printf("expected passes: %zu listed, %d failed\n", n_expected, regressions);
    printf("conformance: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    for (size_t t = 0; t < n_names; t++) free(names[t]);
    free(names);
    for (size_t k = 0; k < n_expected; k++) free(expected[k]);
    free(expected);
    free(rows);
    free(ops);
    if (o.expected) return regressions ? 1 : 0;
    return failed ? 1 : 0;
}
