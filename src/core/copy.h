/* Bulk copies that bypass the caches. */
#ifndef INGOT_CORE_COPY_H
#define INGOT_CORE_COPY_H

#include <stddef.h>

/* Copy n bytes as memcpy does, with non-temporal (streaming) stores where the CPU has them
 * (x86-64: SSE2), so the destination is not read into the cache first: for copies much larger
 * than the cache whose destination is next read by a device (pinned staging for a DMA) or much
 * later. Ends with a store fence, so the bytes are visible to other threads and devices once it
 * returns. Elsewhere it is memcpy. dst and src must not overlap. */
void ing_copy_stream(void *dst, const void *src, size_t n);

#endif
