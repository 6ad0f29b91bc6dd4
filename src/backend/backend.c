#include "backend/backend.h"

const ing_backend *ing_backend_get(int32_t id)
{
    switch (id) {
    case INGOT_BACKEND_CPU: return &ing_backend_cpu;
#ifdef INGOT_WITH_CUDA
    case INGOT_BACKEND_CUDA: return &ing_backend_cuda;
#endif
    default: return NULL;
    }
}
