/* Build-time I/O formats: the engine's inputs and outputs in other dtypes/layouts than the
 * model's, converted on the backend so that fewer bytes cross the bus.
 *
 * Input x (f32, maybe NCHW) → x (u8/f16/bf16/f32, maybe NHWC) → InputConvert → what x fed.
 *   An InputConvert that would only replace a Cast from x to f16/bf16 (assign_precision's)
 *   writes that Cast's output itself: one kernel. One that would convert nothing is dropped.
 * Output y (f32) → y (f16/bf16): a producing Cast from that type is dropped (its input becomes
 *   the output); otherwise a Cast is added. Preconditions: the named values are float32 graph
 *   inputs / node-produced graph outputs of the main graph. */
#include "plan/io_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "ir/edit.h"
#include "ir/op.h"

static int32_t find_io(const ir_model *m, const char *name, int outputs)
{
    const ir_body *b = &m->bodies[0];
    int32_t n = outputs ? b->n_out : b->n_in;
    const int32_t *ids = outputs ? b->out : b->in;
    for (int32_t i = 0; i < n; i++)
        if (!strcmp(m->values[ids[i]].name, name)) return ids[i];
    return -1;
}

/* "a, b, c" (truncated to cap) for messages. */
static const char *io_names(const ir_model *m, int outputs, char *buf, size_t cap)
{
    const ir_body *b = &m->bodies[0];
    int32_t n = outputs ? b->n_out : b->n_in;
    const int32_t *ids = outputs ? b->out : b->in;
    size_t k = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", m->values[ids[i]].name);
    return buf;
}

static ingot_status check_input_format(const ir_model *m, const ingot_input_format *f, size_t idx, int32_t *value)
{
    char names[256];
    if (!f->name) return ingot_fail(INGOT_ERR_INVALID_ARG, "input format %zu has no name", idx);
    int32_t v = find_io(m, f->name, 0);
    if (v < 0)
        return ingot_fail(INGOT_ERR_NOT_FOUND, "--input-format names '%s', which is not an input of the model (inputs: %s)",
                          f->name, io_names(m, 0, names, sizeof names));
    const ing_tensor *t = &m->values[v].t;
    if (f->dtype != INGOT_DTYPE_U8 && f->dtype != INGOT_DTYPE_F16 && f->dtype != INGOT_DTYPE_BF16 &&
        f->dtype != INGOT_DTYPE_F32)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s': format dtype %s, allowed uint8, fp16, bf16 (or f32 for "
                          "normalization only)", f->name, ingot_dtype_name(f->dtype));
    if ((unsigned)f->layout >= INGOT_LAYOUT_COUNT)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s': layout %d, allowed 0 (as model) or 1 (nhwc)", f->name,
                          (int)f->layout);
    if (t->dtype != INGOT_DTYPE_F32)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "input '%s' is %s in the model; I/O formats apply to float32 inputs",
                          f->name, ingot_dtype_name((ingot_dtype)t->dtype));
    char sh[96];
    if ((f->dtype == INGOT_DTYPE_U8 || f->layout == INGOT_LAYOUT_NHWC) && t->rank != 4)
        return ingot_fail(INGOT_ERR_SHAPE, "input '%s' has shape %s; a uint8 or nhwc format needs a 4-D NCHW input",
                          f->name, ing_shape_str(t, sh, sizeof sh));
    if (f->n_channels) {
        if (!f->mean && !f->std)
            return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s': n_channels %zu given without mean or std", f->name,
                              f->n_channels);
        if (t->rank < 2)
            return ingot_fail(INGOT_ERR_SHAPE, "input '%s' has shape %s; per-channel mean/std need a channel axis (dim 1)",
                              f->name, ing_shape_str(t, sh, sizeof sh));
        if (f->n_channels > IR_CONVERT_MAX_CHANNELS || (t->dims[1] >= 0 && (int64_t)f->n_channels != t->dims[1]))
            return ingot_fail(INGOT_ERR_SHAPE, "input '%s' (shape %s): mean/std have %zu channels, the input has %lld "
                              "(at most %d supported)", f->name, ing_shape_str(t, sh, sizeof sh), f->n_channels,
                              (long long)t->dims[1], IR_CONVERT_MAX_CHANNELS);
        for (size_t c = 0; c < f->n_channels; c++) {
            float mu = f->mean ? f->mean[c] : 0.0f, sd = f->std ? f->std[c] : 1.0f;
            if (!isfinite(mu) || !isfinite(sd) || sd == 0.0f)
                return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s': channel %zu has mean %g, std %g; both must be "
                                  "finite and std non-zero", f->name, c, (double)mu, (double)sd);
        }
    } else if (f->mean || f->std) {
        return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s': mean/std given with n_channels 0", f->name);
    }
    if (!isfinite(f->scale))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s': scale %g, must be finite", f->name, (double)f->scale);
    *value = v;
    return INGOT_OK;
}

static ingot_status add_attr(ir_model *m, int32_t node, const char *name, int type, int64_t i, float f, float *floats,
                             size_t n)
{
    ir_attr a = {0};
    a.name = ing_strdup(name);
    a.type = type;
    a.i = i;
    a.f = f;
    a.floats = floats;
    a.n = n;
    if (!a.name) {
        ing_free(floats);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    }
    return ir_node_add_attr(m, node, &a);
}

/* Attributes of an InputConvert: to, nhwc, scale, and mean/std (both, when per-channel). */
static ingot_status add_convert_attrs(ir_model *m, int32_t node, const ingot_input_format *f, int32_t to)
{
    ING_TRY(add_attr(m, node, "to", IR_ATTR_INT, to, 0, NULL, 0));
    ING_TRY(add_attr(m, node, "nhwc", IR_ATTR_INT, f->layout == INGOT_LAYOUT_NHWC, 0, NULL, 0));
    ING_TRY(add_attr(m, node, "scale", IR_ATTR_FLOAT, 0, f->scale == 0.0f ? 1.0f : f->scale, NULL, 0));
    if (!f->n_channels) return INGOT_OK;
    for (int k = 0; k < 2; k++) {
        float *p = ing_malloc(f->n_channels * sizeof(float));
        if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding the normalization of input '%s'", f->name);
        const float *src = k == 0 ? f->mean : f->std;
        for (size_t c = 0; c < f->n_channels; c++) p[c] = src ? src[c] : (float)k; /* mean 0, std 1 */
        ING_TRY(add_attr(m, node, k == 0 ? "mean" : "std", IR_ATTR_FLOATS, 0, 0, p, f->n_channels));
    }
    return INGOT_OK;
}

/* The only reader of v when it is one Cast to f16/bf16 in the main graph (assign_precision's),
 * else -1. *pos: the Cast's position. */
static int32_t boundary_cast(const ir_model *m, int32_t v, int32_t *pos)
{
    int32_t found = -1, n_readers = 0;
    for (int32_t b = 0; b < m->n_bodies; b++)
        for (int32_t p = 0; p < m->bodies[b].n_nodes; p++) {
            const ir_node *n = &m->nodes[m->bodies[b].nodes[p]];
            int reads = 0;
            for (int32_t i = 0; i < n->n_in; i++) reads |= n->in[i] == v;
            if (!reads) continue;
            n_readers++;
            if (b == 0 && !strcmp(n->op, "Cast") && n->n_out == 1 && n->out[0] >= 0) {
                found = m->bodies[b].nodes[p];
                *pos = p;
            }
        }
    if (n_readers != 1 || found < 0 || ir_is_graph_output(m, v)) return -1;
    int32_t to = m->values[m->nodes[found].out[0]].t.dtype;
    return to == INGOT_DTYPE_F16 || to == INGOT_DTYPE_BF16 ? found : -1;
}

static ingot_status apply_input(ir_model *m, const ingot_input_format *f, int32_t v)
{
    char name[512];
    snprintf(name, sizeof name, "%s/convert", f->name);
    int32_t pos = 0, cast = boundary_cast(m, v, &pos), target, node;
    int plain = f->layout == INGOT_LAYOUT_AS_MODEL && !f->n_channels && (f->scale == 0.0f || f->scale == 1.0f);
    if (cast >= 0) {
        target = m->nodes[cast].out[0];
        if (plain && m->values[target].t.dtype == (int32_t)f->dtype && !ir_is_graph_output(m, target)) {
            /* the engine's input already has the compute type: nothing to convert */
            ir_body_remove_at(m, 0, pos);
            ir_replace_uses(m, target, v);
            m->values[v].t.dtype = f->dtype;
            return INGOT_OK;
        }
        ir_body_remove_at(m, 0, pos);
    } else {
        if (plain && f->dtype == INGOT_DTYPE_F32) return INGOT_OK;
        pos = 0;
        ING_TRY(ir_add_value(m, name, IR_VALUE_ACTIVATION, &target));
        m->values[target].t = m->values[v].t;
        /* every reader of the input, in any body, now reads the converted value */
        for (int32_t id = 0; id < m->n_nodes; id++)
            for (int32_t i = 0; i < m->nodes[id].n_in; i++)
                if (m->nodes[id].in[i] == v) m->nodes[id].in[i] = target;
    }
    ING_TRY(ir_add_node(m, name, "InputConvert", "ingot", 1, &v, 1, &target, 1, &node));
    m->values[target].producer = node;
    ING_TRY(ir_body_insert_at(m, 0, pos, node));
    ING_TRY(add_convert_attrs(m, node, f, m->values[target].t.dtype));
    ir_value *iv = &m->values[v];
    iv->t.dtype = f->dtype;
    if (f->layout == INGOT_LAYOUT_NHWC) { /* [N,C,H,W] → [N,H,W,C] */
        int64_t c = iv->t.dims[1];
        char *cp = iv->dim_params[1];
        for (int d = 1; d < 3; d++) {
            iv->t.dims[d] = iv->t.dims[d + 1];
            iv->dim_params[d] = iv->dim_params[d + 1];
        }
        iv->t.dims[3] = c;
        iv->dim_params[3] = cp;
    }
    return INGOT_OK;
}

static ingot_status apply_output(ir_model *m, const ingot_output_format *f, size_t idx)
{
    char names[256];
    if (!f->name) return ingot_fail(INGOT_ERR_INVALID_ARG, "output format %zu has no name", idx);
    int32_t v = find_io(m, f->name, 1);
    if (v < 0)
        return ingot_fail(INGOT_ERR_NOT_FOUND, "--output-format names '%s', which is not an output of the model "
                          "(outputs: %s)", f->name, io_names(m, 1, names, sizeof names));
    if (f->dtype != INGOT_DTYPE_F16 && f->dtype != INGOT_DTYPE_BF16)
        return ingot_fail(INGOT_ERR_INVALID_ARG, "output '%s': format dtype %s, allowed fp16, bf16", f->name,
                          ingot_dtype_name(f->dtype));
    ir_value *ov = &m->values[v];
    int32_t prod = ov->producer, ppos;
    if (ov->t.dtype != INGOT_DTYPE_F32)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "output '%s' is %s in the model; I/O formats apply to float32 outputs",
                          f->name, ingot_dtype_name((ingot_dtype)ov->t.dtype));
    if (ov->kind != IR_VALUE_ACTIVATION || prod < 0 || ir_node_body(m, prod, &ppos) != 0)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "output '%s' is not computed by a node of the main graph (an input or "
                          "a constant); it cannot take an output format", f->name);
    ir_node *pn = &m->nodes[prod];
    int32_t src = pn->n_in > 0 ? pn->in[0] : -1;
    if (!strcmp(pn->op, "Cast") && src >= 0 && m->values[src].t.dtype == (int32_t)f->dtype &&
        m->values[src].kind == IR_VALUE_ACTIVATION && m->values[src].producer >= 0 && !ir_is_graph_output(m, src)) {
        /* Cast(f16 → f32) then back: its input, written straight into the output, is exact */
        int32_t q = m->values[src].producer;
        ir_body_remove_at(m, 0, ppos);
        ir_replace_uses(m, src, v);
        for (int32_t j = 0; j < m->nodes[q].n_out; j++)
            if (m->nodes[q].out[j] == src) m->nodes[q].out[j] = v;
        m->values[v].producer = q;
        m->values[v].t.dtype = f->dtype;
        return INGOT_OK;
    }
    int32_t sdt = src >= 0 ? m->values[src].t.dtype : 0;
    if (!strcmp(pn->op, "Cast") && (sdt == INGOT_DTYPE_F16 || sdt == INGOT_DTYPE_BF16)) {
        /* from the other reduced type: f16/bf16 → f32 is exact, so one Cast straight to the
         * output's type rounds as the two would */
        for (int32_t a = 0; a < pn->n_attr; a++)
            if (!strcmp(pn->attrs[a].name, "to")) pn->attrs[a].i = f->dtype;
        m->values[v].t.dtype = f->dtype;
        return INGOT_OK;
    }
    char name[512];
    snprintf(name, sizeof name, "%s/f32", f->name);
    int32_t tmp, node;
    ING_TRY(ir_add_value(m, name, IR_VALUE_ACTIVATION, &tmp));
    m->values[tmp].t = m->values[v].t;
    m->values[tmp].producer = prod;
    for (int32_t j = 0; j < m->nodes[prod].n_out; j++)
        if (m->nodes[prod].out[j] == v) m->nodes[prod].out[j] = tmp;
    for (int32_t id = 0; id < m->n_nodes; id++) /* readers inside the graph keep f32 */
        for (int32_t i = 0; i < m->nodes[id].n_in; i++)
            if (m->nodes[id].in[i] == v) m->nodes[id].in[i] = tmp;
    snprintf(name, sizeof name, "%s/to_%s", f->name, ingot_dtype_name(f->dtype));
    ING_TRY(ir_add_node(m, name, "Cast", "", 13, &tmp, 1, &v, 1, &node));
    ING_TRY(add_attr(m, node, "to", IR_ATTR_INT, f->dtype, 0, NULL, 0));
    m->values[v].producer = node;
    m->values[v].t.dtype = f->dtype;
    return ir_body_insert_at(m, 0, ppos + 1, node);
}

ingot_status io_format_apply(ir_model *m, const ingot_build_opts *o)
{
    if ((o->n_input_formats && !o->input_formats) || (o->n_output_formats && !o->output_formats))
        return ingot_fail(INGOT_ERR_INVALID_ARG, "build options: %zu input and %zu output formats counted, array NULL",
                          o->n_input_formats, o->n_output_formats);
    for (size_t i = 0; i < o->n_input_formats; i++)
        for (size_t j = 0; j < i; j++)
            if (o->input_formats[i].name && o->input_formats[j].name &&
                !strcmp(o->input_formats[i].name, o->input_formats[j].name))
                return ingot_fail(INGOT_ERR_INVALID_ARG, "input '%s' has two formats (entries %zu and %zu); one allowed",
                                  o->input_formats[i].name, j, i);
    for (size_t i = 0; i < o->n_output_formats; i++)
        for (size_t j = 0; j < i; j++)
            if (o->output_formats[i].name && o->output_formats[j].name &&
                !strcmp(o->output_formats[i].name, o->output_formats[j].name))
                return ingot_fail(INGOT_ERR_INVALID_ARG, "output '%s' has two formats (entries %zu and %zu); one allowed",
                                  o->output_formats[i].name, j, i);
    /* check every input first so that a bad entry fails before the graph changes */
    for (size_t i = 0; i < o->n_input_formats; i++) {
        int32_t v;
        ING_TRY(check_input_format(m, &o->input_formats[i], i, &v));
    }
    for (size_t i = 0; i < o->n_input_formats; i++) {
        int32_t v;
        ING_TRY(check_input_format(m, &o->input_formats[i], i, &v));
        ING_TRY(apply_input(m, &o->input_formats[i], v));
    }
    for (size_t i = 0; i < o->n_output_formats; i++) ING_TRY(apply_output(m, &o->output_formats[i], i));
    return INGOT_OK;
}
