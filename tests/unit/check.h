/* A minimal test harness: CHECK records a failure with its line and goes on; DONE prints
 * "N passed, N failed" and returns the exit status. */
#ifndef INGOT_TESTS_CHECK_H
#define INGOT_TESTS_CHECK_H

#include <stdio.h>

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

#endif
