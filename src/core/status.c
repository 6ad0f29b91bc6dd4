#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_CAP 1024

static _Thread_local char last_msg[MSG_CAP];

ingot_status ingot_fail(ingot_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return st;
}

ingot_status ingot_fail_prefix(ingot_status st, const char *fmt, ...)
{
    char prefix[MSG_CAP], old[MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_msg, sizeof old);
    size_t k = strlen(prefix);
    if (k > MSG_CAP - 3) k = MSG_CAP - 3;
    memcpy(last_msg, prefix, k);
    last_msg[k] = ':';
    last_msg[k + 1] = ' ';
    size_t rest = MSG_CAP - (k + 2) - 1, n = strlen(old);
    if (n > rest) n = rest;
    memcpy(last_msg + k + 2, old, n);
    last_msg[k + 2 + n] = '\0';
    return st;
}

void ingot_clear_error(void) { last_msg[0] = '\0'; }

const char *ingot_last_error(void) { return last_msg; }

const char *ingot_status_name(ingot_status st)
{
    switch (st) {
    case INGOT_OK: return "INGOT_OK";
    case INGOT_ERR_INVALID_ARG: return "INGOT_ERR_INVALID_ARG";
    case INGOT_ERR_IO: return "INGOT_ERR_IO";
    case INGOT_ERR_CORRUPT: return "INGOT_ERR_CORRUPT";
    case INGOT_ERR_VERSION: return "INGOT_ERR_VERSION";
    case INGOT_ERR_UNSUPPORTED: return "INGOT_ERR_UNSUPPORTED";
    case INGOT_ERR_MODEL: return "INGOT_ERR_MODEL";
    case INGOT_ERR_SHAPE: return "INGOT_ERR_SHAPE";
    case INGOT_ERR_NOMEM: return "INGOT_ERR_NOMEM";
    case INGOT_ERR_CUDA: return "INGOT_ERR_CUDA";
    case INGOT_ERR_BACKEND: return "INGOT_ERR_BACKEND";
    case INGOT_ERR_STATE: return "INGOT_ERR_STATE";
    case INGOT_ERR_NOT_FOUND: return "INGOT_ERR_NOT_FOUND";
    case INGOT_ERR_RUNTIME: return "INGOT_ERR_RUNTIME";
    case INGOT_STATUS_COUNT: break;
    }
    return "INGOT_ERR_UNKNOWN";
}
