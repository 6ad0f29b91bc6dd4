#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ingot: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_fail_status(ingot_status st, const char *what)
{
    return cli_fail("%s: %s (%s)", what, ingot_last_error(), ingot_status_name(st));
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ingot <command> [options]\n"
               "commands:\n"
               "  build MODEL.onnx -o ENGINE   optimize a model into an engine\n"
               "  run ENGINE                   run an engine on inputs (random when none given)\n"
               "  inspect ENGINE               print an engine's header, I/O, steps and weights\n"
               "  conformance DIR              run the ONNX backend node tests in DIR\n"
               "  demo                         build and run the bundled digits model\n"
               "'ingot <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        printf("ingot %s\n", ingot_version());
        return 0;
    }
    if (!strcmp(c, "build")) return cmd_build(argc - 1, argv + 1);
    if (!strcmp(c, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(c, "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(c, "conformance")) return cmd_conformance(argc - 1, argv + 1);
    if (!strcmp(c, "demo")) return cmd_demo(argc - 1, argv + 1);
    usage(stderr);
    return cli_fail("unknown command '%s'", c);
}
