/* Synthetic engines (synth.c): LLaMA-7B-sized and GiB-sized weight sets with deterministic
 * pseudo-random weights, for load tests and benchmarks without an ONNX model. */
#ifndef INGOT_ENGINE_SYNTH_H
#define INGOT_ENGINE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "engine/plan.h"

/* The kinds, by index: name and a one-line description (static strings); NULL past the end. */
size_t engine_synth_count(void);
const char *engine_synth_name(size_t i, const char **what);

/* The plan of kind `name` (CPU target, kernels chosen, memory planned); its constants have
 * const_bytes but no data. Free with engine_plan_destroy.
 * Returns INGOT_OK, INGOT_ERR_INVALID_ARG (unknown name), INGOT_ERR_NOMEM. */
ingot_status engine_synth_plan(const char *name, engine_plan **out);
/* As engine_synth_plan, for backend (ingot_backend): its prepare() chooses the kernels and,
 * for CUDA, records this machine's GPU and library versions as the target. Returns also
 * INGOT_ERR_BACKEND when the build lacks that backend. */
ingot_status engine_synth_plan_for(const char *name, int32_t backend, engine_plan **out);

/* engine_blob_fill_fn for such a plan. sparse: every weight is zero except its first and last
 * 4 KiB, so the file is mostly holes (fast to write and read in tests). */
typedef struct engine_synth_fill_ctx {
    const engine_plan *plan;
    int sparse;
} engine_synth_fill_ctx;
ingot_status engine_synth_fill(void *user, int32_t value, uint64_t offset, void *dst, size_t n);

/* Plan + streaming write to path. Host memory stays at a few MiB whatever the size.
 * Returns as engine_synth_plan and engine_write_file_gen. */
ingot_status engine_synth_write(const char *name, const char *path, int sparse);
ingot_status engine_synth_write_for(const char *name, const char *path, int sparse, int32_t backend);

#endif
