/* Kernels of ew_cast.c, listed in the elementwise family's table (ew.c). */
#ifndef INGOT_BACKEND_CPU_EW_INTERNAL_H
#define INGOT_BACKEND_CPU_EW_INTERNAL_H

#include "backend/cpu/cpu.h"

ingot_status cpu_ew_cast(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                         ing_tensor *const *out, int n_out);
ingot_status cpu_ew_bitcast(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                            ing_tensor *const *out, int n_out);
ingot_status cpu_ew_quantize(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in, int n_in,
                             ing_tensor *const *out, int n_out);
ingot_status cpu_ew_dequantize(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                               int n_in, ing_tensor *const *out, int n_out);

/* y_scale = (max(0, max x) - min(0, min x)) / 255, zero point = rint(clamp(-min / scale)),
 * y = saturate(rint(x / scale) + zero point), all in float32 as the reference does. */
ingot_status cpu_ew_dynquantize(cpu_exec *ex, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out);

#endif
