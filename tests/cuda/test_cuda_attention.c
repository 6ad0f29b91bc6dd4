/* The CUDA Attention kernel against the CPU backend's (cpu/linalg_attention.c, the reference).
 * Each case is an ONNX graph built twice: for CUDA (every Attention step must run on
 * "cuda.Attention", not the CPU fallback) and for the CPU oracle as for a GPU (gu_build_as_gpu:
 * the same passes, so the same Attention nodes, run by the CPU kernel). Both run 3 times on fresh
 * seeded random inputs uniform in [-1, 1) (masks that are graph inputs too), the CUDA outputs
 * bound to buffers filled with 0xFF bytes (NaN) before every run, so an element the kernel never
 * writes fails; runs 2 and 3 replay a captured CUDA graph.
 *
 * Cases: direct Attention-23 nodes over 4-D and 3-D layouts, Sq != Skv, odd sizes (S = 77, 33,
 * 1), head sizes 32/64/80/128 and Dv != D, grouped queries, default and given scales, float masks
 * of rank 1-4 broadcast over batch/head/rows, a mask shorter than the keys, constant masks with
 * -inf that mask whole rows (the CPU writes zeros there) and bool masks; then the attention
 * pattern fuse_attention rewrites (BERT-base's [1,12,128,64] with a [B,1,1,S] mask, exactly one
 * Attention step on the GPU); then tiny_bert from ../shared/models built for CUDA: its Attention
 * steps on the GPU and its outputs equal to the CPU program's. Packed Q/K/V (qkv_packed: one
 * [B, S, 3E] input read as three slices): direct nodes, and BERT's projections that fuse_qkv packs
 * into one FusedMatMul (the engine must hold one FusedMatMul and one packed Attention). f16/bf16 cases with D = Dv a
 * multiple of 16 and K, V within shared memory run the whole-head kernel; D 80/48 and Skv 1000 at
 * D 128 the general tensor-core kernel; D 8/12, 16/24, 40 and all f32 cases the FMA kernel; keys
 * that leave the one-pass whole-head kernel one block an SM (ViT's 197 at D 64, 250-300 at D 64,
 * 150 at D 128, 257 at D 32) run the two-pass whole-head kernel (ingk_attention_set_fast(2)),
 * which those cases check ran. The
 * f16/bf16 cases then run again with the whole-head kernel held back (ingk_attention_set_fast(0),
 * names starting "[general]"), so the general kernels are checked on the shapes it takes; every
 * case also checks which of the two ran (ingk_attention_fast_launches), so an input the whole-head
 * kernel should take but the engine hands over misaligned fails rather than passing slowly.
 * First, BERT-base's attention at batch 1 and 32 is timed through both tensor-core kernels (see
 * timing(): "timing: bert bN attention X us (general tensor-core kernel Y us), outputs agree").
 *
 * Tolerances, |cuda - cpu| <= atol + rtol |cpu|: f32 1e-4 rel + 1e-5 abs (f32 on both sides; the
 * GPU sums in another order and rescales an online softmax). f16 2e-3 + 2e-3: the CPU rounds
 * the scaled Q and K, each score, exp and probability to f16 as the reference does, the GPU keeps
 * them in f32 (the tensor-core kernel rounds P to f16 before P V); with inputs in [-1, 1) those
 * roundings move an output by well under one f16 ulp (9.8e-4 at 1). bf16 1.6e-2 + 1.6e-2 (two
 * bf16 ulps, the same reasoning). tiny_bert (f32, every kernel of the model on the GPU):
 * 1e-3 + 1e-4, the bar the models meet against PyTorch.
 *
 * Exits 77 (skipped) with a message without a usable GPU; else prints a line per case and
 * "N passed, N failed"; exit 1 on any failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/dtype.h"
#include "graph_util.h"
#include "runtime/runtime.h"

#ifdef INGOT_WITH_CUDA
#include <cuda_runtime.h>

#include "backend/cuda/kernels/attention.h"
#endif

#define F32 INGOT_DTYPE_F32
#define F16 INGOT_DTYPE_F16
#define BF16 INGOT_DTYPE_BF16

static int no_gpu;
static const char *path_name = ""; /* "" with the whole-head kernel allowed, else "[general] " */
static int fast_allowed = 1;
static int want_packed; /* check_case: the engines must hold one packed projection (fuse_qkv fired) */
static int want_two_pass; /* check_case: the two-pass whole-head kernel must run it (fast cases) */

static void tol(int dt, double *rtol, double *atol)
{
    if (dt == F16) *rtol = 2e-3, *atol = 2e-3;
    else if (dt == BF16) *rtol = 1.6e-2, *atol = 1.6e-2;
    else *rtol = 1e-4, *atol = 1e-5;
}

/* Build g for CUDA and for the CPU oracle, check the steps, compare. want: Attention steps.
 * fast: the whole-head kernel must run it (1) or must not (0). */
static void check_case(const char *what, gu_graph *g, int dt, int want, int fast)
{
    static uint64_t seed = 1;
    ingot_engine *eg = NULL, *ec = NULL;
    ingot_status st = gu_build_cuda_pair(g, INGOT_PRECISION_FP32, no_gpu, &eg, &ec);
    if (st == INGOT_ERR_BACKEND) {
        no_gpu = 1;
        return;
    }
    CHECK(st == INGOT_OK, "%s: CUDA build (status %d)", what, (int)st);
    CHECK(ec != NULL, "%s: CPU oracle build", what);
    if (eg && ec) {
        char why[256] = "";
        int n = gu_count_op(eg, "Attention");
        CHECK(n == want, "%s: %d Attention steps, want %d", what, n, want);
        CHECK(gu_count_op(ec, "Attention") == want, "%s: the oracle has the same Attention steps", what);
        int on_gpu = gu_steps_use(eg, "Attention", "cuda.Attention", why, sizeof why);
        CHECK(on_gpu, "%s: %s", what, why);
        if (want_packed) {
            int mm = gu_count_op(eg, "FusedMatMul"), pk = gu_count_attr(eg, "qkv_packed");
            CHECK(mm == 1 && pk == 1, "%s: fuse_qkv packed the projections (%d FusedMatMul, %d packed Attention)",
                  what, mm, pk);
            CHECK(gu_count_attr(ec, "qkv_packed") == 1, "%s: the oracle's Attention reads them packed too", what);
            on_gpu = on_gpu && mm == 1 && pk == 1;
        }
        double rtol, atol;
        tol(dt, &rtol, &atol);
        gu_compare_opts co = {seed++ * 0x9E3779B97F4A7C15ull, 3, -1.0, 1.0, 1, rtol, atol};
#ifdef INGOT_WITH_CUDA
        long long before = ingk_attention_fast_launches(), before2 = ingk_attention_two_pass_launches();
        if (fast && want_two_pass) ingk_attention_set_fast(2);
#endif
        int same = gu_compare(eg, ec, &co);
        CHECK(same, "%s: CUDA equals the CPU (rtol %g, atol %g)", what, rtol, atol);
        int path_ok = 1;
#ifdef INGOT_WITH_CUDA
        path_ok = (ingk_attention_fast_launches() > before) == fast;
        CHECK(path_ok, "%s: the whole-head kernel %s", what, fast ? "did not run" : "ran");
        if (fast && want_two_pass) {
            ingk_attention_set_fast(1);
            int two = ingk_attention_two_pass_launches() > before2;
            CHECK(two, "%s: the two-pass whole-head kernel did not run", what);
            path_ok = path_ok && two;
        }
#else
        (void)fast;
#endif
        printf("%s %s%s\n", same && on_gpu && n == want && path_ok ? "ok  " : "FAIL", what,
               fast ? want_two_pass ? " (two-pass whole-head kernel)" : " (whole-head kernel)" : "");
    }
    ingot_engine_destroy(eg);
    ingot_engine_destroy(ec);
}

/* A constant of dtype dt from f32 values. */
static void const_of(gu_graph *g, const char *name, int dt, int rank, const int64_t *dims, const float *v, int64_t n)
{
    if (dt == F32) {
        gu_const_f32(g, name, rank, dims, v);
        return;
    }
    uint16_t *h = malloc((size_t)(n ? n : 1) * sizeof *h);
    if (!h) abort();
    for (int64_t i = 0; i < n; i++) h[i] = dt == F16 ? ing_f32_to_f16(v[i]) : ing_f32_to_bf16(v[i]);
    gu_const(g, name, dt, rank, dims, h);
    free(h);
}

enum { M_NONE, M_INPUT, M_INF, M_BOOL };

typedef struct acase {
    int dt, r3;                             /* r3: 3-D [B, S, H*D] inputs */
    int64_t b, hq, hkv, sq, skv, dh, dv;
    int mask;                               /* M_* */
    int mrank;                              /* mask rank; dims right-aligned to [B, 1|Hq, Sq, T] */
    int m_heads, m_rows;                    /* mask varies over heads / rows (else 1 there) */
    int64_t mlen;                           /* the mask's last dim (T unless testing a short one) */
    float scale;                            /* 0: the default 1/sqrt(D) */
    int packed;                             /* one [B, S, 3 Hq D] input read as Q, K, V (qkv_packed) */
} acase;

/* One Attention-23 node over graph inputs q, k, v [and mask]. */
static gu_graph *direct(const acase *c)
{
    gu_graph *g = gu_new(23);
    if (c->packed) { /* 3-D, Hq = Hkv, Sq = Skv, D = Dv: the three slices of one input */
        gu_input(g, "qkv", c->dt, 3, (int64_t[]){c->b, c->sq, 3 * c->hq * c->dh});
    } else if (c->r3) {
        gu_input(g, "q", c->dt, 3, (int64_t[]){c->b, c->sq, c->hq * c->dh});
        gu_input(g, "k", c->dt, 3, (int64_t[]){c->b, c->skv, c->hkv * c->dh});
        gu_input(g, "v", c->dt, 3, (int64_t[]){c->b, c->skv, c->hkv * c->dv});
    } else {
        gu_input(g, "q", c->dt, 4, (int64_t[]){c->b, c->hq, c->sq, c->dh});
        gu_input(g, "k", c->dt, 4, (int64_t[]){c->b, c->hkv, c->skv, c->dh});
        gu_input(g, "v", c->dt, 4, (int64_t[]){c->b, c->hkv, c->skv, c->dv});
    }
    if (c->mask != M_NONE) {
        int64_t full[4] = {c->b, c->m_heads ? c->hq : 1, c->m_rows ? c->sq : 1, c->mlen}, md[4], n = 1;
        for (int d = 0; d < c->mrank; d++) n *= md[d] = full[4 - c->mrank + d];
        if (c->mask == M_INPUT) {
            gu_input(g, "mask", c->dt, c->mrank, md);
        } else {
            /* key j of mask row r masked when (r + j) % 3 == 0; rows r % 4 == 1 masked whole */
            float *f = malloc((size_t)n * sizeof *f);
            uint8_t *u = malloc((size_t)n);
            if (!f || !u) abort();
            for (int64_t i = 0; i < n; i++) {
                int64_t r = i / c->mlen, j = i % c->mlen;
                int keep = (r + j) % 3 != 0 && r % 4 != 1;
                f[i] = keep ? 0.25f * (float)(j % 5) - 0.5f : -INFINITY;
                u[i] = (uint8_t)keep;
            }
            if (c->mask == M_BOOL) gu_const(g, "mask", INGOT_DTYPE_BOOL, c->mrank, md, u);
            else const_of(g, "mask", c->dt, c->mrank, md, f, n);
            free(f);
            free(u);
        }
    }
    if (c->packed) gu_node(g, "Attention", "attn", c->mask != M_NONE ? "qkv,qkv,qkv,mask" : "qkv,qkv,qkv", "y");
    else gu_node(g, "Attention", "attn", c->mask != M_NONE ? "q,k,v,mask" : "q,k,v", "y");
    if (c->packed) gu_attr_int(g, "qkv_packed", 1);
    if (c->scale != 0.0f) gu_attr_float(g, "scale", c->scale);
    if (c->r3) {
        gu_attr_int(g, "q_num_heads", c->hq);
        gu_attr_int(g, "kv_num_heads", c->hkv);
    }
    gu_output(g, "y");
    return g;
}

static void run_direct(const acase *c)
{
    static const char *const mk[] = {"no mask", "mask input", "-inf const mask", "bool const mask"};
    char what[256];
    snprintf(what, sizeof what, "%s%s %s%s B%lld Hq%lld Hkv%lld Sq%lld Skv%lld D%lld Dv%lld, %s rank %d%s%s len %lld%s",
             path_name, ingot_dtype_name((ingot_dtype)c->dt), c->r3 ? "3-D" : "4-D", c->packed ? " packed" : "",
             (long long)c->b, (long long)c->hq, (long long)c->hkv, (long long)c->sq, (long long)c->skv,
             (long long)c->dh, (long long)c->dv, mk[c->mask],
             c->mrank, c->m_heads ? " per head" : "", c->m_rows ? " per row" : "", (long long)c->mlen,
             c->scale != 0.0f ? ", scale given" : "");
    /* the whole-head kernel takes these 2-byte cases: D = Dv a multiple of 16, few keys (all
     * cases here have Skv <= 130 or 1000) */
    int fast = fast_allowed && c->dt != F32 && c->dh == c->dv && c->dh % 16 == 0 && (c->skv <= 200 || want_two_pass);
    check_case(what, direct(c), c->dt, 1, fast);
}

/* The attention pattern fuse_attention rewrites (PyTorch SDPA export): Transpose(K), MatMul,
 * Mul by a scale, Add a [B,1,1,T] mask input, Softmax(-1), Where(IsNaN(p), 0, p), MatMul V. */
static gu_graph *pattern(int dt, int64_t b, int64_t h, int64_t s, int64_t d)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "q", dt, 4, (int64_t[]){b, h, s, d});
    gu_input(g, "k", dt, 4, (int64_t[]){b, h, s, d});
    gu_input(g, "v", dt, 4, (int64_t[]){b, h, s, d});
    gu_input(g, "mask", dt, 4, (int64_t[]){b, 1, 1, s});
    float sc = 1.0f / sqrtf((float)d), zero = 0.0f;
    const_of(g, "scale", dt, 0, NULL, &sc, 1);
    const_of(g, "zero", dt, 1, (int64_t[]){1}, &zero, 1);
    gu_node(g, "Transpose", "kt", "k", "kt");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 1, 3, 2});
    gu_node(g, "MatMul", "qk", "q,kt", "s");
    gu_node(g, "Mul", "mul", "s,scale", "ss");
    gu_node(g, "Add", "add_mask", "ss,mask", "sm");
    gu_node(g, "Softmax", "softmax", "sm", "p");
    gu_attr_int(g, "axis", -1);
    gu_node(g, "IsNaN", "isnan", "p", "nan");
    gu_node(g, "Where", "where", "nan,zero,p", "pw");
    gu_node(g, "MatMul", "pv", "pw,v", "y");
    gu_output(g, "y");
    return g;
}

/* BERT's self-attention with its projections, as exported: x [B,S,H·D] → MatMul(W) + bias for Q, K,
 * V (random weights uniform in ±1/16 so that Q, K, V stay O(1)), head split, scores scaled, a
 * [B,1,1,S] mask input added, softmax with the exporter's NaN guard, P·V, heads merged.
 * fuse_attention makes it one 3-D Attention and fuse_qkv one FusedMatMul writing [B,S,3·H·D] that
 * the Attention reads in place. */
static gu_graph *projected(int dt, int64_t b, int64_t s, int64_t h, int64_t d)
{
    const int64_t e = h * d;
    gu_graph *g = gu_new(17);
    gu_input(g, "x", dt, 3, (int64_t[]){b, s, e});
    gu_input(g, "mask", dt, 4, (int64_t[]){b, 1, 1, s});
    float *w = malloc((size_t)(e * e) * sizeof *w);
    if (!w) abort();
    uint64_t r = 0x853C49E6748FEA9Bull;
    static const char *const nm[3] = {"q", "k", "v"}, *const outs[3] = {"q3", "k3", "v3"};
    for (int i = 0; i < 3; i++) {
        for (int64_t j = 0; j < e * e; j++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            w[j] = (float)((double)(r >> 11) / 9007199254740992.0 - 0.5) / 8.0f;
        }
        gu_projection(g, dt, "x", nm[i], e, e, w, w + e, outs[i]); /* the bias: some of the weight's values */
    }
    free(w);
    gu_bert_attention(g, dt, b, s, h, d, "mask", 1);
    gu_output(g, "y");
    return g;
}

/* tiny_bert built for CUDA: Attention steps on the GPU, outputs equal to the CPU program's. */
static void tiny_bert(void)
{
    const char *shared = getenv("INGOT_SHARED_DIR");
    if (!shared) shared = INGOT_SHARED_DIR;
    char path[2048];
    snprintf(path, sizeof path, "%s/models/tiny_bert/model.onnx", shared);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("SKIP tiny_bert: %s is absent\n", path);
        return;
    }
    fclose(f);
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = INGOT_BACKEND_CUDA;
    ingot_engine *eg = NULL, *ec = NULL;
    CHECK(ingot_builder_build_file(path, &o, &eg) == INGOT_OK, "tiny_bert: CUDA build: %s", ingot_last_error());
    ec = gu_build_file_as_gpu(path, INGOT_PRECISION_FP32, NULL, 0, NULL);
    CHECK(ec != NULL, "tiny_bert: CPU oracle build");
    if (eg && ec) {
        char why[256] = "";
        int n = gu_count_op(eg, "Attention");
        CHECK(n >= 1, "tiny_bert: %d Attention steps on CUDA (fuse_attention fired)", n);
        int on_gpu = gu_steps_use(eg, "Attention", "cuda.Attention", why, sizeof why);
        CHECK(on_gpu, "tiny_bert: %s", why);
        gu_compare_opts co = {77, 2, -1.0, 1.0, 1, 1e-3, 1e-4}; /* the models' bar (README) */
        int same = gu_compare(eg, ec, &co);
        CHECK(same, "tiny_bert: CUDA equals the CPU program");
        printf("%s tiny_bert: %d Attention steps on cuda.Attention\n", same && on_gpu && n >= 1 ? "ok  " : "FAIL", n);
    }
    ingot_engine_destroy(eg);
    ingot_engine_destroy(ec);
}

#ifdef INGOT_WITH_CUDA
/* BERT-base's attention (3-D f16 Q/K/V [B,128,768], 12 heads of 64, a [B,1,1,128] f16 mask with
 * the last 16 + b % 16 keys of batch item b masked) on random inputs, through the whole-head kernel
 * (fast) and the general tensor-core kernel: 200 launches captured into a CUDA graph (the first
 * capture at b1 also checks the fast kernel's shared memory opt-in while capturing), replayed
 * once to warm up, then timed with events. The two outputs must agree within f16's tolerance
 * (2e-3 + 2e-3 |y|); the times are printed, not asserted: they depend on the card. */
static void timing(int64_t batch)
{
    const int64_t s = 128, hd = 768, n = batch * s * hd;
    ingk_attn_params p;
    memset(&p, 0, sizeof p);
    p.batch = batch, p.hq = p.hkv = 12, p.sq = p.skv = s, p.dh = p.dv = 64;
    p.q = p.k = p.v = p.y = (ingk_attn_view){s * hd, 64, hd};
    p.scale = 0.125f;
    p.mask_kind = INGK_ATTN_MASK_FLOAT, p.m = (ingk_attn_view){s, 0, 0}, p.mlen = s;
    void *buf[5] = {NULL, NULL, NULL, NULL, NULL}; /* q, k, v, y, mask */
    uint16_t *h = malloc((size_t)(3 * n + batch * s) * sizeof *h);
    uint16_t *yh[2] = {malloc((size_t)n * 2), malloc((size_t)n * 2)};
    cudaEvent_t ev[2] = {NULL, NULL};
    cudaStream_t sm = NULL;
    cudaGraph_t gr = NULL;
    cudaGraphExec_t ge = NULL;
    float ms[2] = {0.0f, 0.0f};
    int ok = h && yh[0] && yh[1];
    uint64_t r = 0x2545F4914F6CDD1Dull * (uint64_t)batch;
    for (int64_t i = 0; ok && i < 3 * n; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        h[i] = ing_f32_to_f16((float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0));
    }
    for (int64_t i = 0; ok && i < batch * s; i++)
        h[3 * n + i] = ing_f32_to_f16(i % s >= s - 16 - i / s % 16 ? -INFINITY : 0.0f);
    for (int i = 0; i < 5 && ok; i++) {
        size_t bytes = 2 * (size_t)(i < 4 ? n : batch * s);
        ok = cudaMalloc(&buf[i], bytes) == cudaSuccess &&
             (i == 3 || cudaMemcpy(buf[i], h + (i < 3 ? i * n : 3 * n), bytes, cudaMemcpyHostToDevice) == cudaSuccess);
    }
    ok = ok && cudaEventCreate(&ev[0]) == cudaSuccess && cudaEventCreate(&ev[1]) == cudaSuccess &&
         cudaStreamCreateWithFlags(&sm, cudaStreamNonBlocking) == cudaSuccess;
    for (int fast = 1; fast >= 0 && ok; fast--) {
        ingk_attention_set_fast(fast);
        ok = cudaMemset(buf[3], 0xFF, (size_t)n * 2) == cudaSuccess &&
             cudaStreamBeginCapture(sm, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
        int launched = ok;
        for (int it = 0; it < 200 && launched; it++)
            launched = ingk_attention(INGOT_DTYPE_F16, buf[0], buf[1], buf[2], buf[4], buf[3], &p, sm) == 0;
        if (ok) ok = cudaStreamEndCapture(sm, &gr) == cudaSuccess && launched;
        ok = ok && cudaGraphInstantiate(&ge, gr, 0) == cudaSuccess && cudaGraphLaunch(ge, sm) == cudaSuccess &&
             cudaEventRecord(ev[0], sm) == cudaSuccess && cudaGraphLaunch(ge, sm) == cudaSuccess &&
             cudaEventRecord(ev[1], sm) == cudaSuccess && cudaEventSynchronize(ev[1]) == cudaSuccess &&
             cudaEventElapsedTime(&ms[1 - fast], ev[0], ev[1]) == cudaSuccess &&
             cudaMemcpy(yh[1 - fast], buf[3], (size_t)n * 2, cudaMemcpyDeviceToHost) == cudaSuccess;
        if (ge) cudaGraphExecDestroy(ge);
        if (gr) cudaGraphDestroy(gr);
        ge = NULL, gr = NULL;
    }
    ingk_attention_set_fast(1);
    CHECK(ok, "timing bert b%lld: CUDA calls succeed (%s)", (long long)batch, cudaGetErrorString(cudaGetLastError()));
    if (ok) {
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i++) {
            double f = ing_f16_to_f32(yh[0][i]), g = ing_f16_to_f32(yh[1][i]);
            if (!(fabs(f - g) <= 2e-3 + 2e-3 * fabs(g))) bad++;
        }
        CHECK(bad == 0, "timing bert b%lld: %lld of %lld outputs differ between the kernels", (long long)batch,
              (long long)bad, (long long)n);
        printf("timing: bert b%lld attention %.1f us (general tensor-core kernel %.1f us), outputs %s\n",
               (long long)batch, 1000.0 * ms[0] / 200, 1000.0 * ms[1] / 200, bad ? "DIFFER" : "agree");
    }
    if (sm) cudaStreamDestroy(sm);
    for (int i = 0; i < 2; i++)
        if (ev[i]) cudaEventDestroy(ev[i]);
    for (int i = 0; i < 5; i++) cudaFree(buf[i]);
    free(h);
    free(yh[0]);
    free(yh[1]);
}
#endif

int main(void)
{
    static const int dts[] = {F32, F16, BF16};
#ifdef INGOT_WITH_CUDA
    /* first, so the fast kernel's first launch is inside a stream capture */
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) == cudaSuccess && ndev > 0) {
        timing(1);
        timing(32);
    }
    (void)cudaGetLastError();
#endif
    /* pass 0: every kernel allowed (f16/bf16 cases that fit take the whole-head kernel); pass 1:
     * the same f16/bf16 cases with the whole-head kernel held back, so the general kernels run */
    for (int pass = 0; pass < 2; pass++) {
#ifdef INGOT_WITH_CUDA
        ingk_attention_set_fast(pass == 0);
#endif
        path_name = pass ? "[general] " : "";
        fast_allowed = pass == 0;
        for (int k = pass; k < 3; k++) {
            int dt = dts[k];
            /* BERT-base's shape, its [B,1,1,S] mask, 4-D and 3-D (as fuse_attention leaves it) */
            run_direct(&(acase){dt, 0, 1, 12, 12, 128, 128, 64, 64, M_INPUT, 4, 0, 0, 128, 0});
            if (no_gpu) return 77;
            run_direct(&(acase){dt, 1, 2, 12, 12, 128, 128, 64, 64, M_INPUT, 4, 0, 0, 128, 0});
            run_direct(&(acase){dt, 0, 2, 3, 3, 77, 77, 64, 64, M_NONE, 0, 0, 0, 77, 0});
            /* Sq != Skv, odd head sizes, Dv != D, more than one key tile with a partial last one */
            run_direct(&(acase){dt, 0, 2, 4, 4, 33, 100, 32, 32, M_INPUT, 2, 0, 1, 100, 0.3f});
            run_direct(&(acase){dt, 0, 1, 2, 2, 1, 77, 80, 80, M_INPUT, 1, 0, 0, 77, 0});
            run_direct(&(acase){dt, 0, 2, 2, 2, 19, 45, 80, 48, M_INPUT, 4, 1, 1, 45, 0});
            run_direct(&(acase){dt, 0, 1, 2, 2, 40, 70, 128, 128, M_INPUT, 3, 1, 0, 70, 0});
            /* several query tiles, the last with whole warps past Sq; head sizes 16 and 96 */
            run_direct(&(acase){dt, 1, 1, 2, 2, 130, 50, 16, 16, M_INPUT, 4, 0, 0, 50, 0});
            run_direct(&(acase){dt, 0, 1, 2, 1, 70, 20, 96, 96, M_INPUT, 4, 1, 1, 20, 0});
            /* keys too many for one head in shared memory (f16/bf16 D 128: the general kernels) */
            run_direct(&(acase){dt, 0, 1, 2, 2, 5, 1000, 128, 128, M_INPUT, 4, 0, 0, 1000, 0});
            /* grouped queries, 3-D layout */
            run_direct(&(acase){dt, 0, 2, 6, 2, 17, 23, 16, 24, M_NONE, 0, 0, 0, 23, 0});
            run_direct(&(acase){dt, 1, 2, 4, 2, 21, 29, 8, 12, M_INPUT, 2, 0, 1, 29, 0.5f});
            run_direct(&(acase){dt, 1, 2, 8, 2, 33, 40, 32, 32, M_INPUT, 2, 0, 1, 40, 0});
            /* a mask shorter than the keys: keys past it are masked */
            run_direct(&(acase){dt, 0, 1, 2, 2, 9, 40, 32, 32, M_INPUT, 4, 0, 1, 31, 0});
            run_direct(&(acase){dt, 0, 1, 2, 2, 9, 40, 32, 32, M_INPUT, 1, 0, 0, 31, 0});
            /* -inf and bool masks: rows r % 4 == 1 have every key masked (zeros) */
            run_direct(&(acase){dt, 0, 2, 3, 3, 12, 37, 64, 64, M_INF, 4, 1, 1, 37, 0});
            run_direct(&(acase){dt, 0, 2, 3, 3, 12, 37, 64, 64, M_BOOL, 3, 1, 1, 37, 0});
            run_direct(&(acase){dt, 0, 2, 3, 3, 12, 37, 64, 64, M_BOOL, 2, 0, 1, 37, 0});
            run_direct(&(acase){dt, 0, 2, 3, 3, 12, 37, 64, 64, M_BOOL, 4, 0, 0, 37, 0});
            /* head size not a multiple of 16: f16/bf16 on the FMA kernel too */
            run_direct(&(acase){dt, 0, 2, 3, 3, 12, 37, 40, 40, M_INF, 4, 1, 1, 37, 0});
            char what[128];
            snprintf(what, sizeof what, "%s%s fused pattern [1,12,128,64], mask [1,1,1,128]", path_name,
                     ingot_dtype_name((ingot_dtype)dt));
            check_case(what, pattern(dt, 1, 12, 128, 64), dt, 1, fast_allowed && dt != F32);
            snprintf(what, sizeof what, "%s%s fused pattern [2,3,77,32], mask [2,1,1,77]", path_name,
                     ingot_dtype_name((ingot_dtype)dt));
            check_case(what, pattern(dt, 2, 3, 77, 32), dt, 1, fast_allowed && dt != F32);
            /* Q, K, V as slices of one [B, S, 3E] tensor (qkv_packed), read in place */
            run_direct(&(acase){dt, 1, 1, 12, 12, 128, 128, 64, 64, M_INPUT, 4, 0, 0, 128, 0, 1});
            run_direct(&(acase){dt, 1, 2, 3, 3, 77, 77, 32, 32, M_NONE, 0, 0, 0, 77, 0.3f, 1});
            run_direct(&(acase){dt, 1, 2, 4, 4, 21, 21, 8, 8, M_INPUT, 2, 0, 1, 21, 0, 1});
            /* the two-pass whole-head kernel (made to run: on its own it takes heads whose keys
             * leave the one-pass kernel one block an SM, in grids of more blocks than SMs):
             * ViT-B/16's 197 keys (packed, no mask); per-row masks with Sq != Skv; rows with every
             * key masked; D 128; D 32 with a partial last key tile and a bool mask */
            want_two_pass = 1;
            run_direct(&(acase){dt, 1, 2, 4, 4, 197, 197, 64, 64, M_NONE, 0, 0, 0, 197, 0, 1});
            run_direct(&(acase){dt, 0, 1, 3, 3, 100, 300, 64, 64, M_INPUT, 4, 1, 1, 300, 0});
            run_direct(&(acase){dt, 0, 1, 2, 2, 40, 250, 64, 64, M_INF, 4, 1, 1, 250, 0});
            run_direct(&(acase){dt, 1, 2, 2, 2, 70, 150, 128, 128, M_INPUT, 2, 0, 1, 150, 0.2f});
            run_direct(&(acase){dt, 0, 1, 2, 2, 33, 257, 32, 32, M_BOOL, 4, 0, 0, 257, 0});
            want_two_pass = 0;
            /* ... and as fuse_qkv makes it from BERT's projections (BERT-base b1, a small odd one) */
            want_packed = 1;
            snprintf(what, sizeof what, "%s%s projected Q/K/V packed [1,128,768], 12 heads", path_name,
                     ingot_dtype_name((ingot_dtype)dt));
            check_case(what, projected(dt, 1, 128, 12, 64), dt, 1, fast_allowed && dt != F32);
            snprintf(what, sizeof what, "%s%s projected Q/K/V packed [2,77,96], 3 heads", path_name,
                     ingot_dtype_name((ingot_dtype)dt));
            check_case(what, projected(dt, 2, 77, 3, 32), dt, 1, fast_allowed && dt != F32);
            want_packed = 0;
        }
    }
#ifdef INGOT_WITH_CUDA
    ingk_attention_set_fast(1);
#endif
    tiny_bert();
    DONE();
}
