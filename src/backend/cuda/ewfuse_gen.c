/* CUDA C source for one FusedElementwise node (program in ir/ew_program.h), compiled by NVRTC at
 * build time (ewfuse.c).
 *
 * The kernel `ingot_ew` takes one argument block (struct ew_args; the host side in ewfuse.c has
 * the same layout for EWP_MAX_IN inputs, whatever the node's count). Thread mapping: a
 * grid-stride loop over output elements, 256 threads a block; with `vec` set (the launcher
 * checks: element count divisible by 4, same-shape inputs and the output aligned to 4 elements)
 * each thread takes 4 consecutive elements and moves same-shape inputs and the output with one
 * 16-byte (f32) or 8-byte (f16/bf16) access. Inputs: mode 0 has the output's shape (element i),
 * mode 1 one element, mode 2 broadcasts through per-dim strides over the launcher's coalesced
 * dims. Everything computes in float32; f16/bf16 convert with cvt instructions (no headers, so
 * NVRTC needs none); the formulas are ewp_eval's. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backend/cuda/cuda.h"
#include "core/alloc.h"
#include "ir/ew_program.h"

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 8192) + (size_t)n;
        char *q = ing_realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static const char *const prelude =
    "typedef unsigned short u16;\n"
    "typedef long long i64;\n"
    "struct ew_args {\n"
    "    i64 n;          /* output elements */\n"
    "    int rank, vec;  /* coalesced dims; 4 elements per thread */\n"
    "    int small;      /* every index fits 32 bits */\n"
    "    int inner4;     /* the innermost dim is a multiple of 4: a group of 4 shares its outer index */\n"
    "    i64 dims[8];\n"
    "    i64 st[16][8];  /* per input and dim: element stride, 0 where it broadcasts */\n"
    "    int mode[16];   /* 0 same shape as the output, 1 one element, 2 strided */\n"
    "    const void *in[16];\n"
    "    void *out;\n"
    "};\n"
    "static __device__ __forceinline__ float ew_h2f(u16 h) { float f; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(h)); return f; }\n"
    "static __device__ __forceinline__ u16 ew_f2h(float f) { u16 h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(f)); return h; }\n"
    "static __device__ __forceinline__ float ew_b2f(u16 h) { return __uint_as_float((unsigned)h << 16); }\n"
    "static __device__ __forceinline__ u16 ew_f2b(float f) { u16 h; asm(\"cvt.rn.bf16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(f)); return h; }\n"
    "/* element of input j for output element i; 32-bit division when the sizes allow (64-bit\n"
    " * division is a long software sequence and would make the kernel compute-bound) */\n"
    "static __device__ __forceinline__ i64 ew_at(const ew_args &a, int j, i64 i)\n"
    "{\n"
    "    if (a.mode[j] == 0) return i;\n"
    "    if (a.mode[j] == 1) return 0;\n"
    "    if (a.small) {\n"
    "        unsigned u = (unsigned)i, o = 0;\n"
    "        for (int d = a.rank - 1; d >= 0; d--) {\n"
    "            unsigned q = u / (unsigned)a.dims[d];\n"
    "            o += (u - q * (unsigned)a.dims[d]) * (unsigned)a.st[j][d];\n"
    "            u = q;\n"
    "        }\n"
    "        return o;\n"
    "    }\n"
    "    i64 o = 0;\n"
    "    for (int d = a.rank - 1; d >= 0; d--) {\n"
    "        i64 q = i / a.dims[d];\n"
    "        o += (i - q * a.dims[d]) * a.st[j][d];\n"
    "        i = q;\n"
    "    }\n"
    "    return o;\n"
    "}\n"
    "static __device__ __forceinline__ float ew_sigmoid(float x) { return x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }\n"
    "static __device__ __forceinline__ float ew_clamp01(float h) { return h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h; }\n"
    "static __device__ __forceinline__ float ew_clip(float v, float lo, float hi) { v = v < lo ? lo : v; return v > hi ? hi : v; }\n";

/* A float as an exact expression (infinities and NaN included). */
static void lit(sbuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put(b, "__uint_as_float(0x%08" PRIx32 "u)", u);
}

/* Load of element `idx` of input j, as float. */
static const char *load_fn(int dt) { return dt == INGOT_DTYPE_F16 ? "ew_h2f" : dt == INGOT_DTYPE_BF16 ? "ew_b2f" : ""; }

static void emit_instr(sbuf *b, const ewp_program *p, int32_t t)
{
    const int64_t *c = p->code + 4 * t;
    const float *k = c[3] >= 0 && c[0] != EWP_CAST ? p->params + c[3] : NULL;
    char a[24], bb[24];
    snprintf(a, sizeof a, "r%" PRId64, c[1]);
    snprintf(bb, sizeof bb, "r%" PRId64, c[2]);
    put(b, "    const float r%d = ", p->n_in + t);
    switch ((int)c[0]) {
    case EWP_CONST: lit(b, k[0]); break;
    case EWP_ADD: put(b, "%s + %s", a, bb); break;
    case EWP_SUB: put(b, "%s - %s", a, bb); break;
    case EWP_MUL: put(b, "%s * %s", a, bb); break;
    case EWP_DIV: put(b, "%s / %s", a, bb); break;
    case EWP_POW: put(b, "powf(%s, %s)", a, bb); break;
    case EWP_MAX: put(b, "(%s > %s || %s != %s) ? %s : %s", a, bb, a, a, a, bb); break;
    case EWP_MIN: put(b, "(%s < %s || %s != %s) ? %s : %s", a, bb, a, a, a, bb); break;
    case EWP_RELU: put(b, "%s < 0.0f ? 0.0f : %s", a, a); break;
    case EWP_SIGMOID: put(b, "ew_sigmoid(%s)", a); break;
    case EWP_TANH: put(b, "tanhf(%s)", a); break;
    case EWP_EXP: put(b, "expf(%s)", a); break;
    case EWP_LOG: put(b, "logf(%s)", a); break;
    case EWP_SQRT: put(b, "sqrtf(%s)", a); break;
    case EWP_NEG: put(b, "-%s", a); break;
    case EWP_ABS: put(b, "fabsf(%s)", a); break;
    case EWP_ERF: put(b, "erff(%s)", a); break;
    case EWP_RECIP: put(b, "1.0f / %s", a); break;
    case EWP_CLIP: /* as ewp_eval: NaN stays, lower > upper gives upper */
        put(b, "ew_clip(%s, ", a);
        lit(b, k[0]);
        put(b, ", ");
        lit(b, k[1]);
        put(b, ")");
        break;
    case EWP_LEAKYRELU:
        put(b, "%s < 0.0f ? ", a);
        lit(b, k[0]);
        put(b, " * %s : %s", a, a);
        break;
    case EWP_HARDSIGMOID:
        put(b, "ew_clamp01(");
        lit(b, k[0]);
        put(b, " * %s + ", a);
        lit(b, k[1]);
        put(b, ")");
        break;
    case EWP_HARDSWISH: put(b, "%s * ew_clamp01(%s / 6.0f + 0.5f)", a, a); break;
    case EWP_GELU: put(b, "0.5f * %s * (1.0f + erff(%s * 0.70710678118654752f))", a, a); break;
    case EWP_GELU_TANH:
        put(b, "0.5f * %s * (1.0f + tanhf(0.7978845608028654f * (%s + 0.044715f * %s * %s * %s)))", a, a, a, a, a);
        break;
    case EWP_SWISH:
        put(b, "%s / (1.0f + expf(-", a);
        lit(b, k[0]);
        put(b, " * %s))", a);
        break;
    case EWP_CAST:
        if (c[3] == INGOT_DTYPE_F16) put(b, "ew_h2f(ew_f2h(%s))", a);
        else if (c[3] == INGOT_DTYPE_BF16) put(b, "ew_b2f(ew_f2b(%s))", a);
        else put(b, "%s", a);
        break;
    default: put(b, "0.0f"); /* ewp_parse rejects unknown opcodes */
    }
    put(b, ";\n");
}

ingot_status cuda_ewfuse_source(const ir_model *m, const ir_node *n, char **out)
{
    ewp_program p;
    ING_TRY(ewp_parse(n, &p));
    sbuf b = {0};
    /* no node name in the source: nodes with the same program share one compile (ewfuse.c) */
    put(&b, "/* ingot FusedElementwise: %d inputs, %d instructions */\n%s", p.n_in, p.n_instr, prelude);
    put(&b, "static __device__ __forceinline__ float ew_eval(");
    for (int32_t j = 0; j < p.n_in; j++) put(&b, "%sconst float r%d", j ? ", " : "", j);
    put(&b, ")\n{\n");
    for (int32_t t = 0; t < p.n_instr; t++) emit_instr(&b, &p, t);
    put(&b, "    return r%d;\n}\n", p.n_in + p.n_instr - 1);
    int ov = p.dtype != INGOT_DTYPE_F32; /* 16-bit output */
    const char *st = p.dtype == INGOT_DTYPE_F16 ? "ew_f2h" : p.dtype == INGOT_DTYPE_BF16 ? "ew_f2b" : "";
    put(&b, "extern \"C\" __global__ void __launch_bounds__(256) ingot_ew(const ew_args a)\n{\n"
            "    const i64 step = (i64)gridDim.x * blockDim.x;\n"
            "    const i64 t0 = (i64)blockIdx.x * blockDim.x + threadIdx.x;\n"
            "    if (a.vec) {\n"
            "        for (i64 v = t0; v < a.n / 4; v += step) {\n");
    for (int32_t j = 0; j < p.n_in; j++) {
        int dt = m->values[n->in[j]].t.dtype;
        put(&b, "            float x%d[4];\n            if (a.mode[%d] == 0) {\n", j, j);
        if (dt == INGOT_DTYPE_F32)
            put(&b, "                const float4 q = ((const float4 *)a.in[%d])[v];\n"
                    "                x%d[0] = q.x; x%d[1] = q.y; x%d[2] = q.z; x%d[3] = q.w;\n", j, j, j, j, j);
        else
            put(&b, "                const uint2 q = ((const uint2 *)a.in[%d])[v];\n"
                    "                x%d[0] = %s((u16)(q.x & 0xffffu)); x%d[1] = %s((u16)(q.x >> 16));\n"
                    "                x%d[2] = %s((u16)(q.y & 0xffffu)); x%d[3] = %s((u16)(q.y >> 16));\n",
                j, j, load_fn(dt), j, load_fn(dt), j, load_fn(dt), j, load_fn(dt));
        const char *ty = dt == INGOT_DTYPE_F32 ? "float" : "u16";
        put(&b, "            } else if (a.inner4) {\n"
                "                const i64 o = ew_at(a, %d, v * 4), s = a.st[%d][a.rank - 1];\n"
                "                for (int e = 0; e < 4; e++) x%d[e] = %s(((const %s *)a.in[%d])[o + e * s]);\n"
                "            } else {\n"
                "                for (int e = 0; e < 4; e++) x%d[e] = %s(((const %s *)a.in[%d])[ew_at(a, %d, v * 4 + e)]);\n"
                "            }\n", j, j, j, load_fn(dt), ty, j, j, load_fn(dt), ty, j, j);
    }
    put(&b, "            float y[4];\n            for (int e = 0; e < 4; e++) y[e] = ew_eval(");
    for (int32_t j = 0; j < p.n_in; j++) put(&b, "%sx%d[e]", j ? ", " : "", j);
    put(&b, ");\n");
    if (!ov) put(&b, "            ((float4 *)a.out)[v] = make_float4(y[0], y[1], y[2], y[3]);\n");
    else
        put(&b, "            ((uint2 *)a.out)[v] = make_uint2((unsigned)%s(y[0]) | ((unsigned)%s(y[1]) << 16), "
                "(unsigned)%s(y[2]) | ((unsigned)%s(y[3]) << 16));\n", st, st, st, st);
    put(&b, "        }\n        return;\n    }\n    for (i64 i = t0; i < a.n; i += step) {\n"
            "        const float y = ew_eval(");
    for (int32_t j = 0; j < p.n_in; j++) {
        int dt = m->values[n->in[j]].t.dtype;
        put(&b, "%s%s(((const %s *)a.in[%d])[ew_at(a, %d, i)])", j ? ",\n                                " : "",
            load_fn(dt), dt == INGOT_DTYPE_F32 ? "float" : "u16", j, j);
    }
    put(&b, ");\n        ((%s *)a.out)[i] = %s(y);\n    }\n}\n", ov ? "u16" : "float", st);
    if (b.oom) {
        ing_free(b.p);
        return IR_NODE_FAIL(n, INGOT_ERR_NOMEM, "out of memory writing its CUDA source");
    }
    *out = b.p;
    return INGOT_OK;
}
