/* What an engine holds, in memory: the optimized IR, the chosen kernels, the memory plan and
 * the target. The builder fills it; the engine writer serializes it; the reader rebuilds it;
 * the runtime executes it. */
#ifndef INGOT_ENGINE_PLAN_H
#define INGOT_ENGINE_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct engine_target {
    int32_t backend;        /* ingot_backend */
    int32_t precision;      /* ingot_precision */
    int32_t gpu_sm;         /* e.g. 90 for sm_90; 0 for CPU engines */
    int32_t cuda_runtime;   /* cudaRuntimeGetVersion(); 0 for CPU */
    int32_t cudnn;          /* cudnnGetVersion(); 0 when unused */
    int32_t cublaslt;       /* cublasLtGetVersion(); 0 when unused */
} engine_target;

typedef struct engine_step_info {
    char *kernel;   /* backend kernel name chosen at build time ("cpu.Conv", "cudnn.conv" …) */
    void *params;   /* backend-specific parameters (tactic, packed layout); may be NULL */
    size_t params_len; /* bytes */
} engine_step_info;

/* An input's optimization profile: the range its shape may take at run time. */
typedef struct engine_profile {
    int32_t value; /* a graph input of body 0 */
    int32_t rank;
    int64_t min[IR_MAX_RANK], opt[IR_MAX_RANK], max[IR_MAX_RANK];
} engine_profile;

typedef struct engine_plan {
    ir_model *model;          /* owned */
    engine_target target;
    engine_step_info *steps;  /* one per model node (index = node id); owned; may be NULL */
    int64_t *arena_offset;    /* per value: byte offset in the activation arena, -1 if not
                               * planned (constants, inputs, dynamic shapes); owned; may be NULL */
    uint64_t arena_bytes;     /* size of the activation arena */
    engine_profile *profiles; /* per profiled input; owned; NULL when none */
    int32_t n_profiles;
    int64_t *planned_bytes;   /* with profiles: per value, the bytes its arena slot holds (its
                               * size at the max shapes), -1 where not planned; owned; NULL
                               * without profiles (then a slot holds the value's static size) */
    char builder_version[32]; /* ingot_version() of the builder */
} engine_plan;

ingot_status engine_plan_create(ir_model *model, engine_plan **out); /* takes model on success */
void engine_plan_destroy(engine_plan *p); /* destroys the model too; NULL is a no-op */

/* Bytes the arena slot of value v holds (0 when v is not planned in the arena). */
size_t engine_plan_slot_bytes(const engine_plan *p, int32_t v);

#endif
