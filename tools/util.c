/* Helpers shared by the subcommands. */
#include <time.h>

#include "cli.h"
#include "core/dtype.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

void cli_seed(uint64_t seed)
{
    if (seed) rng_state = seed * 2654435761ull + 1;
}

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

void cli_fill_random(ing_tensor *t)
{
    int64_t n = ing_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double u = (double)(rng_next() >> 11) / 9007199254740992.0;
        if (ing_dtype_is_float(t->dtype)) ing_store_f64(t->dtype, t->data, (size_t)i, 2.0 * u - 1.0);
        else if (t->dtype == INGOT_DTYPE_BOOL) ing_store_i64(t->dtype, t->data, (size_t)i, u < 0.5);
        else if (t->dtype == INGOT_DTYPE_U8) ing_store_i64(t->dtype, t->data, (size_t)i, (int64_t)(u * 256)); /* pixels */
        else ing_store_i64(t->dtype, t->data, (size_t)i, (int64_t)(u * 10));
    }
}

double cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
