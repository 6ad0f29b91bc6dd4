/* Convolution and pooling on cuDNN (NCHW, or NHWC under channels_last; f32 and f16, and bf16 in
 * NHWC; 2-byte types accumulate in f32).
 *
 * Accepted: 1-D and 2-D Conv with explicit symmetric pads (or VALID), any group count,
 * strides and dilations, optional bias; FusedConv (bias, residual, activation) likewise, its
 * bias/residual/Relu fused into the convolution by cuDNN where it can; MaxPool/AveragePool 2-D
 * with symmetric pads, floor rounding, no dilation and no Indices output. Everything else runs
 * the CPU kernel. */
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/epilogue.h"
#include "core/alloc.h"

#define WORKSPACE_LIMIT ((size_t)256 << 20) /* bytes: cap per convolution algorithm */

static ingot_status cudnn_check(cudnnStatus_t s, const ir_node *n, const char *call)
{
    if (s == CUDNN_STATUS_SUCCESS) return INGOT_OK;
    return IR_NODE_FAIL(n, INGOT_ERR_CUDA, "%s: %s", call, cudnnGetErrorString(s));
}

#define DNN(call) ING_TRY(cudnn_check((call), node, #call))

static int float_dtype(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16; }

/* 2-byte floats: tensor-core math, fp32 accumulation */
static int is16(int dt) { return dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }

static cudnnDataType_t dnn_type(int dt)
{
    return dt == INGOT_DTYPE_F16 ? CUDNN_DATA_HALF : dt == INGOT_DTYPE_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

/* Spatial geometry from attributes: kernel, strides, dilations, symmetric pads. Returns 0 when
 * the attributes ask for something cuDNN's legacy API cannot do here. */
typedef struct geom {
    int nd; /* spatial dims: 1 or 2 */
    int k[2], s[2], d[2], p[2];
} geom;

/* channels_last (opt/layout_nhwc.c): X [N, H, W, C], W [M, kh, kw, C/group] (KRSC), Y [N, H, W, M];
 * the descriptors take them as CUDNN_TENSOR_NHWC with the same logical NCHW dims. */
static int node_cl(const ir_node *n) { return ir_attr_int(n, "channels_last", 0) != 0; }

static cudnnTensorFormat_t dnn_format(int cl) { return cl ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW; }

static int read_geom(const ir_node *n, const ing_tensor *x, const ing_tensor *w, geom *g)
{
    int ks0 = node_cl(n) ? 1 : 2; /* the weight's first kernel axis */
    int nd = x->rank - 2;
    if (nd < 1 || nd > 2) return 0;
    const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
    int valid = !strcmp(ap, "VALID");
    if (strcmp(ap, "NOTSET") != 0 && !valid) return 0;
    size_t nk, ns, ndl, np;
    const int64_t *ks = ir_attr_ints(n, "kernel_shape", &nk);
    const int64_t *st = ir_attr_ints(n, "strides", &ns);
    const int64_t *dl = ir_attr_ints(n, "dilations", &ndl);
    const int64_t *pd = ir_attr_ints(n, "pads", &np);
    if ((ks && (int)nk != nd) || (st && (int)ns != nd) || (dl && (int)ndl != nd) || (pd && (int)np != 2 * nd)) return 0;
    g->nd = nd;
    for (int i = 0; i < nd; i++) {
        g->k[i] = (int)(ks ? ks[i] : (w ? w->dims[ks0 + i] : 1));
        g->s[i] = (int)(st ? st[i] : 1);
        g->d[i] = (int)(dl ? dl[i] : 1);
        int64_t b = pd && !valid ? pd[i] : 0, e = pd && !valid ? pd[i + nd] : 0;
        if (b != e) return 0;
        g->p[i] = (int)b;
    }
    if (nd == 1) { /* as 2-D with H = 1 */
        g->k[1] = g->k[0], g->s[1] = g->s[0], g->d[1] = g->d[0], g->p[1] = g->p[0];
        g->k[0] = 1, g->s[0] = 1, g->d[0] = 1, g->p[0] = 0;
    }
    return 1;
}

/* Logical NCHW dims of a 3-D or 4-D tensor (3-D gets H = 1), stored NCHW or (cl) NHWC. */
static void nchw(const ing_tensor *t, int cl, int d[4])
{
    int r = t->rank, c = cl ? r - 1 : 1, sp = cl ? 1 : 2; /* channel axis, first spatial axis */
    d[0] = (int)t->dims[0], d[1] = (int)t->dims[c];
    if (r == 3) {
        d[2] = 1, d[3] = (int)t->dims[sp];
    } else {
        d[2] = (int)t->dims[sp], d[3] = (int)t->dims[sp + 1];
    }
}

/* f32 and f16 in either layout; bf16 in NHWC only, the layout cuDNN's bf16 kernels take
 * (layout_nhwc gives it to 2-D convolutions and pooling). */
static int dtype_ok(const ir_node *n, int dt) { return float_dtype(dt) || (dt == INGOT_DTYPE_BF16 && node_cl(n)); }

static int conv_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (n_in < 2 || !in[0] || !dtype_ok(n, in[0]->dtype) || !in[1] || in[1]->dtype != in[0]->dtype) return 0;
    if (in[0]->rank != in[1]->rank || (n_in > 2 && in[2] && in[2]->dtype != in[0]->dtype)) return 0;
    geom g;
    return read_geom(n, in[0], in[1], &g);
}

/* The descriptors of one convolution (x, w, y NCHW; math = cudnnMathType_t). */
typedef struct conv_descs {
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t c;
} conv_descs;

static void conv_descs_free(conv_descs *d)
{
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
    if (d->y) cudnnDestroyTensorDescriptor(d->y);
    if (d->w) cudnnDestroyFilterDescriptor(d->w);
    if (d->c) cudnnDestroyConvolutionDescriptor(d->c);
    memset(d, 0, sizeof *d);
}

static ingot_status conv_descs_make(const ir_node *node, const ing_tensor *x, const ing_tensor *w,
                                    const ing_tensor *y, int math, conv_descs *d)
{
    geom g;
    memset(d, 0, sizeof *d);
    if (!read_geom(node, x, w, &g)) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "geometry not supported on cuDNN");
    int xd[4], wd[4], yd[4], cl = node_cl(node);
    nchw(x, cl, xd);
    nchw(w, cl, wd);
    nchw(y, cl, yd);
    cudnnDataType_t dt = dnn_type(x->dtype);
    cudnnTensorFormat_t f = dnn_format(cl);
    ingot_status st = INGOT_OK;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = cudnn_check((call), node, #call);                                 \
    } while (0)
    TRY(cudnnCreateTensorDescriptor(&d->x));
    TRY(cudnnCreateTensorDescriptor(&d->y));
    TRY(cudnnCreateFilterDescriptor(&d->w));
    TRY(cudnnCreateConvolutionDescriptor(&d->c));
    TRY(cudnnSetTensor4dDescriptor(d->x, f, dt, xd[0], xd[1], xd[2], xd[3]));
    TRY(cudnnSetTensor4dDescriptor(d->y, f, dt, yd[0], yd[1], yd[2], yd[3]));
    TRY(cudnnSetFilter4dDescriptor(d->w, dt, f, wd[0], wd[1], wd[2], wd[3]));
    TRY(cudnnSetConvolution2dDescriptor(d->c, g.p[0], g.p[1], g.s[0], g.s[1], g.d[0], g.d[1],
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    TRY(cudnnSetConvolutionGroupCount(d->c, (int)ir_attr_int(node, "group", 1)));
    TRY(cudnnSetConvolutionMathType(d->c, (cudnnMathType_t)math));
#undef TRY
    if (st != INGOT_OK) conv_descs_free(d);
    return st;
}

/* The math mode a precision allows: fp16 on tensor cores; fp32 under --tf32 may use TF32 tensor
 * cores (cuDNN's default math on Ampere and later); plain fp32 stays on FMA (strict fp32). */
static cudnnMathType_t base_math(int dtype, int precision)
{
    if (is16(dtype)) return CUDNN_TENSOR_OP_MATH;
    return precision == INGOT_PRECISION_TF32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

/* May a candidate with this math mode run at this precision? ALLOW_CONVERSION rounds fp32 to
 * fp16, which neither fp32 nor tf32 allows; strict fp32 takes what runs on FMA (cuDNN may
 * report DEFAULT for those under an FMA descriptor; run_math keeps the descriptor on FMA). */
static int math_allowed(cudnnMathType_t m, int dtype, int precision)
{
    if (is16(dtype)) return 1;
    if (precision == INGOT_PRECISION_TF32) return m != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    return m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
}

/* The math mode to set for a candidate the heuristic reported with math m. */
static cudnnMathType_t run_math(cudnnMathType_t m, int dtype, int precision)
{
    return !is16(dtype) && precision != INGOT_PRECISION_TF32 ? CUDNN_FMA_MATH : m;
}

/* How a node's bias, residual and activation run; fixed per node. cuDNN's fused call computes
 * y = act(conv(x) + z * alpha2 + bias) with act Relu or identity, identity only on the
 * IMPLICIT_PRECOMP_GEMM algorithm; everything else runs the convolution, then Conv's bias
 * (cudnnAddTensor) or FusedConv's epilogue kernel. */
typedef struct conv_plan {
    int fused_op;    /* FusedConv (inputs X, W, B?, Z?), else Conv (X, W, B?) */
    int bias, res;   /* inputs present */
    int act;         /* the epilogue's EPI_ACT_* code */
    float alpha, beta;
    int dnn_act;     /* the fused call's cudnnActivationMode_t, or -1: nothing to fuse, or no fused form */
} conv_plan;

static void conv_plan_of(const ir_node *n, const ing_tensor *const *in, int n_in, conv_plan *p)
{
    memset(p, 0, sizeof *p);
    p->fused_op = !strcmp(n->op, "FusedConv");
    p->bias = n_in > 2 && in[2];
    p->res = p->fused_op && n_in > 3 && in[3];
    p->act = p->fused_op ? cuda_epilogue_act(n, &p->alpha, &p->beta) : EPI_ACT_NONE;
    p->dnn_act = -1;
    if (p->act == EPI_ACT_RELU)
        p->dnn_act = CUDNN_ACTIVATION_RELU;
    else if (p->act == EPI_ACT_NONE && (p->bias || p->res))
        p->dnn_act = CUDNN_ACTIVATION_IDENTITY;
}

/* Does the fused call take this algorithm? */
static int plan_fuses(const conv_plan *p, cudnnConvolutionFwdAlgo_t algo)
{
    if (p->dnn_act < 0) return 0;
    return p->dnn_act != CUDNN_ACTIVATION_IDENTITY || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
}

/* The bias descriptor [1, C, 1, 1] (Conv's bias, or the fused call's) and the fused call's
 * activation, as the plan needs them (left NULL otherwise). On failure both are NULL. */
static ingot_status plan_descs(const ir_node *node, const conv_plan *p, int dtype, int channels,
                               cudnnTensorDescriptor_t *bd, cudnnActivationDescriptor_t *ad)
{
    ingot_status st = INGOT_OK;
    *bd = NULL, *ad = NULL;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = cudnn_check((call), node, #call);                                 \
    } while (0)
    if (p->bias || p->dnn_act >= 0) {
        TRY(cudnnCreateTensorDescriptor(bd));
        TRY(cudnnSetTensor4dDescriptor(*bd, CUDNN_TENSOR_NCHW, dnn_type(dtype), 1, channels, 1, 1));
    }
    if (p->dnn_act >= 0) {
        TRY(cudnnCreateActivationDescriptor(ad));
        /* ONNX Relu keeps a NaN a NaN */
        TRY(cudnnSetActivationDescriptor(*ad, (cudnnActivationMode_t)p->dnn_act, CUDNN_PROPAGATE_NAN, 0.0));
    }
#undef TRY
    if (st != INGOT_OK) {
        if (*bd) cudnnDestroyTensorDescriptor(*bd);
        if (*ad) cudnnDestroyActivationDescriptor(*ad);
        *bd = NULL, *ad = NULL;
    }
    return st;
}

/* One convolution as it runs: the fused call while `fused`, else the convolution then the
 * plan's bias or epilogue. The kernel and the build-time timing both run it, so a tactic is
 * timed on the call that will run. */
typedef struct conv_call {
    cudnnHandle_t h;
    void *stream;
    const ir_node *node;
    const conv_plan *p;
    const conv_descs *d;
    cudnnTensorDescriptor_t bd;
    cudnnActivationDescriptor_t ad;
    cudnnConvolutionFwdAlgo_t algo;
    void *ws;
    size_t ws_bytes;
    const void *x, *w, *bias, *res; /* bias, res: NULL when the node has none */
    const void *zero_bias;          /* C zeros: the fused call's bias when the node has none */
    void *y;
    int64_t numel, channels, inner; /* y's elements; element i has channel (i / inner) % channels */
    int epi_type; /* the epilogue kernel's element type: EPI_F32, EPI_F16 or EPI_BF16 */
    int fused; /* cleared when cuDNN answers NOT_SUPPORTED for the fused call */
} conv_call;

static ingot_status conv_call_run(void *arg)
{
    conv_call *c = arg;
    float one = 1.0f, zero = 0.0f;
    if (c->fused) {
        /* without a residual, alpha2 = 0 makes z unread; y stands in for it */
        float a2 = c->res ? 1.0f : 0.0f;
        cudnnStatus_t s = cudnnConvolutionBiasActivationForward(
            c->h, &one, c->d->x, c->x, c->d->w, c->w, c->d->c, c->algo, c->ws, c->ws_bytes, &a2, c->d->y,
            c->res ? c->res : c->y, c->bd, c->bias ? c->bias : c->zero_bias, c->ad, c->d->y, c->y);
        if (CUDNN_STATUS_CATEGORY(s) != CUDNN_STATUS_NOT_SUPPORTED)
            return cudnn_check(s, c->node, "cudnnConvolutionBiasActivationForward");
        /* cuDNN checks support on the host before it enqueues anything (so also during graph
         * capture): the plain path below runs instead, now and from now on */
        c->fused = 0;
    }
    ING_TRY(cudnn_check(cudnnConvolutionForward(c->h, &one, c->d->x, c->x, c->d->w, c->w, c->d->c, c->algo, c->ws,
                                                c->ws_bytes, &zero, c->d->y, c->y),
                        c->node, "cudnnConvolutionForward"));
    if (!c->p->fused_op)
        return c->bias ? cudnn_check(cudnnAddTensor(c->h, &one, c->bd, c->bias, &one, c->d->y, c->y), c->node,
                                     "cudnnAddTensor")
                       : INGOT_OK;
    if (c->p->act == EPI_ACT_NONE && !c->bias && !c->res) return INGOT_OK;
    int err = ingot_epilogue(c->y, c->bias, c->res, c->numel, c->channels, c->inner, c->p->act, c->p->alpha,
                             c->p->beta, c->epi_type, c->stream);
    return err ? cuda_check(err, "ingot_epilogue") : INGOT_OK;
}

/* y's channel count and the elements per channel run (NCHW; channels last: runs of one). */
static void conv_call_shape(conv_call *c, const ing_tensor *y, int cl)
{
    c->numel = ing_numel(y);
    c->channels = y->dims[cl ? y->rank - 1 : 1];
    c->inner = 1;
    for (int d = 2; d < y->rank && !cl; d++) c->inner *= y->dims[d];
    c->epi_type = y->dtype == INGOT_DTYPE_F16 ? EPI_F16 : y->dtype == INGOT_DTYPE_BF16 ? EPI_BF16 : EPI_F32;
}

/* What a context keeps per convolution node for the shapes it last ran: descriptors, the
 * algorithm and whether the fused call runs, so uncaptured runs skip the descriptor calls and
 * the heuristic. */
typedef struct conv_state {
    int64_t key[14]; /* x, w, y as NCHW, dtype, bias */
    conv_descs d;
    cudnnTensorDescriptor_t b;         /* the bias as [1, C, 1, 1], or NULL */
    cudnnActivationDescriptor_t act;   /* the fused call's, or NULL */
    cudnnConvolutionFwdAlgo_t algo;
    size_t ws_bytes;
    int fused; /* cudnnConvolutionBiasActivationForward runs; cleared on NOT_SUPPORTED */
    int from_tactic;
    uint32_t failed; /* bit per algorithm that cuDNN refused at run time for these descriptors */
} conv_state;

static void conv_state_free(void *p)
{
    conv_state *s = p;
    conv_descs_free(&s->d);
    if (s->b) cudnnDestroyTensorDescriptor(s->b);
    if (s->act) cudnnDestroyActivationDescriptor(s->act);
    ing_free(s);
}

static void conv_key(const ing_tensor *x, const ing_tensor *w, const ing_tensor *y, int cl, int bias, int64_t key[14])
{
    int d[4];
    const ing_tensor *t[3] = {x, w, y};
    for (int i = 0; i < 3; i++) {
        nchw(t[i], cl, d);
        for (int j = 0; j < 4; j++) key[4 * i + j] = d[j];
    }
    key[12] = x->dtype;
    key[13] = bias;
}

/* Can candidate c run at this precision within the workspace cap? Sets its math on the
 * descriptors and asks cudnnGetConvolutionForwardWorkspaceSize for the workspace it then needs:
 * the heuristic's own figure can be short of what the call demands (BAD_PARAM at the call). */
static int candidate_fits(cudnnHandle_t h, const conv_descs *d, const cudnnConvolutionFwdAlgoPerf_t *c, int dtype,
                          int precision, size_t *ws)
{
    *ws = 0;
    return c->status == CUDNN_STATUS_SUCCESS && math_allowed(c->mathType, dtype, precision) &&
           cudnnSetConvolutionMathType(d->c, run_math(c->mathType, dtype, precision)) == CUDNN_STATUS_SUCCESS &&
           cudnnGetConvolutionForwardWorkspaceSize(h, d->x, d->w, d->c, d->y, c->algo, ws) == CUDNN_STATUS_SUCCESS &&
           *ws <= WORKSPACE_LIMIT;
}

/* The heuristic's best algorithm for s's descriptors that cuDNN has not refused at run time
 * (s->failed) and that fits (candidate_fits); fusing ones first when the plan fuses. */
static cudnnStatus_t pick_algo_status(cudnnHandle_t h, const conv_plan *p, int dtype, int precision, conv_state *s)
{
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    cudnnStatus_t r = cudnnGetConvolutionForwardAlgorithm_v7(h, s->d.x, s->d.w, s->d.c, s->d.y,
                                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf);
    if (r != CUDNN_STATUS_SUCCESS) return r;
    for (int pass = 0; pass < 2; pass++) /* pass 0: fusing ones only */
        for (int i = 0; i < found; i++) {
            size_t ws;
            if ((s->failed >> (int)perf[i].algo & 1u) || !(pass || plan_fuses(p, perf[i].algo)) ||
                !candidate_fits(h, &s->d, &perf[i], dtype, precision, &ws))
                continue;
            s->algo = perf[i].algo;
            s->ws_bytes = ws;
            return CUDNN_STATUS_SUCCESS;
        }
    return CUDNN_STATUS_NOT_SUPPORTED;
}

static ingot_status pick_algo(cuda_exec *x, const ir_node *node, const conv_plan *p, int dtype, int precision,
                              conv_state *s)
{
    cudnnStatus_t r = pick_algo_status(cuda_cudnn(x), p, dtype, precision, s);
    if (r == CUDNN_STATUS_NOT_SUPPORTED)
        return IR_NODE_FAIL(node, INGOT_ERR_CUDA, "cuDNN offers no forward algorithm%s",
                            s->failed ? " it has not refused already at run time" : "");
    return cudnn_check(r, node, "cudnnGetConvolutionForwardAlgorithm_v7");
}

/* Descriptors and algorithm: the step's tactic, or without one the heuristic's best algorithm
 * whose workspace fits and whose math the precision allows (for an identity fusion the best
 * IMPLICIT_PRECOMP_GEMM such, when listed: it saves the bias pass over y). */
static ingot_status conv_state_make(cuda_exec *x, const ir_node *node, const ing_tensor *const *in,
                                    const ing_tensor *out, const conv_plan *p, const int64_t key[14], conv_state **res)
{
    const engine_tactic *tac = cuda_step_tactic(x, node);
    if (tac && tac->kind != TACTIC_CUDNN_CONV)
        return IR_NODE_FAIL(node, INGOT_ERR_CORRUPT, "the step's tactic is of kind %d, a convolution needs %d", tac->kind,
                            TACTIC_CUDNN_CONV);
    int precision = cuda_precision(x), dtype = in[0]->dtype;
    conv_state *s = ing_calloc(1, sizeof *s);
    if (!s) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for convolution descriptors");
    memcpy(s->key, key, sizeof s->key);
    ingot_status st = conv_descs_make(node, in[0], in[1], out, tac ? tac->math : (int)base_math(dtype, precision), &s->d);
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = cudnn_check((call), node, #call);                                 \
    } while (0)
    size_t ws = 0;
    /* A tactic was timed at one shape (a profile's opt shape when the input dims vary): these
     * descriptors may be another, so ask cuDNN for the algorithm's workspace at them; where it
     * refuses or needs too much, the heuristic chooses as if there were no tactic. */
    if (tac && st == INGOT_OK &&
        cudnnGetConvolutionForwardWorkspaceSize(cuda_cudnn(x), s->d.x, s->d.w, s->d.c, s->d.y,
                                                (cudnnConvolutionFwdAlgo_t)tac->algo, &ws) == CUDNN_STATUS_SUCCESS &&
        ws <= WORKSPACE_LIMIT) {
        s->algo = (cudnnConvolutionFwdAlgo_t)tac->algo;
        s->ws_bytes = ws;
        s->from_tactic = 1;
    } else if (st == INGOT_OK) {
        st = pick_algo(x, node, p, dtype, precision, s); /* sets each candidate's math itself */
    }
#undef TRY
    if (st == INGOT_OK) st = plan_descs(node, p, dtype, (int)key[9], &s->b, &s->act);
    if (st != INGOT_OK) {
        conv_state_free(s);
        return st;
    }
    s->fused = plan_fuses(p, s->algo);
    *res = s;
    return INGOT_OK;
}

/* Point c at s's algorithm: its workspace and, for a fused call without a bias, the zeros that
 * call adds (in scratch shared with other kernels, so set on every run). */
static ingot_status conv_call_algo(cuda_exec *x, const conv_state *s, int dtype, conv_call *c)
{
    c->algo = s->algo;
    c->ws_bytes = s->ws_bytes;
    c->fused = s->fused;
    c->ws = NULL;
    if (s->ws_bytes && !(c->ws = cuda_scratch(x, 0, s->ws_bytes))) return INGOT_ERR_NOMEM;
    if (!c->fused || c->p->bias || c->zero_bias) return INGOT_OK;
    size_t nb = (size_t)c->channels * ingot_dtype_size((ingot_dtype)dtype);
    void *z = cuda_scratch(x, 1, nb);
    if (!z) return INGOT_ERR_NOMEM;
    ING_TRY(cuda_check(cudaMemsetAsync(z, 0, nb, (cudaStream_t)c->stream), "cudaMemsetAsync"));
    c->zero_bias = z;
    return INGOT_OK;
}

/* Conv and FusedConv: the fused call where the plan and the algorithm allow it, else the
 * convolution then the bias (Conv) or the epilogue (FusedConv). */
static ingot_status k_conv(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    (void)n_out;
    cudnnHandle_t h = cuda_cudnn(x);
    DNN(cudnnSetStream(h, cuda_stream(x)));
    conv_plan p;
    conv_plan_of(node, in, n_in, &p);
    int64_t key[14];
    conv_key(in[0], in[1], out[0], node_cl(node), p.bias, key);
    conv_state *s = cuda_node_state(x, node);
    if (!s || memcmp(s->key, key, sizeof key) != 0) {
        ING_TRY(conv_state_make(x, node, in, out[0], &p, key, &s));
        ING_TRY(cuda_set_node_state(x, node, s, conv_state_free));
    }
    conv_call c = {h, cuda_stream(x), node, &p, &s->d, s->b, s->act, s->algo, NULL, 0,
                   in[0]->data, in[1]->data, p.bias ? in[2]->data : NULL, p.res ? in[3]->data : NULL,
                   NULL, out[0]->data, 0, 0, 0, 0, 0};
    conv_call_shape(&c, out[0], node_cl(node));
    ING_TRY(conv_call_algo(x, s, in[0]->dtype, &c));
    ingot_status st = conv_call_run(&c);
    s->fused = c.fused;
    /* cuDNN refuses some algorithms its heuristic listed only when called (seen: depthwise NHWC
     * f16 at batch 128, CUDNN_STATUS_BAD_PARAM); that check runs on the host before anything is
     * enqueued, so the next algorithm can run instead, now and from now on */
    while (st == INGOT_ERR_CUDA && !s->from_tactic && s->algo < 32) {
        s->failed |= 1u << (int)s->algo;
        if (pick_algo(x, node, &p, in[0]->dtype, cuda_precision(x), s) != INGOT_OK) break;
        s->fused = plan_fuses(&p, s->algo);
        ING_TRY(conv_call_algo(x, s, in[0]->dtype, &c));
        st = conv_call_run(&c);
        s->fused = c.fused;
    }
    return st;
}

/* Build time: every forward algorithm cuDNN lists for these descriptors whose status is
 * success, whose workspace fits and whose math the precision allows, timed on random data in
 * the form it will run (fused or not, bias, residual and epilogue included). */
static ingot_status tune_conv(cuda_tuner *tu, const ir_node *node, const ing_tensor *const *in, int n_in,
                              const ing_tensor *out, engine_tactic *best)
{
    int precision = cuda_tuner_precision(tu), dtype = in[0]->dtype;
    cudnnHandle_t h = cuda_tuner_cudnn(tu);
    conv_plan p;
    conv_plan_of(node, in, n_in, &p);
    conv_descs d;
    ING_TRY(conv_descs_make(node, in[0], in[1], out, (int)base_math(dtype, precision), &d));
    conv_call t = {h, cuda_tuner_stream(tu), node, &p, &d, NULL, NULL, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0,
                   NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0};
    conv_call_shape(&t, out, node_cl(node));
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    double best_ms = -1;
    size_t bias_bytes = (size_t)t.channels * ingot_dtype_size((ingot_dtype)dtype);
    ingot_status st = cudnn_check(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.c, d.y,
                                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf),
                                  node, "cudnnGetConvolutionForwardAlgorithm_v7");
    if (st == INGOT_OK) st = plan_descs(node, &p, dtype, (int)t.channels, &t.bd, &t.ad);
    /* the zero bias's values do not change the timing: random ones stand in */
    if (st == INGOT_OK && (!(t.x = cuda_tuner_buffer(tu, 0, ing_nbytes(in[0]), dtype)) ||
                           !(t.w = cuda_tuner_buffer(tu, 1, ing_nbytes(in[1]), dtype)) ||
                           !(t.y = cuda_tuner_buffer(tu, 2, ing_nbytes(out), -1)) ||
                           !(t.zero_bias = cuda_tuner_buffer(tu, 3, bias_bytes, dtype)) ||
                           (p.res && !(t.res = cuda_tuner_buffer(tu, 4, ing_nbytes(out), dtype)))))
        st = INGOT_ERR_NOMEM;
    if (p.bias) t.bias = t.zero_bias;
    for (int i = 0; i < found && st == INGOT_OK; i++) {
        const cudnnConvolutionFwdAlgoPerf_t *c = &perf[i];
        size_t ws;
        if (!candidate_fits(h, &d, c, dtype, precision, &ws)) continue;
        t.algo = c->algo;
        t.ws_bytes = ws;
        t.ws = NULL;
        t.fused = plan_fuses(&p, c->algo);
        if (t.ws_bytes && !(t.ws = cuda_tuner_buffer(tu, 5, t.ws_bytes, -1))) {
            st = INGOT_ERR_NOMEM;
            break;
        }
        double ms = 0;
        cudnnMathType_t math = run_math(c->mathType, dtype, precision); /* set by candidate_fits */
        ingot_status ts = cuda_tuner_time(tu, conv_call_run, &t, &ms);
        if (ts != INGOT_OK) { /* a candidate that fails is not a tactic; the others still are */
            cuda_tuner_log(tu, "node '%s': cuDNN algo %d (math %d): failed: %s", node->name, (int)c->algo, (int)math,
                           ingot_last_error());
            continue;
        }
        cuda_tuner_log(tu, "node '%s': cuDNN algo %d (math %d, workspace %zu, %s): %.4f ms", node->name, (int)c->algo,
                       (int)math, ws, t.fused ? "fused" : "unfused", ms);
        if (best_ms < 0 || ms < best_ms) {
            best_ms = ms;
            memset(best, 0, sizeof *best);
            best->kind = TACTIC_CUDNN_CONV;
            best->math = (uint8_t)math;
            best->layout = TACTIC_LAYOUT_NCHW; /* the node's channels_last says how the tensors lie */
            best->algo = (int32_t)c->algo;
            best->workspace = ws;
        }
    }
    conv_descs_free(&d);
    if (t.bd) cudnnDestroyTensorDescriptor(t.bd);
    if (t.ad) cudnnDestroyActivationDescriptor(t.ad);
    if (st == INGOT_OK && best_ms < 0)
        st = IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "none of cuDNN's %d forward algorithms ran", found);
    return st;
}

/* FusedConv: inputs X, W, B?, Z? (residual); y = act(conv(x) + b + z). */
static int fused_conv_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    float a, b;
    if (!conv_accepts(n, in, n_in < 3 ? n_in : 3) || cuda_epilogue_act(n, &a, &b) < 0) return 0;
    if (n_in < 4 || !in[3]) return 1;
    /* the residual is added element by element: it must have the output's exact shape
     * (a broadcasting residual runs on the CPU kernel) */
    const ir_op_def *conv = ir_op_lookup("Conv");
    ing_tensor y = {0}, *outs[1] = {&y};
    if (in[3]->dtype != in[0]->dtype || !conv || conv->infer(n, in, 3, outs, 1) != INGOT_OK) return 0;
    return ing_shape_known(&y) && ing_same_shape(&y, in[3]);
}

static int pool_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (n_in < 1 || !in[0] || in[0]->rank != 4 || !dtype_ok(n, in[0]->dtype)) return 0;
    if (n->n_out > 1 && n->out[1] >= 0) return 0; /* MaxPool Indices */
    if (ir_attr_int(n, "ceil_mode", 0) != 0) return 0;
    size_t nd;
    const int64_t *dl = ir_attr_ints(n, "dilations", &nd);
    for (size_t i = 0; i < nd; i++)
        if (dl[i] != 1) return 0;
    size_t nk;
    if (!ir_attr_ints(n, "kernel_shape", &nk) || nk != 2) return 0;
    geom g;
    return read_geom(n, in[0], NULL, &g);
}

/* A context's pooling descriptors for the shapes a node last ran (mode and window come from
 * the node's attributes, fixed per node). */
typedef struct pool_state {
    int xd[4], yd[4], dtype;
    cudnnTensorDescriptor_t x, y;
    cudnnPoolingDescriptor_t p;
} pool_state;

static void pool_state_free(void *v)
{
    pool_state *s = v;
    if (s->x) cudnnDestroyTensorDescriptor(s->x);
    if (s->y) cudnnDestroyTensorDescriptor(s->y);
    if (s->p) cudnnDestroyPoolingDescriptor(s->p);
    ing_free(s);
}

static ingot_status pool_state_make(const ir_node *node, const ing_tensor *xt, const ing_tensor *yt, pool_state **res)
{
    geom g;
    if (!read_geom(node, xt, NULL, &g)) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "geometry not supported on cuDNN");
    pool_state *s = ing_calloc(1, sizeof *s);
    if (!s) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "out of memory for pooling descriptors");
    int cl = node_cl(node);
    nchw(xt, cl, s->xd);
    nchw(yt, cl, s->yd);
    s->dtype = xt->dtype;
    cudnnDataType_t dt = dnn_type(xt->dtype);
    cudnnPoolingMode_t mode = !strcmp(node->op, "MaxPool") ? CUDNN_POOLING_MAX
                              : ir_attr_int(node, "count_include_pad", 0) ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                                          : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    ingot_status st = INGOT_OK;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = cudnn_check((call), node, #call);                                 \
    } while (0)
    TRY(cudnnCreateTensorDescriptor(&s->x));
    TRY(cudnnCreateTensorDescriptor(&s->y));
    TRY(cudnnCreatePoolingDescriptor(&s->p));
    TRY(cudnnSetTensor4dDescriptor(s->x, dnn_format(cl), dt, s->xd[0], s->xd[1], s->xd[2], s->xd[3]));
    TRY(cudnnSetTensor4dDescriptor(s->y, dnn_format(cl), dt, s->yd[0], s->yd[1], s->yd[2], s->yd[3]));
    TRY(cudnnSetPooling2dDescriptor(s->p, mode, CUDNN_PROPAGATE_NAN, g.k[0], g.k[1], g.p[0], g.p[1], g.s[0], g.s[1]));
#undef TRY
    if (st != INGOT_OK) {
        pool_state_free(s);
        return st;
    }
    *res = s;
    return INGOT_OK;
}

static ingot_status k_pool(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    cudnnHandle_t h = cuda_cudnn(x);
    DNN(cudnnSetStream(h, cuda_stream(x)));
    int xd[4], yd[4];
    nchw(in[0], node_cl(node), xd);
    nchw(out[0], node_cl(node), yd);
    pool_state *s = cuda_node_state(x, node);
    if (!s || s->dtype != in[0]->dtype || memcmp(s->xd, xd, sizeof xd) != 0 || memcmp(s->yd, yd, sizeof yd) != 0) {
        ING_TRY(pool_state_make(node, in[0], out[0], &s));
        ING_TRY(cuda_set_node_state(x, node, s, pool_state_free));
    }
    float one = 1.0f, zero = 0.0f;
    DNN(cudnnPoolingForward(h, s->p, &one, s->x, in[0]->data, &zero, s->y, out[0]->data));
    return INGOT_OK;
}

const cuda_kernel_def cuda_kernels_conv[] = {
    {"Conv", k_conv, conv_accepts, tune_conv},
    {"FusedConv", k_conv, fused_conv_accepts, tune_conv},
    {"MaxPool", k_pool, pool_accepts, NULL},
    {"AveragePool", k_pool, pool_accepts, NULL},
    {NULL, NULL, NULL, NULL},
};
