#include "cli.h"

int cmd_conformance(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_fail("'conformance' is not implemented yet");
}
