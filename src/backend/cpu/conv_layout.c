/* channels_last (set by opt/layout_nhwc.c for the CUDA backend) on Conv, FusedConv, MaxPool and
 * AveragePool: X [N, spatial..., C], W [M, k..., C/group], residual and Y [N, out..., M].
 *
 * The CPU is the oracle, not the target of this layout: the NCHW kernel runs on transposed
 * copies (the last axis moved to 1) of X, W and the residual, on a node without the attribute,
 * and its output is moved back. Copies are plain allocations: the kernel uses cpu_scratch. */
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

/* [N][S][C] → [N][C][S] (to_nchw) or [N][C][S] → [N][S][C] (!to_nchw), elements of es bytes. */
static void move_channels(const uint8_t *src, uint8_t *dst, int64_t n, int64_t s, int64_t c, size_t es, int to_nchw)
{
    for (int64_t b = 0; b < n; b++) {
        const uint8_t *sb = src + (size_t)(b * s * c) * es;
        uint8_t *db = dst + (size_t)(b * s * c) * es;
        for (int64_t i = 0; i < s; i++)
            for (int64_t j = 0; j < c; j++) {
                size_t last = (size_t)(i * c + j), first = (size_t)(j * s + i);
                memcpy(db + (to_nchw ? first : last) * es, sb + (to_nchw ? last : first) * es, es);
            }
    }
}

/* A channels-last tensor's NCHW copy (t: dims as NCHW, data allocated), or NCHW's shape only. */
static ingot_status nchw_copy(const ir_node *node, const ing_tensor *src, ing_tensor *t, int copy)
{
    *t = *src;
    t->data = NULL;
    int32_t r = src->rank;
    t->dims[1] = src->dims[r - 1];
    for (int32_t i = 2; i < r; i++) t->dims[i] = src->dims[i - 1];
    size_t bytes = ing_nbytes(t);
    t->data = ing_malloc(bytes ? bytes : 1);
    if (!t->data) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no memory for an NCHW copy (%zu bytes)", bytes);
    if (copy) {
        int64_t s = 1;
        for (int32_t i = 1; i < r - 1; i++) s *= src->dims[i];
        move_channels(src->data, t->data, src->dims[0], s, src->dims[r - 1], ingot_dtype_size((ingot_dtype)src->dtype), 1);
    }
    return INGOT_OK;
}

ingot_status cpu_channels_last(cpu_kernel_fn nchw, cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out)
{
    if (n_in > 4 || n_out < 1 || !out[0] || (n_out > 1 && out[1]) || in[0]->rank < 3)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "channels_last with %d inputs, %d outputs and a %d-D input; "
                            "allowed: at most 4 inputs, one output, 3-D or more", n_in, n_out, in[0]->rank);
    int conv = !strcmp(node->op, "Conv") || !strcmp(node->op, "FusedConv");
    ing_tensor t[5] = {{0}}; /* inputs 0..3 moved (X; W, residual for convolutions), then Y */
    const ing_tensor *tin[4] = {NULL, NULL, NULL, NULL};
    ing_tensor *tout[1] = {&t[4]};
    ir_attr *attrs = ing_malloc(sizeof *attrs * (size_t)(node->n_attr ? node->n_attr : 1));
    ingot_status st = attrs ? INGOT_OK : IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no memory for a node copy");
    for (int i = 0; i < n_in && st == INGOT_OK; i++) {
        tin[i] = in[i];
        if (in[i] && (i == 0 || (conv && (i == 1 || i == 3)))) {
            st = nchw_copy(node, in[i], &t[i], 1);
            tin[i] = &t[i];
        }
    }
    if (st == INGOT_OK) st = nchw_copy(node, out[0], &t[4], 0);
    if (st == INGOT_OK) {
        /* the same node without channels_last: the kernel (and the inference it may call) sees NCHW */
        ir_node plain = *node;
        plain.attrs = attrs;
        plain.n_attr = 0;
        for (int32_t i = 0; i < node->n_attr; i++)
            if (strcmp(node->attrs[i].name, "channels_last") != 0) attrs[plain.n_attr++] = node->attrs[i];
        st = nchw(x, &plain, tin, n_in, tout, 1);
    }
    if (st == INGOT_OK) {
        int32_t r = out[0]->rank;
        int64_t s = 1;
        for (int32_t i = 1; i < r - 1; i++) s *= out[0]->dims[i];
        move_channels(t[4].data, out[0]->data, out[0]->dims[0], s, out[0]->dims[r - 1],
                      ingot_dtype_size((ingot_dtype)out[0]->dtype), 0);
    }
    for (int i = 0; i < 5; i++) ing_free(t[i].data);
    ing_free(attrs);
    return st;
}
