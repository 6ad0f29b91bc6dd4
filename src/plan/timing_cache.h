/* The timing cache (--timing-cache FILE): tactic choices keyed by everything the choice
 * depends on (op, shapes, dtypes, attributes, math mode, GPU, library versions), so a rebuild
 * skips timing and writes the same engine bytes. Format: docs/engine-format.md, "timing cache".
 * Keys are strings; values are tactic records (engine/tactic.h), kept opaque here. */
#ifndef INGOT_PLAN_TIMING_CACHE_H
#define INGOT_PLAN_TIMING_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define TCACHE_VERSION 1u
#define TCACHE_MAX_KEY 4096u  /* bytes */
#define TCACHE_MAX_VALUE 256u /* bytes */

typedef struct ing_timing_cache ing_timing_cache;

/* An empty cache. INGOT_ERR_NOMEM. */
ingot_status tcache_new(ing_timing_cache **out);
/* Read path; a missing file gives an empty cache. INGOT_ERR_IO, INGOT_ERR_CORRUPT (the file
 * and the entry named), INGOT_ERR_VERSION (another cache format), INGOT_ERR_NOMEM. */
ingot_status tcache_load(const char *path, ing_timing_cache **out);
/* Parse a cache image in memory (what tcache_load reads); `name` names it in messages. */
ingot_status tcache_parse(const void *data, size_t size, const char *name, ing_timing_cache **out);
void tcache_free(ing_timing_cache *c); /* NULL is a no-op */
/* The value for key, or NULL (*len untouched). Borrowed until the cache changes. */
const void *tcache_find(const ing_timing_cache *c, const char *key, size_t *len);
/* Add or replace key's value (copied). INGOT_ERR_INVALID_ARG for sizes over the limits. */
ingot_status tcache_put(ing_timing_cache *c, const char *key, const void *value, size_t len);
size_t tcache_count(const ing_timing_cache *c);
int tcache_changed(const ing_timing_cache *c); /* entries added since load */
/* Serialize (entries sorted by key, so equal caches give equal bytes); caller frees *out with
 * ing_free. INGOT_ERR_NOMEM. */
ingot_status tcache_serialize(const ing_timing_cache *c, uint8_t **out, size_t *len);
/* Write path atomically (PATH.tmp, fsync, rename). INGOT_ERR_IO, INGOT_ERR_NOMEM. */
ingot_status tcache_save(const ing_timing_cache *c, const char *path);

#endif
