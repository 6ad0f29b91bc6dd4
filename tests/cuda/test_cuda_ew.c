/* The elementwise family's CUDA kernels against the CPU backend. For each case a one-node ONNX
 * graph is built twice (CUDA and CPU, every optimization pass off so the node stays as written)
 * and run three times on fresh seeded random inputs (never zeros; a different draw each run).
 * The CUDA run writes into caller buffers filled with 0xFF bytes (NaN for floats, an invalid
 * bool) before every run, and different inputs each run mean stale device results from the
 * previous run mismatch too: so an element the kernel never wrote shows up. The second and third
 * runs also go through CUDA graph capture and replay. Each case asserts the build chose the CUDA
 * kernel ("cuda.<op>") or, where stated, the CPU fallback.
 *
 * Tolerances, |cuda - cpu| <= atol + rtol |cpu| (NaN matches NaN, inf matches the same inf):
 *   f32 arithmetic and exact ops: 1e-5 relative + 1e-6 absolute (Sub/Add cancel to near 0);
 *   f32 transcendental (exp, log, tanh, erf, sin, pow, ...): 2e-5 relative + 1e-6 absolute
 *     (libdevice and the CPU's own polynomials each differ from the exact result by a few ulp);
 *   f16: 1e-3 + 1e-3 (one f16 ulp); bf16: 8e-3 + 8e-3 (one bf16 ulp);
 *   integers, bools and every Cast: exact.
 *
 * Exits 77 (skipped) with a message when there is no usable GPU; otherwise prints one line per
 * failing case (op, dtype, shapes, first mismatch) and "N passed, N failed"; exit 1 on any
 * failure. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "engine/plan.h"
#include "graph_util.h"
#include "runtime/runtime.h"

#define F32 INGOT_DTYPE_F32
#define F16 INGOT_DTYPE_F16
#define BF16 INGOT_DTYPE_BF16
#define F64 INGOT_DTYPE_F64
#define I8 INGOT_DTYPE_I8
#define U8 INGOT_DTYPE_U8
#define I32 INGOT_DTYPE_I32
#define I64 INGOT_DTYPE_I64
#define BOOL INGOT_DTYPE_BOOL

#define RUNS 3

static int n_pass, n_fail, no_gpu, verbose;

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double unif(uint64_t *s) { return (double)(rng(s) >> 11) / 9007199254740992.0; }

/* Values by the input's name prefix:
 *   pos*  floats in [0.25, 3)           (Log, Sqrt, Pow's base, Reciprocal)
 *   unit* floats in (-0.99, 0.99)       (Asin, Acos, Atanh)
 *   ge1*  floats in [1, 4)              (Acosh)
 *   half* floats k/2 for k in -10..10 without 0 (Round's ties, Ceil/Floor on integers)
 *   spec* floats mixing NaN, +-inf, +-0 and ordinary values (IsNaN, IsInf, Relu, Max/Min)
 *   big*  floats in [-300, 300) (casts to narrow integers wrap)
 *   huge* integers up to 2^40 (casts to f16/f32 round)
 *   nz*   integers without 0 (divisors)
 * else floats in [-3, -0.01] U [0.01, 3), integers in -20..20 (u8: 1..255), bools 0/1. */
static void fill(int dt, void *p, int64_t n, const char *name, uint64_t *s)
{
    for (int64_t k = 0; k < n; k++) {
        double u = unif(s);
        size_t i = (size_t)k;
        if (dt == BOOL) {
            ((uint8_t *)p)[i] = u < 0.5;
        } else if (ing_dtype_is_int(dt)) {
            int64_t v;
            if (!strncmp(name, "huge", 4)) v = (int64_t)((u - 0.5) * 2199023255552.0) + (int64_t)(rng(s) % 7);
            else if (dt == U8) v = 1 + (int64_t)(u * 254.0);
            else v = (int64_t)(u * 41.0) - 20;
            if (v == 0) v = !strncmp(name, "nz", 2) ? -3 : 7;
            ing_store_i64(dt, p, i, v);
        } else {
            double v;
            if (!strncmp(name, "pos", 3)) v = 0.25 + 2.75 * u;
            else if (!strncmp(name, "unit", 4)) v = 1.98 * u - 0.99;
            else if (!strncmp(name, "ge1", 3)) v = 1.0 + 3.0 * u;
            else if (!strncmp(name, "half", 4)) {
                v = floor(u * 20.0) / 2.0 - 5.0;
                if (v == 0) v = 2.5;
            } else if (!strncmp(name, "big", 3)) v = 600.0 * u - 300.0;
            else if (!strncmp(name, "spec", 4)) {
                static const double sp[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0};
                int64_t r = (int64_t)(rng(s) % 10);
                v = r < 5 ? sp[r] : 6.0 * u - 3.0;
            } else {
                v = 6.0 * u - 3.0;
                if (fabs(v) < 0.01) v = 0.37;
            }
            ing_store_f64(dt, p, i, v);
        }
    }
}

static void shape_str(int rank, const int64_t *dims, char *buf, size_t cap)
{
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < rank && o < cap; d++) o += (size_t)snprintf(buf + o, cap - o, d ? "x%lld" : "%lld", (long long)dims[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* ---- the check --------------------------------------------------------------------------- */

static ingot_status build(const uint8_t *bytes, size_t len, ingot_backend be, ingot_engine **e)
{
    const char *off[64];
    size_t n = ingot_pass_count();
    if (n > 64) n = 64;
    for (size_t i = 0; i < n; i++) off[i] = ingot_pass_name(i, NULL);
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = be;
    o.disabled_passes = off;
    o.n_disabled_passes = n;
    return ingot_builder_build_buffer(bytes, len, &o, e);
}

/* Compare output `name` of both contexts; 1 when equal, else why[] says where. */
static int compare(const char *name, const ingot_tensor_info *ia, const void *da, size_t sa,
                   const ingot_tensor_info *ib, const void *db, size_t sb, double rtol, double atol,
                   char *why, size_t cap)
{
    char s1[128], s2[128];
    shape_str(ia->rank, ia->dims, s1, sizeof s1);
    shape_str(ib->rank, ib->dims, s2, sizeof s2);
    if (sa != sb || ia->dtype != ib->dtype || ia->rank != ib->rank) {
        snprintf(why, cap, "output '%s': cuda %s %s (%zu bytes) vs cpu %s %s (%zu bytes)", name,
                 ingot_dtype_name(ia->dtype), s1, sa, ingot_dtype_name(ib->dtype), s2, sb);
        return 0;
    }
    size_t esz = ingot_dtype_size(ia->dtype);
    size_t n = esz ? sa / esz : 0;
    int dt = ia->dtype;
    for (size_t k = 0; k < n; k++) {
        if (dt == BOOL && ((const uint8_t *)da)[k] > 1) {
            snprintf(why, cap, "output '%s' %s %s: element %zu not written (byte 0x%02x)", name,
                     ingot_dtype_name(dt), s1, k, ((const uint8_t *)da)[k]);
            return 0;
        }
        if (!ing_dtype_is_float(dt)) {
            int64_t x = ing_load_i64(dt, da, k), y = ing_load_i64(dt, db, k);
            if (dt == INGOT_DTYPE_U64) {
                x = (int64_t)ing_load_u64(dt, da, k);
                y = (int64_t)ing_load_u64(dt, db, k);
            }
            if (x != y) {
                snprintf(why, cap, "output '%s' %s %s: element %zu is %lld on CUDA, %lld on CPU", name,
                         ingot_dtype_name(dt), s1, k, (long long)x, (long long)y);
                return 0;
            }
            continue;
        }
        double x = ing_load_f64(dt, da, k), y = ing_load_f64(dt, db, k);
        if (isnan(x) && isnan(y)) continue;
        if (x == y) continue;
        if (isnan(x) || isnan(y) || isinf(x) || isinf(y) || fabs(x - y) > atol + rtol * fabs(y)) {
            snprintf(why, cap, "output '%s' %s %s: element %zu is %.9g on CUDA, %.9g on CPU "
                     "(tolerance %g + %g rel)%s", name, ingot_dtype_name(dt), s1, k, x, y, atol, rtol,
                     isnan(x) ? " (NaN: unwritten?)" : "");
            return 0;
        }
    }
    return 1;
}

/* Build g for both backends and run both RUNS times, comparing every output. expect_cuda: the
 * node must run on the CUDA kernel (1) or on the CPU fallback (0). label names the case. */
static void check(gu_graph *g, const char *op, const char *label, double rtol, double atol, int expect_cuda,
                  uint64_t seed)
{
    size_t len = 0;
    uint8_t *bytes = gu_pack(g, &len);
    ingot_engine *ec = NULL, *eg = NULL;
    ingot_context *cc = NULL, *cg = NULL;
    void *in_bufs[8] = {0}, *out_bufs[4] = {0};
    int ok = 1;
    char why[768] = "", ins[256] = "";
    ingot_status st = no_gpu ? INGOT_ERR_BACKEND : build(bytes, len, INGOT_BACKEND_CUDA, &eg);
    if (st == INGOT_ERR_BACKEND) {
        if (!no_gpu) printf("SKIP: no usable CUDA device: %s\n", ingot_last_error());
        no_gpu = 1;
        goto done;
    }
    if (st != INGOT_OK) {
        snprintf(why, sizeof why, "CUDA build: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    if (build(bytes, len, INGOT_BACKEND_CPU, &ec) != INGOT_OK) {
        snprintf(why, sizeof why, "CPU build: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    {
        char want[96];
        snprintf(want, sizeof want, "%s.%s", expect_cuda ? "cuda" : "cpu-fallback", op);
        if (!gu_steps_use(eg, op, want, why, sizeof why)) {
            ok = 0;
            goto done;
        }
    }
    if (ingot_context_create(eg, &cg) != INGOT_OK || ingot_context_create(ec, &cc) != INGOT_OK) {
        snprintf(why, sizeof why, "context: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    size_t n_in = ingot_engine_num_inputs(eg), n_out = ingot_engine_num_outputs(eg);
    if (n_in > 8 || n_out > 4) {
        snprintf(why, sizeof why, "too many inputs/outputs for the test (%zu, %zu)", n_in, n_out);
        ok = 0;
        goto done;
    }
    for (size_t i = 0; i < n_in; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(eg, i, &info);
        char sh[128];
        shape_str(info.rank, info.dims, sh, sizeof sh);
        size_t o = strlen(ins);
        snprintf(ins + o, sizeof ins - o, "%s%s %s%s", i ? ", " : "", info.name, ingot_dtype_name(info.dtype), sh);
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull | 1;
    for (int run = 0; run < RUNS && ok; run++) {
        for (size_t i = 0; i < n_in; i++) {
            ingot_tensor_info info;
            ingot_engine_get_input(eg, i, &info);
            ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
            for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
            size_t nb = ing_nbytes(&t);
            if (!in_bufs[i]) in_bufs[i] = malloc(nb ? nb : 1);
            fill(info.dtype, in_bufs[i], ing_numel(&t), info.name, &s);
            ingot_context_bind_input(cg, info.name, in_bufs[i], nb);
            ingot_context_bind_input(cc, info.name, in_bufs[i], nb);
        }
        for (size_t j = 0; j < n_out; j++) {
            ingot_tensor_info info;
            ingot_engine_get_output(eg, j, &info);
            ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
            for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
            size_t nb = ing_nbytes(&t);
            if (!out_bufs[j]) out_bufs[j] = malloc(nb ? nb : 1);
            memset(out_bufs[j], 0xFF, nb);
            ingot_context_bind_output(cg, info.name, out_bufs[j], nb);
        }
        if (ingot_context_run(cg, NULL) != INGOT_OK) {
            snprintf(why, sizeof why, "CUDA run %d: %s", run, ingot_last_error());
            ok = 0;
            break;
        }
        if (ingot_context_run(cc, NULL) != INGOT_OK) {
            snprintf(why, sizeof why, "CPU run %d: %s", run, ingot_last_error());
            ok = 0;
            break;
        }
        for (size_t j = 0; j < n_out && ok; j++) {
            ingot_tensor_info info, ia, ib;
            const void *da, *db;
            size_t sa, sb;
            ingot_engine_get_output(eg, j, &info);
            if (ingot_context_get_output(cg, info.name, &ia, &da, &sa) != INGOT_OK ||
                ingot_context_get_output(cc, info.name, &ib, &db, &sb) != INGOT_OK) {
                snprintf(why, sizeof why, "get_output '%s': %s", info.name, ingot_last_error());
                ok = 0;
                break;
            }
            char w[600];
            if (!compare(info.name, &ia, da, sa, &ib, db, sb, rtol, atol, w, sizeof w)) {
                snprintf(why, sizeof why, "run %d: %s", run, w);
                ok = 0;
            }
        }
    }
done:
    if (!no_gpu) {
        if (ok) n_pass++;
        else n_fail++;
        if (!ok || verbose)
            printf("%s %-14s %-40s inputs: %s%s%s\n", ok ? "ok  " : "FAIL", op, label, ins, ok ? "" : "\n     ",
                   ok ? "" : why);
    }
    for (int i = 0; i < 8; i++) free(in_bufs[i]);
    for (int j = 0; j < 4; j++) free(out_bufs[j]);
    ingot_context_destroy(cg);
    ingot_context_destroy(cc);
    ingot_engine_destroy(eg);
    ingot_engine_destroy(ec);
    free(bytes);
    gu_free(g);
}

/* ---- case builders -------------------------------------------------------------------------- */

#define TOL_EXACT 0.0, 0.0
#define MAXR 8

typedef struct shp {
    int rank;
    int64_t d[MAXR];
} shp;

static const shp S_MAIN = {3, {3, 5, 67}};

static void tol_for(int dt, int transcendental, double *rtol, double *atol)
{
    if (dt == F16) *rtol = 1e-3, *atol = 1e-3;
    else if (dt == BF16) *rtol = 8e-3, *atol = 8e-3;
    else if (dt == F32 || dt == F64) {
        *rtol = transcendental ? 2e-5 : 1e-5;
        *atol = transcendental ? 1e-6 : 1e-6;
    } else *rtol = 0, *atol = 0;
}

static uint64_t case_no;

/* Constant data for a const input (seeded, never zeros). */
static void add_const(gu_graph *g, const char *name, int dt, shp s)
{
    ing_tensor t = {.dtype = dt, .rank = s.rank};
    for (int d = 0; d < s.rank; d++) t.dims[d] = s.d[d];
    size_t nb = ing_nbytes(&t);
    void *p = malloc(nb ? nb : 1);
    uint64_t seed = 0xC0FFEEull + case_no * 7919;
    fill(dt, p, ing_numel(&t), name, &seed);
    gu_const(g, name, dt, s.rank, s.d, p);
    free(p);
}

typedef struct attr {
    const char *name;
    int kind; /* 'i', 'f', 's' */
    int64_t i;
    float f;
    const char *s;
} attr;

static void set_attrs(gu_graph *g, const attr *a, int n)
{
    for (int k = 0; k < n; k++) {
        if (a[k].kind == 'i') gu_attr_int(g, a[k].name, a[k].i);
        else if (a[k].kind == 'f') gu_attr_float(g, a[k].name, a[k].f);
        else gu_attr_string(g, a[k].name, a[k].s);
    }
}

static const char *dtn(int dt) { return ingot_dtype_name((ingot_dtype)dt); }

/* Unary: x named `xname` (its prefix picks the values). */
static void unary(const char *op, int opset, int dt, const char *xname, shp s, const attr *a, int na, int transc,
                  const char *note)
{
    case_no++;
    gu_graph *g = gu_new(opset);
    gu_input(g, xname, dt, s.rank, s.d);
    char ins[32];
    snprintf(ins, sizeof ins, "%s", xname);
    gu_node(g, op, "n", ins, "y");
    set_attrs(g, a, na);
    gu_output(g, "y");
    double rt, at;
    tol_for(dt, transc, &rt, &at);
    char label[128];
    snprintf(label, sizeof label, "%s %s", dtn(dt), note ? note : "");
    check(g, op, label, rt, at, 1, case_no);
}

/* Binary: a and b graph inputs (or b a constant when bconst). */
static void binary(const char *op, int opset, int dt, const char *an, shp sa, const char *bn, shp sb, int bconst,
                   const attr *at_, int na, int transc, int expect_cuda, const char *note)
{
    case_no++;
    gu_graph *g = gu_new(opset);
    gu_input(g, an, dt, sa.rank, sa.d);
    if (bconst) add_const(g, bn, dt, sb);
    else gu_input(g, bn, dt, sb.rank, sb.d);
    char ins[64];
    snprintf(ins, sizeof ins, "%s,%s", an, bn);
    gu_node(g, op, "n", ins, "y");
    set_attrs(g, at_, na);
    gu_output(g, "y");
    double rt, at;
    tol_for(dt, transc, &rt, &at);
    char label[160], s1[64], s2[64];
    shape_str(sa.rank, sa.d, s1, sizeof s1);
    shape_str(sb.rank, sb.d, s2, sizeof s2);
    snprintf(label, sizeof label, "%s %s%s%s %s", dtn(dt), s1, s2, bconst ? "(const)" : "", note ? note : "");
    check(g, op, label, rt, at, expect_cuda, case_no);
}

static shp S(int rank, ...)
{
    shp s = {rank, {0}};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) s.d[i] = va_arg(ap, int64_t);
    va_end(ap);
    return s;
}
#define SH(...) S(__VA_ARGS__)
#define L(x) ((int64_t)(x))

/* ---- the cases ------------------------------------------------------------------------------ */

static void unary_cases(void)
{
    static const struct {
        const char *op;
        const char *x;
        int transc;
        int opset;
    } fl[] = {
        {"Abs", "x", 0, 18},        {"Neg", "x", 0, 18},         {"Exp", "x", 1, 18},
        {"Log", "pos", 1, 18},      {"Sqrt", "pos", 1, 18},      {"Reciprocal", "pos", 0, 18},
        {"Sin", "x", 1, 18},        {"Cos", "x", 1, 18},         {"Tanh", "x", 1, 18},
        {"Sigmoid", "x", 1, 18},    {"Erf", "x", 1, 18},         {"Ceil", "half", 0, 18},
        {"Ceil", "x", 0, 18},       {"Floor", "half", 0, 18},    {"Floor", "x", 0, 18},
        {"Round", "half", 0, 18},   {"Round", "x", 0, 18},       {"Sign", "spec", 0, 18},
        {"Relu", "spec", 0, 18},    {"Relu", "x", 0, 18},        {"LeakyRelu", "x", 0, 18},
        {"Elu", "x", 1, 18},        {"Selu", "x", 1, 18},        {"Celu", "x", 1, 18},
        {"HardSigmoid", "x", 0, 18}, {"HardSwish", "x", 0, 18},  {"Softplus", "x", 1, 18},
        {"Softsign", "x", 0, 18},   {"Gelu", "x", 1, 20},        {"Swish", "x", 1, 24},
        {"Mish", "x", 1, 18},       {"IsNaN", "spec", 0, 18},    {"IsInf", "spec", 0, 18},
        {"Exp", "spec", 1, 18},     {"Sigmoid", "spec", 1, 18},  {"Tanh", "spec", 1, 18},
        {"Tan", "unit", 1, 18},     {"Asin", "unit", 1, 18},     {"Acos", "unit", 1, 18},
        {"Atan", "x", 1, 18},       {"Sinh", "x", 1, 18},        {"Cosh", "x", 1, 18},
        {"Asinh", "x", 1, 18},      {"Acosh", "ge1", 1, 18},     {"Atanh", "unit", 1, 18},
        {"ThresholdedRelu", "x", 0, 18}, {"Shrink", "x", 0, 18},
    };
    const int dts[] = {F32, F16, BF16};
    for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
        for (int d = 0; d < 3; d++) unary(fl[k].op, fl[k].opset, dts[d], fl[k].x, S_MAIN, NULL, 0, fl[k].transc, fl[k].x);

    /* attributes off their defaults */
    attr lr[] = {{"alpha", 'f', 0, 0.3f, NULL}};
    unary("LeakyRelu", 18, F32, "x", S_MAIN, lr, 1, 0, "alpha=0.3");
    attr elu[] = {{"alpha", 'f', 0, 0.5f, NULL}};
    unary("Elu", 18, F32, "x", S_MAIN, elu, 1, 1, "alpha=0.5");
    attr selu[] = {{"alpha", 'f', 0, 1.5f, NULL}, {"gamma", 'f', 0, 0.75f, NULL}};
    unary("Selu", 18, F32, "x", S_MAIN, selu, 2, 1, "alpha=1.5 gamma=0.75");
    attr celu[] = {{"alpha", 'f', 0, 1.7f, NULL}};
    unary("Celu", 18, F32, "x", S_MAIN, celu, 1, 1, "alpha=1.7");
    unary("Celu", 18, F16, "x", S_MAIN, celu, 1, 1, "alpha=1.7");
    attr hs[] = {{"alpha", 'f', 0, 0.35f, NULL}, {"beta", 'f', 0, 0.45f, NULL}};
    unary("HardSigmoid", 18, F32, "x", S_MAIN, hs, 2, 0, "alpha=.35 beta=.45");
    attr gt[] = {{"approximate", 's', 0, 0, "tanh"}};
    unary("Gelu", 20, F32, "x", S_MAIN, gt, 1, 1, "approximate=tanh");
    unary("Gelu", 20, F16, "x", S_MAIN, gt, 1, 1, "approximate=tanh");
    unary("Gelu", 20, BF16, "x", S_MAIN, gt, 1, 1, "approximate=tanh");
    attr sw[] = {{"alpha", 'f', 0, 1.702f, NULL}};
    unary("Swish", 24, F32, "x", S_MAIN, sw, 1, 1, "alpha=1.702");
    attr tr[] = {{"alpha", 'f', 0, -0.4f, NULL}};
    unary("ThresholdedRelu", 18, F32, "x", S_MAIN, tr, 1, 0, "alpha=-0.4");
    attr sh[] = {{"bias", 'f', 0, 0.3f, NULL}, {"lambd", 'f', 0, 1.1f, NULL}};
    unary("Shrink", 18, F32, "x", S_MAIN, sh, 2, 0, "bias=0.3 lambd=1.1");
    unary("Shrink", 18, F16, "x", S_MAIN, sh, 2, 0, "bias=0.3 lambd=1.1");
    attr ii[] = {{"detect_negative", 'i', 0, 0, NULL}};
    unary("IsInf", 18, F32, "spec", S_MAIN, ii, 1, 0, "detect_negative=0");
    attr ip[] = {{"detect_positive", 'i', 0, 0, NULL}};
    unary("IsInf", 18, F16, "spec", S_MAIN, ip, 1, 0, "detect_positive=0");

    /* integer forms */
    const char *iops[] = {"Abs", "Neg", "Sign", "Relu"};
    for (int k = 0; k < 4; k++) {
        unary(iops[k], 18, I32, "x", S_MAIN, NULL, 0, 0, "");
        unary(iops[k], 18, I64, "x", S_MAIN, NULL, 0, 0, "");
    }
    unary("Not", 18, BOOL, "x", S_MAIN, NULL, 0, 0, "");

    /* shapes: scalar, one element, empty-free odd sizes, large (grid-stride: > 65535 blocks of 256) */
    unary("Relu", 18, F32, "x", SH(0), NULL, 0, 0, "scalar");
    unary("Sigmoid", 18, F32, "x", SH(1, L(1)), NULL, 0, 1, "one element");
    unary("Tanh", 18, F32, "x", SH(2, L(4099), L(4099)), NULL, 0, 1, "16.8M elements");
    unary("Relu", 18, F16, "x", SH(8, L(2), L(3), L(1), L(5), L(2), L(1), L(3), L(7)), NULL, 0, 0, "rank 8");
}

static void clip_cases(void)
{
    const int dts[] = {F32, F16, BF16, I32, I64};
    for (int k = 0; k < 5; k++) {
        int dt = dts[k];
        double rt, at;
        tol_for(dt, 0, &rt, &at);
        /* constant bounds (host values in the parameters) */
        case_no++;
        gu_graph *g = gu_new(18);
        gu_input(g, ing_dtype_is_int(dt) ? "x" : "spec", dt, S_MAIN.rank, S_MAIN.d);
        float lo = -1.25f, hi = 0.75f;
        int32_t l32 = -7, h32 = 9;
        int64_t l64 = -7, h64 = 9;
        uint16_t lh, hh;
        const void *pl = &lo, *ph = &hi;
        if (dt == F16) lh = ing_f32_to_f16(lo), hh = ing_f32_to_f16(hi), pl = &lh, ph = &hh;
        if (dt == BF16) lh = ing_f32_to_bf16(lo), hh = ing_f32_to_bf16(hi), pl = &lh, ph = &hh;
        if (dt == I32) pl = &l32, ph = &h32;
        if (dt == I64) pl = &l64, ph = &h64;
        gu_const(g, "lo", dt, 0, NULL, pl);
        gu_const(g, "hi", dt, 0, NULL, ph);
        gu_node(g, "Clip", "n", ing_dtype_is_int(dt) ? "x,lo,hi" : "spec,lo,hi", "y");
        gu_output(g, "y");
        char label[96];
        snprintf(label, sizeof label, "%s const min,max", dtn(dt));
        check(g, "Clip", label, rt, at, 1, case_no);

        /* bounds fed at run time: read on the device */
        case_no++;
        g = gu_new(18);
        gu_input(g, "x", dt, S_MAIN.rank, S_MAIN.d);
        gu_input(g, "lo", dt, 0, NULL);
        gu_input(g, "hi", dt, 0, NULL);
        gu_node(g, "Clip", "n", "x,lo,hi", "y");
        gu_output(g, "y");
        snprintf(label, sizeof label, "%s runtime min,max", dtn(dt));
        check(g, "Clip", label, rt, at, 1, case_no);

        /* only max (min omitted) */
        case_no++;
        g = gu_new(18);
        gu_input(g, "x", dt, S_MAIN.rank, S_MAIN.d);
        gu_const(g, "hi", dt, 0, NULL, ph);
        gu_node(g, "Clip", "n", "x,,hi", "y");
        gu_output(g, "y");
        snprintf(label, sizeof label, "%s max only", dtn(dt));
        check(g, "Clip", label, rt, at, 1, case_no);
    }
    /* opset 6: min/max attributes, turned into inputs by the importer */
    case_no++;
    gu_graph *g = gu_new(6);
    gu_input(g, "x", F32, S_MAIN.rank, S_MAIN.d);
    gu_node(g, "Clip", "n", "x", "y");
    gu_attr_float(g, "min", -0.5f);
    gu_attr_float(g, "max", 1.5f);
    gu_output(g, "y");
    check(g, "Clip", "f32 opset 6 attributes", 1e-5, 0, 1, case_no);
    /* no bounds at all */
    unary("Clip", 18, F32, "x", S_MAIN, NULL, 0, 0, "no bounds");
}

static void binary_cases(void)
{
    const shp same = S_MAIN, a4 = SH(4, L(2), L(3), L(4), L(5)), b2 = SH(2, L(4), L(1));
    const shp c3 = SH(3, L(3), L(1), L(5)), d3 = SH(3, L(1), L(4), L(1)), sc = SH(0);
    const shp r8a = SH(8, L(2), L(1), L(2), L(3), L(1), L(2), L(1), L(3));
    const shp r8b = SH(7, L(2), L(1), L(3), L(2), L(1), L(2), L(1));
    static const struct {
        const char *op;
        const char *a, *b;
        int transc;
    } ar[] = {
        {"Add", "x", "y", 0}, {"Sub", "x", "y", 0}, {"Mul", "x", "y", 0}, {"Div", "x", "nzy", 0},
        {"Max", "spec", "y", 0}, {"Min", "spec", "y", 0}, {"PRelu", "x", "y", 0}, {"Pow", "pos", "y", 1},
        {"Mod", "big", "x", 0},
        {"Equal", "half", "halfy", 0}, {"Less", "half", "halfy", 0}, {"Greater", "half", "halfy", 0},
        {"LessOrEqual", "half", "halfy", 0}, {"GreaterOrEqual", "half", "halfy", 0},
    };
    const int dts[] = {F32, F16, BF16, I32, I64};
    for (size_t k = 0; k < sizeof ar / sizeof ar[0]; k++)
        for (int d = 0; d < 5; d++) {
            int dt = dts[d];
            int isint = ing_dtype_is_int(dt);
            if (isint && !strcmp(ar[k].op, "Pow")) continue;
            attr fm[] = {{"fmod", 'i', 1, 0, NULL}};
            int na = !strcmp(ar[k].op, "Mod") && !isint ? 1 : 0; /* floats need fmod=1 */
            int divlike = !strcmp(ar[k].op, "Div") || !strcmp(ar[k].op, "Mod");
            const char *an = isint && !strcmp(ar[k].a, "big") ? "x" : ar[k].a;
            const char *bn = isint && divlike ? "nzy" : ar[k].b;
            /* integer Div/Mod need a host-known divisor: a constant; a runtime one falls back */
            int bconst = isint && divlike;
            binary(ar[k].op, 18, dt, an, same, bn, same, bconst, fm, na, ar[k].transc, 1, "same shape");
            if (isint && divlike) {
                binary(ar[k].op, 18, dt, an, same, bn, same, 0, fm, na, 0, 0, "runtime divisor: CPU fallback");
                binary(ar[k].op, 18, dt, an, a4, bn, b2, 1, fm, na, 0, 1, "broadcast");
                continue;
            }
            if (!strcmp(ar[k].op, "PRelu")) { /* slope broadcasts to x only */
                binary(ar[k].op, 18, dt, an, a4, bn, b2, 0, NULL, 0, 0, 1, "slope [4,1]");
                binary(ar[k].op, 18, dt, an, a4, bn, SH(3, L(3), L(1), L(1)), 1, NULL, 0, 0, 1, "const slope [3,1,1]");
                continue;
            }
            binary(ar[k].op, 18, dt, an, a4, bn, b2, 0, fm, na, ar[k].transc, 1, "broadcast b");
            binary(ar[k].op, 18, dt, an, c3, bn, d3, 0, fm, na, ar[k].transc, 1, "both broadcast");
            binary(ar[k].op, 18, dt, an, sc, bn, a4, 0, fm, na, ar[k].transc, 1, "scalar a");
            binary(ar[k].op, 18, dt, an, a4, bn, sc, 1, fm, na, ar[k].transc, 1, "const scalar b");
            binary(ar[k].op, 18, dt, an, r8a, bn, r8b, 0, fm, na, ar[k].transc, 1, "rank 8");
        }
    /* Mod with the divisor's sign (fmod=0): floats and integers */
    attr f0[] = {{"fmod", 'i', 0, 0, NULL}};
    binary("Mod", 18, F32, "big", same, "x", same, 0, f0, 1, 0, 1, "fmod=0");
    binary("Mod", 18, I64, "x", same, "nzy", same, 1, f0, 1, 0, 1, "fmod=0");
    binary("Mod", 18, I32, "x", a4, "nzy", b2, 1, f0, 1, 0, 1, "fmod=0 broadcast");
    /* Sum of two, Sum/Max/Min of one (a copy), Sum of three (the CPU) */
    binary("Sum", 18, F32, "x", a4, "y", b2, 0, NULL, 0, 0, 1, "two inputs");
    binary("Sum", 18, I64, "x", same, "y", same, 0, NULL, 0, 0, 1, "two inputs");
    const char *vops[] = {"Sum", "Max", "Min"};
    for (int k = 0; k < 3; k++) {
        case_no++;
        gu_graph *g1 = gu_new(18);
        gu_input(g1, "x", F16, 4, a4.d);
        gu_node(g1, vops[k], "n", "x", "z");
        gu_output(g1, "z");
        check(g1, vops[k], "f16 one input", TOL_EXACT, 1, case_no);
    }
    {
        case_no++;
        gu_graph *g3 = gu_new(18);
        gu_input(g3, "x", F32, 4, a4.d);
        gu_input(g3, "y", F32, 4, a4.d);
        gu_input(g3, "w", F32, 4, a4.d);
        gu_node(g3, "Sum", "n", "x,y,w", "z");
        gu_output(g3, "z");
        check(g3, "Sum", "f32 three inputs: CPU fallback", 1e-5, 0, 0, case_no);
    }
    /* bool Equal and logic */
    const char *lops[] = {"Equal", "And", "Or", "Xor"};
    for (int k = 0; k < 4; k++) {
        binary(lops[k], 18, BOOL, "a", same, "b", same, 0, NULL, 0, 0, 1, "same shape");
        binary(lops[k], 18, BOOL, "a", c3, "b", d3, 0, NULL, 0, 0, 1, "both broadcast");
    }
    /* large: the grid-stride loop and 32-bit broadcast indexes near their limit */
    binary("Add", 18, F32, "x", SH(2, L(5), L(4200000)), "y", SH(2, L(5), L(4200000)), 0, NULL, 0, 0, 1, "21M same");
    binary("Mul", 18, F32, "x", SH(3, L(64), L(1024), L(300)), "y", SH(3, L(64), L(1), L(300)), 0, NULL, 0, 0, 1,
           "19.7M broadcast");
    /* pre-opset-7 broadcast attribute: B [3,4] aligned at axis 1 of A [2,3,4,5] */
    case_no++;
    gu_graph *g = gu_new(6);
    gu_input(g, "x", F32, 4, a4.d);
    gu_input(g, "y", F32, 2, (int64_t[]){3, 4});
    gu_node(g, "Add", "n", "x,y", "z");
    gu_attr_int(g, "broadcast", 1);
    gu_attr_int(g, "axis", 1);
    gu_output(g, "z");
    check(g, "Add", "f32 opset 6 broadcast=1 axis=1", 1e-5, 0, 1, case_no);
    /* mixed-dtype Pow is left to the CPU */
    case_no++;
    g = gu_new(18);
    gu_input(g, "pos", F32, S_MAIN.rank, S_MAIN.d);
    gu_input(g, "e", I64, S_MAIN.rank, S_MAIN.d);
    gu_node(g, "Pow", "n", "pos,e", "z");
    gu_output(g, "z");
    check(g, "Pow", "f32 ^ i64: CPU fallback", 1e-5, 0, 0, case_no);
}

static void where_cases(void)
{
    const int dts[] = {F32, F16, BF16, I32, I64, BOOL, U8, F64};
    const shp a4 = SH(4, L(2), L(3), L(4), L(5)), b2 = SH(2, L(4), L(1)), c1 = SH(1, L(5)), s0 = SH(0);
    for (int k = 0; k < 8; k++) {
        int dt = dts[k];
        for (int v = 0; v < 3; v++) {
            shp sc = v == 0 ? a4 : v == 1 ? b2 : s0, sx = v == 0 ? a4 : v == 1 ? c1 : a4, sy = v == 0 ? a4 : v == 1 ? s0 : b2;
            case_no++;
            gu_graph *g = gu_new(18);
            gu_input(g, "c", BOOL, sc.rank, sc.d);
            gu_input(g, "x", dt, sx.rank, sx.d);
            gu_input(g, "y", dt, sy.rank, sy.d);
            gu_node(g, "Where", "n", "c,x,y", "z");
            gu_output(g, "z");
            char label[96];
            snprintf(label, sizeof label, "%s %s", dtn(dt), v == 0 ? "same shape" : "3-way broadcast");
            check(g, "Where", label, TOL_EXACT, 1, case_no);
        }
    }
}

static void cast_cases(void)
{
    const int dts[] = {F32, F16, BF16, F64, I32, I64, I8, U8, BOOL};
    const int n = 9;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int sdt = dts[i], ddt = dts[j];
            const char *xs[2] = {"x", ing_dtype_is_float(sdt) ? (sdt == F16 ? "spec" : "big")
                                      : sdt == I64 || sdt == I32 ? "huge" : "x"};
            for (int v = 0; v < 2; v++) {
                if (v == 1 && !strcmp(xs[1], "x")) continue;
                case_no++;
                gu_graph *g = gu_new(19);
                gu_input(g, xs[v], sdt, S_MAIN.rank, S_MAIN.d);
                gu_node(g, "Cast", "n", xs[v], "y");
                gu_attr_int(g, "to", ddt);
                gu_output(g, "y");
                char label[96];
                snprintf(label, sizeof label, "%s -> %s (%s values)", dtn(sdt), dtn(ddt), xs[v]);
                check(g, "Cast", label, TOL_EXACT, 1, case_no);
            }
        }
    /* NaN and inf into every integer and bool */
    for (int j = 4; j < n; j++) {
        case_no++;
        gu_graph *g = gu_new(19);
        gu_input(g, "spec", F32, S_MAIN.rank, S_MAIN.d);
        gu_node(g, "Cast", "n", "spec", "y");
        gu_attr_int(g, "to", dts[j]);
        gu_output(g, "y");
        char label[96];
        snprintf(label, sizeof label, "f32 -> %s (NaN, inf, -0)", dtn(dts[j]));
        check(g, "Cast", label, TOL_EXACT, 1, case_no);
    }
    /* large f32 -> f16 (the fast path) past one grid */
    case_no++;
    gu_graph *g = gu_new(19);
    gu_input(g, "x", F32, 2, (int64_t[]){4099, 4099});
    gu_node(g, "Cast", "n", "x", "y");
    gu_attr_int(g, "to", F16);
    gu_output(g, "y");
    check(g, "Cast", "f32 -> f16 16.8M", TOL_EXACT, 1, case_no);
    /* CastLike */
    case_no++;
    g = gu_new(19);
    gu_input(g, "x", F32, S_MAIN.rank, S_MAIN.d);
    gu_input(g, "like", F16, 1, (int64_t[]){2});
    gu_node(g, "CastLike", "n", "x,like", "y");
    gu_output(g, "y");
    check(g, "CastLike", "f32 like f16", TOL_EXACT, 1, case_no);
}

static void copy_cases(void)
{
    const int dts[] = {F32, F16, I64, BOOL};
    for (int k = 0; k < 4; k++) {
        case_no++;
        gu_graph *g = gu_new(18);
        gu_input(g, "x", dts[k], S_MAIN.rank, S_MAIN.d);
        gu_node(g, "Identity", "n", "x", "y");
        gu_output(g, "y");
        check(g, "Identity", dtn(dts[k]), TOL_EXACT, 1, case_no);
    }
    /* Dropout 13: output and bool mask; Dropout 7: output only */
    case_no++;
    gu_graph *g = gu_new(13);
    gu_input(g, "x", F32, S_MAIN.rank, S_MAIN.d);
    gu_node(g, "Dropout", "n", "x", "y,mask");
    gu_output(g, "y");
    gu_output(g, "mask");
    check(g, "Dropout", "f32 opset 13 with mask", TOL_EXACT, 1, case_no);
    case_no++;
    g = gu_new(13);
    gu_input(g, "x", F16, S_MAIN.rank, S_MAIN.d);
    gu_const(g, "r", F32, 0, NULL, (float[]){0.25f});
    gu_const(g, "t", BOOL, 0, NULL, (uint8_t[]){0});
    gu_node(g, "Dropout", "n", "x,r,t", "y,mask");
    gu_output(g, "y");
    gu_output(g, "mask");
    check(g, "Dropout", "f16 opset 13 ratio, training_mode=false", TOL_EXACT, 1, case_no);
    case_no++;
    g = gu_new(7);
    gu_input(g, "x", F32, S_MAIN.rank, S_MAIN.d);
    gu_node(g, "Dropout", "n", "x", "y");
    gu_output(g, "y");
    check(g, "Dropout", "f32 opset 7", TOL_EXACT, 1, case_no);
}

int main(int argc, char **argv)
{
    verbose = argc > 1 && !strcmp(argv[1], "-v");
    const char *only = getenv("EW_ONLY"); /* a group: unary, clip, binary, where, cast, copy */
#define GROUP(name, fn)                                                                          \
    if (!no_gpu && (!only || !strcmp(only, name))) fn();
    GROUP("unary", unary_cases)
    GROUP("clip", clip_cases)
    GROUP("binary", binary_cases)
    GROUP("where", where_cases)
    GROUP("cast", cast_cases)
    GROUP("copy", copy_cases)
    if (no_gpu) return 77;
    printf("test_cuda_ew: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
