/* CPU kernels of the fused ops (FusedConv, FusedGemm, FusedMatMul; layout in ir/infer_fused.c):
 * the base op's kernel writes the output, then one pass over it adds the bias (FusedMatMul) and
 * the residual and applies the activation in place. f32 has a fast path; other float dtypes go
 * through f64 loads and stores (rounded once, on store). */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

enum { ACT_NONE, ACT_RELU, ACT_CLIP, ACT_SIGMOID, ACT_TANH, ACT_HARDSIGMOID, ACT_HARDSWISH, ACT_GELU, ACT_GELU_TANH,
       ACT_SWISH, ACT_LEAKYRELU };

static const char *const act_names[] = {NULL,        "Relu",      "Clip", "Sigmoid",  "Tanh", "HardSigmoid",
                                        "HardSwish", "Gelu",      "GeluTanh", "Swish", "LeakyRelu"};

typedef struct epilogue {
    int act;
    double a, b; /* activation_alpha, activation_beta */
} epilogue;

static ingot_status parse_epilogue(const ir_node *node, epilogue *e)
{
    const char *s = ir_attr_string(node, "activation", NULL);
    e->act = ACT_NONE;
    if (s) {
        for (int i = 1; i < (int)(sizeof act_names / sizeof act_names[0]); i++)
            if (!strcmp(s, act_names[i])) e->act = i;
        if (e->act == ACT_NONE)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "activation '%s' is not supported", s);
    }
    double da = 0.0, db = 0.0; /* the defaults of the ONNX op each activation came from */
    switch (e->act) {
    case ACT_CLIP: da = -INFINITY; db = INFINITY; break;
    case ACT_HARDSIGMOID: da = 0.2; db = 0.5; break;
    case ACT_LEAKYRELU: da = 0.01; break;
    case ACT_SWISH: da = 1.0; break;
    default: break;
    }
    e->a = ir_attr_find(node, "activation_alpha") ? ir_attr_float(node, "activation_alpha", 0.0f) : da;
    e->b = ir_attr_find(node, "activation_beta") ? ir_attr_float(node, "activation_beta", 0.0f) : db;
    return INGOT_OK;
}

static inline float act_f32(float v, int act, float a, float b)
{
    switch (act) {
    case ACT_RELU: return v > 0.0f ? v : 0.0f;
    case ACT_CLIP: v = v < a ? a : v; return v > b ? b : v; /* min(max(v, a), b); NaN stays */
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case ACT_TANH: return tanhf(v);
    case ACT_HARDSIGMOID: v = a * v + b; return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    case ACT_HARDSWISH: { float h = v / 6.0f + 0.5f; return v * (h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h); }
    case ACT_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case ACT_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case ACT_SWISH: return v / (1.0f + expf(-a * v));
    case ACT_LEAKYRELU: return v >= 0.0f ? v : a * v;
    default: return v;
    }
}

static inline double act_f64(double v, int act, double a, double b)
{
    switch (act) {
    case ACT_RELU: return v > 0.0 ? v : 0.0;
    case ACT_CLIP: v = v < a ? a : v; return v > b ? b : v;
    case ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case ACT_TANH: return tanh(v);
    case ACT_HARDSIGMOID: v = a * v + b; return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
    case ACT_HARDSWISH: { double h = v / 6.0 + 0.5; return v * (h < 0.0 ? 0.0 : h > 1.0 ? 1.0 : h); }
    case ACT_GELU: return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
    case ACT_GELU_TANH: return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    case ACT_SWISH: return v / (1.0 + exp(-a * v));
    case ACT_LEAKYRELU: return v >= 0.0 ? v : a * v;
    default: return v;
    }
}

/* Element index in t (same rank as y, dims equal or 1) of output element i. */
static int64_t bcast_index(const ing_tensor *y, const ing_tensor *t, int64_t i)
{
    int64_t ti = 0, stride = 1;
    for (int d = y->rank - 1; d >= 0; d--) {
        int64_t idx = i % y->dims[d];
        i /= y->dims[d];
        if (t->dims[d] != 1) ti += idx * stride;
        stride *= t->dims[d];
    }
    return ti;
}

/* y = act(src + bias[j % nb] + residual); bias runs along the last axis. src is y itself (in
 * place) or, when the residual broadcast the output beyond the base op's shape, the base output. */
static void apply_epilogue(const epilogue *e, ing_tensor *y, const ing_tensor *src, const ing_tensor *bias,
                           const ing_tensor *r)
{
    int64_t n = ing_numel(y);
    int64_t nb = bias ? ing_numel(bias) : 0, last = y->rank > 0 ? y->dims[y->rank - 1] : 1;
    int same_r = !r || ing_same_shape(r, y), same_s = src->data == y->data;
    if (y->dtype == INGOT_DTYPE_F32 && same_r && same_s) {
        float *yd = y->data;
        const float *bd = bias ? bias->data : NULL, *rd = r ? r->data : NULL;
        float a = (float)e->a, b = (float)e->b;
        int act = e->act;
        /* one tight loop per stage and activation: a per-element switch keeps the compiler
         * from vectorizing (it made the fused step slower than Conv + activation apart) */
        if (bd || rd) {
#pragma omp parallel for if (n >= 32768) schedule(static)
            for (int64_t i = 0; i < n; i++) {
                float v = yd[i];
                if (bd) v += bd[nb == 1 ? 0 : i % last];
                if (rd) v += rd[i];
                yd[i] = v;
            }
        }
#define EPI_LOOP(expr)                                                                             \
    _Pragma("omp parallel for if (n >= 32768) schedule(static)") for (int64_t i = 0; i < n; i++) { \
        float v = yd[i];                                                                           \
        yd[i] = (expr);                                                                            \
    }
        switch (act) {
        case ACT_NONE: break;
        case ACT_RELU: EPI_LOOP(v > 0.0f ? v : 0.0f) break;
        case ACT_LEAKYRELU: EPI_LOOP(v >= 0.0f ? v : a * v) break;
        case ACT_CLIP: EPI_LOOP(act_f32(v, ACT_CLIP, a, b)) break;
        /* compare-and-select, as the standalone kernels: it vectorizes (fminf/fmaxf do not under
         * IEEE rules) and a NaN input stays NaN in both */
        case ACT_HARDSIGMOID: EPI_LOOP(({
            float h_ = a * v + b;
            h_ < 0.0f ? 0.0f : h_ > 1.0f ? 1.0f : h_;
        })) break;
        case ACT_HARDSWISH: EPI_LOOP(({
            float h_ = v / 6.0f + 0.5f;
            v * (h_ < 0.0f ? 0.0f : h_ > 1.0f ? 1.0f : h_);
        })) break;
        default: EPI_LOOP(act_f32(v, act, a, b)) break;
        }
#undef EPI_LOOP
        return;
    }
    /* Other float dtypes, or broadcasting: exact f64 arithmetic, rounded once on store. */
#pragma omp parallel for if (n >= 32768) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double v = ing_load_f64(src->dtype, src->data, (size_t)(same_s ? i : bcast_index(y, src, i)));
        if (bias) v += ing_load_f64(bias->dtype, bias->data, (size_t)(nb == 1 ? 0 : i % last));
        if (r) v += ing_load_f64(r->dtype, r->data, (size_t)(same_r ? i : bcast_index(y, r, i)));
        ing_store_f64(y->dtype, y->data, (size_t)i, act_f64(v, e->act, e->a, e->b));
    }
}

static ingot_status run_fused(const char *base, int n_base, cpu_exec *x, const ir_node *node,
                              const ing_tensor *const *in, int n_in, ing_tensor *const *out, int n_out)
{
    const cpu_kernel_def *k = cpu_kernel_lookup(base);
    const ir_op_def *d = ir_op_lookup(base);
    if (!k || !d) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "base op %s is not registered", base);
    epilogue e;
    ING_TRY(parse_epilogue(node, &e));
    int nb = n_in < n_base ? n_in : n_base;
    ing_tensor *y = out[0];
    const ing_tensor *bias = n_base == 2 && n_in > 2 ? in[2] : NULL;
    const ing_tensor *r = n_in > 3 ? in[3] : NULL;
    if (!bias && !r && e.act == ACT_NONE) return k->run(x, node, in, nb, out, 1);
    if (!ing_dtype_is_float(y->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "epilogue on dtype %s; supported f32, f64, f16, bf16",
                            ingot_dtype_name(y->dtype));
    /* A residual may broadcast the output beyond the base op's shape (a dim of 1 in the base
     * output, as Add allows): then the base op writes a temporary. Rare, so it allocates. */
    ing_tensor bt = {0}, *bp = &bt;
    if (r) ING_TRY(d->infer(node, in, nb, &bp, 1));
    if (!r || ing_same_shape(&bt, y)) {
        ING_TRY(k->run(x, node, in, nb, out, 1));
        if (ing_numel(y) > 0) apply_epilogue(&e, y, y, bias, r);
        return INGOT_OK;
    }
    size_t bytes = ing_nbytes(&bt);
    bt.data = ing_malloc(bytes ? bytes : 1);
    if (!bt.data) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no memory for the base output (%zu bytes)", bytes);
    ingot_status s = k->run(x, node, in, nb, &bp, 1);
    if (s == INGOT_OK && ing_numel(y) > 0) apply_epilogue(&e, y, &bt, bias, r);
    ing_free(bt.data);
    return s;
}

static ingot_status k_fused_conv(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    if (CPU_CHANNELS_LAST(node)) return cpu_channels_last(k_fused_conv, x, node, in, n_in, out, n_out);
    return run_fused("Conv", 3, x, node, in, n_in, out, n_out);
}

static ingot_status k_fused_gemm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    return run_fused("Gemm", 3, x, node, in, n_in, out, n_out);
}

static ingot_status k_fused_matmul(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                   ing_tensor *const *out, int n_out)
{
    return run_fused("MatMul", 2, x, node, in, n_in, out, n_out);
}

const cpu_kernel_def cpu_kernels_fused[] = {
    {"FusedConv", k_fused_conv},
    {"FusedGemm", k_fused_gemm},
    {"FusedMatMul", k_fused_matmul},
    {NULL, NULL},
};
