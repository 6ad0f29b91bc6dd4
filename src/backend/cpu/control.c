/* If, Loop, Scan on the CPU: run the bodies through the executor (cpu_run_body), carrying
 * state between iterations in the bodies' input slots. */
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/alloc.h"

static const ir_attr *graph_attr(const ir_node *n, const char *name)
{
    const ir_attr *a = ir_attr_find(n, name);
    return a && a->type == IR_ATTR_GRAPH ? a : NULL;
}

/* Copy t into output j of node n (allocating it). */
static ingot_status emit(cpu_exec *x, const ir_node *n, int j, const ing_tensor *t)
{
    if (j >= n->n_out || n->out[j] < 0) return INGOT_OK;
    ing_tensor *o = cpu_alloc_value(x, n->out[j], t->dtype, t->rank, t->dims);
    if (!o) return ingot_fail_prefix(INGOT_ERR_NOMEM, "node '%s' (%s): output %d", n->name, n->op, j);
    size_t nb = ing_nbytes(t);
    if (nb) memcpy(o->data, t->data, nb);
    return INGOT_OK;
}

static ingot_status k_if(cpu_exec *x, const ir_node *n, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out)
{
    if (n_in < 1 || !in[0] || ing_numel(in[0]) != 1)
        return IR_NODE_FAIL(n, INGOT_ERR_RUNTIME, "cond must be a tensor of one element");
    int cond = ing_load_f64(in[0]->dtype, in[0]->data, 0) != 0.0;
    const ir_attr *a = graph_attr(n, cond ? "then_branch" : "else_branch");
    if (!a) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "missing %s graph", cond ? "then_branch" : "else_branch");
    ING_TRY(cpu_run_body(x, a->body));
    const ir_body *b = &cpu_model(x)->bodies[a->body];
    if (b->n_out < n_out)
        return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "branch has %d outputs, the node %d", b->n_out, n_out);
    for (int j = 0; j < n_out; j++) ING_TRY(emit(x, n, j, cpu_get_value(x, b->out[j])));
    return INGOT_OK;
}

/* A growable stack of equally shaped slices for scan outputs. */
typedef struct stack {
    ing_tensor elem; /* shape of one slice */
    uint8_t *buf;
    size_t len, cap; /* bytes */
    int64_t count;
} stack;

static ingot_status stack_push(const ir_node *n, stack *s, const ing_tensor *t)
{
    size_t nb = ing_nbytes(t);
    if (s->count == 0) s->elem = *t;
    else if (!ing_same_shape(&s->elem, t) || s->elem.dtype != t->dtype)
        return IR_NODE_FAIL(n, INGOT_ERR_RUNTIME, "scan output changes shape or type between iterations");
    if (s->len + nb > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        while (nc < s->len + nb) nc *= 2;
        uint8_t *p = ing_realloc(s->buf, nc);
        if (!p) return IR_NODE_FAIL(n, INGOT_ERR_NOMEM, "out of memory for scan outputs (%zu bytes)", nc);
        s->buf = p;
        s->cap = nc;
    }
    if (nb) memcpy(s->buf + s->len, t->data, nb);
    s->len += nb;
    s->count++;
    return INGOT_OK;
}

/* Copy several values at once (they may alias each other's sources). */
static ingot_status carry(cpu_exec *x, const ir_node *n, const int32_t *dst, const int32_t *src, int count)
{
    ing_tensor tmp[64];
    ingot_status st = INGOT_OK;
    int made = 0;
    for (int k = 0; k < count && st == INGOT_OK; k++) {
        const ing_tensor *s = cpu_get_value(x, src[k]);
        tmp[k] = *s;
        size_t nb = ing_nbytes(s);
        tmp[k].data = ing_malloc(nb ? nb : 1);
        if (!tmp[k].data) st = IR_NODE_FAIL(n, INGOT_ERR_NOMEM, "out of memory carrying loop state");
        else if (nb) memcpy(tmp[k].data, s->data, nb);
        made = k + 1;
    }
    for (int k = 0; k < count && st == INGOT_OK; k++) st = cpu_set_value(x, dst[k], &tmp[k]);
    for (int k = 0; k < made; k++) ing_free(tmp[k].data);
    return st;
}

static ingot_status k_loop(cpu_exec *x, const ir_node *n, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    const ir_attr *a = graph_attr(n, "body");
    if (!a) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "missing body graph");
    const ir_body *b = &cpu_model(x)->bodies[a->body];
    int n_carried = n_in - 2;
    if (n_carried < 0 || n_carried > 62 || b->n_in != n_carried + 2 || b->n_out < n_carried + 1)
        return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "body has %d inputs / %d outputs for %d loop-carried values", b->n_in,
                            b->n_out, n_carried);
    int n_scan = b->n_out - 1 - n_carried;
    if (n_scan > 64) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "%d scan outputs, at most 64", n_scan);
    int64_t trip = INT64_MAX;
    if (in[0]) {
        if (ing_numel(in[0]) != 1) return IR_NODE_FAIL(n, INGOT_ERR_RUNTIME, "M must have one element");
        trip = ing_load_i64(in[0]->dtype, in[0]->data, 0);
    }
    int cond = 1;
    if (in[1]) {
        if (ing_numel(in[1]) != 1) return IR_NODE_FAIL(n, INGOT_ERR_RUNTIME, "cond must have one element");
        cond = ing_load_i64(in[1]->dtype, in[1]->data, 0) != 0;
    }
    for (int k = 0; k < n_carried; k++) {
        if (!in[2 + k]) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "omitted loop-carried input %d", k);
        ING_TRY(cpu_set_value(x, b->in[2 + k], in[2 + k]));
    }
    stack scans[64];
    memset(scans, 0, sizeof scans);
    ingot_status st = INGOT_OK;
    for (int64_t i = 0; i < trip && cond && st == INGOT_OK; i++) {
        ing_tensor it = {.dtype = INGOT_DTYPE_I64, .rank = 0, .data = &i};
        uint8_t c = 1;
        ing_tensor ct = {.dtype = INGOT_DTYPE_BOOL, .rank = 0, .data = &c};
        if ((st = cpu_set_value(x, b->in[0], &it)) != INGOT_OK) break;
        if ((st = cpu_set_value(x, b->in[1], &ct)) != INGOT_OK) break;
        if ((st = cpu_run_body(x, a->body)) != INGOT_OK) break;
        const ing_tensor *co = cpu_get_value(x, b->out[0]);
        cond = ing_numel(co) == 1 ? ing_load_i64(co->dtype, co->data, 0) != 0 : 0;
        for (int k = 0; k < n_scan && st == INGOT_OK; k++)
            st = stack_push(n, &scans[k], cpu_get_value(x, b->out[1 + n_carried + k]));
        if (st == INGOT_OK) st = carry(x, n, b->in + 2, b->out + 1, n_carried);
    }
    for (int k = 0; k < n_carried && st == INGOT_OK; k++) st = emit(x, n, k, cpu_get_value(x, b->in[2 + k]));
    for (int k = 0; k < n_scan && st == INGOT_OK; k++) {
        ing_tensor t = scans[k].elem;
        if (scans[k].count == 0) { /* no iteration: shape from the body's declared output */
            t = cpu_model(x)->values[b->out[1 + n_carried + k]].t;
            for (int d = 0; d < t.rank; d++)
                if (t.dims[d] < 0) t.dims[d] = 0;
        }
        if (t.rank >= IR_MAX_RANK) {
            st = IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "scan output rank %d + 1 exceeds %d", t.rank, IR_MAX_RANK);
            break;
        }
        memmove(t.dims + 1, t.dims, (size_t)t.rank * sizeof(int64_t));
        t.dims[0] = scans[k].count;
        t.rank++;
        t.data = scans[k].buf;
        st = emit(x, n, n_carried + k, &t);
    }
    for (int k = 0; k < n_scan; k++) ing_free(scans[k].buf);
    return st;
}

/* Slice index `i` of axis `axis` out of t into dst (dst->data preallocated). */
static void take_slice(const ing_tensor *t, int axis, int64_t i, ing_tensor *dst)
{
    size_t esz = ingot_dtype_size((ingot_dtype)t->dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++) outer *= t->dims[d];
    for (int d = axis + 1; d < t->rank; d++) inner *= t->dims[d];
    dst->dtype = t->dtype;
    dst->rank = t->rank - 1;
    for (int d = 0, k = 0; d < t->rank; d++)
        if (d != axis) dst->dims[k++] = t->dims[d];
    for (int64_t o = 0; o < outer; o++)
        memcpy((uint8_t *)dst->data + (size_t)(o * inner) * esz,
               (const uint8_t *)t->data + (size_t)((o * t->dims[axis] + i) * inner) * esz, (size_t)inner * esz);
}

/* Scan-9+: states, then scan inputs; bodies see one slice per iteration. */
static ingot_status scan_core(cpu_exec *x, const ir_node *n, const ir_attr *a, const ing_tensor *const *in,
                              int n_state, int n_scan_in, ing_tensor *results, stack *outs, int n_scan_out)
{
    const ir_body *b = &cpu_model(x)->bodies[a->body];
    size_t n_axes = 0, n_dirs = 0;
    const int64_t *axes = ir_attr_ints(n, "scan_input_axes", &n_axes);
    const int64_t *dirs = ir_attr_ints(n, "scan_input_directions", &n_dirs);
    int64_t len = -1;
    int ax[64];
    for (int k = 0; k < n_scan_in; k++) {
        const ing_tensor *t = in[n_state + k];
        if (!t) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "scan input %d is missing", k);
        int64_t axis = (size_t)k < n_axes ? axes[k] : 0;
        int32_t na;
        ING_TRY(ir_norm_axis(n, axis, t->rank, &na));
        ax[k] = na;
        if (len >= 0 && t->dims[na] != len)
            return IR_NODE_FAIL(n, INGOT_ERR_RUNTIME, "scan inputs have lengths %lld and %lld", (long long)len,
                                (long long)t->dims[na]);
        len = t->dims[na];
    }
    if (len < 0) len = 0;
    for (int k = 0; k < n_state; k++) ING_TRY(cpu_set_value(x, b->in[k], in[k]));
    ingot_status st = INGOT_OK;
    void *slice_buf[64] = {0};
    for (int k = 0; k < n_scan_in && st == INGOT_OK; k++) {
        size_t nb = ing_nbytes(in[n_state + k]);
        int64_t l = in[n_state + k]->dims[ax[k]];
        slice_buf[k] = ing_malloc(l ? nb / (size_t)l + 1 : 1);
        if (!slice_buf[k]) st = IR_NODE_FAIL(n, INGOT_ERR_NOMEM, "out of memory for scan slices");
    }
    for (int64_t i = 0; i < len && st == INGOT_OK; i++) {
        for (int k = 0; k < n_scan_in && st == INGOT_OK; k++) {
            int rev = (size_t)k < n_dirs && dirs[k] == 1;
            ing_tensor s = {.data = slice_buf[k]};
            take_slice(in[n_state + k], ax[k], rev ? len - 1 - i : i, &s);
            st = cpu_set_value(x, b->in[n_state + k], &s);
        }
        if (st == INGOT_OK) st = cpu_run_body(x, a->body);
        for (int k = 0; k < n_scan_out && st == INGOT_OK; k++)
            st = stack_push(n, &outs[k], cpu_get_value(x, b->out[n_state + k]));
        if (st == INGOT_OK) st = carry(x, n, b->in, b->out, n_state);
    }
    for (int k = 0; k < n_scan_in; k++) ing_free(slice_buf[k]);
    for (int k = 0; k < n_state && st == INGOT_OK; k++) results[k] = *cpu_get_value(x, b->in[k]);
    return st;
}

/* Write stacked slices as a tensor with the iteration axis at `axis`, reversed if asked. */
static ingot_status emit_stacked(cpu_exec *x, const ir_node *n, int j, stack *s, int64_t axis, int rev,
                                 int64_t batch_index, int64_t batch)
{
    ing_tensor e = s->elem;
    int r = e.rank + 1;
    int32_t na;
    ING_TRY(ir_norm_axis(n, axis, r, &na));
    if (r + (batch > 0) > IR_MAX_RANK) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "scan output rank too large");
    ing_tensor o = {.dtype = e.dtype, .rank = r};
    for (int d = 0, k = 0; d < r; d++) o.dims[d] = d == na ? s->count : e.dims[k++];
    size_t esz = ingot_dtype_size((ingot_dtype)e.dtype);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < na; d++) outer *= o.dims[d];
    for (int d = na + 1; d < r; d++) inner *= o.dims[d];
    ing_tensor *dst;
    size_t base = 0;
    if (batch > 0) { /* Scan-8: a leading batch axis */
        int64_t dims[IR_MAX_RANK];
        dims[0] = batch;
        for (int d = 0; d < r; d++) dims[d + 1] = o.dims[d];
        if (batch_index == 0) {
            if (!cpu_alloc_value(x, n->out[j], e.dtype, r + 1, dims))
                return ingot_fail_prefix(INGOT_ERR_NOMEM, "node '%s'", n->name);
        }
        dst = (ing_tensor *)cpu_get_value(x, n->out[j]);
        base = (size_t)batch_index * (size_t)ing_numel(&o) * esz;
    } else {
        dst = cpu_alloc_value(x, n->out[j], e.dtype, r, o.dims);
        if (!dst) return ingot_fail_prefix(INGOT_ERR_NOMEM, "node '%s'", n->name);
    }
    size_t slice = (size_t)ing_numel(&e) * esz;
    for (int64_t it = 0; it < s->count; it++) {
        int64_t pos = rev ? s->count - 1 - it : it;
        const uint8_t *src = s->buf + (size_t)it * slice;
        for (int64_t ou = 0; ou < outer; ou++)
            memcpy((uint8_t *)dst->data + base + (size_t)((ou * s->count + pos) * inner) * esz,
                   src + (size_t)(ou * inner) * esz, (size_t)inner * esz);
    }
    return INGOT_OK;
}

static ingot_status k_scan(cpu_exec *x, const ir_node *n, const ing_tensor *const *in, int n_in,
                           ing_tensor *const *out, int n_out)
{
    const ir_attr *a = graph_attr(n, "body");
    if (!a) return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "missing body graph");
    const ir_body *b = &cpu_model(x)->bodies[a->body];
    int m_in = (int)ir_attr_int(n, "num_scan_inputs", 0);
    int first = n->opset < 9 ? 1 : 0;
    int n_state = b->n_in - m_in, n_scan_out = b->n_out - n_state;
    if (m_in <= 0 || n_state < 0 || n_scan_out < 0 || n_in - first != n_state + m_in || n_state > 64 || n_scan_out > 64)
        return IR_NODE_FAIL(n, INGOT_ERR_MODEL, "num_scan_inputs %d does not fit %d inputs and a body of %d inputs",
                            m_in, n_in, b->n_in);
    size_t n_oax = 0, n_odir = 0;
    const int64_t *oax = ir_attr_ints(n, "scan_output_axes", &n_oax);
    const int64_t *odir = ir_attr_ints(n, "scan_output_directions", &n_odir);
    ing_tensor results[64];
    stack outs[64];
    ingot_status st = INGOT_OK;
    if (first == 0) {
        memset(outs, 0, sizeof outs);
        st = scan_core(x, n, a, in, n_state, m_in, results, outs, n_scan_out);
        for (int k = 0; k < n_state && st == INGOT_OK; k++) st = emit(x, n, k, &results[k]);
        for (int k = 0; k < n_scan_out && st == INGOT_OK; k++)
            st = emit_stacked(x, n, n_state + k, &outs[k], (size_t)k < n_oax ? oax[k] : 0,
                              (size_t)k < n_odir && odir[k] == 1, 0, 0);
        for (int k = 0; k < n_scan_out; k++) ing_free(outs[k].buf);
        return st;
    }
    /* Scan-8: every input has a leading batch axis; run each batch entry on its own. */
    if (in[0]) return IR_NODE_FAIL(n, INGOT_ERR_UNSUPPORTED, "Scan-8 sequence_lens is not supported");
    int64_t batch = in[1] ? in[1]->dims[0] : 0;
    const ing_tensor *sub[128];
    ing_tensor slices[128];
    void *bufs[128] = {0};
    for (int k = 0; k < n_state + m_in && st == INGOT_OK; k++) {
        bufs[k] = ing_malloc(ing_nbytes(in[1 + k]) + 1);
        if (!bufs[k]) st = IR_NODE_FAIL(n, INGOT_ERR_NOMEM, "out of memory");
    }
    for (int64_t bi = 0; bi < batch && st == INGOT_OK; bi++) {
        for (int k = 0; k < n_state + m_in; k++) {
            slices[k].data = bufs[k];
            take_slice(in[1 + k], 0, bi, &slices[k]);
            sub[k] = &slices[k];
        }
        /* the scan axis is 1 in the batched tensors, 0 in the slices */
        memset(outs, 0, sizeof outs);
        st = scan_core(x, n, a, sub, n_state, m_in, results, outs, n_scan_out);
        for (int k = 0; k < n_state && st == INGOT_OK; k++) {
            ing_tensor r = results[k];
            int64_t dims[IR_MAX_RANK];
            dims[0] = batch;
            for (int d = 0; d < r.rank; d++) dims[d + 1] = r.dims[d];
            if (bi == 0 && !cpu_alloc_value(x, n->out[k], r.dtype, r.rank + 1, dims))
                st = ingot_fail_prefix(INGOT_ERR_NOMEM, "node '%s'", n->name);
            if (st == INGOT_OK) {
                size_t nb = ing_nbytes(&r);
                memcpy((uint8_t *)cpu_get_value(x, n->out[k])->data + (size_t)bi * nb, r.data, nb);
            }
        }
        for (int k = 0; k < n_scan_out && st == INGOT_OK; k++)
            st = emit_stacked(x, n, n_state + k, &outs[k], 0, (size_t)k < n_odir && odir[k] == 1, bi, batch);
        for (int k = 0; k < n_scan_out; k++) ing_free(outs[k].buf);
    }
    for (int k = 0; k < n_state + m_in; k++) ing_free(bufs[k]);
    return st;
}

const cpu_kernel_def cpu_kernels_control[] = {
    {"If", k_if},
    {"Loop", k_loop},
    {"Scan", k_scan},
    {NULL, NULL},
};
