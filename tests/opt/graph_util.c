#include "graph_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "onnx.pb-c.h"
#include "backend/backend.h"
#ifdef INGOT_WITH_CUDA
#include "backend/cuda/cuda.h"
#endif
#include "ir/infer.h"
#include "onnx/importer.h"
#include "opt/passes.h"
#include "plan/memplan.h"
#include "runtime/runtime.h"

#define GU_MAX 256

struct gu_graph {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__NodeProto *nodes[GU_MAX];
    Onnx__TensorProto *inits[GU_MAX];
    Onnx__ValueInfoProto *inputs[GU_MAX], *outputs[GU_MAX];
    size_t n_nodes, n_inits, n_inputs, n_outputs;
    void *owned[GU_MAX * 8];
    size_t n_owned;
};

static void *own(gu_graph *g, void *p)
{
    if (g->n_owned < GU_MAX * 8) g->owned[g->n_owned++] = p;
    return p;
}

static void *gu_calloc(gu_graph *g, size_t n) { return own(g, calloc(1, n ? n : 1)); }

static char *gu_strdup(gu_graph *g, const char *s) { return own(g, strdup(s)); }

gu_graph *gu_new(int64_t opset)
{
    gu_graph *g = calloc(1, sizeof *g);
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto gr = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    g->model = m;
    g->graph = gr;
    g->opset = os;
    g->opset.domain = "";
    g->opset.has_version = 1;
    g->opset.version = opset;
    g->opsets[0] = &g->opset;
    g->model.has_ir_version = 1;
    g->model.ir_version = 8;
    g->model.n_opset_import = 1;
    g->model.opset_import = g->opsets;
    g->model.graph = &g->graph;
    g->graph.name = "g";
    return g;
}

void gu_free(gu_graph *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n_owned; i++) free(g->owned[i]);
    free(g);
}

static Onnx__ValueInfoProto *value_info(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = gu_calloc(g, sizeof *vi);
    Onnx__ValueInfoProto v = ONNX__VALUE_INFO_PROTO__INIT;
    *vi = v;
    vi->name = gu_strdup(g, name);
    if (dtype) {
        Onnx__TypeProto *tp = gu_calloc(g, sizeof *tp);
        Onnx__TypeProto t = ONNX__TYPE_PROTO__INIT;
        *tp = t;
        Onnx__TypeProto__Tensor *tt = gu_calloc(g, sizeof *tt);
        Onnx__TypeProto__Tensor t2 = ONNX__TYPE_PROTO__TENSOR__INIT;
        *tt = t2;
        tt->has_elem_type = 1;
        tt->elem_type = dtype;
        Onnx__TensorShapeProto *sh = gu_calloc(g, sizeof *sh);
        Onnx__TensorShapeProto s = ONNX__TENSOR_SHAPE_PROTO__INIT;
        *sh = s;
        sh->n_dim = (size_t)rank;
        sh->dim = gu_calloc(g, sizeof(void *) * (size_t)(rank + 1));
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = gu_calloc(g, sizeof *d);
            Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
            *d = d0;
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
            sh->dim[i] = d;
        }
        tt->shape = sh;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tp->tensor_type = tt;
        vi->type = tp;
    }
    return vi;
}

void gu_input(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims)
{
    g->inputs[g->n_inputs++] = value_info(g, name, dtype, rank, dims);
    g->graph.n_input = g->n_inputs;
    g->graph.input = g->inputs;
}

void gu_output(gu_graph *g, const char *name)
{
    g->outputs[g->n_outputs++] = value_info(g, name, 0, 0, NULL);
    g->graph.n_output = g->n_outputs;
    g->graph.output = g->outputs;
}

void gu_const(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims, const void *data)
{
    Onnx__TensorProto *t = gu_calloc(g, sizeof *t);
    Onnx__TensorProto t0 = ONNX__TENSOR_PROTO__INIT;
    *t = t0;
    t->name = gu_strdup(g, name);
    t->n_dims = (size_t)rank;
    t->dims = gu_calloc(g, sizeof(int64_t) * (size_t)(rank + 1));
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        n *= (size_t)dims[i];
    }
    t->has_data_type = 1;
    t->data_type = dtype;
    size_t bytes = n * ingot_dtype_size((ingot_dtype)dtype);
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = gu_calloc(g, bytes);
    memcpy(t->raw_data.data, data, bytes);
    g->inits[g->n_inits++] = t;
    g->graph.n_initializer = g->n_inits;
    g->graph.initializer = g->inits;
}

void gu_const_as(gu_graph *g, const char *name, int dtype, int rank, const int64_t *dims, const float *v, int64_t n)
{
    if (dtype == INGOT_DTYPE_F32) {
        gu_const(g, name, dtype, rank, dims, v);
        return;
    }
    uint16_t *h = gu_calloc(g, (size_t)(n ? n : 1) * sizeof *h);
    for (int64_t i = 0; i < n; i++) h[i] = dtype == INGOT_DTYPE_F16 ? ing_f32_to_f16(v[i]) : ing_f32_to_bf16(v[i]);
    gu_const(g, name, dtype, rank, dims, h);
}

void gu_projection(gu_graph *g, int dtype, const char *x, const char *name, int64_t k, int64_t n, const float *w,
                   const float *bias, const char *out)
{
    char wn[128], bn[128], node[128], mm[128], in[300];
    snprintf(wn, sizeof wn, "w%s", name);
    snprintf(bn, sizeof bn, "b%s", name);
    snprintf(mm, sizeof mm, "%s_mm", name);
    gu_const_as(g, wn, dtype, 2, (int64_t[]){k, n}, w, k * n);
    gu_const_as(g, bn, dtype, 1, (int64_t[]){n}, bias, n);
    snprintf(node, sizeof node, "mm_%s", name);
    snprintf(in, sizeof in, "%s,%s", x, wn);
    gu_node(g, "MatMul", node, in, mm);
    snprintf(node, sizeof node, "add_%s", name);
    snprintf(in, sizeof in, "%s,%s", mm, bn);
    gu_node(g, "Add", node, in, out);
}

void gu_bert_attention(gu_graph *g, int dtype, int64_t b, int64_t s, int64_t h, int64_t d, const char *mask,
                       int nan_guard)
{
    float sc = sqrtf((float)d), zero = 0.0f;
    char in[256];
    gu_const_as(g, "scale", dtype, 0, NULL, &sc, 1);
    gu_const(g, "split", INGOT_DTYPE_I64, 1, (int64_t[]){4}, (int64_t[]){b, s, h, d});
    gu_const(g, "merge", INGOT_DTYPE_I64, 1, (int64_t[]){3}, (int64_t[]){b, s, h * d});
    gu_node(g, "Reshape", "rq", "q3,split", "q4");
    gu_node(g, "Transpose", "tq", "q4", "q");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 2, 1, 3});
    gu_node(g, "Reshape", "rk", "k3,split", "k4");
    gu_node(g, "Transpose", "tk", "k4", "kt");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 2, 3, 1});
    gu_node(g, "Reshape", "rv", "v3,split", "v4");
    gu_node(g, "Transpose", "tv", "v4", "v");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 2, 1, 3});
    gu_node(g, "MatMul", "qk", "q,kt", "sc");
    gu_node(g, "Div", "div", "sc,scale", "ss");
    if (mask) {
        snprintf(in, sizeof in, "ss,%s", mask);
        gu_node(g, "Add", "add_mask", in, "sm");
    }
    gu_node(g, "Softmax", "softmax", mask ? "sm" : "ss", "p");
    gu_attr_int(g, "axis", -1);
    if (nan_guard) {
        gu_const_as(g, "zero", dtype, 1, (int64_t[]){1}, &zero, 1);
        gu_node(g, "IsNaN", "isnan", "p", "nan");
        gu_node(g, "Where", "where", "nan,zero,p", "pw");
    }
    gu_node(g, "MatMul", "pv", nan_guard ? "pw,v" : "p,v", "o");
    gu_node(g, "Transpose", "to", "o", "ot");
    gu_attr_ints(g, "perm", 4, (int64_t[]){0, 2, 1, 3});
    gu_node(g, "Reshape", "ro", "ot,merge", "y");
}

void gu_const_f32(gu_graph *g, const char *name, int rank, const int64_t *dims, const float *data)
{
    gu_const(g, name, INGOT_DTYPE_F32, rank, dims, data);
}

static char **split(gu_graph *g, const char *list, size_t *n)
{
    char **out = gu_calloc(g, sizeof(char *) * 64);
    *n = 0;
    if (!list || !*list) return out;
    char *copy = gu_strdup(g, list), *p = copy;
    for (;;) {
        char *c = strchr(p, ',');
        if (c) *c = '\0';
        out[(*n)++] = p;
        if (!c) break;
        p = c + 1;
    }
    return out;
}

void gu_node(gu_graph *g, const char *op, const char *name, const char *inputs, const char *outputs)
{
    Onnx__NodeProto *n = gu_calloc(g, sizeof *n);
    Onnx__NodeProto n0 = ONNX__NODE_PROTO__INIT;
    *n = n0;
    n->op_type = gu_strdup(g, op);
    n->name = gu_strdup(g, name);
    n->input = split(g, inputs, &n->n_input);
    n->output = split(g, outputs, &n->n_output);
    n->attribute = gu_calloc(g, sizeof(void *) * 32);
    g->nodes[g->n_nodes++] = n;
    g->graph.n_node = g->n_nodes;
    g->graph.node = g->nodes;
}

static Onnx__AttributeProto *new_attr(gu_graph *g, const char *name, int type)
{
    Onnx__NodeProto *n = g->nodes[g->n_nodes - 1];
    Onnx__AttributeProto *a = gu_calloc(g, sizeof *a);
    Onnx__AttributeProto a0 = ONNX__ATTRIBUTE_PROTO__INIT;
    *a = a0;
    a->name = gu_strdup(g, name);
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

void gu_attr_int(gu_graph *g, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = new_attr(g, name, 2);
    a->has_i = 1;
    a->i = v;
}

void gu_attr_float(gu_graph *g, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(g, name, 1);
    a->has_f = 1;
    a->f = v;
}

void gu_attr_ints(gu_graph *g, const char *name, size_t n, const int64_t *v)
{
    Onnx__AttributeProto *a = new_attr(g, name, 7);
    a->n_ints = n;
    a->ints = gu_calloc(g, sizeof(int64_t) * (n + 1));
    memcpy(a->ints, v, sizeof(int64_t) * n);
}

void gu_attr_string(gu_graph *g, const char *name, const char *v)
{
    Onnx__AttributeProto *a = new_attr(g, name, 3);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)gu_strdup(g, v);
}

uint8_t *gu_pack(gu_graph *g, size_t *len)
{
    *len = onnx__model_proto__get_packed_size(&g->model);
    uint8_t *buf = malloc(*len ? *len : 1);
    onnx__model_proto__pack(&g->model, buf);
    return buf;
}

ingot_engine *gu_build(gu_graph *g, const char *const *disabled, size_t n_disabled, int *steps)
{
    int no_backend = 0;
    ingot_engine *e = gu_build_for(g, INGOT_BACKEND_CPU, disabled, n_disabled, &no_backend);
    if (e && steps) *steps = e->plan->model->bodies[0].n_nodes;
    return e;
}

#ifdef INGOT_WITH_CUDA
/* The CUDA backend's kernel table (what its has_kernel answers when NVRTC loads), without
 * touching a GPU or loading NVRTC. */
static int gpu_has_kernel(const char *op) { return cuda_kernel_lookup(op) != NULL; }
#else
static int gpu_has_kernel(const char *op)
{
    (void)op;
    return 1;
}
#endif

/* Takes m. */
static ingot_engine *build_as_gpu(ir_model *m, int precision, const char *const *disabled, size_t n_disabled,
                                  int *steps)
{
    engine_plan *plan = NULL;
    ingot_engine *e = NULL;
    opt_options oo = {INGOT_BACKEND_CUDA, precision, gpu_has_kernel}; /* passes for CUDA (layout_nhwc) */
    ingot_status st = ir_infer_model(m);
    if (st == INGOT_OK) st = opt_run(m, &oo, disabled, n_disabled, 0);
    if (st == INGOT_OK && (st = engine_plan_create(m, &plan)) == INGOT_OK) m = NULL;
    if (st == INGOT_OK) {
        plan->target.backend = INGOT_BACKEND_CPU;
        plan->target.precision = precision;
        st = plan_memory(plan);
    }
    if (st == INGOT_OK) st = ing_backend_cpu.prepare(plan, NULL);
    if (st == INGOT_OK && (st = runtime_engine_from_plan(plan, &e)) == INGOT_OK) plan = NULL;
    ir_model_destroy(m);
    engine_plan_destroy(plan);
    if (st != INGOT_OK) {
        printf("gu_build_as_gpu: %s\n", ingot_last_error());
        return NULL;
    }
    if (steps) *steps = e->plan->model->bodies[0].n_nodes;
    return e;
}

ingot_engine *gu_build_as_gpu(gu_graph *g, int precision, const char *const *disabled, size_t n_disabled, int *steps)
{
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    ir_model *m = NULL;
    ingot_status st = onnx_import_buffer(bytes, len, ".", &m);
    free(bytes);
    if (st != INGOT_OK) {
        printf("gu_build_as_gpu: %s\n", ingot_last_error());
        return NULL;
    }
    return build_as_gpu(m, precision, disabled, n_disabled, steps);
}

ingot_engine *gu_build_file_as_gpu(const char *path, int precision, const char *const *disabled, size_t n_disabled,
                                   int *steps)
{
    ir_model *m = NULL;
    if (onnx_import_file(path, &m) != INGOT_OK) {
        printf("gu_build_file_as_gpu: %s\n", ingot_last_error());
        return NULL;
    }
    return build_as_gpu(m, precision, disabled, n_disabled, steps);
}

ingot_status gu_build_cuda_pair(gu_graph *g, int precision, int skip_gpu, ingot_engine **gpu, ingot_engine **cpu)
{
    size_t len = 0;
    uint8_t *bytes = gu_pack(g, &len);
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = INGOT_BACKEND_CUDA;
    o.precision = precision;
    *gpu = *cpu = NULL;
    ingot_status st = skip_gpu ? INGOT_ERR_BACKEND : ingot_builder_build_buffer(bytes, len, &o, gpu);
    free(bytes);
    if (st == INGOT_ERR_BACKEND && !skip_gpu) printf("SKIP: no usable CUDA device: %s\n", ingot_last_error());
    if (st != INGOT_OK && st != INGOT_ERR_BACKEND) printf("gu_build_cuda_pair: CUDA build: %s\n", ingot_last_error());
    if (st != INGOT_ERR_BACKEND) *cpu = gu_build_as_gpu(g, precision, NULL, 0, NULL);
    gu_free(g);
    return st;
}

const ir_node *gu_find_op(const ingot_engine *e, const char *op)
{
    const ir_model *m = e->plan->model;
    for (int32_t k = 0; k < m->bodies[0].n_nodes; k++)
        if (!strcmp(m->nodes[m->bodies[0].nodes[k]].op, op)) return &m->nodes[m->bodies[0].nodes[k]];
    return NULL;
}

int gu_steps_use(const ingot_engine *e, const char *op, const char *want, char *why, size_t cap)
{
    const engine_plan *pl = e->plan;
    const ir_model *m = pl->model;
    int found = 0;
    for (int32_t k = 0; k < m->bodies[0].n_nodes; k++) {
        int32_t id = m->bodies[0].nodes[k];
        if (strcmp(m->nodes[id].op, op) != 0) continue;
        found = 1;
        const char *kn = pl->steps && pl->steps[id].kernel ? pl->steps[id].kernel : "(none)";
        if (strcmp(kn, want) != 0) {
            snprintf(why, cap, "the build chose kernel '%s', expected '%s'", kn, want);
            return 0;
        }
    }
    if (!found) snprintf(why, cap, "no %s node left after optimization", op);
    return found;
}

int gu_count_op(const ingot_engine *e, const char *op)
{
    const ir_model *m = e->plan->model;
    int c = 0;
    for (int32_t k = 0; k < m->bodies[0].n_nodes; k++)
        c += !strcmp(m->nodes[m->bodies[0].nodes[k]].op, op);
    return c;
}

int gu_count_attr(const ingot_engine *e, const char *attr)
{
    const ir_model *m = e->plan->model;
    int c = 0;
    for (int32_t k = 0; k < m->bodies[0].n_nodes; k++) c += ir_attr_int(&m->nodes[m->bodies[0].nodes[k]], attr, 0) != 0;
    return c;
}

ingot_engine *gu_build_for(gu_graph *g, ingot_backend b, const char *const *disabled, size_t n_disabled,
                           int *no_backend)
{
    return gu_build_for_precision(g, b, INGOT_PRECISION_FP32, disabled, n_disabled, no_backend);
}

ingot_engine *gu_build_for_precision(gu_graph *g, ingot_backend b, int precision, const char *const *disabled,
                                     size_t n_disabled, int *no_backend)
{
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    ingot_build_opts o;
    ingot_build_opts_init(&o);
    o.backend = b;
    o.precision = precision;
    o.disabled_passes = disabled;
    o.n_disabled_passes = n_disabled;
    ingot_engine *e = NULL;
    ingot_status st = ingot_builder_build_buffer(bytes, len, &o, &e);
    free(bytes);
    if (st == INGOT_ERR_BACKEND && b == INGOT_BACKEND_CUDA) *no_backend = 1;
    else if (st != INGOT_OK) printf("build (%s): %s\n", b == INGOT_BACKEND_CUDA ? "cuda" : "cpu", ingot_last_error());
    return e;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int gu_same_outputs(ingot_engine *a, ingot_engine *b, uint64_t seed, double rtol, double atol)
{
    gu_compare_opts o = {seed, 1, -2.0, 2.0, 0, rtol, atol};
    return gu_compare(a, b, &o);
}

/* Output j of both contexts within tolerance; 0 with a message naming the element. */
static int same_output(ingot_context *ca, ingot_context *cb, const char *name, int run, double rtol, double atol)
{
    ingot_tensor_info ia, ib;
    const void *da, *db;
    size_t sa, sb;
    if (ingot_context_get_output(ca, name, &ia, &da, &sa) != INGOT_OK ||
        ingot_context_get_output(cb, name, &ib, &db, &sb) != INGOT_OK) {
        printf("gu_compare: get_output '%s': %s\n", name, ingot_last_error());
        return 0;
    }
    if (sa != sb || ia.dtype != ib.dtype || ia.rank != ib.rank) {
        printf("gu_compare: output '%s' differs in type or size (%zu vs %zu bytes)\n", name, sa, sb);
        return 0;
    }
    size_t n = sa / (ingot_dtype_size(ia.dtype) ? ingot_dtype_size(ia.dtype) : 1);
    for (size_t k = 0; k < n; k++) {
        double x = ing_load_f64(ia.dtype, da, k), y = ing_load_f64(ib.dtype, db, k);
        if (isnan(x) && isnan(y)) continue;
        if (isnan(x) || isnan(y) || fabs(x - y) > atol + rtol * fabs(y)) {
            printf("gu_compare: run %d: output '%s' %s [%zu of %zu]: %.9g vs %.9g (tolerance %g + %g rel)%s\n", run, name,
                   ingot_dtype_name(ia.dtype), k, n, x, y, atol, rtol, isnan(x) ? " (NaN: never written?)" : "");
            return 0;
        }
    }
    return 1;
}

int gu_compare(ingot_engine *a, ingot_engine *b, const gu_compare_opts *o)
{
    ingot_context *ca = NULL, *cb = NULL;
    int same = 1;
    void *bufs[64] = {0}, *outs[64] = {0};
    size_t n_in = ingot_engine_num_inputs(a), n_out = ingot_engine_num_outputs(a);
    if (ingot_context_create(a, &ca) != INGOT_OK || ingot_context_create(b, &cb) != INGOT_OK) {
        printf("gu_compare: %s\n", ingot_last_error());
        same = 0;
        goto done;
    }
    uint64_t s = o->seed | 1;
    for (int run = 0; run < o->runs && same; run++) {
        for (size_t i = 0; i < n_in && i < 64; i++) { /* fresh inputs every run */
            ingot_tensor_info info;
            ingot_engine_get_input(a, i, &info);
            ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
            for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
            size_t nb = ing_nbytes(&t);
            if (!bufs[i]) bufs[i] = calloc(1, nb ? nb : 1);
            t.data = bufs[i];
            for (int64_t k = 0; k < ing_numel(&t); k++) {
                double u = (double)(rng(&s) >> 11) / 9007199254740992.0;
                if (ing_dtype_is_float(t.dtype)) ing_store_f64(t.dtype, t.data, (size_t)k, o->lo + (o->hi - o->lo) * u);
                else ing_store_i64(t.dtype, t.data, (size_t)k, (int64_t)(u * 4));
            }
            ingot_context_bind_input(ca, info.name, t.data, nb);
            ingot_context_bind_input(cb, info.name, t.data, nb);
        }
        for (size_t j = 0; j < n_out && j < 64 && o->poison; j++) { /* a's outputs: 0xFF (NaN) first */
            ingot_tensor_info info;
            ingot_engine_get_output(a, j, &info);
            ing_tensor t = {.dtype = info.dtype, .rank = info.rank};
            for (int d = 0; d < info.rank; d++) t.dims[d] = info.dims[d];
            size_t nb = ing_nbytes(&t);
            if (!outs[j]) outs[j] = malloc(nb ? nb : 1);
            memset(outs[j], 0xFF, nb);
            ingot_context_bind_output(ca, info.name, outs[j], nb);
        }
        if (ingot_context_run(ca, NULL) != INGOT_OK || ingot_context_run(cb, NULL) != INGOT_OK) {
            printf("gu_compare: run %d: %s\n", run, ingot_last_error());
            same = 0;
            goto done;
        }
        for (size_t j = 0; j < n_out && same; j++) {
            ingot_tensor_info info;
            ingot_engine_get_output(a, j, &info);
            same = same_output(ca, cb, info.name, run, o->rtol, o->atol);
        }
    }
done:
    for (size_t i = 0; i < 64; i++) {
        free(bufs[i]);
        free(outs[i]);
    }
    ingot_context_destroy(ca);
    ingot_context_destroy(cb);
    return same;
}

int gu_inputs_fixed(const ingot_engine *e)
{
    int fixed = 1;
    for (size_t k = 0; k < ingot_engine_num_inputs(e); k++) {
        ingot_tensor_info info;
        ingot_engine_get_input(e, k, &info);
        for (int d = 0; d < info.rank; d++) fixed &= info.dims[d] >= 0;
    }
    return fixed;
}

int gu_alloc_failures(gu_graph *g, int *failures)
{
    size_t len;
    uint8_t *bytes = gu_pack(g, &len);
    gu_free(g);
    int succeeded = 0, bad = 0;
    *failures = 0;
    for (long n = 1; n < 20000 && !succeeded && !bad && bytes; n++) {
        ingot_engine *e = NULL;
        ing_alloc_fail_at(n);
        ingot_status st = ingot_builder_build_buffer(bytes, len, NULL, &e);
        ing_alloc_fail_at(0);
        if (st == INGOT_OK) succeeded = 1;
        else if (st == INGOT_ERR_NOMEM) (*failures)++;
        else {
            printf("gu_alloc_failures: allocation %ld failed with %s instead of NOMEM: %s\n", n,
                   ingot_status_name(st), ingot_last_error());
            bad = 1;
        }
        ingot_engine_destroy(e);
    }
    free(bytes);
    return succeeded && !bad;
}
