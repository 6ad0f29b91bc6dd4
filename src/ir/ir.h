/* The IR: one model-wide table of values and nodes, and bodies (the main graph and the
 * subgraphs of If/Loop/Scan) that list which nodes run, in order.
 *
 * Values are named tensors. A constant (initializer, Constant node, folded result) keeps its
 * bytes in the IR; weights are constants unless the model feeds them from an input.
 * Subgraph values live in the same table, so a body can refer to any value of an enclosing
 * body by id, and an executor can keep one slot per value.
 */
#ifndef INGOT_IR_IR_H
#define INGOT_IR_IR_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"

#define IR_MAX_RANK INGOT_MAX_RANK

/* A tensor as kernels and shape inference see it: dtype, shape and (maybe) data.
 * Contiguous, row-major. rank 0 is a scalar (one element). During build-time shape inference
 * data is NULL when the value is not known yet, and a dimension may be -1 (unknown); rank -1
 * means even the rank is unknown. At run time every input has data and every dim is known. */
typedef struct ing_tensor {
    int32_t dtype; /* ingot_dtype */
    int32_t rank;
    int64_t dims[IR_MAX_RANK];
    void *data;
} ing_tensor;

int64_t ing_numel(const ing_tensor *t); /* product of dims; -1 if any is unknown */
size_t ing_nbytes(const ing_tensor *t); /* numel × dtype size; 0 if unknown */
int ing_shape_known(const ing_tensor *t); /* rank >= 0 and every dim >= 0 */
int ing_same_shape(const ing_tensor *a, const ing_tensor *b);
/* "[2,3,?]" into buf (always terminated). Returns buf. */
const char *ing_shape_str(const ing_tensor *t, char *buf, size_t cap);

typedef enum ir_attr_type {
    IR_ATTR_FLOAT = 1,
    IR_ATTR_INT = 2,
    IR_ATTR_STRING = 3,
    IR_ATTR_TENSOR = 4,
    IR_ATTR_GRAPH = 5,
    IR_ATTR_FLOATS = 6,
    IR_ATTR_INTS = 7,
    IR_ATTR_STRINGS = 8,
} ir_attr_type; /* numbered as ONNX's AttributeProto.AttributeType */

typedef struct ir_attr {
    char *name;
    int32_t type; /* ir_attr_type */
    int64_t i;
    float f;
    char *s;          /* STRING (NUL-terminated; s_len bytes before the NUL) */
    size_t s_len;
    int64_t *ints;    /* INTS, n entries */
    float *floats;    /* FLOATS, n entries */
    char **strings;   /* STRINGS, n entries */
    size_t n;
    ing_tensor t;     /* TENSOR: t.data owned by the attribute */
    size_t t_bytes;
    int32_t body;     /* GRAPH: index into ir_model.bodies */
} ir_attr;

typedef struct ir_node {
    char *name;   /* never NULL; the importer names unnamed nodes "<op>_<index>" */
    char *op;     /* ONNX op type, e.g. "Conv" */
    char *domain; /* "" for ai.onnx */
    int32_t opset; /* opset version of the node's domain in the model */
    int32_t n_in, n_out;
    int32_t *in;  /* value ids; -1 for an omitted optional input */
    int32_t *out; /* value ids; -1 for an omitted optional output */
    int32_t n_attr;
    ir_attr *attrs;
    int32_t n_origin; /* names of the ONNX nodes this node covers after fusion; 0: itself */
    char **origin;
} ir_node;

typedef enum ir_value_kind {
    IR_VALUE_ACTIVATION = 0, /* produced by a node */
    IR_VALUE_INPUT = 1,      /* a graph input fed by the user */
    IR_VALUE_CONST = 2,      /* bytes known at build time */
    IR_VALUE_BODY_INPUT = 3, /* a subgraph's formal input, set by its If/Loop/Scan */
} ir_value_kind;

typedef struct ir_value {
    char *name;
    int32_t kind;  /* ir_value_kind */
    ing_tensor t;  /* dtype and shape (build-time knowledge); t.data = const bytes or NULL */
    size_t const_bytes;
    int32_t owns_data; /* non-zero: t.data is ing_malloc'ed and freed with the model */
    int32_t producer;  /* node id or -1 */
    char *dim_params[IR_MAX_RANK]; /* symbolic names of unknown dims, or NULL */
} ir_value;

typedef struct ir_body {
    int32_t n_nodes, n_in, n_out;
    int32_t *nodes; /* node ids in execution order */
    int32_t *in;    /* value ids */
    int32_t *out;   /* value ids */
    int32_t parent_node; /* -1 for the main graph */
} ir_body;

typedef struct ir_model {
    int32_t n_values, cap_values;
    ir_value *values;
    int32_t n_nodes, cap_nodes;
    ir_node *nodes;
    int32_t n_bodies, cap_bodies;
    ir_body *bodies; /* bodies[0] is the main graph */
    int32_t opset;   /* ai.onnx opset of the model */
    char *producer;  /* producer_name, for inspect */
} ir_model;

/* Construction. All return a status and leave the model valid (and freeable) on failure. */
ingot_status ir_model_create(ir_model **out);
void ir_model_destroy(ir_model *m);
/* Append a value; *id receives its index. name is copied. */
ingot_status ir_add_value(ir_model *m, const char *name, int32_t kind, int32_t *id);
/* Append a node (name/op/domain copied; in/out copied); *id receives its index. */
ingot_status ir_add_node(ir_model *m, const char *name, const char *op, const char *domain,
                         int32_t opset, const int32_t *in, int32_t n_in, const int32_t *out,
                         int32_t n_out, int32_t *id);
/* Append an attribute to node id (a copied into the node; ownership of a's arrays moves). */
ingot_status ir_node_add_attr(ir_model *m, int32_t node, ir_attr *a);
ingot_status ir_add_body(ir_model *m, int32_t parent_node, int32_t *id);
ingot_status ir_body_push(int32_t **arr, int32_t *n, int32_t v);
void ir_attr_free(ir_attr *a);
/* Free what a node or value owns and zero it (the tables keep the slot). */
void ir_node_free(ir_node *n);
void ir_value_free(ir_value *v);
/* Deep copy of a tensor attribute's or value's bytes into an owned buffer. */
ingot_status ir_value_set_const(ir_value *v, int32_t dtype, int32_t rank, const int64_t *dims,
                                const void *data, size_t nbytes);

/* Attribute lookup for kernels and shape inference. */
const ir_attr *ir_attr_find(const ir_node *n, const char *name);
int64_t ir_attr_int(const ir_node *n, const char *name, int64_t dflt);
float ir_attr_float(const ir_node *n, const char *name, float dflt);
const char *ir_attr_string(const ir_node *n, const char *name, const char *dflt);
/* INTS attribute: pointer and count; NULL/0 when absent. */
const int64_t *ir_attr_ints(const ir_node *n, const char *name, size_t *count);
const float *ir_attr_floats(const ir_node *n, const char *name, size_t *count);

/* Attention's packed Q/K/V (an ingot extension, written by opt/fuse_qkv.c): with the int
 * attribute qkv_packed = 1, inputs 0, 1 and 2 are each a 3-D [B, S, 3E] tensor (in practice the
 * same value, one projection's output) and input i stands for the i-th E-wide slice of its last
 * axis (Q, K, V in that order). Returns 0 when the node is not packed (sl untouched); 1 with sl[i]
 * the slice of input i as a [B, S, E] tensor whose data (when known) points at the slice's first
 * element, and *row the elements between consecutive sequence rows (3E, not E); -1 when the
 * attribute is set but the inputs do not fit (rank other than 3, a last dim that is not a
 * multiple of 3, shapes or dtypes that differ). Unknown dims stay unknown. */
int ir_attention_slices(const ir_node *n, const ing_tensor *const *in, int n_in, ing_tensor sl[3], int64_t *row);

#endif
