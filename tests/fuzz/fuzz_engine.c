/* libFuzzer target for the engine reader: any byte string must be rejected with a status or
 * loaded, never crash, hang or leak; engine_inspect (text and JSON) runs on the same bytes,
 * and a plan the reader accepts must write back. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "engine/engine_io.h"
#include "engine/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_one(FILE *devnull, const void *img, size_t size)
{
    engine_plan *p = NULL;
    if (engine_read_image(img, size, 1, &p) == INGOT_OK) {
        (void)engine_check_target(&p->target);
        void *out = NULL;
        size_t out_size = 0;
        if (engine_write_buffer(p, &out, &out_size) != INGOT_OK) abort();
        ing_free(out);
        engine_plan_destroy(p);
    }
    if (devnull) {
        (void)engine_inspect(devnull, img, size, 0);
        (void)engine_inspect(devnull, img, size, 1);
    }
}

/* Mutations almost never keep the checksums right, which would stop the fuzzer at the
 * header: store fresh ones (when the metadata lies inside the input) and run again, so the
 * metadata decoder sees the mutated bytes. */
static int fix_checksums(uint8_t *img, size_t size)
{
    engine_header_v1 h;
    if (size < sizeof h) return 0;
    memcpy(&h, img, sizeof h);
    if (h.metadata_offset > size || h.metadata_size > size - h.metadata_offset) return 0;
    h.metadata_hash = XXH3_64bits(img + h.metadata_offset, (size_t)h.metadata_size);
    h.header_hash = XXH3_64bits(&h, ENGINE_HEADER_HASHED_BYTES);
    memcpy(img, &h, sizeof h);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");

    /* Constants point into the image and kernels expect them aligned: give the reader an
     * aligned copy, as engine_file_open does. */
    uint8_t *img = ing_malloc_aligned(size ? size : 1, ENGINE_WEIGHTS_ALIGN);
    if (!img) return 0;
    if (size) memcpy(img, data, size);
    run_one(devnull, img, size);
    if (fix_checksums(img, size)) run_one(devnull, img, size);
    ing_free_aligned(img);
    return 0;
}
