#!/bin/sh
# The command line: --help succeeds for every command; errors exit non-zero with one line
# that starts with "ingot:".
ingot="$1"; src="$2"; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*"; }
for c in build run inspect conformance demo; do
  "$ingot" $c --help >/dev/null 2>&1 && ok || bad "$c --help"
done
# expect_error WHAT ARGS...: non-zero exit, one stderr line starting with "ingot:"
expect_error() {
  what="$1"; shift
  if "$ingot" "$@" >/dev/null 2>"$tmp/err"; then bad "$what: exit 0"; return; fi
  lines=$(wc -l < "$tmp/err")
  if [ "$lines" -eq 1 ] && grep -q '^ingot: ' "$tmp/err"; then ok; else bad "$what: stderr was: $(cat "$tmp/err")"; fi
}
expect_error "unknown command" frobnicate
expect_error "build without output" build "$src/models/digits_cnn/model.onnx"
expect_error "build missing model" build /nonexistent.onnx -o "$tmp/x.engine"
expect_error "build bad shapes" build "$src/models/digits_cnn/model.onnx" -o "$tmp/x.engine" --shapes image:1xZ
expect_error "build unknown option" build --frob
expect_error "run missing engine" run /nonexistent.engine
expect_error "inspect missing" inspect /nonexistent.engine
echo "not an engine" > "$tmp/junk.engine"
expect_error "inspect junk" inspect "$tmp/junk.engine"
expect_error "run junk" run "$tmp/junk.engine"
# a real round trip: build, inspect (text and JSON), run with random and file inputs
if "$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/d.engine" --shapes image:1x1x8x8 >/dev/null 2>"$tmp/err"; then ok; else bad "build: $(cat "$tmp/err")"; fi
"$ingot" inspect "$tmp/d.engine" > "$tmp/inspect.txt" 2>&1 && grep -q 'FusedConv' "$tmp/inspect.txt" && ok || bad "inspect lists steps"
"$ingot" inspect --json "$tmp/d.engine" > "$tmp/inspect.json" 2>&1 && grep -q '"op":"FusedConv"' "$tmp/inspect.json" && ok || bad "inspect --json"
"$ingot" run "$tmp/d.engine" --output "$tmp/out" > "$tmp/run.txt" 2>&1 && grep -q "output 'logits': f32 \[1,10\]" "$tmp/run.txt" && [ -f "$tmp/out/logits.npy" ] && ok || bad "run random: $(cat "$tmp/run.txt")"
# CUDA on a machine without a GPU (or a build without CUDA): INGOT_ERR_BACKEND, one line
if [ ! -e /dev/nvidia0 ]; then
  expect_error "build --backend cuda without a GPU" build "$src/models/digits_cnn/model.onnx" -o "$tmp/c.engine" --backend cuda
  grep -q 'INGOT_ERR_BACKEND' "$tmp/err" && grep -qi 'no CUDA device\|not in this build' "$tmp/err" && ok || bad "cuda without GPU: $(cat "$tmp/err")"
  [ ! -e "$tmp/c.engine" ] && ok || bad "cuda without GPU wrote an engine"
fi
# a timing cache that is not one fails by name; a missing one is created empty only when it gains entries
echo "not a timing cache at all" > "$tmp/junk.cache"
expect_error "build with a corrupt timing cache" build "$src/models/digits_cnn/model.onnx" -o "$tmp/t.engine" --timing-cache "$tmp/junk.cache"
grep -q "timing cache '$tmp/junk.cache'.*INGOT_ERR_CORRUPT" "$tmp/err" && ok || bad "corrupt cache message: $(cat "$tmp/err")"
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/t.engine" --timing-cache "$tmp/new.cache" >/dev/null 2>"$tmp/err" && [ ! -e "$tmp/new.cache" ] && ok || bad "cpu build with a missing cache: $(cat "$tmp/err")"
# builds are reproducible: the same model and options give the same engine bytes (on CUDA the
# tactics come from timing, so only with a timing cache: test_cuda_tactics)
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/r1.engine" >/dev/null 2>&1 &&
  "$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/r2.engine" >/dev/null 2>&1 &&
  cmp -s "$tmp/r1.engine" "$tmp/r2.engine" && ok || bad "two builds of one model differ"
# --tf32 on the CPU runs as fp32: the same logits as the fp32 engine
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/tf.engine" --tf32 >/dev/null 2>"$tmp/err" && ok || bad "build --tf32: $(cat "$tmp/err")"
"$ingot" inspect "$tmp/tf.engine" 2>&1 | grep -q 'precision tf32' && ok || bad "inspect shows tf32"
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/f32.engine" >/dev/null 2>&1 &&
  "$ingot" run "$tmp/tf.engine" --input image="$src/models/digits_cnn/test_data_set_0/input_0.pb" --output "$tmp/o_tf" >/dev/null 2>&1 &&
  "$ingot" run "$tmp/f32.engine" --input image="$src/models/digits_cnn/test_data_set_0/input_0.pb" --output "$tmp/o_32" >/dev/null 2>&1 &&
  cmp -s "$tmp/o_tf/logits.npy" "$tmp/o_32/logits.npy" && ok || bad "tf32 on the CPU differs from fp32"
# passes: listed in order (fuse_elementwise last), reported per pass, one can be switched off
"$ingot" build --list-passes 2>&1 | tail -1 | grep -q '^fuse_elementwise ' && ok || bad "--list-passes ends with fuse_elementwise"
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/v.engine" --verbose 2>"$tmp/verbose.txt" >/dev/null &&
  grep -q '^pass fuse_elementwise .*skipped: the target backend has no FusedElementwise kernel' "$tmp/verbose.txt" && ok ||
  bad "--verbose on cpu: $(cat "$tmp/verbose.txt")"
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/v.engine" --verbose --disable-pass fuse_elementwise \
  2>"$tmp/verbose.txt" >/dev/null && grep -q '^pass fuse_elementwise *disabled' "$tmp/verbose.txt" && ok ||
  bad "--disable-pass fuse_elementwise: $(cat "$tmp/verbose.txt")"
expect_error "run wrong input name" run "$tmp/d.engine" --input nope="$src/models/digits_cnn/test_data_set_0/input_0.pb"
# build-time I/O formats: a uint8 NHWC input with normalization and an fp16 output
d="$src/models/digits_cnn/model.onnx"
if "$ingot" build "$d" -o "$tmp/u8.engine" --shapes image:2x1x8x8 --input-format image:uint8:nhwc \
     --input-norm image:mean=0.5:std=0.25:scale=0.00392156862745098 --output-format logits:fp16 >/dev/null 2>"$tmp/err"; then ok; else bad "build uint8: $(cat "$tmp/err")"; fi
"$ingot" inspect "$tmp/u8.engine" > "$tmp/u8.txt" 2>&1 && grep -q 'image: u8 \[2,8,8,1\]' "$tmp/u8.txt" && grep -q 'logits: f16 \[2,10\]' "$tmp/u8.txt" && grep -q 'InputConvert' "$tmp/u8.txt" && ok || bad "inspect uint8 engine: $(cat "$tmp/u8.txt")"
"$ingot" run "$tmp/u8.engine" --output "$tmp/u8out" > "$tmp/run.txt" 2>&1 && grep -q "output 'logits': f16 \[2,10\]" "$tmp/run.txt" && [ -f "$tmp/u8out/logits.npy" ] && ok || bad "run uint8 engine: $(cat "$tmp/run.txt")"
expect_error "input format unknown name" build "$d" -o "$tmp/x.engine" --input-format nope:fp16
expect_error "input format bad dtype" build "$d" -o "$tmp/x.engine" --input-format image:int8
expect_error "input norm channel count" build "$d" -o "$tmp/x.engine" --input-format image:uint8 --input-norm image:mean=1,2,3
expect_error "input norm bad number" build "$d" -o "$tmp/x.engine" --input-norm image:std=0.5,x
expect_error "output format uint8" build "$d" -o "$tmp/x.engine" --output-format logits:uint8
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
