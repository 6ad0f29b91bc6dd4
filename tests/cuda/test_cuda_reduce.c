/* The reduce family's CUDA kernels against the CPU backend: for each case a one-node ONNX graph
 * is built twice (CUDA and CPU), run on the same seeded random inputs (never zeros), and every
 * output element compared with |cuda - cpu| <= atol + rtol |cpu|. The CUDA run writes into
 * caller buffers poisoned with NaN bytes (0x7F bytes for integers), so an element the kernel
 * never wrote shows up. Each case also asserts that the build chose the CUDA kernel
 * ("cuda.<op>"), not the CPU fallback.
 *
 * Tolerances (stated per case below): f32 1e-5 relative plus 1e-5 absolute (reordered sums can
 * cancel to near zero); exp/log ops (Softmax, LogSoftmax, LogSum, LogSumExp) 2e-5 relative;
 * f16 1e-3 + 1e-3 (one f16 ulp); bf16 8e-3 + 8e-3 (one bf16 ulp); ArgMax/ArgMin and integer
 * CumSum exact.
 *
 * Exits 77 (skipped) when there is no usable GPU; otherwise prints one line per case and
 * "N passed, N failed", exit 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "engine/plan.h"
#include "graph_util.h"
#include "runtime/runtime.h"

#ifdef INGOT_WITH_CUDA
#include <cuda_runtime.h>

#include "backend/cuda/kernels/reduce.h"
#endif

#define F32 INGOT_DTYPE_F32
#define F16 INGOT_DTYPE_F16
#define BF16 INGOT_DTYPE_BF16
#define I32 INGOT_DTYPE_I32
#define I64 INGOT_DTYPE_I64

static int n_pass, n_fail, no_gpu;

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Inputs whose name starts with "pos" get values in [0.5, 1.5) (logs, variances, products);
 * other float inputs [-2, -0.01] U [0.01, 2); integers -50..50 without 0. */
static void fill(int dt, void *p, int64_t n, const char *name, uint64_t *s)
{
    int pos = strncmp(name, "pos", 3) == 0;
    for (int64_t k = 0; k < n; k++) {
        double u = (double)(rng(s) >> 11) / 9007199254740992.0;
        if (dt == I32 || dt == I64) {
            int64_t v = (int64_t)(u * 100.0) - 50;
            if (v == 0) v = 7;
            ing_store_i64(dt, p, (size_t)k, v);
        } else {
            double v = pos ? 0.5 + u : 4.0 * u - 2.0;
            if (fabs(v) < 0.01) v = 0.37;
            ing_store_f64(dt, p, (size_t)k, v);
        }
    }
}

static int is_int(int dt) { return dt == I32 || dt == I64; }

static void shape_str(const ingot_tensor_info *t, char *buf, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int d = 0; d < t->rank && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, d ? "x%lld" : "%lld", (long long)t->dims[d]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* Build g for both backends, run both, compare. label names the case in the output. */
static void check(gu_graph *g, const char *op, const char *label, double rtol, double atol, uint64_t seed)
{
    size_t len = 0;
    uint8_t *bytes = gu_pack(g, &len);
    ingot_engine *ec = NULL, *eg = NULL;
    ingot_context *cc = NULL, *cg = NULL;
    void *in_bufs[16] = {0}, *out_bufs[8] = {0};
    size_t out_sizes[8] = {0};
    int ok = 1;
    char why[512] = "";
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = INGOT_BACKEND_CUDA;
    ingot_status st = ingot_builder_build_buffer(bytes, len, &o, &eg);
    if (st == INGOT_ERR_BACKEND) {
        printf("SKIP: no usable CUDA device: %s\n", ingot_last_error());
        no_gpu = 1;
        goto done;
    }
    if (st != INGOT_OK) {
        snprintf(why, sizeof why, "CUDA build: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    o.backend = INGOT_BACKEND_CPU;
    if (ingot_builder_build_buffer(bytes, len, &o, &ec) != INGOT_OK) {
        snprintf(why, sizeof why, "CPU build: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    /* the CUDA kernel, not the fallback, must run the node */
    {
        char want[96];
        snprintf(want, sizeof want, "cuda.%s", op);
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
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 12345;
    size_t n_in = ingot_engine_num_inputs(eg);
    for (size_t i = 0; i < n_in && i < 16; i++) {
        ingot_tensor_info info;
        ingot_engine_get_input(eg, i, &info);
        ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
        for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
        size_t nb = ing_nbytes(&t);
        in_bufs[i] = malloc(nb ? nb : 1);
        fill(info.dtype, in_bufs[i], ing_numel(&t), info.name, &s);
        ingot_context_bind_input(cg, info.name, in_bufs[i], nb);
        ingot_context_bind_input(cc, info.name, in_bufs[i], nb);
    }
    size_t n_out = ingot_engine_num_outputs(eg);
    for (size_t j = 0; j < n_out && j < 8; j++) {
        ingot_tensor_info info;
        ingot_engine_get_output(eg, j, &info);
        ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
        for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
        size_t nb = ing_nbytes(&t);
        out_sizes[j] = nb;
        out_bufs[j] = malloc(nb ? nb : 1);
        memset(out_bufs[j], is_int(info.dtype) ? 0x7F : 0xFF, nb ? nb : 1);
        ingot_context_bind_output(cg, info.name, out_bufs[j], nb);
    }
    if (ingot_context_run(cg, NULL) != INGOT_OK) {
        snprintf(why, sizeof why, "CUDA run: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    if (ingot_context_run(cc, NULL) != INGOT_OK) {
        snprintf(why, sizeof why, "CPU run: %s", ingot_last_error());
        ok = 0;
        goto done;
    }
    for (size_t j = 0; j < n_out && j < 8 && ok; j++) {
        ingot_tensor_info info, ia, ib;
        ingot_engine_get_output(eg, j, &info);
        const void *da, *db;
        size_t sa, sb;
        ingot_context_get_output(cg, info.name, &ia, &da, &sa);
        ingot_context_get_output(cc, info.name, &ib, &db, &sb);
        char sh[128];
        shape_str(&ib, sh, sizeof sh);
        if (sa != sb || ia.dtype != ib.dtype || sa != out_sizes[j]) {
            snprintf(why, sizeof why, "output '%s': CUDA %zu bytes dtype %d, CPU %zu bytes dtype %d %s",
                     info.name, sa, ia.dtype, sb, ib.dtype, sh);
            ok = 0;
            break;
        }
        size_t n = sa / (ingot_dtype_size(ia.dtype) ? ingot_dtype_size(ia.dtype) : 1);
        for (size_t k = 0; k < n; k++) {
            if (is_int(ia.dtype)) {
                int64_t x = ing_load_i64(ia.dtype, da, k), y = ing_load_i64(ib.dtype, db, k);
                if (x != y) {
                    snprintf(why, sizeof why, "output '%s' %s %s [%zu of %zu]: cuda %lld, cpu %lld%s",
                             info.name, ingot_dtype_name(ia.dtype), sh, k, n, (long long)x, (long long)y,
                             x == 0x7F7F7F7F7F7F7F7Fll || x == 0x7F7F7F7F ? " (never written)" : "");
                    ok = 0;
                    break;
                }
                continue;
            }
            double x = ing_load_f64(ia.dtype, da, k), y = ing_load_f64(ib.dtype, db, k);
            if (isnan(x) && isnan(y)) continue;
            if (isnan(x) || isnan(y) || fabs(x - y) > atol + rtol * fabs(y)) {
                snprintf(why, sizeof why, "output '%s' %s %s [%zu of %zu]: cuda %.9g, cpu %.9g%s "
                         "(rtol %g, atol %g)", info.name, ingot_dtype_name(ia.dtype), sh, k, n, x, y,
                         isnan(x) ? " (NaN: never written?)" : "", rtol, atol);
                ok = 0;
                break;
            }
        }
    }
done:
    if (!no_gpu) {
        if (ok) n_pass++;
        else n_fail++;
        printf("%s %s: %s%s%s\n", ok ? "PASS" : "FAIL", op, label, ok ? "" : ": ", why);
    }
    for (int i = 0; i < 16; i++) free(in_bufs[i]);
    for (int j = 0; j < 8; j++) free(out_bufs[j]);
    ingot_context_destroy(cg);
    ingot_context_destroy(cc);
    ingot_engine_destroy(eg);
    ingot_engine_destroy(ec);
    free(bytes);
    gu_free(g);
}

static double rt(int dt, double f32) { return dt == F16 ? 1e-3 : dt == BF16 ? 8e-3 : f32; }
static double at(int dt) { return dt == F16 ? 1e-3 : dt == BF16 ? 8e-3 : 1e-5; }

static uint64_t seed_no;

/* ---- cases ---- */

static void reduce_case(const char *op, int dt, int rank, const int64_t *dims, int n_axes,
                        const int64_t *axes, int keepdims, int noop, const char *xname, double rtol32)
{
    if (no_gpu) return;
    gu_graph *g = gu_new(18);
    gu_input(g, xname, dt, rank, dims);
    char inputs[64];
    if (n_axes >= 0) {
        gu_const(g, "axes", I64, 1, (int64_t[]){n_axes}, axes);
        snprintf(inputs, sizeof inputs, "%s,axes", xname);
    } else {
        snprintf(inputs, sizeof inputs, "%s", xname);
    }
    gu_node(g, op, "r", inputs, "y");
    gu_attr_int(g, "keepdims", keepdims);
    if (noop) gu_attr_int(g, "noop_with_empty_axes", 1);
    gu_output(g, "y");
    char label[400], ax[64] = "";
    size_t o = 0;
    for (int i = 0; i < n_axes && o < sizeof ax; i++) o += (size_t)snprintf(ax + o, sizeof ax - o, "%s%lld", i ? "," : "", (long long)axes[i]);
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "%s x%s axes={%s} keepdims=%d%s", ingot_dtype_name(dt), sh,
             n_axes < 0 ? "absent" : ax, keepdims, noop ? " noop_with_empty_axes" : "");
    /* Both sides sum in fp32 in different orders (the CPU one value after another), so the
     * rounding of a long sum grows about as sqrt(count) times that of one addition: the fp32
     * absolute tolerance grows with it past 64 reduced values (1e-5 up to 64, 3.4e-5 at 750). */
    double n_red = 1;
    for (int d = 0; d < rank; d++) {
        int reduced = n_axes <= 0 ? !(n_axes == 0 && noop) : 0;
        for (int i = 0; i < n_axes; i++) reduced |= axes[i] == d || axes[i] + rank == d;
        if (reduced) n_red *= (double)dims[d];
    }
    double atol = dt == F32 && n_red > 64 ? at(dt) * sqrt(n_red / 64) : at(dt);
    check(g, op, label, rt(dt, rtol32), atol, ++seed_no);
}

static void softmax_case(const char *op, int opset, int dt, int rank, const int64_t *dims, int64_t axis)
{
    if (no_gpu) return;
    gu_graph *g = gu_new(opset);
    gu_input(g, "x", dt, rank, dims);
    gu_node(g, op, "s", "x", "y");
    gu_attr_int(g, "axis", axis);
    gu_output(g, "y");
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "opset %d %s x%s axis=%lld", opset, ingot_dtype_name(dt), sh, (long long)axis);
    check(g, op, label, rt(dt, 2e-5), at(dt), ++seed_no);
}

static void argm_case(const char *op, int dt, int rank, const int64_t *dims, int64_t axis, int keepdims, int last)
{
    if (no_gpu) return;
    gu_graph *g = gu_new(13);
    gu_input(g, "x", dt, rank, dims);
    gu_node(g, op, "a", "x", "y");
    gu_attr_int(g, "axis", axis);
    gu_attr_int(g, "keepdims", keepdims);
    gu_attr_int(g, "select_last_index", last);
    gu_output(g, "y");
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "%s x%s axis=%lld keepdims=%d select_last_index=%d", ingot_dtype_name(dt), sh,
             (long long)axis, keepdims, last);
    check(g, op, label, 0, 0, ++seed_no);
}

static void cumsum_case(int dt, int rank, const int64_t *dims, int64_t axis, int exclusive, int reverse)
{
    if (no_gpu) return;
    gu_graph *g = gu_new(14);
    gu_input(g, "x", dt, rank, dims);
    gu_const(g, "axis", I64, 0, NULL, &axis);
    gu_node(g, "CumSum", "c", "x,axis", "y");
    gu_attr_int(g, "exclusive", exclusive);
    gu_attr_int(g, "reverse", reverse);
    gu_output(g, "y");
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "%s x%s axis=%lld exclusive=%d reverse=%d", ingot_dtype_name(dt), sh,
             (long long)axis, exclusive, reverse);
    check(g, "CumSum", label, is_int(dt) ? 0 : rt(dt, 1e-5), is_int(dt) ? 0 : at(dt), ++seed_no);
}

/* LayerNormalization (opset 17) or RMSNormalization (opset 23); pdims: Scale's (and B's) shape. */
static void ln_case(const char *op, int dt, int rank, const int64_t *dims, int64_t axis, int prank,
                    const int64_t *pdims, int with_bias, int stats)
{
    if (no_gpu) return;
    int rms = strcmp(op, "RMSNormalization") == 0;
    gu_graph *g = gu_new(rms ? 23 : 17);
    gu_input(g, "x", dt, rank, dims);
    gu_input(g, "scale", dt, prank, pdims);
    if (with_bias) gu_input(g, "bias", dt, prank, pdims);
    const char *outs = stats ? "y,mean,inv" : "y";
    gu_node(g, op, "n", with_bias ? "x,scale,bias" : "x,scale", outs);
    gu_attr_int(g, "axis", axis);
    gu_attr_float(g, "epsilon", 1e-5f);
    gu_output(g, "y");
    if (stats) {
        gu_output(g, "mean");
        gu_output(g, "inv");
    }
    ingot_tensor_info ti = {.rank = rank}, tp = {.rank = prank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    for (int d = 0; d < prank; d++) tp.dims[d] = pdims[d];
    char sh[96], sp[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    shape_str(&tp, sp, sizeof sp);
    snprintf(label, sizeof label, "%s x%s scale%s axis=%lld%s%s", ingot_dtype_name(dt), sh, sp, (long long)axis,
             with_bias ? " with B" : "", stats ? " with Mean/InvStdDev" : "");
    check(g, op, label, rt(dt, 1e-5), at(dt), ++seed_no);
}

static void gn_case(const char *op, int dt, int rank, const int64_t *dims, int64_t groups)
{
    if (no_gpu) return;
    int inst = strcmp(op, "InstanceNormalization") == 0;
    gu_graph *g = gu_new(inst ? 6 : 21);
    int64_t c = dims[1];
    gu_input(g, "x", dt, rank, dims);
    gu_input(g, "scale", dt, 1, &c);
    gu_input(g, "bias", dt, 1, &c);
    gu_node(g, op, "n", "x,scale,bias", "y");
    if (!inst) gu_attr_int(g, "num_groups", groups);
    gu_attr_float(g, "epsilon", 1e-5f);
    gu_output(g, "y");
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "%s x%s groups=%lld", ingot_dtype_name(dt), sh, (long long)(inst ? c : groups));
    check(g, op, label, rt(dt, 1e-5), at(dt), ++seed_no);
}

static void bn_case(int dt, int rank, const int64_t *dims)
{
    if (no_gpu) return;
    gu_graph *g = gu_new(15);
    int64_t c = dims[1];
    gu_input(g, "x", dt, rank, dims);
    gu_input(g, "scale", dt, 1, &c);
    gu_input(g, "bias", dt, 1, &c);
    gu_input(g, "mean", dt, 1, &c);
    gu_input(g, "pos_var", dt, 1, &c);
    gu_node(g, "BatchNormalization", "n", "x,scale,bias,mean,pos_var", "y");
    gu_attr_float(g, "epsilon", 1e-5f);
    gu_output(g, "y");
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "%s x%s (inference)", ingot_dtype_name(dt), sh);
    check(g, "BatchNormalization", label, rt(dt, 1e-5), at(dt), ++seed_no);
}

static void gpool_case(const char *op, int dt, int rank, const int64_t *dims)
{
    if (no_gpu) return;
    gu_graph *g = gu_new(13);
    gu_input(g, "x", dt, rank, dims);
    gu_node(g, op, "p", "x", "y");
    gu_output(g, "y");
    ingot_tensor_info ti = {.rank = rank};
    for (int d = 0; d < rank; d++) ti.dims[d] = dims[d];
    char sh[96], label[400];
    shape_str(&ti, sh, sizeof sh);
    snprintf(label, sizeof label, "%s x%s", ingot_dtype_name(dt), sh);
    check(g, op, label, rt(dt, 1e-5), at(dt), ++seed_no);
}

#ifdef INGOT_WITH_CUDA
/* ---- LayerNorm launcher called directly: pointers the runtime never hands out (offset by one
 * element, so the fast path must decline) and the fast path against the general kernel ---- */

/* Rows of x (m x d, dtype dt, already rounded to dt) normalized in double: the reference for the
 * direct cases. mean/inv: per row. */
static void ln_ref(int dt, const void *x, int64_t m, int64_t d, const void *sc, const void *bi, int rms,
                   double *y, double *mean, double *inv)
{
    for (int64_t r = 0; r < m; r++) {
        double mu = 0, var = 0;
        for (int64_t j = 0; !rms && j < d; j++) mu += ing_load_f64(dt, x, (size_t)(r * d + j));
        mu /= (double)d;
        for (int64_t j = 0; j < d; j++) {
            double c = ing_load_f64(dt, x, (size_t)(r * d + j)) - mu;
            var += c * c;
        }
        double iv = 1.0 / sqrt(var / (double)d + 1e-5);
        for (int64_t j = 0; j < d; j++) {
            double o = (ing_load_f64(dt, x, (size_t)(r * d + j)) - mu) * iv * ing_load_f64(dt, sc, (size_t)j);
            if (bi) o += ing_load_f64(dt, bi, (size_t)j);
            y[r * d + j] = o;
        }
        mean[r] = mu;
        inv[r] = iv;
    }
}

/* ingk_layernorm on [m, d] of dt with every pointer (x, y, scale, bias) offset by `off` elements
 * from a cudaMalloc base (off 1: misaligned for 16-byte vectors), outputs poisoned with NaN
 * bytes, compared with ln_ref; f32 Mean/InvStdDev too (LayerNorm). */
static void ln_direct_case(int dt, int64_t m, int64_t d, int off, int with_bias, int rms)
{
    if (no_gpu) return;
    size_t es = ingot_dtype_size(dt), nx = (size_t)(m * d);
    void *hx = malloc(nx * es), *hs = malloc((size_t)d * es), *hb = malloc((size_t)d * es), *hy = malloc(nx * es);
    double *ry = malloc(nx * sizeof(double)), *rm = malloc((size_t)m * sizeof(double)),
           *ri = malloc((size_t)m * sizeof(double));
    float *hm = malloc((size_t)m * sizeof(float)), *hi = malloc((size_t)m * sizeof(float));
    char *dx = NULL, *dy = NULL, *ds = NULL, *db = NULL;
    float *dm = NULL, *di = NULL;
    char why[400] = "";
    int ok = 0;
    if (!hx || !hs || !hb || !hy || !ry || !rm || !ri || !hm || !hi) {
        snprintf(why, sizeof why, "host allocation failed");
        goto done;
    }
    if (cudaMalloc((void **)&dx, (nx + 8) * es) || cudaMalloc((void **)&dy, (nx + 8) * es) ||
        cudaMalloc((void **)&ds, ((size_t)d + 8) * es) || cudaMalloc((void **)&db, ((size_t)d + 8) * es) ||
        cudaMalloc((void **)&dm, (size_t)m * sizeof(float)) || cudaMalloc((void **)&di, (size_t)m * sizeof(float))) {
        snprintf(why, sizeof why, "cudaMalloc failed");
        goto done;
    }
    uint64_t s = ++seed_no * 0x9E3779B97F4A7C15ull + 777;
    fill(dt, hx, (int64_t)nx, "x", &s);
    fill(dt, hs, d, "scale", &s);
    fill(dt, hb, d, "bias", &s);
    ln_ref(dt, hx, m, d, hs, with_bias ? hb : NULL, rms, ry, rm, ri);
    cudaMemcpy(dx + off * es, hx, nx * es, cudaMemcpyHostToDevice);
    cudaMemcpy(ds + off * es, hs, (size_t)d * es, cudaMemcpyHostToDevice);
    cudaMemcpy(db + off * es, hb, (size_t)d * es, cudaMemcpyHostToDevice);
    cudaMemset(dy, 0xFF, (nx + 8) * es);
    cudaMemset(dm, 0xFF, (size_t)m * sizeof(float));
    cudaMemset(di, 0xFF, (size_t)m * sizeof(float));
    int e = ingk_layernorm(dt, dx + off * es, dy + off * es, m, d, dt, ds + off * es, d,
                           with_bias ? db + off * es : NULL, with_bias ? d : 0, 1e-5f, rms, F32,
                           rms ? NULL : dm, rms ? NULL : di, NULL);
    if (!e) e = cudaDeviceSynchronize();
    if (e) {
        snprintf(why, sizeof why, "launch: %s", cudaGetErrorString((cudaError_t)e));
        goto done;
    }
    cudaMemcpy(hy, dy + off * es, nx * es, cudaMemcpyDeviceToHost);
    cudaMemcpy(hm, dm, (size_t)m * sizeof(float), cudaMemcpyDeviceToHost);
    cudaMemcpy(hi, di, (size_t)m * sizeof(float), cudaMemcpyDeviceToHost);
    double rtol = rt(dt, 1e-5), atol = at(dt);
    ok = 1;
    for (size_t k = 0; k < nx && ok; k++) {
        double v = ing_load_f64(dt, hy, k);
        if (!(fabs(v - ry[k]) <= atol + rtol * fabs(ry[k]))) {
            snprintf(why, sizeof why, "Y[%zu of %zu]: cuda %.9g, reference %.9g (rtol %g, atol %g)", k, nx, v,
                     ry[k], rtol, atol);
            ok = 0;
        }
    }
    for (int64_t r = 0; r < m && ok && !rms; r++) {
        /* the stats are f32 from f32 sums whatever dt is */
        if (!(fabs(hm[r] - rm[r]) <= 1e-5 + 1e-5 * fabs(rm[r])) || !(fabs(hi[r] - ri[r]) <= 1e-5 + 1e-5 * fabs(ri[r]))) {
            snprintf(why, sizeof why, "row %lld: Mean %.9g InvStdDev %.9g, reference %.9g %.9g", (long long)r,
                     hm[r], hi[r], rm[r], ri[r]);
            ok = 0;
        }
    }
done:
    if (ok) n_pass++;
    else n_fail++;
    printf("%s %s (launcher): %s [%lldx%lld] offset %d elements%s: %s%s\n", ok ? "PASS" : "FAIL",
           rms ? "RMSNormalization" : "LayerNormalization", ingot_dtype_name(dt), (long long)m, (long long)d, off,
           with_bias ? " with B" : "", off ? "general kernel (misaligned)" : "fast path if d allows", ok ? "" : why);
    cudaFree(dx), cudaFree(dy), cudaFree(ds), cudaFree(db), cudaFree(dm), cudaFree(di);
    free(hx), free(hs), free(hb), free(hy), free(ry), free(rm), free(ri), free(hm), free(hi);
}

/* Mean microseconds per launch over 200 launches (after 20 warm-up launches), CUDA events. */
static double ln_time(int general, int dt, const void *x, void *y, int64_t m, int64_t d, const void *sc,
                      const void *bi)
{
    cudaEvent_t a, b;
    if (cudaEventCreate(&a)) return -1;
    if (cudaEventCreate(&b)) {
        cudaEventDestroy(a);
        return -1;
    }
    float ms = -1;
    int e = 0;
    for (int i = 0; i < 220 && !e; i++) {
        if (i == 20) cudaEventRecord(a, NULL);
        e = (general ? ingk_layernorm_general : ingk_layernorm)(dt, x, y, m, d, dt, sc, d, bi, d, 1e-5f, 0, F32,
                                                                NULL, NULL, NULL);
    }
    cudaEventRecord(b, NULL);
    if (!e && !cudaEventSynchronize(b)) cudaEventElapsedTime(&ms, a, b);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return ms < 0 ? -1 : ms * 1000.0 / 200.0;
}

/* Timing printout (not an assertion): BERT-base LayerNorm shapes, fast path vs general kernel. */
static void ln_timing(void)
{
    if (no_gpu) return;
    const int64_t d = 768, rows[] = {128, 16384};
    size_t es = 2, nx = (size_t)(rows[1] * d);
    void *x = NULL, *y = NULL, *sc = NULL, *bi = NULL, *h = malloc(nx * es);
    if (h && !cudaMalloc(&x, nx * es) && !cudaMalloc(&y, nx * es) && !cudaMalloc(&sc, (size_t)d * es) &&
        !cudaMalloc(&bi, (size_t)d * es)) {
        uint64_t s = 4242;
        fill(F16, h, (int64_t)nx, "x", &s);
        cudaMemcpy(x, h, nx * es, cudaMemcpyHostToDevice);
        cudaMemcpy(sc, h, (size_t)d * es, cudaMemcpyHostToDevice);
        cudaMemcpy(bi, (char *)h + d * es, (size_t)d * es, cudaMemcpyHostToDevice);
        for (int i = 0; i < 2; i++)
            printf("timing: layernorm %lldx%lld f16: fast %.1f us, general %.1f us\n", (long long)rows[i],
                   (long long)d, ln_time(0, F16, x, y, rows[i], d, sc, bi), ln_time(1, F16, x, y, rows[i], d, sc, bi));
    } else {
        printf("timing: layernorm: allocation failed, not timed\n");
    }
    cudaFree(x), cudaFree(y), cudaFree(sc), cudaFree(bi);
    free(h);
}
#endif

int main(void)
{
    static const char *const red_ops[] = {"ReduceSum", "ReduceMean", "ReduceProd", "ReduceMax", "ReduceMin",
                                         "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                         "ReduceSumSquare"};
    static const int fdts[] = {F32, F16, BF16};
    for (size_t i = 0; i < sizeof red_ops / sizeof red_ops[0]; i++) {
        const char *op = red_ops[i];
        int prod = strcmp(op, "ReduceProd") == 0;
        /* products stay finite over short runs of values near 1; logs need positive sums */
        const char *xn = prod || strcmp(op, "ReduceLogSum") == 0 ? "pos_x" : "x";
        double r32 = strstr(op, "Log") ? 2e-5 : 1e-5;
        for (size_t d = 0; d < 3; d++) {
            int dt = fdts[d];
            /* last axis, contiguous rows: one block per output */
            reduce_case(op, dt, 3, (int64_t[]){4, 6, prod ? 40 : 300}, 1, (int64_t[]){-1}, 1, 0, xn, r32);
            /* a middle axis, a contiguous kept inner run (a partial tile of 32 columns) */
            reduce_case(op, dt, 3, (int64_t[]){5, 33, 17}, 1, (int64_t[]){1}, 0, 0, xn, r32);
            /* NHWC global pooling: H and W reduced, C kept innermost; C below, at and above 32 */
            reduce_case(op, dt, 4, (int64_t[]){2, prod ? 5 : 40, prod ? 8 : 40, 24}, 2, (int64_t[]){1, 2}, 1, 0, xn, r32);
            reduce_case(op, dt, 4, (int64_t[]){3, prod ? 6 : 30, prod ? 7 : 25, 70}, 2, (int64_t[]){1, 2}, 0, 0, xn, r32);
            /* a short middle axis and many outputs: one thread per output */
            reduce_case(op, dt, 3, (int64_t[]){600, 40, 120}, 1, (int64_t[]){1}, 1, 0, xn, r32);
            if (d > 0) continue;
            /* two separated axes, first axis, all axes (absent), noop */
            reduce_case(op, dt, 4, (int64_t[]){3, 4, 5, 6}, 2, (int64_t[]){0, 2}, 1, 0, xn, r32);
            reduce_case(op, dt, 2, (int64_t[]){prod ? 30 : 2000, 3}, 1, (int64_t[]){0}, 0, 0, xn, r32);
            reduce_case(op, dt, 3, (int64_t[]){2, 3, prod ? 5 : 50}, -1, NULL, 0, 0, xn, r32);
            reduce_case(op, dt, 3, (int64_t[]){2, 3, 4}, 0, NULL, 1, 1, xn, r32);
        }
    }
    for (size_t d = 0; d < 3; d++) {
        int dt = fdts[d];
        softmax_case("Softmax", 13, dt, 3, (int64_t[]){4, 7, 1000}, -1);
        softmax_case("Softmax", 13, dt, 3, (int64_t[]){4, 7, 33}, 1);
        softmax_case("LogSoftmax", 13, dt, 3, (int64_t[]){4, 7, 1000}, -1);
        softmax_case("LogSoftmax", 13, dt, 4, (int64_t[]){2, 5, 3, 9}, 1);
    }
    softmax_case("Softmax", 11, F32, 3, (int64_t[]){4, 7, 33}, 1); /* coerced to [4, 231] */
    softmax_case("LogSoftmax", 11, F32, 3, (int64_t[]){4, 7, 33}, 0);
    static const int adts[] = {F32, F16, BF16, I32, I64};
    for (size_t d = 0; d < 5; d++) {
        int dt = adts[d];
        argm_case("ArgMax", dt, 3, (int64_t[]){3, 4, 500}, -1, 1, 0);
        argm_case("ArgMin", dt, 3, (int64_t[]){3, 4, 500}, 2, 0, 1);
        argm_case("ArgMax", dt, 3, (int64_t[]){3, 40, 7}, 1, 0, 1);
        argm_case("ArgMin", dt, 3, (int64_t[]){3, 40, 7}, 0, 1, 0);
    }
    static const int cdts[] = {F32, F16, I32, I64};
    for (size_t d = 0; d < 4; d++) {
        cumsum_case(cdts[d], 3, (int64_t[]){3, 50, 4}, 1, 0, 0);
        cumsum_case(cdts[d], 2, (int64_t[]){6, 70}, -1, 1, 1);
        cumsum_case(cdts[d], 2, (int64_t[]){6, 70}, 0, 1, 0);
    }
    for (size_t d = 0; d < 3; d++) {
        int dt = fdts[d];
        ln_case("LayerNormalization", dt, 3, (int64_t[]){4, 16, 96}, -1, 1, (int64_t[]){96}, 1, 0);
        ln_case("LayerNormalization", dt, 3, (int64_t[]){4, 6, 20}, 1, 2, (int64_t[]){6, 20}, 0, 0);
        ln_case("RMSNormalization", dt, 3, (int64_t[]){4, 16, 96}, -1, 1, (int64_t[]){96}, 0, 0);
        gn_case("GroupNormalization", dt, 4, (int64_t[]){2, 8, 5, 7}, 4);
        gn_case("InstanceNormalization", dt, 4, (int64_t[]){2, 3, 10, 10}, 0);
        bn_case(dt, 4, (int64_t[]){2, 3, 4, 5});
        gpool_case("GlobalAveragePool", dt, 4, (int64_t[]){2, 3, 17, 19});
        gpool_case("GlobalMaxPool", dt, 4, (int64_t[]){2, 3, 17, 19});
    }
    /* rows longer than a warp's share (1024): one block per row */
    for (size_t d = 0; d < 2; d++) {
        int dt = fdts[d];
        reduce_case("ReduceSum", dt, 2, (int64_t[]){5, 3000}, 1, (int64_t[]){1}, 1, 0, "x", 1e-5);
        reduce_case("ReduceMax", dt, 2, (int64_t[]){5, 3000}, 1, (int64_t[]){-1}, 0, 0, "x", 1e-5);
        reduce_case("ReduceLogSumExp", dt, 2, (int64_t[]){5, 3000}, 1, (int64_t[]){1}, 1, 0, "x", 2e-5);
        softmax_case("Softmax", 13, dt, 2, (int64_t[]){6, 3000}, -1);
        softmax_case("LogSoftmax", 13, dt, 2, (int64_t[]){6, 3000}, -1);
        ln_case("LayerNormalization", dt, 2, (int64_t[]){6, 2000}, -1, 1, (int64_t[]){2000}, 1, 1);
        ln_case("RMSNormalization", dt, 2, (int64_t[]){6, 2000}, 1, 1, (int64_t[]){2000}, 0, 0);
    }
    ln_case("LayerNormalization", F32, 2, (int64_t[]){8, 300}, -1, 1, (int64_t[]){300}, 1, 1);
    ln_case("LayerNormalization", F32, 3, (int64_t[]){2, 3, 40}, -1, 1, (int64_t[]){1}, 1, 0);
    /* the register-resident fast path (d a multiple of 8 for f16/bf16, of 4 for f32, d <= 4096;
     * scale/bias loaded early for short rows in launches of at most 2048 rows, late otherwise)
     * and rows it declines (d not a multiple of the vector width, scale broadcast from one value) */
    static const int64_t fast_d[] = {768, 1024, 64, 4096};
    for (size_t d = 0; d < 3; d++) {
        int dt = fdts[d];
        for (size_t k = 0; k < 4; k++) {
            int64_t dd = fast_d[k], rows = dd == 4096 ? 96 : 520;
            ln_case("LayerNormalization", dt, 2, (int64_t[]){rows, dd}, -1, 1, (int64_t[]){dd}, 1, k == 0);
            ln_case("LayerNormalization", dt, 3, (int64_t[]){4, rows / 4, dd}, -1, 1, (int64_t[]){dd}, 0, 0);
            ln_case("RMSNormalization", dt, 3, (int64_t[]){4, rows / 4, dd}, -1, 1, (int64_t[]){dd}, 0, 0);
        }
        ln_case("LayerNormalization", dt, 2, (int64_t[]){2100, 768}, -1, 1, (int64_t[]){768}, 1, 1);
        ln_case("RMSNormalization", dt, 3, (int64_t[]){4, 700, 64}, -1, 1, (int64_t[]){64}, 0, 0);
        ln_case("LayerNormalization", dt, 2, (int64_t[]){300, 770}, -1, 1, (int64_t[]){770}, 1, 1);
        ln_case("RMSNormalization", dt, 2, (int64_t[]){300, 100}, -1, 1, (int64_t[]){100}, 0, 0);
        ln_case("LayerNormalization", dt, 2, (int64_t[]){300, 768}, -1, 1, (int64_t[]){1}, 1, 0);
    }
    ln_case("LayerNormalization", F32, 3, (int64_t[]){50, 4, 12}, 1, 2, (int64_t[]){4, 12}, 1, 1); /* d 48 */
    ln_case("LayerNormalization", F32, 2, (int64_t[]){40, 4100}, -1, 1, (int64_t[]){4100}, 1, 0); /* too long */
    bn_case(F32, 2, (int64_t[]){70, 9});
    gpool_case("GlobalAveragePool", F32, 3, (int64_t[]){2, 5, 1000});
#ifdef INGOT_WITH_CUDA
    for (size_t d = 0; d < 3; d++) {
        int dt = fdts[d];
        ln_direct_case(dt, 333, 768, 0, 1, 0);
        ln_direct_case(dt, 333, 768, 1, 1, 0);
        ln_direct_case(dt, 2500, 768, 0, 1, 0);
        ln_direct_case(dt, 2500, 1024, 0, 0, 1);
        ln_direct_case(dt, 100, 4096, 0, 0, 1);
        ln_direct_case(dt, 100, 4096, 1, 0, 1);
        ln_direct_case(dt, 257, 200, 0, 1, 0);
    }
    ln_timing();
#endif
    if (no_gpu) return 77;
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
