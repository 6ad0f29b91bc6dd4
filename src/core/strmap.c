#include "core/strmap.h"

#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void strmap_init(strmap *m, const strmap *parent)
{
    memset(m, 0, sizeof *m);
    m->parent = parent;
}

void strmap_free(strmap *m)
{
    ing_free(m->keys);
    ing_free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->len = 0;
}

static ingot_status rehash(strmap *m, size_t ncap)
{
    char **nk = ing_calloc(ncap, sizeof *nk);
    int32_t *nv = ing_calloc(ncap, sizeof *nv);
    if (!nk || !nv) {
        ing_free(nk);
        ing_free(nv);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory growing a name table to %zu entries", ncap);
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = hash_str(m->keys[i]) & (ncap - 1);
        while (nk[j]) j = (j + 1) & (ncap - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    ing_free(m->keys);
    ing_free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return INGOT_OK;
}

ingot_status strmap_put(strmap *m, const char *key, int32_t val)
{
    if ((m->len + 1) * 2 > m->cap) ING_TRY(rehash(m, m->cap ? m->cap * 2 : 64));
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            m->vals[j] = val;
            return INGOT_OK;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = (char *)key;
    m->vals[j] = val;
    m->len++;
    return INGOT_OK;
}

int strmap_get(const strmap *m, const char *key, int32_t *val)
{
    for (; m; m = m->parent) {
        if (!m->cap) continue;
        size_t j = hash_str(key) & (m->cap - 1);
        while (m->keys[j]) {
            if (strcmp(m->keys[j], key) == 0) {
                *val = m->vals[j];
                return 1;
            }
            j = (j + 1) & (m->cap - 1);
        }
    }
    return 0;
}
