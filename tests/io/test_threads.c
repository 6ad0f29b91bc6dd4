/* Many contexts on one engine in many threads (ARCHITECTURE.md: an engine is immutable and
 * shared; a context is used by one thread at a time). Each thread creates its own context,
 * binds its own input and runs it repeatedly on fresh values, checking every output against
 * the formula. Built also under ThreadSanitizer (`make tsan`), where any data race between
 * the threads' uses of the engine fails the test. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io_model.h"

#define THREADS 8
#define RUNS 25
#define ROWS 8
#define COLS 300

static ingot_engine *g_engine;

typedef struct job { int id; size_t wrong; int failed; char msg[256]; } job;

static void *worker(void *arg)
{
    job *j = arg;
    ingot_context *c = NULL;
    float *x = malloc(ROWS * COLS * sizeof(float));
    if (!x || ingot_context_create(g_engine, &c) != INGOT_OK) {
        j->failed = 1;
        snprintf(j->msg, sizeof j->msg, "context: %s", ingot_last_error());
        free(x);
        return NULL;
    }
    for (int r = 0; r < RUNS && !j->failed; r++) {
        io_fill(x, ROWS * COLS, (unsigned)(1000 * j->id + r));
        const void *y = NULL;
        if (ingot_context_bind_input(c, "x", x, ROWS * COLS * sizeof(float)) != INGOT_OK ||
            ingot_context_run(c, NULL) != INGOT_OK || ingot_context_get_output(c, "y", NULL, &y, NULL) != INGOT_OK) {
            j->failed = 1;
            snprintf(j->msg, sizeof j->msg, "run %d: %s", r, ingot_last_error());
            break;
        }
        j->wrong += io_wrong(x, y, ROWS * COLS);
    }
    ingot_context_destroy(c);
    free(x);
    return NULL;
}

int main(void)
{
    g_engine = io_build(INGOT_BACKEND_CPU, ROWS, COLS);
    CHECK(g_engine != NULL, "build: %s", ingot_last_error());
    if (!g_engine) DONE();
    pthread_t t[THREADS];
    job jobs[THREADS];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < THREADS; i++) {
        jobs[i].id = i;
        CHECK(pthread_create(&t[i], NULL, worker, &jobs[i]) == 0, "thread %d started", i);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        CHECK(!jobs[i].failed, "thread %d: %s", i, jobs[i].msg);
        CHECK(jobs[i].wrong == 0, "thread %d: %zu wrong elements over %d runs", i, jobs[i].wrong, RUNS);
    }
    ingot_engine_destroy(g_engine);
    DONE();
}
