/* The arena plan's views (src/plan/memplan.c): a Reshape, Flatten, Squeeze or Unsqueeze whose
 * input and output are both planned shares its input's slot, chains of views included, and the
 * input stays alive as long as either is read. Checked on the plan's offsets and by running the
 * engine on the CPU with every output poisoned before its kernel (cpu_set_poison) against a
 * graph computing the same with its one view on a graph output (never planned, so a copy). */
#include <string.h>

#include "backend/cpu/cpu.h"
#include "check.h"
#include "graph_util.h"
#include "runtime/runtime.h"

#define F32 INGOT_DTYPE_F32

static int32_t value_id(const ingot_engine *e, const char *name)
{
    const ir_model *m = e->plan->model;
    for (int32_t v = 0; v < m->n_values; v++)
        if (m->values[v].name && !strcmp(m->values[v].name, name)) return v;
    return -1;
}

static int64_t offset_of(const ingot_engine *e, const char *name)
{
    int32_t v = value_id(e, name);
    return v >= 0 && e->plan->arena_offset ? e->plan->arena_offset[v] : -2;
}

/* x → Relu → r1 → Reshape → r2 → Unsqueeze → r3 → Squeeze → r4 → Sigmoid → y;
 * r1 → Neg → y2 after the views (r1 must outlive them); views_last: the views come after the
 * Sigmoid instead, the last one producing y. */
static gu_graph *graph(int views_last)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 4, (int64_t[]){2, 3, 4, 5});
    gu_const(g, "shape", INGOT_DTYPE_I64, 1, (int64_t[]){2}, (int64_t[]){6, 20});
    gu_const(g, "ax", INGOT_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){0});
    gu_node(g, "Relu", "relu", "x", "r1");
    if (views_last) {
        gu_node(g, "Sigmoid", "sig", "r1", "s");
        gu_node(g, "Reshape", "reshape", "s,shape", "r2");
        gu_node(g, "Unsqueeze", "unsq", "r2,ax", "r3");
        gu_node(g, "Squeeze", "sq", "r3,ax", "y");
    } else {
        gu_node(g, "Reshape", "reshape", "r1,shape", "r2");
        gu_node(g, "Unsqueeze", "unsq", "r2,ax", "r3");
        gu_node(g, "Squeeze", "sq", "r3,ax", "r4");
        gu_node(g, "Sigmoid", "sig", "r4", "y");
    }
    gu_node(g, "Neg", "neg", "r1", "y2");
    gu_output(g, "y");
    gu_output(g, "y2");
    return g;
}

int main(void)
{
    const char *off[64]; /* every pass off: the cleanups would merge the chain of views */
    size_t n_off = ingot_pass_count() < 64 ? ingot_pass_count() : 64;
    for (size_t i = 0; i < n_off; i++) off[i] = ingot_pass_name(i, NULL);
    gu_graph *ga = graph(0), *gb = graph(1);
    ingot_engine *a = gu_build(ga, off, n_off, NULL), *b = gu_build(gb, off, n_off, NULL);
    CHECK(a && b, "both graphs build");
    if (a && b) {
        int64_t o1 = offset_of(a, "r1");
        CHECK(o1 >= 0, "r1 is planned in the arena (offset %lld)", (long long)o1);
        CHECK(offset_of(a, "r2") == o1 && offset_of(a, "r3") == o1 && offset_of(a, "r4") == o1,
              "the three views share r1's slot (offsets %lld %lld %lld, r1 %lld)", (long long)offset_of(a, "r2"),
              (long long)offset_of(a, "r3"), (long long)offset_of(a, "r4"), (long long)o1);
        CHECK(offset_of(a, "y") == -1 && offset_of(b, "y") == -1, "graph outputs are not planned");
        CHECK(offset_of(b, "r2") >= 0 && offset_of(b, "r2") == offset_of(b, "s"), "b: Reshape's output shares s's slot");
        /* r1 (read by Neg after the views and the Sigmoid) and the Sigmoid's output r4 → y are
         * alive together: the Sigmoid must not have been planned over r1 — checked by the run */
        cpu_set_poison(1);
        gu_compare_opts o = {.seed = 11, .runs = 3, .lo = -1.0, .hi = 1.0, .poison = 1, .rtol = 0, .atol = 0};
        CHECK(gu_compare(a, b, &o), "views in the arena give the same outputs as copies, bit for bit");
        cpu_set_poison(0);
    }
    ingot_engine_destroy(a);
    ingot_engine_destroy(b);
    gu_free(ga);
    gu_free(gb);
    DONE();
}
