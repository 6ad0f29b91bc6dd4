/* The public API end to end on small models: build, save, load, run; every error path a user
 * can hit returns its status and a message naming the object; failed allocations leak nothing
 * (ASan build). */
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "check.h"
#include "core/alloc.h"
#include "ingot.h"
#include "onnx.pb-c.h"

#ifndef INGOT_SOURCE_DIR
#define INGOT_SOURCE_DIR "."
#endif

/* ---- tiny ONNX models, packed with protobuf-c ---- */

typedef struct node_spec {
    const char *op, *name;
    const char *in[3], *out[2];
    const char *attr_name; /* one INTS attribute, optional */
    int64_t attr_ints[4];
    size_t attr_n;
} node_spec;

/* A model with input "x" f32 [2,3], an initializer "w" f32 [3] = {1,2,3}, the given nodes, and
 * output `out_name`. *len: bytes. Caller frees. */
static uint8_t *make_model(const node_spec *nodes, size_t n_nodes, const char *out_name, size_t *len)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = {&opset};
    opset.domain = "";
    opset.has_version = 1;
    opset.version = 17;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.n_opset_import = 1;
    m.opset_import = opsets;
    m.graph = &g;
    g.name = "g";

    Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, d1 = d0;
    d0.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d0.dim_value = 2;
    d1.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d1.dim_value = 3;
    Onnx__TensorShapeProto__Dimension *dims[2] = {&d0, &d1};
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 2;
    shape.dim = dims;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = 1;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT, out = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__ValueInfoProto *ins[1] = {&in}, *outs[1] = {&out};
    in.name = "x";
    in.type = &type;
    out.name = (char *)out_name;
    g.n_input = 1;
    g.input = ins;
    g.n_output = 1;
    g.output = outs;

    float wv[3] = {1, 2, 3};
    int64_t wd[1] = {3};
    Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT, *inits[1] = {&w};
    w.name = "w";
    w.n_dims = 1;
    w.dims = wd;
    w.has_data_type = 1;
    w.data_type = 1;
    w.n_float_data = 3;
    w.float_data = wv;
    g.n_initializer = 1;
    g.initializer = inits;

    Onnx__NodeProto np[8], *npp[8];
    Onnx__AttributeProto ap[8], *app[8];
    for (size_t i = 0; i < n_nodes; i++) {
        Onnx__NodeProto tmp = ONNX__NODE_PROTO__INIT;
        np[i] = tmp;
        npp[i] = &np[i];
        np[i].op_type = (char *)nodes[i].op;
        np[i].name = (char *)nodes[i].name;
        np[i].input = (char **)nodes[i].in;
        while (np[i].n_input < 3 && nodes[i].in[np[i].n_input]) np[i].n_input++;
        np[i].output = (char **)nodes[i].out;
        while (np[i].n_output < 2 && nodes[i].out[np[i].n_output]) np[i].n_output++;
        if (nodes[i].attr_name) {
            Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
            ap[i] = a;
            app[i] = &ap[i];
            ap[i].name = (char *)nodes[i].attr_name;
            ap[i].has_type = 1;
            ap[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
            ap[i].n_ints = nodes[i].attr_n;
            ap[i].ints = (int64_t *)nodes[i].attr_ints;
            np[i].n_attribute = 1;
            np[i].attribute = &app[i];
        }
    }
    g.n_node = n_nodes;
    g.node = npp;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(*len);
    onnx__model_proto__pack(&m, buf);
    return buf;
}

static const node_spec add_w = {"Add", "add0", {"x", "w"}, {"y"}};

static void test_build_run(void)
{
    size_t len;
    uint8_t *model = make_model(&add_w, 1, "y", &len);
    ingot_engine *e = NULL;
    CHECK_STATUS(ingot_builder_build_buffer(model, len, NULL, &e), INGOT_OK, NULL);
    free(model);
    if (!e) return;
    CHECK(ingot_engine_num_inputs(e) == 1 && ingot_engine_num_outputs(e) == 1, "I/O counts");
    ingot_tensor_info info;
    CHECK_STATUS(ingot_engine_get_output(e, 0, &info), INGOT_OK, NULL);
    CHECK(info.dtype == INGOT_DTYPE_F32 && info.rank == 2 && info.dims[0] == 2 && info.dims[1] == 3,
          "output info inferred at build time: rank %d", info.rank);
    CHECK_STATUS(ingot_engine_get_output(e, 1, &info), INGOT_ERR_INVALID_ARG, "out of range");

    /* save to memory, load back, run both and compare */
    void *img = NULL;
    size_t img_size = 0;
    CHECK_STATUS(ingot_engine_save_buffer(e, &img, &img_size), INGOT_OK, NULL);
    ingot_engine *e2 = NULL;
    CHECK_STATUS(ingot_engine_load_buffer(img, img_size, NULL, &e2), INGOT_OK, NULL);
    ingot_free(img);
    float x[6] = {1, -2, 3.5f, 0, 10, -1}, want[6] = {2, 0, 6.5f, 1, 12, 2};
    ingot_engine *engines[2] = {e, e2};
    for (int k = 0; k < 2 && e2; k++) {
        ingot_context *c = NULL;
        CHECK_STATUS(ingot_context_create(engines[k], &c), INGOT_OK, NULL);
        if (!c) continue;
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_ERR_STATE, "'x' is not bound");
        CHECK_STATUS(ingot_context_bind_input(c, "nope", x, sizeof x), INGOT_ERR_NOT_FOUND, "nope");
        int64_t bad[2] = {2, 4};
        CHECK_STATUS(ingot_context_set_input_shape(c, "x", 2, bad), INGOT_ERR_SHAPE, "dim 1");
        CHECK_STATUS(ingot_context_bind_input(c, "x", x, 8), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_ERR_SHAPE, "needs 24");
        CHECK_STATUS(ingot_context_bind_input(c, "x", x, sizeof x), INGOT_OK, NULL);
        for (int run = 0; run < 3; run++) { /* persistent outputs: same buffer every run */
            CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
            const void *data = NULL;
            size_t size = 0;
            CHECK_STATUS(ingot_context_get_output(c, "y", &info, &data, &size), INGOT_OK, NULL);
            CHECK(size == sizeof want && data && memcmp(data, want, sizeof want) == 0, "values (engine %d run %d)", k, run);
        }
        /* the caller's output memory */
        float mine[6] = {0};
        CHECK_STATUS(ingot_context_bind_output(c, "y", mine, sizeof mine), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_OK, NULL);
        CHECK(memcmp(mine, want, sizeof want) == 0, "bound output written");
        float small[2];
        CHECK_STATUS(ingot_context_bind_output(c, "y", small, sizeof small), INGOT_OK, NULL);
        CHECK_STATUS(ingot_context_run(c, NULL), INGOT_ERR_SHAPE, "bound buffer holds 8");
        ingot_context_destroy(c);
    }
    ingot_engine_destroy(e2);
    ingot_engine_destroy(e);
}

static void test_model_errors(void)
{
    ingot_engine *e = NULL;
    CHECK_STATUS(ingot_builder_build_file("/nonexistent/model.onnx", NULL, &e), INGOT_ERR_IO, "/nonexistent/model.onnx");
    const char junk[] = "this is not an onnx model at all, just text";
    CHECK_STATUS(ingot_builder_build_buffer(junk, sizeof junk, NULL, &e), INGOT_ERR_CORRUPT, "ONNX");
    CHECK(e == NULL, "out untouched on failure");

    size_t len;
    const node_spec unsupported = {"FooBar", "weird", {"x"}, {"y"}};
    uint8_t *m = make_model(&unsupported, 1, "y", &len);
    CHECK_STATUS(ingot_builder_build_buffer(m, len, NULL, &e), INGOT_ERR_UNSUPPORTED, "'weird' (FooBar)");
    free(m);

    const node_spec dangling = {"Add", "add1", {"x", "ghost"}, {"y"}};
    m = make_model(&dangling, 1, "y", &len);
    CHECK_STATUS(ingot_builder_build_buffer(m, len, NULL, &e), INGOT_ERR_MODEL, "'ghost'");
    free(m);

    m = make_model(&add_w, 1, "nothing", &len);
    CHECK_STATUS(ingot_builder_build_buffer(m, len, NULL, &e), INGOT_ERR_MODEL, "'nothing'");
    free(m);

    /* a bad attribute: Transpose perm of the wrong length for a 2-D input */
    const node_spec bad_perm = {"Transpose", "tr", {"x"}, {"y"}, "perm", {0, 1, 2}, 3};
    m = make_model(&bad_perm, 1, "y", &len);
    ingot_status st = ingot_builder_build_buffer(m, len, NULL, &e);
    CHECK(st == INGOT_ERR_MODEL || st == INGOT_ERR_SHAPE, "bad perm: %s (%s)", ingot_status_name(st), ingot_last_error());
    CHECK(strstr(ingot_last_error(), "'tr'") != NULL, "message names the node: %s", ingot_last_error());
    free(m);

    /* every truncation of a valid model fails cleanly or builds; none crashes */
    m = make_model(&add_w, 1, "y", &len);
    int ok = 0;
    for (size_t cut = 0; cut < len; cut++) {
        ingot_engine *t = NULL;
        if (ingot_builder_build_buffer(m, cut, NULL, &t) == INGOT_OK) {
            ok++;
            ingot_engine_destroy(t);
        }
    }
    CHECK(ok < (int)len, "truncated models are rejected (%d of %zu cuts built)", ok, len);
    free(m);

    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.precision = (ingot_precision)99;
    m = make_model(&add_w, 1, "y", &len);
    CHECK_STATUS(ingot_builder_build_buffer(m, len, &o, &e), INGOT_ERR_INVALID_ARG, "precision 99");
    ingot_build_opts_init(&o);
    ingot_input_shape s = {"x", 2, {2, 5}};
    o.shapes = &s;
    o.n_shapes = 1;
    CHECK_STATUS(ingot_builder_build_buffer(m, len, &o, &e), INGOT_ERR_SHAPE, "'x'");
    free(m);
    CHECK_STATUS(ingot_engine_load("/nonexistent.engine", NULL, &e), INGOT_ERR_IO, "/nonexistent.engine");
}

/* Fail the Nth allocation for N = 1, 2, … until the whole path succeeds: every failure must be
 * clean (a status, nothing leaked; the ASan build checks leaks). */
static ingot_status alloc_path(void *arg)
{
    const char *path = arg;
    ingot_engine *e = NULL, *e2 = NULL;
    ingot_context *c = NULL;
    void *img = NULL;
    size_t size = 0;
    ingot_status st = ingot_builder_build_file(path, NULL, &e);
    if (st == INGOT_OK) st = ingot_engine_save_buffer(e, &img, &size);
    if (st == INGOT_OK) st = ingot_engine_load_buffer(img, size, NULL, &e2);
    if (st == INGOT_OK) st = ingot_context_create(e2, &c);
    static float x[64];
    int64_t shape[4] = {1, 1, 8, 8};
    if (st == INGOT_OK) st = ingot_context_set_input_shape(c, "image", 4, shape);
    if (st == INGOT_OK) st = ingot_context_bind_input(c, "image", x, sizeof x);
    if (st == INGOT_OK) st = ingot_context_run(c, NULL);
    ingot_context_destroy(c);
    ingot_engine_destroy(e2);
    ingot_free(img);
    ingot_engine_destroy(e);
    return st;
}

static void test_alloc_failures(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/digits_cnn/model.onnx", INGOT_SOURCE_DIR);
    long failures = check_alloc_failures(alloc_path, path);
    CHECK(failures > 20, "allocation failures were injected (%ld)", failures);
}

/* A model whose weight lives in an external data file (how models over 2 GB are stored): y = x + w
 * with w[3] at byte offset 8 of "weights.bin" beside the model. `location` and the file's
 * contents vary per case. Returns the build status; *out_first: y[0] when it ran. */
static ingot_status build_external(const char *dir, const char *location, const float *file_data, size_t file_floats,
                                   float *out_first)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    FILE *f = fopen(path, "wb");
    uint64_t pad = 0;
    fwrite(&pad, 1, 8, f);
    fwrite(file_data, sizeof(float), file_floats, f);
    fclose(f);

    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opsets[1] = {&opset};
    opset.has_version = 1;
    opset.version = 17;
    m.n_opset_import = 1;
    m.opset_import = opsets;
    m.graph = &g;
    Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, *dims[1] = {&d0};
    d0.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d0.dim_value = 3;
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1;
    shape.dim = dims;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = 1;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT, out = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__ValueInfoProto *ins[1] = {&in}, *outs[1] = {&out};
    in.name = "x";
    in.type = &type;
    out.name = "y";
    g.n_input = 1;
    g.input = ins;
    g.n_output = 1;
    g.output = outs;
    int64_t wd[1] = {3};
    Onnx__StringStringEntryProto kl = ONNX__STRING_STRING_ENTRY_PROTO__INIT, ko = kl, kn = kl;
    kl.key = "location";
    kl.value = (char *)location;
    ko.key = "offset";
    ko.value = "8";
    kn.key = "length";
    kn.value = "12";
    Onnx__StringStringEntryProto *ext[3] = {&kl, &ko, &kn};
    Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT, *inits[1] = {&w};
    w.name = "w";
    w.n_dims = 1;
    w.dims = wd;
    w.has_data_type = 1;
    w.data_type = 1;
    w.has_data_location = 1;
    w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    w.n_external_data = 3;
    w.external_data = ext;
    g.n_initializer = 1;
    g.initializer = inits;
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT, *nodes[1] = {&node};
    char *nin[2] = {"x", "w"}, *nout[1] = {"y"};
    node.op_type = "Add";
    node.n_input = 2;
    node.input = nin;
    node.n_output = 1;
    node.output = nout;
    g.n_node = 1;
    g.node = nodes;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&m, buf);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    f = fopen(path, "wb");
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);

    ingot_engine *e = NULL;
    ingot_status st = ingot_builder_build_file(path, NULL, &e);
    if (st != INGOT_OK) return st;
    ingot_context *c = NULL;
    float x[3] = {10, 20, 30};
    const void *y = NULL;
    ingot_tensor_info info;
    if ((st = ingot_context_create(e, &c)) == INGOT_OK && (st = ingot_context_bind_input(c, "x", x, sizeof x)) == INGOT_OK &&
        (st = ingot_context_run(c, NULL)) == INGOT_OK && (st = ingot_context_get_output(c, "y", &info, &y, NULL)) == INGOT_OK)
        *out_first = ((const float *)y)[0];
    ingot_context_destroy(c);
    ingot_engine_destroy(e);
    return st;
}

static void test_external_data(void)
{
    char dir[] = "/tmp/ingot-extdata-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    float w[3] = {1.5f, 2.5f, 3.5f}, y0 = 0;
    CHECK_STATUS(build_external(dir, "weights.bin", w, 3, &y0), INGOT_OK, NULL);
    CHECK(y0 == 11.5f, "y[0] = x[0] + w[0] read from the external file: %g", y0);
    CHECK_STATUS(build_external(dir, "missing.bin", w, 3, &y0), INGOT_ERR_IO, "missing.bin");
    CHECK_STATUS(build_external(dir, "weights.bin", w, 1, &y0), INGOT_ERR_CORRUPT, "initializer 'w'");
    CHECK_STATUS(build_external(dir, "../weights.bin", w, 3, &y0), INGOT_ERR_MODEL, "inside the model's folder");
    CHECK_STATUS(build_external(dir, "/etc/passwd", w, 3, &y0), INGOT_ERR_MODEL, "relative path");
    char path[1024];
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    remove(path);
    rmdir(dir);
}

int main(void)
{
    test_build_run();
    test_external_data();
    test_model_errors();
    test_alloc_failures();
    DONE();
}
