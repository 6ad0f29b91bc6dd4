/* Einsum equation parsing, shared by shape inference and the CPU kernel.
 *
 * Every dimension of every operand gets a label id: letters 'a'..'z' are 0..25, 'A'..'Z' are
 * 26..51, and the broadcast dims that "..." stands for are 52..59, right-aligned across
 * operands (as numpy broadcasts them). The output is a list of label ids. */
#include <string.h>

#include "ir/einsum.h"
#include "ir/op.h"

#define ELL_BASE 52

static int letter_id(char c)
{
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
    return -1;
}

ingot_status ir_einsum_parse(const ir_node *node, int n_in, const int32_t *ranks, int32_t *labels,
                             int32_t *out_labels, int32_t *out_rank)
{
    const char *raw = ir_attr_string(node, "equation", NULL);
    if (!raw) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "attribute 'equation' is missing");
    char eq[512];
    size_t n = 0;
    for (const char *p = raw; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n') continue;
        if (n + 1 >= sizeof eq)
            return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "equation is longer than %zu characters",
                                sizeof eq - 1);
        eq[n++] = *p;
    }
    eq[n] = '\0';
    char *arrow = strstr(eq, "->");
    const char *rhs = NULL;
    if (arrow) {
        *arrow = '\0';
        rhs = arrow + 2;
    }
    /* Left side: one term per operand. */
    int ell_rank[64] = {0}, has_ell[64] = {0};
    int count[ELL_BASE] = {0};
    int max_ell = 0;
    const char *p = eq;
    for (int i = 0; i < n_in; i++) {
        const char *end = strchr(p, ',');
        if (i < n_in - 1 && !end)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "equation '%s' has fewer terms than the %d inputs",
                                raw, n_in);
        if (i == n_in - 1 && end)
            return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "equation '%s' has more terms than the %d inputs",
                                raw, n_in);
        if (!end) end = p + strlen(p);
        int letters = 0;
        for (const char *c = p; c < end; c++) {
            if (c[0] == '.' && c + 2 < end && c[1] == '.' && c[2] == '.') {
                if (has_ell[i])
                    return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "term %d of '%s' has two ellipses", i, raw);
                has_ell[i] = 1;
                c += 2;
            } else if (letter_id(*c) >= 0) {
                letters++;
            } else {
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "equation '%s' has an invalid character '%c'",
                                    raw, *c);
            }
        }
        if (has_ell[i] ? letters > ranks[i] : letters != ranks[i])
            return IR_NODE_FAIL(node, INGOT_ERR_SHAPE, "term %d of '%s' has %d labels but input %d is %d-D",
                                i, raw, letters, i, ranks[i]);
        ell_rank[i] = has_ell[i] ? ranks[i] - letters : 0;
        if (ell_rank[i] > max_ell) max_ell = ell_rank[i];
        int d = 0;
        for (const char *c = p; c < end; c++) {
            if (*c == '.') {
                for (int e = 0; e < ell_rank[i]; e++)
                    labels[i * IR_MAX_RANK + d++] = ELL_BASE + e; /* re-aligned below */
                c += 2;
            } else {
                int l = letter_id(*c);
                labels[i * IR_MAX_RANK + d++] = l;
                count[l]++;
            }
        }
        p = *end ? end + 1 : end;
    }
    /* Ellipsis labels were assigned before max_ell was final: re-align right. */
    for (int i = 0; i < n_in; i++) {
        if (!has_ell[i]) continue;
        for (int d = 0; d < ranks[i]; d++) {
            int32_t *l = &labels[i * IR_MAX_RANK + d];
            if (*l >= ELL_BASE) {
                /* position e within this operand's ellipsis */
                int first = -1;
                for (int dd = 0; dd < ranks[i]; dd++)
                    if (labels[i * IR_MAX_RANK + dd] >= ELL_BASE) {
                        first = dd;
                        break;
                    }
                *l = ELL_BASE + (max_ell - ell_rank[i]) + (d - first);
            }
        }
    }
    if (max_ell > IR_MAX_RANK)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "ellipsis spans %d dims; at most %d", max_ell, IR_MAX_RANK);
    int r = 0;
    if (rhs) {
        int seen[ELL_BASE] = {0}, ell = 0;
        for (const char *c = rhs; *c; c++) {
            if (c[0] == '.' && c[1] == '.' && c[2] == '.') {
                if (ell) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output of '%s' has two ellipses", raw);
                ell = 1;
                for (int e = 0; e < max_ell; e++) {
                    if (r >= IR_MAX_RANK) goto too_big;
                    out_labels[r++] = ELL_BASE + e;
                }
                c += 2;
                continue;
            }
            int l = letter_id(*c);
            if (l < 0)
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output of '%s' has an invalid character '%c'", raw, *c);
            if (!count[l])
                return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output label '%c' of '%s' appears in no input", *c, raw);
            if (seen[l]) return IR_NODE_FAIL(node, INGOT_ERR_MODEL, "output label '%c' of '%s' repeats", *c, raw);
            seen[l] = 1;
            if (r >= IR_MAX_RANK) goto too_big;
            out_labels[r++] = l;
        }
    } else {
        for (int e = 0; e < max_ell; e++) out_labels[r++] = ELL_BASE + e;
        /* Implicit output: labels seen once, in ASCII order (upper case first, as numpy). */
        for (int l = 26; l < 52; l++)
            if (count[l] == 1) {
                if (r >= IR_MAX_RANK) goto too_big;
                out_labels[r++] = l;
            }
        for (int l = 0; l < 26; l++)
            if (count[l] == 1) {
                if (r >= IR_MAX_RANK) goto too_big;
                out_labels[r++] = l;
            }
    }
    *out_rank = r;
    return INGOT_OK;
too_big:
    return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "output of '%s' has more than %d dims", raw, IR_MAX_RANK);
}
