/* The timing-cache file (plan/timing_cache.c) and tactic records (engine/tactic.c): round trips
 * byte for byte, equal caches serialize equally whatever the insertion order, every truncation
 * and every corrupted entry fails with INGOT_ERR_CORRUPT naming the file and the entry, another
 * format version with INGOT_ERR_VERSION, and allocation failures leave *out untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/alloc.h"
#include "engine/tactic.h"
#include "plan/timing_cache.h"

static const char *keys[] = {"ai.onnx|Conv|precision=0|in0=float32[1,3,8,8]|gpu=H100|sm=90",
                             "ai.onnx|MatMul|precision=1|in0=float32[4,8]|in1=float32[8,2]|gpu=H100|sm=90",
                             "ingot|FusedConv|precision=2|in0=float16[2,16,17,15]|activation:'Relu'"};

static size_t record(int i, uint8_t *rec)
{
    engine_tactic t = {0};
    t.kind = i == 1 ? TACTIC_CUBLASLT : TACTIC_CUDNN_CONV;
    t.math = i == 1 ? TACTIC_LT_32F_FAST_TF32 : (uint8_t)(i + 1);
    t.algo = i == 1 ? -1 : 2 + i;
    t.workspace = (uint64_t)1000 * (uint64_t)(i + 1);
    for (unsigned k = 0; k < TACTIC_LT_ALGO_BYTES; k++) t.lt_algo[k] = (uint8_t)(k * 7 + 1);
    return tactic_encode(&t, rec);
}

static ing_timing_cache *filled(const int *order)
{
    ing_timing_cache *c = NULL;
    if (tcache_new(&c) != INGOT_OK) return NULL;
    for (int j = 0; j < 3; j++) {
        uint8_t rec[TACTIC_LT_BYTES];
        size_t n = record(order[j], rec);
        if (tcache_put(c, keys[order[j]], rec, n) != INGOT_OK) {
            tcache_free(c);
            return NULL;
        }
    }
    return c;
}

/* A parse that must fail with st, mentioning m1 and m2; *out untouched. */
static void expect_fail(const uint8_t *img, size_t n, ingot_status st, const char *m1, const char *m2, const char *what)
{
    ing_timing_cache *sentinel = (ing_timing_cache *)(uintptr_t)0x42, *out = sentinel;
    ingot_status got = tcache_parse(img, n, "t.cache", &out);
    CHECK(got == st, "%s: got %s, want %s (%s)", what, ingot_status_name(got), ingot_status_name(st), ingot_last_error());
    CHECK(out == sentinel, "%s: *out changed", what);
    CHECK(check_mentions(ingot_last_error(), m1) && check_mentions(ingot_last_error(), m2), "%s: message '%s'", what,
          ingot_last_error());
}

static void round_trip(void)
{
    ing_timing_cache *a = filled((int[]){0, 1, 2}), *b = filled((int[]){2, 0, 1});
    CHECK(a && b, "fill");
    if (!a || !b) return;
    CHECK(tcache_count(a) == 3 && tcache_changed(a), "3 new entries");
    uint8_t *ia = NULL, *ib = NULL, *ic = NULL;
    size_t na = 0, nb = 0, nc = 0;
    CHECK_STATUS(tcache_serialize(a, &ia, &na), INGOT_OK, NULL);
    CHECK_STATUS(tcache_serialize(b, &ib, &nb), INGOT_OK, NULL);
    CHECK(na == nb && ia && ib && !memcmp(ia, ib, na), "insertion order does not change the bytes");
    ing_timing_cache *c = NULL;
    CHECK_STATUS(tcache_parse(ia, na, "mem", &c), INGOT_OK, NULL);
    if (c) {
        CHECK(tcache_count(c) == 3 && !tcache_changed(c), "parsed 3 entries, unchanged");
        for (int i = 0; i < 3; i++) {
            uint8_t rec[TACTIC_LT_BYTES];
            size_t want = record(i, rec), len = 0;
            const void *v = tcache_find(c, keys[i], &len);
            CHECK(v && len == want && !memcmp(v, rec, len), "entry %d round-trips", i);
            engine_tactic t;
            CHECK_STATUS(tactic_decode(v, len, "entry", &t), INGOT_OK, NULL);
            CHECK(t.workspace == (uint64_t)1000 * (uint64_t)(i + 1) && t.algo == (i == 1 ? -1 : 2 + i), "entry %d decodes", i);
        }
        size_t len = 7;
        CHECK(!tcache_find(c, "ai.onnx|Conv|precision=0", &len) && len == 7, "a prefix of a key is no hit");
        CHECK_STATUS(tcache_serialize(c, &ic, &nc), INGOT_OK, NULL);
        CHECK(nc == na && !memcmp(ic, ia, na), "parse then serialize gives the same bytes");
        /* replacing a value keeps one entry */
        uint8_t rec[TACTIC_LT_BYTES];
        size_t n = record(0, rec);
        CHECK_STATUS(tcache_put(c, keys[2], rec, n), INGOT_OK, NULL);
        CHECK(tcache_count(c) == 3 && tcache_changed(c), "replace: still 3, changed");
    }
    /* through a file, atomically */
    char dir[] = "/tmp/ingot_tcache_XXXXXX";
    if (mkdtemp(dir)) {
        char path[128], tmp[140];
        snprintf(path, sizeof path, "%s/t.cache", dir);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        ing_timing_cache *d = (ing_timing_cache *)(uintptr_t)0x1;
        CHECK_STATUS(tcache_load(path, &d), INGOT_OK, NULL);
        CHECK(d != (ing_timing_cache *)(uintptr_t)0x1 && tcache_count(d) == 0, "a missing file is an empty cache");
        if (d != (ing_timing_cache *)(uintptr_t)0x1) tcache_free(d);
        CHECK_STATUS(tcache_save(a, path), INGOT_OK, NULL);
        CHECK(access(tmp, F_OK) != 0, "no .tmp left behind");
        d = NULL;
        CHECK_STATUS(tcache_load(path, &d), INGOT_OK, NULL);
        CHECK(d && tcache_count(d) == 3, "file round trip");
        tcache_free(d);
        char bad[160];
        snprintf(bad, sizeof bad, "%s/no/such/dir/t.cache", dir);
        CHECK_STATUS(tcache_save(a, bad), INGOT_ERR_IO, "no/such/dir");
        unlink(path);
        rmdir(dir);
    }
    ing_free(ia);
    ing_free(ib);
    ing_free(ic);
    tcache_free(a);
    tcache_free(b);
    tcache_free(c);
}

static void corrupt(void)
{
    ing_timing_cache *a = filled((int[]){0, 1, 2});
    uint8_t *img = NULL;
    size_t n = 0;
    CHECK(a && tcache_serialize(a, &img, &n) == INGOT_OK, "serialize");
    tcache_free(a);
    if (!img) return;
    uint8_t *c = malloc(n + 8);
    /* every truncation fails (the empty prefix and the header alone included) */
    int cut_ok = 1;
    for (size_t len = 0; len < n; len++) {
        ing_timing_cache *out = NULL;
        ingot_status st = tcache_parse(img, len, "t.cache", &out);
        if (st != INGOT_ERR_CORRUPT || out) cut_ok = 0;
        tcache_free(out);
    }
    CHECK(cut_ok, "every truncated cache is INGOT_ERR_CORRUPT");
    memcpy(c, img, n);
    expect_fail(c, n - 3, INGOT_ERR_CORRUPT, "t.cache", "entry 2", "TRUNCATED_LAST_ENTRY");
    memcpy(c, img, n);
    c[0] = 'X';
    expect_fail(c, n, INGOT_ERR_CORRUPT, "t.cache", "not a timing cache", "BAD_MAGIC");
    memcpy(c, img, n);
    c[8] = 2;
    expect_fail(c, n, INGOT_ERR_VERSION, "t.cache", "format version 2", "VERSION_FUTURE");
    memcpy(c, img, n);
    c[12] = 4; /* four entries announced, three present */
    expect_fail(c, n, INGOT_ERR_CORRUPT, "t.cache", "entry 3 of 4", "COUNT_TOO_BIG");
    memcpy(c, img, n);
    c[12] = 2;
    expect_fail(c, n, INGOT_ERR_CORRUPT, "t.cache", "after the last of 2 entries", "TRAILING_ENTRY");
    /* a flipped byte inside the second entry's key: its checksum names it */
    size_t e1 = 16 + 16 + strlen(keys[0]) + TACTIC_CONV_BYTES;
    memcpy(c, img, n);
    c[e1 + 8 + 3] ^= 0x20;
    expect_fail(c, n, INGOT_ERR_CORRUPT, "t.cache", "entry 1 (key", "ENTRY_CHECKSUM");
    memcpy(c, img, n);
    c[e1 + 8 + strlen(keys[1]) + 20] ^= 1; /* inside the value */
    expect_fail(c, n, INGOT_ERR_CORRUPT, "entry 1", "checksum", "VALUE_CHECKSUM");
    memcpy(c, img, n);
    c[e1 + 3] = 0x7f; /* key length 2 GB */
    expect_fail(c, n, INGOT_ERR_CORRUPT, "entry 1", "allowed 1..4096", "HUGE_KEY_LENGTH");
    memcpy(c, img, n);
    memset(c + e1 + 4, 0, 4); /* empty value */
    expect_fail(c, n, INGOT_ERR_CORRUPT, "entry 1", "value of 0 bytes", "EMPTY_VALUE");
    /* the same entry twice */
    size_t l0 = 16 + strlen(keys[0]) + TACTIC_CONV_BYTES;
    memcpy(c, img, 16 + l0);
    memcpy(c + 16 + l0, img + 16, l0);
    c[12] = 2;
    expect_fail(c, 16 + 2 * l0, INGOT_ERR_CORRUPT, "entry 1", "repeats key", "DUPLICATE_KEY");
    free(c);
    ing_free(img);
}

static void tactic_records(void)
{
    uint8_t rec[TACTIC_LT_BYTES];
    engine_tactic t, u = {.kind = 77};
    size_t n = record(1, rec);
    CHECK(n == TACTIC_LT_BYTES, "cuBLASLt record is %u bytes", TACTIC_LT_BYTES);
    CHECK_STATUS(tactic_decode(rec, n, "r", &t), INGOT_OK, NULL);
    CHECK(t.kind == TACTIC_CUBLASLT && t.lt_algo[3] == 22, "algorithm bytes kept");
    CHECK_STATUS(tactic_decode(rec, n - 1, "step 4", &u), INGOT_ERR_CORRUPT, "step 4: tactic record of 79 bytes");
    CHECK_STATUS(tactic_decode(rec, 0, "step 4", &u), INGOT_ERR_CORRUPT, "empty");
    CHECK(u.kind == 77, "*t untouched on failure");
    n = record(0, rec);
    CHECK(n == TACTIC_CONV_BYTES, "cuDNN record is %u bytes", TACTIC_CONV_BYTES);
    rec[4] = 64;
    CHECK_STATUS(tactic_decode(rec, n, "s", &u), INGOT_ERR_CORRUPT, "algorithm 64, allowed 0..63");
}

static void alloc_failures(void)
{
    ing_timing_cache *a = filled((int[]){0, 1, 2});
    uint8_t *img = NULL;
    size_t n = 0;
    CHECK(a && tcache_serialize(a, &img, &n) == INGOT_OK, "serialize");
    tcache_free(a);
    int ok = 1;
    for (long k = 1; k < 40 && img; k++) {
        ing_timing_cache *sentinel = (ing_timing_cache *)(uintptr_t)0x42, *out = sentinel;
        ing_alloc_fail_at(k);
        ingot_status st = tcache_parse(img, n, "t.cache", &out);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) {
            tcache_free(out);
            break;
        }
        if (st != INGOT_ERR_NOMEM || out != sentinel) ok = 0;
    }
    CHECK(ok, "every failed allocation: INGOT_ERR_NOMEM and *out untouched");
    ing_free(img);
}

int main(void)
{
    round_trip();
    corrupt();
    tactic_records();
    alloc_failures();
    DONE();
}
