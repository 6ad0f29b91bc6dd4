/* ingot_memory_alloc / ingot_memory_free: host memory here, the other kinds from the CUDA
 * backend (the runtime names no CUDA type). */
#include "backend/backend.h"
#include "core/alloc.h"
#include "core/status.h"

const char *ingot_memory_name(ingot_memory kind)
{
    switch (kind) {
    case INGOT_MEMORY_HOST: return "host";
    case INGOT_MEMORY_PINNED: return "pinned";
    case INGOT_MEMORY_MAPPED: return "mapped";
    case INGOT_MEMORY_DEVICE: return "device";
    default: return "?";
    }
}

ingot_status ingot_memory_alloc(ingot_memory kind, size_t bytes, void **out)
{
    if (!out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_memory_alloc: out must not be NULL");
    if ((unsigned)kind >= INGOT_MEMORY_COUNT)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_memory_alloc: memory kind %d, allowed 0..%d", (int)kind,
                          INGOT_MEMORY_COUNT - 1);
    if (kind == INGOT_MEMORY_HOST) {
        void *p = ing_malloc_aligned(bytes ? bytes : 1, 256);
        if (!p) return ingot_fail(INGOT_ERR_NOMEM, "ingot_memory_alloc: out of host memory for %zu bytes", bytes);
        *out = p;
        return INGOT_OK;
    }
    const ing_backend *be = ing_backend_get(INGOT_BACKEND_CUDA);
    if (!be || !be->mem_alloc)
        return ingot_fail(INGOT_ERR_BACKEND, "ingot_memory_alloc: %s memory needs the CUDA backend, which this build lacks",
                          ingot_memory_name(kind));
    return be->mem_alloc((int32_t)kind, bytes, out);
}

void ingot_memory_free(ingot_memory kind, void *p)
{
    if (!p) return;
    if (kind == INGOT_MEMORY_HOST) {
        ing_free_aligned(p);
        return;
    }
    const ing_backend *be = ing_backend_get(INGOT_BACKEND_CUDA);
    if (be && be->mem_free) be->mem_free((int32_t)kind, p);
}
