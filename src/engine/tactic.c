/* Tactic records: u8 version, u8 kind, u8 math, u8 layout, i32 algo, u64 workspace, and for
 * cuBLASLt the algorithm's 64 opaque bytes; little-endian. */
#include <string.h>

#include "engine/tactic.h"

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t tactic_encode(const engine_tactic *t, uint8_t *buf)
{
    buf[0] = (uint8_t)TACTIC_VERSION;
    buf[1] = t->kind;
    buf[2] = t->math;
    buf[3] = t->layout;
    put_le(buf + 4, (uint32_t)t->algo, 4);
    put_le(buf + 8, t->workspace, 8);
    if (t->kind != TACTIC_CUBLASLT) return TACTIC_CONV_BYTES;
    memcpy(buf + 16, t->lt_algo, TACTIC_LT_ALGO_BYTES);
    return TACTIC_LT_BYTES;
}

ingot_status tactic_decode(const void *buf, size_t len, const char *what, engine_tactic *t)
{
    const uint8_t *p = buf;
    if (len < 1) return ingot_fail(INGOT_ERR_CORRUPT, "%s: empty tactic record", what);
    if (p[0] != TACTIC_VERSION)
        return ingot_fail(INGOT_ERR_VERSION, "%s: tactic record version %u, this build reads version %u", what, p[0],
                          TACTIC_VERSION);
    if (len < TACTIC_CONV_BYTES)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: tactic record of %zu bytes, at least %u", what, len, TACTIC_CONV_BYTES);
    engine_tactic r = {0};
    r.kind = p[1];
    r.math = p[2];
    r.layout = p[3];
    r.algo = (int32_t)(uint32_t)get_le(p + 4, 4);
    r.workspace = get_le(p + 8, 8);
    size_t want = r.kind == TACTIC_CUBLASLT ? TACTIC_LT_BYTES : TACTIC_CONV_BYTES;
    if (r.kind != TACTIC_CUDNN_CONV && r.kind != TACTIC_CUBLASLT)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: tactic kind %u, allowed %d (cuDNN conv) or %d (cuBLASLt)", what,
                          r.kind, TACTIC_CUDNN_CONV, TACTIC_CUBLASLT);
    if (len != want)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: tactic record of %zu bytes, kind %u has %zu", what, len, r.kind, want);
    int max_math = r.kind == TACTIC_CUDNN_CONV ? 3 : TACTIC_LT_32F_FAST_TF32;
    if (r.math > max_math)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: math mode %u, allowed 0..%d", what, r.math, max_math);
    if (r.layout != TACTIC_LAYOUT_NCHW)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: layout %u, allowed %d (NCHW)", what, r.layout, TACTIC_LAYOUT_NCHW);
    /* cuDNN 9 has 8 forward algorithms; a later one is still a small non-negative number */
    if (r.kind == TACTIC_CUDNN_CONV ? (r.algo < 0 || r.algo > 63) : r.algo != -1)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: algorithm %d, allowed %s", what, r.algo,
                          r.kind == TACTIC_CUDNN_CONV ? "0..63" : "-1 (cuBLASLt keeps it in the algorithm bytes)");
    if (r.workspace > TACTIC_MAX_WORKSPACE)
        return ingot_fail(INGOT_ERR_CORRUPT, "%s: workspace of %llu bytes, at most %llu", what,
                          (unsigned long long)r.workspace, (unsigned long long)TACTIC_MAX_WORKSPACE);
    if (r.kind == TACTIC_CUBLASLT) memcpy(r.lt_algo, p + 16, TACTIC_LT_ALGO_BYTES);
    *t = r;
    return INGOT_OK;
}

int tactic_kernel(const char *kernel)
{
    static const char *const with[] = {"cuda.Conv", "cuda.FusedConv", "cuda.MatMul", "cuda.Gemm", "cuda.FusedMatMul",
                                       "cuda.FusedGemm"};
    for (size_t i = 0; kernel && i < sizeof with / sizeof with[0]; i++)
        if (!strcmp(kernel, with[i])) return 1;
    return 0;
}
