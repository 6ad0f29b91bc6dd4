/* A graph with every opcode fuse_elementwise emits, shared by the FusedElementwise tests. */
#ifndef INGOT_TESTS_EWFUSE_GRAPHS_H
#define INGOT_TESTS_EWFUSE_GRAPHS_H

#include <stdio.h>

#include "graph_util.h"

/* Every opcode the pass emits, on positive inputs (Log, Sqrt stay real). */
static inline gu_graph *ewfuse_all_ops(int64_t n)
{
    gu_graph *g = gu_new(20);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){3, n});
    gu_input(g, "z", INGOT_DTYPE_F32, 2, (int64_t[]){3, n});
    float two = 2.0f, lo = -1.0f, hi = 3.0f, row[64];
    for (int64_t i = 0; i < n && i < 64; i++) row[i] = 0.05f * (float)i;
    gu_const_f32(g, "row", 1, (int64_t[]){n}, row);
    gu_const_f32(g, "two", 0, NULL, &two);
    gu_const_f32(g, "lo", 0, NULL, &lo);
    gu_const_f32(g, "hi", 0, NULL, &hi);
    static const char *const ops[] = {"Sigmoid", "Tanh", "Exp", "Abs", "Sqrt", "Log", "Neg", "Erf", "Reciprocal",
                                      "HardSwish", "HardSigmoid", "LeakyRelu", "Relu"};
    gu_node(g, "Mul", "mul", "x,two", "v0");
    gu_node(g, "Add", "add", "v0,row", "v1");
    char in[16], out[16];
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        snprintf(in, sizeof in, "v%zu", i + 1);
        snprintf(out, sizeof out, "v%zu", i + 2);
        gu_node(g, ops[i], ops[i], in, out);
    }
    gu_node(g, "Gelu", "gelu", "v14", "g1");
    gu_node(g, "Gelu", "gelu_t", "g1", "g2");
    gu_attr_string(g, "approximate", "tanh");
    gu_node(g, "Clip", "clip", "g2,lo,hi", "c1");
    gu_node(g, "Max", "max", "c1,z", "c2");
    gu_node(g, "Min", "min", "c2,x", "c3");
    gu_node(g, "Pow", "pow", "c3,two", "c4");
    gu_node(g, "Div", "div", "c4,z", "c5");
    gu_node(g, "Sub", "sub", "c5,x", "y");
    gu_output(g, "y");
    return g;
}

#endif
