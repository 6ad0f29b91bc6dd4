#include <string.h>

#include "core/dtype.h"
#include "ir/op.h"

ingot_status ir_broadcast_shape(const ir_node *node, const ing_tensor *a, const ing_tensor *b,
                                ing_tensor *out)
{
    if (a->rank < 0 || b->rank < 0) {
        out->rank = -1;
        return INGOT_OK;
    }
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int64_t d;
        if (da == db) d = da;
        else if (da == 1) d = db;
        else if (db == 1) d = da;
        else if (da < 0 || db < 0) d = da < 0 ? db : da; /* unknown meets known: assume it fits */
        else {
            char sa[96], sb[96];
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "shapes %s and %s do not broadcast (dim %d: %lld vs %lld)",
                                ing_shape_str(a, sa, sizeof sa), ing_shape_str(b, sb, sizeof sb), i,
                                (long long)da, (long long)db);
        }
        out->dims[i] = d;
    }
    out->rank = r;
    return INGOT_OK;
}

ingot_status ir_norm_axis(const ir_node *node, int64_t axis, int32_t rank, int32_t *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank > 0 ? rank : 1))
        return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "axis %lld is out of range for rank %d",
                            (long long)axis, rank);
    *out = (int32_t)a;
    return INGOT_OK;
}

void ir_copy_desc(ing_tensor *dst, const ing_tensor *src)
{
    dst->dtype = src->dtype;
    dst->rank = src->rank;
    memcpy(dst->dims, src->dims, sizeof dst->dims);
}

int64_t ir_get_i64(const ing_tensor *t, int64_t i) { return ing_load_i64(t->dtype, t->data, (size_t)i); }
