#!/bin/bash
# On the GPU machine: per-step GPU time of ingot engines (`ingot bench --profile`), to see where
# an engine's time goes. Exports the models with bench/run into WORK (kept), then builds one
# engine per model/precision/batch and profiles it.
# usage: bench/gpu/profile.sh WORK OUTDIR MODELS PRECISIONS BATCHES [BUILD FLAGS...]
#   bench/gpu/profile.sh /tmp/w $OUT/prof resnet50,bert fp16 1,128
set -u
work="$1"; out="$2"; models="$3"; precs="$4"; batches="$5"; shift 5
mkdir -p "$work" "$out"
. bench/gpu/env.sh
ingot=devkit/bin/ingot
for m in ${models//,/ }; do
  [ -f "$work/$m.onnx" ] || python3 bench/gpu/bench_models.py --ingot "$ingot" --models "$m" --precisions fp16 \
      --batches 1 --no-compile --variants none --iters 10 --keep-onnx --work "$work" --out "$work/export-$m" > /dev/null 2>&1
  for p in ${precs//,/ }; do
    for b in ${batches//,/ }; do
      case "$m" in
        bert|vit_b_16|gpt2) [ "$m" = bert ] && shp="input_ids:${b}x128,attention_mask:${b}x128" || shp="input_ids:${b}x128";
                            [ "$m" = vit_b_16 ] && shp="input:${b}x3x224x224" ;;
        *) shp="input:${b}x3x224x224" ;;
      esac
      flag=""; [ "$p" = fp16 ] && flag="--fp16"; [ "$p" = bf16 ] && flag="--bf16"; [ "$p" = tf32 ] && flag="--tf32"
      eng="$work/$m-$p-b$b.engine"; log="$out/$m-$p-b$b.txt"
      { echo "# $ingot build $m.onnx --backend cuda --shapes $shp $flag $*"
        $ingot build "$work/$m.onnx" -o "$eng" --backend cuda --shapes "$shp" $flag "$@" 2>&1 | tail -3
        $ingot bench "$eng" --no-data-transfers --duration 2 --profile 2>&1; } > "$log"
      grep -E "GPU compute|median" "$log" | head -3 | sed "s/^/$m $p b$b: /"
      rm -f "$eng"
    done
  done
done
