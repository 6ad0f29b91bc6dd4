/* libFuzzer target for the ONNX importer and build-time shape inference: any byte string must
 * build an engine or be rejected with a status; never crash, hang or leak. External data is
 * pointed at a folder that does not exist, so inputs cannot make the importer read files. */
#include <stddef.h>
#include <stdint.h>

#include "ingot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.external_data_dir = "/nonexistent-ingot-fuzz";
    ingot_engine *e = NULL;
    if (ingot_builder_build_buffer(data, size, &o, &e) == INGOT_OK) {
        void *img = NULL;
        size_t n = 0;
        if (ingot_engine_save_buffer(e, &img, &n) == INGOT_OK) ingot_free(img);
        ingot_engine_destroy(e);
    }
    return 0;
}
