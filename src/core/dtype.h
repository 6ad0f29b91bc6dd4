/* Element types: sizes, names, half-precision conversion and generic element access. */
#ifndef INGOT_CORE_DTYPE_H
#define INGOT_CORE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "ingot.h"

int ing_dtype_is_float(int dt);   /* f16, bf16, f32, f64 */
int ing_dtype_is_int(int dt);     /* signed or unsigned integers (not bool) */
int ing_dtype_is_signed(int dt);  /* signed integers and floats */
int ing_dtype_valid(int dt);      /* a dtype ingot stores (not STRING, not UNDEFINED) */

/* IEEE half <-> float, round to nearest even; NaN and infinities kept. */
float ing_f16_to_f32(uint16_t h);
uint16_t ing_f32_to_f16(float f);
/* bfloat16 <-> float, round to nearest even. */
float ing_bf16_to_f32(uint16_t h);
uint16_t ing_f32_to_bf16(float f);

/* Generic, slow-but-exact element access for kernels that handle every dtype through one code
 * path. f64 access is exact for all floats and for integers up to 2^53; use the i64 forms for
 * integer arithmetic. Store converts with C semantics (saturation is not applied; floats to
 * integers truncate toward zero; bool stores x != 0). */
double ing_load_f64(int dt, const void *base, size_t i);
void ing_store_f64(int dt, void *base, size_t i, double v);
int64_t ing_load_i64(int dt, const void *base, size_t i);
void ing_store_i64(int dt, void *base, size_t i, int64_t v);
/* uint64 as itself (for u64 arithmetic that does not fit i64). */
uint64_t ing_load_u64(int dt, const void *base, size_t i);
void ing_store_u64(int dt, void *base, size_t i, uint64_t v);

#endif
