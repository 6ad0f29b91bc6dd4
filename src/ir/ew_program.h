/* The program of a FusedElementwise node (domain "ingot"), written by opt/fuse_elementwise.c,
 * interpreted by the CPU kernel (backend/cpu/fused_ew.c, the oracle) and compiled into one CUDA
 * kernel at build time (backend/cuda/ewfuse_gen.c).
 *
 * A register machine over float32. Registers 0 .. n_in-1 hold the node's inputs (each f32, f16
 * or bf16, loaded as float32 and broadcast to the output's shape as numpy does); instruction t
 * writes register n_in + t; the last instruction's register is the output, stored as `dtype`.
 * Attributes:
 *   program  INTS, 4 per instruction: opcode, operand a, operand b, k (registers written
 *            earlier; -1 where the opcode takes fewer operands; k: the opcode's first entry in
 *            `params`, or the dtype for CAST, else -1)
 *   params   FLOATS (optional): CONST values, Clip bounds, LeakyRelu/HardSigmoid/Swish factors
 *   dtype    INT: the output's dtype (1 f32, 10 f16, 16 bf16)
 * Opcode numbers are stored in engines: never renumber, only append. */
#ifndef INGOT_IR_EW_PROGRAM_H
#define INGOT_IR_EW_PROGRAM_H

#include "core/status.h"
#include "ir/ir.h"

#define EWP_MAX_IN 16     /* inputs of one fused node (the CUDA argument block has this many) */
#define EWP_MAX_INSTR 256 /* instructions of one program */

typedef enum ewp_op {
    EWP_CONST = 0, /* params[k] */
    EWP_ADD = 1,
    EWP_SUB = 2,
    EWP_MUL = 3,
    EWP_DIV = 4,
    EWP_POW = 5,
    EWP_MAX = 6, /* NaN propagates, as numpy's maximum */
    EWP_MIN = 7,
    EWP_RELU = 10,
    EWP_SIGMOID = 11,
    EWP_TANH = 12,
    EWP_EXP = 13,
    EWP_LOG = 14,
    EWP_SQRT = 15,
    EWP_NEG = 16,
    EWP_ABS = 17,
    EWP_ERF = 18,
    EWP_RECIP = 19,
    EWP_CLIP = 20,        /* params[k], params[k+1]: lower and upper bound (±inf when absent) */
    EWP_LEAKYRELU = 21,   /* params[k]: alpha */
    EWP_HARDSIGMOID = 22, /* params[k], params[k+1]: alpha, beta */
    EWP_HARDSWISH = 23,
    EWP_GELU = 24,
    EWP_GELU_TANH = 25,
    EWP_SWISH = 26, /* params[k]: alpha; x * sigmoid(alpha x) */
    EWP_CAST = 27,  /* round to dtype k (1, 10, 16) and continue in float32 */
    EWP_OP_END
} ewp_op;

/* A validated view of a node's program (pointers into its attributes). */
typedef struct ewp_program {
    int32_t n_in;
    int32_t n_instr;
    const int64_t *code; /* 4 × n_instr */
    const float *params;
    int32_t n_params;
    int32_t dtype; /* output dtype */
} ewp_program;

/* Operands (0, 1 or 2) and params entries an opcode reads; -1 for an unknown opcode. */
int ewp_arity(int64_t op);
int ewp_n_params(int64_t op);
/* "Add", "Sigmoid", …; "?" for an unknown opcode. */
const char *ewp_name(int64_t op);
/* Is dt one the program loads, computes through or stores (f32, f16, bf16)? */
int ewp_dtype_ok(int32_t dt);

/* Read and check node n's program: every opcode known, operands earlier registers, params in
 * range, dtypes allowed, n_in in 1..EWP_MAX_IN. INGOT_ERR_MODEL naming the node otherwise. */
ingot_status ewp_parse(const ir_node *n, ewp_program *p);

/* One instruction on float32 values (the CPU oracle's arithmetic; CUDA emits the same). */
float ewp_eval(const ewp_program *p, int32_t t, float a, float b);

#endif
