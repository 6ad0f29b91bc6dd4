/* The matcher kit (opt_rec_*) that the recognition passes (fuse_layernorm, fuse_gelu, fuse_silu,
 * fuse_attention) share: use counts, producers within one body, constant scalars, and the
 * rewrite that puts one new node in place of a matched group. Every pass using it works in
 * every body (subgraphs too): a match stays inside one body. */
#ifndef INGOT_OPT_RECOGNIZE_H
#define INGOT_OPT_RECOGNIZE_H

#include "ir/ir.h"
#include "opt/passes.h"

typedef struct opt_rec_ctx {
    ir_model *m;
    int32_t b;          /* the body being matched */
    int32_t *uses;      /* per value: uses by node inputs and body outputs (ir_count_uses) */
    int32_t *node_body; /* per node: the body that runs it, or -1 */
    int32_t cap_v, cap_n;
} opt_rec_ctx;

/* (Re)compute uses and node bodies after the graph changed; the tables may have grown. */
ingot_status opt_rec_refresh(opt_rec_ctx *c);

/* Free the tables and zero *c. */
void opt_rec_free(opt_rec_ctx *c);

/* The node in the current body that produces v, when its op is `op` (NULL: any) in the default
 * domain; else -1. */
int32_t opt_rec_producer(const opt_rec_ctx *c, int32_t v, const char *op);

/* 1 when every use of v is an input of `node` (so v is neither a graph/body output nor read by
 * anything outside the pattern). */
int opt_rec_only_use(const opt_rec_ctx *c, int32_t v, int32_t node);

/* For a two-input node with v as one operand, the other operand; -1 when v is not an operand. */
int32_t opt_rec_other(const ir_node *n, int32_t v);

/* The one node of the current body that reads v, when v has no other use and that node's op is
 * `op` (NULL: any) in the default domain; else -1. */
int32_t opt_rec_consumer(const opt_rec_ctx *c, int32_t v, const char *op);

/* A constant of one element and rank <= max_rank (so broadcasting it changes no shape); its
 * value as a double. */
int opt_rec_scalar(const opt_rec_ctx *c, int32_t v, int32_t max_rank, double *val);

/* Constants written by exporters are rounded to f32 or printed short; 1e-4 relative is the
 * agreed match. */
int opt_rec_near(double v, double want);

/* A one-element constant (rank <= max_rank) near `want`: within 1e-4, or equal to want rounded
 * to the constant's own f16/bf16 type (an exporter writing a half model stores it so). */
int opt_rec_const_near(const opt_rec_ctx *c, int32_t v, int32_t max_rank, double want);

/* 1 for f32, f16, bf16 and f64. */
int opt_rec_is_float(int dt);

/* A new node (not yet in any body) named after node `like`, writing value out. */
ingot_status opt_rec_new_node(opt_rec_ctx *c, int32_t like, const char *op, int32_t opset, const int32_t *in,
                              int32_t n_in, int32_t out, int32_t *id);

/* Add attribute `name` = v to node (name and v are copied). */
ingot_status opt_rec_attr_float(opt_rec_ctx *c, int32_t node, const char *name, float v);
ingot_status opt_rec_attr_int(opt_rec_ctx *c, int32_t node, const char *name, int64_t v);
ingot_status opt_rec_attr_string(opt_rec_ctx *c, int32_t node, const char *name, const char *v);
ingot_status opt_rec_attr_ints(opt_rec_ctx *c, int32_t node, const char *name, const int64_t *v, int32_t n);

/* A new activation value named "<name of value like>/<suffix>". */
ingot_status opt_rec_new_value(opt_rec_ctx *c, int32_t like, const char *suffix, int32_t *id);

/* Link a node made by opt_rec_new_node into the current body: it takes the position of node
 * slot_of (one of absorbed), every absorbed node leaves the body, and the new node records their
 * ONNX origins. Nothing here allocates except the origins, so the graph is consistent after it. */
ingot_status opt_rec_commit(opt_rec_ctx *c, int32_t node, int32_t slot_of, const int32_t *absorbed,
                            int32_t n_absorbed);

/* Every node of every body, in order, that `wants` picks is given to try_node; when it rewrote the
 * body (*done set), that body's scan starts again (rewritten nodes no longer match). A pass's whole
 * run, with the context made and freed here. */
ingot_status opt_rec_scan(ir_model *m, int (*wants)(const ir_node *n),
                          ingot_status (*try_node)(opt_rec_ctx *c, int32_t node, int *done, opt_stats *st),
                          opt_stats *st);

/* Node g computes each row of its 2-D output from the same row of its first input alone: MatMul by
 * a constant 2-D B, or Gemm with transA = 0, alpha = beta = 1, a constant 2-D B and a constant [N]
 * C (or none). Rows may then be permuted or regrouped around it. */
int opt_rec_rowwise_matmul(const opt_rec_ctx *c, int32_t g);

#endif
