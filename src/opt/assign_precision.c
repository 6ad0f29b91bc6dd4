/* assign_precision: with --fp16 / --bf16, float32 tensors → the reduced type; the engine's
 * inputs and outputs keep float32 through one Cast each at the boundary.
 * Pattern: f32 constants, Cast(to=FLOAT), float-valued dtype attributes → f16/bf16; graph
 * inputs/outputs wrapped in Casts. Preconditions: precision is FP16 or BF16; inputs whose type
 * ONNX fixes to float32 (Resize scales/roi …) get a Cast back to f32.
 * Kernels compute softmax, normalization statistics and reductions in f32 internally and store
 * the reduced type, so only storage (and bandwidth) changes. Constants are saturated to the
 * type's finite range: the large negative masks exporters write (-3.4e38) must stay finite, or
 * 0 × -inf turns into NaN. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "opt/passes.h"

/* (op, input) pairs whose type ONNX fixes to float32 whatever the data type. */
static const struct {
    const char *op;
    int input;
} fixed_f32[] = {
    {"Resize", 1}, {"Resize", 2}, {"Upsample", 1}, {"RoiAlign", 1}, {"NonMaxSuppression", 0},
    {"NonMaxSuppression", 1}, {"NonMaxSuppression", 3}, {"NonMaxSuppression", 4},
    {"QuantizeLinear", 1}, {"DequantizeLinear", 1}, {"DynamicQuantizeLinear", 0},
};

static int is_fixed_f32(const char *op, int input)
{
    for (size_t i = 0; i < sizeof fixed_f32 / sizeof fixed_f32[0]; i++)
        if (fixed_f32[i].input == input && !strcmp(fixed_f32[i].op, op)) return 1;
    return 0;
}

/* f32 bytes → reduced type, saturating finite values to the type's range. */
static ingot_status convert_const(ir_value *v, int to)
{
    int64_t n = ing_numel(&v->t);
    size_t bytes = (size_t)n * 2;
    uint16_t *d = ing_malloc(bytes ? bytes : 1);
    if (!d) return ingot_fail(INGOT_ERR_NOMEM, "out of memory converting constant '%s' to %s", v->name,
                              ingot_dtype_name((ingot_dtype)to));
    const float *s = v->t.data;
    for (int64_t i = 0; i < n; i++) {
        float f = s[i];
        if (to == INGOT_DTYPE_F16) {
            if (isfinite(f) && f > 65504.0f) f = 65504.0f;
            if (isfinite(f) && f < -65504.0f) f = -65504.0f;
            d[i] = ing_f32_to_f16(f);
        } else {
            d[i] = ing_f32_to_bf16(f);
        }
    }
    if (v->owns_data) ing_free(v->t.data);
    v->t.data = d;
    v->t.dtype = to;
    v->const_bytes = bytes;
    v->owns_data = 1;
    return INGOT_OK;
}

/* A new Cast node `in` → new value (dtype `to`, shape of `like`), inserted at position pos of body 0. */
static ingot_status add_cast(ir_model *m, int32_t in, int32_t to, int32_t pos, const char *suffix, int32_t *out_value)
{
    char name[512];
    snprintf(name, sizeof name, "%s/%s", m->values[in].name, suffix);
    int32_t v, node;
    ING_TRY(ir_add_value(m, name, IR_VALUE_ACTIVATION, &v));
    ir_value *nv = &m->values[v];
    nv->t = m->values[in].t;
    nv->t.data = NULL;
    nv->t.dtype = to;
    ING_TRY(ir_add_node(m, name, "Cast", "", 13, &in, 1, &v, 1, &node));
    ir_attr a = {0};
    a.name = ing_strdup("to");
    if (!a.name) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
    a.type = IR_ATTR_INT;
    a.i = to;
    ING_TRY(ir_node_add_attr(m, node, &a));
    m->values[v].producer = node;
    ING_TRY(ir_body_insert_at(m, 0, pos, node));
    *out_value = v;
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    if (o->precision != INGOT_PRECISION_FP16 && o->precision != INGOT_PRECISION_BF16) return INGOT_OK;
    int32_t to = o->precision == INGOT_PRECISION_FP16 ? INGOT_DTYPE_F16 : INGOT_DTYPE_BF16;

    /* 1. constants and dtype attributes */
    int32_t n_values = m->n_values;
    for (int32_t v = 0; v < n_values; v++) {
        ir_value *iv = &m->values[v];
        if (iv->kind != IR_VALUE_CONST || iv->t.dtype != INGOT_DTYPE_F32) continue;
        /* a constant read only at fixed-f32 positions stays f32 */
        int data_use = 0, fixed_use = 0;
        for (int32_t b = 0; b < m->n_bodies; b++)
            for (int32_t k = 0; k < m->bodies[b].n_nodes; k++) {
                const ir_node *n = &m->nodes[m->bodies[b].nodes[k]];
                for (int32_t i = 0; i < n->n_in; i++)
                    if (n->in[i] == v) {
                        if (is_fixed_f32(n->op, i)) fixed_use = 1;
                        else data_use = 1;
                    }
            }
        if (fixed_use && !data_use) continue;
        if (ir_is_graph_output(m, v)) continue;
        ING_TRY(convert_const(iv, to));
    }
    for (int32_t id = 0; id < m->n_nodes; id++) {
        ir_node *n = &m->nodes[id];
        for (int32_t a = 0; a < n->n_attr; a++) {
            ir_attr *at = &n->attrs[a];
            if (at->type == IR_ATTR_INT && at->i == INGOT_DTYPE_F32 &&
                (!strcmp(at->name, "to") || !strcmp(at->name, "dtype") || !strcmp(at->name, "output_dtype")))
                at->i = to;
            if (at->type == IR_ATTR_TENSOR && at->t.dtype == INGOT_DTYPE_F32 && !strcmp(n->op, "ConstantOfShape")) {
                ir_value tmp = {.name = at->name, .t = at->t, .owns_data = 1};
                ING_TRY(convert_const(&tmp, to));
                at->t = tmp.t;
                at->t_bytes = tmp.const_bytes;
            }
        }
    }

    /* 2. graph inputs: f32 at the API, `to` inside */
    ir_body *main = &m->bodies[0];
    int32_t n_in = main->n_in;
    for (int32_t k = 0; k < n_in; k++) {
        int32_t v = m->bodies[0].in[k];
        if (m->values[v].t.dtype != INGOT_DTYPE_F32) continue;
        int32_t cast;
        ING_TRY(add_cast(m, v, to, 0, "to_reduced", &cast));
        /* rewire every reader except the new Cast */
        int32_t cast_node = m->values[cast].producer;
        for (int32_t b = 0; b < m->n_bodies; b++)
            for (int32_t p = 0; p < m->bodies[b].n_nodes; p++) {
                ir_node *n = &m->nodes[m->bodies[b].nodes[p]];
                if (m->bodies[b].nodes[p] == cast_node) continue;
                for (int32_t i = 0; i < n->n_in; i++)
                    if (n->in[i] == v) n->in[i] = cast;
            }
        st->added++;
    }

    /* 3. fixed-f32 positions fed by reduced values get a Cast back */
    for (int32_t p = 0; p < m->bodies[0].n_nodes; p++) {
        int32_t id = m->bodies[0].nodes[p];
        for (int32_t i = 0; i < m->nodes[id].n_in; i++) {
            int32_t v = m->nodes[id].in[i];
            if (v < 0 || !is_fixed_f32(m->nodes[id].op, i) || m->values[v].kind == IR_VALUE_CONST) continue;
            if (m->values[v].t.dtype == INGOT_DTYPE_F32 && m->values[v].kind == IR_VALUE_INPUT) continue;
            int32_t back;
            ING_TRY(add_cast(m, v, INGOT_DTYPE_F32, p, "to_f32", &back));
            m->nodes[id].in[i] = back;
            p++;
            st->added++;
        }
    }

    /* 4. graph outputs: the producer writes a reduced temporary, a Cast writes the output */
    for (int32_t k = 0; k < m->bodies[0].n_out; k++) {
        int32_t v = m->bodies[0].out[k];
        ir_value *iv = &m->values[v];
        if (iv->kind != IR_VALUE_ACTIVATION || iv->t.dtype != INGOT_DTYPE_F32 || iv->producer < 0) continue;
        int32_t pos;
        if (ir_node_body(m, iv->producer, &pos) != 0) continue;
        char name[512];
        snprintf(name, sizeof name, "%s/reduced", iv->name);
        int32_t tmp;
        ING_TRY(ir_add_value(m, name, IR_VALUE_ACTIVATION, &tmp));
        iv = &m->values[v];
        m->values[tmp].t = iv->t;
        m->values[tmp].t.dtype = to;
        m->values[tmp].producer = iv->producer;
        ir_node *prod = &m->nodes[iv->producer];
        for (int32_t j = 0; j < prod->n_out; j++)
            if (prod->out[j] == v) prod->out[j] = tmp;
        /* other readers of the output inside the graph read the reduced value */
        for (int32_t p = 0; p < m->bodies[0].n_nodes; p++) {
            ir_node *n = &m->nodes[m->bodies[0].nodes[p]];
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] == v) n->in[i] = tmp;
        }
        int32_t node;
        ING_TRY(ir_add_node(m, name, "Cast", "", 13, &tmp, 1, &v, 1, &node));
        ir_attr a = {0};
        a.name = ing_strdup("to");
        if (!a.name) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        a.type = IR_ATTR_INT;
        a.i = INGOT_DTYPE_F32;
        ING_TRY(ir_node_add_attr(m, node, &a));
        m->values[v].producer = node;
        ING_TRY(ir_body_push(&m->bodies[0].nodes, &m->bodies[0].n_nodes, node));
        st->added++;
    }
    /* activations were typed f32 by the import: clear them so inference retypes them */
    for (int32_t v = 0; v < m->n_values; v++) {
        ir_value *iv = &m->values[v];
        if (iv->kind == IR_VALUE_ACTIVATION && iv->t.dtype == INGOT_DTYPE_F32 && !ir_is_graph_output(m, v) &&
            iv->producer >= 0 && strcmp(m->nodes[iv->producer].op, "Cast") != 0)
            iv->t.dtype = 0;
    }
    return INGOT_OK;
}

const opt_pass opt_pass_assign_precision = {
    "assign_precision", "with --fp16/--bf16: store float tensors in the reduced type, f32 at the engine's I/O", run};
