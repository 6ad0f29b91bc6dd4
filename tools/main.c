#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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
               "  synth NAME -o ENGINE         write a synthetic engine (llama-7b, 1g, 5g, ...)\n"
               "  bench ENGINE                 measure an engine's throughput and latency (trtexec-style)\n"
               "'ingot <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) return cli_fail("no command given (see ingot --help)");
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
    if (!strcmp(c, "synth")) return cmd_synth(argc - 1, argv + 1);
    if (!strcmp(c, "bench")) return cmd_bench(argc - 1, argv + 1);
    return cli_fail("unknown command '%s' (see ingot --help)", c);
}

int cli_parse_shapes(char *spec, ingot_input_shape *shapes, int cap)
{
    int n = 0;
    for (char *item = strtok(spec, ","); item; item = strtok(NULL, ",")) {
        char *colon = strrchr(item, ':');
        if (!colon || colon == item) {
            cli_fail("--shapes: '%s' is not NAME:DIMS (e.g. input:1x3x224x224)", item);
            return -1;
        }
        if (n == cap) {
            cli_fail("--shapes: more than %d inputs", cap);
            return -1;
        }
        *colon = '\0';
        ingot_input_shape *s = &shapes[n];
        memset(s, 0, sizeof *s);
        s->name = item;
        char *p = colon + 1;
        if (*p && strcmp(p, "scalar") != 0) {
            for (;;) {
                char *end;
                long long v = strtoll(p, &end, 10);
                if (end == p || v < 0 || s->rank == INGOT_MAX_RANK) {
                    cli_fail("--shapes: bad dims '%s' for input '%s' (want e.g. 1x3x224x224, at most %d dims)",
                             colon + 1, item, INGOT_MAX_RANK);
                    return -1;
                }
                s->dims[s->rank++] = v;
                if (*end == '\0') break;
                if (*end != 'x') {
                    cli_fail("--shapes: bad dims '%s' for input '%s'", colon + 1, item);
                    return -1;
                }
                p = end + 1;
            }
        }
        n++;
    }
    return n;
}

int cli_parse_load_mode(const char *s)
{
    if (!strcmp(s, "auto")) return INGOT_LOAD_AUTO;
    if (!strcmp(s, "read")) return INGOT_LOAD_READ;
    if (!strcmp(s, "mmap")) return INGOT_LOAD_MMAP;
    if (!strcmp(s, "stream")) return INGOT_LOAD_STREAM;
    return -1;
}
