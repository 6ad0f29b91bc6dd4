/* Kernels of spatial_grid.c and spatial_detect.c, listed in the spatial family's table (spatial.c). */
#ifndef INGOT_BACKEND_CPU_SPATIAL_INTERNAL_H
#define INGOT_BACKEND_CPU_SPATIAL_INTERNAL_H

#include "backend/cpu/cpu.h"

/* spatial_grid.c */
ingot_status cpu_spatial_grid_sample(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_spatial_affine_grid(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                     int n_in, ing_tensor *const *out, int n_out);

/* spatial_detect.c */
ingot_status cpu_spatial_roi_align(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                   int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_spatial_nms(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                             int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_spatial_max_unpool(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                    int n_in, ing_tensor *const *out, int n_out);
ingot_status cpu_spatial_col2im(cpu_exec *x, const ir_node *node, const ing_tensor *const *in,
                                int n_in, ing_tensor *const *out, int n_out);

#endif
