/* Optimization passes: one per file (src/opt/<name>.c), listed in order in passes.c.
 *
 * A pass rewrites the IR in place and reports what it did. It may leave dead nodes and values
 * behind: the runner compacts the graph and re-infers shapes after each pass. A pass must keep
 * every graph output's value (the name users bind) and must never change results beyond
 * floating-point reassociation. */
#ifndef INGOT_OPT_PASSES_H
#define INGOT_OPT_PASSES_H

#include "ir/ir.h"

typedef struct opt_stats {
    int32_t removed; /* nodes removed */
    int32_t fused;   /* nodes merged into another node */
    int32_t added;   /* nodes created */
    char note[256];  /* optional: what else --verbose should say (chains fused, why skipped) */
} opt_stats;

/* What the build asked for; passes that depend on the target read it. */
typedef struct opt_options {
    int32_t backend;   /* ingot_backend */
    int32_t precision; /* ingot_precision */
    /* Has the target backend its own kernel for op? NULL: assume yes. */
    int (*has_kernel)(const char *op);
} opt_options;

typedef struct opt_pass {
    const char *name;
    const char *what; /* one line for --list-passes */
    ingot_status (*run)(ir_model *m, const opt_options *o, opt_stats *st);
} opt_pass;

/* The passes in the order they run. */
const opt_pass *const *opt_pass_list(size_t *n);
const opt_pass *opt_pass_find(const char *name);

/* Run every pass not named in disabled (unknown names are an error), with compaction and shape
 * inference after each. verbose: one line per pass to stderr. */
ingot_status opt_run(ir_model *m, const opt_options *o, const char *const *disabled, size_t n_disabled,
                     int verbose);

/* Record that node `dst` now also computes what the original ONNX nodes of `src` did (for
 * inspect: each step lists the ONNX nodes it covers). */
ingot_status opt_merge_origin(ir_model *m, int32_t dst, int32_t src);

#endif
