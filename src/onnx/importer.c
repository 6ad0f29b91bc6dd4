/* ONNX ModelProto -> IR.
 *
 * Initializers and Constant nodes become IR constants with their bytes. Attributes that later
 * opsets turned into inputs are rewritten to the input form (see op.h, "canonical form"), so
 * kernels see one form whatever the model's opset. Subgraphs (If/Loop/Scan) become bodies that
 * share the model's value table; a name resolves in its own graph first, then outwards.
 */
#include "onnx/importer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "core/strmap.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_tensor.h"

#define ONNX_OPSET_MIN 1
#define ONNX_OPSET_MAX 28

typedef struct importer {
    ir_model *m;
    const char *base_dir;
    int32_t opset;
    int32_t n_generated; /* counter for generated value names */
} importer;

static ingot_status import_graph(importer *im, const Onnx__GraphProto *g, const strmap *outer,
                                 int32_t body, int is_main);

static int is_default_domain(const char *d) { return !d || !d[0] || !strcmp(d, "ai.onnx"); }

/* A new constant value from raw bytes; *id receives it. */
static ingot_status add_const(importer *im, const char *name, int32_t dtype, int32_t rank,
                              const int64_t *dims, const void *data, size_t nbytes, int32_t *id)
{
    char gen[96];
    if (!name) {
        snprintf(gen, sizeof gen, "ingot_const_%d", im->n_generated++);
        name = gen;
    }
    ING_TRY(ir_add_value(im->m, name, IR_VALUE_CONST, id));
    return ir_value_set_const(&im->m->values[*id], dtype, rank, dims, data, nbytes);
}

static ingot_status type_to_tensor(const Onnx__TypeProto *tp, const char *what, ir_value *v)
{
    if (!tp) return INGOT_OK; /* untyped: inferred later */
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: only tensor types are supported (found a sequence, map or optional)", what);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt) return INGOT_OK;
    if (tt->has_elem_type) {
        if (!ing_dtype_valid(tt->elem_type))
            return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: element type %d is not supported (supported: f32, f16, bf16, f64, i8-i64, u8-u64, bool)", what, tt->elem_type);
        v->t.dtype = tt->elem_type;
    }
    if (!tt->shape) {
        v->t.rank = -1;
        return INGOT_OK;
    }
    if (tt->shape->n_dim > IR_MAX_RANK)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: rank %zu, at most %d supported", what, tt->shape->n_dim, IR_MAX_RANK);
    v->t.rank = (int32_t)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        v->t.dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
            v->t.dims[i] = d->dim_value;
        else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
            ing_free(v->dim_params[i]);
            v->dim_params[i] = ing_strdup(d->dim_param);
            if (!v->dim_params[i]) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        }
    }
    return INGOT_OK;
}

/* Convert one attribute. GRAPH attributes import their subgraph as a new body. */
static ingot_status convert_attr(importer *im, int32_t node_id, const Onnx__AttributeProto *ap,
                                 const strmap *scope)
{
    ir_node *n = &im->m->nodes[node_id];
    ir_attr a = {0};
    ingot_status st = INGOT_OK;
    char what[300];
    if (!ap->name || !ap->name[0])
        return ingot_fail(INGOT_ERR_MODEL, "node '%s' (%s): an attribute has no name", n->name, n->op);
    if (ap->ref_attr_name && ap->ref_attr_name[0])
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "node '%s' (%s): attribute '%s' refers to a function attribute", n->name, n->op, ap->name);
    snprintf(what, sizeof what, "node '%s' (%s): attribute '%s'", n->name, n->op, ap->name);
    a.name = ing_strdup(ap->name);
    if (!a.name) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
    int type = ap->has_type ? (int)ap->type : 0;
    if (type == 0) { /* very old models leave the type out: infer it from what is set */
        if (ap->g) type = IR_ATTR_GRAPH;
        else if (ap->t) type = IR_ATTR_TENSOR;
        else if (ap->n_ints) type = IR_ATTR_INTS;
        else if (ap->n_floats) type = IR_ATTR_FLOATS;
        else if (ap->n_strings) type = IR_ATTR_STRINGS;
        else if (ap->has_s) type = IR_ATTR_STRING;
        else if (ap->has_i) type = IR_ATTR_INT;
        else if (ap->has_f) type = IR_ATTR_FLOAT;
    }
    a.type = type;
    switch (type) {
    case IR_ATTR_FLOAT: a.f = ap->f; break;
    case IR_ATTR_INT: a.i = ap->i; break;
    case IR_ATTR_STRING:
        a.s = ing_malloc(ap->s.len + 1);
        if (!a.s) goto nomem;
        if (ap->s.len) memcpy(a.s, ap->s.data, ap->s.len);
        a.s[ap->s.len] = '\0';
        a.s_len = ap->s.len;
        break;
    case IR_ATTR_INTS:
        a.n = ap->n_ints;
        a.ints = ing_malloc((a.n ? a.n : 1) * sizeof(int64_t));
        if (!a.ints) goto nomem;
        if (a.n) memcpy(a.ints, ap->ints, a.n * sizeof(int64_t));
        break;
    case IR_ATTR_FLOATS:
        a.n = ap->n_floats;
        a.floats = ing_malloc((a.n ? a.n : 1) * sizeof(float));
        if (!a.floats) goto nomem;
        if (a.n) memcpy(a.floats, ap->floats, a.n * sizeof(float));
        break;
    case IR_ATTR_STRINGS:
        a.strings = ing_calloc(ap->n_strings ? ap->n_strings : 1, sizeof(char *));
        if (!a.strings) goto nomem;
        a.n = ap->n_strings;
        for (size_t i = 0; i < a.n; i++) {
            a.strings[i] = ing_malloc(ap->strings[i].len + 1);
            if (!a.strings[i]) goto nomem;
            if (ap->strings[i].len) memcpy(a.strings[i], ap->strings[i].data, ap->strings[i].len);
            a.strings[i][ap->strings[i].len] = '\0';
        }
        break;
    case IR_ATTR_TENSOR:
        if (!ap->t) {
            st = ingot_fail(INGOT_ERR_MODEL, "%s: TENSOR attribute without a tensor", what);
            goto fail;
        }
        st = onnx_tensor_decode(ap->t, im->base_dir, what, &a.t, &a.t_bytes);
        if (st != INGOT_OK) goto fail;
        break;
    case IR_ATTR_GRAPH: {
        if (!ap->g) {
            st = ingot_fail(INGOT_ERR_MODEL, "%s: GRAPH attribute without a graph", what);
            goto fail;
        }
        int32_t body;
        st = ir_add_body(im->m, node_id, &body);
        if (st != INGOT_OK) goto fail;
        a.body = body;
        st = import_graph(im, ap->g, scope, body, 0);
        if (st != INGOT_OK) goto fail;
        break;
    }
    default:
        st = ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: attribute type %d is not supported", what, type);
        goto fail;
    }
    return ir_node_add_attr(im->m, node_id, &a);
nomem:
    st = ingot_fail(INGOT_ERR_NOMEM, "out of memory converting %s", what);
fail:
    ir_attr_free(&a);
    return st;
}

/* Remove attribute `name` from node id (freeing it); returns 1 when it was there. */
static int take_attr(ir_model *m, int32_t node_id, const char *name, ir_attr *out)
{
    ir_node *n = &m->nodes[node_id];
    for (int32_t i = 0; i < n->n_attr; i++) {
        if (strcmp(n->attrs[i].name, name) != 0) continue;
        *out = n->attrs[i];
        memmove(&n->attrs[i], &n->attrs[i + 1], (size_t)(n->n_attr - i - 1) * sizeof(ir_attr));
        n->n_attr--;
        return 1;
    }
    return 0;
}

/* Set input slot `pos` of node id to value v, growing the input list with -1 as needed. */
static ingot_status set_input(ir_model *m, int32_t node_id, int32_t pos, int32_t v)
{
    ir_node *n = &m->nodes[node_id];
    if (pos >= n->n_in) {
        int32_t *p = ing_realloc(n->in, (size_t)(pos + 1) * sizeof(int32_t));
        if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        for (int32_t i = n->n_in; i <= pos; i++) p[i] = -1;
        n->in = p;
        n->n_in = pos + 1;
    }
    n->in[pos] = v;
    return INGOT_OK;
}

/* Move INTS attribute `name` to input `pos` as an i64 constant (when present). */
static ingot_status ints_attr_to_input(importer *im, int32_t node_id, const char *name, int32_t pos)
{
    ir_attr a;
    if (!take_attr(im->m, node_id, name, &a)) return INGOT_OK;
    ingot_status st;
    if (a.type != IR_ATTR_INTS && a.type != IR_ATTR_INT) {
        st = ingot_fail(INGOT_ERR_MODEL, "node '%s' (%s): attribute '%s' must be INTS (found type %d)",
                        im->m->nodes[node_id].name, im->m->nodes[node_id].op, name, a.type);
        ir_attr_free(&a);
        return st;
    }
    int64_t one = a.i;
    int64_t dims[1] = {a.type == IR_ATTR_INTS ? (int64_t)a.n : 1};
    int32_t id;
    st = add_const(im, NULL, INGOT_DTYPE_I64, 1, dims, a.type == IR_ATTR_INTS ? (void *)a.ints : (void *)&one,
                   (size_t)dims[0] * sizeof(int64_t), &id);
    ir_attr_free(&a);
    if (st != INGOT_OK) return st;
    return set_input(im->m, node_id, pos, id);
}

/* Move FLOAT attribute `name` to input `pos` as a scalar of dtype dt (f32 when unknown). */
static ingot_status float_attr_to_input(importer *im, int32_t node_id, const char *name, int32_t pos,
                                        int32_t dt, int have_default, double dflt)
{
    ir_attr a;
    double v;
    if (take_attr(im->m, node_id, name, &a)) {
        v = a.type == IR_ATTR_INT ? (double)a.i : a.f;
        ir_attr_free(&a);
    } else if (have_default) {
        v = dflt;
    } else {
        return INGOT_OK;
    }
    if (!ing_dtype_valid(dt)) dt = INGOT_DTYPE_F32;
    uint64_t buf = 0;
    ing_store_f64(dt, &buf, 0, v);
    int32_t id;
    ING_TRY(add_const(im, NULL, dt, 0, NULL, &buf, ingot_dtype_size(dt), &id));
    return set_input(im->m, node_id, pos, id);
}

/* Rewrite attribute forms that later opsets turned into inputs (op.h, "canonical form"). */
static ingot_status canonicalize(importer *im, int32_t node_id)
{
    ir_node *n = &im->m->nodes[node_id];
    const char *op = n->op;
    int v = n->opset;
    int32_t in0_dt = n->n_in > 0 && n->in[0] >= 0 ? im->m->values[n->in[0]].t.dtype : 0;

    if (!strcmp(op, "Slice") && v < 10) {
        /* Slice-1: starts, ends, axes attributes -> inputs 1, 2, 3 */
        ING_TRY(ints_attr_to_input(im, node_id, "starts", 1));
        ING_TRY(ints_attr_to_input(im, node_id, "ends", 2));
        return ints_attr_to_input(im, node_id, "axes", 3);
    }
    if (!strcmp(op, "Reshape") && v < 5) return ints_attr_to_input(im, node_id, "shape", 1);
    if (!strcmp(op, "Split") && v < 13) return ints_attr_to_input(im, node_id, "split", 1);
    if ((!strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze")) && v < 13)
        return ints_attr_to_input(im, node_id, "axes", 1);
    if (!strncmp(op, "Reduce", 6) && v < (!strcmp(op, "ReduceSum") ? 13 : 18))
        return ints_attr_to_input(im, node_id, "axes", 1);
    if (!strcmp(op, "Clip") && v < 11) {
        ING_TRY(float_attr_to_input(im, node_id, "min", 1, in0_dt, 0, 0));
        return float_attr_to_input(im, node_id, "max", 2, in0_dt, 0, 0);
    }
    if (!strcmp(op, "Pad") && v < 11) {
        ING_TRY(ints_attr_to_input(im, node_id, "pads", 1));
        return float_attr_to_input(im, node_id, "value", 2, in0_dt, 0, 0);
    }
    if (!strcmp(op, "TopK") && v < 10) {
        ir_attr a;
        if (take_attr(im->m, node_id, "k", &a)) {
            int64_t k = a.i, dims[1] = {1};
            ir_attr_free(&a);
            int32_t id;
            ING_TRY(add_const(im, NULL, INGOT_DTYPE_I64, 1, dims, &k, sizeof k, &id));
            return set_input(im->m, node_id, 1, id);
        }
        return INGOT_OK;
    }
    if (!strcmp(op, "Dropout") && v < 12) return float_attr_to_input(im, node_id, "ratio", 1, INGOT_DTYPE_F32, 0, 0);
    if (!strcmp(op, "Upsample") && v < 9) {
        ir_attr a;
        if (take_attr(im->m, node_id, "scales", &a)) {
            int64_t dims[1] = {(int64_t)a.n};
            int32_t id;
            ingot_status st = add_const(im, NULL, INGOT_DTYPE_F32, 1, dims, a.floats, a.n * sizeof(float), &id);
            ir_attr_free(&a);
            if (st != INGOT_OK) return st;
            return set_input(im->m, node_id, 1, id);
        }
        return INGOT_OK;
    }
    if (!strcmp(op, "Resize") && v < 11 && n->n_in >= 2) {
        /* Resize-10 (X, scales) -> (X, roi omitted, scales) */
        int32_t scales = n->in[1];
        ING_TRY(set_input(im->m, node_id, 2, scales));
        return set_input(im->m, node_id, 1, -1);
    }
    return INGOT_OK;
}

/* A Constant node becomes a constant value named after its output. */
static ingot_status import_constant(importer *im, const Onnx__NodeProto *np, strmap *scope, const char *what)
{
    if (np->n_output != 1 || !np->output[0][0])
        return ingot_fail(INGOT_ERR_MODEL, "%s: Constant must have exactly one output", what);
    const char *name = np->output[0];
    int32_t id;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (!a->name) continue;
        if (!strcmp(a->name, "value") && a->t) {
            ing_tensor t;
            size_t nb;
            ING_TRY(onnx_tensor_decode(a->t, im->base_dir, what, &t, &nb));
            ingot_status st = add_const(im, name, t.dtype, t.rank, t.dims, t.data, nb, &id);
            ing_free(t.data);
            ING_TRY(st);
        } else if (!strcmp(a->name, "value_float")) {
            ING_TRY(add_const(im, name, INGOT_DTYPE_F32, 0, NULL, &a->f, 4, &id));
        } else if (!strcmp(a->name, "value_int")) {
            ING_TRY(add_const(im, name, INGOT_DTYPE_I64, 0, NULL, &a->i, 8, &id));
        } else if (!strcmp(a->name, "value_floats")) {
            int64_t d[1] = {(int64_t)a->n_floats};
            ING_TRY(add_const(im, name, INGOT_DTYPE_F32, 1, d, a->floats, a->n_floats * 4, &id));
        } else if (!strcmp(a->name, "value_ints")) {
            int64_t d[1] = {(int64_t)a->n_ints};
            ING_TRY(add_const(im, name, INGOT_DTYPE_I64, 1, d, a->ints, a->n_ints * 8, &id));
        } else if (!strcmp(a->name, "sparse_value")) {
            return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: sparse constants are not supported", what);
        } else if (!strcmp(a->name, "value_string") || !strcmp(a->name, "value_strings")) {
            return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: string constants are not supported", what);
        } else {
            continue;
        }
        return strmap_put(scope, im->m->values[id].name, id);
    }
    return ingot_fail(INGOT_ERR_MODEL, "%s: Constant has no value attribute", what);
}

static ingot_status import_node(importer *im, const Onnx__NodeProto *np, size_t index, strmap *scope,
                                int32_t body)
{
    ir_model *m = im->m;
    const char *op = np->op_type ? np->op_type : "";
    char gen_name[128], what[400];
    const char *name = np->name;
    if (!name || !name[0]) {
        snprintf(gen_name, sizeof gen_name, "%s_%zu", op[0] ? op : "node", index);
        name = gen_name;
    }
    snprintf(what, sizeof what, "node '%s' (%s)", name, op);
    if (!op[0]) return ingot_fail(INGOT_ERR_MODEL, "%s: node has no op_type", what);
    if (!is_default_domain(np->domain))
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: domain '%s' is not supported (only ai.onnx)", what, np->domain);
    if (!strcmp(op, "Constant")) return import_constant(im, np, scope, what);
    if (!ir_op_lookup(op))
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: op type '%s' (opset %d) is not supported", what, op, im->opset);
    if (np->n_input > 4096 || np->n_output > 4096)
        return ingot_fail(INGOT_ERR_MODEL, "%s: %zu inputs and %zu outputs, at most 4096 each", what, np->n_input, np->n_output);

    int32_t in[4096], out[4096];
    for (size_t i = 0; i < np->n_input; i++) {
        const char *nm = np->input[i];
        if (!nm || !nm[0]) {
            in[i] = -1;
        } else if (!strmap_get(scope, nm, &in[i])) {
            return ingot_fail(INGOT_ERR_MODEL, "%s: input %zu '%s' is not produced by any earlier node, "
                              "initializer or graph input (nodes must be in topological order)", what, i, nm);
        }
    }
    for (size_t i = 0; i < np->n_output; i++) {
        const char *nm = np->output[i];
        if (!nm || !nm[0]) {
            out[i] = -1;
            continue;
        }
        ING_TRY(ir_add_value(m, nm, IR_VALUE_ACTIVATION, &out[i]));
    }
    int32_t id;
    ING_TRY(ir_add_node(m, name, op, "", im->opset, in, (int32_t)np->n_input, out, (int32_t)np->n_output, &id));
    for (size_t i = 0; i < np->n_output; i++)
        if (out[i] >= 0) m->values[out[i]].producer = id;
    ING_TRY(ir_body_push(&m->bodies[body].nodes, &m->bodies[body].n_nodes, id));
    for (size_t i = 0; i < np->n_attribute; i++) ING_TRY(convert_attr(im, id, np->attribute[i], scope));
    ING_TRY(canonicalize(im, id));
    /* register outputs after the node: a node may not read its own output */
    for (size_t i = 0; i < np->n_output; i++)
        if (out[i] >= 0) ING_TRY(strmap_put(scope, m->values[out[i]].name, out[i]));
    return INGOT_OK;
}

static ingot_status import_graph_inner(importer *im, const Onnx__GraphProto *g, strmap *scope,
                                       int32_t body, int is_main)
{
    ir_model *m = im->m;
    char what[300];
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *tp = g->initializer[i];
        if (!tp->name || !tp->name[0]) return ingot_fail(INGOT_ERR_MODEL, "initializer %zu has no name", i);
        snprintf(what, sizeof what, "initializer '%s'", tp->name);
        ing_tensor t;
        size_t nb;
        ING_TRY(onnx_tensor_decode(tp, im->base_dir, what, &t, &nb));
        int32_t id;
        ingot_status st = ir_add_value(m, tp->name, IR_VALUE_CONST, &id);
        if (st == INGOT_OK) {
            ir_value *v = &m->values[id];
            v->t = t;
            v->const_bytes = nb;
            v->owns_data = 1;
            st = strmap_put(scope, v->name, id);
        } else {
            ing_free(t.data);
        }
        ING_TRY(st);
    }
    if (g->n_sparse_initializer)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "graph '%s': sparse initializers are not supported", g->name ? g->name : "");
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi->name || !vi->name[0]) return ingot_fail(INGOT_ERR_MODEL, "graph input %zu has no name", i);
        int32_t id;
        if (is_main && strmap_get(scope, vi->name, &id) && m->values[id].kind == IR_VALUE_CONST)
            continue; /* an input with an initializer (IR < 4): it stays a constant */
        ING_TRY(ir_add_value(m, vi->name, is_main ? IR_VALUE_INPUT : IR_VALUE_BODY_INPUT, &id));
        snprintf(what, sizeof what, "graph input '%s'", vi->name);
        ING_TRY(type_to_tensor(vi->type, what, &m->values[id]));
        if (is_main && m->values[id].t.dtype == 0)
            return ingot_fail(INGOT_ERR_MODEL, "graph input '%s' has no element type", vi->name);
        ING_TRY(strmap_put(scope, m->values[id].name, id));
        ING_TRY(ir_body_push(&m->bodies[body].in, &m->bodies[body].n_in, id));
    }
    for (size_t i = 0; i < g->n_node; i++) ING_TRY(import_node(im, g->node[i], i, scope, body));
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = g->output[i];
        int32_t id;
        if (!vi->name || !strmap_get(scope, vi->name, &id))
            return ingot_fail(INGOT_ERR_MODEL, "graph output '%s' is not produced by any node, initializer or input",
                              vi->name ? vi->name : "");
        ir_value *v = &m->values[id];
        if (v->kind == IR_VALUE_ACTIVATION && v->t.dtype == 0) {
            snprintf(what, sizeof what, "graph output '%s'", vi->name);
            ING_TRY(type_to_tensor(vi->type, what, v));
        }
        ING_TRY(ir_body_push(&m->bodies[body].out, &m->bodies[body].n_out, id));
    }
    return INGOT_OK;
}

static ingot_status import_graph(importer *im, const Onnx__GraphProto *g, const strmap *outer,
                                 int32_t body, int is_main)
{
    strmap scope;
    strmap_init(&scope, outer);
    ingot_status st = import_graph_inner(im, g, &scope, body, is_main);
    strmap_free(&scope);
    return st;
}

ingot_status onnx_import_buffer(const void *data, size_t size, const char *base_dir, ir_model **out)
{
    if (!data && size) return ingot_fail(INGOT_ERR_INVALID_ARG, "model buffer is NULL");
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp)
        return ingot_fail(INGOT_ERR_CORRUPT, "not an ONNX model, or a truncated one: the %zu bytes do not parse as ModelProto", size);
    ingot_status st = INGOT_OK;
    ir_model *m = NULL;
    if (!mp->graph) {
        st = ingot_fail(INGOT_ERR_CORRUPT, "not an ONNX model: no graph (%zu bytes parsed)", size);
        goto done;
    }
    int32_t opset = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (is_default_domain(mp->opset_import[i]->domain) && mp->opset_import[i]->has_version)
            opset = (int32_t)mp->opset_import[i]->version;
    if (opset == 0 && mp->n_opset_import == 0) opset = 1; /* IR v1 models carry no opset_import */
    if (opset < ONNX_OPSET_MIN || opset > ONNX_OPSET_MAX) {
        st = ingot_fail(INGOT_ERR_UNSUPPORTED, "model opset %d for ai.onnx is not supported (supported: %d to %d)",
                        opset, ONNX_OPSET_MIN, ONNX_OPSET_MAX);
        goto done;
    }
    if (mp->n_functions) {
        st = ingot_fail(INGOT_ERR_UNSUPPORTED, "model-local functions are not supported (%zu found, first '%s')",
                        mp->n_functions, mp->functions[0]->name ? mp->functions[0]->name : "");
        goto done;
    }
    st = ir_model_create(&m);
    if (st != INGOT_OK) goto done;
    m->opset = opset;
    m->producer = ing_strdup(mp->producer_name ? mp->producer_name : "");
    int32_t body;
    if (!m->producer) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        goto done;
    }
    st = ir_add_body(m, -1, &body);
    if (st != INGOT_OK) goto done;
    importer im = {m, base_dir, opset, 0};
    st = import_graph(&im, mp->graph, NULL, body, 1);
    if (st == INGOT_OK && m->bodies[0].n_out == 0)
        st = ingot_fail(INGOT_ERR_MODEL, "the model's graph has no outputs");
done:
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st != INGOT_OK) {
        ir_model_destroy(m);
        return st;
    }
    *out = m;
    return INGOT_OK;
}

ingot_status onnx_import_file(const char *path, ir_model **out)
{
    void *data;
    size_t size;
    ING_TRY(onnx_read_file(path, &data, &size));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    ingot_status st = onnx_import_buffer(data, size, dir, out);
    ing_free(data);
    if (st != INGOT_OK) return ingot_fail_prefix(st, "importing '%s'", path);
    return INGOT_OK;
}
