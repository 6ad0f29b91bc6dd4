#include "backend/backend.h"

const ing_backend *ing_backend_get(int32_t id)
{
    switch (id) {
    case INGOT_BACKEND_CPU: return &ing_backend_cpu;
    default: return NULL;
    }
}
