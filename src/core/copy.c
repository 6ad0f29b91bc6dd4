/* Streaming copies (see copy.h). */
#include "core/copy.h"

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>

void ing_copy_stream(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (n < 256) { /* too short for the stores to pay */
        memcpy(d, s, n);
        return;
    }
    size_t head = (size_t)(-(uintptr_t)d & 15); /* bytes until d is 16-byte aligned */
    memcpy(d, s, head);
    d += head, s += head, n -= head;
    size_t blocks = n / 64;
    for (size_t i = 0; i < blocks; i++, d += 64, s += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)s), b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 32)), e = _mm_loadu_si128((const __m128i *)(s + 48));
        _mm_stream_si128((__m128i *)d, a);
        _mm_stream_si128((__m128i *)(d + 16), b);
        _mm_stream_si128((__m128i *)(d + 32), c);
        _mm_stream_si128((__m128i *)(d + 48), e);
    }
    memcpy(d, s, n % 64);
    _mm_sfence(); /* streaming stores are weakly ordered: make them visible before returning */
}

#else

void ing_copy_stream(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }

#endif
