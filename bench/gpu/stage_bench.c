/* Where pageable -> device staging spends its time, on the GPU machine: the host copy alone
 * (pageable -> pinned, by T threads, memcpy or streaming stores), the DMA alone, the host copy
 * while a DMA runs, and the staged pipeline as the CUDA backend runs it (chunks of C bytes
 * through a ring of 4 pinned slots, copies by T threads overlapping the previous chunk's DMA).
 * Prints GB/s, the median of 20 runs.
 *
 * build (here): gcc -O2 -fopenmp -Isrc -I$CUDA/include bench/gpu/stage_bench.c src/core/copy.c \
 *                 -L$CUDA/lib64 -lcudart_static -ldl -lpthread -lrt -o stage_bench
 * run (there):  stage_bench [MB]   (default 24.576: the fp16 1600x2560x3 image) */
#include "core/copy.h"

#include <cuda_runtime.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 20
#define SLOTS 4

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v)
{
    qsort(v, RUNS, sizeof *v, cmp);
    return v[RUNS / 2];
}

#define CK(call)                                                                                   \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e_));                            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void copy_par(void *dst, const void *src, size_t n, int nt, int stream)
{
    const size_t piece = (size_t)64 << 10;
    long pieces = (long)((n + piece - 1) / piece);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long k = 0; k < pieces; k++) {
        size_t off = (size_t)k * piece, len = n - off < piece ? n - off : piece;
        if (stream)
            ing_copy_stream((char *)dst + off, (const char *)src + off, len);
        else
            memcpy((char *)dst + off, (const char *)src + off, len);
    }
}

/* The backend's pipeline: one parallel region, a barrier per chunk, the master issues DMAs. */
static void staged(char *dev, const char *host, size_t bytes, char **slot, cudaEvent_t *ev,
                   cudaStream_t s, size_t chunk, int nt)
{
    int busy[SLOTS] = {0};
#pragma omp parallel num_threads(nt)
    {
        size_t n;
        for (size_t off = 0, c = 0; off < bytes; off += n, c++) {
            int k = (int)(c % SLOTS);
            n = bytes - off < chunk ? bytes - off : chunk;
#pragma omp master
            {
                if (busy[k]) CK(cudaEventSynchronize(ev[k]));
                busy[k] = 0;
            }
#pragma omp barrier
            const size_t piece = (size_t)64 << 10;
            long pieces = (long)((n + piece - 1) / piece);
#pragma omp for schedule(static)
            for (long p = 0; p < pieces; p++) {
                size_t o = (size_t)p * piece, len = n - o < piece ? n - o : piece;
                ing_copy_stream(slot[k] + o, host + off + o, len);
            }
#pragma omp master
            {
                CK(cudaMemcpyAsync(dev + off, slot[k], n, cudaMemcpyHostToDevice, s));
                CK(cudaEventRecord(ev[k], s));
                busy[k] = 1;
            }
        }
    }
    CK(cudaStreamSynchronize(s));
}

int main(int argc, char **argv)
{
    size_t bytes = (size_t)((argc > 1 ? atof(argv[1]) : 24.576) * 1e6);
    char *host = malloc(bytes), *pin, *pin2, *dev;
    memset(host, 1, bytes);
    CK(cudaHostAlloc((void **)&pin, bytes, 0));
    CK(cudaHostAlloc((void **)&pin2, bytes, 0));
    CK(cudaMalloc((void **)&dev, 2 * bytes));
    memset(pin, 0, bytes);
    memset(pin2, 0, bytes);
    cudaStream_t s, s2;
    CK(cudaStreamCreate(&s));
    CK(cudaStreamCreate(&s2));
    double t[RUNS];
    printf("bytes %zu, omp_get_num_procs %d\n", bytes, omp_get_num_procs());

    for (int r = 0; r < RUNS; r++) {
        double a = now();
        CK(cudaMemcpyAsync(dev, pin, bytes, cudaMemcpyHostToDevice, s));
        CK(cudaStreamSynchronize(s));
        t[r] = now() - a;
    }
    printf("dma pinned alone              %6.1f GB/s\n", bytes / median(t) * 1e-9);
    for (int r = 0; r < RUNS; r++) {
        double a = now();
        CK(cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice));
        t[r] = now() - a;
    }
    printf("cudaMemcpy pageable           %6.1f GB/s\n", bytes / median(t) * 1e-9);

    int threads[] = {1, 2, 4, 8, 12, 16};
    for (int st = 0; st < 2; st++)
        for (int i = 0; i < 6; i++) {
            for (int r = 0; r < RUNS; r++) {
                double a = now();
                copy_par(pin, host, bytes, threads[i], st);
                t[r] = now() - a;
            }
            printf("host copy %-7s T=%-2d         %6.1f GB/s\n", st ? "stream" : "memcpy", threads[i],
                   bytes / median(t) * 1e-9);
        }
    /* the host copy while a long DMA (of another pinned buffer, 4 x) runs */
    for (int i = 2; i < 6; i++) {
        for (int r = 0; r < RUNS; r++) {
            for (int j = 0; j < 4; j++)
                CK(cudaMemcpyAsync(dev + bytes, pin2, bytes, cudaMemcpyHostToDevice, s2));
            double a = now();
            copy_par(pin, host, bytes, threads[i], 1);
            t[r] = now() - a;
            CK(cudaStreamSynchronize(s2));
        }
        printf("host copy stream T=%-2d + DMA   %6.1f GB/s\n", threads[i], bytes / median(t) * 1e-9);
    }
    char *slot[SLOTS];
    cudaEvent_t ev[SLOTS];
    for (int k = 0; k < SLOTS; k++) {
        CK(cudaHostAlloc((void **)&slot[k], (size_t)16 << 20, 0));
        memset(slot[k], 0, (size_t)16 << 20);
        CK(cudaEventCreateWithFlags(&ev[k], cudaEventDisableTiming));
    }
    size_t chunks[] = {(size_t)1 << 20, (size_t)2 << 20, (size_t)4 << 20, (size_t)8 << 20, (size_t)16 << 20};
    for (int c = 0; c < 5; c++)
        for (int i = 2; i < 6; i++) {
            for (int r = 0; r < RUNS; r++) {
                double a = now();
                staged(dev, host, bytes, slot, ev, s, chunks[c], threads[i]);
                t[r] = now() - a;
            }
            printf("staged chunk %2zu MiB T=%-2d      %6.1f GB/s  (%.3f ms)\n", chunks[c] >> 20, threads[i],
                   bytes / median(t) * 1e-9, median(t) * 1e3);
        }
    return 0;
}
