/* Generated FusedElementwise kernels (NVRTC at build time, cudaLibrary at load) against the CPU
 * program. Each case is an ONNX graph built twice: for CUDA with every pass on (the build must
 * produce exactly `want` FusedElementwise steps, all on kernel "cuda.FusedElementwise"), and for
 * the CPU oracle as for a GPU (gu_build_as_gpu: the same passes, so the same program, run by the
 * CPU interpreter). Both run 3 times on fresh seeded random inputs (never zeros: uniform in the
 * case's range), the CUDA outputs bound to buffers filled with 0xFF (NaN) before every run; runs 2
 * and 3 go through CUDA graph capture and replay. Shapes cover the scalar loop (element count not
 * a multiple of 4), the 4-wide loop, per-channel and last-axis constants (strided inputs, with
 * and without a 4-divisible innermost dim), two same-shape inputs, and a grid-stride case larger
 * than the capped grid.
 *
 * Tolerances, |cuda - cpu| <= atol + rtol |cpu|: both compute in float32 with the same formulas,
 * but libdevice and glibc differ by a few ulp per transcendental and nvcc contracts a*b+c into
 * FMAs: f32 outputs 1e-4 rel + 1e-5 abs (chains of up to 20 ops compound those ulps);
 * f16 outputs 2e-3 + 2e-3 (a few float32 ulps can flip the final rounding: one f16 ulp is 9.8e-4);
 * bf16 outputs 1.6e-2 + 1.6e-2 (two bf16 ulps).
 *
 * Exits 77 (skipped) with a message without a usable GPU; else prints a line per failing case
 * and "N passed, N failed"; exit 1 on any failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef INGOT_WITH_CUDA
#include "backend/cuda/cuda.h"
#endif
#include "check.h"
#include "core/dtype.h"
#include "ewfuse_graphs.h"
#include "graph_util.h"
#include "runtime/runtime.h"

static int no_gpu;

static void tol(int out_dt, double *rtol, double *atol)
{
    if (out_dt == INGOT_DTYPE_F16) *rtol = 2e-3, *atol = 2e-3;
    else if (out_dt == INGOT_DTYPE_BF16) *rtol = 1.6e-2, *atol = 1.6e-2;
    else *rtol = 1e-4, *atol = 1e-5;
}

/* Build g both ways and compare; want: FusedElementwise steps expected. */
static void check_case(const char *what, gu_graph *g, int precision, int out_dt, int want, double lo, double hi)
{
    static uint64_t seed = 1;
    ingot_engine *eg = NULL, *ec = NULL;
    ingot_status st = gu_build_cuda_pair(g, precision, no_gpu, &eg, &ec);
    if (st == INGOT_ERR_BACKEND) {
        no_gpu = 1;
        return;
    }
    CHECK(st == INGOT_OK, "%s: CUDA build (status %d)", what, (int)st);
    CHECK(ec != NULL, "%s: CPU oracle build", what);
    if (eg && ec) {
        char why[256] = "";
        CHECK(gu_count_op(eg, "FusedElementwise") == want, "%s: %d FusedElementwise steps, want %d", what,
              gu_count_op(eg, "FusedElementwise"), want);
        CHECK(gu_count_op(ec, "FusedElementwise") == want, "%s: the oracle has the same fused steps", what);
        CHECK(gu_steps_use(eg, "FusedElementwise", "cuda.FusedElementwise", why, sizeof why), "%s: %s", what, why);
        double rtol, atol;
        tol(out_dt, &rtol, &atol);
        gu_compare_opts co = {seed++ * 0x9E3779B97F4A7C15ull, 3, lo, hi, 1, rtol, atol};
        int same = gu_compare(eg, ec, &co);
        CHECK(same, "%s: CUDA equals the CPU program (rtol %g, atol %g)", what, rtol, atol);
        printf("%s %s\n", same ? "ok  " : "FAIL", what);
    }
    ingot_engine_destroy(eg);
    ingot_engine_destroy(ec);
}

/* x·2 + bias[C,1,1] → Sigmoid → ·x → Clip(-1, 0.75), in dtype dt. */
static gu_graph *chain(int dt, int rank, const int64_t *dims)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, rank, dims);
    int64_t c = dims[1];
    float b[64], two = 2.0f, lo = -1.0f, hi = 0.75f;
    for (int64_t i = 0; i < c && i < 64; i++) b[i] = 0.1f * (float)(i % 7) - 0.3f;
    uint16_t h[64];
    if (dt == INGOT_DTYPE_F32) {
        gu_const_f32(g, "bias", 3, (int64_t[]){c, 1, 1}, b);
        gu_const_f32(g, "two", 0, NULL, &two);
        gu_const_f32(g, "lo", 0, NULL, &lo);
        gu_const_f32(g, "hi", 0, NULL, &hi);
    } else {
        uint16_t (*cv)(float) = dt == INGOT_DTYPE_F16 ? ing_f32_to_f16 : ing_f32_to_bf16;
        for (int64_t i = 0; i < c && i < 64; i++) h[i] = cv(b[i]);
        gu_const(g, "bias", dt, 3, (int64_t[]){c, 1, 1}, h);
        uint16_t t = cv(two), l = cv(lo), u = cv(hi);
        gu_const(g, "two", dt, 0, NULL, &t);
        gu_const(g, "lo", dt, 0, NULL, &l);
        gu_const(g, "hi", dt, 0, NULL, &u);
    }
    gu_node(g, "Mul", "mul", "x,two", "a");
    gu_node(g, "Add", "add", "a,bias", "b");
    gu_node(g, "Sigmoid", "sig", "b", "c");
    gu_node(g, "Mul", "mul2", "c,x", "d");
    gu_node(g, "Clip", "clip", "d,lo,hi", "y");
    gu_output(g, "y");
    return g;
}

/* h-swish and a residual: two same-shape graph inputs. */
static gu_graph *two_inputs(int dt, int64_t n)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, 2, (int64_t[]){5, n});
    gu_input(g, "r", dt, 2, (int64_t[]){5, n});
    gu_node(g, "HardSigmoid", "hs", "x", "a");
    gu_attr_float(g, "alpha", 1.0f / 6.0f);
    gu_node(g, "Mul", "mul", "x,a", "b");
    gu_node(g, "Add", "add", "b,r", "c");
    gu_node(g, "Tanh", "tanh", "c", "y");
    gu_output(g, "y");
    return g;
}

int main(void)
{
    static const int dts[] = {INGOT_DTYPE_F32, INGOT_DTYPE_F16, INGOT_DTYPE_BF16};
    char what[160];
    for (int k = 0; k < 3; k++) {
        const char *dn = ingot_dtype_name((ingot_dtype)dts[k]);
        snprintf(what, sizeof what, "chain %s [2,3,5,7] (scalar loop, strided bias)", dn);
        check_case(what, chain(dts[k], 4, (int64_t[]){2, 3, 5, 7}), INGOT_PRECISION_FP32, dts[k], 1, -2, 2);
        snprintf(what, sizeof what, "chain %s [2,8,16,16] (4-wide, bias once per group)", dn);
        check_case(what, chain(dts[k], 4, (int64_t[]){2, 8, 16, 16}), INGOT_PRECISION_FP32, dts[k], 1, -2, 2);
        snprintf(what, sizeof what, "chain %s [2,8,5,6] (4-wide, bias per element)", dn);
        check_case(what, chain(dts[k], 4, (int64_t[]){2, 8, 5, 6}), INGOT_PRECISION_FP32, dts[k], 1, -2, 2);
        snprintf(what, sizeof what, "two inputs %s [5,37]", dn);
        check_case(what, two_inputs(dts[k], 37), INGOT_PRECISION_FP32, dts[k], 1, -4, 4);
        snprintf(what, sizeof what, "two inputs %s [5,64]", dn);
        check_case(what, two_inputs(dts[k], 64), INGOT_PRECISION_FP32, dts[k], 1, -4, 4);
        if (no_gpu) return 77;
#ifdef INGOT_WITH_CUDA
        if (k == 0) /* without NVRTC the build skips the fusion and every case above fails: say why */
            CHECK(cuda_nvrtc_load() == INGOT_OK, "NVRTC: %s", ingot_last_error());
#endif
    }
    check_case("chain f32 [8,64,56,56] (grid-stride beyond the capped grid)",
               chain(INGOT_DTYPE_F32, 4, (int64_t[]){8, 64, 56, 56}), INGOT_PRECISION_FP32, INGOT_DTYPE_F32, 1, -2, 2);
    check_case("all opcodes f32 [3,40] (last-axis constant)", ewfuse_all_ops(40), INGOT_PRECISION_FP32, INGOT_DTYPE_F32, 1,
               0.5, 2);
    check_case("all opcodes f32 [3,13]", ewfuse_all_ops(13), INGOT_PRECISION_FP32, INGOT_DTYPE_F32, 1, 0.5, 2);
    /* --fp16/--bf16 of an f32 model: the boundary Casts are in the program (f32 in, f32 out, f16
     * rounding inside): judged as f16/bf16 results */
    check_case("chain --fp16 [2,8,16,16]", chain(INGOT_DTYPE_F32, 4, (int64_t[]){2, 8, 16, 16}), INGOT_PRECISION_FP16,
               INGOT_DTYPE_F16, 1, -2, 2);
    check_case("chain --bf16 [2,3,5,7]", chain(INGOT_DTYPE_F32, 4, (int64_t[]){2, 3, 5, 7}), INGOT_PRECISION_BF16,
               INGOT_DTYPE_BF16, 1, -2, 2);
    DONE();
}
