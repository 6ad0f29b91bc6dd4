/* CPU kernels for the recurrent nets RNN, GRU and LSTM: forward, reverse and bidirectional,
 * every activation the spec names (with activation_alpha/beta), clip, sequence_lens, initial
 * states, LSTM peepholes and input_forget, GRU linear_before_reset, layout 0 and 1.
 *
 * Computed in f32 (inputs of other float types are widened). Per direction, the input projection
 * X·W^T of every time step is one cblas_sgemm; each step then adds H·R^T (one sgemm over the
 * batch) and applies the gates. With sequence_lens a batch entry stops after its length: its
 * later Y rows are zero and Y_h holds its last state; in reverse it starts at its own last step. */
#include <cblas.h>
#undef I /* complex.h, pulled in by cblas.h */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/dtype.h"

ingot_status cpu_linalg_rnn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_gru(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out);
ingot_status cpu_linalg_lstm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out);

typedef enum act_kind {
    ACT_RELU, ACT_TANH, ACT_SIGMOID, ACT_AFFINE, ACT_LEAKYRELU, ACT_THRESHOLDEDRELU, ACT_SCALEDTANH,
    ACT_HARDSIGMOID, ACT_ELU, ACT_SOFTSIGN, ACT_SOFTPLUS,
} act_kind;

typedef struct act_fn {
    act_kind kind;
    float alpha, beta;
} act_fn;

static const struct {
    const char *name;
    act_kind kind;
    int uses_alpha, uses_beta;
    float alpha, beta; /* defaults */
} act_table[] = {
    {"relu", ACT_RELU, 0, 0, 0, 0},
    {"tanh", ACT_TANH, 0, 0, 0, 0},
    {"sigmoid", ACT_SIGMOID, 0, 0, 0, 0},
    {"affine", ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"leakyrelu", ACT_LEAKYRELU, 1, 0, 0.01f, 0},
    {"thresholdedrelu", ACT_THRESHOLDEDRELU, 1, 0, 1.0f, 0},
    {"scaledtanh", ACT_SCALEDTANH, 1, 1, 1.0f, 1.0f},
    {"hardsigmoid", ACT_HARDSIGMOID, 1, 1, 0.2f, 0.5f},
    {"elu", ACT_ELU, 1, 0, 1.0f, 0},
    {"softsign", ACT_SOFTSIGN, 0, 0, 0, 0},
    {"softplus", ACT_SOFTPLUS, 0, 0, 0, 0},
};

static inline float act(const act_fn *f, float v)
{
    switch (f->kind) {
    case ACT_RELU: return v > 0.0f ? v : 0.0f;
    case ACT_TANH: return tanhf(v);
    case ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case ACT_AFFINE: return f->alpha * v + f->beta;
    case ACT_LEAKYRELU: return v >= 0.0f ? v : f->alpha * v;
    case ACT_THRESHOLDEDRELU: return v > f->alpha ? v : 0.0f;
    case ACT_SCALEDTANH: return f->alpha * tanhf(f->beta * v);
    case ACT_HARDSIGMOID: {
        float r = f->alpha * v + f->beta;
        return r < 0.0f ? 0.0f : r > 1.0f ? 1.0f : r;
    }
    case ACT_ELU: return v >= 0.0f ? v : f->alpha * (expf(v) - 1.0f);
    case ACT_SOFTSIGN: return v / (1.0f + fabsf(v));
    case ACT_SOFTPLUS: return v > 20.0f ? v : log1pf(expf(v));
    }
    return v;
}

/* Resolve the activations attribute into n_per_dir functions per direction (defaults given). */
static ingot_status parse_acts(const ir_node *node, int nd, int n_per_dir, const char *const *defaults,
                               act_fn *fns)
{
    const ir_attr *a = ir_attr_find(node, "activations");
    size_t na = 0, nb = 0;
    const float *alphas = ir_attr_floats(node, "activation_alpha", &na);
    const float *betas = ir_attr_floats(node, "activation_beta", &nb);
    size_t ia = 0, ib = 0;
    int total = nd * n_per_dir;
    if (a && a->type == 8 /* STRINGS */ && a->n != (size_t)total && a->n != (size_t)n_per_dir)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "activations has %zu names; %s needs %d per direction (%d directions)",
                            a->n, node->op, n_per_dir, nd);
    for (int i = 0; i < total; i++) {
        const char *name = defaults[i % n_per_dir];
        if (a && a->type == 8) name = a->strings[(size_t)i % a->n];
        char low[32];
        size_t l = 0;
        for (; name[l] && l + 1 < sizeof low; l++) low[l] = (char)tolower((unsigned char)name[l]);
        low[l] = '\0';
        size_t t = 0;
        for (; t < sizeof act_table / sizeof act_table[0]; t++)
            if (strcmp(act_table[t].name, low) == 0) break;
        if (t == sizeof act_table / sizeof act_table[0])
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "activation '%s' is not supported", name);
        fns[i].kind = act_table[t].kind;
        fns[i].alpha = act_table[t].alpha;
        fns[i].beta = act_table[t].beta;
        if (act_table[t].uses_alpha && ia < na) fns[i].alpha = alphas[ia++];
        if (act_table[t].uses_beta && ib < nb) fns[i].beta = betas[ib++];
    }
    return INGOT_OK;
}

typedef enum cell_kind { CELL_RNN, CELL_GRU, CELL_LSTM } cell_kind;

static inline float ldf(int dt, const void *p, size_t i)
{
    switch (dt) {
    case INGOT_DTYPE_F32: return ((const float *)p)[i];
    case INGOT_DTYPE_F16: return ing_f16_to_f32(((const uint16_t *)p)[i]);
    case INGOT_DTYPE_BF16: return ing_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return (float)ing_load_f64(dt, p, i);
    }
}

static inline void stf(int dt, void *p, size_t i, float v)
{
    switch (dt) {
    case INGOT_DTYPE_F32: ((float *)p)[i] = v; break;
    case INGOT_DTYPE_F16: ((uint16_t *)p)[i] = ing_f32_to_f16(v); break;
    case INGOT_DTYPE_BF16: ((uint16_t *)p)[i] = ing_f32_to_bf16(v); break;
    default: ing_store_f64(dt, p, i, v); break;
    }
}

static size_t fbytes(int64_t n)
{
    if (n < 0 || (uint64_t)n > SIZE_MAX / 4) return 0;
    return n ? (size_t)n * 4 : 4;
}

static ingot_status run_cell(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out, cell_kind kind)
{
    const ing_tensor *X = in[0], *W = in[1], *R = in[2];
    const ing_tensor *Bi = n_in > 3 ? in[3] : NULL, *SL = n_in > 4 ? in[4] : NULL;
    const ing_tensor *H0 = n_in > 5 ? in[5] : NULL;
    const ing_tensor *C0 = kind == CELL_LSTM && n_in > 6 ? in[6] : NULL;
    const ing_tensor *P = kind == CELL_LSTM && n_in > 7 ? in[7] : NULL;
    ing_tensor *Y = n_out > 0 ? out[0] : NULL, *YH = n_out > 1 ? out[1] : NULL;
    ing_tensor *YC = kind == CELL_LSTM && n_out > 2 ? out[2] : NULL;
    int layout = node->opset >= 14 ? (int)ir_attr_int(node, "layout", 0) : 0;
    const char *dir = ir_attr_string(node, "direction", "forward");
    int nd = strcmp(dir, "bidirectional") == 0 ? 2 : 1, reverse_only = strcmp(dir, "reverse") == 0;
    int ng = kind == CELL_RNN ? 1 : kind == CELL_GRU ? 3 : 4;
    int n_acts = kind == CELL_RNN ? 1 : kind == CELL_GRU ? 2 : 3;
    int64_t S = X->dims[layout ? 1 : 0], B = X->dims[layout ? 0 : 1], IN = X->dims[2];
    int64_t H = R->dims[2], GH = ng * H;
    int dt = X->dtype;
    const ir_attr *clip_a = ir_attr_find(node, "clip");
    float clip = clip_a ? clip_a->f : 0.0f;
    int lbr = kind == CELL_GRU && ir_attr_int(node, "linear_before_reset", 0) != 0;
    int input_forget = kind == CELL_LSTM && ir_attr_int(node, "input_forget", 0) != 0;
    if (clip_a && !(clip > 0.0f))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "clip is %g, must be > 0", (double)clip);

    static const char *const d_rnn[] = {"Tanh"}, *const d_gru[] = {"Sigmoid", "Tanh"},
                             *const d_lstm[] = {"Sigmoid", "Tanh", "Tanh"};
    act_fn fns[6];
    ING_TRY(parse_acts(node, nd, n_acts,
                       kind == CELL_RNN ? d_rnn : kind == CELL_GRU ? d_gru : d_lstm, fns));

    const int32_t *lens = SL ? SL->data : NULL;
    for (int64_t b = 0; lens && b < B; b++)
        if (lens[b] < 0 || lens[b] > S)
            return IR_NODE_FAIL(node, INGOT_ERR_RUNTIME, "sequence_lens[%lld] is %d, must be in [0, %lld]",
                                (long long)b, lens[b], (long long)S);

    /* Scratch: slot 0 X (layout 0) and its projection; slot 1 weights; slot 2 step state. */
    int64_t sb = S * B;
    float *xf = cpu_scratch(x, 0, fbytes(sb * IN + sb * GH));
    float *wf = cpu_scratch(x, 1, fbytes(GH * IN + GH * H + 2 * GH + 3 * H));
    float *st = cpu_scratch(x, 2, fbytes(B * H * 5 + B * GH * 2));
    if (!xf || !wf || !st) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no scratch for the recurrence");
    float *xw = xf + sb * IN;
    float *rf = wf + GH * IN, *bw = rf + GH * H, *br = bw + GH, *pf = br + GH;
    float *hs = st, *cs = hs + B * H, *rh = cs + B * H, *tmp = rh + B * H, *hn = tmp + B * H;
    float *gr = hn + B * H, *gx = gr + B * GH;

    for (int64_t t = 0; t < S; t++)
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < IN; i++)
                xf[(t * B + b) * IN + i] = ldf(dt, X->data, (size_t)((layout ? b * S + t : t * B + b) * IN + i));
    /* Y rows past a sequence's end are zero. */
    if (Y)
        for (int64_t i = 0; i < ing_numel(Y); i++) stf(Y->dtype, Y->data, (size_t)i, 0.0f);

    for (int d = 0; d < nd; d++) {
        int rev = nd == 2 ? d == 1 : reverse_only;
        const act_fn *f = &fns[d * n_acts];
        for (int64_t i = 0; i < GH * IN; i++) wf[i] = ldf(dt, W->data, (size_t)(d * GH * IN + i));
        for (int64_t i = 0; i < GH * H; i++) rf[i] = ldf(dt, R->data, (size_t)(d * GH * H + i));
        for (int64_t i = 0; i < GH; i++) {
            bw[i] = Bi ? ldf(dt, Bi->data, (size_t)(d * 2 * GH + i)) : 0.0f;
            br[i] = Bi ? ldf(dt, Bi->data, (size_t)(d * 2 * GH + GH + i)) : 0.0f;
        }
        for (int64_t i = 0; i < 3 * H; i++) pf[i] = P ? ldf(dt, P->data, (size_t)(d * 3 * H + i)) : 0.0f;
        /* xw = X·W^T + Wb for every step (GRU's recurrent h bias is applied per step). */
        if (IN > 0 && sb > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)sb, (int)GH, (int)IN, 1.0f, xf, (int)IN, wf,
                        (int)IN, 0.0f, xw, (int)GH);
        else
            memset(xw, 0, sizeof(float) * (size_t)(sb * GH));
        for (int64_t r = 0; r < sb; r++)
            for (int64_t g = 0; g < GH; g++) xw[r * GH + g] += bw[g];
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++) {
                size_t si = (size_t)((layout ? b * nd + d : d * B + b) * H + j);
                hs[b * H + j] = H0 ? ldf(dt, H0->data, si) : 0.0f;
                cs[b * H + j] = C0 ? ldf(dt, C0->data, si) : 0.0f;
            }
        int64_t max_len = 0;
        for (int64_t b = 0; b < B; b++) max_len = (lens ? lens[b] : S) > max_len ? (lens ? lens[b] : S) : max_len;
        for (int64_t step = 0; step < max_len; step++) {
            /* gr = H·R^T over the whole batch (finished entries are computed and ignored). */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)GH, (int)H, 1.0f, hs, (int)H, rf,
                        (int)H, 0.0f, gr, (int)GH);
            for (int64_t b = 0; b < B; b++) {
                int64_t len = lens ? lens[b] : S;
                if (step >= len) continue;
                int64_t t = rev ? len - 1 - step : step;
                const float *xg = xw + (t * B + b) * GH;
                float *rg = gr + b * GH, *h = hs + b * H, *c = cs + b * H, *gxb = gx + b * GH;
                for (int64_t g = 0; g < GH; g++) gxb[g] = xg[g];
                if (kind == CELL_RNN) {
                    for (int64_t j = 0; j < H; j++) {
                        float v = gxb[j] + rg[j] + br[j];
                        if (clip_a) v = v < -clip ? -clip : v > clip ? clip : v;
                        hn[b * H + j] = act(&f[0], v);
                    }
                } else if (kind == CELL_GRU) {
                    /* gates z, r, h */
                    for (int64_t j = 0; j < H; j++) {
                        float z = gxb[j] + rg[j] + br[j], r = gxb[H + j] + rg[H + j] + br[H + j];
                        if (clip_a) {
                            z = z < -clip ? -clip : z > clip ? clip : z;
                            r = r < -clip ? -clip : r > clip ? clip : r;
                        }
                        gxb[j] = act(&f[0], z);
                        gxb[H + j] = act(&f[0], r);
                        rh[b * H + j] = gxb[H + j] * h[j];
                    }
                } else {
                    /* gates i, o, f, c; peepholes p_i, p_o, p_f */
                    for (int64_t j = 0; j < H; j++) {
                        float vi = gxb[j] + rg[j] + br[j] + pf[j] * c[j];
                        float vf = gxb[2 * H + j] + rg[2 * H + j] + br[2 * H + j] + pf[2 * H + j] * c[j];
                        float vc = gxb[3 * H + j] + rg[3 * H + j] + br[3 * H + j];
                        if (clip_a) {
                            vi = vi < -clip ? -clip : vi > clip ? clip : vi;
                            vf = vf < -clip ? -clip : vf > clip ? clip : vf;
                            vc = vc < -clip ? -clip : vc > clip ? clip : vc;
                        }
                        float ig = act(&f[0], vi);
                        float fg = input_forget ? 1.0f - ig : act(&f[0], vf);
                        float cn = fg * c[j] + ig * act(&f[1], vc);
                        float vo = gxb[H + j] + rg[H + j] + br[H + j] + pf[H + j] * cn;
                        if (clip_a) vo = vo < -clip ? -clip : vo > clip ? clip : vo;
                        tmp[b * H + j] = cn;
                        hn[b * H + j] = act(&f[0], vo) * act(&f[2], cn);
                    }
                }
            }
            if (kind == CELL_GRU && !lbr)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)H, (int)H, 1.0f, rh, (int)H,
                            rf + 2 * H * H, (int)H, 0.0f, tmp, (int)H);
            for (int64_t b = 0; b < B; b++) {
                int64_t len = lens ? lens[b] : S;
                if (step >= len) continue;
                int64_t t = rev ? len - 1 - step : step;
                float *h = hs + b * H, *c = cs + b * H, *gxb = gx + b * GH, *rg = gr + b * GH;
                if (kind == CELL_GRU) {
                    for (int64_t j = 0; j < H; j++) {
                        float z = gxb[j], r = gxb[H + j], v;
                        if (lbr) v = gxb[2 * H + j] + r * (rg[2 * H + j] + br[2 * H + j]);
                        else v = gxb[2 * H + j] + tmp[b * H + j] + br[2 * H + j];
                        if (clip_a) v = v < -clip ? -clip : v > clip ? clip : v;
                        hn[b * H + j] = (1.0f - z) * act(&f[1], v) + z * h[j];
                    }
                }
                for (int64_t j = 0; j < H; j++) {
                    h[j] = hn[b * H + j];
                    if (kind == CELL_LSTM) c[j] = tmp[b * H + j];
                }
                if (Y)
                    for (int64_t j = 0; j < H; j++)
                        stf(Y->dtype, Y->data,
                            (size_t)((layout ? (b * S + t) * nd + d : (t * nd + d) * B + b) * H + j), h[j]);
            }
        }
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < H; j++) {
                size_t oi = (size_t)((layout ? b * nd + d : d * B + b) * H + j);
                if (YH) stf(YH->dtype, YH->data, oi, hs[b * H + j]);
                if (YC) stf(YC->dtype, YC->data, oi, cs[b * H + j]);
            }
    }
    return INGOT_OK;
}

ingot_status cpu_linalg_rnn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    return run_cell(x, node, in, n_in, out, n_out, CELL_RNN);
}

ingot_status cpu_linalg_gru(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out)
{
    return run_cell(x, node, in, n_in, out, n_out, CELL_GRU);
}

ingot_status cpu_linalg_lstm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out)
{
    return run_cell(x, node, in, n_in, out, n_out, CELL_LSTM);
}
