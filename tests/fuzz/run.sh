#!/bin/sh
# Run each fuzz target for a bounded time from seeds (the bundled model, the shared real models,
# small ONNX node tests, engines built from them). A crash leaves its input in fuzz-out/<target>/ and fails: copy it
# to tests/fuzz/regressions/<target>/ so it stays a test.
set -u
build="$1"; seconds="$2"; shared="$3"
out=fuzz-out; rm -rf "$out"; mkdir -p "$out/onnx/seeds" "$out/engine/seeds"
cp models/digits_cnn/model.onnx "$out/onnx/seeds/digits.onnx"
for m in "$shared"/models/*/model.onnx; do
  [ -f "$m" ] && cp "$m" "$out/onnx/seeds/$(basename "$(dirname "$m")").onnx"
done
if [ -d "$shared/onnx-node" ]; then
  for t in test_add test_conv_with_strides_padding test_if test_loop11 test_scan9_sum test_slice \
           test_reshape_extended_dims test_gather_0 test_resize_upsample_scales_linear test_lstm_defaults; do
    [ -f "$shared/onnx-node/$t/model.onnx" ] && cp "$shared/onnx-node/$t/model.onnx" "$out/onnx/seeds/$t.onnx"
  done
fi
for f in "$out"/onnx/seeds/*.onnx; do
  "$build"/ingot build "$f" -o "$out/engine/seeds/$(basename "$f" .onnx).engine" >/dev/null 2>&1 || true
done
rc=0
for t in onnx engine; do
  mkdir -p "$out/$t/corpus"
  echo "fuzz_$t: $seconds s"
  "$build/tests/fuzz/fuzz_$t" "$out/$t/corpus" "$out/$t/seeds" tests/fuzz/regressions/$t -max_total_time="$seconds" \
      -rss_limit_mb=2048 -timeout=20 -max_len=262144 -artifact_prefix="$out/$t/" -print_final_stats=1 \
      >"$out/$t/log.txt" 2>&1 || { rc=1; echo "fuzz_$t found a failure: see $out/$t/ and $out/$t/log.txt"; }
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/$t/log.txt" | sed "s/^/  /"
done
exit $rc
