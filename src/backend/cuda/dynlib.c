/* cuDNN and cuBLASLt, loaded on first use.
 *
 * Linked normally, the two libraries cost every process ~210 MB of resident memory at start
 * (their relocations are applied when the loader maps them), CPU-only runs and `ingot inspect`
 * included. Instead, each function the backend calls is defined here with the library's own
 * prototype (the headers check every signature) and forwards to the real symbol, resolved with
 * dlopen/dlsym the first time. cuda_libs_load() loads both up front so that a missing library
 * becomes a clear message at backend selection. */
#include <cublasLt.h>
#include <cudnn.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda/cuda.h"

#define CUDNN_SONAME "libcudnn.so.9"
#define CUBLASLT_SONAME "libcublasLt.so.13"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *h_cudnn, *h_lt;
static char load_error[512];

static void load_both(void)
{
    h_cudnn = dlopen(CUDNN_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h_cudnn) {
        snprintf(load_error, sizeof load_error, "cannot load %s: %s", CUDNN_SONAME, dlerror());
        return;
    }
    h_lt = dlopen(CUBLASLT_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h_lt) snprintf(load_error, sizeof load_error, "cannot load %s: %s", CUBLASLT_SONAME, dlerror());
}

ingot_status cuda_libs_load(void)
{
    pthread_once(&once, load_both);
    if (!h_cudnn || !h_lt)
        return ingot_fail(INGOT_ERR_BACKEND, "CUDA backend: %s (install cuDNN 9 and cuBLASLt 13, or put them on "
                          "LD_LIBRARY_PATH)", load_error);
    return INGOT_OK;
}

static void *sym(void **lib, const char *name)
{
    pthread_once(&once, load_both);
    return *lib ? dlsym(*lib, name) : NULL;
}

/* One forwarding definition: the pointer is resolved once (a benign race writes the same
 * value); a missing symbol returns `fail`. */
#define FWD(lib, ret, fail, name, params, args)                                                   \
    ret name params                                                                                \
    {                                                                                              \
        static ret(*fwd_cache_) params;                                                            \
        ret(*fwd_fn_) params = __atomic_load_n(&fwd_cache_, __ATOMIC_ACQUIRE);                     \
        if (!fwd_fn_) {                                                                            \
            *(void **)&fwd_fn_ = sym(&lib, #name);                                                 \
            if (!fwd_fn_) return fail;                                                             \
            __atomic_store_n(&fwd_cache_, fwd_fn_, __ATOMIC_RELEASE);                              \
        }                                                                                          \
        return fwd_fn_ args;                                                                       \
    }

#define DNN(name, params, args) FWD(h_cudnn, cudnnStatus_t, CUDNN_STATUS_NOT_INITIALIZED, name, params, args)
#define LT(name, params, args) FWD(h_lt, cublasStatus_t, CUBLAS_STATUS_NOT_INITIALIZED, name, params, args)

FWD(h_cudnn, size_t, 0, cudnnGetVersion, (void), ())
FWD(h_cudnn, const char *, "cuDNN is not loaded", cudnnGetErrorString, (cudnnStatus_t s), (s))
DNN(cudnnCreate, (cudnnHandle_t * h), (h))
DNN(cudnnDestroy, (cudnnHandle_t h), (h))
DNN(cudnnSetStream, (cudnnHandle_t h, cudaStream_t s), (h, s))
DNN(cudnnCreateTensorDescriptor, (cudnnTensorDescriptor_t * d), (d))
DNN(cudnnDestroyTensorDescriptor, (cudnnTensorDescriptor_t d), (d))
DNN(cudnnSetTensor4dDescriptor,
    (cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c, int h, int w),
    (d, f, t, n, c, h, w))
DNN(cudnnAddTensor,
    (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t ad, const void *a, const void *beta,
     const cudnnTensorDescriptor_t cd, void *c),
    (h, alpha, ad, a, beta, cd, c))
DNN(cudnnCreateFilterDescriptor, (cudnnFilterDescriptor_t * d), (d))
DNN(cudnnDestroyFilterDescriptor, (cudnnFilterDescriptor_t d), (d))
DNN(cudnnSetFilter4dDescriptor,
    (cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k, int c, int h, int w),
    (d, t, f, k, c, h, w))
DNN(cudnnCreateConvolutionDescriptor, (cudnnConvolutionDescriptor_t * d), (d))
DNN(cudnnDestroyConvolutionDescriptor, (cudnnConvolutionDescriptor_t d), (d))
DNN(cudnnSetConvolution2dDescriptor,
    (cudnnConvolutionDescriptor_t d, int ph, int pw, int u, int v, int dh, int dw, cudnnConvolutionMode_t m,
     cudnnDataType_t t),
    (d, ph, pw, u, v, dh, dw, m, t))
DNN(cudnnSetConvolutionGroupCount, (cudnnConvolutionDescriptor_t d, int g), (d, g))
DNN(cudnnSetConvolutionMathType, (cudnnConvolutionDescriptor_t d, cudnnMathType_t m), (d, m))
DNN(cudnnGetConvolutionForwardAlgorithm_v7,
    (cudnnHandle_t h, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
     const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t y, const int n, int *got,
     cudnnConvolutionFwdAlgoPerf_t *perf),
    (h, x, w, c, y, n, got, perf))
DNN(cudnnGetConvolutionForwardWorkspaceSize,
    (cudnnHandle_t h, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
     const cudnnConvolutionDescriptor_t c, const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
     size_t *bytes),
    (h, x, w, c, y, algo, bytes))
DNN(cudnnConvolutionForward,
    (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd, const void *x,
     const cudnnFilterDescriptor_t wd, const void *w, const cudnnConvolutionDescriptor_t cd,
     cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes, const void *beta, const cudnnTensorDescriptor_t yd,
     void *y),
    (h, alpha, xd, x, wd, w, cd, algo, ws, ws_bytes, beta, yd, y))
DNN(cudnnConvolutionBiasActivationForward,
    (cudnnHandle_t h, const void *alpha1, const cudnnTensorDescriptor_t xd, const void *x,
     const cudnnFilterDescriptor_t wd, const void *w, const cudnnConvolutionDescriptor_t cd,
     cudnnConvolutionFwdAlgo_t algo, void *ws, size_t ws_bytes, const void *alpha2, const cudnnTensorDescriptor_t zd,
     const void *z, const cudnnTensorDescriptor_t bd, const void *b, const cudnnActivationDescriptor_t ad,
     const cudnnTensorDescriptor_t yd, void *y),
    (h, alpha1, xd, x, wd, w, cd, algo, ws, ws_bytes, alpha2, zd, z, bd, b, ad, yd, y))
DNN(cudnnCreateActivationDescriptor, (cudnnActivationDescriptor_t * d), (d))
DNN(cudnnDestroyActivationDescriptor, (cudnnActivationDescriptor_t d), (d))
DNN(cudnnSetActivationDescriptor,
    (cudnnActivationDescriptor_t d, cudnnActivationMode_t m, cudnnNanPropagation_t nan, double coef),
    (d, m, nan, coef))
DNN(cudnnCreatePoolingDescriptor, (cudnnPoolingDescriptor_t * d), (d))
DNN(cudnnDestroyPoolingDescriptor, (cudnnPoolingDescriptor_t d), (d))
DNN(cudnnSetPooling2dDescriptor,
    (cudnnPoolingDescriptor_t d, cudnnPoolingMode_t m, cudnnNanPropagation_t nan, int wh, int ww, int ph, int pw,
     int sh, int sw),
    (d, m, nan, wh, ww, ph, pw, sh, sw))
DNN(cudnnPoolingForward,
    (cudnnHandle_t h, const cudnnPoolingDescriptor_t pd, const void *alpha, const cudnnTensorDescriptor_t xd,
     const void *x, const void *beta, const cudnnTensorDescriptor_t yd, void *y),
    (h, pd, alpha, xd, x, beta, yd, y))

FWD(h_lt, size_t, 0, cublasLtGetVersion, (void), ())
LT(cublasLtCreate, (cublasLtHandle_t * h), (h))
LT(cublasLtDestroy, (cublasLtHandle_t h), (h))
LT(cublasLtMatmul,
   (cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha, const void *a, cublasLtMatrixLayout_t ad,
    const void *b, cublasLtMatrixLayout_t bd, const void *beta, const void *c, cublasLtMatrixLayout_t cd, void *dd,
    cublasLtMatrixLayout_t ddesc, const cublasLtMatmulAlgo_t *algo, void *ws, size_t ws_bytes, cudaStream_t s),
   (h, d, alpha, a, ad, b, bd, beta, c, cd, dd, ddesc, algo, ws, ws_bytes, s))
LT(cublasLtMatmulAlgoGetHeuristic,
   (cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd, cublasLtMatmulPreference_t p, int n,
    cublasLtMatmulHeuristicResult_t r[], int *got),
   (h, d, a, b, c, dd, p, n, r, got))
LT(cublasLtMatmulAlgoCheck,
   (cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd, const cublasLtMatmulAlgo_t *algo,
    cublasLtMatmulHeuristicResult_t *r),
   (h, d, a, b, c, dd, algo, r))
LT(cublasLtMatmulDescCreate, (cublasLtMatmulDesc_t * d, cublasComputeType_t c, cudaDataType_t s), (d, c, s))
LT(cublasLtMatmulDescDestroy, (cublasLtMatmulDesc_t d), (d))
LT(cublasLtMatmulDescSetAttribute, (cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *buf, size_t n),
   (d, a, buf, n))
LT(cublasLtMatmulPreferenceCreate, (cublasLtMatmulPreference_t * p), (p))
LT(cublasLtMatmulPreferenceDestroy, (cublasLtMatmulPreference_t p), (p))
LT(cublasLtMatmulPreferenceSetAttribute,
   (cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t a, const void *buf, size_t n), (p, a, buf, n))
LT(cublasLtMatrixLayoutCreate, (cublasLtMatrixLayout_t * l, cudaDataType t, uint64_t r, uint64_t c, int64_t ld),
   (l, t, r, c, ld))
LT(cublasLtMatrixLayoutDestroy, (cublasLtMatrixLayout_t l), (l))
LT(cublasLtMatrixLayoutSetAttribute,
   (cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a, const void *buf, size_t n), (l, a, buf, n))
