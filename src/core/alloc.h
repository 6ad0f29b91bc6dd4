/* Allocation for every non-kernel path, with a failure hook for tests. */
#ifndef INGOT_CORE_ALLOC_H
#define INGOT_CORE_ALLOC_H

#include <stddef.h>

void *ing_malloc(size_t n);              /* NULL on failure or injected failure */
void *ing_calloc(size_t count, size_t n); /* overflow-checked */
void *ing_realloc(void *p, size_t n);
void ing_free(void *p);
char *ing_strdup(const char *s);          /* NULL s gives NULL */

/* Aligned allocation (alignment a power of two, >= sizeof(void*)); free with ing_free_aligned. */
void *ing_malloc_aligned(size_t n, size_t alignment);
void ing_free_aligned(void *p);

/* Test hook: the n-th allocation from now (1-based) fails; 0 disables. Returns how many
 * allocations happened since the hook was last set. */
void ing_alloc_fail_at(long n);
long ing_alloc_count(void);

/* 1 and a * b into *out when the product fits in size_t; 0 (out untouched) on overflow. */
int ing_mul_fits(size_t a, size_t b, size_t *out);

#endif
