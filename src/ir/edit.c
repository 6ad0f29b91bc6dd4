#include "ir/edit.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"

void ir_count_uses(const ir_model *m, int32_t *counts)
{
    memset(counts, 0, (size_t)m->n_values * sizeof(int32_t));
    for (int32_t b = 0; b < m->n_bodies; b++) {
        const ir_body *body = &m->bodies[b];
        for (int32_t k = 0; k < body->n_nodes; k++) {
            const ir_node *n = &m->nodes[body->nodes[k]];
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0) counts[n->in[i]]++;
        }
        for (int32_t k = 0; k < body->n_out; k++) counts[body->out[k]]++;
    }
}

int ir_is_graph_output(const ir_model *m, int32_t v)
{
    const ir_body *b = &m->bodies[0];
    for (int32_t k = 0; k < b->n_out; k++)
        if (b->out[k] == v) return 1;
    return 0;
}

void ir_replace_uses(ir_model *m, int32_t from, int32_t to)
{
    for (int32_t b = 0; b < m->n_bodies; b++) {
        ir_body *body = &m->bodies[b];
        for (int32_t k = 0; k < body->n_nodes; k++) {
            ir_node *n = &m->nodes[body->nodes[k]];
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] == from) n->in[i] = to;
        }
        for (int32_t k = 0; k < body->n_out; k++)
            if (body->out[k] == from) body->out[k] = to;
    }
}

void ir_body_remove_at(ir_model *m, int32_t b, int32_t pos)
{
    ir_body *body = &m->bodies[b];
    memmove(&body->nodes[pos], &body->nodes[pos + 1], (size_t)(body->n_nodes - pos - 1) * sizeof(int32_t));
    body->n_nodes--;
}

ingot_status ir_body_insert_at(ir_model *m, int32_t b, int32_t pos, int32_t node)
{
    ir_body *body = &m->bodies[b];
    ING_TRY(ir_body_push(&body->nodes, &body->n_nodes, node));
    memmove(&body->nodes[pos + 1], &body->nodes[pos], (size_t)(body->n_nodes - 1 - pos) * sizeof(int32_t));
    body->nodes[pos] = node;
    return INGOT_OK;
}

int32_t ir_alias_resolve(const int32_t *alias, int32_t v)
{
    while (v >= 0 && alias[v] >= 0) v = alias[v];
    return v;
}

void ir_alias_apply(ir_model *m, const int32_t *alias)
{
    for (int32_t b = 0; b < m->n_bodies; b++) {
        ir_body *body = &m->bodies[b];
        for (int32_t k = 0; k < body->n_nodes; k++) {
            ir_node *n = &m->nodes[body->nodes[k]];
            for (int32_t i = 0; i < n->n_in; i++) n->in[i] = ir_alias_resolve(alias, n->in[i]);
        }
        for (int32_t k = 0; k < body->n_out; k++) body->out[k] = ir_alias_resolve(alias, body->out[k]);
    }
}

int32_t ir_node_body(const ir_model *m, int32_t node, int32_t *pos)
{
    for (int32_t b = 0; b < m->n_bodies; b++)
        for (int32_t k = 0; k < m->bodies[b].n_nodes; k++)
            if (m->bodies[b].nodes[k] == node) {
                if (pos) *pos = k;
                return b;
            }
    return -1;
}

int32_t ir_single_consumer(const ir_model *m, const int32_t *uses, int32_t v, int32_t *input_index)
{
    if (uses[v] != 1) return -1;
    for (int32_t b = 0; b < m->n_bodies; b++) {
        const ir_body *body = &m->bodies[b];
        for (int32_t k = 0; k < body->n_out; k++)
            if (body->out[k] == v) return -1;
        for (int32_t k = 0; k < body->n_nodes; k++) {
            const ir_node *n = &m->nodes[body->nodes[k]];
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] == v) {
                    if (input_index) *input_index = i;
                    return body->nodes[k];
                }
        }
    }
    return -1;
}

int32_t ir_count_nodes(const ir_model *m, int32_t b)
{
    int32_t total = 0;
    const ir_body *body = &m->bodies[b];
    for (int32_t k = 0; k < body->n_nodes; k++) {
        const ir_node *n = &m->nodes[body->nodes[k]];
        total++;
        for (int32_t a = 0; a < n->n_attr; a++)
            if (n->attrs[a].type == IR_ATTR_GRAPH) total += ir_count_nodes(m, n->attrs[a].body);
    }
    return total;
}

ingot_status ir_compact(ir_model *m)
{
    int32_t *node_map = ing_malloc((size_t)(m->n_nodes + 1) * sizeof(int32_t));
    int32_t *val_map = ing_malloc((size_t)(m->n_values + 1) * sizeof(int32_t));
    if (!node_map || !val_map) {
        ing_free(node_map);
        ing_free(val_map);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory compacting the graph");
    }
    /* live bodies: the main graph, and subgraphs whose node is in a live body (a subgraph is
     * created after its node's body, so one pass in order settles it) */
    int32_t *body_map = ing_malloc((size_t)(m->n_bodies + 1) * sizeof(int32_t));
    if (!body_map) {
        ing_free(node_map);
        ing_free(val_map);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory compacting the graph");
    }
    for (int32_t b = 0; b < m->n_bodies; b++) {
        int32_t pb = b == 0 ? 0 : ir_node_body(m, m->bodies[b].parent_node, NULL);
        body_map[b] = b == 0 || (pb >= 0 && pb < b && body_map[pb] >= 0) ? 0 : -1;
    }
    /* live nodes: those in a live body; live values: referenced by a live node or body */
    for (int32_t i = 0; i < m->n_nodes; i++) node_map[i] = -1;
    for (int32_t i = 0; i < m->n_values; i++) val_map[i] = -1;
    for (int32_t b = 0; b < m->n_bodies; b++) {
        if (body_map[b] < 0) continue;
        const ir_body *body = &m->bodies[b];
        for (int32_t k = 0; k < body->n_nodes; k++) {
            int32_t id = body->nodes[k];
            node_map[id] = 0;
            const ir_node *n = &m->nodes[id];
            for (int32_t i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0) val_map[n->in[i]] = 0;
            for (int32_t j = 0; j < n->n_out; j++)
                if (n->out[j] >= 0) val_map[n->out[j]] = 0;
        }
        for (int32_t k = 0; k < body->n_in; k++) val_map[body->in[k]] = 0;
        for (int32_t k = 0; k < body->n_out; k++) val_map[body->out[k]] = 0;
    }
    int32_t nn = 0, nv = 0;
    for (int32_t i = 0; i < m->n_nodes; i++) {
        if (node_map[i] < 0) {
            ir_node_free(&m->nodes[i]);
            continue;
        }
        node_map[i] = nn;
        if (nn != i) m->nodes[nn] = m->nodes[i];
        nn++;
    }
    for (int32_t i = 0; i < m->n_values; i++) {
        if (val_map[i] < 0) {
            ir_value_free(&m->values[i]);
            continue;
        }
        val_map[i] = nv;
        if (nv != i) m->values[nv] = m->values[i];
        nv++;
    }
    m->n_nodes = nn;
    m->n_values = nv;
    for (int32_t i = 0; i < nn; i++) {
        ir_node *n = &m->nodes[i];
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) n->in[k] = val_map[n->in[k]];
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0) n->out[k] = val_map[n->out[k]];
    }
    for (int32_t i = 0; i < nv; i++)
        if (m->values[i].producer >= 0) m->values[i].producer = node_map[m->values[i].producer];
    int32_t nb = 0;
    for (int32_t b = 0; b < m->n_bodies; b++) {
        if (body_map[b] < 0) {
            ing_free(m->bodies[b].nodes);
            ing_free(m->bodies[b].in);
            ing_free(m->bodies[b].out);
            continue;
        }
        body_map[b] = nb;
        if (nb != b) m->bodies[nb] = m->bodies[b];
        nb++;
    }
    m->n_bodies = nb;
    for (int32_t i = 0; i < nn; i++)
        for (int32_t a = 0; a < m->nodes[i].n_attr; a++)
            if (m->nodes[i].attrs[a].type == IR_ATTR_GRAPH)
                m->nodes[i].attrs[a].body = body_map[m->nodes[i].attrs[a].body];
    for (int32_t b = 0; b < m->n_bodies; b++) {
        ir_body *body = &m->bodies[b];
        for (int32_t k = 0; k < body->n_nodes; k++) body->nodes[k] = node_map[body->nodes[k]];
        for (int32_t k = 0; k < body->n_in; k++) body->in[k] = val_map[body->in[k]];
        for (int32_t k = 0; k < body->n_out; k++) body->out[k] = val_map[body->out[k]];
        if (body->parent_node >= 0) body->parent_node = node_map[body->parent_node];
    }
    ing_free(node_map);
    ing_free(val_map);
    ing_free(body_map);
    return INGOT_OK;
}

ingot_status ir_add_const_i64(ir_model *m, const char *name, const int64_t *vals, int64_t n, int32_t *id)
{
    ING_TRY(ir_add_value(m, name, IR_VALUE_CONST, id));
    return ir_value_set_const(&m->values[*id], INGOT_DTYPE_I64, 1, &n, vals, (size_t)n * sizeof(int64_t));
}

ingot_status ir_add_const_swapped(ir_model *m, int32_t w, int64_t outer, int64_t rows, int64_t cols, int32_t rank,
                                  const int64_t *dims, const char *suffix, int32_t *id)
{
    const ing_tensor *t = &m->values[w].t;
    size_t es = ingot_dtype_size((ingot_dtype)t->dtype), nb = ing_nbytes(t);
    uint8_t *buf = ing_malloc(nb ? nb : 1);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory re-laying weight '%s' (%zu bytes)", m->values[w].name, nb);
    const uint8_t *src = t->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t k = 0; k < cols; k++)
                memcpy(buf + (size_t)((o * cols + k) * rows + r) * es, src + (size_t)((o * rows + r) * cols + k) * es, es);
    char name[512];
    snprintf(name, sizeof name, "%s/%s", m->values[w].name, suffix);
    int32_t dt = t->dtype;
    ingot_status s = ir_add_value(m, name, IR_VALUE_CONST, id);
    if (s == INGOT_OK) s = ir_value_set_const(&m->values[*id], dt, rank, dims, buf, nb);
    ing_free(buf);
    return s;
}
