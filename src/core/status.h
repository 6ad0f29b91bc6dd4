/* Internal error helpers: set the thread-local message and return a status. */
#ifndef INGOT_CORE_STATUS_H
#define INGOT_CORE_STATUS_H

#include "ingot.h"

#if defined(__GNUC__)
#define ING_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ING_PRINTF(a, b)
#endif

/* Record a message for ingot_last_error() and return st. */
ingot_status ingot_fail(ingot_status st, const char *fmt, ...) ING_PRINTF(2, 3);

/* Prefix the current message with context ("loading 'x.engine': ..."), keep the status. */
ingot_status ingot_fail_prefix(ingot_status st, const char *fmt, ...) ING_PRINTF(2, 3);

/* Clear the thread-local message (successful calls leave it as it was). */
void ingot_clear_error(void);

#define ING_TRY(expr)                                                                              \
    do {                                                                                           \
        ingot_status ing_try_st_ = (expr);                                                         \
        if (ing_try_st_ != INGOT_OK) return ing_try_st_;                                           \
    } while (0)

#endif
