/* Launcher for the CUDA Attention kernels (kernels/attention.cu): one block per (batch, query
 * head, tile of query rows); K and V staged through shared memory in tiles of keys with an
 * online (running max) softmax, so any key count works; products, softmax statistics and the
 * output accumulate in f32 (f16/bf16 with head sizes that are multiples of 16: WMMA tensor-core
 * products, the probabilities rounded to the input type before P V; when a head's K and V fit in
 * shared memory with D = Dv, 16-byte aligned, one pass over the whole head instead). dtype: f32
 * (1), f16 (10) or bf16 (16) for Q, K, V and Y alike. */
#ifndef INGOT_BACKEND_CUDA_KERNELS_ATTENTION_H
#define INGOT_BACKEND_CUDA_KERNELS_ATTENTION_H

#include "backend/cuda/kernels/launch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest head size (of Q/K and of V) the kernel holds in registers and shared memory. */
#define INGK_ATTN_MAX_HEAD 128

enum { INGK_ATTN_MASK_NONE, INGK_ATTN_MASK_FLOAT, INGK_ATTN_MASK_BOOL };

/* Element strides of a [batch, head, sequence, feature] view (feature stride 1), so 4-D
 * [B, H, S, D] and 3-D [B, S, H * D] inputs read through the same kernel. */
typedef struct ingk_attn_view {
    int64_t b, h, s;
} ingk_attn_view;

typedef struct ingk_attn_params {
    int64_t batch, hq, hkv, sq, skv, dh, dv; /* hq a multiple of hkv; dh, dv in 1..MAX_HEAD */
    ingk_attn_view q, k, v, y;
    float scale; /* applied to Q·K before the mask */
    /* The additive mask (dtype of Q, or bool: true keeps a key) broadcast to [B, Hq, Sq, T]:
     * element (b, h, i, j) at b*m.b + h*m.h + i*m.s + j for j < mlen; keys j >= mlen are
     * masked out. A row with every key masked is all zeros. */
    int mask_kind;
    ingk_attn_view m;
    int64_t mlen;
} ingk_attn_params;

/* Y = softmax(scale · Q Kᵀ + mask) V per (batch, query head); query head h reads K/V head
 * h / (hq / hkv). Returns 0 or a cudaError_t. */
int ingk_attention(int dt, const void *q, const void *k, const void *v, const void *mask, void *y,
                   const ingk_attn_params *p, void *stream);

/* Tests only: 0 keeps the whole-head tensor-core kernels out (the general kernels run whatever
 * they would take), 1 (the default) lets them run, 2 makes the two-pass whole-head kernel run
 * wherever a whole-head kernel fits. Not thread-safe; call before launching. */
void ingk_attention_set_fast(int on);

/* Tests only: how many times a whole-head kernel (one-pass or two-pass) was launched in this
 * process, and how many of those were the two-pass kernel (heads whose keys leave the one-pass
 * kernel one block per SM). */
long long ingk_attention_fast_launches(void);
long long ingk_attention_two_pass_launches(void);

#ifdef __cplusplus
}
#endif

#endif
