/* Greedy-by-size arena planning: place the largest tensors first at the lowest offset that
 * does not collide with an already placed tensor whose lifetime overlaps.
 *
 * Views: the output of a Reshape, Flatten, Squeeze or Unsqueeze has its input's bytes, so when
 * both are planned the output shares the input's slot (one item, alive from the input's first
 * step to the last use of either) and the kernels, seeing equal pointers, copy nothing. Values
 * are never written after the step that produces them, so sharing is safe. */
#include "plan/memplan.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

typedef struct item {
    int32_t value;
    int32_t first, last; /* step positions in the main body */
    uint64_t size, off;
} item;

static int is_view(const char *op)
{
    return !strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze");
}

static int by_size_desc(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->value - y->value;
}

/* Mark every value node n (and the nodes of its bodies) reads as used at position pos. */
static void mark_uses(const ir_model *m, const ir_node *n, int32_t pos, int32_t *last)
{
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && last[n->in[i]] < pos) last[n->in[i]] = pos;
    for (int32_t a = 0; a < n->n_attr; a++) {
        if (n->attrs[a].type != IR_ATTR_GRAPH) continue;
        const ir_body *b = &m->bodies[n->attrs[a].body];
        for (int32_t k = 0; k < b->n_nodes; k++) mark_uses(m, &m->nodes[b->nodes[k]], pos, last);
        for (int32_t k = 0; k < b->n_out; k++)
            if (last[b->out[k]] < pos) last[b->out[k]] = pos;
    }
}

ingot_status plan_memory(engine_plan *plan)
{
    const ir_model *m = plan->model;
    const ir_body *main = &m->bodies[0];
    int32_t nv = m->n_values;
    ingot_status st = INGOT_OK;
    int64_t *off = ing_malloc((size_t)(nv ? nv : 1) * sizeof(int64_t));
    int32_t *first = ing_malloc((size_t)(nv ? nv : 1) * sizeof(int32_t));
    int32_t *last = ing_malloc((size_t)(nv ? nv : 1) * sizeof(int32_t));
    int32_t *root = ing_malloc((size_t)(nv ? nv : 1) * sizeof(int32_t)); /* the value whose slot v uses */
    item *items = ing_malloc((size_t)(nv ? nv : 1) * sizeof(item));
    if (!off || !first || !last || !root || !items) {
        st = ingot_fail(INGOT_ERR_NOMEM, "out of memory planning the arena for %d values", nv);
        goto done;
    }
    for (int32_t v = 0; v < nv; v++) {
        off[v] = -1;
        first[v] = -1;
        last[v] = -1;
    }
    for (int32_t p = 0; p < main->n_nodes; p++) {
        const ir_node *n = &m->nodes[main->nodes[p]];
        for (int32_t j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0) first[n->out[j]] = p;
        mark_uses(m, n, p, last);
    }
    for (int32_t k = 0; k < main->n_out; k++) first[main->out[k]] = -1; /* outputs: not planned */
    for (int32_t v = 0; v < nv; v++) {
        const ir_value *iv = &m->values[v];
        root[v] = v;
        if (first[v] >= 0 && (iv->kind != IR_VALUE_ACTIVATION || !ing_shape_known(&iv->t) || !ing_nbytes(&iv->t)))
            first[v] = -1; /* not planned */
        if (last[v] < first[v]) last[v] = first[v];
    }
    for (int32_t p = 0; p < main->n_nodes; p++) { /* in step order: a view of a view joins the first's slot */
        const ir_node *n = &m->nodes[main->nodes[p]];
        if (!is_view(n->op) || n->n_in < 1 || n->n_out < 1) continue;
        int32_t in = n->in[0], out = n->out[0];
        if (in < 0 || out < 0 || first[in] < 0 || first[out] < 0 ||
            ing_nbytes(&m->values[in].t) != ing_nbytes(&m->values[out].t))
            continue;
        int32_t r = root[in];
        root[out] = r;
        if (last[out] > last[r]) last[r] = last[out];
    }

    int32_t n_items = 0;
    for (int32_t v = 0; v < nv; v++) {
        const ir_value *iv = &m->values[v];
        if (first[v] < 0 || root[v] != v) continue;
        size_t bytes = ing_nbytes(&iv->t);
        items[n_items].value = v;
        items[n_items].first = first[v];
        items[n_items].last = last[v];
        items[n_items].size = ((uint64_t)bytes + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
        n_items++;
    }
    qsort(items, (size_t)n_items, sizeof(item), by_size_desc);
    uint64_t total = 0;
    for (int32_t i = 0; i < n_items; i++) {
        uint64_t o = 0;
        int moved = 1;
        while (moved) { /* first fit: bump past every live collision until none is left */
            moved = 0;
            for (int32_t j = 0; j < i; j++) {
                if (items[j].last < items[i].first || items[i].last < items[j].first) continue;
                if (o + items[i].size <= items[j].off || items[j].off + items[j].size <= o) continue;
                o = items[j].off + items[j].size;
                moved = 1;
            }
        }
        items[i].off = o;
        if (o + items[i].size > total) total = o + items[i].size;
        off[items[i].value] = (int64_t)o;
    }
    for (int32_t v = 0; v < nv; v++)
        if (first[v] >= 0 && root[v] != v) off[v] = off[root[v]];
    ing_free(plan->arena_offset);
    plan->arena_offset = off;
    plan->arena_bytes = total;
    off = NULL;
done:
    ing_free(off);
    ing_free(first);
    ing_free(last);
    ing_free(root);
    ing_free(items);
    return st;
}
