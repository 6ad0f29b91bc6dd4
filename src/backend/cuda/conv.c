/* Convolution and pooling on cuDNN (NCHW, f32 and f16; f16 accumulates in f32).
 *
 * Accepted: 1-D and 2-D Conv with explicit symmetric pads (or VALID), any group count,
 * strides and dilations, optional bias; MaxPool/AveragePool 2-D with symmetric pads,
 * floor rounding, no dilation and no Indices output. Everything else runs the CPU kernel. */
#include <cudnn.h>
#include <string.h>

#include "backend/cuda/cuda.h"

#define WORKSPACE_LIMIT ((size_t)256 << 20) /* bytes: cap per convolution algorithm */

static ingot_status cudnn_check(cudnnStatus_t s, const ir_node *n, const char *call)
{
    if (s == CUDNN_STATUS_SUCCESS) return INGOT_OK;
    return IR_NODE_FAIL(n, INGOT_ERR_CUDA, "%s: %s", call, cudnnGetErrorString(s));
}

#define DNN(call) ING_TRY(cudnn_check((call), node, #call))

static int float_dtype(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16; }

static cudnnDataType_t dnn_type(int dt) { return dt == INGOT_DTYPE_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT; }

/* Spatial geometry from attributes: kernel, strides, dilations, symmetric pads. Returns 0 when
 * the attributes ask for something cuDNN's legacy API cannot do here. */
typedef struct geom {
    int nd; /* spatial dims: 1 or 2 */
    int k[2], s[2], d[2], p[2];
} geom;

static int read_geom(const ir_node *n, const ing_tensor *x, const ing_tensor *w, geom *g)
{
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
        g->k[i] = (int)(ks ? ks[i] : (w ? w->dims[2 + i] : 1));
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

/* NCHW dims of a 3-D or 4-D tensor (3-D gets H = 1). */
static void nchw(const ing_tensor *t, int d[4])
{
    if (t->rank == 3) {
        d[0] = (int)t->dims[0], d[1] = (int)t->dims[1], d[2] = 1, d[3] = (int)t->dims[2];
    } else {
        for (int i = 0; i < 4; i++) d[i] = (int)t->dims[i];
    }
}

static int conv_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (n_in < 2 || !in[0] || !in[1] || !float_dtype(in[0]->dtype) || in[1]->dtype != in[0]->dtype) return 0;
    if (in[0]->rank != in[1]->rank || (n_in > 2 && in[2] && in[2]->dtype != in[0]->dtype)) return 0;
    geom g;
    return read_geom(n, in[0], in[1], &g);
}

/* The convolution, and the bias when add_bias (cudnnAddTensor). */
static ingot_status conv_core(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int add_bias)
{
    geom g;
    if (!read_geom(node, in[0], in[1], &g)) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "geometry not supported on cuDNN");
    cudnnHandle_t h = cuda_cudnn(x);
    DNN(cudnnSetStream(h, cuda_stream(x)));
    int xd[4], wd[4], yd[4];
    nchw(in[0], xd);
    nchw(in[1], wd);
    nchw(out[0], yd);
    cudnnDataType_t dt = dnn_type(in[0]->dtype);
    cudnnTensorDescriptor_t xdesc = NULL, ydesc = NULL, bdesc = NULL;
    cudnnFilterDescriptor_t wdesc = NULL;
    cudnnConvolutionDescriptor_t cdesc = NULL;
    ingot_status st = INGOT_OK;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = cudnn_check((call), node, #call);                                 \
    } while (0)
    TRY(cudnnCreateTensorDescriptor(&xdesc));
    TRY(cudnnCreateTensorDescriptor(&ydesc));
    TRY(cudnnCreateFilterDescriptor(&wdesc));
    TRY(cudnnCreateConvolutionDescriptor(&cdesc));
    TRY(cudnnSetTensor4dDescriptor(xdesc, CUDNN_TENSOR_NCHW, dt, xd[0], xd[1], xd[2], xd[3]));
    TRY(cudnnSetTensor4dDescriptor(ydesc, CUDNN_TENSOR_NCHW, dt, yd[0], yd[1], yd[2], yd[3]));
    TRY(cudnnSetFilter4dDescriptor(wdesc, dt, CUDNN_TENSOR_NCHW, wd[0], wd[1], wd[2], wd[3]));
    TRY(cudnnSetConvolution2dDescriptor(cdesc, g.p[0], g.p[1], g.s[0], g.s[1], g.d[0], g.d[1],
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    TRY(cudnnSetConvolutionGroupCount(cdesc, (int)ir_attr_int(node, "group", 1)));
    TRY(cudnnSetConvolutionMathType(cdesc, in[0]->dtype == INGOT_DTYPE_F16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
    /* the heuristic's best algorithm whose workspace fits */
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int found = 0;
    TRY(cudnnGetConvolutionForwardAlgorithm_v7(h, xdesc, wdesc, cdesc, ydesc, 8, &found, perf));
    int pick = -1;
    for (int i = 0; i < found && st == INGOT_OK; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= WORKSPACE_LIMIT) {
            pick = i;
            break;
        }
    if (st == INGOT_OK && pick < 0) st = IR_NODE_FAIL(node, INGOT_ERR_CUDA, "cuDNN offers no forward algorithm");
    size_t ws_bytes = 0;
    void *ws = NULL;
    if (st == INGOT_OK) {
        ws_bytes = perf[pick].memory;
        if (ws_bytes && !(ws = cuda_scratch(x, 0, ws_bytes))) st = INGOT_ERR_NOMEM;
    }
    float one = 1.0f, zero = 0.0f;
    TRY(cudnnConvolutionForward(h, &one, xdesc, in[0]->data, wdesc, in[1]->data, cdesc, perf[pick].algo, ws, ws_bytes,
                                &zero, ydesc, out[0]->data));
    if (add_bias && n_in > 2 && in[2]) {
        TRY(cudnnCreateTensorDescriptor(&bdesc));
        TRY(cudnnSetTensor4dDescriptor(bdesc, CUDNN_TENSOR_NCHW, dt, 1, yd[1], 1, 1));
        TRY(cudnnAddTensor(h, &one, bdesc, in[2]->data, &one, ydesc, out[0]->data));
    }
#undef TRY
    if (bdesc) cudnnDestroyTensorDescriptor(bdesc);
    if (xdesc) cudnnDestroyTensorDescriptor(xdesc);
    if (ydesc) cudnnDestroyTensorDescriptor(ydesc);
    if (wdesc) cudnnDestroyFilterDescriptor(wdesc);
    if (cdesc) cudnnDestroyConvolutionDescriptor(cdesc);
    return st;
}

static ingot_status k_conv(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    return conv_core(x, node, in, n_in, out, 1);
}

/* FusedConv: inputs X, W, B?, Z? (residual); y = act(conv(x) + b + z). */
static int fused_conv_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    float a, b;
    if (!conv_accepts(n, in, n_in < 3 ? n_in : 3) || cuda_epilogue_act(n, &a, &b) < 0) return 0;
    if (n_in < 4 || !in[3]) return 1;
    /* the epilogue adds the residual element by element: it must have the output's exact shape
     * (a broadcasting residual runs on the CPU kernel) */
    const ir_op_def *conv = ir_op_lookup("Conv");
    ing_tensor y = {0}, *outs[1] = {&y};
    if (in[3]->dtype != in[0]->dtype || !conv || conv->infer(n, in, 3, outs, 1) != INGOT_OK) return 0;
    return ing_shape_known(&y) && ing_same_shape(&y, in[3]);
}

static ingot_status k_fused_conv(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    ING_TRY(conv_core(x, node, in, n_in < 3 ? n_in : 3, out, 0));
    const ing_tensor *bias = n_in > 2 ? in[2] : NULL, *res = n_in > 3 ? in[3] : NULL;
    int64_t inner = 1;
    for (int d = 2; d < out[0]->rank; d++) inner *= out[0]->dims[d];
    return cuda_run_epilogue(x, node, out[0], bias, res, out[0]->dims[1], inner);
}

static int pool_accepts(const ir_node *n, const ing_tensor *const *in, int n_in)
{
    if (n_in < 1 || !in[0] || in[0]->rank != 4 || !float_dtype(in[0]->dtype)) return 0;
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

static ingot_status k_pool(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    geom g;
    if (!read_geom(node, in[0], NULL, &g)) return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "geometry not supported on cuDNN");
    cudnnHandle_t h = cuda_cudnn(x);
    DNN(cudnnSetStream(h, cuda_stream(x)));
    int xd[4], yd[4];
    nchw(in[0], xd);
    nchw(out[0], yd);
    cudnnDataType_t dt = dnn_type(in[0]->dtype);
    cudnnPoolingMode_t mode = !strcmp(node->op, "MaxPool") ? CUDNN_POOLING_MAX
                              : ir_attr_int(node, "count_include_pad", 0) ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                                                          : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    cudnnTensorDescriptor_t xdesc = NULL, ydesc = NULL;
    cudnnPoolingDescriptor_t pdesc = NULL;
    ingot_status st = INGOT_OK;
#define TRY(call)                                                                                  \
    do {                                                                                           \
        if (st == INGOT_OK) st = cudnn_check((call), node, #call);                                 \
    } while (0)
    TRY(cudnnCreateTensorDescriptor(&xdesc));
    TRY(cudnnCreateTensorDescriptor(&ydesc));
    TRY(cudnnCreatePoolingDescriptor(&pdesc));
    TRY(cudnnSetTensor4dDescriptor(xdesc, CUDNN_TENSOR_NCHW, dt, xd[0], xd[1], xd[2], xd[3]));
    TRY(cudnnSetTensor4dDescriptor(ydesc, CUDNN_TENSOR_NCHW, dt, yd[0], yd[1], yd[2], yd[3]));
    TRY(cudnnSetPooling2dDescriptor(pdesc, mode, CUDNN_PROPAGATE_NAN, g.k[0], g.k[1], g.p[0], g.p[1], g.s[0], g.s[1]));
    float one = 1.0f, zero = 0.0f;
    TRY(cudnnPoolingForward(h, pdesc, &one, xdesc, in[0]->data, &zero, ydesc, out[0]->data));
#undef TRY
    if (xdesc) cudnnDestroyTensorDescriptor(xdesc);
    if (ydesc) cudnnDestroyTensorDescriptor(ydesc);
    if (pdesc) cudnnDestroyPoolingDescriptor(pdesc);
    return st;
}

const cuda_kernel_def cuda_kernels_conv[] = {
    {"Conv", k_conv, conv_accepts},
    {"FusedConv", k_fused_conv, fused_conv_accepts},
    {"MaxPool", k_pool, pool_accepts},
    {"AveragePool", k_pool, pool_accepts},
    {NULL, NULL, NULL},
};
