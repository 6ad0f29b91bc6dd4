/* The timing-cache file: "INGOTTC\0", u32 version, u32 entry count, then per entry
 * u32 key_len, u32 value_len, key bytes, value bytes, u64 XXH3 of key and value; little-endian,
 * nothing after the last entry. An entry's own checksum lets a corrupt file name the entry. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "core/alloc.h"
#include "plan/timing_cache.h"

#define MAGIC "INGOTTC"
#define HEADER_BYTES 16u
#define ENTRY_OVERHEAD 16u /* two lengths and the checksum */

typedef struct entry {
    char *key;
    uint8_t *value;
    uint32_t len;
} entry;

struct ing_timing_cache {
    entry *e;
    size_t n, cap;
    int changed;
};

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t entry_hash(const char *key, size_t klen, const void *val, size_t vlen)
{
    XXH3_state_t s;
    XXH3_64bits_reset(&s);
    XXH3_64bits_update(&s, key, klen);
    XXH3_64bits_update(&s, val, vlen);
    return XXH3_64bits_digest(&s);
}

ingot_status tcache_new(ing_timing_cache **out)
{
    ing_timing_cache *c = ing_calloc(1, sizeof *c);
    if (!c) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a timing cache");
    *out = c;
    return INGOT_OK;
}

void tcache_free(ing_timing_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        ing_free(c->e[i].key);
        ing_free(c->e[i].value);
    }
    ing_free(c->e);
    ing_free(c);
}

static entry *find(const ing_timing_cache *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->e[i].key, key)) return &c->e[i];
    return NULL;
}

const void *tcache_find(const ing_timing_cache *c, const char *key, size_t *len)
{
    const entry *e = find(c, key);
    if (!e) return NULL;
    *len = e->len;
    return e->value;
}

size_t tcache_count(const ing_timing_cache *c) { return c->n; }
int tcache_changed(const ing_timing_cache *c) { return c->changed; }

/* Add without marking the cache changed (loading). */
static ingot_status put(ing_timing_cache *c, const char *key, size_t klen, const void *value, size_t len)
{
    if (klen == 0 || klen > TCACHE_MAX_KEY || len == 0 || len > TCACHE_MAX_VALUE)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "timing-cache entry: key of %zu bytes (allowed 1..%u), value of %zu "
                          "bytes (allowed 1..%u)", klen, TCACHE_MAX_KEY, len, TCACHE_MAX_VALUE);
    uint8_t *v = ing_malloc(len);
    if (!v) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a timing-cache entry");
    memcpy(v, value, len);
    entry *e = find(c, key);
    if (e) {
        ing_free(e->value);
        e->value = v;
        e->len = (uint32_t)len;
        return INGOT_OK;
    }
    char *k = ing_malloc(klen + 1);
    if (!k || (c->n == c->cap && c->cap > SIZE_MAX / 2 / sizeof(entry))) goto nomem;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        entry *ne = ing_realloc(c->e, cap * sizeof *ne);
        if (!ne) goto nomem;
        c->e = ne;
        c->cap = cap;
    }
    memcpy(k, key, klen);
    k[klen] = 0;
    c->e[c->n++] = (entry){k, v, (uint32_t)len};
    return INGOT_OK;
nomem:
    ing_free(k);
    ing_free(v);
    return ingot_fail(INGOT_ERR_NOMEM, "out of memory for a timing-cache entry");
}

ingot_status tcache_put(ing_timing_cache *c, const char *key, const void *value, size_t len)
{
    ING_TRY(put(c, key, strlen(key), value, len));
    c->changed = 1;
    return INGOT_OK;
}

ingot_status tcache_parse(const void *data, size_t size, const char *name, ing_timing_cache **out)
{
    const uint8_t *p = data;
    ing_timing_cache *c = NULL;
    ingot_status st = INGOT_OK;
    if (size < HEADER_BYTES || memcmp(p, MAGIC, 8) != 0) {
        st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': %zu bytes without the header \"" MAGIC "\"; not a "
                        "timing cache", name, size);
        goto fail;
    }
    uint32_t version = (uint32_t)get_le(p + 8, 4), n = (uint32_t)get_le(p + 12, 4);
    if (version != TCACHE_VERSION) {
        st = ingot_fail(INGOT_ERR_VERSION, "timing cache '%s': format version %u, this build reads version %u; "
                        "delete the file to start a new cache", name, version, TCACHE_VERSION);
        goto fail;
    }
    if ((st = tcache_new(&c)) != INGOT_OK) goto fail;
    size_t pos = HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        if (size - pos < ENTRY_OVERHEAD) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': entry %u of %u starts at byte %zu, %zu bytes "
                            "left, needs at least %u; the file is truncated", name, i, n, pos, size - pos, ENTRY_OVERHEAD);
            goto fail;
        }
        uint32_t klen = (uint32_t)get_le(p + pos, 4), vlen = (uint32_t)get_le(p + pos + 4, 4);
        if (klen == 0 || klen > TCACHE_MAX_KEY || vlen == 0 || vlen > TCACHE_MAX_VALUE) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': entry %u has a key of %u bytes (allowed 1..%u) "
                            "and a value of %u bytes (allowed 1..%u)", name, i, klen, TCACHE_MAX_KEY, vlen,
                            TCACHE_MAX_VALUE);
            goto fail;
        }
        if (size - pos - ENTRY_OVERHEAD < (size_t)klen + vlen) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': entry %u needs %u bytes at byte %zu, %zu left; "
                            "the file is truncated", name, i, ENTRY_OVERHEAD + klen + vlen, pos, size - pos);
            goto fail;
        }
        const char *key = (const char *)p + pos + 8;
        const uint8_t *val = p + pos + 8 + klen;
        uint64_t want = get_le(val + vlen, 8), got = entry_hash(key, klen, val, vlen);
        if (want != got || memchr(key, 0, klen)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': entry %u (key '%.*s'): checksum %016llx, the "
                            "bytes hash to %016llx; the entry is corrupt", name, i, (int)(klen < 80 ? klen : 80), key,
                            (unsigned long long)want, (unsigned long long)got);
            goto fail;
        }
        char kz[TCACHE_MAX_KEY + 1];
        memcpy(kz, key, klen);
        kz[klen] = 0;
        if (find(c, kz)) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': entry %u repeats key '%.80s'", name, i, kz);
            goto fail;
        }
        if ((st = put(c, kz, klen, val, vlen)) != INGOT_OK) goto fail;
        pos += ENTRY_OVERHEAD + klen + vlen;
    }
    if (pos != size) {
        st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': %zu bytes after the last of %u entries; the file is "
                        "corrupt", name, size - pos, n);
        goto fail;
    }
    *out = c;
    return INGOT_OK;
fail:
    tcache_free(c);
    return st;
}

ingot_status tcache_load(const char *path, ing_timing_cache **out)
{
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT) return tcache_new(out);
    if (!f) return ingot_fail(INGOT_ERR_IO, "timing cache '%s': %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    ingot_status st = INGOT_OK;
    for (;;) {
        if (n == cap) {
            if (cap >= ((size_t)1 << 30)) {
                st = ingot_fail(INGOT_ERR_CORRUPT, "timing cache '%s': larger than 1 GiB; not a timing cache", path);
                goto done;
            }
            size_t nc = cap ? 2 * cap : 65536;
            uint8_t *nb = ing_realloc(buf, nc);
            if (!nb) {
                st = ingot_fail(INGOT_ERR_NOMEM, "timing cache '%s': out of memory", path);
                goto done;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) st = ingot_fail(INGOT_ERR_IO, "timing cache '%s': read error", path);
    else st = tcache_parse(buf, n, path, out);
done:
    fclose(f);
    ing_free(buf);
    return st;
}

static int by_key(const void *a, const void *b)
{
    const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
    return strcmp(x->key, y->key);
}

ingot_status tcache_serialize(const ing_timing_cache *c, uint8_t **out, size_t *len)
{
    size_t total = HEADER_BYTES;
    for (size_t i = 0; i < c->n; i++) total += ENTRY_OVERHEAD + strlen(c->e[i].key) + c->e[i].len;
    const entry **order = ing_calloc(c->n ? c->n : 1, sizeof *order);
    uint8_t *b = ing_malloc(total);
    if (!order || !b) {
        ing_free(order);
        ing_free(b);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory writing a timing cache of %zu bytes", total);
    }
    for (size_t i = 0; i < c->n; i++) order[i] = &c->e[i];
    qsort(order, c->n, sizeof *order, by_key);
    memcpy(b, MAGIC, 8);
    put_le(b + 8, TCACHE_VERSION, 4);
    put_le(b + 12, c->n, 4);
    size_t pos = HEADER_BYTES;
    for (size_t i = 0; i < c->n; i++) {
        const entry *e = order[i];
        size_t kl = strlen(e->key);
        put_le(b + pos, kl, 4);
        put_le(b + pos + 4, e->len, 4);
        memcpy(b + pos + 8, e->key, kl);
        memcpy(b + pos + 8 + kl, e->value, e->len);
        put_le(b + pos + 8 + kl + e->len, entry_hash(e->key, kl, e->value, e->len), 8);
        pos += ENTRY_OVERHEAD + kl + e->len;
    }
    ing_free(order);
    *out = b;
    *len = total;
    return INGOT_OK;
}

ingot_status tcache_save(const ing_timing_cache *c, const char *path)
{
    uint8_t *b = NULL;
    size_t n = 0;
    ING_TRY(tcache_serialize(c, &b, &n));
    size_t pl = strlen(path);
    char *tmp = ing_malloc(pl + 5);
    int fd = -1;
    ingot_status st = INGOT_OK;
    if (!tmp) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory saving timing cache '%s'", path);
        goto done;
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        st = ingot_fail(INGOT_ERR_IO, "timing cache: creating '%s': %s", tmp, strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, b + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            st = ingot_fail(INGOT_ERR_IO, "timing cache: writing '%s': %s", tmp, strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "timing cache: fsync '%s': %s", tmp, strerror(errno));
        goto done;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) st = ingot_fail(INGOT_ERR_IO, "timing cache: rename '%s' to '%s': %s", tmp, path,
                                                strerror(errno));
done:
    if (fd >= 0) close(fd);
    if (st != INGOT_OK && tmp) unlink(tmp);
    ing_free(tmp);
    ing_free(b);
    return st;
}
