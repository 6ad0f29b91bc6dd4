/* The `ingot` command: one file per subcommand. */
#ifndef INGOT_TOOLS_CLI_H
#define INGOT_TOOLS_CLI_H

#include "core/status.h"

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

#endif
