#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_at;
static _Thread_local long counter;

void ing_alloc_fail_at(long n)
{
    fail_at = n;
    counter = 0;
}

long ing_alloc_count(void) { return counter; }

static int injected(void)
{
    counter++;
    return fail_at > 0 && counter == fail_at;
}

void *ing_malloc(size_t n)
{
    if (injected()) return NULL;
    return malloc(n ? n : 1);
}

void *ing_calloc(size_t count, size_t n)
{
    size_t total;
    if (!ing_mul_fits(count, n, &total)) return NULL;
    if (injected()) return NULL;
    return calloc(total ? total : 1, 1);
}

void *ing_realloc(void *p, size_t n)
{
    if (injected()) return NULL;
    return realloc(p, n ? n : 1);
}

void ing_free(void *p) { free(p); }

char *ing_strdup(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = ing_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *ing_malloc_aligned(size_t n, size_t alignment)
{
    if (injected()) return NULL;
    void *p = NULL;
    if (posix_memalign(&p, alignment, n ? n : 1) != 0) return NULL;
    return p;
}

void ing_free_aligned(void *p) { free(p); }

int ing_mul_fits(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
