/* A string -> int32 hash map (open addressing) with an optional parent for nested scopes. */
#ifndef INGOT_CORE_STRMAP_H
#define INGOT_CORE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"

typedef struct strmap {
    char **keys;   /* borrowed: callers keep the strings alive */
    int32_t *vals;
    size_t cap, len;
    const struct strmap *parent; /* looked up when a key is not here */
} strmap;

void strmap_init(strmap *m, const strmap *parent);
void strmap_free(strmap *m);
ingot_status strmap_put(strmap *m, const char *key, int32_t val); /* replaces */
/* 1 and *val when found here or in a parent, else 0. */
int strmap_get(const strmap *m, const char *key, int32_t *val);

#endif
