/* fuse_elementwise: a tree of elementwise ops (activations, unary math, float Casts, Add/Sub/Mul/Div/Pow/Max/Min) →
 * one FusedElementwise (domain "ingot", program in ir/ew_program.h) at the root's slot. Preconditions: the backend has a
 * kernel for it; main graph; f32/f16/bf16; >= 2 nodes; intermediates read only inside, not outputs; shapes below. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "ir/edit.h"
#include "ir/ew_program.h"
#include "opt/passes.h"

static const struct {
    const char *op;
    int code;
} unary[] = {
    {"Relu", EWP_RELU}, {"Sigmoid", EWP_SIGMOID}, {"Tanh", EWP_TANH}, {"Exp", EWP_EXP}, {"Log", EWP_LOG},
    {"Sqrt", EWP_SQRT}, {"Neg", EWP_NEG}, {"Abs", EWP_ABS}, {"Erf", EWP_ERF}, {"Reciprocal", EWP_RECIP},
    {"HardSwish", EWP_HARDSWISH}, {"LeakyRelu", EWP_LEAKYRELU}, {"HardSigmoid", EWP_HARDSIGMOID},
    {"Swish", EWP_SWISH}, {"Gelu", EWP_GELU}, {"Clip", EWP_CLIP}, {"Cast", EWP_CAST},
}, binary[] = {
    {"Add", EWP_ADD}, {"Sub", EWP_SUB}, {"Mul", EWP_MUL}, {"Div", EWP_DIV},
    {"Pow", EWP_POW}, {"Max", EWP_MAX}, {"Min", EWP_MIN},
};

/* One node as an instruction: opcode, the operands that are values (Clip's bounds are not),
 * and its params. */
typedef struct instr {
    int code;
    int n_opd;
    float par[2];
    int n_par;
} instr;

static int is_const(const ir_model *m, int32_t v)
{
    return v >= 0 && m->values[v].kind == IR_VALUE_CONST && m->values[v].t.data && ing_shape_known(&m->values[v].t);
}

/* A one-element float constant: an immediate. */
static int is_scalar(const ir_model *m, int32_t v)
{
    return is_const(m, v) && ing_numel(&m->values[v].t) == 1 && ewp_dtype_ok(m->values[v].t.dtype);
}

/* Constant c broadcasts into shape y without growing it. */
static int const_fits(const ing_tensor *c, const ing_tensor *y)
{
    if (c->rank > y->rank) return 0;
    for (int d = 0; d < c->rank; d++) {
        int64_t yd = y->dims[y->rank - c->rank + d];
        if (c->dims[d] != 1 && (yd < 0 || c->dims[d] != yd)) return 0;
    }
    return 1;
}

/* Can node n join a tree? Fills *in. A binary op's non-constant operands must have its output's
 * shape, so no element is computed twice; constants may broadcast into it (per-channel, last
 * axis, scalars), and one-element constants become immediates. */
static int eligible(const ir_model *m, const ir_node *n, instr *in)
{
    if ((n->domain[0] && strcmp(n->domain, "ai.onnx")) || n->n_out != 1 || n->out[0] < 0) return 0;
    const ing_tensor *y = &m->values[n->out[0]].t;
    if (!ewp_dtype_ok(y->dtype) || y->rank < 0) return 0;
    memset(in, 0, sizeof *in);
    in->code = -1;
    for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++)
        if (!strcmp(n->op, unary[i].op)) in->code = unary[i].code, in->n_opd = 1;
    for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++)
        if (!strcmp(n->op, binary[i].op)) in->code = binary[i].code, in->n_opd = 2;
    if (in->code < 0 || n->n_in < in->n_opd || (in->code != EWP_CLIP && n->n_in != in->n_opd)) return 0;
    switch (in->code) {
    case EWP_CLIP:
        if (n->n_in > 3) return 0;
        in->par[0] = -INFINITY, in->par[1] = INFINITY, in->n_par = 2;
        for (int i = 1; i < n->n_in; i++) {
            if (n->in[i] < 0) continue;
            if (!is_scalar(m, n->in[i])) return 0;
            const ing_tensor *t = &m->values[n->in[i]].t;
            in->par[i - 1] = (float)ing_load_f64(t->dtype, t->data, 0);
        }
        break;
    case EWP_LEAKYRELU: in->par[0] = ir_attr_float(n, "alpha", 0.01f), in->n_par = 1; break;
    case EWP_HARDSIGMOID:
        in->par[0] = ir_attr_float(n, "alpha", 0.2f), in->par[1] = ir_attr_float(n, "beta", 0.5f), in->n_par = 2;
        break;
    case EWP_SWISH: in->par[0] = ir_attr_float(n, "alpha", 1.0f), in->n_par = 1; break;
    case EWP_GELU: {
        const char *ap = ir_attr_string(n, "approximate", "none");
        if (!strcmp(ap, "tanh")) in->code = EWP_GELU_TANH;
        else if (strcmp(ap, "none")) return 0;
        break;
    }
    case EWP_CAST: /* the output's dtype: checked above */
        /* A Cast at the graph's edge (assign_precision's boundary conversion) stays alone: the
         * builder folds it into an input or output format's conversion (src/plan/io_format.c). */
        if (n->n_in > 0 && n->in[0] >= 0 && m->values[n->in[0]].kind == IR_VALUE_INPUT) return 0;
        for (int32_t k = 0; k < m->bodies[0].n_out; k++)
            if (m->bodies[0].out[k] == n->out[0]) return 0;
        in->par[0] = (float)ir_attr_int(n, "to", 0);
        break;
    default: break;
    }
    for (int i = 0; i < in->n_opd; i++) {
        int32_t v = n->in[i];
        if (v < 0 || !ewp_dtype_ok(m->values[v].t.dtype)) return 0;
        const ing_tensor *t = &m->values[v].t;
        /* same shape as the output: no element computed twice; constants may broadcast */
        if (is_const(m, v) ? !const_fits(t, y) : !ing_same_shape(t, y)) return 0;
    }
    return 1;
}

typedef struct fuse_ctx {
    ir_model *m;
    int32_t *uses;   /* per value */
    int32_t *pos;    /* per node: position in the main body, -1 elsewhere */
    int8_t *state;   /* per node: 0 free, 1 in the tree being grown, 2 taken */
    int32_t *tree;   /* the tree's nodes */
    int32_t n_tree;
} fuse_ctx;

/* Is every read of v by a node of the tree? */
static int read_only_inside(const fuse_ctx *c, int32_t v)
{
    int32_t k = 0;
    for (int32_t i = 0; i < c->n_tree; i++) {
        const ir_node *n = &c->m->nodes[c->tree[i]];
        for (int32_t j = 0; j < n->n_in; j++) k += n->in[j] == v;
    }
    return k == c->uses[v] && !ir_is_graph_output(c->m, v);
}

/* Grow the tree rooted at node r while some producer qualifies. */
static void grow(fuse_ctx *c, int32_t r)
{
    ir_model *m = c->m;
    c->tree[0] = r;
    c->n_tree = 1;
    c->state[r] = 1;
    for (int changed = 1; changed && c->n_tree < EWP_MAX_INSTR / 2;) {
        changed = 0;
        for (int32_t i = 0; i < c->n_tree && c->n_tree < EWP_MAX_INSTR / 2; i++) {
            const ir_node *n = &m->nodes[c->tree[i]];
            for (int32_t j = 0; j < n->n_in; j++) {
                int32_t v = n->in[j], p = v >= 0 ? m->values[v].producer : -1;
                instr in;
                if (p < 0 || c->state[p] || c->pos[p] < 0 || !eligible(m, &m->nodes[p], &in) ||
                    !read_only_inside(c, v))
                    continue;
                c->tree[c->n_tree++] = p;
                c->state[p] = 1;
                changed = 1;
                n = &m->nodes[c->tree[i]];
            }
        }
    }
}

/* Insertion sort by body position (trees are small). */
static void sort_tree(fuse_ctx *c)
{
    for (int32_t i = 1; i < c->n_tree; i++)
        for (int32_t k = i; k > 0 && c->pos[c->tree[k]] < c->pos[c->tree[k - 1]]; k--) {
            int32_t t = c->tree[k];
            c->tree[k] = c->tree[k - 1];
            c->tree[k - 1] = t;
        }
}

/* The program being written. */
typedef struct prog {
    int32_t ext[EWP_MAX_IN], n_ext;
    int32_t val[EWP_MAX_IN + EWP_MAX_INSTR]; /* value held by each register (-1: an immediate) */
    int64_t code[4 * EWP_MAX_INSTR];
    int32_t n_instr;
    float params[2 * EWP_MAX_INSTR];
    int32_t n_params;
} prog;

static int in_tree(const fuse_ctx *c, int32_t v)
{
    int32_t p = v >= 0 ? c->m->values[v].producer : -1;
    return p >= 0 && c->state[p] == 1;
}

static int32_t emit(prog *g, int64_t op, int64_t a, int64_t b, int64_t k, int32_t v)
{
    if (g->n_instr >= EWP_MAX_INSTR) return -1;
    int64_t *c = g->code + 4 * g->n_instr;
    c[0] = op, c[1] = a, c[2] = b, c[3] = k;
    g->val[g->n_ext + g->n_instr] = v;
    return g->n_ext + g->n_instr++;
}

/* The register of operand v, emitting an immediate when v is a one-element constant. */
static int32_t operand(const fuse_ctx *c, prog *g, int32_t v)
{
    for (int32_t r = 0; r < g->n_ext + g->n_instr; r++)
        if (g->val[r] == v) return r;
    if (!is_scalar(c->m, v) || g->n_params >= 2 * EWP_MAX_INSTR) return -1;
    const ing_tensor *t = &c->m->values[v].t;
    g->params[g->n_params] = (float)ing_load_f64(t->dtype, t->data, 0);
    int32_t r = emit(g, EWP_CONST, -1, -1, g->n_params++, -1);
    if (r >= 0) g->val[r] = v; /* reuse it for later reads of the same constant */
    return r;
}

/* Write the tree's program; 0 when it exceeds the limits (inputs, instructions). */
static int write_program(const fuse_ctx *c, prog *g)
{
    const ir_model *m = c->m;
    g->n_ext = g->n_instr = g->n_params = 0;
    for (int32_t i = 0; i < c->n_tree; i++) { /* inputs first: registers 0 .. n_ext-1 */
        const ir_node *n = &m->nodes[c->tree[i]];
        instr in;
        eligible(m, n, &in);
        for (int32_t j = 0; j < in.n_opd; j++) {
            int32_t v = n->in[j], seen = 0;
            if (in_tree(c, v) || is_scalar(m, v)) continue;
            for (int32_t k = 0; k < g->n_ext; k++) seen |= g->ext[k] == v;
            if (seen) continue;
            if (g->n_ext == EWP_MAX_IN) return 0;
            g->val[g->n_ext] = v;
            g->ext[g->n_ext++] = v;
        }
    }
    for (int32_t i = 0; i < c->n_tree; i++) {
        const ir_node *n = &m->nodes[c->tree[i]];
        instr in;
        eligible(m, n, &in);
        int32_t r[2] = {-1, -1};
        for (int32_t j = 0; j < in.n_opd; j++)
            if ((r[j] = operand(c, g, n->in[j])) < 0) return 0;
        int64_t k = -1;
        if (in.code == EWP_CAST) k = (int64_t)in.par[0];
        else if (in.n_par) {
            if (g->n_params + in.n_par > 2 * EWP_MAX_INSTR) return 0;
            k = g->n_params;
            for (int j = 0; j < in.n_par; j++) g->params[g->n_params++] = in.par[j];
        }
        if (emit(g, in.code, r[0], r[1], k, n->out[0]) < 0) return 0;
    }
    return 1;
}

static ingot_status add_attr(ir_model *m, int32_t node, const char *name, int type, const void *data, size_t n,
                             int64_t i)
{
    ir_attr a = {0};
    a.type = type;
    a.i = i;
    a.n = n;
    a.name = ing_strdup(name);
    int bad = !a.name;
    if (type == IR_ATTR_INTS && (a.ints = ing_malloc(n * sizeof(int64_t)))) memcpy(a.ints, data, n * sizeof(int64_t));
    if (type == IR_ATTR_FLOATS && (a.floats = ing_malloc(n * sizeof(float)))) memcpy(a.floats, data, n * sizeof(float));
    bad |= (type == IR_ATTR_INTS && !a.ints) || (type == IR_ATTR_FLOATS && !a.floats);
    if (bad) {
        ir_attr_free(&a);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory adding attribute '%s'", name);
    }
    return ir_node_add_attr(m, node, &a);
}

/* The fused node for the tree (sorted); *id receives it. */
static ingot_status rewrite(fuse_ctx *c, const prog *g, int32_t *id)
{
    ir_model *m = c->m;
    int32_t root = c->tree[c->n_tree - 1], out = m->nodes[root].out[0];
    char name[512];
    snprintf(name, sizeof name, "%s/FusedElementwise", m->nodes[root].name);
    ING_TRY(ir_add_node(m, name, "FusedElementwise", "ingot", 1, g->ext, g->n_ext, &out, 1, id));
    ING_TRY(add_attr(m, *id, "program", IR_ATTR_INTS, g->code, 4 * (size_t)g->n_instr, 0));
    if (g->n_params) ING_TRY(add_attr(m, *id, "params", IR_ATTR_FLOATS, g->params, (size_t)g->n_params, 0));
    ING_TRY(add_attr(m, *id, "dtype", IR_ATTR_INT, NULL, 0, m->values[out].t.dtype));
    for (int32_t i = 0; i < c->n_tree; i++) ING_TRY(opt_merge_origin(m, *id, c->tree[i]));
    m->values[out].producer = *id;
    return INGOT_OK;
}

static ingot_status run(ir_model *m, const opt_options *o, opt_stats *st)
{
    if (o->has_kernel && !o->has_kernel("FusedElementwise")) {
        snprintf(st->note, sizeof st->note, "skipped: the target backend has no FusedElementwise kernel%s%s",
                 o->backend == INGOT_BACKEND_CUDA ? ": " : "", o->backend == INGOT_BACKEND_CUDA ? ingot_last_error() : "");
        return INGOT_OK;
    }
    ir_body *b = &m->bodies[0];
    int32_t nn = m->n_nodes;
    fuse_ctx c = {.m = m};
    c.uses = ing_malloc((size_t)(m->n_values ? m->n_values : 1) * sizeof(int32_t));
    c.pos = ing_malloc((size_t)(nn ? nn : 1) * sizeof(int32_t));
    c.state = ing_calloc((size_t)(nn ? nn : 1), 1);
    c.tree = ing_malloc((size_t)EWP_MAX_INSTR * sizeof(int32_t));
    int32_t *repl = ing_malloc((size_t)(nn ? nn : 1) * sizeof(int32_t)); /* per node: its fused node, -1 */
    prog *g = ing_malloc(sizeof *g);
    ingot_status s = INGOT_OK;
    int32_t chains = 0, fused = 0;
    if (!c.uses || !c.pos || !c.state || !c.tree || !repl || !g) {
        s = ingot_fail(INGOT_ERR_NOMEM, "out of memory fusing elementwise chains");
        goto done;
    }
    ir_count_uses(m, c.uses);
    for (int32_t i = 0; i < nn; i++) c.pos[i] = -1, repl[i] = -1;
    for (int32_t k = 0; k < b->n_nodes; k++) c.pos[b->nodes[k]] = k;
    /* roots from the end: a consumer claims its producers before they can be roots themselves */
    for (int32_t k = b->n_nodes - 1; k >= 0 && s == INGOT_OK; k--) {
        int32_t r = b->nodes[k];
        instr in;
        if (c.state[r] || !eligible(m, &m->nodes[r], &in)) continue;
        grow(&c, r);
        sort_tree(&c);
        if (c.n_tree < 2 || !write_program(&c, g)) {
            for (int32_t i = 0; i < c.n_tree; i++) c.state[c.tree[i]] = 0; /* free for other trees */
            c.state[r] = 2; /* a root that fused nothing stays as it is */
            continue;
        }
        int32_t id;
        s = rewrite(&c, g, &id); /* the members are still marked 1: in_tree() holds while writing */
        for (int32_t i = 0; i < c.n_tree; i++) c.state[c.tree[i]] = 2;
        if (s != INGOT_OK) break;
        b = &m->bodies[0];
        for (int32_t i = 0; i < c.n_tree; i++) repl[c.tree[i]] = -2; /* removed */
        repl[r] = id;
        chains++;
        fused += c.n_tree;
    }
    if (s == INGOT_OK) { /* one sweep: roots become their fused node, the other members leave */
        int32_t w = 0;
        for (int32_t k = 0; k < b->n_nodes; k++) {
            int32_t id = b->nodes[k], r = repl[id];
            if (r == -2) continue;
            b->nodes[w++] = r >= 0 ? r : id;
        }
        b->n_nodes = w;
        st->fused += fused;
        st->added += chains;
        if (chains)
            snprintf(st->note, sizeof st->note, "%d chain%s (%d nodes) fused into FusedElementwise", chains,
                     chains == 1 ? "" : "s", fused);
    }
done:
    ing_free(c.uses);
    ing_free(c.pos);
    ing_free(c.state);
    ing_free(c.tree);
    ing_free(repl);
    ing_free(g);
    return s;
}

const opt_pass opt_pass_fuse_elementwise = {
    "fuse_elementwise", "trees of elementwise ops into one generated kernel (FusedElementwise; CUDA, NVRTC)", run};
