/* cse: two nodes of one body with the same op, domain, opset, inputs and attributes, or two small
 * constants with the same dtype, shape and bytes → the later one's readers read the first's.
 * Preconditions: deterministic op, no subgraph attribute; constants <= 4 KiB; output ids kept. */
#include "opt/passes.h"

#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "ir/edit.h"

/* Larger constants are rarely duplicated bit for bit, and comparing them costs more than it saves. */
#define CSE_CONST_MAX_BYTES 4096

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull; /* FNV-1a */
    return h;
}

static uint64_t hash_str(uint64_t h, const char *s) { return hash_bytes(h, s, strlen(s) + 1); }

/* Is v an output of any body? Such ids are bound by name (main graph) or by position. */
static int is_body_output(const ir_model *m, int32_t v)
{
    for (int32_t b = 0; b < m->n_bodies; b++)
        for (int32_t k = 0; k < m->bodies[b].n_out; k++)
            if (m->bodies[b].out[k] == v) return 1;
    return 0;
}

/* Ops whose repeated evaluation may differ (randomness), and Dropout, which is random in
 * training mode. */
static int nondeterministic(const char *op)
{
    static const char *const ops[] = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                                      "Bernoulli", "Multinomial", "Dropout"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(op, ops[i])) return 1;
    return 0;
}

static int same_attr(const ir_attr *a, const ir_attr *b)
{
    if (a->type != b->type || strcmp(a->name, b->name) != 0) return 0;
    switch (a->type) {
    case IR_ATTR_INT: return a->i == b->i;
    case IR_ATTR_FLOAT: return !memcmp(&a->f, &b->f, sizeof a->f); /* bitwise: NaN payloads, -0 */
    case IR_ATTR_STRING: return a->s_len == b->s_len && (!a->s_len || !memcmp(a->s, b->s, a->s_len));
    case IR_ATTR_INTS: return a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, a->n * sizeof(int64_t)));
    case IR_ATTR_FLOATS: return a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, a->n * sizeof(float)));
    case IR_ATTR_STRINGS:
        if (a->n != b->n) return 0;
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->strings[i], b->strings[i]) != 0) return 0;
        return 1;
    case IR_ATTR_TENSOR:
        if (a->t.dtype != b->t.dtype || a->t.rank != b->t.rank || a->t_bytes != b->t_bytes) return 0;
        for (int d = 0; d < a->t.rank; d++)
            if (a->t.dims[d] != b->t.dims[d]) return 0;
        return !a->t_bytes || (a->t.data && b->t.data && !memcmp(a->t.data, b->t.data, a->t_bytes));
    default: return 0; /* GRAPH and anything unknown: never equal */
    }
}

static int same_node(const ir_node *a, const ir_node *b)
{
    if (strcmp(a->op, b->op) || strcmp(a->domain, b->domain) || a->opset != b->opset) return 0;
    if (a->n_in != b->n_in || a->n_out != b->n_out || a->n_attr != b->n_attr) return 0;
    for (int32_t i = 0; i < a->n_in; i++)
        if (a->in[i] != b->in[i]) return 0;
    /* the same outputs present: an omitted optional output may change what a kernel computes */
    for (int32_t j = 0; j < a->n_out; j++)
        if ((a->out[j] < 0) != (b->out[j] < 0)) return 0;
    for (int32_t k = 0; k < a->n_attr; k++) {
        const ir_attr *x = &a->attrs[k], *y = NULL;
        for (int32_t q = 0; q < b->n_attr && !y; q++)
            if (!strcmp(b->attrs[q].name, x->name)) y = &b->attrs[q];
        if (!y || !same_attr(x, y)) return 0;
    }
    return 1;
}

static int mergeable(const ir_node *n)
{
    if (n->n_out < 1 || nondeterministic(n->op)) return 0;
    for (int32_t a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == IR_ATTR_GRAPH) return 0;
    return 1;
}

static uint64_t node_key(const ir_node *n)
{
    uint64_t h = hash_str(0xcbf29ce484222325ull, n->op);
    h = hash_str(h, n->domain);
    h = mix(h, (uint64_t)n->opset);
    for (int32_t i = 0; i < n->n_in; i++) h = mix(h, (uint64_t)(int64_t)n->in[i]);
    return mix(h, (uint64_t)n->n_attr);
}


/* Make node `keep` stand for node `drop` (same values): drop's readers read keep's outputs. An
 * output id that something binds survives: keep then writes that id. 0 when both ids of some
 * output are bound (nothing done). */
static int merge_outputs(ir_model *m, int32_t *alias, ir_node *keep, const ir_node *drop)
{
    for (int32_t j = 0; j < drop->n_out; j++)
        if (drop->out[j] >= 0 && is_body_output(m, drop->out[j]) && is_body_output(m, keep->out[j])) return 0;
    for (int32_t j = 0; j < drop->n_out; j++) {
        int32_t a = keep->out[j], b = drop->out[j];
        if (b < 0) continue;
        if (is_body_output(m, b)) { /* keep writes b from now on */
            alias[a] = b;
            keep->out[j] = b;
            m->values[b].producer = (int32_t)(keep - m->nodes);
            m->values[a].producer = -1;
        } else {
            alias[b] = a;
        }
    }
    return 1;
}

/* The kept node lists itself first, then what it absorbs. (opt_merge_origin(m, d, d) would
 * read the list it is growing, so the node's own name is recorded here.) */
static ingot_status origin_self(ir_node *n)
{
    if (n->n_origin) return INGOT_OK;
    char **o = ing_malloc(sizeof(char *)), *name = ing_strdup(n->name);
    if (!o || !name) {
        ing_free(o);
        ing_free(name);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory recording node origins");
    }
    ing_free(n->origin);
    o[0] = name;
    n->origin = o;
    n->n_origin = 1;
    return INGOT_OK;
}

/* An open-addressing table of earlier candidates by hash key (ids < 0: empty slot). */
typedef struct table {
    uint64_t *keys;
    int32_t *ids;
    size_t mask;
} table;

static ingot_status table_init(table *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 1) cap *= 2;
    t->keys = ing_malloc(cap * sizeof(uint64_t));
    t->ids = ing_malloc(cap * sizeof(int32_t));
    t->mask = cap - 1;
    if (!t->keys || !t->ids) {
        ing_free(t->keys);
        ing_free(t->ids);
        t->keys = NULL;
        t->ids = NULL;
        return ingot_fail(INGOT_ERR_NOMEM, "cse: out of memory for a table of %zu entries", cap);
    }
    memset(t->ids, 0xff, cap * sizeof(int32_t));
    return INGOT_OK;
}

static void table_free(table *t)
{
    ing_free(t->keys);
    ing_free(t->ids);
}

static void table_put(table *t, uint64_t key, int32_t id)
{
    size_t i = (size_t)key & t->mask;
    while (t->ids[i] >= 0) i = (i + 1) & t->mask;
    t->keys[i] = key;
    t->ids[i] = id;
}

/* Merge node `id` into an earlier equal node of the table; *merged = 1 when it was. */
static ingot_status merge_node(ir_model *m, int32_t *alias, const table *t, uint64_t key, int32_t id, int *merged)
{
    *merged = 0;
    ir_node *n = &m->nodes[id];
    for (size_t i = (size_t)key & t->mask; t->ids[i] >= 0; i = (i + 1) & t->mask) {
        if (t->keys[i] != key) continue;
        ir_node *first = &m->nodes[t->ids[i]];
        if (!same_node(first, n) || !merge_outputs(m, alias, first, n)) continue;
        ING_TRY(origin_self(first));
        ING_TRY(opt_merge_origin(m, t->ids[i], id));
        *merged = 1;
        return INGOT_OK;
    }
    return INGOT_OK;
}

static ingot_status cse_nodes(ir_model *m, int32_t *alias, opt_stats *st)
{
    for (int32_t b = 0; b < m->n_bodies; b++) {
        /* earlier surviving nodes of this body: a match dominates the later node */
        table t;
        ING_TRY(table_init(&t, (size_t)m->bodies[b].n_nodes));
        for (int32_t k = 0; k < m->bodies[b].n_nodes; k++) {
            int32_t id = m->bodies[b].nodes[k];
            ir_node *n = &m->nodes[id];
            for (int32_t i = 0; i < n->n_in; i++) n->in[i] = ir_alias_resolve(alias, n->in[i]);
            if (!mergeable(n)) continue;
            uint64_t key = node_key(n);
            int merged;
            ingot_status s = merge_node(m, alias, &t, key, id, &merged);
            if (s != INGOT_OK) {
                table_free(&t);
                return s;
            }
            if (!merged) {
                table_put(&t, key, id);
                continue;
            }
            ir_body_remove_at(m, b, k);
            k--;
            st->fused++;
        }
        table_free(&t);
    }
    return INGOT_OK;
}

static int same_const(const ir_value *a, const ir_value *b)
{
    if (a->t.dtype != b->t.dtype || a->t.rank != b->t.rank || a->const_bytes != b->const_bytes) return 0;
    for (int d = 0; d < a->t.rank; d++)
        if (a->t.dims[d] != b->t.dims[d]) return 0;
    return !a->const_bytes || !memcmp(a->t.data, b->t.data, a->const_bytes);
}

/* Small constants read by nodes: a duplicate's readers read the first copy. Constants bound as
 * body outputs keep their ids. */
static ingot_status cse_consts(ir_model *m, int32_t *alias)
{
    int32_t *uses = ing_malloc((size_t)(m->n_values ? m->n_values : 1) * sizeof(int32_t));
    if (!uses) return ingot_fail(INGOT_ERR_NOMEM, "cse: out of memory (%d values)", m->n_values);
    table t;
    ingot_status s = table_init(&t, (size_t)m->n_values);
    if (s != INGOT_OK) {
        ing_free(uses);
        return s;
    }
    ir_count_uses(m, uses);
    for (int32_t v = 0; v < m->n_values; v++) {
        const ir_value *iv = &m->values[v];
        if (iv->kind != IR_VALUE_CONST || !uses[v] || iv->const_bytes > CSE_CONST_MAX_BYTES || iv->t.rank < 0 ||
            (!iv->t.data && iv->const_bytes) || is_body_output(m, v))
            continue;
        uint64_t key = mix(mix(hash_bytes(0xcbf29ce484222325ull, iv->t.data, iv->const_bytes), (uint64_t)iv->t.dtype),
                           (uint64_t)iv->t.rank);
        for (int d = 0; d < iv->t.rank; d++) key = mix(key, (uint64_t)iv->t.dims[d]);
        int done = 0;
        for (size_t i = (size_t)key & t.mask; t.ids[i] >= 0 && !done; i = (i + 1) & t.mask)
            if (t.keys[i] == key && same_const(&m->values[t.ids[i]], iv)) {
                alias[v] = t.ids[i];
                done = 1;
            }
        if (!done) table_put(&t, key, v);
    }
    ing_free(uses);
    table_free(&t);
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    int32_t *alias = ing_malloc((size_t)(m->n_values ? m->n_values : 1) * sizeof(int32_t));
    if (!alias) return ingot_fail(INGOT_ERR_NOMEM, "cse: out of memory (%d values)", m->n_values);
    memset(alias, 0xff, (size_t)m->n_values * sizeof(int32_t));
    /* constants first, so that nodes reading equal copies of a constant become equal too */
    ingot_status s = cse_consts(m, alias);
    if (s == INGOT_OK) s = cse_nodes(m, alias, st);
    ir_alias_apply(m, alias); /* also after a failure: the merges made so far need their rewiring */
    ing_free(alias);
    return s;
}

const opt_pass opt_pass_cse = {"cse", "merge nodes that compute the same values, and equal small constants", run};
