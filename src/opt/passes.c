/* The pass list and the runner. */
#include "opt/passes.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "ir/edit.h"
#include "ir/infer.h"

extern const opt_pass opt_pass_eliminate_identity;
extern const opt_pass opt_pass_fold_constants;
extern const opt_pass opt_pass_eliminate_dead;
extern const opt_pass opt_pass_cse;
extern const opt_pass opt_pass_fold_batchnorm;
extern const opt_pass opt_pass_fuse_layernorm;
extern const opt_pass opt_pass_fuse_gelu;
extern const opt_pass opt_pass_fuse_silu;
extern const opt_pass opt_pass_fuse_attention;
extern const opt_pass opt_pass_matmul_rows;
extern const opt_pass opt_pass_fuse_epilogue;
extern const opt_pass opt_pass_fuse_qkv;
extern const opt_pass opt_pass_layout_nhwc;
extern const opt_pass opt_pass_assign_precision;
extern const opt_pass opt_pass_fuse_elementwise;

/* The passes in the order they run: cleanups first so that the fusions see canonical
 * patterns, BatchNorm folding before epilogue fusion so that Conv+BN+Relu fuses whole.
 * Q/K/V packing right after epilogue fusion, whose FusedMatMuls (bias included) it merges.
 * The NHWC layout (CUDA) after epilogue fusion, so that whole FusedConvs move, and before
 * precision assignment, which then converts the KRSC weights it made like any constant.
 * Elementwise-chain fusion last: epilogue fusion wins where both apply (a Conv/Gemm epilogue
 * costs no extra pass over memory at all), and after precision assignment the dtypes are
 * final, so the boundary Casts it inserts fuse into the chains next to them. */
static const opt_pass *const passes[] = {
    &opt_pass_eliminate_identity,
    &opt_pass_fold_constants,
    &opt_pass_eliminate_dead,
    &opt_pass_cse,
    &opt_pass_fold_batchnorm,
    &opt_pass_fuse_layernorm,
    &opt_pass_fuse_gelu,
    &opt_pass_fuse_silu,
    &opt_pass_fuse_attention,
    &opt_pass_matmul_rows,
    &opt_pass_fuse_epilogue,
    &opt_pass_fuse_qkv,
    &opt_pass_layout_nhwc,
    &opt_pass_assign_precision,
    &opt_pass_fuse_elementwise,
};

const opt_pass *const *opt_pass_list(size_t *n)
{
    size_t k = 0;
    while (k < sizeof passes / sizeof passes[0] && passes[k]) k++;
    *n = k;
    return passes;
}

const opt_pass *opt_pass_find(const char *name)
{
    size_t n;
    const opt_pass *const *l = opt_pass_list(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i]->name, name)) return l[i];
    return NULL;
}

ingot_status opt_merge_origin(ir_model *m, int32_t dst, int32_t src)
{
    ir_node *d = &m->nodes[dst];
    const ir_node *s = &m->nodes[src];
    if (dst == src) { /* a node records itself: only when it has no origins yet */
        if (d->n_origin) return INGOT_OK;
        char **o = ing_malloc(sizeof(char *));
        if (!o || !(o[0] = ing_strdup(d->name))) {
            ing_free(o);
            return ingot_fail(INGOT_ERR_NOMEM, "out of memory recording node origins");
        }
        d->origin = o;
        d->n_origin = 1;
        return INGOT_OK;
    }
    size_t n = (size_t)d->n_origin + (size_t)(s->n_origin ? s->n_origin : 1);
    char **o = ing_realloc(d->origin, n * sizeof(char *));
    if (!o) return ingot_fail(INGOT_ERR_NOMEM, "out of memory recording node origins");
    d->origin = o;
    if (s->n_origin == 0) {
        if (!(o[d->n_origin] = ing_strdup(s->name))) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        d->n_origin++;
    }
    for (int32_t i = 0; i < s->n_origin; i++) {
        if (!(o[d->n_origin] = ing_strdup(s->origin[i]))) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        d->n_origin++;
    }
    return INGOT_OK;
}

ingot_status opt_run(ir_model *m, const opt_options *o, const char *const *disabled, size_t n_disabled,
                     int verbose)
{
    size_t n;
    const opt_pass *const *l = opt_pass_list(&n);
    for (size_t d = 0; d < n_disabled; d++)
        if (!opt_pass_find(disabled[d])) {
            char names[512] = "";
            size_t k = 0;
            for (size_t i = 0; i < n && k < sizeof names; i++)
                k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", l[i]->name);
            return ingot_fail(INGOT_ERR_INVALID_ARG, "--disable-pass '%s': no such pass (passes: %s)", disabled[d],
                              n ? names : "none");
        }
    for (size_t i = 0; i < n; i++) {
        int off = 0;
        for (size_t d = 0; d < n_disabled; d++) off |= !strcmp(disabled[d], l[i]->name);
        if (off) {
            if (verbose) fprintf(stderr, "pass %-24s disabled\n", l[i]->name);
            continue;
        }
        int32_t before = ir_count_nodes(m, 0);
        opt_stats st = {0};
        ING_TRY(l[i]->run(m, o, &st));
        ING_TRY(ir_compact(m));
        ING_TRY(ir_infer_model(m));
        if (verbose)
            fprintf(stderr, "pass %-24s nodes %d -> %d (removed %d, fused %d, added %d)%s%s\n", l[i]->name, before,
                    ir_count_nodes(m, 0), st.removed, st.fused, st.added, st.note[0] ? ": " : "", st.note);
    }
    return INGOT_OK;
}
