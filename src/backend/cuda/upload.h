/* The CUDA engine's weights and the streaming loader that fills them (upload.c). */
#ifndef INGOT_BACKEND_CUDA_UPLOAD_H
#define INGOT_BACKEND_CUDA_UPLOAD_H

#include "engine/plan.h"
#include "engine/stream.h"

/* Per engine: the weights in one device allocation; per value the device address of a
 * constant. Constants whose t.data is NULL (streamed loads keep only small or host-needed
 * constants on the host) exist on the device only; contexts copy them back on demand. */
typedef struct cuda_engine {
    void *weights;     /* one device allocation */
    size_t bytes;
    void **dev;        /* per value: device pointer of a constant, else NULL */
    int32_t n_values;
    void *host;        /* streamed loads: the host copies kept (aligned block), else NULL */
    struct cuda_ewfuse *ewfuse; /* generated FusedElementwise kernels, loaded once per engine */
} cuda_engine;

/* Can this machine run an engine built for t (device, libraries, sm, versions)? */
ingot_status cuda_engine_check(const engine_target *t);
void cuda_engine_destroy(void *state); /* NULL is a no-op */

/* The backend's engine_create_stream: the weight section into one device allocation with the
 * section's own layout, through a ring of s->staging_count pinned buffers of s->staging_bytes
 * (cudaMemcpyAsync on a dedicated stream, one event per slot), or straight to the device when
 * the reader has read_device and verify is off. Constants of at most CUDA_HOST_CONST_BYTES,
 * of non-float dtypes, or read by a CPU step (fallback, control-flow body) also keep a host
 * copy, taken from the staging slot as it passes (read_device: copied back at the end). */
#define CUDA_HOST_CONST_BYTES ((uint64_t)64 << 10)
ingot_status cuda_engine_create_stream(engine_stream *s, int verify, void **state);

#endif
