/* Kernels of reduce_softmax.c and reduce_norm.c, listed in the reduce family's table (reduce.c). */
#ifndef INGOT_BACKEND_CPU_REDUCE_INTERNAL_H
#define INGOT_BACKEND_CPU_REDUCE_INTERNAL_H

#include "backend/cpu/cpu.h"

/* reduce_softmax.c */
ingot_status cpu_red_softmax(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_red_hardmax(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out);

/* reduce_norm.c */
ingot_status cpu_red_layernorm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_red_groupnorm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_red_instnorm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                              int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_red_batchnorm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_red_lpnorm(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                            int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_red_mvn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out);
ingot_status cpu_red_lrn(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out);

#endif
