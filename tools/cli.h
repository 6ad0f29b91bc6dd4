/* The `ingot` command: one file per subcommand. */
#ifndef INGOT_TOOLS_CLI_H
#define INGOT_TOOLS_CLI_H

#include <stdint.h>

#include "core/status.h"
#include "ir/ir.h"

int cmd_build(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_conformance(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Print "ingot: <msg>" to stderr and return 1. */
int cli_fail(const char *fmt, ...) ING_PRINTF(1, 2);
/* Print "ingot: <what>: <last error>" and return 1. */
int cli_fail_status(ingot_status st, const char *what);

/* Parse "name:1x3x224x224[,name2:...]" into shapes (names point into spec, which is modified).
 * Returns the count, or -1 after printing a reason. */
int cli_parse_shapes(char *spec, ingot_input_shape *shapes, int cap);

/* Parse a load mode name (auto, read, mmap, stream); -1 when unknown. */
int cli_parse_load_mode(const char *s);

/* Shared helpers of the subcommands (util.c). */
/* Load an engine: ingot_engine_load, or for INGOT_LOAD_STREAM the file through an ingot_reader
 * over stdio (read, seek where the file can, read_at by pread), as an application would. */
ingot_status cli_load_engine(const char *path, const ingot_load_opts *lo, ingot_engine **e);
/* Seed the generator behind cli_fill_random (0 keeps the default seed). */
void cli_seed(uint64_t seed);
/* Random values: floats uniform in [-1, 1), bool 0/1, integers in [0, 10). */
void cli_fill_random(ing_tensor *t);
/* Monotonic clock in seconds. */
double cli_now_s(void);
/* qsort comparator for doubles. */
int cli_cmp_double(const void *a, const void *b);

#endif
