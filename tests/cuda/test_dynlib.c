/* cuDNN and cuBLASLt through the on-first-use loader (src/backend/cuda/dynlib.c): the forwarding
 * functions reach the real libraries and report their versions. Needs the libraries, not a
 * GPU; skipped (77) when they are not installed. */
#include <cublasLt.h>
#include <cudnn.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "check.h"

int main(void)
{
    if (cuda_libs_load() != INGOT_OK) {
        printf("SKIP: %s\n", ingot_last_error());
        return 77;
    }
    size_t v = cudnnGetVersion();
    CHECK(v / 10000 == CUDNN_MAJOR, "cuDNN runtime version %zu has the headers' major %d", v, CUDNN_MAJOR);
    CHECK(cublasLtGetVersion() > 0, "cuBLASLt reports a version");
    const char *msg = cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM);
    CHECK(msg && strlen(msg) > 0, "cudnnGetErrorString forwards");
    cudnnTensorDescriptor_t d = NULL;
    CHECK(cudnnCreateTensorDescriptor(&d) == CUDNN_STATUS_SUCCESS && d, "descriptors need no GPU");
    CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 2, 3, 4) == CUDNN_STATUS_SUCCESS,
          "set a 4-D descriptor");
    CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, -1, 2, 3, 4) == CUDNN_STATUS_BAD_PARAM,
          "the real library validates arguments");
    CHECK(cudnnDestroyTensorDescriptor(d) == CUDNN_STATUS_SUCCESS, "destroy");
    cublasLtMatrixLayout_t l = NULL;
    CHECK(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, 4, 4, 4) == CUBLAS_STATUS_SUCCESS && l, "cuBLASLt layout");
    CHECK(cublasLtMatrixLayoutDestroy(l) == CUBLAS_STATUS_SUCCESS, "cuBLASLt destroy");
    DONE();
}
