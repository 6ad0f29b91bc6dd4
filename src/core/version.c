#include "ingot.h"

#ifndef INGOT_VERSION_STRING
#define INGOT_VERSION_STRING "0.1.0"
#endif

const char *ingot_version(void) { return INGOT_VERSION_STRING; }
