/* Bring an engine file into memory whole: read into a 4096-aligned buffer, or map it read-only.
 * Either way the bytes stay put until engine_file_close, so a plan may point into them. */
#include "engine/engine_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"

static ingot_status read_all(int fd, const char *path, uint8_t *dst, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, dst + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return ingot_fail(INGOT_ERR_IO, "reading '%s' at byte %zu: %s", path, done,
                              strerror(errno));
        if (n == 0)
            return ingot_fail(INGOT_ERR_IO, "reading '%s': the file ended at byte %zu, its size "
                              "was %zu bytes when opened (changed while reading?)", path, done,
                              size);
        done += (size_t)n;
    }
    return INGOT_OK;
}

ingot_status engine_file_open(const char *path, int mode, engine_file *f)
{
    ingot_status st = INGOT_OK;
    struct stat sb;
    void *data = NULL;
    int mapped = 0;
    if (!path || !f) return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_file_open: NULL argument");
    if (mode == INGOT_LOAD_AUTO) mode = INGOT_LOAD_MMAP;
    if (mode != INGOT_LOAD_READ && mode != INGOT_LOAD_MMAP)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "engine_file_open '%s': load mode %d is not a "
                          "whole-file mode (READ = %d, MMAP = %d)", path, mode, INGOT_LOAD_READ,
                          INGOT_LOAD_MMAP);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ingot_fail(INGOT_ERR_IO, "cannot open engine '%s': %s", path,
                                  strerror(errno));
    if (fstat(fd, &sb) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "cannot stat engine '%s': %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = ingot_fail(INGOT_ERR_IO, "engine '%s' is not a regular file", path);
        goto done;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > SIZE_MAX) {
        st = ingot_fail(INGOT_ERR_IO, "engine '%s' has %" PRId64 " bytes, more than this process "
                        "can address", path, (int64_t)sb.st_size);
        goto done;
    }
    size_t size = (size_t)sb.st_size;
    /* An empty file cannot be mapped; read it (the reader then reports it truncated). */
    if (mode == INGOT_LOAD_MMAP && size > 0) {
        data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            data = NULL;
            st = ingot_fail(INGOT_ERR_IO, "cannot map engine '%s' (%zu bytes): %s", path, size,
                            strerror(errno));
            goto done;
        }
        mapped = 1;
    } else {
        if (!(data = ing_malloc_aligned(size, ENGINE_WEIGHTS_ALIGN))) {
            st = ingot_fail(INGOT_ERR_NOMEM, "out of memory reading engine '%s' (%zu bytes)", path,
                            size);
            goto done;
        }
        if ((st = read_all(fd, path, data, size)) != INGOT_OK) {
            ing_free_aligned(data);
            goto done;
        }
    }
    f->data = data;
    f->size = size;
    f->mapped = mapped;
done:
    close(fd);
    return st;
}

void engine_file_close(engine_file *f)
{
    if (!f) return;
    if (f->mapped) {
        if (f->data) munmap(f->data, f->size);
    } else {
        ing_free_aligned(f->data);
    }
    memset(f, 0, sizeof *f);
}
