/* The pass framework: every pass is listed, can be disabled by name, and an unknown name is
 * an error; a model built with all passes off and all passes on gives the same outputs. */
#include <string.h>

#include "check.h"
#include "graph_util.h"

int main(void)
{
    size_t n = ingot_pass_count();
    CHECK(n >= 1, "passes are listed (%zu)", n);
    CHECK(ingot_pass_name(n, NULL) == NULL, "out of range gives NULL");
    const char *names[64];
    for (size_t i = 0; i < n && i < 64; i++) {
        const char *what = NULL;
        names[i] = ingot_pass_name(i, &what);
        CHECK(names[i] && what && what[0], "pass %zu has a name and a description", i);
    }
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){2, 3});
    gu_const_f32(g, "w", 1, (int64_t[]){3}, (float[]){1, 2, 3});
    gu_node(g, "Add", "add0", "x,w", "t");
    gu_node(g, "Relu", "relu0", "t", "y");
    gu_output(g, "y");
    const char *bogus[1] = {"no_such_pass"};
    CHECK(gu_build(g, bogus, 1, NULL) == NULL, "unknown pass name rejected");
    CHECK(strstr(ingot_last_error(), "no_such_pass") != NULL, "message names it: %s", ingot_last_error());
    ingot_engine *all = gu_build(g, NULL, 0, NULL), *none = gu_build(g, names, n < 64 ? n : 64, NULL);
    CHECK(all && none, "both build");
    if (all && none) CHECK(gu_same_outputs(all, none, 7, 1e-6, 1e-6), "same outputs");
    ingot_engine_destroy(all);
    ingot_engine_destroy(none);
    gu_free(g);
    DONE();
}
