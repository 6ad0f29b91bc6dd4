/* Build-time I/O formats on the CPU backend: a small conv model built with a uint8 NHWC input
 * (mean/std/scale folded into the conversion) and an fp16 output must give what the plain fp32
 * model gives on the normalized NCHW float input; node counts show one InputConvert and the
 * boundary Casts of --fp16/--bf16 folded away; an engine saved and loaded again keeps the
 * conversion; bad formats fail with the named statuses and messages.
 *
 * Tolerances: fp32 compute with an fp16 output, |d| <= 1e-3 + 1e-3 |ref| (the output's own
 * rounding, 2^-11 relative, plus the fmaf of the conversion against (x·s - m)/σ in the
 * reference, an ulp of the input); fp16/bf16 compute, 2e-2 + 2e-2 |ref| (f16 / 3e-2 + 3e-2 for
 * bf16 activations and weights over a 27-term dot product); an f16 input converted to f32
 * exactly: bit-equal. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/dtype.h"
#include "graph_util.h"
#include "runtime/runtime.h"

#define N 2
#define C 3
#define H 8
#define W 12
#define K 4
#define NPIX (N * C * H * W)
#define NOUT (N * K * H * W)

static const float mean[C] = {0.485f, 0.456f, 0.406f}, sdev[C] = {0.229f, 0.224f, 0.225f};
static const float scale = 1.0f / 255.0f;

static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}
static float frand(void) { return (float)((double)(rnd() >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

/* x [N,C,H,W] → Conv 3x3 pad 1 (K filters, bias) → Relu → y */
static uint8_t *conv_model(size_t *len)
{
    static float w[K * C * 9], b[K];
    for (int i = 0; i < K * C * 9; i++) w[i] = frand() * 0.5f;
    for (int i = 0; i < K; i++) b[i] = frand();
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 4, (int64_t[]){N, C, H, W});
    gu_const_f32(g, "w", 4, (int64_t[]){K, C, 3, 3}, w);
    gu_const_f32(g, "b", 1, (int64_t[]){K}, b);
    gu_node(g, "Conv", "conv", "x,w,b", "c");
    gu_attr_ints(g, "pads", 4, (int64_t[]){1, 1, 1, 1});
    gu_node(g, "Relu", "relu", "c", "y");
    gu_output(g, "y");
    uint8_t *bytes = gu_pack(g, len);
    gu_free(g);
    return bytes;
}

static ingot_status build(const uint8_t *bytes, size_t len, ingot_precision prec, const ingot_input_format *in,
                          size_t n_in, const ingot_output_format *out, size_t n_out, ingot_engine **e)
{
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.precision = prec;
    o.input_formats = in;
    o.n_input_formats = n_in;
    o.output_formats = out;
    o.n_output_formats = n_out;
    return ingot_builder_build_buffer(bytes, len, &o, e);
}

/* Run e on x (bytes) and widen output y to f32 into res[NOUT]. 0 on failure. */
static int run(const ingot_engine *e, const void *x, size_t xbytes, float *res, ingot_dtype *out_dt)
{
    ingot_context *c = NULL;
    int ok = 0;
    if (ingot_context_create(e, &c) != INGOT_OK) goto done;
    if (ingot_context_bind_input(c, "x", x, xbytes) != INGOT_OK || ingot_context_run(c, NULL) != INGOT_OK) {
        printf("run: %s\n", ingot_last_error());
        goto done;
    }
    ingot_tensor_info info;
    const void *data;
    size_t size;
    if (ingot_context_get_output(c, "y", &info, &data, &size) != INGOT_OK) goto done;
    if (size != NOUT * ingot_dtype_size(info.dtype)) goto done;
    for (size_t i = 0; i < NOUT; i++) res[i] = (float)ing_load_f64(info.dtype, data, i);
    *out_dt = info.dtype;
    ok = 1;
done:
    ingot_context_destroy(c);
    return ok;
}

/* max over i of |a-b| - (atol + rtol|b|): <= 0 when within tolerance */
static double excess(const float *a, const float *b, double rtol, double atol, size_t *at)
{
    double worst = -INFINITY;
    for (size_t i = 0; i < NOUT; i++) {
        double d = fabs((double)a[i] - b[i]) - (atol + rtol * fabs((double)b[i]));
        if (isnan(a[i]) || d > worst) {
            worst = isnan(a[i]) ? INFINITY : d;
            *at = i;
        }
    }
    return worst;
}

static void check_info(const ingot_engine *e, ingot_dtype in_dt, const int64_t *in_dims, ingot_dtype out_dt)
{
    ingot_tensor_info ii, oi;
    CHECK(ingot_engine_get_input(e, 0, &ii) == INGOT_OK && ii.dtype == in_dt, "input dtype %s, want %s",
          ingot_dtype_name(ii.dtype), ingot_dtype_name(in_dt));
    int same = ii.rank == 4;
    for (int d = 0; same && d < 4; d++) same = ii.dims[d] == in_dims[d];
    CHECK(same, "input dims [%lld,%lld,%lld,%lld]", (long long)ii.dims[0], (long long)ii.dims[1],
          (long long)ii.dims[2], (long long)ii.dims[3]);
    CHECK(ingot_engine_get_output(e, 0, &oi) == INGOT_OK && oi.dtype == out_dt, "output dtype %s, want %s",
          ingot_dtype_name(oi.dtype), ingot_dtype_name(out_dt));
}

typedef struct alloc_arg {
    const uint8_t *bytes;
    size_t len;
    ingot_precision prec;
    const ingot_input_format *in;
    const ingot_output_format *out;
} alloc_arg;

static ingot_status alloc_build(void *arg)
{
    const alloc_arg *a = arg;
    ingot_engine *e = NULL;
    ingot_status st = build(a->bytes, a->len, a->prec, a->in, 1, a->out, 1, &e);
    ingot_engine_destroy(e);
    return st;
}

int main(void)
{
    size_t len;
    uint8_t *model = conv_model(&len);
    static uint8_t img[NPIX];    /* NHWC */
    static float xnorm[NPIX];    /* NCHW, normalized: the fp32 model's input */
    static uint16_t xh[NPIX];    /* NCHW f16 */
    static float xhf[NPIX];      /* the same values in f32 */
    static float ref[NOUT], got[NOUT], ref_h[NOUT];
    for (int i = 0; i < NPIX; i++) img[i] = (uint8_t)(rnd() % 256);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int p = 0; p < H * W; p++) {
                double u = img[(n * H * W + p) * C + c];
                xnorm[(n * C + c) * H * W + p] = (float)((u * scale - mean[c]) / sdev[c]);
            }
    for (int i = 0; i < NPIX; i++) {
        xh[i] = ing_f32_to_f16(frand() * 2.0f);
        xhf[i] = ing_f16_to_f32(xh[i]);
    }
    ingot_engine *plain = NULL;
    ingot_dtype dt;
    CHECK(build(model, len, INGOT_PRECISION_FP32, NULL, 0, NULL, 0, &plain) == INGOT_OK, "%s", ingot_last_error());
    if (!plain || !run(plain, xnorm, sizeof xnorm, ref, &dt) || !run(plain, xhf, sizeof xhf, ref_h, &dt)) {
        printf("the plain fp32 model does not run\n");
        return 1;
    }
    const int64_t nhwc_dims[4] = {N, H, W, C}, nchw_dims[4] = {N, C, H, W};
    ingot_input_format u8 = {"x", INGOT_DTYPE_U8, INGOT_LAYOUT_NHWC, mean, sdev, C, scale};
    ingot_output_format o16 = {"y", INGOT_DTYPE_F16}, ob16 = {"y", INGOT_DTYPE_BF16};

    /* uint8 NHWC + normalization, fp16 output, per compute precision */
    const struct {
        ingot_precision prec;
        const ingot_output_format *out;
        int casts; /* Cast nodes left: fp32 adds one at the output; fp16 folds both boundaries;
                    * bf16 keeps its output Cast, retargeted bf16 → f16 */
        double tol;
    } cases[] = {
        {INGOT_PRECISION_FP32, &o16, 1, 1e-3},
        {INGOT_PRECISION_FP16, &o16, 0, 2e-2},
        {INGOT_PRECISION_BF16, &o16, 1, 3e-2},
        {INGOT_PRECISION_FP16, &ob16, 1, 3e-2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ingot_engine *e = NULL;
        CHECK(build(model, len, cases[k].prec, &u8, 1, cases[k].out, 1, &e) == INGOT_OK, "case %zu: %s", k,
              ingot_last_error());
        if (!e) continue;
        check_info(e, INGOT_DTYPE_U8, nhwc_dims, cases[k].out->dtype);
        CHECK(gu_count_op(e, "InputConvert") == 1, "case %zu: %d InputConvert", k, gu_count_op(e, "InputConvert"));
        CHECK(gu_count_op(e, "Cast") == cases[k].casts, "case %zu: %d Casts, want %d", k, gu_count_op(e, "Cast"),
              cases[k].casts);
        const ir_node *cv = gu_find_op(e, "InputConvert");
        int want_to = cases[k].prec == INGOT_PRECISION_FP32 ? INGOT_DTYPE_F32
                      : cases[k].prec == INGOT_PRECISION_FP16 ? INGOT_DTYPE_F16 : INGOT_DTYPE_BF16;
        CHECK(cv && ir_attr_int(cv, "to", 0) == want_to, "case %zu: InputConvert writes %lld, want %d", k,
              cv ? (long long)ir_attr_int(cv, "to", 0) : -1LL, want_to);
        memset(got, 0xA5, sizeof got);
        size_t at = 0;
        CHECK(run(e, img, sizeof img, got, &dt) && dt == cases[k].out->dtype, "case %zu: run", k);
        double ex = excess(got, ref, cases[k].tol, cases[k].tol, &at);
        CHECK(ex <= 0, "case %zu: y[%zu] = %.6g, fp32 model on normalized input %.6g (tol %g)", k, at, got[at], ref[at],
              cases[k].tol);
        if (k == 0) { /* the conversion survives save and load (floats attributes in the file) */
            void *buf = NULL;
            size_t n = 0;
            ingot_engine *l = NULL;
            static float again[NOUT];
            CHECK(ingot_engine_save_buffer(e, &buf, &n) == INGOT_OK && ingot_engine_load_buffer(buf, n, NULL, &l) == INGOT_OK,
                  "save/load: %s", ingot_last_error());
            CHECK(l && run(l, img, sizeof img, again, &dt) && !memcmp(again, got, sizeof got), "loaded engine differs");
            ingot_free(buf);
            ingot_engine_destroy(l);
        }
        ingot_engine_destroy(e);
    }

    /* fp16 input: converted to f32 exactly (fp32 compute), or fed straight in (fp16 compute) */
    ingot_input_format f16 = {"x", INGOT_DTYPE_F16, INGOT_LAYOUT_AS_MODEL, NULL, NULL, 0, 0.0f};
    ingot_engine *e = NULL;
    CHECK(build(model, len, INGOT_PRECISION_FP32, &f16, 1, NULL, 0, &e) == INGOT_OK, "%s", ingot_last_error());
    if (e) {
        check_info(e, INGOT_DTYPE_F16, nchw_dims, INGOT_DTYPE_F32);
        CHECK(gu_count_op(e, "InputConvert") == 1 && gu_count_op(e, "Cast") == 0, "fp16 in, fp32: %d InputConvert, %d Cast",
              gu_count_op(e, "InputConvert"), gu_count_op(e, "Cast"));
        CHECK(run(e, xh, sizeof xh, got, &dt) && !memcmp(got, ref_h, sizeof got), "fp16 input differs from f32 of it");
        ingot_engine_destroy(e);
        e = NULL;
    }
    CHECK(build(model, len, INGOT_PRECISION_FP16, &f16, 1, &o16, 1, &e) == INGOT_OK, "%s", ingot_last_error());
    if (e) {
        check_info(e, INGOT_DTYPE_F16, nchw_dims, INGOT_DTYPE_F16);
        CHECK(gu_count_op(e, "InputConvert") == 0 && gu_count_op(e, "Cast") == 0, "fp16 in/out, fp16: %d InputConvert, %d Cast",
              gu_count_op(e, "InputConvert"), gu_count_op(e, "Cast"));
        size_t at = 0;
        CHECK(run(e, xh, sizeof xh, got, &dt) && excess(got, ref_h, 2e-2, 2e-2, &at) <= 0, "fp16 engine: y[%zu] %.6g vs %.6g",
              at, got[at], ref_h[at]);
        ingot_engine_destroy(e);
        e = NULL;
    }

    /* every allocation of a build with formats failed in turn: a clean NOMEM each time (the
     * ASan build checks that nothing leaks), then success; both rewrites (fp32: new value and
     * output Cast; fp16: the boundary Casts folded) */
    for (int p = 0; p < 2; p++) {
        alloc_arg aa = {model, len, p ? INGOT_PRECISION_FP16 : INGOT_PRECISION_FP32, &u8, &o16};
        long failures = check_alloc_failures(alloc_build, &aa);
        CHECK(failures > 20, "precision %d: %ld injected failures", p, failures);
    }

    /* errors */
    ingot_input_format bad = u8;
    bad.name = "nope";
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &bad, 1, NULL, 0, &e), INGOT_ERR_NOT_FOUND, "'nope'");
    bad = u8;
    bad.n_channels = 2;
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &bad, 1, NULL, 0, &e), INGOT_ERR_SHAPE, "2 channels");
    bad = u8;
    bad.std = (const float[]){0.2f, 0.0f, 0.2f};
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &bad, 1, NULL, 0, &e), INGOT_ERR_INVALID_ARG, "std 0");
    bad = u8;
    bad.dtype = INGOT_DTYPE_I32;
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &bad, 1, NULL, 0, &e), INGOT_ERR_INVALID_ARG, "i32");
    ingot_input_format twice[2] = {u8, f16};
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, twice, 2, NULL, 0, &e), INGOT_ERR_INVALID_ARG, "two formats");
    ingot_output_format bo = {"nope", INGOT_DTYPE_F16};
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, NULL, 0, &bo, 1, &e), INGOT_ERR_NOT_FOUND, "'nope'");
    bo.name = "y";
    bo.dtype = INGOT_DTYPE_U8;
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, NULL, 0, &bo, 1, &e), INGOT_ERR_INVALID_ARG, "u8");
    CHECK(e == NULL, "a failed build set its out-parameter");
    free(model);

    /* uint8 on a 2-D input; any format on an i64 input */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){2, 3});
    gu_input(g, "i", INGOT_DTYPE_I64, 1, (int64_t[]){2});
    gu_node(g, "Relu", "r", "x", "y");
    gu_node(g, "Neg", "n", "i", "z");
    gu_output(g, "y");
    gu_output(g, "z");
    model = gu_pack(g, &len);
    gu_free(g);
    ingot_input_format flat = {"x", INGOT_DTYPE_U8, INGOT_LAYOUT_AS_MODEL, NULL, NULL, 0, 0.0f};
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &flat, 1, NULL, 0, &e), INGOT_ERR_SHAPE, "4-D");
    flat.dtype = INGOT_DTYPE_F16;
    flat.layout = INGOT_LAYOUT_NHWC;
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &flat, 1, NULL, 0, &e), INGOT_ERR_SHAPE, "4-D");
    flat.name = "i";
    flat.layout = INGOT_LAYOUT_AS_MODEL;
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, &flat, 1, NULL, 0, &e), INGOT_ERR_UNSUPPORTED, "float32");
    bo.name = "z";
    bo.dtype = INGOT_DTYPE_F16;
    CHECK_STATUS(build(model, len, INGOT_PRECISION_FP32, NULL, 0, &bo, 1, &e), INGOT_ERR_UNSUPPORTED, "float32");
    free(model);
    ingot_engine_destroy(plain);
    DONE();
}
