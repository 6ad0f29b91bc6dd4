/* Shape inference for the linalg family: matrix products (MatMul, Gemm, MatMulInteger,
 * QLinearMatMul, Einsum), attention (Attention, LinearAttention, RotaryEmbedding, SwiGLU,
 * TensorScatter) and recurrent nets (RNN, GRU, LSTM).
 * Unknown dims (-1) propagate; shape checks only compare dims that are known. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/dtype.h"
#include "ir/einsum.h"
#include "ir/op.h"

#define UNK (-1)

static const ing_tensor *arg(const ing_tensor *const *in, int n_in, int i)
{
    return i < n_in ? in[i] : NULL;
}

/* a * b where either may be unknown (-1). */
static int64_t mul_dim(int64_t a, int64_t b) { return (a < 0 || b < 0) ? UNK : a * b; }

/* Rejects outputs whose element count does not fit in int64 (the executor multiplies by the
 * element size after this, so keep a margin of 2^4). */
static ingot_status check_numel(const ir_node *node, const ing_tensor *t)
{
    if (t->rank < 0) return INGOT_OK;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        int64_t d = t->dims[i];
        if (d < 0) return INGOT_OK;
        if (d != 0 && n > (INT64_MAX >> 4) / d)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                "output has more than 2^59 elements (dim %d is %lld)", i,
                                (long long)d);
        n *= d;
    }
    return INGOT_OK;
}

static ingot_status need_rank(const ir_node *node, const ing_tensor *t, const char *what, int lo,
                              int hi)
{
    if (t->rank >= 0 && (t->rank < lo || t->rank > hi)) {
        if (lo == hi)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s is %d-D, must be %d-D", what, t->rank,
                                lo);
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s is %d-D, must be %d-D to %d-D", what,
                            t->rank, lo, hi);
    }
    return INGOT_OK;
}

static ingot_status need_inputs(const ir_node *node, const ing_tensor *const *in, int n_in, int n)
{
    for (int i = 0; i < n; i++)
        if (i >= n_in || !in[i])
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "required input %d is missing", i);
    return INGOT_OK;
}

/* Two dims that must agree (unknown agrees with anything). */
static ingot_status same_dim(const ir_node *node, int64_t a, int64_t b, const char *what)
{
    if (a >= 0 && b >= 0 && a != b)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s: %lld vs %lld must be equal", what,
                            (long long)a, (long long)b);
    return INGOT_OK;
}

/* numpy matmul shape: 1-D operands promoted, batch dims broadcast. */
static ingot_status matmul_shape(const ir_node *node, const ing_tensor *a, const ing_tensor *b,
                                 ing_tensor *out)
{
    if (a->rank < 0 || b->rank < 0) {
        out->rank = -1;
        return INGOT_OK;
    }
    if (a->rank == 0 || b->rank == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "operands must be at least 1-D (A is %d-D, B is %d-D)",
                            a->rank, b->rank);
    int64_t ka = a->dims[a->rank - 1];
    int64_t kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    if (ka >= 0 && kb >= 0 && ka != kb) {
        char sa[96], sb[96];
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                            "inner dims differ: A %s has K=%lld, B %s has K=%lld",
                            ing_shape_str(a, sa, sizeof sa), (long long)ka,
                            ing_shape_str(b, sb, sizeof sb), (long long)kb);
    }
    ing_tensor ba = {0}, bb = {0}, bo = {0};
    ba.rank = a->rank > 2 ? a->rank - 2 : 0;
    bb.rank = b->rank > 2 ? b->rank - 2 : 0;
    memcpy(ba.dims, a->dims, sizeof(int64_t) * (size_t)ba.rank);
    memcpy(bb.dims, b->dims, sizeof(int64_t) * (size_t)bb.rank);
    ING_TRY(ir_broadcast_shape(node, &ba, &bb, &bo));
    int r = bo.rank;
    if (a->rank >= 2) r++;
    if (b->rank >= 2) r++;
    if (r > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, IR_MAX_RANK);
    out->rank = 0;
    for (int i = 0; i < bo.rank; i++) out->dims[out->rank++] = bo.dims[i];
    if (a->rank >= 2) out->dims[out->rank++] = a->dims[a->rank - 2];
    if (b->rank >= 2) out->dims[out->rank++] = b->dims[b->rank - 1];
    return check_numel(node, out);
}

static int matmul_dtype_ok(int dt)
{
    switch (dt) {
    case INGOT_DTYPE_F32: case INGOT_DTYPE_F64: case INGOT_DTYPE_F16: case INGOT_DTYPE_BF16:
    case INGOT_DTYPE_I32: case INGOT_DTYPE_I64: case INGOT_DTYPE_U32: case INGOT_DTYPE_U64:
        return 1;
    default: return 0;
    }
}

static ingot_status infer_matmul(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    if (in[0]->dtype != in[1]->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "A is %s but B is %s; they must match",
                            ingot_dtype_name(in[0]->dtype), ingot_dtype_name(in[1]->dtype));
    if (!matmul_dtype_ok(in[0]->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "dtype %s is not supported (f32, f64, f16, bf16, i32, i64, u32, u64)",
                            ingot_dtype_name(in[0]->dtype));
    if (n_out < 1 || !out[0]) return INGOT_OK;
    out[0]->dtype = in[0]->dtype;
    return matmul_shape(node, in[0], in[1], out[0]);
}

static ingot_status infer_gemm(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    const ing_tensor *a = in[0], *b = in[1], *c = arg(in, n_in, 2);
    if (a->dtype != b->dtype || (c && c->dtype != a->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "A is %s, B is %s, C is %s; they must match",
                            ingot_dtype_name(a->dtype), ingot_dtype_name(b->dtype),
                            c ? ingot_dtype_name(c->dtype) : "absent");
    if (!matmul_dtype_ok(a->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "dtype %s is not supported (f32, f64, f16, bf16, i32, i64, u32, u64)",
                            ingot_dtype_name(a->dtype));
    ING_TRY(need_rank(node, a, "A", 2, 2));
    ING_TRY(need_rank(node, b, "B", 2, 2));
    if (c) ING_TRY(need_rank(node, c, "C", 0, 2));
    int ta = ir_attr_int(node, "transA", 0) != 0, tb = ir_attr_int(node, "transB", 0) != 0;
    int64_t m = UNK, n = UNK, ka = UNK, kb = UNK;
    if (a->rank == 2) {
        m = a->dims[ta ? 1 : 0];
        ka = a->dims[ta ? 0 : 1];
    }
    if (b->rank == 2) {
        kb = b->dims[tb ? 1 : 0];
        n = b->dims[tb ? 0 : 1];
    }
    ING_TRY(same_dim(node, ka, kb, "K of A and B"));
    if (c && c->rank >= 1) {
        /* C must broadcast one way to (M, N). */
        int64_t cn = c->dims[c->rank - 1], cm = c->rank == 2 ? c->dims[0] : 1;
        if ((cn >= 0 && n >= 0 && cn != 1 && cn != n) || (cm >= 0 && m >= 0 && cm != 1 && cm != m)) {
            char sc[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "C %s does not broadcast to [%lld,%lld]",
                                ing_shape_str(c, sc, sizeof sc), (long long)m, (long long)n);
        }
    }
    if (n_out < 1 || !out[0]) return INGOT_OK;
    out[0]->dtype = a->dtype;
    out[0]->rank = 2;
    out[0]->dims[0] = m;
    out[0]->dims[1] = n;
    return check_numel(node, out[0]);
}

static int is_8bit(int dt) { return dt == INGOT_DTYPE_U8 || dt == INGOT_DTYPE_I8; }

static ingot_status infer_matmulinteger(const ir_node *node, const ing_tensor *const *in, int n_in,
                                        ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    if (!is_8bit(in[0]->dtype) || !is_8bit(in[1]->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "A is %s and B is %s; each must be u8 or i8",
                            ingot_dtype_name(in[0]->dtype), ingot_dtype_name(in[1]->dtype));
    for (int i = 2; i < 4; i++) {
        const ing_tensor *z = arg(in, n_in, i);
        if (z && z->dtype != in[i - 2]->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "zero point %d is %s, its operand is %s", i,
                                ingot_dtype_name(z->dtype), ingot_dtype_name(in[i - 2]->dtype));
        if (z) ING_TRY(need_rank(node, z, "zero point", 0, in[i - 2]->rank < 0 ? IR_MAX_RANK : in[i - 2]->rank));
    }
    if (n_out < 1 || !out[0]) return INGOT_OK;
    out[0]->dtype = INGOT_DTYPE_I32;
    return matmul_shape(node, in[0], in[1], out[0]);
}

static ingot_status infer_qlinearmatmul(const ir_node *node, const ing_tensor *const *in, int n_in,
                                        ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 8));
    const ing_tensor *a = in[0], *b = in[3];
    if (!is_8bit(a->dtype) || !is_8bit(b->dtype) || !is_8bit(in[7]->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "a is %s, b is %s, y_zero_point is %s; each must be u8 or i8",
                            ingot_dtype_name(a->dtype), ingot_dtype_name(b->dtype),
                            ingot_dtype_name(in[7]->dtype));
    if (in[2]->dtype != a->dtype || in[5]->dtype != b->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "zero points (%s, %s) must match a (%s) and b (%s)",
                            ingot_dtype_name(in[2]->dtype), ingot_dtype_name(in[5]->dtype),
                            ingot_dtype_name(a->dtype), ingot_dtype_name(b->dtype));
    static const int scales[3] = {1, 4, 6};
    for (int s = 0; s < 3; s++) {
        int i = scales[s];
        if (!ing_dtype_is_float(in[i]->dtype))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "scale input %d is %s, must be a float type",
                                i, ingot_dtype_name(in[i]->dtype));
    }
    if (n_out < 1 || !out[0]) return INGOT_OK;
    out[0]->dtype = in[7]->dtype;
    return matmul_shape(node, a, b, out[0]);
}

static ingot_status infer_einsum(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    if (n_in < 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "needs at least one input, has %d", n_in);
    ING_TRY(need_inputs(node, in, n_in, n_in));
    int32_t ranks[64];
    if (n_in > 64)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "%d inputs; at most 64 are supported", n_in);
    for (int i = 0; i < n_in; i++) {
        if (in[i]->dtype != in[0]->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is %s, input 0 is %s; they must match",
                                i, ingot_dtype_name(in[i]->dtype), ingot_dtype_name(in[0]->dtype));
        if (in[i]->rank < 0) {
            if (n_out >= 1 && out[0]) {
                out[0]->dtype = in[0]->dtype;
                out[0]->rank = -1;
            }
            return INGOT_OK;
        }
        ranks[i] = in[i]->rank;
    }
    if (!ing_dtype_is_float(in[0]->dtype) && !ing_dtype_is_int(in[0]->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "dtype %s is not supported (floats, integers)",
                            ingot_dtype_name(in[0]->dtype));
    int32_t labels[64 * IR_MAX_RANK], out_labels[IR_MAX_RANK], out_rank = 0;
    ING_TRY(ir_einsum_parse(node, n_in, ranks, labels, out_labels, &out_rank));
    /* Size of each label: equal everywhere, or 1 (broadcast). */
    int64_t size[128];
    for (int l = 0; l < 128; l++) size[l] = -2; /* -2: not seen */
    for (int i = 0; i < n_in; i++)
        for (int d = 0; d < ranks[i]; d++) {
            int l = labels[i * IR_MAX_RANK + d];
            int64_t v = in[i]->dims[d];
            if (size[l] == -2 || size[l] == 1 || (size[l] == UNK && v > 1)) size[l] = v;
            else if (v >= 0 && v != 1 && size[l] >= 0 && v != size[l])
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                    "input %d dim %d is %lld but the same label has size %lld elsewhere",
                                    i, d, (long long)v, (long long)size[l]);
        }
    if (n_out < 1 || !out[0]) return INGOT_OK;
    out[0]->dtype = in[0]->dtype;
    out[0]->rank = out_rank;
    for (int d = 0; d < out_rank; d++) out[0]->dims[d] = size[out_labels[d]] == -2 ? 1 : size[out_labels[d]];
    return check_numel(node, out[0]);
}

/* ---- attention ------------------------------------------------------------------------- */

static int attn_float(int dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16 ||
           dt == INGOT_DTYPE_F64;
}

static void set4(ing_tensor *t, int dt, int64_t a, int64_t b, int64_t c, int64_t d)
{
    t->dtype = dt;
    t->rank = 4;
    t->dims[0] = a;
    t->dims[1] = b;
    t->dims[2] = c;
    t->dims[3] = d;
}

static ingot_status infer_attention(const ir_node *node, const ing_tensor *const *in, int n_in,
                                    ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 3));
    ing_tensor sl[3]; /* the packed form's Q, K, V slices */
    int64_t row;
    int packed = ir_attention_slices(node, in, n_in, sl, &row);
    if (packed < 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL,
                            "qkv_packed = 1 but Q, K, V are %d-D, %d-D, %d-D (%s, %s, %s); packed inputs must be "
                            "one 3-D shape and dtype with a last dim divisible by 3",
                            in[0]->rank, in[1]->rank, in[2]->rank, ingot_dtype_name(in[0]->dtype),
                            ingot_dtype_name(in[1]->dtype), ingot_dtype_name(in[2]->dtype));
    const ing_tensor *q = packed ? &sl[0] : in[0], *k = packed ? &sl[1] : in[1], *v = packed ? &sl[2] : in[2];
    const ing_tensor *mask = arg(in, n_in, 3), *pk = arg(in, n_in, 4), *pv = arg(in, n_in, 5);
    const ing_tensor *nonpad = arg(in, n_in, 6);
    if (!attn_float(q->dtype) || !attn_float(v->dtype) || k->dtype != q->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "Q is %s, K is %s, V is %s; Q and K must be one float type, V a float type",
                            ingot_dtype_name(q->dtype), ingot_dtype_name(k->dtype),
                            ingot_dtype_name(v->dtype));
    if ((pk == NULL) != (pv == NULL))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "past_key and past_value must be given together");
    if (nonpad && pk)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "nonpad_kv_seqlen cannot be combined with past_key/past_value");
    if (nonpad && nonpad->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "nonpad_kv_seqlen is %s, must be i64",
                            ingot_dtype_name(nonpad->dtype));
    if (pk && (pk->dtype != q->dtype || pv->dtype != v->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "past_key/past_value dtypes (%s, %s) must match K (%s) and V (%s)",
                            ingot_dtype_name(pk->dtype), ingot_dtype_name(pv->dtype),
                            ingot_dtype_name(k->dtype), ingot_dtype_name(v->dtype));
    if (mask && mask->dtype != INGOT_DTYPE_BOOL && !ing_dtype_valid(mask->dtype))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "attn_mask dtype %s is not supported",
                            ingot_dtype_name(mask->dtype));
    if (mask) ING_TRY(need_rank(node, mask, "attn_mask", 1, 4));
    if (q->rank < 0 || k->rank < 0 || v->rank < 0) {
        for (int j = 0; j < n_out && j < 4; j++)
            if (out[j]) {
                out[j]->dtype = j == 2 ? v->dtype : q->dtype;
                out[j]->rank = j == 0 ? -1 : 4;
                for (int d = 0; d < 4; d++) out[j]->dims[d] = UNK;
            }
        return INGOT_OK;
    }
    if ((q->rank != 3 && q->rank != 4) || k->rank != q->rank || v->rank != q->rank)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "Q, K, V are %d-D, %d-D, %d-D; all must be 3-D or all 4-D",
                            q->rank, k->rank, v->rank);
    int64_t bsz = q->dims[0], hq, hkv, sq, skv, dh, dv;
    if (q->rank == 4) {
        hq = q->dims[1];
        sq = q->dims[2];
        dh = q->dims[3];
        hkv = k->dims[1];
        skv = k->dims[2];
        dv = v->dims[3];
        ING_TRY(same_dim(node, k->dims[3], dh, "head size of K and Q"));
        ING_TRY(same_dim(node, v->dims[1], hkv, "heads of V and K"));
        ING_TRY(same_dim(node, v->dims[2], skv, "sequence length of V and K"));
    } else {
        hq = ir_attr_int(node, "q_num_heads", 0);
        hkv = ir_attr_int(node, "kv_num_heads", 0);
        if (hq <= 0 || hkv <= 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL,
                                "3-D inputs need q_num_heads and kv_num_heads > 0 (have %lld, %lld)",
                                (long long)hq, (long long)hkv);
        sq = q->dims[1];
        skv = k->dims[1];
        ING_TRY(same_dim(node, v->dims[1], skv, "sequence length of V and K"));
        if (q->dims[2] >= 0 && q->dims[2] % hq)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "Q hidden size %lld is not a multiple of q_num_heads %lld",
                                (long long)q->dims[2], (long long)hq);
        if (k->dims[2] >= 0 && k->dims[2] % hkv)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "K hidden size %lld is not a multiple of kv_num_heads %lld",
                                (long long)k->dims[2], (long long)hkv);
        if (v->dims[2] >= 0 && v->dims[2] % hkv)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "V hidden size %lld is not a multiple of kv_num_heads %lld",
                                (long long)v->dims[2], (long long)hkv);
        dh = q->dims[2] < 0 ? UNK : q->dims[2] / hq;
        dv = v->dims[2] < 0 ? UNK : v->dims[2] / hkv;
        ING_TRY(same_dim(node, k->dims[2] < 0 ? UNK : k->dims[2] / hkv, dh, "head size of K and Q"));
    }
    ING_TRY(same_dim(node, k->dims[0], bsz, "batch of K and Q"));
    ING_TRY(same_dim(node, v->dims[0], bsz, "batch of V and Q"));
    if (hq >= 0 && hkv > 0 && hq % hkv)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "q heads %lld is not a multiple of kv heads %lld",
                            (long long)hq, (long long)hkv);
    if (hkv == 0)
        return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "K has 0 heads");
    int64_t past = 0;
    if (pk) {
        ING_TRY(need_rank(node, pk, "past_key", 4, 4));
        ING_TRY(need_rank(node, pv, "past_value", 4, 4));
        past = pk->rank == 4 ? pk->dims[2] : UNK;
        if (pk->rank == 4) {
            ING_TRY(same_dim(node, pk->dims[0], bsz, "batch of past_key and Q"));
            ING_TRY(same_dim(node, pk->dims[1], hkv, "heads of past_key and K"));
            ING_TRY(same_dim(node, pk->dims[3], dh, "head size of past_key and K"));
        }
        if (pv->rank == 4) {
            ING_TRY(same_dim(node, pv->dims[0], bsz, "batch of past_value and Q"));
            ING_TRY(same_dim(node, pv->dims[1], hkv, "heads of past_value and V"));
            ING_TRY(same_dim(node, pv->dims[2], past, "sequence of past_value and past_key"));
            ING_TRY(same_dim(node, pv->dims[3], dv, "head size of past_value and V"));
        }
    }
    int64_t total = (past < 0 || skv < 0) ? UNK : past + skv;
    if (nonpad) {
        ING_TRY(need_rank(node, nonpad, "nonpad_kv_seqlen", 1, 1));
        ING_TRY(same_dim(node, nonpad->dims[0], bsz, "nonpad_kv_seqlen length and batch"));
    }
    if (mask && mask->rank >= 1) {
        int64_t ml = mask->dims[mask->rank - 1];
        if (ml >= 0 && total >= 0 && ml > total)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "attn_mask last dim %lld exceeds total sequence length %lld",
                                (long long)ml, (long long)total);
        const int64_t full[4] = {bsz, hq, sq, total};
        for (int d = 0; d < mask->rank - 1; d++) {
            int64_t md = mask->dims[d], fd = full[4 - mask->rank + d];
            if (md >= 0 && fd >= 0 && md != 1 && md != fd) {
                char sm[96];
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                    "attn_mask %s does not broadcast to [%lld,%lld,%lld,%lld]",
                                    ing_shape_str(mask, sm, sizeof sm), (long long)bsz, (long long)hq,
                                    (long long)sq, (long long)total);
            }
        }
    }
    int64_t mode = ir_attr_int(node, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "qk_matmul_output_mode is %lld, must be 0..3", (long long)mode);
    const ir_attr *sp = ir_attr_find(node, "softmax_precision");
    if (sp && sp->i != INGOT_DTYPE_F32 && sp->i != INGOT_DTYPE_F16 && sp->i != INGOT_DTYPE_F64 &&
        sp->i != INGOT_DTYPE_BF16)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "softmax_precision is %lld; allowed: 1 (f32), 10 (f16), 11 (f64), 16 (bf16)",
                            (long long)sp->i);
    if (ir_attr_int(node, "left_window_size", -1) < -1 || ir_attr_int(node, "right_window_size", -1) < -1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "window sizes (%lld, %lld) must be -1 or >= 0",
                            (long long)ir_attr_int(node, "left_window_size", -1),
                            (long long)ir_attr_int(node, "right_window_size", -1));
    if (n_out >= 1 && out[0]) {
        if (q->rank == 4) set4(out[0], q->dtype, bsz, hq, sq, dv);
        else {
            out[0]->dtype = q->dtype;
            out[0]->rank = 3;
            out[0]->dims[0] = bsz;
            out[0]->dims[1] = sq;
            out[0]->dims[2] = mul_dim(hq, dv);
        }
        ING_TRY(check_numel(node, out[0]));
    }
    if (n_out >= 2 && out[1]) set4(out[1], k->dtype, bsz, hkv, total, dh);
    if (n_out >= 3 && out[2]) set4(out[2], v->dtype, bsz, hkv, total, dv);
    if (n_out >= 4 && out[3]) set4(out[3], q->dtype, bsz, hq, sq, total);
    for (int j = 1; j < n_out && j < 4; j++)
        if (out[j]) ING_TRY(check_numel(node, out[j]));
    return INGOT_OK;
}

static int la_float(int dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16;
}

static ingot_status infer_linear_attention(const ir_node *node, const ing_tensor *const *in, int n_in,
                                           ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 3));
    const ing_tensor *q = in[0], *k = in[1], *v = in[2], *ps = arg(in, n_in, 3);
    const ing_tensor *decay = arg(in, n_in, 4), *beta = arg(in, n_in, 5);
    for (int i = 0; i < n_in && i < 6; i++)
        if (in[i] && (!la_float(in[i]->dtype) || (i != 3 && in[i]->dtype != q->dtype)))
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                                "input %d is %s; inputs must be f32, f16 or bf16 and match query (%s)",
                                i, ingot_dtype_name(in[i]->dtype), ingot_dtype_name(q->dtype));
    int64_t hq = ir_attr_int(node, "q_num_heads", 0), hkv = ir_attr_int(node, "kv_num_heads", 0);
    if (hq <= 0 || hkv <= 0 || hq % hkv)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL,
                            "q_num_heads (%lld) must be a positive multiple of kv_num_heads (%lld)",
                            (long long)hq, (long long)hkv);
    const char *rule = ir_attr_string(node, "update_rule", "gated_delta");
    int gating, delta;
    if (strcmp(rule, "linear") == 0) gating = 0, delta = 0;
    else if (strcmp(rule, "gated") == 0) gating = 1, delta = 0;
    else if (strcmp(rule, "delta") == 0) gating = 0, delta = 1;
    else if (strcmp(rule, "gated_delta") == 0) gating = 1, delta = 1;
    else
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "update_rule '%s' is not one of linear, gated, delta, gated_delta", rule);
    if (gating != (decay != NULL))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "update_rule '%s' %s the decay input", rule,
                            gating ? "requires" : "forbids");
    if (delta != (beta != NULL))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "update_rule '%s' %s the beta input", rule,
                            delta ? "requires" : "forbids");
    ING_TRY(need_rank(node, q, "query", 3, 3));
    ING_TRY(need_rank(node, k, "key", 3, 3));
    ING_TRY(need_rank(node, v, "value", 3, 3));
    if (decay) ING_TRY(need_rank(node, decay, "decay", 3, 3));
    if (beta) ING_TRY(need_rank(node, beta, "beta", 3, 3));
    if (ps) ING_TRY(need_rank(node, ps, "past_state", 4, 4));
    int64_t b = UNK, t = UNK, dk = UNK, dv = UNK;
    if (q->rank == 3) {
        b = q->dims[0];
        t = q->dims[1];
        if (q->dims[2] >= 0) {
            if (q->dims[2] % hq)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "query last dim %lld is not a multiple of q_num_heads %lld",
                                    (long long)q->dims[2], (long long)hq);
            dk = q->dims[2] / hq;
        }
    }
    if (k->rank == 3) {
        ING_TRY(same_dim(node, k->dims[0], b, "batch of key and query"));
        ING_TRY(same_dim(node, k->dims[1], t, "sequence of key and query"));
        ING_TRY(same_dim(node, k->dims[2], mul_dim(hkv, dk), "key last dim and kv_num_heads*d_k"));
    }
    if (v->rank == 3) {
        ING_TRY(same_dim(node, v->dims[0], b, "batch of value and query"));
        ING_TRY(same_dim(node, v->dims[1], t, "sequence of value and query"));
        if (v->dims[2] >= 0) {
            if (v->dims[2] % hkv)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "value last dim %lld is not a multiple of kv_num_heads %lld",
                                    (long long)v->dims[2], (long long)hkv);
            dv = v->dims[2] / hkv;
        }
    }
    for (int i = 4; i < 6; i++) {
        const ing_tensor *g = i == 4 ? decay : beta;
        if (!g || g->rank != 3) continue;
        ING_TRY(same_dim(node, g->dims[0], b, i == 4 ? "batch of decay and query" : "batch of beta and query"));
        ING_TRY(same_dim(node, g->dims[1], t, i == 4 ? "sequence of decay and query" : "sequence of beta and query"));
    }
    if (decay && decay->rank == 3) {
        int64_t l = decay->dims[2];
        if (l >= 0 && l != hkv && (dk < 0 || l != hkv * dk))
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "decay last dim %lld must be kv_num_heads (%lld) or kv_num_heads*d_k (%lld)",
                                (long long)l, (long long)hkv, (long long)mul_dim(hkv, dk));
    }
    if (beta && beta->rank == 3) {
        int64_t l = beta->dims[2];
        if (l >= 0 && l != hkv && l != 1)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "beta last dim %lld must be kv_num_heads (%lld) or 1",
                                (long long)l, (long long)hkv);
    }
    if (ps && ps->rank == 4) {
        ING_TRY(same_dim(node, ps->dims[0], b, "past_state batch"));
        ING_TRY(same_dim(node, ps->dims[1], hkv, "past_state heads"));
        ING_TRY(same_dim(node, ps->dims[2], dk, "past_state d_k"));
        ING_TRY(same_dim(node, ps->dims[3], dv, "past_state d_v"));
    }
    if (n_out >= 1 && out[0]) {
        out[0]->dtype = q->dtype;
        out[0]->rank = 3;
        out[0]->dims[0] = b;
        out[0]->dims[1] = t;
        out[0]->dims[2] = mul_dim(hq, dv);
        ING_TRY(check_numel(node, out[0]));
    }
    if (n_out >= 2 && out[1]) {
        set4(out[1], ps ? ps->dtype : q->dtype, b, hkv, dk, dv);
        ING_TRY(check_numel(node, out[1]));
    }
    return INGOT_OK;
}

static ingot_status infer_rotary(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 3));
    const ing_tensor *x = in[0], *cs = in[1], *sn = in[2], *pos = arg(in, n_in, 3);
    if (!la_float(x->dtype) || cs->dtype != x->dtype || sn->dtype != x->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                            "input is %s, caches are %s and %s; all must be one of f32, f16, bf16",
                            ingot_dtype_name(x->dtype), ingot_dtype_name(cs->dtype), ingot_dtype_name(sn->dtype));
    if (pos && pos->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "position_ids is %s, must be i64", ingot_dtype_name(pos->dtype));
    ING_TRY(need_rank(node, x, "input", 3, 4));
    ING_TRY(need_rank(node, cs, "cos_cache", pos ? 2 : 3, pos ? 2 : 3));
    ING_TRY(need_rank(node, sn, "sin_cache", pos ? 2 : 3, pos ? 2 : 3));
    if (pos) ING_TRY(need_rank(node, pos, "position_ids", 2, 2));
    int64_t heads = ir_attr_int(node, "num_heads", 0);
    if (x->rank == 3 && heads <= 0)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "3-D input needs num_heads > 0 (have %lld)", (long long)heads);
    /* Head size, rotary dim and cache widths, checked where known (the kernel re-checks). */
    int64_t hd = UNK, bsz = UNK, seq = UNK;
    if (x->rank == 4) {
        hd = x->dims[3];
        bsz = x->dims[0];
        seq = x->dims[2];
    } else if (x->rank == 3) {
        bsz = x->dims[0];
        seq = x->dims[1];
        if (x->dims[2] >= 0) {
            if (x->dims[2] % heads)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "hidden size %lld is not a multiple of num_heads %lld",
                                    (long long)x->dims[2], (long long)heads);
            hd = x->dims[2] / heads;
        }
    }
    if (hd >= 0) {
        int64_t rot = ir_attr_int(node, "rotary_embedding_dim", 0);
        if (rot == 0) rot = hd;
        if (rot < 0 || rot > hd || rot % 2)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "rotary dim %lld must be even and within head size %lld",
                                (long long)rot, (long long)hd);
        for (int i = 1; i < 3; i++)
            if (in[i]->rank >= 1 && in[i]->dims[in[i]->rank - 1] >= 0 && in[i]->dims[in[i]->rank - 1] != rot / 2)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "%s last dim is %lld, must be rotary dim / 2 = %lld",
                                    i == 1 ? "cos_cache" : "sin_cache", (long long)in[i]->dims[in[i]->rank - 1],
                                    (long long)(rot / 2));
    }
    if (pos && pos->rank == 2) {
        ING_TRY(same_dim(node, pos->dims[0], bsz, "position_ids batch"));
        ING_TRY(same_dim(node, pos->dims[1], seq, "position_ids sequence"));
    }
    for (int i = 1; !pos && i < 3; i++)
        if (in[i]->rank == 3) {
            ING_TRY(same_dim(node, in[i]->dims[0], bsz, "cache batch (no position_ids)"));
            ING_TRY(same_dim(node, in[i]->dims[1], seq, "cache sequence (no position_ids)"));
        }
    if (cs->rank >= 1 && sn->rank == cs->rank)
        for (int d = 0; d < cs->rank; d++) ING_TRY(same_dim(node, cs->dims[d], sn->dims[d], "cos_cache and sin_cache dims"));
    if (n_out >= 1 && out[0]) ir_copy_desc(out[0], x);
    return INGOT_OK;
}

static ingot_status infer_swiglu(const ir_node *node, const ing_tensor *const *in, int n_in,
                                 ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    if (!attn_float(in[0]->dtype) || in[1]->dtype != in[0]->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "A is %s, B is %s; both must be one float type",
                            ingot_dtype_name(in[0]->dtype), ingot_dtype_name(in[1]->dtype));
    if (in[0]->rank >= 0 && in[1]->rank >= 0) {
        int bad = in[0]->rank != in[1]->rank;
        for (int d = 0; !bad && d < in[0]->rank; d++)
            if (in[0]->dims[d] >= 0 && in[1]->dims[d] >= 0 && in[0]->dims[d] != in[1]->dims[d]) bad = 1;
        if (bad) {
            char sa[96], sb[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "A %s and B %s must have identical shapes",
                                ing_shape_str(in[0], sa, sizeof sa), ing_shape_str(in[1], sb, sizeof sb));
        }
    }
    if (n_out >= 1 && out[0]) {
        ir_copy_desc(out[0], in[0]);
        if (out[0]->rank >= 0)
            for (int d = 0; d < out[0]->rank; d++)
                if (out[0]->dims[d] < 0) out[0]->dims[d] = in[1]->dims[d];
    }
    return INGOT_OK;
}

static ingot_status infer_tensorscatter(const ir_node *node, const ing_tensor *const *in, int n_in,
                                        ing_tensor *const *out, int n_out)
{
    ING_TRY(need_inputs(node, in, n_in, 2));
    const ing_tensor *past = in[0], *upd = in[1], *wi = arg(in, n_in, 2);
    if (!ing_dtype_valid(past->dtype) || upd->dtype != past->dtype)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "past_cache is %s and update is %s; they must match",
                            ingot_dtype_name(past->dtype), ingot_dtype_name(upd->dtype));
    if (wi && wi->dtype != INGOT_DTYPE_I64)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "write_indices is %s, must be i64", ingot_dtype_name(wi->dtype));
    const char *mode = ir_attr_string(node, "mode", "linear");
    if (strcmp(mode, "linear") != 0 && strcmp(mode, "circular") != 0)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "mode '%s' is not linear or circular", mode);
    if (past->rank >= 0) {
        if (past->rank < 2)
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "past_cache is %d-D, must be at least 2-D", past->rank);
        int32_t axis;
        ING_TRY(ir_norm_axis(node, ir_attr_int(node, "axis", -2), past->rank, &axis));
        if (axis == 0)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %lld is the batch dim; it must not be 0",
                                (long long)ir_attr_int(node, "axis", -2));
        if (upd->rank >= 0) {
            if (upd->rank != past->rank)
                return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "update is %d-D, past_cache is %d-D", upd->rank, past->rank);
            for (int d = 0; d < past->rank; d++) {
                int64_t p = past->dims[d], u = upd->dims[d];
                if (p < 0 || u < 0) continue;
                if (d == axis ? u > p : u != p) {
                    char sp[96], su[96];
                    return IR_NODE_FAIL(node, INGOT_ERR_SHAPE,
                                        "update %s does not fit past_cache %s (dim %d; sequence axis %d)",
                                        ing_shape_str(upd, su, sizeof su), ing_shape_str(past, sp, sizeof sp), d, axis);
                }
            }
        }
        if (wi) {
            ING_TRY(need_rank(node, wi, "write_indices", 1, 1));
            ING_TRY(same_dim(node, wi->dims[0], past->dims[0], "write_indices length and batch"));
        }
    }
    if (n_out >= 1 && out[0]) ir_copy_desc(out[0], past);
    return INGOT_OK;
}

/* ---- recurrent nets -------------------------------------------------------------------- */

static ingot_status infer_rnn_common(const ir_node *node, const ing_tensor *const *in, int n_in,
                                     ing_tensor *const *out, int n_out, int gates, int n_states)
{
    ING_TRY(need_inputs(node, in, n_in, 3));
    const ing_tensor *x = in[0], *w = in[1], *r = in[2];
    if (!(x->dtype == INGOT_DTYPE_F32 || x->dtype == INGOT_DTYPE_F16 || x->dtype == INGOT_DTYPE_F64 ||
          x->dtype == INGOT_DTYPE_BF16))
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "X is %s; f32, f64, f16 or bf16 are supported",
                            ingot_dtype_name(x->dtype));
    for (int i = 1; i < n_in && i < 8; i++) {
        if (!in[i] || i == 4) continue;
        if (in[i]->dtype != x->dtype)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "input %d is %s, X is %s; they must match", i,
                                ingot_dtype_name(in[i]->dtype), ingot_dtype_name(x->dtype));
    }
    const ing_tensor *sl = arg(in, n_in, 4);
    if (sl && sl->dtype != INGOT_DTYPE_I32)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "sequence_lens is %s, must be i32", ingot_dtype_name(sl->dtype));
    const char *dir = ir_attr_string(node, "direction", "forward");
    int64_t nd;
    if (strcmp(dir, "forward") == 0 || strcmp(dir, "reverse") == 0) nd = 1;
    else if (strcmp(dir, "bidirectional") == 0) nd = 2;
    else
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "direction '%s' is not forward, reverse or bidirectional", dir);
    /* activations: one list per direction (a single list is reused for both), known names. */
    static const char *const known[] = {"relu", "tanh", "sigmoid", "affine", "leakyrelu", "thresholdedrelu",
                                        "scaledtanh", "hardsigmoid", "elu", "softsign", "softplus"};
    int n_acts = gates == 1 ? 1 : gates == 3 ? 2 : 3;
    const ir_attr *acts = ir_attr_find(node, "activations");
    if (acts && acts->type == IR_ATTR_STRINGS) {
        if (acts->n != (size_t)(n_acts * nd) && acts->n != (size_t)n_acts)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "activations has %zu names; %s needs %d per direction (%lld directions)",
                                acts->n, node->op, n_acts, (long long)nd);
        for (size_t i = 0; i < acts->n; i++) {
            size_t k = 0;
            for (; k < sizeof known / sizeof known[0]; k++)
                if (strcasecmp(acts->strings[i], known[k]) == 0) break;
            if (k == sizeof known / sizeof known[0])
                return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED,
                                    "activation '%s' is not supported (Relu, Tanh, Sigmoid, Affine, LeakyRelu, "
                                    "ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus)",
                                    acts->strings[i]);
        }
    }
    const ir_attr *clip = ir_attr_find(node, "clip");
    if (clip && !(clip->f > 0.0f))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "clip is %g, must be > 0", (double)clip->f);
    int64_t layout = node->opset >= 14 ? ir_attr_int(node, "layout", 0) : 0;
    if (layout != 0 && layout != 1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "layout is %lld, must be 0 or 1", (long long)layout);
    ING_TRY(need_rank(node, x, "X", 3, 3));
    ING_TRY(need_rank(node, w, "W", 3, 3));
    ING_TRY(need_rank(node, r, "R", 3, 3));
    int64_t h = ir_attr_int(node, "hidden_size", -1);
    if (r->rank == 3 && r->dims[2] >= 0) {
        if (h >= 0 && h != r->dims[2])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "hidden_size is %lld but R's last dim is %lld",
                                (long long)h, (long long)r->dims[2]);
        h = r->dims[2];
    }
    if (h == 0 || h < -1)
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "hidden_size is %lld, must be > 0", (long long)h);
    if (w->rank == 3) {
        ING_TRY(same_dim(node, w->dims[0], nd, "W's num_directions and direction"));
        ING_TRY(same_dim(node, w->dims[1], mul_dim(gates, h), "W's gate rows and gates*hidden_size"));
        if (x->rank == 3) ING_TRY(same_dim(node, w->dims[2], x->dims[2], "W's input size and X"));
    }
    if (r->rank == 3) {
        ING_TRY(same_dim(node, r->dims[0], nd, "R's num_directions and direction"));
        ING_TRY(same_dim(node, r->dims[1], mul_dim(gates, h), "R's gate rows and gates*hidden_size"));
    }
    int64_t s = UNK, b = UNK;
    if (x->rank == 3) {
        s = x->dims[layout ? 1 : 0];
        b = x->dims[layout ? 0 : 1];
    }
    const ing_tensor *bias = arg(in, n_in, 3);
    if (bias) {
        ING_TRY(need_rank(node, bias, "B", 2, 2));
        if (bias->rank == 2) {
            ING_TRY(same_dim(node, bias->dims[0], nd, "B's num_directions"));
            ING_TRY(same_dim(node, bias->dims[1], mul_dim(2 * gates, h), "B's length and 2*gates*hidden_size"));
        }
    }
    if (sl) {
        ING_TRY(need_rank(node, sl, "sequence_lens", 1, 1));
        ING_TRY(same_dim(node, sl->dims[0], b, "sequence_lens length and batch"));
    }
    for (int i = 5; i < 5 + n_states; i++) {
        const ing_tensor *st = arg(in, n_in, i);
        if (!st) continue;
        ING_TRY(need_rank(node, st, i == 5 ? "initial_h" : "initial_c", 3, 3));
        if (st->rank == 3) {
            ING_TRY(same_dim(node, st->dims[layout ? 1 : 0], nd, "initial state num_directions"));
            ING_TRY(same_dim(node, st->dims[layout ? 0 : 1], b, "initial state batch"));
            ING_TRY(same_dim(node, st->dims[2], h, "initial state hidden size"));
        }
    }
    if (gates == 4) {
        const ing_tensor *p = arg(in, n_in, 7);
        if (p) {
            ING_TRY(need_rank(node, p, "P", 2, 2));
            if (p->rank == 2) {
                ING_TRY(same_dim(node, p->dims[0], nd, "P's num_directions"));
                ING_TRY(same_dim(node, p->dims[1], mul_dim(3, h), "P's length and 3*hidden_size"));
            }
        }
    }
    if (n_out >= 1 && out[0]) {
        out[0]->dtype = x->dtype;
        out[0]->rank = 4;
        if (layout) {
            out[0]->dims[0] = b;
            out[0]->dims[1] = s;
            out[0]->dims[2] = nd;
        } else {
            out[0]->dims[0] = s;
            out[0]->dims[1] = nd;
            out[0]->dims[2] = b;
        }
        out[0]->dims[3] = h;
        ING_TRY(check_numel(node, out[0]));
    }
    for (int j = 1; j <= n_states && j < n_out; j++) {
        if (!out[j]) continue;
        out[j]->dtype = x->dtype;
        out[j]->rank = 3;
        out[j]->dims[0] = layout ? b : nd;
        out[j]->dims[1] = layout ? nd : b;
        out[j]->dims[2] = h;
        ING_TRY(check_numel(node, out[j]));
    }
    return INGOT_OK;
}

static ingot_status infer_rnn(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    return infer_rnn_common(node, in, n_in, out, n_out, 1, 1);
}

static ingot_status infer_gru(const ir_node *node, const ing_tensor *const *in, int n_in,
                              ing_tensor *const *out, int n_out)
{
    return infer_rnn_common(node, in, n_in, out, n_out, 3, 1);
}

static ingot_status infer_lstm(const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    return infer_rnn_common(node, in, n_in, out, n_out, 4, 2);
}

const ir_op_def ir_ops_linalg[] = {
    {"MatMul", infer_matmul},
    {"Gemm", infer_gemm},
    {"MatMulInteger", infer_matmulinteger},
    {"QLinearMatMul", infer_qlinearmatmul},
    {"Einsum", infer_einsum},
    {"Attention", infer_attention},
    {"LinearAttention", infer_linear_attention},
    {"RotaryEmbedding", infer_rotary},
    {"SwiGLU", infer_swiglu},
    {"TensorScatter", infer_tensorscatter},
    {"RNN", infer_rnn},
    {"GRU", infer_gru},
    {"LSTM", infer_lstm},
    {NULL, NULL},
};
