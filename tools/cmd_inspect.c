/* `ingot inspect ENGINE [--json]`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine/engine_io.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot inspect ENGINE [--json]\n"
               "Prints the engine's header, inputs and outputs, steps, memory plan and weights.\n"
               "The whole file is validated first; a corrupt engine prints the reason and exits 1.\n");
    return rc;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-') return cli_fail("inspect: unknown option '%s' (see ingot inspect --help)", argv[i]);
        else if (!path) path = argv[i];
        else return cli_fail("inspect: more than one engine given");
    }
    if (!path) {
        return cli_fail("inspect: no engine given");
    }
    engine_file f;
    ingot_status st = engine_file_open(path, INGOT_LOAD_MMAP, &f);
    if (st != INGOT_OK) return cli_fail_status(st, "inspect");
    st = engine_inspect(stdout, f.data, f.size, json);
    engine_file_close(&f);
    if (st != INGOT_OK) return cli_fail_status(st, "inspect");
    return 0;
}
