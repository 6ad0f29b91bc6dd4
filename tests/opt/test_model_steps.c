/* Real models after optimization: each builds to the step count in tests/opt/expected_steps.txt
 * (one "name count" a line) and keeps no BatchNormalization, and no standalone Relu / HardSwish /
 * Add reading a Conv's output (they fuse into FusedConv). Shared models come from INGOT_SHARED_DIR
 * (skipped with a message when absent); resnet50 from INGOT_RESNET50 or <source>/build/resnet50.onnx,
 * written by `python3 bench/models/resnet50.py --out build/resnet50.onnx` (skipped when absent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "ir/ir.h"
#include "runtime/runtime.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The expected step count of `name`, or -1 when the file does not list it. */
static int expected_steps(const char *name)
{
    FILE *f = fopen(INGOT_SOURCE_DIR "/tests/opt/expected_steps.txt", "r");
    CHECK(f != NULL, "cannot open %s", INGOT_SOURCE_DIR "/tests/opt/expected_steps.txt");
    if (!f) return -1;
    char line[256], n[200];
    int count, found = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%199s %d", n, &count) == 2 && !strcmp(n, name)) found = count;
    fclose(f);
    return found;
}

static int is_conv(const ir_node *n) { return !strcmp(n->op, "Conv") || !strcmp(n->op, "FusedConv"); }

static void check_model(const char *name, const char *path)
{
    if (!exists(path)) {
        printf("SKIP %s: %s is absent\n", name, path);
        return;
    }
    ingot_build_opts bo;
    ingot_build_opts_init(&bo);
    ingot_engine *e = NULL;
    ingot_status st = ingot_builder_build_file(path, &bo, &e);
    CHECK(st == INGOT_OK, "%s: build: %s", name, ingot_last_error());
    if (st != INGOT_OK) return;
    const ir_model *m = e->plan->model;
    const ir_body *b = &m->bodies[0];
    int want = expected_steps(name);
    CHECK(want >= 0, "%s: not listed in expected_steps.txt", name);
    CHECK(b->n_nodes == want, "%s: %d steps after optimization, expected %d", name, b->n_nodes, want);
    int bn = 0, after_conv = 0;
    for (int32_t k = 0; k < b->n_nodes; k++) {
        const ir_node *n = &m->nodes[b->nodes[k]];
        if (!strcmp(n->op, "BatchNormalization")) bn++;
        if (strcmp(n->op, "Relu") && strcmp(n->op, "HardSwish") && strcmp(n->op, "Add")) continue;
        for (int32_t i = 0; i < n->n_in; i++) {
            int32_t p = n->in[i] >= 0 ? m->values[n->in[i]].producer : -1;
            if (p >= 0 && is_conv(&m->nodes[p])) {
                after_conv++;
                printf("%s: %s '%s' reads the output of %s '%s'\n", name, n->op, n->name, m->nodes[p].op,
                       m->nodes[p].name);
            }
        }
    }
    CHECK(bn == 0, "%s: %d BatchNormalization nodes left", name, bn);
    CHECK(after_conv == 0, "%s: %d standalone Relu/HardSwish/Add after a Conv", name, after_conv);
    printf("%s: %d steps (expected %d), %d BatchNormalization, %d unfused activations after Conv\n", name,
           b->n_nodes, want, bn, after_conv);
    ingot_engine_destroy(e);
}

int main(void)
{
    const char *shared = getenv("INGOT_SHARED_DIR");
    if (!shared) shared = INGOT_SHARED_DIR;
    static const char *names[] = {"mobilenet_v3_small", "squeezenet1_1", "tiny_bert", "digits_cnn"};
    char path[2048];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/models/%s/model.onnx", shared, names[i]);
        check_model(names[i], path);
    }
    const char *r50 = getenv("INGOT_RESNET50");
    snprintf(path, sizeof path, "%s", r50 ? r50 : INGOT_SOURCE_DIR "/build/resnet50.onnx");
    check_model("resnet50", path);
    DONE();
}
