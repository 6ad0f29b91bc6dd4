/* Engine and context internals (the public types of ingot.h). */
#ifndef INGOT_RUNTIME_RUNTIME_H
#define INGOT_RUNTIME_RUNTIME_H

#include "backend/backend.h"
#include "engine/engine_io.h"
#include "engine/plan.h"

struct ingot_engine {
    engine_plan *plan;
    const ing_backend *backend;
    engine_file file; /* the loaded image (READ or MMAP); zeroed when built in memory */
    void *image;      /* an owned copy (ingot_engine_load_buffer) */
    void *backend_state; /* the backend's per-engine state (device weights …) or NULL */
    ingot_load_stats load_stats; /* zeroed for engines built in memory */
};

/* Wrap a plan (taken on success) into an engine after checking the backend can run it. */
ingot_status runtime_engine_from_plan(engine_plan *plan, ingot_engine **out);
/* Wrap a plan and the backend state made for it (engine_create_stream); both taken on
 * success; on failure (INGOT_ERR_NOMEM) the caller still owns them. */
ingot_status runtime_engine_adopt(engine_plan *plan, void *state, ingot_engine **out);

#endif
