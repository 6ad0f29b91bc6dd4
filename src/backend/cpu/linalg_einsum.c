/* CPU kernel for Einsum: any equation the parser accepts (implicit or explicit output,
 * ellipsis broadcast, repeated labels = diagonals, summed labels).
 *
 * Each operand gets one stride per label (the sum of the strides of its dims with that label,
 * 0 where it broadcasts), so a diagonal is just a combined stride. Output elements run in
 * parallel; each walks the summed labels with an odometer. Floats accumulate in double, integers
 * in wrapping 64-bit arithmetic.
 * Fast path: two f32/f64 operands whose labels split into batch, M, N and summed (K) groups (no
 * diagonals, no broadcast, no label summed within one operand) are permuted to [batch, M, K] and
 * [batch, K, N], multiplied with cblas_sgemm/dgemm, and the product permuted to the output. */
#include <cblas.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/dtype.h"
#include "ir/einsum.h"

ingot_status cpu_linalg_einsum(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out);

#define N_LABELS 60
#define MAX_OPS 64

/* dst (contiguous, labels in order lab[0..n)) = src read through per-label strides. */
static void gather(size_t es, const void *src, void *dst, int n, const int *lab, const int64_t *size,
                   const int64_t *str)
{
    int64_t total = 1, idx[N_LABELS] = {0}, off = 0;
    for (int i = 0; i < n; i++) total *= size[lab[i]];
    const char *s = src;
    char *d = dst;
    for (int64_t e = 0; e < total; e++) {
        memcpy(d + (size_t)e * es, s + (size_t)off * es, es);
        for (int i = n - 1; i >= 0; i--) {
            int l = lab[i];
            idx[i]++;
            off += str[l];
            if (idx[i] < size[l]) break;
            off -= size[l] * str[l];
            idx[i] = 0;
        }
    }
}

/* Returns 1 when it computed the result, 0 when the equation does not fit the GEMM form. */
static int einsum_gemm(cpu_exec *x, const ing_tensor *const *in, const int32_t *labels, const int32_t *out_labels,
                       int out_rank, const int64_t *size, int64_t (*strides)[N_LABELS], ing_tensor *y)
{
    int dt = y->dtype;
    if (dt != INGOT_DTYPE_F32 && dt != INGOT_DTYPE_F64) return 0;
    int in_a[N_LABELS] = {0}, in_b[N_LABELS] = {0}, in_o[N_LABELS] = {0};
    for (int op = 0; op < 2; op++) {
        int *seen = op ? in_b : in_a;
        for (int d = 0; d < in[op]->rank; d++) {
            int l = labels[op * IR_MAX_RANK + d];
            if (seen[l] || in[op]->dims[d] != size[l]) return 0; /* diagonal or broadcast */
            seen[l] = 1;
        }
    }
    for (int d = 0; d < out_rank; d++) in_o[out_labels[d]] = 1;
    int bl[N_LABELS], ml[N_LABELS], nl[N_LABELS], kl[N_LABELS], nb = 0, nm = 0, nn = 0, nk = 0;
    int64_t bs = 1, ms = 1, ns = 1, ks = 1;
    for (int d = 0; d < out_rank; d++) {
        int l = out_labels[d];
        if (in_a[l] && in_b[l]) bl[nb++] = l, bs *= size[l];
        else if (in_a[l]) ml[nm++] = l, ms *= size[l];
        else nl[nn++] = l, ns *= size[l];
    }
    for (int l = 0; l < N_LABELS; l++) {
        if (in_o[l] || !(in_a[l] || in_b[l])) continue;
        if (!(in_a[l] && in_b[l])) return 0; /* summed within one operand */
        kl[nk++] = l;
        ks *= size[l];
    }
    if ((double)bs * (double)ms * (double)ns * (double)ks < 4096.0 || ms > INT32_MAX || ns > INT32_MAX || ks > INT32_MAX) return 0;
    size_t es = ingot_dtype_size(dt);
    char *pa = cpu_scratch(x, 1, (size_t)(bs * ms * ks) * es);
    char *pb = cpu_scratch(x, 2, (size_t)(bs * ks * ns) * es);
    char *pc = cpu_scratch(x, 3, (size_t)(bs * ms * ns) * es);
    if (!pa || !pb || !pc) return 0;
    int la[3 * N_LABELS], lb[3 * N_LABELS], na = 0, nbb = 0;
    for (int i = 0; i < nb; i++) la[na++] = bl[i], lb[nbb++] = bl[i];
    for (int i = 0; i < nm; i++) la[na++] = ml[i];
    for (int i = 0; i < nk; i++) la[na++] = kl[i], lb[nbb++] = kl[i];
    for (int i = 0; i < nn; i++) lb[nbb++] = nl[i];
    gather(es, in[0]->data, pa, na, la, size, strides[0]);
    gather(es, in[1]->data, pb, nbb, lb, size, strides[1]);
    int m = (int)ms, n = (int)ns, k = (int)ks;
    for (int64_t b = 0; b < bs; b++) {
        if (dt == INGOT_DTYPE_F32)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, (float *)pa + b * ms * ks, k,
                        (float *)pb + b * ks * ns, n, 0.0f, (float *)pc + b * ms * ns, n);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, (double *)pa + b * ms * ks, k,
                        (double *)pb + b * ks * ns, n, 0.0, (double *)pc + b * ms * ns, n);
    }
    /* pc is [batch labels, M labels, N labels]; read it in output label order. */
    int64_t cstr[N_LABELS] = {0}, st = 1;
    for (int i = nn - 1; i >= 0; i--) cstr[nl[i]] = st, st *= size[nl[i]];
    for (int i = nm - 1; i >= 0; i--) cstr[ml[i]] = st, st *= size[ml[i]];
    for (int i = nb - 1; i >= 0; i--) cstr[bl[i]] = st, st *= size[bl[i]];
    int ol[IR_MAX_RANK];
    for (int d = 0; d < out_rank; d++) ol[d] = out_labels[d];
    gather(es, pc, y->data, out_rank, ol, size, cstr);
    return 1;
}

ingot_status cpu_linalg_einsum(cpu_exec *x, const ir_node *node, const ing_tensor *const *in, int n_in,
                               ing_tensor *const *out, int n_out)
{
    if (n_in > MAX_OPS)
        return IR_NODE_FAIL(node, INGOT_ERR_UNSUPPORTED, "%d inputs; at most %d are supported", n_in, MAX_OPS);
    int32_t ranks[MAX_OPS], labels[MAX_OPS * IR_MAX_RANK], out_labels[IR_MAX_RANK], out_rank = 0;
    for (int i = 0; i < n_in; i++) ranks[i] = in[i]->rank;
    ING_TRY(ir_einsum_parse(node, n_in, ranks, labels, out_labels, &out_rank));

    int64_t size[N_LABELS];
    int used[N_LABELS] = {0}, in_out[N_LABELS] = {0};
    for (int l = 0; l < N_LABELS; l++) size[l] = 1;
    for (int i = 0; i < n_in; i++)
        for (int d = 0; d < ranks[i]; d++) {
            int l = labels[i * IR_MAX_RANK + d];
            used[l] = 1;
            if (in[i]->dims[d] != 1) size[l] = in[i]->dims[d];
        }
    /* strides[i][l]: element stride of label l in operand i. */
    int64_t(*strides)[N_LABELS] = cpu_scratch(x, 0, sizeof(int64_t) * N_LABELS * (size_t)(n_in ? n_in : 1));
    if (!strides) return IR_NODE_FAIL(node, INGOT_ERR_NOMEM, "no scratch for strides");
    for (int i = 0; i < n_in; i++) {
        memset(strides[i], 0, sizeof strides[i]);
        int64_t s = 1;
        for (int d = ranks[i] - 1; d >= 0; d--) {
            if (in[i]->dims[d] != 1) strides[i][labels[i * IR_MAX_RANK + d]] += s;
            s *= in[i]->dims[d];
        }
    }
    for (int d = 0; d < out_rank; d++) in_out[out_labels[d]] = 1;
    int sum_l[N_LABELS], n_sum = 0;
    int64_t sum_total = 1;
    for (int l = 0; l < N_LABELS; l++)
        if (used[l] && !in_out[l]) {
            sum_l[n_sum++] = l;
            sum_total *= size[l];
        }
    ing_tensor *y = out[0];
    if (n_in == 2 && einsum_gemm(x, in, labels, out_labels, out_rank, size, strides, y)) return INGOT_OK;
    int64_t n_outel = ing_numel(y);
    int dt = y->dtype, is_int = ing_dtype_is_int(dt);
    int64_t work = n_outel * (sum_total ? sum_total : 1);

#pragma omp parallel for schedule(static) if (work >= 32768)
    for (int64_t o = 0; o < n_outel; o++) {
        int64_t base[MAX_OPS], off[MAX_OPS], cidx[N_LABELS];
        int64_t rem = o;
        for (int i = 0; i < n_in; i++) base[i] = 0;
        for (int d = out_rank - 1; d >= 0; d--) {
            int l = out_labels[d];
            int64_t idx = rem % size[l];
            rem /= size[l];
            for (int i = 0; i < n_in; i++) base[i] += idx * strides[i][l];
        }
        double facc = 0.0;
        uint64_t iacc = 0;
        if (sum_total > 0) {
            for (int i = 0; i < n_in; i++) off[i] = base[i];
            for (int c = 0; c < n_sum; c++) cidx[c] = 0;
            for (;;) {
                if (is_int) {
                    uint64_t p = 1;
                    for (int i = 0; i < n_in; i++) p *= (uint64_t)ing_load_i64(dt, in[i]->data, (size_t)off[i]);
                    iacc += p;
                } else {
                    double p = 1.0;
                    for (int i = 0; i < n_in; i++) p *= ing_load_f64(dt, in[i]->data, (size_t)off[i]);
                    facc += p;
                }
                int c = n_sum - 1;
                for (; c >= 0; c--) {
                    int l = sum_l[c];
                    cidx[c]++;
                    for (int i = 0; i < n_in; i++) off[i] += strides[i][l];
                    if (cidx[c] < size[l]) break;
                    for (int i = 0; i < n_in; i++) off[i] -= size[l] * strides[i][l];
                    cidx[c] = 0;
                }
                if (c < 0) break;
            }
        }
        if (is_int) ing_store_i64(dt, y->data, (size_t)o, (int64_t)iacc);
        else ing_store_f64(dt, y->data, (size_t)o, facc);
    }
    return INGOT_OK;
}
