/* NVRTC, loaded on first use: only builds that generate kernels (fuse_elementwise on CUDA) need
 * it, and it is ~100 MB of library that loading engines and CPU runs must not pay for. It is
 * never linked, so the functions are called through pointers resolved with dlsym; their types
 * come from nvrtc.h (__typeof__), so the compiler checks every call. */
#include <dlfcn.h>
#include <nvrtc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "core/alloc.h"

static const char *const sonames[] = {"libnvrtc.so.13", "libnvrtc.so"};

static struct {
    __typeof__(nvrtcCreateProgram) *create;
    __typeof__(nvrtcDestroyProgram) *destroy;
    __typeof__(nvrtcCompileProgram) *compile;
    __typeof__(nvrtcGetProgramLogSize) *log_size;
    __typeof__(nvrtcGetProgramLog) *log;
    __typeof__(nvrtcGetCUBINSize) *cubin_size;
    __typeof__(nvrtcGetCUBIN) *cubin;
    __typeof__(nvrtcGetErrorString) *error_string;
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[512];

static void load(void)
{
    void *h = NULL;
    for (size_t i = 0; i < sizeof sonames / sizeof sonames[0] && !h; i++) h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error, "cannot load %s: %s", sonames[0], dlerror());
        return;
    }
    static const char *const names[] = {"nvrtcCreateProgram",     "nvrtcDestroyProgram", "nvrtcCompileProgram",
                                        "nvrtcGetProgramLogSize", "nvrtcGetProgramLog",  "nvrtcGetCUBINSize",
                                        "nvrtcGetCUBIN",          "nvrtcGetErrorString"};
    void **slots[] = {(void **)&api.create,     (void **)&api.destroy, (void **)&api.compile,
                      (void **)&api.log_size,   (void **)&api.log,     (void **)&api.cubin_size,
                      (void **)&api.cubin,      (void **)&api.error_string};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!(*slots[i] = dlsym(h, names[i]))) {
            snprintf(load_error, sizeof load_error, "%s has no symbol %s (NVRTC 12 or newer needed)", sonames[0],
                     names[i]);
            return;
        }
    loaded = 1;
}

ingot_status cuda_nvrtc_load(void)
{
    pthread_once(&once, load);
    if (!loaded)
        return ingot_fail(INGOT_ERR_BACKEND, "NVRTC: %s (install the CUDA 13 NVRTC library, e.g. the pip package "
                          "nvidia-cuda-nvrtc, or put it on LD_LIBRARY_PATH)", load_error);
    return INGOT_OK;
}

ingot_status cuda_nvrtc_compile(const char *src, const char *what, void **cubin, size_t *len)
{
    ING_TRY(cuda_nvrtc_load());
    nvrtcProgram prog = NULL;
    nvrtcResult r = api.create(&prog, src, "ingot_generated.cu", 0, NULL, NULL);
    if (r != NVRTC_SUCCESS) return ingot_fail(INGOT_ERR_CUDA, "%s: nvrtcCreateProgram: %s", what, api.error_string(r));
    const char *opts[] = {"--gpu-architecture=sm_90", "--std=c++17"};
    ingot_status st = INGOT_OK;
    char *log = NULL, *bin = NULL;
    size_t log_len = 0, n = 0;
    r = api.compile(prog, (int)(sizeof opts / sizeof opts[0]), opts);
    if (r != NVRTC_SUCCESS) {
        if (api.log_size(prog, &log_len) == NVRTC_SUCCESS && log_len && (log = ing_malloc(log_len + 1)) &&
            api.log(prog, log) == NVRTC_SUCCESS)
            log[log_len] = 0;
        st = ingot_fail(INGOT_ERR_CUDA, "%s: nvrtcCompileProgram: %s; compiler log: %s", what, api.error_string(r),
                        log ? log : "(none)");
        goto done;
    }
    if ((r = api.cubin_size(prog, &n)) != NVRTC_SUCCESS || n == 0) {
        st = ingot_fail(INGOT_ERR_CUDA, "%s: nvrtcGetCUBINSize: %s (%zu bytes)", what, api.error_string(r), n);
        goto done;
    }
    if (!(bin = ing_malloc(n))) {
        st = ingot_fail(INGOT_ERR_NOMEM, "%s: out of memory for a %zu-byte cubin", what, n);
        goto done;
    }
    if ((r = api.cubin(prog, bin)) != NVRTC_SUCCESS) {
        st = ingot_fail(INGOT_ERR_CUDA, "%s: nvrtcGetCUBIN: %s", what, api.error_string(r));
        goto done;
    }
    *cubin = bin;
    *len = n;
    bin = NULL;
done:
    ing_free(bin);
    ing_free(log);
    api.destroy(&prog);
    return st;
}
