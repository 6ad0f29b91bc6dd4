/* fuse_silu: not written yet (a no-op). */
#include "opt/passes.h"

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)m;
    (void)o;
    (void)st;
    return INGOT_OK;
}

const opt_pass opt_pass_fuse_silu = {"fuse_silu", "(not written yet)", run};
