/* The model of the runtime I/O tests, y = 2 * relu(x) + 0.25 (exact in f32), its inputs and
 * the check of its outputs, and an output allocator's notify_shape that records the shape. */
#ifndef INGOT_TESTS_IO_MODEL_H
#define INGOT_TESTS_IO_MODEL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph_util.h"

/* rows -1: a symbolic first dim (give o->profiles or shapes). */
static inline ingot_engine *io_build_opts(const ingot_build_opts *o, int64_t rows, int64_t cols)
{
    gu_graph *g = gu_new(17);
    gu_input(g, "x", INGOT_DTYPE_F32, 2, (int64_t[]){rows, cols});
    gu_const_f32(g, "two", 0, NULL, (float[]){2.0f});
    gu_const_f32(g, "c", 0, NULL, (float[]){0.25f});
    gu_node(g, "Relu", "r", "x", "a");
    gu_node(g, "Mul", "m", "a,two", "b");
    gu_node(g, "Add", "ad", "b,c", "y");
    gu_output(g, "y");
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    ingot_engine *e = NULL;
    ingot_status st = ingot_builder_build_buffer(bytes, len, o, &e);
    free(bytes);
    if (st != INGOT_OK && st != INGOT_ERR_BACKEND) printf("build: %s\n", ingot_last_error());
    return st == INGOT_OK ? e : NULL;
}

static inline ingot_engine *io_build(ingot_backend b, int64_t rows, int64_t cols)
{
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = b;
    return io_build_opts(&o, rows, cols);
}

static inline float *io_fill(float *x, size_t n, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    return x;
}

/* How many of y's n elements differ from 2 * relu(x) + 0.25. */
static inline size_t io_wrong(const float *x, const float *y, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(y[i] == 2.0f * (x[i] > 0 ? x[i] : 0.0f) + 0.25f)) bad++;
    return bad;
}

typedef struct io_alloc_state {
    int calls, notified, fail;
    int32_t rank;
    int64_t dims[2];
    ingot_memory kind;
    void *mem;
} io_alloc_state;

/* An output allocator's reallocate: frees what it gave before, returns fresh memory of a->kind
 * (host-addressable memory poisoned with 0xFF), or NULL when a->fail is set. */
static inline void *io_realloc(void *user, const char *name, void *current, size_t size, size_t alignment, void *stream)
{
    io_alloc_state *a = user;
    (void)name;
    (void)alignment;
    (void)stream;
    a->calls++;
    if (a->fail) return NULL;
    ingot_memory_free(a->kind, current);
    a->mem = NULL;
    if (ingot_memory_alloc(a->kind, size, &a->mem) != INGOT_OK) return NULL;
    if (a->kind != INGOT_MEMORY_DEVICE) memset(a->mem, 0xFF, size);
    return a->mem;
}

static inline void io_notify(void *user, const char *name, int32_t rank, const int64_t *dims)
{
    io_alloc_state *a = user;
    (void)name;
    a->notified++;
    a->rank = rank;
    for (int32_t d = 0; d < rank && d < 2; d++) a->dims[d] = dims[d];
}

#endif
