/* Helpers shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/dtype.h"

/* STREAM mode from a file: the engine through stdio, as any ingot_reader would bring it. */
static int64_t file_read(void *user, void *dst, size_t n)
{
    size_t got = fread(dst, 1, n, (FILE *)user);
    return got == 0 && ferror((FILE *)user) ? -1 : (int64_t)got;
}

static int file_seek(void *user, uint64_t offset)
{
    return offset > (uint64_t)INT64_MAX ? -1 : fseeko((FILE *)user, (off_t)offset, SEEK_SET);
}

/* By offset, from several threads at once: pread leaves the stream's position alone. */
static int64_t file_read_at(void *user, void *dst, size_t n, uint64_t offset)
{
    if (offset > (uint64_t)INT64_MAX) return -1;
    ssize_t got;
    do {
        got = pread(fileno((FILE *)user), dst, n, (off_t)offset);
    } while (got < 0 && errno == EINTR);
    return got < 0 ? -1 : (int64_t)got;
}

ingot_status cli_load_engine(const char *path, const ingot_load_opts *lo, ingot_engine **e)
{
    if (lo->mode != INGOT_LOAD_STREAM) return ingot_engine_load(path, lo, e);
    FILE *f = fopen(path, "rb");
    if (!f) return ingot_fail(INGOT_ERR_IO, "cannot open engine '%s': %s", path, strerror(errno));
    /* A pipe cannot seek: offer seek (and read_at, which needs it) only where it works, since a
     * failed seek fails the load. */
    int seekable = fseeko(f, 0, SEEK_CUR) == 0;
    ingot_reader r = {.read = file_read,
                      .seek = seekable ? file_seek : NULL,
                      .read_at = seekable ? file_read_at : NULL,
                      .user = f};
    ingot_status st = ingot_engine_load_stream(&r, lo, e);
    fclose(f);
    return st;
}

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
