/* Decoding TensorProto: typed repeated fields, raw_data, and external data files. */
#include "onnx/onnx_tensor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"

ingot_status onnx_read_file(const char *path, void **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ingot_fail(INGOT_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) goto io_fail;
    long len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) goto io_fail;
    void *buf = ing_malloc((size_t)len);
    if (!buf) {
        fclose(f);
        return ingot_fail(INGOT_ERR_NOMEM, "out of memory reading '%s' (%ld bytes)", path, len);
    }
    if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        ing_free(buf);
        goto io_fail;
    }
    fclose(f);
    *data = buf;
    *size = (size_t)len;
    return INGOT_OK;
io_fail:
    fclose(f);
    return ingot_fail(INGOT_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
}

/* Read [offset, offset+length) of base_dir/location; length -1 means to the end. */
static ingot_status read_external(const char *base_dir, const char *what, const char *location,
                                  int64_t offset, int64_t length, size_t want, void *dst)
{
    if (!base_dir)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: external data '%s' but no folder to read it from", what, location);
    if (location[0] == '/' || strstr(location, ".."))
        return ingot_fail(INGOT_ERR_MODEL, "%s: external data location '%s' must be a relative path inside the model's folder", what, location);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", base_dir, location) >= sizeof path)
        return ingot_fail(INGOT_ERR_MODEL, "%s: external data path too long", what);
    if (length >= 0 && (uint64_t)length != want)
        return ingot_fail(INGOT_ERR_MODEL, "%s: external data length %" PRId64 " bytes, the shape needs %zu", what, length, want);
    FILE *f = fopen(path, "rb");
    if (!f) return ingot_fail(INGOT_ERR_IO, "%s: cannot open external data '%s': %s", what, path, strerror(errno));
    ingot_status st = INGOT_OK;
    if (fseeko(f, (off_t)offset, SEEK_SET) != 0) {
        st = ingot_fail(INGOT_ERR_IO, "%s: cannot seek to %" PRId64 " in '%s'", what, offset, path);
    } else if (want && fread(dst, 1, want, f) != want) {
        st = ingot_fail(INGOT_ERR_CORRUPT, "%s: external data '%s' ends before offset %" PRId64 " + %zu bytes", what, path, offset, want);
    }
    fclose(f);
    return st;
}

ingot_status onnx_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir, const char *what,
                                ing_tensor *t, size_t *nbytes)
{
    int dt = tp->has_data_type ? tp->data_type : 0;
    if (!ing_dtype_valid(dt))
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: element type %d is not supported (supported: f32, f16, bf16, f64, i8-i64, u8-u64, bool)", what, dt);
    if (tp->n_dims > IR_MAX_RANK)
        return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: rank %zu, at most %d supported", what, tp->n_dims, IR_MAX_RANK);
    if (tp->segment) return ingot_fail(INGOT_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
    ing_tensor r = {0};
    r.dtype = dt;
    r.rank = (int32_t)tp->n_dims;
    size_t count = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0) return ingot_fail(INGOT_ERR_CORRUPT, "%s: dim %zu is %" PRId64 ", must be >= 0", what, i, tp->dims[i]);
        r.dims[i] = tp->dims[i];
        if (!ing_mul_fits(count, (size_t)tp->dims[i], &count))
            return ingot_fail(INGOT_ERR_CORRUPT, "%s: element count overflows", what);
    }
    size_t esz = ingot_dtype_size(dt), bytes;
    if (!ing_mul_fits(count, esz, &bytes)) return ingot_fail(INGOT_ERR_CORRUPT, "%s: byte size overflows", what);
    void *buf = ing_malloc(bytes);
    if (!buf) return ingot_fail(INGOT_ERR_NOMEM, "out of memory for %s (%zu bytes)", what, bytes);
    ingot_status st = INGOT_OK;

    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        const char *loc = NULL;
        int64_t off = 0, len = -1;
        for (size_t i = 0; i < tp->n_external_data; i++) {
            const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
            if (!k || !v) continue;
            if (!strcmp(k, "location")) loc = v;
            else if (!strcmp(k, "offset")) off = strtoll(v, NULL, 10);
            else if (!strcmp(k, "length")) len = strtoll(v, NULL, 10);
        }
        if (!loc) st = ingot_fail(INGOT_ERR_MODEL, "%s: external data without a location", what);
        else if (off < 0) st = ingot_fail(INGOT_ERR_MODEL, "%s: negative external data offset %" PRId64, what, off);
        else st = read_external(base_dir, what, loc, off, len, bytes, buf);
    } else if (tp->has_raw_data) {
        if (tp->raw_data.len != bytes)
            st = ingot_fail(INGOT_ERR_CORRUPT, "%s: raw_data holds %zu bytes, shape and type need %zu", what, tp->raw_data.len, bytes);
        else if (bytes)
            memcpy(buf, tp->raw_data.data, bytes);
    } else {
        size_t have = 0;
        switch (dt) {
        case INGOT_DTYPE_F32:
            have = tp->n_float_data;
            if (have == count && bytes) memcpy(buf, tp->float_data, bytes);
            break;
        case INGOT_DTYPE_F64:
            have = tp->n_double_data;
            if (have == count && bytes) memcpy(buf, tp->double_data, bytes);
            break;
        case INGOT_DTYPE_I64:
            have = tp->n_int64_data;
            if (have == count && bytes) memcpy(buf, tp->int64_data, bytes);
            break;
        case INGOT_DTYPE_U32: case INGOT_DTYPE_U64:
            have = tp->n_uint64_data;
            if (have == count)
                for (size_t i = 0; i < count; i++) ing_store_u64(dt, buf, i, tp->uint64_data[i]);
            break;
        default: /* i32, i16, i8, u16, u8, bool, f16 and bf16 (bit patterns) live in int32_data */
            have = tp->n_int32_data;
            if (have == count)
                for (size_t i = 0; i < count; i++) {
                    int32_t v = tp->int32_data[i];
                    switch (esz) {
                    case 1: ((uint8_t *)buf)[i] = (uint8_t)v; break;
                    case 2: ((uint16_t *)buf)[i] = (uint16_t)v; break;
                    default: ((int32_t *)buf)[i] = v; break;
                    }
                }
            break;
        }
        if (have != count)
            st = ingot_fail(INGOT_ERR_CORRUPT, "%s: holds %zu elements, its shape needs %zu", what, have, count);
    }
    if (st != INGOT_OK) {
        ing_free(buf);
        return st;
    }
    r.data = buf;
    *t = r;
    *nbytes = bytes;
    return INGOT_OK;
}
