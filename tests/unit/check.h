/* A minimal test harness: CHECK records a failure with its line and goes on; DONE prints
 * "N passed, N failed" and returns the exit status. */
#ifndef INGOT_TESTS_CHECK_H
#define INGOT_TESTS_CHECK_H

#include <stdio.h>

#include "core/alloc.h"
#include "ingot.h"

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                 \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

#include <string.h>

/* 1 when the message mentions `what` (NULL: anything). */
static inline int check_mentions(const char *msg, const char *what) { return !what || strstr(msg, what) != NULL; }

/* st must equal want, and the last error must mention `mention` (NULL: anything). */
#define CHECK_STATUS(st, want, mention)                                                            \
    do {                                                                                           \
        ingot_status st_ = (st);                                                                   \
        CHECK(st_ == (want), "got %s, want %s (%s)", ingot_status_name(st_),                      \
              ingot_status_name(want), ingot_last_error());                                        \
        if (st_ != INGOT_OK)                                                                       \
            CHECK(check_mentions(ingot_last_error(), (mention)), "message '%s' does not mention '%s'", \
                  ingot_last_error(), (mention) ? (const char *)(mention) : "");                     \
    } while (0)

#define DONE()                                                                                     \
    do {                                                                                           \
        printf("%d passed, %d failed\n", check_passed, check_failed);                              \
        return check_failed ? 1 : 0;                                                               \
    } while (0)

/* Run step(arg) with the Nth allocation failing, for N = 1, 2, … until it succeeds; step
 * returns a status and frees whatever it made. Every failure must be a clean NOMEM (the ASan
 * build checks that nothing leaks). Returns the number of injected failures, or -1 (recorded
 * as a failed check) when a failure gave another status or the step never succeeded. */
static inline long check_alloc_failures(ingot_status (*step)(void *), void *arg)
{
    long failures = 0;
    for (long n = 1; n < 20000; n++) {
        ing_alloc_fail_at(n);
        ingot_status st = step(arg);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) return failures;
        if (st != INGOT_ERR_NOMEM) {
            CHECK(0, "allocation %ld failed with %s instead of NOMEM: %s", n, ingot_status_name(st), ingot_last_error());
            return -1;
        }
        failures++;
    }
    CHECK(0, "the path never succeeded (%ld injected failures)", failures);
    return -1;
}

#endif
