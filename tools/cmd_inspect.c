/* `ingot inspect ENGINE [--json]` and `ingot inspect --verify ENGINE`. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "engine/engine_io.h"
#include "engine/stream.h"

/* --verify reads through one buffer of this size: the whole check stays within a few MiB of
 * host memory (plus the metadata), whatever the engine's size. */
#define VERIFY_BUFFER_BYTES ((size_t)1 << 20)

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot inspect ENGINE [--json]\n"
               "       ingot inspect --verify ENGINE\n"
               "Prints the engine's header, inputs and outputs, steps, memory plan and weights.\n"
               "The whole file is validated first; a corrupt engine prints the reason and exits 1.\n"
               "  --verify   stream the file through a 1 MiB buffer and check every checksum\n"
               "             (header, metadata, every weight) and all padding, in bounded memory\n"
               "             whatever the engine's size; prints a one-line summary\n");
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int verify(const char *path)
{
    struct stat sb;
    double t0 = now_s();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cli_fail("inspect: cannot open engine '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || sb.st_size < 0) {
        close(fd);
        return cli_fail("inspect: cannot stat engine '%s': %s", path, strerror(errno));
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    ingot_reader r = {.read = engine_fd_read, .user = &fd};
    engine_stream s;
    ingot_status st = engine_stream_open(&s, &r, S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : ENGINE_SIZE_UNKNOWN,
                                         1, VERIFY_BUFFER_BYTES);
    if (st == INGOT_OK) {
        engine_stream_sink drop = {0}; /* bytes are checked, then dropped */
        st = engine_stream_weights(&s, &drop, 1);
    }
    close(fd);
    if (st != INGOT_OK) {
        engine_stream_close(&s);
        return cli_fail("inspect: verifying '%s': %s (%s)", path, ingot_last_error(), ingot_status_name(st));
    }
    double dt = now_s() - t0;
    printf("verified %s: header, metadata (%" PRIu64 " bytes), %d weights (%" PRIu64 " bytes) OK; "
           "%" PRIu64 " bytes in %.3f s (%.2f GB/s), buffer %" PRIu64 " bytes\n",
           path, s.h.metadata_size, (int)s.n_blobs, s.h.weights_size, s.pos, dt,
           dt > 0 ? (double)s.pos / dt / 1e9 : 0.0, s.peak_staging);
    engine_stream_close(&s);
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0, check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--verify")) check = 1;
        else if (argv[i][0] == '-') return cli_fail("inspect: unknown option '%s' (see ingot inspect --help)", argv[i]);
        else if (!path) path = argv[i];
        else return cli_fail("inspect: more than one engine given");
    }
    if (!path) {
        return cli_fail("inspect: no engine given");
    }
    if (check && json) return cli_fail("inspect: --verify and --json do not combine");
    if (check) return verify(path);
    engine_file f;
    ingot_status st = engine_file_open(path, INGOT_LOAD_MMAP, &f);
    if (st != INGOT_OK) return cli_fail_status(st, "inspect");
    st = engine_inspect(stdout, f.data, f.size, json);
    engine_file_close(&f);
    if (st != INGOT_OK) return cli_fail_status(st, "inspect");
    return 0;
}
