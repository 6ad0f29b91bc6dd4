#include "backend/backend.h"

#include "core/status.h"

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

ingot_status ing_binding_reserve(ing_binding *b, size_t bytes, void *stream)
{
    if (!b->alloc) return INGOT_OK;
    if (b->user && b->user_size >= bytes) return INGOT_OK;
    void *p = b->alloc->reallocate(b->alloc->user, b->name, b->user, bytes ? bytes : 1, 256, stream);
    if (!p)
        return ingot_fail(INGOT_ERR_NOMEM, "output '%s': the output allocator returned NULL for %zu bytes (had %zu)",
                          b->name, bytes, b->user ? b->user_size : (size_t)0);
    b->user = p;
    b->user_size = bytes ? bytes : 1;
    b->memory = (int32_t)b->alloc->memory;
    return INGOT_OK;
}

void ing_binding_notify(const ing_binding *b)
{
    if (b->alloc && b->alloc->notify_shape) b->alloc->notify_shape(b->alloc->user, b->name, b->t.rank, b->t.dims);
}
