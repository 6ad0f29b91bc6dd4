#include "engine/plan.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

ingot_status engine_plan_create(ir_model *model, engine_plan **out)
{
    engine_plan *p = ing_calloc(1, sizeof *p);
    if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating an engine plan");
    p->model = model;
    snprintf(p->builder_version, sizeof p->builder_version, "%s", ingot_version());
    *out = p;
    return INGOT_OK;
}

void engine_plan_destroy(engine_plan *p)
{
    if (!p) return;
    if (p->steps && p->model)
        for (int32_t i = 0; i < p->model->n_nodes; i++) {
            ing_free(p->steps[i].kernel);
            ing_free(p->steps[i].params);
        }
    ing_free(p->steps);
    ing_free(p->arena_offset);
    ing_free(p->profiles);
    ing_free(p->planned_bytes);
    ir_model_destroy(p->model);
    ing_free(p);
}

size_t engine_plan_slot_bytes(const engine_plan *p, int32_t v)
{
    if (!p->arena_offset || p->arena_offset[v] < 0) return 0;
    if (p->planned_bytes) return p->planned_bytes[v] > 0 ? (size_t)p->planned_bytes[v] : 0;
    return ing_nbytes(&p->model->values[v].t);
}
