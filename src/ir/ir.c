#include "ir/ir.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

int64_t ing_numel(const ing_tensor *t)
{
    if (t->rank < 0) return -1;
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0) return -1;
        n *= t->dims[i];
    }
    return n;
}

size_t ing_nbytes(const ing_tensor *t)
{
    int64_t n = ing_numel(t);
    if (n < 0) return 0;
    return (size_t)n * ingot_dtype_size((ingot_dtype)t->dtype);
}

int ing_shape_known(const ing_tensor *t) { return ing_numel(t) >= 0; }

int ing_same_shape(const ing_tensor *a, const ing_tensor *b)
{
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

const char *ing_shape_str(const ing_tensor *t, char *buf, size_t cap)
{
    size_t k = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    if (t->rank < 0) {
        snprintf(buf, cap, "[?rank]");
        return buf;
    }
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < t->rank && k < cap; i++) {
        if (t->dims[i] < 0)
            k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "");
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

ingot_status ir_model_create(ir_model **out)
{
    ir_model *m = ing_calloc(1, sizeof *m);
    if (!m) return ingot_fail(INGOT_ERR_NOMEM, "out of memory creating a model");
    m->opset = 0;
    *out = m;
    return INGOT_OK;
}

void ir_attr_free(ir_attr *a)
{
    ing_free(a->name);
    ing_free(a->s);
    ing_free(a->ints);
    ing_free(a->floats);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++) ing_free(a->strings[i]);
    ing_free(a->strings);
    ing_free(a->t.data);
    memset(a, 0, sizeof *a);
}

void ir_node_free(ir_node *n)
{
    ing_free(n->name);
    ing_free(n->op);
    ing_free(n->domain);
    ing_free(n->in);
    ing_free(n->out);
    for (int32_t a = 0; a < n->n_attr; a++) ir_attr_free(&n->attrs[a]);
    ing_free(n->attrs);
    for (int32_t o = 0; o < n->n_origin; o++) ing_free(n->origin[o]);
    ing_free(n->origin);
    memset(n, 0, sizeof *n);
}

void ir_value_free(ir_value *v)
{
    ing_free(v->name);
    if (v->owns_data) ing_free(v->t.data);
    for (int d = 0; d < IR_MAX_RANK; d++) ing_free(v->dim_params[d]);
    memset(v, 0, sizeof *v);
}

void ir_model_destroy(ir_model *m)
{
    if (!m) return;
    for (int32_t i = 0; i < m->n_values; i++) ir_value_free(&m->values[i]);
    for (int32_t i = 0; i < m->n_nodes; i++) ir_node_free(&m->nodes[i]);
    for (int32_t i = 0; i < m->n_bodies; i++) {
        ing_free(m->bodies[i].nodes);
        ing_free(m->bodies[i].in);
        ing_free(m->bodies[i].out);
    }
    ing_free(m->values);
    ing_free(m->nodes);
    ing_free(m->bodies);
    ing_free(m->producer);
    ing_free(m);
}

/* Grow *arr (elements of size elem) so that it holds at least need; zero the new part. */
static ingot_status grow(void **arr, int32_t *cap, int32_t need, size_t elem)
{
    if (need <= *cap) return INGOT_OK;
    int32_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    size_t bytes;
    if (!ing_mul_fits((size_t)nc, elem, &bytes))
        return ingot_fail(INGOT_ERR_NOMEM, "model too large (%d entries)", need);
    void *p = ing_realloc(*arr, bytes);
    if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory growing the model to %d entries", need);
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
    *arr = p;
    *cap = nc;
    return INGOT_OK;
}

ingot_status ir_add_value(ir_model *m, const char *name, int32_t kind, int32_t *id)
{
    ING_TRY(grow((void **)&m->values, &m->cap_values, m->n_values + 1, sizeof(ir_value)));
    ir_value *v = &m->values[m->n_values];
    memset(v, 0, sizeof *v);
    v->name = ing_strdup(name ? name : "");
    if (!v->name) return ingot_fail(INGOT_ERR_NOMEM, "out of memory naming value '%s'", name);
    v->kind = kind;
    v->producer = -1;
    v->t.rank = -1;
    *id = m->n_values++;
    return INGOT_OK;
}

static ingot_status dup_ids(int32_t **dst, const int32_t *src, int32_t n)
{
    *dst = ing_malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    if (!*dst) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
    if (n > 0) memcpy(*dst, src, (size_t)n * sizeof(int32_t));
    return INGOT_OK;
}

ingot_status ir_add_node(ir_model *m, const char *name, const char *op, const char *domain,
                         int32_t opset, const int32_t *in, int32_t n_in, const int32_t *out,
                         int32_t n_out, int32_t *id)
{
    ING_TRY(grow((void **)&m->nodes, &m->cap_nodes, m->n_nodes + 1, sizeof(ir_node)));
    ir_node *n = &m->nodes[m->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = ing_strdup(name ? name : "");
    n->op = ing_strdup(op ? op : "");
    n->domain = ing_strdup(domain ? domain : "");
    n->opset = opset;
    if (!n->name || !n->op || !n->domain || dup_ids(&n->in, in, n_in) != INGOT_OK ||
        dup_ids(&n->out, out, n_out) != INGOT_OK) {
        ing_free(n->name);
        ing_free(n->op);
        ing_free(n->domain);
        ing_free(n->in);
        ing_free(n->out);
        memset(n, 0, sizeof *n);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding node '%s'", name ? name : "");
    }
    n->n_in = n_in;
    n->n_out = n_out;
    *id = m->n_nodes++;
    return INGOT_OK;
}

ingot_status ir_node_add_attr(ir_model *m, int32_t node, ir_attr *a)
{
    ir_node *n = &m->nodes[node];
    ir_attr *p = ing_realloc(n->attrs, (size_t)(n->n_attr + 1) * sizeof(ir_attr));
    if (!p) {
        ir_attr_free(a);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding an attribute to node '%s'", n->name);
    }
    n->attrs = p;
    n->attrs[n->n_attr++] = *a;
    memset(a, 0, sizeof *a);
    return INGOT_OK;
}

ingot_status ir_add_body(ir_model *m, int32_t parent_node, int32_t *id)
{
    ING_TRY(grow((void **)&m->bodies, &m->cap_bodies, m->n_bodies + 1, sizeof(ir_body)));
    ir_body *b = &m->bodies[m->n_bodies];
    memset(b, 0, sizeof *b);
    b->parent_node = parent_node;
    *id = m->n_bodies++;
    return INGOT_OK;
}

ingot_status ir_body_push(int32_t **arr, int32_t *n, int32_t v)
{
    /* grow by powers of two: capacity is implied by n */
    int32_t cap = 1;
    while (cap < *n) cap *= 2;
    if (*n == 0 || *n == cap) {
        int32_t *p = ing_realloc(*arr, (size_t)(*n == 0 ? 1 : cap * 2) * sizeof(int32_t));
        if (!p) return ingot_fail(INGOT_ERR_NOMEM, "out of memory");
        *arr = p;
    }
    (*arr)[(*n)++] = v;
    return INGOT_OK;
}

ingot_status ir_value_set_const(ir_value *v, int32_t dtype, int32_t rank, const int64_t *dims,
                                const void *data, size_t nbytes)
{
    void *copy = ing_malloc(nbytes);
    if (!copy) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for constant '%s' (%zu bytes)", v->name, nbytes);
    if (nbytes) memcpy(copy, data, nbytes);
    if (v->owns_data) ing_free(v->t.data);
    v->kind = IR_VALUE_CONST;
    v->t.dtype = dtype;
    v->t.rank = rank;
    for (int i = 0; i < rank; i++) v->t.dims[i] = dims[i];
    v->t.data = copy;
    v->const_bytes = nbytes;
    v->owns_data = 1;
    return INGOT_OK;
}

const ir_attr *ir_attr_find(const ir_node *n, const char *name)
{
    for (int32_t i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t ir_attr_int(const ir_node *n, const char *name, int64_t dflt)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a) return dflt;
    if (a->type == IR_ATTR_INT) return a->i;
    if (a->type == IR_ATTR_FLOAT) return (int64_t)a->f;
    return dflt;
}

float ir_attr_float(const ir_node *n, const char *name, float dflt)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a) return dflt;
    if (a->type == IR_ATTR_FLOAT) return a->f;
    if (a->type == IR_ATTR_INT) return (float)a->i;
    return dflt;
}

const char *ir_attr_string(const ir_node *n, const char *name, const char *dflt)
{
    const ir_attr *a = ir_attr_find(n, name);
    return a && a->type == IR_ATTR_STRING ? a->s : dflt;
}

const int64_t *ir_attr_ints(const ir_node *n, const char *name, size_t *count)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a || a->type != IR_ATTR_INTS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->ints;
}

const float *ir_attr_floats(const ir_node *n, const char *name, size_t *count)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a || a->type != IR_ATTR_FLOATS) {
        *count = 0;
        return NULL;
    }
    *count = a->n;
    return a->floats;
}

int ir_attention_slices(const ir_node *n, const ing_tensor *const *in, int n_in, ing_tensor sl[3], int64_t *row)
{
    if (ir_attr_int(n, "qkv_packed", 0) == 0) return 0;
    if (n_in < 3 || !in[0] || !in[1] || !in[2]) return -1;
    for (int i = 0; i < 3; i++) {
        const ing_tensor *t = in[i];
        if (t->rank != 3 || t->dtype != in[0]->dtype || (t->dims[2] >= 0 && t->dims[2] % 3)) return -1;
        for (int d = 0; d < 3; d++)
            if (t->dims[d] != in[0]->dims[d]) return -1;
    }
    int64_t w = in[0]->dims[2], e = w < 0 ? -1 : w / 3;
    size_t es = ingot_dtype_size((ingot_dtype)in[0]->dtype);
    for (int i = 0; i < 3; i++) {
        sl[i] = *in[i];
        sl[i].dims[2] = e;
        if (sl[i].data && e >= 0) sl[i].data = (char *)sl[i].data + (size_t)(i * e) * es;
    }
    *row = w;
    return 1;
}
