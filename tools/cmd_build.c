#include "cli.h"

int cmd_build(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("'build' is not implemented yet");
}
