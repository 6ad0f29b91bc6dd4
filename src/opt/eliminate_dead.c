/* eliminate_dead: a main-graph node none of whose outputs is read (transitively), and unused
 * optional outputs (Dropout mask, LayerNorm Mean/InvStdDev, MaxPool Indices, RNN states) → gone.
 * Preconditions: uses counted over every live body; subgraph nodes go only with their parent. */
#include "opt/passes.h"

#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "ir/edit.h"

/* Add (delta = +1) or take away (-1) the reads of node id, including the reads made inside its
 * subgraph bodies (nodes and body outputs), recursively. */
static void count_node(const ir_model *m, int32_t id, int32_t *uses, int delta);

static void count_body(const ir_model *m, int32_t b, int32_t *uses, int delta)
{
    const ir_body *body = &m->bodies[b];
    for (int32_t k = 0; k < body->n_nodes; k++) count_node(m, body->nodes[k], uses, delta);
    for (int32_t k = 0; k < body->n_out; k++) uses[body->out[k]] += delta;
}

static void count_node(const ir_model *m, int32_t id, int32_t *uses, int delta)
{
    const ir_node *n = &m->nodes[id];
    for (int32_t i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) uses[n->in[i]] += delta;
    for (int32_t a = 0; a < n->n_attr; a++)
        if (n->attrs[a].type == IR_ATTR_GRAPH) count_body(m, n->attrs[a].body, uses, delta);
}

/* Outputs a kernel may skip: position j of op is optional and the kernels check for NULL. */
static int optional_output(const ir_node *n, int32_t j)
{
    if (!strcmp(n->op, "Dropout")) return j == 1;
    if (!strcmp(n->op, "LayerNormalization")) return j == 1 || j == 2;
    if (!strcmp(n->op, "MaxPool")) return j == 1; /* Indices */
    if (!strcmp(n->op, "RNN") || !strcmp(n->op, "GRU") || !strcmp(n->op, "LSTM")) return 1; /* Y, Y_h, Y_c */
    return 0;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    (void)o;
    int32_t *uses = ing_calloc((size_t)(m->n_values ? m->n_values : 1), sizeof(int32_t));
    if (!uses) return ingot_fail(INGOT_ERR_NOMEM, "eliminate_dead: out of memory (%d values)", m->n_values);
    /* the live program: the main graph and, through their nodes, the subgraphs it runs (the
     * bodies of nodes removed earlier are still in the table until compaction) */
    count_body(m, 0, uses, +1);
    ir_body *body = &m->bodies[0];
    /* reverse order: a node's readers come after it, so one sweep removes whole dead chains */
    for (int32_t k = body->n_nodes - 1; k >= 0; k--) {
        int32_t id = body->nodes[k];
        ir_node *n = &m->nodes[id];
        int live = 0;
        for (int32_t j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0 && uses[n->out[j]] > 0) live = 1;
        if (live) {
            for (int32_t j = 0; j < n->n_out; j++)
                if (n->out[j] >= 0 && uses[n->out[j]] == 0 && optional_output(n, j)) {
                    m->values[n->out[j]].producer = -1;
                    n->out[j] = -1;
                }
            continue;
        }
        count_node(m, id, uses, -1);
        ir_body_remove_at(m, 0, k);
        st->removed++;
    }
    ing_free(uses);
    return INGOT_OK;
}

const opt_pass opt_pass_eliminate_dead = {
    "eliminate_dead", "remove nodes whose outputs nothing reads, and unused optional outputs", run};
