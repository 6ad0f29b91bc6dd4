/* Core: half-precision conversions, generic element access, the name map, the allocation hook,
 * the streaming copy. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "core/copy.h"
#include "core/dtype.h"
#include "core/status.h"
#include "core/strmap.h"

static void test_f16(void)
{
    /* every half value survives half -> float -> half (NaNs stay NaN) */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ing_f16_to_f32((uint16_t)h);
        uint16_t back = ing_f32_to_f16(f);
        if (isnan(f) ? !isnan(ing_f16_to_f32(back)) : back != h) bad++;
    }
    CHECK(bad == 0, "%d half values did not round-trip", bad);
    CHECK(ing_f16_to_f32(0x3c00) == 1.0f, "1.0");
    CHECK(ing_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
    CHECK(ing_f32_to_f16(65504.0f) == 0x7bff, "max half");
    CHECK(ing_f32_to_f16(65520.0f) == 0x7c00, "rounds to inf");
    /* ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10 */
    CHECK(ing_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00, "tie rounds to even (down)");
    CHECK(ing_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)) == 0x3c02, "tie rounds to even (up)");
    CHECK(ing_f32_to_f16(ldexpf(1.0f, -25)) == 0x0000, "2^-25 ties to zero");
    CHECK(ing_f32_to_f16(ldexpf(1.5f, -25)) == 0x0001, "above the tie rounds up");
    CHECK(ing_f32_to_f16(-0.0f) == 0x8000, "negative zero");
}

static void test_bf16(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = ing_bf16_to_f32((uint16_t)h);
        if (!isnan(f) && ing_f32_to_bf16(f) != h) bad++;
    }
    CHECK(bad == 0, "%d bf16 values did not round-trip", bad);
    float f;
    uint32_t bits = 0x3f808000u; /* halfway between 0x3f80 and 0x3f81 -> even 0x3f80 */
    memcpy(&f, &bits, 4);
    CHECK(ing_f32_to_bf16(f) == 0x3f80, "tie to even");
    bits = 0x3f818000u;
    memcpy(&f, &bits, 4);
    CHECK(ing_f32_to_bf16(f) == 0x3f82, "tie to even (up)");
    CHECK(isnan(ing_bf16_to_f32(ing_f32_to_bf16(NAN))), "NaN stays NaN");
}

static void test_access(void)
{
    int64_t big[1] = {INT64_MAX - 1};
    CHECK(ing_load_i64(INGOT_DTYPE_I64, big, 0) == INT64_MAX - 1, "i64 exact");
    uint8_t b[2];
    ing_store_f64(INGOT_DTYPE_BOOL, b, 0, 0.5);
    ing_store_f64(INGOT_DTYPE_BOOL, b, 1, 0.0);
    CHECK(b[0] == 1 && b[1] == 0, "bool store");
    int32_t i[1];
    ing_store_f64(INGOT_DTYPE_I32, i, 0, -2.7);
    CHECK(i[0] == -2, "float to int truncates toward zero, got %d", i[0]);
    int64_t l[1];
    ing_store_f64(INGOT_DTYPE_I64, l, 0, NAN);
    CHECK(l[0] == 0, "NaN to int is 0, not undefined");
    uint64_t u[1] = {UINT64_MAX};
    CHECK(ing_load_u64(INGOT_DTYPE_U64, u, 0) == UINT64_MAX, "u64 exact");
    CHECK(ingot_dtype_size(INGOT_DTYPE_BF16) == 2 && ingot_dtype_size(INGOT_DTYPE_STRING) == 0, "sizes");
}

static void test_strmap(void)
{
    strmap outer, inner;
    strmap_init(&outer, NULL);
    strmap_init(&inner, &outer);
    char names[1000][16];
    for (int k = 0; k < 1000; k++) {
        snprintf(names[k], sizeof names[k], "v%d", k);
        CHECK(strmap_put(&outer, names[k], k) == INGOT_OK, "put");
    }
    CHECK(strmap_put(&inner, names[5], 555) == INGOT_OK, "shadow");
    int32_t v = -1;
    CHECK(strmap_get(&inner, "v5", &v) && v == 555, "inner shadows outer: %d", v);
    CHECK(strmap_get(&inner, "v999", &v) && v == 999, "outer found through inner: %d", v);
    CHECK(strmap_get(&outer, "v5", &v) && v == 5, "outer unchanged: %d", v);
    CHECK(!strmap_get(&inner, "missing", &v), "missing");
    strmap_free(&inner);
    strmap_free(&outer);
}

static void test_alloc_hook(void)
{
    ing_alloc_fail_at(2);
    void *a = ing_malloc(8), *b = ing_malloc(8), *c = ing_malloc(8);
    CHECK(a && !b && c, "only the 2nd allocation fails");
    ing_alloc_fail_at(0);
    ing_free(a);
    ing_free(c);
    size_t out;
    CHECK(!ing_mul_fits(SIZE_MAX / 2, 3, &out), "overflow detected");
    CHECK(ing_calloc(SIZE_MAX / 2, 3) == NULL, "calloc overflow gives NULL");
}

/* ing_copy_stream equals memcpy for every head/tail alignment of source and destination and
 * sizes around its thresholds, and writes nothing outside [dst, dst + n). */
static void test_copy_stream(void)
{
    enum { CAP = 70000 };
    static uint8_t src[CAP + 64], dst[CAP + 64];
    for (size_t i = 0; i < sizeof src; i++) src[i] = (uint8_t)(i * 2654435761u >> 13);
    const size_t sizes[] = {0, 1, 15, 255, 256, 257, 319, 320, 1000, 4096, 65536 + 37, CAP};
    int bad = 0, cases = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int so = 0; so < 17; so += 5)
            for (int dof = 0; dof < 33; dof += 3) {
                size_t n = sizes[k];
                memset(dst, 0xA5, sizeof dst);
                ing_copy_stream(dst + dof, src + so, n);
                int ok = !memcmp(dst + dof, src + so, n);
                for (int i = 0; i < dof; i++) ok &= dst[i] == 0xA5;
                for (size_t i = dof + n; i < sizeof dst; i++) ok &= dst[i] == 0xA5;
                bad += !ok, cases++;
            }
    CHECK(bad == 0, "ing_copy_stream: %d of %d (size, source offset, destination offset) cases differ from memcpy "
          "or write outside the destination", bad, cases);
}

int main(void)
{
    test_copy_stream();
    test_f16();
    test_bf16();
    test_access();
    test_strmap();
    test_alloc_hook();
    DONE();
}
