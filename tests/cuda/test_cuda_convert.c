/* The CUDA InputConvert (build-time input formats) against the CPU one, and a CUDA engine of
 * digits_cnn built with an fp16 and a uint8 NHWC input against the CPU engine built alike.
 *
 * Kernel cases: the model x [N,C,H,W] → Neg → y (Neg is exact, so y shows the conversion),
 * built on both backends with one input format: uint8 NHWC (C 1, 3, 4: the packed path when
 * H·W % 4 == 0; C 3 with H·W odd and C 5: the general path), uint8, f16, bf16 and f32 as the
 * model's layout, with and without mean/std/scale; the conversion writes f32 (fp32 build), f16
 * (--fp16, output fp16) or bf16 (--bf16, output bf16). Inputs: fresh random bytes over
 * [0, 255] or floats in ±[0, 2] per case. The CUDA output is a caller buffer poisoned first
 * (0xFF, 0x55, 0xA5: NaN or odd values) and the engine runs three times (plain, CUDA-graph
 * capture, replay). Tolerance: both backends compute fmaf(x, a[c], b[c]) in f32 with the same
 * a, b and round to nearest even, so results must be bit-equal; the check allows 1e-6 relative
 * for f32 and one unit of the last place for f16 (2^-10) and bf16 (2^-7), plus 1e-6 absolute.
 * digits_cnn (../shared/models; skipped when absent), batch 4: rtol 1e-3, atol 1e-4, the
 * fp32 model tolerance of tests/models.
 * Prints one line per failing check and "N passed, N failed"; exits 77 without a GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/dtype.h"
#include "graph_util.h"
#include "runtime/runtime.h"

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static ingot_status build(const uint8_t *bytes, size_t len, ingot_backend be, ingot_precision prec,
                          const ingot_input_format *in, const ingot_output_format *out, const ingot_input_shape *shape,
                          ingot_engine **e)
{
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = be;
    o.precision = prec;
    o.input_formats = in;
    o.n_input_formats = 1;
    o.output_formats = out;
    o.n_output_formats = out ? 1 : 0;
    o.shapes = shape;
    o.n_shapes = shape ? 1 : 0;
    return ingot_builder_build_buffer(bytes, len, &o, e);
}

/* Run CPU and CUDA engines on the same random input (dtype from the engine) and compare the
 * first output; the CUDA output goes to a poisoned caller buffer, three runs. */
static void compare(const char *label, ingot_engine *ec, ingot_engine *eg, uint64_t seed, double rtol, double atol)
{
    ingot_context *cc = NULL, *cg = NULL;
    void *x = NULL, *outg = NULL;
    ingot_tensor_info ii, oi, ia, ib;
    const void *da, *db;
    size_t sa, sb;
    if (ingot_context_create(ec, &cc) != INGOT_OK || ingot_context_create(eg, &cg) != INGOT_OK) {
        CHECK(0, "%s: context: %s", label, ingot_last_error());
        goto done;
    }
    ingot_engine_get_input(ec, 0, &ii);
    ing_tensor t = {.dtype = ii.dtype, .rank = ii.rank};
    for (int d = 0; d < ii.rank; d++) t.dims[d] = ii.dims[d];
    size_t nb = ing_nbytes(&t);
    x = malloc(nb);
    t.data = x;
    uint64_t s = seed | 1;
    for (int64_t k = 0; k < ing_numel(&t); k++) {
        uint64_t r = rng(&s);
        if (t.dtype == INGOT_DTYPE_U8) ((uint8_t *)x)[k] = (uint8_t)(r >> 24);
        else ing_store_f64(t.dtype, x, (size_t)k, ((double)(r >> 11) / 9007199254740992.0) * 4.0 - 2.0);
    }
    CHECK(ingot_context_bind_input(cc, ii.name, x, nb) == INGOT_OK && ingot_context_bind_input(cg, ii.name, x, nb) == INGOT_OK,
          "%s: bind: %s", label, ingot_last_error());
    if (ingot_context_run(cc, NULL) != INGOT_OK) {
        CHECK(0, "%s: CPU run: %s", label, ingot_last_error());
        goto done;
    }
    ingot_engine_get_output(ec, 0, &oi);
    ingot_context_get_output(cc, oi.name, &ia, &da, &sa);
    outg = malloc(sa ? sa : 1);
    static const uint8_t poison[3] = {0xFF, 0x55, 0xA5};
    for (int run = 0; run < 3; run++) {
        memset(outg, poison[run], sa ? sa : 1);
        ingot_context_bind_output(cg, oi.name, outg, sa);
        if (ingot_context_run(cg, NULL) != INGOT_OK) {
            CHECK(0, "%s: CUDA run %d: %s", label, run + 1, ingot_last_error());
            goto done;
        }
        ingot_context_get_output(cg, oi.name, &ib, &db, &sb);
        CHECK(ia.dtype == ib.dtype && sa == sb, "%s: CUDA output %s %zu bytes, CPU %s %zu", label,
              ingot_dtype_name(ib.dtype), sb, ingot_dtype_name(ia.dtype), sa);
        if (ia.dtype != ib.dtype || sa != sb) goto done;
        size_t n = sa / ingot_dtype_size(ia.dtype), bad = n;
        for (size_t k = 0; k < n && bad == n; k++) {
            double r = ing_load_f64(ia.dtype, da, k), g = ing_load_f64(ib.dtype, db, k);
            if (isnan(g) != isnan(r) || fabs(g - r) > atol + rtol * fabs(r)) bad = k;
        }
        CHECK(bad == n, "%s: run %d (poison 0x%02X): y[%zu of %zu] CUDA %.9g, CPU %.9g", label, run + 1, poison[run], bad, n,
              bad < n ? ing_load_f64(ib.dtype, db, bad) : 0.0, bad < n ? ing_load_f64(ia.dtype, da, bad) : 0.0);
    }
done:
    free(x);
    free(outg);
    ingot_context_destroy(cc);
    ingot_context_destroy(cg);
}

static const float mean5[5] = {0.485f, 0.456f, 0.406f, 0.5f, 0.1f}, std5[5] = {0.229f, 0.224f, 0.225f, 0.5f, 2.0f};

static void kernel_case(int64_t n, int64_t c, int64_t h, int64_t w, ingot_dtype in_dt, ingot_layout layout, int norm,
                        ingot_precision prec)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){n, c, h, w});
    gu_node(g, "Neg", "neg", "x", "y");
    gu_output(g, "y");
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    ingot_input_format f = {"x", in_dt, layout, norm ? mean5 : NULL, norm ? std5 : NULL, norm ? (size_t)c : 0,
                            norm ? 1.0f / 255.0f : 0.0f};
    ingot_dtype out_dt = prec == INGOT_PRECISION_FP16 ? INGOT_DTYPE_F16
                         : prec == INGOT_PRECISION_BF16 ? INGOT_DTYPE_BF16 : INGOT_DTYPE_F32;
    ingot_output_format of = {"y", out_dt};
    char label[160];
    snprintf(label, sizeof label, "InputConvert %s%s -> %s [%lld,%lld,%lld,%lld]%s", ingot_dtype_name(in_dt),
             layout == INGOT_LAYOUT_NHWC ? " nhwc" : "", ingot_dtype_name(out_dt), (long long)n, (long long)c,
             (long long)h, (long long)w, norm ? " mean/std/scale" : "");
    ingot_engine *ec = NULL, *eg = NULL;
    ingot_status st = build(bytes, len, INGOT_BACKEND_CUDA, prec, &f, out_dt == INGOT_DTYPE_F32 ? NULL : &of, NULL, &eg);
    if (st == INGOT_ERR_BACKEND) {
        printf("skipped: no usable CUDA device (%s)\n", ingot_last_error());
        exit(77);
    }
    CHECK(st == INGOT_OK, "%s: CUDA build: %s", label, ingot_last_error());
    CHECK(build(bytes, len, INGOT_BACKEND_CPU, prec, &f, out_dt == INGOT_DTYPE_F32 ? NULL : &of, NULL, &ec) == INGOT_OK,
          "%s: CPU build: %s", label, ingot_last_error());
    free(bytes);
    if (ec && eg) {
        char why[200] = "";
        CHECK(gu_count_op(eg, "InputConvert") == 1, "%s: %d InputConvert nodes", label, gu_count_op(eg, "InputConvert"));
        CHECK(gu_steps_use(eg, "InputConvert", "cuda.InputConvert", why, sizeof why), "%s: %s", label, why);
        const ir_node *cv = gu_find_op(eg, "InputConvert");
        CHECK(cv && ir_attr_int(cv, "to", 0) == out_dt, "%s: the conversion writes %lld, want %s", label,
              cv ? (long long)ir_attr_int(cv, "to", 0) : -1LL, ingot_dtype_name(out_dt));
        double rtol = out_dt == INGOT_DTYPE_F16 ? 1.0 / 1024 : out_dt == INGOT_DTYPE_BF16 ? 1.0 / 128 : 1e-6;
        uint64_t seed = (uint64_t)(n * 1000003 + c * 10007 + h * 101 + w) * 2654435761u + (uint64_t)in_dt * 31 + (uint64_t)prec;
        compare(label, ec, eg, seed, rtol, 1e-6);
    }
    ingot_engine_destroy(ec);
    ingot_engine_destroy(eg);
}

static void digits_case(const char *dir, ingot_dtype in_dt, ingot_layout layout)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/digits_cnn/model.onnx", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("SKIP digits_cnn: %s is absent (set INGOT_SHARED_DIR)\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *bytes = malloc((size_t)len);
    size_t got = fread(bytes, 1, (size_t)len, f);
    fclose(f);
    ingot_input_shape shape = {"image", 4, {4, 1, 8, 8}};
    ingot_input_format fmt = {"image", in_dt, layout, NULL, NULL, 0, in_dt == INGOT_DTYPE_U8 ? 1.0f / 255.0f : 0.0f};
    ingot_engine *ec = NULL, *eg = NULL;
    char label[96];
    snprintf(label, sizeof label, "digits_cnn --input-format image:%s%s", in_dt == INGOT_DTYPE_U8 ? "uint8" : "fp16",
             layout == INGOT_LAYOUT_NHWC ? ":nhwc" : "");
    CHECK(got == (size_t)len && build(bytes, got, INGOT_BACKEND_CUDA, INGOT_PRECISION_FP32, &fmt, NULL, &shape, &eg) == INGOT_OK,
          "%s: CUDA build: %s", label, ingot_last_error());
    CHECK(build(bytes, got, INGOT_BACKEND_CPU, INGOT_PRECISION_FP32, &fmt, NULL, &shape, &ec) == INGOT_OK, "%s: CPU build: %s",
          label, ingot_last_error());
    free(bytes);
    if (ec && eg) {
        ingot_tensor_info ii;
        CHECK(ingot_engine_get_input(eg, 0, &ii) == INGOT_OK && ii.dtype == in_dt, "%s: input is %s", label,
              ingot_dtype_name(ii.dtype));
        char why[200] = "";
        CHECK(gu_steps_use(eg, "InputConvert", "cuda.InputConvert", why, sizeof why), "%s: %s", label, why);
        compare(label, ec, eg, 0x5eed + (uint64_t)in_dt, 1e-3, 1e-4);
    }
    ingot_engine_destroy(ec);
    ingot_engine_destroy(eg);
}

int main(void)
{
    const ingot_precision precs[3] = {INGOT_PRECISION_FP32, INGOT_PRECISION_FP16, INGOT_PRECISION_BF16};
    for (int p = 0; p < 3; p++) {
        /* packed uint8 NHWC path: C 1, 3, 4 with H·W % 4 == 0 */
        kernel_case(2, 3, 16, 20, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, 1, precs[p]);
        kernel_case(1, 4, 8, 8, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, 1, precs[p]);
        kernel_case(3, 1, 12, 12, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, 0, precs[p]);
        kernel_case(1, 3, 160, 256, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, 1, precs[p]);
        /* general path */
        kernel_case(2, 3, 7, 5, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, 1, precs[p]);
        kernel_case(1, 5, 6, 8, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, 1, precs[p]);
        kernel_case(2, 3, 6, 6, INGOT_DTYPE_U8, INGOT_LAYOUT_AS_MODEL, 1, precs[p]);
        kernel_case(1, 3, 9, 7, INGOT_DTYPE_BF16, INGOT_LAYOUT_NHWC, 1, precs[p]);
        kernel_case(2, 3, 5, 9, INGOT_DTYPE_F32, INGOT_LAYOUT_AS_MODEL, 1, precs[p]);
    }
    /* f16 / bf16 inputs converted to another type (the same type with nothing to do has no node) */
    kernel_case(2, 3, 10, 10, INGOT_DTYPE_F16, INGOT_LAYOUT_AS_MODEL, 0, INGOT_PRECISION_FP32);
    kernel_case(2, 3, 10, 10, INGOT_DTYPE_F16, INGOT_LAYOUT_AS_MODEL, 0, INGOT_PRECISION_BF16);
    kernel_case(2, 3, 10, 10, INGOT_DTYPE_BF16, INGOT_LAYOUT_AS_MODEL, 0, INGOT_PRECISION_FP16);
    kernel_case(2, 3, 10, 10, INGOT_DTYPE_F16, INGOT_LAYOUT_AS_MODEL, 1, INGOT_PRECISION_FP16);

    const char *shared = getenv("INGOT_SHARED_DIR");
    if (!shared) shared = INGOT_SHARED_DIR;
    digits_case(shared, INGOT_DTYPE_F16, INGOT_LAYOUT_AS_MODEL);
    digits_case(shared, INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC);
    DONE();
}
