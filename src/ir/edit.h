/* Graph editing for optimization passes.
 *
 * Passes remove nodes from bodies and rewire uses; the node and value tables keep the dead
 * entries until ir_compact() drops them and renumbers, so ids stay valid during a pass. */
#ifndef INGOT_IR_EDIT_H
#define INGOT_IR_EDIT_H

#include "ir/ir.h"

/* Uses of every value: node inputs in every body, plus body outputs. counts: n_values entries,
 * caller-allocated. */
void ir_count_uses(const ir_model *m, int32_t *counts);

/* Is v an output of the main graph? */
int ir_is_graph_output(const ir_model *m, int32_t v);

/* Replace every use of `from` (node inputs, body outputs) with `to`. */
void ir_replace_uses(ir_model *m, int32_t from, int32_t to);

/* Remove the node at position pos of body b (the node stays in the table, unused). */
void ir_body_remove_at(ir_model *m, int32_t b, int32_t pos);

/* Insert node id at position pos of body b. */
ingot_status ir_body_insert_at(ir_model *m, int32_t b, int32_t pos, int32_t node);

/* The body holding node id and its position there; -1 when it is in none. */
int32_t ir_node_body(const ir_model *m, int32_t node, int32_t *pos);

/* The node consuming v when it has exactly one consumer (and is not a body output); else -1.
 * uses: from ir_count_uses. */
int32_t ir_single_consumer(const ir_model *m, const int32_t *uses, int32_t v, int32_t *input_index);

/* Deferred rewiring for passes that replace many values in one sweep: alias[v] is the value
 * replacing v (-1: none), chains allowed. Resolving per node as a sweep reaches it and applying
 * to the whole graph once at the end keeps a pass linear (a whole-graph replacement per
 * rewrite would make it quadratic). */
int32_t ir_alias_resolve(const int32_t *alias, int32_t v);
void ir_alias_apply(ir_model *m, const int32_t *alias);

/* Drop nodes that are in no body and values nothing refers to, renumbering ids everywhere.
 * Per-value arrays of a plan (arena offsets, steps) must be rebuilt afterwards. */
ingot_status ir_compact(ir_model *m);

/* A new constant named name: int64 [n] holding vals (copied). */
ingot_status ir_add_const_i64(ir_model *m, const char *name, const int64_t *vals, int64_t n, int32_t *id);

/* A new constant "<w's name>/<suffix>" holding constant w's bytes seen as [outer][rows][cols] with
 * the last two swapped ([outer][cols][rows]), shaped dims[rank]: a weight re-laid for a kernel
 * (OIHW → KRSC: outer O, rows I, cols kh·kw; [N,K] → [K,N]: outer 1). */
ingot_status ir_add_const_swapped(ir_model *m, int32_t w, int64_t outer, int64_t rows, int64_t cols, int32_t rank,
                                  const int64_t *dims, const char *suffix, int32_t *id);

/* Number of nodes run by body b, recursively counting subgraph bodies. */
int32_t ir_count_nodes(const ir_model *m, int32_t b);

#endif
