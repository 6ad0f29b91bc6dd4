/* CPU kernel of FusedElementwise (program in ir/ew_program.h): the oracle the generated CUDA
 * kernels are tested against, and what constant folding runs. It interprets the program over
 * blocks of EWB elements, one instruction at a time over the block, in float32 registers as on
 * the GPU, with ewp_eval's arithmetic (the CUDA code generator emits the same formulas).
 * Single-threaded and not tuned: CPU engines never get this op (the CPU backend says it has no
 * kernel worth fusing for, see exec.c), so only tests, folding and fallbacks come here. */
#include <string.h>

#include "backend/cpu/cpu.h"
#include "ir/ew_program.h"

#define EWB 256 /* elements per block */

/* Per input: element strides aligned to the output's dims (0 where it broadcasts). */
typedef struct ew_in {
    const ing_tensor *t;
    int64_t st[IR_MAX_RANK];
    int same;   /* same shape as the output: element i is i */
    int scalar; /* one element */
} ew_in;

static float load(int dt, const void *p, int64_t i)
{
    if (dt == INGOT_DTYPE_F16) return ing_f16_to_f32(((const uint16_t *)p)[i]);
    if (dt == INGOT_DTYPE_BF16) return ing_bf16_to_f32(((const uint16_t *)p)[i]);
    return ((const float *)p)[i];
}

static int64_t in_index(const ew_in *e, const ing_tensor *y, int64_t i)
{
    if (e->same) return i;
    if (e->scalar) return 0;
    int64_t o = 0;
    for (int d = y->rank - 1; d >= 0; d--) {
        o += (i % y->dims[d]) * e->st[d];
        i /= y->dims[d];
    }
    return o;
}

static ingot_status k_fused_ew(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    (void)n_out;
    ewp_program p;
    ING_TRY(ewp_parse(node, &p));
    ing_tensor *y = out[0];
    ew_in ins[EWP_MAX_IN];
    for (int j = 0; j < n_in; j++) {
        const ing_tensor *t = in[j];
        ew_in *e = &ins[j];
        e->t = t;
        e->same = ing_same_shape(t, y);
        e->scalar = ing_numel(t) == 1;
        int64_t s = 1;
        for (int d = y->rank - 1; d >= 0; d--) {
            int td = d - (y->rank - t->rank);
            int64_t dim = td >= 0 ? t->dims[td] : 1;
            e->st[d] = dim == 1 ? 0 : s;
            s *= dim;
        }
    }
    int32_t n_reg = p.n_in + p.n_instr;
    float *reg = cpu_scratch(x, 0, (size_t)n_reg * EWB * sizeof(float));
    if (!reg) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no memory for %d registers", n_reg);
    int64_t n = ing_numel(y);
    for (int64_t i0 = 0; i0 < n; i0 += EWB) {
        int64_t len = n - i0 < EWB ? n - i0 : EWB;
        for (int j = 0; j < n_in; j++) {
            float *r = reg + (size_t)j * EWB;
            const ew_in *e = &ins[j];
            for (int64_t i = 0; i < len; i++) r[i] = load(e->t->dtype, e->t->data, in_index(e, y, i0 + i));
        }
        for (int32_t t = 0; t < p.n_instr; t++) {
            const int64_t *c = p.code + 4 * t;
            float *r = reg + (size_t)(p.n_in + t) * EWB;
            /* an unused operand reads register 0 (initialized) and is ignored */
            const float *a = reg + (size_t)(c[1] >= 0 ? c[1] : 0) * EWB, *b = reg + (size_t)(c[2] >= 0 ? c[2] : 0) * EWB;
            for (int64_t i = 0; i < len; i++) r[i] = ewp_eval(&p, t, a[i], b[i]);
        }
        const float *r = reg + (size_t)(n_reg - 1) * EWB;
        for (int64_t i = 0; i < len; i++) {
            size_t k = (size_t)(i0 + i);
            if (y->dtype == INGOT_DTYPE_F16) ((uint16_t *)y->data)[k] = ing_f32_to_f16(r[i]);
            else if (y->dtype == INGOT_DTYPE_BF16) ((uint16_t *)y->data)[k] = ing_f32_to_bf16(r[i]);
            else ((float *)y->data)[k] = r[i];
        }
    }
    return INGOT_OK;
}

const cpu_kernel_def cpu_kernels_fused_ew[] = {
    {"FusedElementwise", k_fused_ew},
    {NULL, NULL},
};
