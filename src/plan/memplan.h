/* The activation arena: one buffer per context, offsets planned by liveness at build time. */
#ifndef INGOT_PLAN_MEMPLAN_H
#define INGOT_PLAN_MEMPLAN_H

#include "engine/plan.h"

#define PLAN_ALIGN 256 /* bytes; every planned tensor starts on this boundary */

/* Fill plan->arena_offset and plan->arena_bytes. Planned: activations of the main graph whose
 * shape is known at build time and that are not graph outputs (outputs live in persistent
 * per-context buffers). Everything else gets -1 and is placed at run time. */
ingot_status plan_memory(engine_plan *plan);

#endif
