#include "core/dtype.h"

#include <math.h>
#include <string.h>

size_t ingot_dtype_size(ingot_dtype dt)
{
    switch (dt) {
    case INGOT_DTYPE_F32: case INGOT_DTYPE_I32: case INGOT_DTYPE_U32: return 4;
    case INGOT_DTYPE_U8: case INGOT_DTYPE_I8: case INGOT_DTYPE_BOOL: return 1;
    case INGOT_DTYPE_U16: case INGOT_DTYPE_I16: case INGOT_DTYPE_F16: case INGOT_DTYPE_BF16: return 2;
    case INGOT_DTYPE_I64: case INGOT_DTYPE_F64: case INGOT_DTYPE_U64: return 8;
    default: return 0;
    }
}

const char *ingot_dtype_name(ingot_dtype dt)
{
    switch (dt) {
    case INGOT_DTYPE_F32: return "f32";
    case INGOT_DTYPE_U8: return "u8";
    case INGOT_DTYPE_I8: return "i8";
    case INGOT_DTYPE_U16: return "u16";
    case INGOT_DTYPE_I16: return "i16";
    case INGOT_DTYPE_I32: return "i32";
    case INGOT_DTYPE_I64: return "i64";
    case INGOT_DTYPE_STRING: return "string";
    case INGOT_DTYPE_BOOL: return "bool";
    case INGOT_DTYPE_F16: return "f16";
    case INGOT_DTYPE_F64: return "f64";
    case INGOT_DTYPE_U32: return "u32";
    case INGOT_DTYPE_U64: return "u64";
    case INGOT_DTYPE_BF16: return "bf16";
    default: return "?";
    }
}

int ing_dtype_is_float(int dt)
{
    return dt == INGOT_DTYPE_F32 || dt == INGOT_DTYPE_F16 || dt == INGOT_DTYPE_BF16 ||
           dt == INGOT_DTYPE_F64;
}

int ing_dtype_is_int(int dt)
{
    switch (dt) {
    case INGOT_DTYPE_U8: case INGOT_DTYPE_I8: case INGOT_DTYPE_U16: case INGOT_DTYPE_I16:
    case INGOT_DTYPE_I32: case INGOT_DTYPE_I64: case INGOT_DTYPE_U32: case INGOT_DTYPE_U64:
        return 1;
    default: return 0;
    }
}

int ing_dtype_is_signed(int dt)
{
    return ing_dtype_is_float(dt) || dt == INGOT_DTYPE_I8 || dt == INGOT_DTYPE_I16 ||
           dt == INGOT_DTYPE_I32 || dt == INGOT_DTYPE_I64;
}

int ing_dtype_valid(int dt) { return dt != INGOT_DTYPE_STRING && ingot_dtype_size(dt) != 0; }

float ing_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while ((man & 0x400u) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ing_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u) return (uint16_t)sign; /* < 2^-25 rounds to 0 */
        uint32_t e = absx >> 23;
        uint32_t man = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14 - (e - 127) + 13 - 1 ... */
        /* value = man * 2^(e-150); half subnormal unit = 2^-24 -> q = man >> (126 - e) */
        uint32_t q = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent 127 -> 15 */
    uint32_t q = r >> 13;
    uint32_t rem = r & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
    return (uint16_t)(sign | q);
}

float ing_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ing_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}

double ing_load_f64(int dt, const void *base, size_t i)
{
    switch (dt) {
    case INGOT_DTYPE_F32: return ((const float *)base)[i];
    case INGOT_DTYPE_F64: return ((const double *)base)[i];
    case INGOT_DTYPE_F16: return ing_f16_to_f32(((const uint16_t *)base)[i]);
    case INGOT_DTYPE_BF16: return ing_bf16_to_f32(((const uint16_t *)base)[i]);
    case INGOT_DTYPE_U8: return ((const uint8_t *)base)[i];
    case INGOT_DTYPE_I8: return ((const int8_t *)base)[i];
    case INGOT_DTYPE_U16: return ((const uint16_t *)base)[i];
    case INGOT_DTYPE_I16: return ((const int16_t *)base)[i];
    case INGOT_DTYPE_I32: return ((const int32_t *)base)[i];
    case INGOT_DTYPE_I64: return (double)((const int64_t *)base)[i];
    case INGOT_DTYPE_U32: return ((const uint32_t *)base)[i];
    case INGOT_DTYPE_U64: return (double)((const uint64_t *)base)[i];
    case INGOT_DTYPE_BOOL: return ((const uint8_t *)base)[i] != 0;
    default: return 0.0;
    }
}

/* Float to integer with C semantics where defined; out-of-range and NaN give 0 rather than UB. */
static int64_t f2i(double v)
{
    if (isnan(v)) return 0;
    if (v >= 9.2233720368547758e18) return INT64_MAX;
    if (v <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)v;
}

static uint64_t f2u(double v)
{
    if (isnan(v) || v <= -1.0) return (uint64_t)f2i(v);
    if (v >= 1.8446744073709552e19) return UINT64_MAX;
    return (uint64_t)v;
}

void ing_store_f64(int dt, void *base, size_t i, double v)
{
    switch (dt) {
    case INGOT_DTYPE_F32: ((float *)base)[i] = (float)v; break;
    case INGOT_DTYPE_F64: ((double *)base)[i] = v; break;
    case INGOT_DTYPE_F16: ((uint16_t *)base)[i] = ing_f32_to_f16((float)v); break;
    case INGOT_DTYPE_BF16: ((uint16_t *)base)[i] = ing_f32_to_bf16((float)v); break;
    case INGOT_DTYPE_U8: ((uint8_t *)base)[i] = (uint8_t)f2i(v); break;
    case INGOT_DTYPE_I8: ((int8_t *)base)[i] = (int8_t)f2i(v); break;
    case INGOT_DTYPE_U16: ((uint16_t *)base)[i] = (uint16_t)f2i(v); break;
    case INGOT_DTYPE_I16: ((int16_t *)base)[i] = (int16_t)f2i(v); break;
    case INGOT_DTYPE_I32: ((int32_t *)base)[i] = (int32_t)f2i(v); break;
    case INGOT_DTYPE_I64: ((int64_t *)base)[i] = f2i(v); break;
    case INGOT_DTYPE_U32: ((uint32_t *)base)[i] = (uint32_t)f2u(v); break;
    case INGOT_DTYPE_U64: ((uint64_t *)base)[i] = f2u(v); break;
    case INGOT_DTYPE_BOOL: ((uint8_t *)base)[i] = v != 0.0; break;
    default: break;
    }
}

int64_t ing_load_i64(int dt, const void *base, size_t i)
{
    switch (dt) {
    case INGOT_DTYPE_U8: return ((const uint8_t *)base)[i];
    case INGOT_DTYPE_I8: return ((const int8_t *)base)[i];
    case INGOT_DTYPE_U16: return ((const uint16_t *)base)[i];
    case INGOT_DTYPE_I16: return ((const int16_t *)base)[i];
    case INGOT_DTYPE_I32: return ((const int32_t *)base)[i];
    case INGOT_DTYPE_I64: return ((const int64_t *)base)[i];
    case INGOT_DTYPE_U32: return ((const uint32_t *)base)[i];
    case INGOT_DTYPE_U64: return (int64_t)((const uint64_t *)base)[i];
    case INGOT_DTYPE_BOOL: return ((const uint8_t *)base)[i] != 0;
    default: return f2i(ing_load_f64(dt, base, i));
    }
}

void ing_store_i64(int dt, void *base, size_t i, int64_t v)
{
    switch (dt) {
    case INGOT_DTYPE_U8: ((uint8_t *)base)[i] = (uint8_t)v; break;
    case INGOT_DTYPE_I8: ((int8_t *)base)[i] = (int8_t)v; break;
    case INGOT_DTYPE_U16: ((uint16_t *)base)[i] = (uint16_t)v; break;
    case INGOT_DTYPE_I16: ((int16_t *)base)[i] = (int16_t)v; break;
    case INGOT_DTYPE_I32: ((int32_t *)base)[i] = (int32_t)v; break;
    case INGOT_DTYPE_I64: ((int64_t *)base)[i] = v; break;
    case INGOT_DTYPE_U32: ((uint32_t *)base)[i] = (uint32_t)v; break;
    case INGOT_DTYPE_U64: ((uint64_t *)base)[i] = (uint64_t)v; break;
    case INGOT_DTYPE_BOOL: ((uint8_t *)base)[i] = v != 0; break;
    default: ing_store_f64(dt, base, i, (double)v); break;
    }
}

uint64_t ing_load_u64(int dt, const void *base, size_t i)
{
    if (dt == INGOT_DTYPE_U64) return ((const uint64_t *)base)[i];
    if (ing_dtype_is_float(dt)) return f2u(ing_load_f64(dt, base, i));
    return (uint64_t)ing_load_i64(dt, base, i);
}

void ing_store_u64(int dt, void *base, size_t i, uint64_t v)
{
    if (dt == INGOT_DTYPE_U64) ((uint64_t *)base)[i] = v;
    else if (ing_dtype_is_float(dt)) ing_store_f64(dt, base, i, (double)v);
    else ing_store_i64(dt, base, i, (int64_t)v);
}
