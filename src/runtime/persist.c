/* Saving and loading engines: the public face of src/engine/. */
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "runtime/runtime.h"

ingot_status ingot_engine_save(const ingot_engine *e, const char *path)
{
    if (!e || !path) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_save: engine and path must not be NULL");
    return engine_write_file(e->plan, path);
}

ingot_status ingot_engine_save_buffer(const ingot_engine *e, void **data, size_t *size)
{
    if (!e || !data || !size)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_save_buffer: engine, data and size must not be NULL");
    return engine_write_buffer(e->plan, data, size);
}

static ingot_status check_opts(const ingot_load_opts *opts, ingot_load_opts *o)
{
    ingot_load_opts_init(o);
    if (!opts) return INGOT_OK;
    if (opts->version == 0 || opts->version > INGOT_OPTS_VERSION)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "load options version %u, supported 1..%u", opts->version, INGOT_OPTS_VERSION);
    *o = *opts;
    if ((unsigned)o->mode >= INGOT_LOAD_MODE_COUNT)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "load mode %d, allowed 0..%d", o->mode, INGOT_LOAD_MODE_COUNT - 1);
    return INGOT_OK;
}

/* Plan from an image that stays alive as long as the engine (file or owned copy). */
static ingot_status from_image(const void *image, size_t size, const ingot_load_opts *o, ingot_engine **out)
{
    engine_plan *plan;
    ING_TRY(engine_read_image(image, size, o->verify_checksums, &plan));
    ingot_status st = engine_check_target(&plan->target);
    if (st == INGOT_OK) st = runtime_engine_from_plan(plan, out);
    if (st != INGOT_OK) engine_plan_destroy(plan);
    return st;
}

ingot_status ingot_engine_load(const char *path, const ingot_load_opts *opts, ingot_engine **out)
{
    if (!path || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_load: path and out must not be NULL");
    ingot_load_opts o;
    ING_TRY(check_opts(opts, &o));
    if (o.mode == INGOT_LOAD_STREAM)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "loading '%s': STREAM mode is not available yet (use READ or MMAP)", path);
    engine_file f;
    ING_TRY(engine_file_open(path, o.mode, &f));
    ingot_engine *e;
    ingot_status st = from_image(f.data, f.size, &o, &e);
    if (st != INGOT_OK) {
        engine_file_close(&f);
        return ingot_fail_prefix(st, "loading '%s'", path);
    }
    e->file = f;
    *out = e;
    return INGOT_OK;
}

ingot_status ingot_engine_load_buffer(const void *data, size_t size, const ingot_load_opts *opts, ingot_engine **out)
{
    if (!data || !out) return ingot_fail(INGOT_ERR_INVALID_ARG, "ingot_engine_load_buffer: data and out must not be NULL");
    ingot_load_opts o;
    ING_TRY(check_opts(opts, &o));
    void *copy = ing_malloc_aligned(size ? size : 1, 4096); /* constants are used in place */
    if (!copy) return ingot_fail(INGOT_ERR_NOMEM, "out of memory copying a %zu-byte engine", size);
    memcpy(copy, data, size);
    ingot_engine *e;
    ingot_status st = from_image(copy, size, &o, &e);
    if (st != INGOT_OK) {
        ing_free_aligned(copy);
        return st;
    }
    e->image = copy;
    *out = e;
    return INGOT_OK;
}
