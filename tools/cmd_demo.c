/* `ingot demo`: build the bundled digits model, save and reload the engine, classify the 360
 * bundled test images one at a time, and report accuracy, latency and throughput. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "cli.h"
#include "core/alloc.h"
#include "pbio.h"

static int usage(FILE *f, int rc)
{
    fprintf(f, "usage: ingot demo [--model DIR] [--engine PATH] [--backend cpu|cuda]\n"
               "Builds DIR/model.onnx (default models/digits_cnn) into an engine (CUDA when this build\n"
               "and machine have it, CPU otherwise), saves it to PATH (default digits.engine), loads\n"
               "it back, classifies DIR/test_data_set_0/input_0.pb image by image against labels.pb,\n"
               "and prints accuracy, latency (median, p99) and throughput.\n");
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    const char *dir = "models/digits_cnn", *engine_path = "digits.engine";
    int backend = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        if (!strcmp(argv[i], "--model") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--engine") && i + 1 < argc) engine_path = argv[++i];
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            const char *b = argv[++i];
            if (!strcmp(b, "cpu")) backend = INGOT_BACKEND_CPU;
            else if (!strcmp(b, "cuda")) backend = INGOT_BACKEND_CUDA;
            else return cli_fail("demo: --backend '%s' is not a backend (cpu, cuda)", b);
        } else return cli_fail("demo: unknown argument '%s' (see ingot demo --help)", argv[i]);
    }
    if (backend < 0) {
        const ing_backend *cuda = ing_backend_get(INGOT_BACKEND_CUDA);
        backend = cuda && cuda->available() == INGOT_OK ? INGOT_BACKEND_CUDA : INGOT_BACKEND_CPU;
    }
    char path[4200];
    ing_tensor images = {0}, labels = {0}, ref = {0};
    size_t nb;
    ingot_engine *e = NULL;
    ingot_context *c = NULL;
    double *lat = NULL;
    int rc = 1;
    ingot_status st;

    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ingot_build_opts bo;
    ingot_build_opts_init(&bo);
    bo.backend = (ingot_backend)backend;
    double t0 = cli_now_s();
    if ((st = ingot_builder_build_file(path, &bo, &e)) != INGOT_OK) {
        cli_fail_status(st, "demo: build");
        goto done;
    }
    double t_build = cli_now_s() - t0;
    if ((st = ingot_engine_save(e, engine_path)) != INGOT_OK) {
        cli_fail_status(st, "demo: save");
        goto done;
    }
    ingot_engine_destroy(e);
    e = NULL;
    t0 = cli_now_s();
    if ((st = ingot_engine_load(engine_path, NULL, &e)) != INGOT_OK) {
        cli_fail_status(st, "demo: load");
        goto done;
    }
    double t_load = cli_now_s() - t0;
    printf("engine: %s (%s backend), built in %.1f ms, loaded in %.2f ms\n", engine_path,
           backend == INGOT_BACKEND_CUDA ? "cuda" : "cpu", t_build * 1e3, t_load * 1e3);

    snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
    if ((st = tensor_file_read(path, &images, &nb, NULL)) != INGOT_OK) {
        cli_fail_status(st, "demo: images");
        goto done;
    }
    snprintf(path, sizeof path, "%s/test_data_set_0/labels.pb", dir);
    if ((st = tensor_file_read(path, &labels, &nb, NULL)) != INGOT_OK) {
        cli_fail_status(st, "demo: labels");
        goto done;
    }
    snprintf(path, sizeof path, "%s/test_data_set_0/output_0.pb", dir);
    if ((st = tensor_file_read(path, &ref, &nb, NULL)) != INGOT_OK) {
        cli_fail_status(st, "demo: reference outputs");
        goto done;
    }
    if (images.dtype != INGOT_DTYPE_F32 || images.rank != 4 || labels.rank != 1 || labels.dims[0] != images.dims[0]) {
        cli_fail("demo: expected f32 images [N,C,H,W] and N labels");
        goto done;
    }
    ingot_tensor_info in_info, out_info;
    ingot_engine_get_input(e, 0, &in_info);
    ingot_engine_get_output(e, 0, &out_info);
    if ((st = ingot_context_create(e, &c)) != INGOT_OK) {
        cli_fail_status(st, "demo: context");
        goto done;
    }
    int64_t n = images.dims[0];
    int64_t one[4] = {1, images.dims[1], images.dims[2], images.dims[3]};
    size_t img_bytes = (size_t)(one[1] * one[2] * one[3]) * sizeof(float);
    lat = malloc((size_t)n * sizeof(double));
    if (!lat) goto done;
    int correct = 0;
    double max_diff = 0;
    if ((st = ingot_context_set_input_shape(c, in_info.name, 4, one)) != INGOT_OK) {
        cli_fail_status(st, "demo");
        goto done;
    }
    for (int warm = 0; warm < 10; warm++) {
        ingot_context_bind_input(c, in_info.name, images.data, img_bytes);
        ingot_context_run(c, NULL);
    }
    for (int64_t i = 0; i < n; i++) {
        const float *img = (const float *)images.data + (size_t)i * (img_bytes / sizeof(float));
        t0 = cli_now_s();
        st = ingot_context_bind_input(c, in_info.name, img, img_bytes);
        if (st == INGOT_OK) st = ingot_context_run(c, NULL);
        const void *out;
        ingot_tensor_info oi;
        if (st == INGOT_OK) st = ingot_context_get_output(c, out_info.name, &oi, &out, &nb);
        lat[i] = cli_now_s() - t0;
        if (st != INGOT_OK) {
            cli_fail_status(st, "demo: run");
            goto done;
        }
        const float *logits = out;
        int64_t k = oi.dims[oi.rank - 1], best = 0;
        for (int64_t j = 1; j < k; j++)
            if (logits[j] > logits[best]) best = j;
        correct += best == ((const int64_t *)labels.data)[i];
        for (int64_t j = 0; j < k && j < ref.dims[1]; j++) {
            double d = fabs(logits[j] - ((const float *)ref.data)[i * ref.dims[1] + j]);
            if (d > max_diff) max_diff = d;
        }
    }
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += lat[i];
    qsort(lat, (size_t)n, sizeof(double), cli_cmp_double);
    /* throughput at full batch */
    int64_t all[4] = {n, images.dims[1], images.dims[2], images.dims[3]};
    double t_batch = 0;
    if ((st = ingot_context_set_input_shape(c, in_info.name, 4, all)) == INGOT_OK &&
        (st = ingot_context_bind_input(c, in_info.name, images.data, img_bytes * (size_t)n)) == INGOT_OK) {
        ingot_context_run(c, NULL);
        t0 = cli_now_s();
        for (int r = 0; r < 10 && st == INGOT_OK; r++) st = ingot_context_run(c, NULL);
        t_batch = (cli_now_s() - t0) / 10;
    }
    if (st != INGOT_OK) {
        cli_fail_status(st, "demo: batch run");
        goto done;
    }
    printf("accuracy: %.4f (%d/%lld correct; PyTorch fp32 reference: see %s/accuracy.json)\n", (double)correct / (double)n,
           correct, (long long)n, dir);
    printf("max |logit - reference|: %.3g\n", max_diff);
    printf("latency (batch 1, bind+run+read, %lld runs): median %.3f ms, p99 %.3f ms\n", (long long)n,
           lat[n / 2] * 1e3, lat[(size_t)((double)n * 0.99) < (size_t)n ? (size_t)((double)n * 0.99) : (size_t)n - 1] * 1e3);
    printf("throughput: %.0f images/s at batch 1, %.0f images/s at batch %lld\n", (double)n / sum,
           (double)n / t_batch, (long long)n);
    rc = 0;
done:
    free(lat);
    ing_free(images.data);
    ing_free(labels.data);
    ing_free(ref.data);
    ingot_context_destroy(c);
    ingot_engine_destroy(e);
    return rc;
}
