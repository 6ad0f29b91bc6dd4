/* The cleanup passes (eliminate_identity, fold_constants, eliminate_dead, cse): each graph is
 * built twice, with every pass off and with only the pass(es) under test on; the test checks the op
 * counts of both and that both engines give the same outputs on random inputs, bit for bit
 * (folding runs the same CPU kernels, the other passes only rewire). Negative cases check that
 * a pass leaves alone what it cannot prove equivalent. */
#include <string.h>

#include "check.h"
#include "graph_util.h"
#include "runtime/runtime.h"

#define F32 INGOT_DTYPE_F32
#define I64 INGOT_DTYPE_I64

typedef struct built {
    ingot_engine *off, *on; /* every pass off; only `pass` on */
    int n_off, n_on;        /* main-graph nodes */
} built;

/* Is name one of the comma-separated names in list? */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        p = c ? c + 1 : NULL;
    }
    return 0;
}

/* Build g with all passes off, and with only the passes in `on` (comma-separated) on. */
static int build2(gu_graph *g, const char *on, built *b)
{
    const char *names[64], *off[64];
    size_t n = ingot_pass_count(), k = 0;
    if (n > 64) n = 64;
    for (size_t i = 0; i < n; i++) {
        names[i] = ingot_pass_name(i, NULL);
        if (!listed(on, names[i])) off[k++] = names[i];
    }
    b->off = gu_build(g, names, n, &b->n_off);
    b->on = gu_build(g, off, k, &b->n_on);
    return b->off && b->on;
}

static void drop(built *b)
{
    ingot_engine_destroy(b->off);
    ingot_engine_destroy(b->on);
    memset(b, 0, sizeof *b);
}

static int same(built *b) { return gu_same_outputs(b->on, b->off, 0x5eed, 0, 0); }

static const char *output_name(const ingot_engine *e, size_t i)
{
    ingot_tensor_info info;
    if (ingot_engine_get_output(e, i, &info) != INGOT_OK) return "";
    return info.name;
}

/* The value named `name` in e's model, or NULL. */
static const ir_value *find_value(const ingot_engine *e, const char *name)
{
    const ir_model *m = e->plan->model;
    for (int32_t v = 0; v < m->n_values; v++)
        if (!strcmp(m->values[v].name, name)) return &m->values[v];
    return NULL;
}

/* ---- eliminate_identity ------------------------------------------------------------------- */

static void test_identity_chain(void)
{
    /* Identity → Relu → Identity(graph output): Relu must end up writing "y" */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){2, 3});
    gu_node(g, "Identity", "id0", "x", "a");
    gu_node(g, "Relu", "relu", "a", "b");
    gu_node(g, "Identity", "id1", "b", "y");
    gu_output(g, "y");
    built b;
    if (build2(g, "eliminate_identity", &b)) {
        CHECK(b.n_off == 3 && b.n_on == 1, "identity chain: %d -> %d nodes, want 3 -> 1", b.n_off, b.n_on);
        CHECK(gu_count_op(b.on, "Identity") == 0, "no Identity left");
        CHECK(!strcmp(output_name(b.on, 0), "y"), "output keeps its name (got '%s')", output_name(b.on, 0));
        const ir_node *r = gu_find_op(b.on, "Relu");
        CHECK(r && !strcmp(b.on->plan->model->values[r->out[0]].name, "y"), "Relu writes y");
        CHECK(same(&b), "identity chain: same outputs");
    } else CHECK(0, "identity chain builds");
    drop(&b);
    gu_free(g);
}

static void test_identity_bound_values(void)
{
    /* input → Identity → output: the input is bound by the user, so the node stays; likewise
     * an Identity between two graph outputs */
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 1, (int64_t[]){4});
    gu_node(g, "Identity", "id0", "x", "y");
    gu_node(g, "Relu", "relu", "x", "t");
    gu_node(g, "Identity", "id1", "t", "u");
    gu_output(g, "y");
    gu_output(g, "t");
    gu_output(g, "u");
    built b;
    if (build2(g, "eliminate_identity", &b)) {
        CHECK(b.n_on == 3 && gu_count_op(b.on, "Identity") == 2, "bound identities stay (%d nodes)", b.n_on);
        CHECK(same(&b), "bound identities: same outputs");
    } else CHECK(0, "bound identities build");
    drop(&b);
    gu_free(g);
}

static void test_dropout(void)
{
    float ratio = 0.3f;
    uint8_t yes = 1;
    gu_graph *g = gu_new(13);
    gu_input(g, "x", F32, 2, (int64_t[]){3, 4});
    gu_const(g, "r", F32, 0, NULL, &ratio);
    gu_const(g, "train", INGOT_DTYPE_BOOL, 0, NULL, &yes);
    gu_node(g, "Dropout", "d0", "x,r", "a");          /* inference: removed */
    gu_node(g, "Dropout", "d1", "a,r", "b,mask");     /* mask is an output: stays */
    gu_node(g, "Dropout", "d2", "b,r,train", "c");    /* training mode: stays */
    gu_node(g, "Dropout", "d3", "c", "y,unused_mask"); /* mask unused: removed */
    gu_output(g, "y");
    gu_output(g, "mask");
    built b;
    if (build2(g, "eliminate_identity", &b)) {
        CHECK(gu_count_op(b.off, "Dropout") == 4 && gu_count_op(b.on, "Dropout") == 2,
              "dropouts: %d -> %d, want 4 -> 2", gu_count_op(b.off, "Dropout"), gu_count_op(b.on, "Dropout"));
    } else CHECK(0, "dropouts build");
    drop(&b);
    gu_free(g);
}

static void test_noop_shape_ops(void)
{
    int64_t same_shape[2] = {-1, 3}, other_shape[2] = {3, 2}, ones[2] = {1, 1}, twice[2] = {2, 1};
    int64_t row[2] = {1, 3}, bigger[3] = {2, 2, 3};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){2, 3});
    gu_const(g, "s_same", I64, 1, (int64_t[]){2}, same_shape);
    gu_const(g, "s_other", I64, 1, (int64_t[]){2}, other_shape);
    gu_const(g, "ones", I64, 1, (int64_t[]){2}, ones);
    gu_const(g, "twice", I64, 1, (int64_t[]){2}, twice);
    gu_const(g, "row", I64, 1, (int64_t[]){2}, row);
    gu_const(g, "bigger", I64, 1, (int64_t[]){3}, bigger);
    gu_node(g, "Cast", "cast_same", "x", "a");
    gu_attr_int(g, "to", F32);
    gu_node(g, "Reshape", "reshape_same", "a,s_same", "b");
    gu_node(g, "Transpose", "transpose_same", "b", "c");
    gu_attr_ints(g, "perm", 2, (int64_t[]){0, 1});
    gu_node(g, "Expand", "expand_same", "c,row", "d");
    gu_node(g, "Tile", "tile_same", "d,ones", "e");
    gu_node(g, "Flatten", "flatten_same", "e", "f");
    gu_attr_int(g, "axis", 1);
    gu_node(g, "Neg", "neg", "f", "y0"); /* keep a real node between the chain and the output */
    /* the same ops that do change something stay */
    gu_node(g, "Cast", "cast_other", "x", "y1");
    gu_attr_int(g, "to", INGOT_DTYPE_F64);
    gu_node(g, "Reshape", "reshape_other", "x,s_other", "y2");
    gu_node(g, "Transpose", "transpose_other", "x", "y3");
    gu_attr_ints(g, "perm", 2, (int64_t[]){1, 0});
    gu_node(g, "Expand", "expand_other", "x,bigger", "y4");
    gu_node(g, "Tile", "tile_other", "x,twice", "y5");
    for (int i = 0; i <= 5; i++) {
        char name[8] = "y0";
        name[1] = (char)('0' + i);
        gu_output(g, name);
    }
    built b;
    if (build2(g, "eliminate_identity", &b)) {
        CHECK(b.n_off == 12 && b.n_on == 6, "no-op shape ops: %d -> %d nodes, want 12 -> 6", b.n_off, b.n_on);
        CHECK(gu_count_op(b.on, "Cast") == 1 && gu_count_op(b.on, "Reshape") == 1 &&
                  gu_count_op(b.on, "Transpose") == 1 && gu_count_op(b.on, "Expand") == 1 &&
                  gu_count_op(b.on, "Tile") == 1 && gu_count_op(b.on, "Flatten") == 0,
              "the changing ones stay");
        CHECK(same(&b), "no-op shape ops: same outputs");
    } else CHECK(0, "no-op shape ops build");
    drop(&b);
    gu_free(g);
}

static void test_reshape_chains(void)
{
    /* Unsqueeze → Squeeze and Reshape → Flatten back to x's shape read x; through a Transpose
     * (which moves elements) the chain is not an identity */
    int64_t ax0[1] = {0}, s6[1] = {6}, s32[2] = {3, 2};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){2, 3});
    gu_const(g, "ax0", I64, 1, (int64_t[]){1}, ax0);
    gu_const(g, "s6", I64, 1, (int64_t[]){1}, s6);
    gu_const(g, "s32", I64, 1, (int64_t[]){2}, s32);
    gu_node(g, "Unsqueeze", "unsq", "x,ax0", "u");  /* [1,2,3] */
    gu_node(g, "Squeeze", "sq", "u,ax0", "v");      /* [2,3]: x */
    gu_node(g, "Neg", "neg0", "v", "y0");
    gu_node(g, "Reshape", "r6", "x,s6", "f");       /* [6] */
    gu_node(g, "Unsqueeze", "unsq2", "f,ax0", "f1"); /* [1,6] */
    gu_node(g, "Reshape", "r23", "f1,s32", "t");    /* [3,2]: not x's shape */
    gu_node(g, "Transpose", "tr", "t", "tt");       /* [2,3], elements moved */
    gu_attr_ints(g, "perm", 2, (int64_t[]){1, 0});
    gu_node(g, "Flatten", "fl", "tt", "ft");        /* [2,3] from [2,3]: a no-op itself */
    gu_attr_int(g, "axis", 1);
    gu_node(g, "Neg", "neg1", "ft", "y1");
    gu_output(g, "y0");
    gu_output(g, "y1");
    built b;
    if (build2(g, "eliminate_identity,eliminate_dead", &b)) {
        CHECK(b.n_off == 9 && b.n_on == 6, "reshape chains: %d -> %d nodes, want 9 -> 6", b.n_off, b.n_on);
        CHECK(gu_count_op(b.on, "Squeeze") == 0 && gu_count_op(b.on, "Flatten") == 0 &&
                  gu_count_op(b.on, "Unsqueeze") == 1 &&
                  gu_count_op(b.on, "Transpose") == 1 && gu_count_op(b.on, "Reshape") == 2,
              "Unsqueeze/Squeeze pair and the no-op Flatten gone, the rest kept");
        CHECK(same(&b), "reshape chains: same outputs");
    } else CHECK(0, "reshape chains build");
    drop(&b);
    gu_free(g);
}

static void test_identity_dynamic_shape(void)
{
    /* a Reshape to [-1, 3] keeps x's shape only when x is [?, 3]: with an unknown leading dim
     * it is not provable without the run, so it stays (only counted: random inputs need a
     * static shape) */
    int64_t shape[2] = {-1, 3};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){-1, 3});
    gu_const(g, "s", I64, 1, (int64_t[]){2}, shape);
    gu_node(g, "Reshape", "reshape", "x,s", "y");
    gu_output(g, "y");
    built b;
    if (build2(g, "eliminate_identity", &b)) CHECK(b.n_on == 1, "dynamic Reshape stays (%d nodes)", b.n_on);
    else CHECK(0, "dynamic Reshape builds");
    drop(&b);
    gu_free(g);
}

/* ---- fold_constants ----------------------------------------------------------------------- */

static void test_fold_arith(void)
{
    float c1[3] = {1, 2, 3}, c2[3] = {0.5f, -1, 4};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){2, 3});
    gu_const_f32(g, "c1", 1, (int64_t[]){3}, c1);
    gu_const_f32(g, "c2", 1, (int64_t[]){3}, c2);
    gu_node(g, "Add", "add", "c1,c2", "c3");
    gu_node(g, "Exp", "exp", "c3", "c4");
    gu_node(g, "Mul", "mul", "x,c4", "y");
    gu_node(g, "Sub", "sub", "c1,c2", "k"); /* a graph output that becomes a constant */
    gu_output(g, "y");
    gu_output(g, "k");
    built b;
    if (build2(g, "fold_constants", &b)) {
        CHECK(b.n_off == 4 && b.n_on == 1, "constant arithmetic: %d -> %d nodes, want 4 -> 1", b.n_off, b.n_on);
        const ir_node *mul = gu_find_op(b.on, "Mul");
        CHECK(mul && b.on->plan->model->values[mul->in[1]].kind == IR_VALUE_CONST, "the folded value is a constant");
        const ir_value *k = find_value(b.on, "k");
        CHECK(k && k->kind == IR_VALUE_CONST && !strcmp(output_name(b.on, 1), "k"), "output k is a constant named k");
        CHECK(same(&b), "constant arithmetic: same outputs");
    } else CHECK(0, "constant arithmetic builds");
    drop(&b);
    gu_free(g);
}

static void test_fold_shape_chain(void)
{
    /* Shape → Gather → Concat → Reshape, Shape(start) → ConstantOfShape, Size → Cast: all
     * computed from x's static shape */
    int64_t zero = 0, minus1[1] = {-1};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 3, (int64_t[]){2, 3, 4});
    gu_const(g, "i0", I64, 0, NULL, &zero);
    gu_const(g, "m1", I64, 1, (int64_t[]){1}, minus1);
    gu_node(g, "Shape", "shape", "x", "s");
    gu_node(g, "Gather", "gather", "s,i0", "d0");
    gu_attr_int(g, "axis", 0);
    gu_node(g, "Unsqueeze", "unsq", "d0,i0", "d0v");
    gu_node(g, "Concat", "concat", "d0v,m1", "shape2");
    gu_attr_int(g, "axis", 0);
    gu_node(g, "Reshape", "reshape", "x,shape2", "flat"); /* [2,12] */
    gu_node(g, "Shape", "shape_tail", "x", "tail");       /* [3,4] */
    gu_attr_int(g, "start", 1);
    gu_node(g, "ConstantOfShape", "cos", "tail", "zeros");
    gu_node(g, "Add", "add", "x,zeros", "y1");
    gu_node(g, "Size", "size", "x", "n");
    gu_node(g, "Cast", "cast", "n", "nf");
    gu_attr_int(g, "to", F32);
    gu_node(g, "Mul", "mul", "flat,nf", "y0");
    gu_output(g, "y0");
    gu_output(g, "y1");
    built b;
    if (build2(g, "fold_constants", &b)) {
        CHECK(b.n_off == 11 && b.n_on == 3, "shape chain: %d -> %d nodes, want 11 -> 3 (Reshape, Add, Mul)", b.n_off,
              b.n_on);
        CHECK(gu_count_op(b.on, "Shape") == 0 && gu_count_op(b.on, "Size") == 0 && gu_count_op(b.on, "Gather") == 0 &&
                  gu_count_op(b.on, "Concat") == 0 && gu_count_op(b.on, "ConstantOfShape") == 0,
              "no shape computation left");
        CHECK(same(&b), "shape chain: same outputs");
    } else CHECK(0, "shape chain builds");
    drop(&b);
    gu_free(g);
}

static void test_fold_negative(void)
{
    /* an unknown dim keeps Shape; a non-constant input keeps Add; an output over 64 MiB keeps
     * ConstantOfShape (only counted: the first input is dynamic) */
    int64_t big[2] = {4097, 4096};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){-1, 3});
    gu_const(g, "big", I64, 1, (int64_t[]){2}, big);
    gu_node(g, "Shape", "shape", "x", "s");
    gu_node(g, "ConstantOfShape", "cos", "big", "z");
    gu_node(g, "ReduceSum", "sum", "z", "zs");
    gu_attr_int(g, "keepdims", 0);
    gu_node(g, "Add", "add", "x,zs", "y");
    gu_output(g, "s");
    gu_output(g, "y");
    built b;
    if (build2(g, "fold_constants", &b)) {
        CHECK(b.n_on == 4 && gu_count_op(b.on, "Shape") == 1 && gu_count_op(b.on, "ConstantOfShape") == 1,
              "unfoldable nodes stay (%d nodes)", b.n_on);
    } else CHECK(0, "fold negatives build");
    drop(&b);
    gu_free(g);
}

/* ---- eliminate_dead ----------------------------------------------------------------------- */

static void test_dead(void)
{
    float sc[4] = {1, 2, 3, 4}, bi[4] = {0, 1, 0, 1};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){3, 4});
    gu_const_f32(g, "scale", 1, (int64_t[]){4}, sc);
    gu_const_f32(g, "bias", 1, (int64_t[]){4}, bi);
    gu_node(g, "Relu", "dead0", "x", "a");
    gu_node(g, "Sigmoid", "dead1", "x", "b");
    gu_node(g, "Tanh", "dead2", "b", "c");
    gu_node(g, "Add", "dead3", "a,c", "d");
    gu_node(g, "LayerNormalization", "ln", "x,scale,bias", "n,mean,inv");
    gu_attr_int(g, "axis", -1);
    gu_node(g, "Abs", "abs", "n", "y");
    gu_output(g, "y");
    gu_output(g, "inv");
    built b;
    if (build2(g, "eliminate_dead", &b)) {
        CHECK(b.n_off == 6 && b.n_on == 2, "dead chain: %d -> %d nodes, want 6 -> 2", b.n_off, b.n_on);
        const ir_node *ln = gu_find_op(b.on, "LayerNormalization");
        CHECK(ln && ln->n_out == 3 && ln->out[1] < 0 && ln->out[2] >= 0, "unused Mean omitted, bound InvStdDev kept");
        CHECK(same(&b), "dead chain: same outputs");
    } else CHECK(0, "dead chain builds");
    drop(&b);
    gu_free(g);
}

static void test_dead_optional_outputs(void)
{
    /* MaxPool's Indices and LSTM's Y unread: the kernels skip them */
    float w[24], r[16];
    for (int i = 0; i < 24; i++) w[i] = 0.1f * (float)(i % 7) - 0.3f;
    for (int i = 0; i < 16; i++) r[i] = 0.05f * (float)(i % 5) - 0.1f;
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 4, (int64_t[]){1, 2, 4, 4});
    gu_input(g, "seq", F32, 3, (int64_t[]){2, 1, 3});
    gu_const_f32(g, "W", 3, (int64_t[]){1, 8, 3}, w);
    gu_const_f32(g, "R", 3, (int64_t[]){1, 8, 2}, r);
    gu_node(g, "MaxPool", "pool", "x", "p,idx");
    gu_attr_ints(g, "kernel_shape", 2, (int64_t[]){2, 2});
    gu_node(g, "LSTM", "lstm", "seq,W,R", "Y,Y_h");
    gu_attr_int(g, "hidden_size", 2);
    gu_output(g, "p");
    gu_output(g, "Y_h");
    built b;
    if (build2(g, "eliminate_dead", &b)) {
        const ir_node *pool = gu_find_op(b.on, "MaxPool"), *lstm = gu_find_op(b.on, "LSTM");
        CHECK(pool && pool->out[1] < 0 && lstm && lstm->out[0] < 0 && lstm->out[1] >= 0,
              "unread Indices and Y omitted, Y_h kept");
        CHECK(same(&b), "optional outputs: same outputs");
    } else CHECK(0, "optional outputs build");
    drop(&b);
    gu_free(g);
}

/* ---- cse ---------------------------------------------------------------------------------- */

static void test_cse_merge(void)
{
    float c[3] = {1, 2, 3};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){2, 3});
    gu_const_f32(g, "c1", 1, (int64_t[]){3}, c);
    gu_const_f32(g, "c2", 1, (int64_t[]){3}, c); /* an equal copy */
    gu_node(g, "Relu", "r1", "x", "a");
    gu_node(g, "Relu", "r2", "x", "b");
    gu_node(g, "Add", "add1", "a,c1", "p");
    gu_node(g, "Add", "add2", "b,c2", "q"); /* equal once b is a and c2 is c1 */
    gu_node(g, "Mul", "mul", "p,q", "y");
    gu_node(g, "Relu", "r3", "x", "z"); /* a graph output: r1 writes z from now on */
    gu_output(g, "y");
    gu_output(g, "z");
    built b;
    if (build2(g, "cse", &b)) {
        CHECK(b.n_off == 6 && b.n_on == 3, "cse: %d -> %d nodes, want 6 -> 3", b.n_off, b.n_on);
        CHECK(!strcmp(output_name(b.on, 1), "z") && find_value(b.on, "z") &&
                  find_value(b.on, "z")->kind == IR_VALUE_ACTIVATION,
              "output z keeps its name and is computed");
        const ir_node *r = gu_find_op(b.on, "Relu");
        CHECK(r && r->n_origin == 3, "the kept Relu covers r1, r2, r3 (%d origins)", r ? r->n_origin : -1);
        CHECK(same(&b), "cse: same outputs");
    } else CHECK(0, "cse builds");
    drop(&b);
    gu_free(g);
}

static void test_cse_negative(void)
{
    float c[4] = {1, 2, 3, 4};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 2, (int64_t[]){4, 4});
    gu_const_f32(g, "row", 1, (int64_t[]){4}, c); /* same bytes, other shapes: not equal */
    gu_const_f32(g, "col", 2, (int64_t[]){4, 1}, c);
    gu_node(g, "LeakyRelu", "l1", "x", "a");
    gu_attr_float(g, "alpha", 0.1f);
    gu_node(g, "LeakyRelu", "l2", "x", "b");
    gu_attr_float(g, "alpha", 0.2f);
    gu_node(g, "Softmax", "s1", "x", "s");
    gu_attr_int(g, "axis", 1);
    gu_node(g, "Softmax", "s2", "x", "t"); /* same effect through the default, other attributes */
    gu_node(g, "Relu", "r1", "x", "o1");   /* both graph outputs: both stay */
    gu_node(g, "Relu", "r2", "x", "o2");
    gu_node(g, "Add", "add_row", "x,row", "y3");
    gu_node(g, "Add", "add1", "a,b", "y0");
    gu_node(g, "Add", "add2", "s,t", "y1");
    gu_node(g, "Add", "add3", "x,col", "y2");
    gu_output(g, "y0");
    gu_output(g, "y1");
    gu_output(g, "y2");
    gu_output(g, "y3");
    gu_output(g, "o1");
    gu_output(g, "o2");
    built b;
    if (build2(g, "cse", &b)) {
        CHECK(b.n_on == b.n_off, "nothing merged: %d -> %d nodes", b.n_off, b.n_on);
        CHECK(same(&b), "cse negatives: same outputs");
    } else CHECK(0, "cse negatives build");
    drop(&b);
    gu_free(g);
}

/* ---- all four together, and the rest of the pipeline ---------------------------------------- */

static void test_pipeline(void)
{
    int64_t zero = 0, minus1[1] = {-1};
    float w[12] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12};
    gu_graph *g = gu_new(17);
    gu_input(g, "x", F32, 3, (int64_t[]){2, 3, 4});
    gu_const_f32(g, "w", 2, (int64_t[]){4, 3}, w);
    gu_const(g, "i0", I64, 1, (int64_t[]){1}, &zero);
    gu_const(g, "m1", I64, 1, (int64_t[]){1}, minus1);
    gu_node(g, "Identity", "wid", "w", "w1");
    gu_node(g, "Transpose", "wt", "w1", "wT"); /* a weight transposed: folds, stays a constant */
    gu_attr_ints(g, "perm", 2, (int64_t[]){1, 0});
    gu_node(g, "Transpose", "wtt", "wT", "wTT");
    gu_attr_ints(g, "perm", 2, (int64_t[]){1, 0});
    gu_node(g, "MatMul", "mm", "x,wTT", "h"); /* [2,3,3] */
    gu_node(g, "Shape", "sh", "h", "hs");
    gu_node(g, "Gather", "g0", "hs,i0", "b0");
    gu_attr_int(g, "axis", 0);
    gu_node(g, "Concat", "cat", "b0,m1", "s2");
    gu_attr_int(g, "axis", 0);
    gu_node(g, "Reshape", "rs", "h,s2", "flat");
    gu_node(g, "Relu", "r1", "flat", "p");
    gu_node(g, "Relu", "r2", "flat", "q");
    gu_node(g, "Dropout", "drop", "p", "pd");
    gu_node(g, "Add", "add", "pd,q", "y");
    gu_node(g, "Sigmoid", "unused", "q", "nobody");
    gu_output(g, "y");
    built b;
    if (build2(g, "eliminate_identity,fold_constants,eliminate_dead,cse", &b)) {
        CHECK(b.n_off == 13 && b.n_on == 4, "pipeline: %d -> %d nodes, want 13 -> 4 (MatMul, Reshape, Relu, Add)",
              b.n_off, b.n_on);
        const ir_node *mm = gu_find_op(b.on, "MatMul");
        CHECK(mm && b.on->plan->model->values[mm->in[1]].kind == IR_VALUE_CONST, "the weight stays a constant");
        CHECK(same(&b), "pipeline: same outputs");
    } else CHECK(0, "pipeline builds");
    drop(&b);
    gu_free(g);
}

int main(void)
{
    test_identity_chain();
    test_identity_bound_values();
    test_dropout();
    test_noop_shape_ops();
    test_reshape_chains();
    test_identity_dynamic_shape();
    test_fold_arith();
    test_fold_shape_chain();
    test_fold_negative();
    test_dead();
    test_dead_optional_outputs();
    test_cse_merge();
    test_cse_negative();
    test_pipeline();
    DONE();
}
