/* CUDA host glue for Attention (opset 23/24; device code: kernels/attention.cu).
 *
 * The kernel covers what fuse_attention emits and the plain uses of the op: Q, K, V 4-D
 * [B, H, S, D] or 3-D [B, S, H * D] (q_num_heads / kv_num_heads), f32, f16 or bf16, head sizes
 * 1..128 (Dv may differ from D), grouped queries (Hq a multiple of Hkv), an optional `scale`
 * (default 1/sqrt(D)), and an optional attn_mask of Q's dtype (added) or bool (true keeps the
 * key), up to 4-D, broadcast to [B, Hq, Sq, T] with a last dim of any length (keys past it are
 * masked, as the CPU kernel does). Fully masked rows give zeros. Products accumulate and the
 * softmax runs in f32 (f16/bf16 with head sizes that are multiples of 16 on tensor cores, the
 * probabilities rounded to the input type for P V, as the CPU's softmax precision does by
 * default); softmax_precision asks for no more than that, so any value is taken.
 *
 * `accepts` refuses, so the CPU kernel (cpu/linalg_attention.c, the reference) runs them: is_causal,
 * softcap, sliding windows, past_key/past_value, nonpad_kv_seqlen, any output beyond Y
 * (present_key/value, qk_matmul_output), other dtypes and head sizes over 128. At build time some
 * dims may be unknown: those checks wait for the run, where the executor asks again with the
 * real shapes. The packed form (qkv_packed = 1: Q, K, V are the three slices of one [B, S, 3E]
 * projection output, see ir_attention_slices) runs the same kernels on views into that tensor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "backend/cuda/kernels/attention.h"

static int is_fdt(int dt) { return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16; }

/* a != b where both are known (a dim < 0 is unknown until the run) */
static int differ(int64_t a, int64_t b) { return a >= 0 && b >= 0 && a != b; }

/* [batch, head, seq, feature] strides of a 4-D [B, H, S, D] or 3-D [B, S, H * D] tensor; a 3-D
 * one's sequence rows are `row` elements apart when row > 0 (a packed Q/K/V slice: 3E). */
static ingk_attn_view view(const ing_tensor *t, int64_t heads, int64_t d, int64_t row)
{
    ingk_attn_view w;
    if (t->rank == 4) {
        w.s = d;
        w.h = t->dims[2] * d;
        w.b = t->dims[1] * w.h;
    } else {
        w.h = d;
        w.s = row > 0 ? row : heads * d;
        w.b = t->dims[1] * w.s;
    }
    return w;
}

/* Q, K, V as the kernel reads them: the inputs, or for the packed form (qkv_packed, see
 * ir_attention_slices) their slices, which the kernel reads in place with rows *row apart
 * (0: unpacked). -1 when the packed form's inputs do not fit it. */
static int qkv_inputs(const ir_node *node, const ing_tensor *const *in, int n_in, ing_tensor sl[3],
                      const ing_tensor *qkv[3], int64_t *row)
{
    *row = 0;
    for (int i = 0; i < 3; i++) qkv[i] = n_in > i ? in[i] : NULL;
    int packed = ir_attention_slices(node, in, n_in, sl, row);
    if (packed > 0)
        for (int i = 0; i < 3; i++) qkv[i] = &sl[i];
    return packed;
}

/* Can the kernel run this node? Fills *p (when every dim is known) and says why not in why. */
static int plan(const ir_node *node, const ing_tensor *const *in, int n_in, ingk_attn_params *p, char *why,
                size_t cap)
{
    ing_tensor sl[3];
    const ing_tensor *qkv[3];
    int64_t row;
    int packed = qkv_inputs(node, in, n_in, sl, qkv, &row);
    const ing_tensor *q = qkv[0], *k = qkv[1], *v = qkv[2];
    const ing_tensor *mask = n_in > 3 ? in[3] : NULL;
    memset(p, 0, sizeof *p);
#define NO(...) return snprintf(why, cap, __VA_ARGS__), 0
    if (packed < 0) NO("qkv_packed = 1 but Q, K, V are not one 3-D [B, S, 3E] shape");
    if (!q || !k || !v) NO("Q, K and V are required");
    for (int i = 4; i < n_in; i++)
        if (in[i]) NO("input %d (past key/value or nonpad_kv_seqlen) is given; the CUDA kernel takes inputs 0-3", i);
    for (int i = 1; i < node->n_out; i++)
        if (node->out[i] >= 0) NO("output %d (present key/value or qk_matmul_output) is requested; the CUDA kernel "
                                  "writes Y only", i);
    if (!is_fdt(q->dtype) || k->dtype != q->dtype || v->dtype != q->dtype)
        NO("Q, K, V dtypes %d, %d, %d; allowed: one of f32, f16, bf16", q->dtype, k->dtype, v->dtype);
    if (ir_attr_int(node, "is_causal", 0)) NO("is_causal is set");
    if (ir_attr_float(node, "softcap", 0.0f) != 0.0f) NO("softcap is set");
    if (ir_attr_int(node, "left_window_size", -1) != -1 || ir_attr_int(node, "right_window_size", -1) != -1)
        NO("a sliding window is set");
    if (q->rank != k->rank || q->rank != v->rank || (q->rank != 3 && q->rank != 4))
        NO("Q, K, V ranks %d, %d, %d; allowed: all 3 or all 4", q->rank, k->rank, v->rank);
    p->batch = q->dims[0];
    if (q->rank == 4) {
        p->hq = q->dims[1];
        p->hkv = k->dims[1];
        p->sq = q->dims[2];
        p->skv = k->dims[2];
        p->dh = q->dims[3];
        p->dv = v->dims[3];
        if (differ(k->dims[3], p->dh) || differ(v->dims[1], p->hkv)) NO("K or V head dims do not match Q's");
    } else {
        p->hq = ir_attr_int(node, "q_num_heads", 0);
        p->hkv = ir_attr_int(node, "kv_num_heads", 0);
        if (p->hq <= 0 || p->hkv <= 0) NO("3-D inputs without q_num_heads / kv_num_heads");
        p->sq = q->dims[1];
        p->skv = k->dims[1];
        p->dh = q->dims[2] < 0 ? -1 : q->dims[2] / p->hq;
        p->dv = v->dims[2] < 0 ? -1 : v->dims[2] / p->hkv;
        if ((q->dims[2] >= 0 && q->dims[2] % p->hq) || (v->dims[2] >= 0 && v->dims[2] % p->hkv) ||
            differ(k->dims[2], p->hkv * p->dh))
            NO("hidden sizes do not split into the given heads");
    }
    if (differ(k->dims[0], p->batch) || differ(v->dims[0], p->batch) || differ(v->dims[q->rank - 2], p->skv))
        NO("K or V batch or sequence does not match");
    if (p->hq >= 0 && p->hkv >= 0 && (p->hkv == 0 || p->hq % p->hkv))
        NO("Q heads %lld is not a multiple of KV heads %lld", (long long)p->hq, (long long)p->hkv);
    if (p->dh == 0 || p->dh > INGK_ATTN_MAX_HEAD || p->dv == 0 || p->dv > INGK_ATTN_MAX_HEAD)
        NO("head sizes %lld, %lld; allowed: 1..%d", (long long)p->dh, (long long)p->dv, INGK_ATTN_MAX_HEAD);
    const ir_attr *sa = ir_attr_find(node, "scale");
    p->scale = sa ? sa->f : p->dh > 0 ? (float)(1.0 / sqrt((double)p->dh)) : 1.0f;
    if (mask) {
        if (mask->dtype != q->dtype && mask->dtype != INGOT_DTYPE_BOOL)
            NO("attn_mask dtype %d; allowed: Q's (%d) or bool", mask->dtype, q->dtype);
        if (mask->rank < 1 || mask->rank > 4) NO("attn_mask rank %d; allowed: 1..4", mask->rank);
        const int64_t full[3] = {p->batch, p->hq, p->sq};
        int64_t *str[3] = {&p->m.b, &p->m.h, &p->m.s}, st = mask->dims[mask->rank - 1];
        p->mask_kind = mask->dtype == INGOT_DTYPE_BOOL ? INGK_ATTN_MASK_BOOL : INGK_ATTN_MASK_FLOAT;
        p->mlen = st;
        for (int d = mask->rank - 2; d >= 0; d--) {
            int pos = 4 - mask->rank + d; /* 0 = batch, 1 = head, 2 = query row */
            if (mask->dims[d] != 1 && differ(mask->dims[d], full[pos]))
                NO("attn_mask dim %d is %lld; allowed: 1 or %lld", d, (long long)mask->dims[d], (long long)full[pos]);
            if (mask->dims[d] != 1) *str[pos] = st;
            st *= mask->dims[d];
        }
    }
#undef NO
    return 1;
}

static int acc_attention(const ir_node *node, const ing_tensor *const *in, int n_in)
{
    ingk_attn_params p;
    char why[160];
    return plan(node, in, n_in, &p, why, sizeof why);
}

static ingot_status k_attention(cuda_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                                ing_tensor *const *out, int n_out)
{
    ingk_attn_params p;
    char why[160];
    if (!plan(node, in, n_in, &p, why, sizeof why))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "the CUDA kernel cannot run it: %s", why);
    for (int i = 0; i < n_in && i < 4; i++)
        if (in[i] && !ing_shape_known(in[i])) return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "input %d has unknown dims", i);
    ing_tensor sl[3];
    const ing_tensor *qkv[3];
    int64_t row;
    (void)qkv_inputs(node, in, n_in, sl, qkv, &row); /* plan accepted the form */
    const ing_tensor *q = qkv[0];
    ing_tensor *y = out[0];
    int64_t want = p.batch * p.hq * p.sq * p.dv;
    if (y->dtype != q->dtype || ing_numel(y) != want || y->rank != q->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "Y has dtype %d and %lld elements; expected dtype %d and %lld",
                            y->dtype, (long long)ing_numel(y), q->dtype, (long long)want);
    p.q = view(q, p.hq, p.dh, row);
    p.k = view(qkv[1], p.hkv, p.dh, row);
    p.v = view(qkv[2], p.hkv, p.dv, row);
    p.y = view(y, p.hq, p.dv, 0);
    int err = ingk_attention(q->dtype, q->data, qkv[1]->data, qkv[2]->data, n_in > 3 && in[3] ? in[3]->data : NULL,
                             y->data, &p, cuda_stream(x));
    if (err) return ingot_fail_prefix(cuda_check(err, "attention"), "node '%s' (%s)", node->name, node->op);
    return cuda_check_launch(node, "attention");
}

const cuda_kernel_def cuda_kernels_attention[] = {
    {"Attention", k_attention, acc_attention},
    {NULL, NULL, NULL},
};
