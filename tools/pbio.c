/* TensorProto (.pb) and NumPy (.npy v1/v2) tensor files. */
#include "pbio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "onnx.pb-c.h"
#include "onnx/onnx_tensor.h"

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static const struct {
    int dt;
    const char *descr;
} npy_types[] = {
    {INGOT_DTYPE_F32, "<f4"}, {INGOT_DTYPE_F64, "<f8"}, {INGOT_DTYPE_F16, "<f2"}, {INGOT_DTYPE_I8, "|i1"},
    {INGOT_DTYPE_U8, "|u1"}, {INGOT_DTYPE_I16, "<i2"}, {INGOT_DTYPE_U16, "<u2"}, {INGOT_DTYPE_I32, "<i4"},
    {INGOT_DTYPE_U32, "<u4"}, {INGOT_DTYPE_I64, "<i8"}, {INGOT_DTYPE_U64, "<u8"}, {INGOT_DTYPE_BOOL, "|b1"},
};

static ingot_status npy_parse(const char *path, const uint8_t *buf, size_t size, ing_tensor *t, size_t *nbytes)
{
    if (size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return ingot_fail(INGOT_ERR_CORRUPT, "'%s': not a .npy file (bad magic)", path);
    size_t hlen, hoff;
    if (buf[6] == 1) {
        hlen = buf[8] | (size_t)buf[9] << 8;
        hoff = 10;
    } else {
        if (size < 12) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': truncated .npy header", path);
        hlen = buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        hoff = 12;
    }
    if (hlen > size - hoff) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': .npy header runs past the file", path);
    char hdr[4096];
    if (hlen >= sizeof hdr) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': .npy header of %zu bytes is too long", path, hlen);
    memcpy(hdr, buf + hoff, hlen);
    hdr[hlen] = '\0';
    if (strstr(hdr, "'fortran_order': True"))
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "'%s': Fortran-ordered arrays are not supported", path);
    const char *d = strstr(hdr, "'descr':");
    const char *s = strstr(hdr, "'shape':");
    if (!d || !s) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': .npy header lacks descr or shape", path);
    d = strchr(d + 8, '\'');
    if (!d) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': bad descr", path);
    ing_tensor r = {0};
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (!strncmp(d + 1, npy_types[i].descr, 3)) r.dtype = npy_types[i].dt;
    if (!r.dtype) return ingot_fail(INGOT_ERR_UNSUPPORTED, "'%s': .npy element type '%.4s' is not supported", path, d + 1);
    s = strchr(s, '(');
    if (!s) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': bad shape", path);
    s++;
    while (*s && *s != ')') {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || r.rank >= IR_MAX_RANK) return ingot_fail(INGOT_ERR_CORRUPT, "'%s': bad shape", path);
        r.dims[r.rank++] = v;
        s = end;
    }
    size_t bytes = ing_nbytes(&r);
    if (ing_numel(&r) < 0 || bytes > size - hoff - hlen)
        return ingot_fail(INGOT_ERR_CORRUPT, "'%s': data holds %zu bytes, the shape needs %zu", path, size - hoff - hlen, bytes);
    r.data = ing_malloc(bytes);
    if (!r.data) return ingot_fail(INGOT_ERR_NOMEM, "out of memory reading '%s'", path);
    memcpy(r.data, buf + hoff + hlen, bytes);
    *t = r;
    *nbytes = bytes;
    return INGOT_OK;
}

ingot_status tensor_file_read(const char *path, ing_tensor *t, size_t *nbytes, char **name)
{
    void *buf;
    size_t size;
    ING_TRY(onnx_read_file(path, &buf, &size));
    ingot_status st;
    if (name) *name = NULL;
    if (ends_with(path, ".npy")) {
        st = npy_parse(path, buf, size, t, nbytes);
    } else {
        Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, buf);
        if (!tp) {
            st = ingot_fail(INGOT_ERR_CORRUPT, "'%s': not a TensorProto", path);
        } else {
            char what[600];
            snprintf(what, sizeof what, "tensor file '%s'", path);
            st = onnx_tensor_decode(tp, NULL, what, t, nbytes);
            if (st == INGOT_OK && name && tp->name) *name = ing_strdup(tp->name);
            onnx__tensor_proto__free_unpacked(tp, NULL);
        }
    }
    ing_free(buf);
    return st;
}

ingot_status tensor_file_write(const char *path, const ing_tensor *t, const char *name)
{
    FILE *f = fopen(path, "wb");
    if (!f) return ingot_fail(INGOT_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    size_t nb = ing_nbytes(t);
    int ok = 1;
    if (ends_with(path, ".npy")) {
        const char *descr = NULL;
        for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
            if (npy_types[i].dt == t->dtype) descr = npy_types[i].descr;
        int widen = t->dtype == INGOT_DTYPE_BF16; /* numpy has no bfloat16: written as f32, exactly */
        if (widen) descr = "<f4";
        if (!descr) {
            fclose(f);
            return ingot_fail(INGOT_ERR_UNSUPPORTED, "'%s': %s cannot be written as .npy", path, ingot_dtype_name((ingot_dtype)t->dtype));
        }
        char hdr[512], shape[300] = "";
        size_t k = 0;
        for (int i = 0; i < t->rank; i++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%lld,%s", (long long)t->dims[i], i + 1 < t->rank ? " " : "");
        if (t->rank > 1) shape[k - 1] = '\0'; /* numpy writes (2, 3) but (4,) */
        int hl = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
        int total = 10 + hl + 1, pad = (64 - total % 64) % 64;
        unsigned short len = (unsigned short)(hl + pad + 1);
        uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(len & 0xff), (uint8_t)(len >> 8)};
        ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)hl, f) == (size_t)hl;
        for (int i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
        ok = ok && fputc('\n', f) != EOF;
        if (widen) {
            int64_t n = ing_numel(t);
            for (int64_t i = 0; ok && i < n; i++) {
                float v = ing_bf16_to_f32(((const uint16_t *)t->data)[i]);
                ok = fwrite(&v, sizeof v, 1, f) == 1;
            }
        } else {
            ok = ok && (nb == 0 || fwrite(t->data, 1, nb, f) == nb);
        }
    } else {
        Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
        int64_t dims[IR_MAX_RANK];
        for (int i = 0; i < t->rank; i++) dims[i] = t->dims[i];
        tp.n_dims = (size_t)t->rank;
        tp.dims = dims;
        tp.has_data_type = 1;
        tp.data_type = t->dtype;
        tp.name = (char *)(name ? name : "");
        tp.has_raw_data = 1;
        tp.raw_data.len = nb;
        tp.raw_data.data = t->data;
        size_t plen = onnx__tensor_proto__get_packed_size(&tp);
        uint8_t *pb = ing_malloc(plen);
        if (!pb) {
            fclose(f);
            return ingot_fail(INGOT_ERR_NOMEM, "out of memory writing '%s'", path);
        }
        onnx__tensor_proto__pack(&tp, pb);
        ok = fwrite(pb, 1, plen, f) == plen;
        ing_free(pb);
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) return ingot_fail(INGOT_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return INGOT_OK;
}
