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
# passes: listed in order (fuse_elementwise last), reported per pass, one can be switched off
"$ingot" build --list-passes 2>&1 | tail -1 | grep -q '^fuse_elementwise ' && ok || bad "--list-passes ends with fuse_elementwise"
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/v.engine" --verbose 2>"$tmp/verbose.txt" >/dev/null &&
  grep -q '^pass fuse_elementwise .*skipped: the target backend has no FusedElementwise kernel' "$tmp/verbose.txt" && ok ||
  bad "--verbose on cpu: $(cat "$tmp/verbose.txt")"
"$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/v.engine" --verbose --disable-pass fuse_elementwise \
  2>"$tmp/verbose.txt" >/dev/null && grep -q '^pass fuse_elementwise *disabled' "$tmp/verbose.txt" && ok ||
  bad "--disable-pass fuse_elementwise: $(cat "$tmp/verbose.txt")"
expect_error "run wrong input name" run "$tmp/d.engine" --input nope="$src/models/digits_cnn/test_data_set_0/input_0.pb"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
