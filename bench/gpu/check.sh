#!/bin/bash
# On the GPU machine: unpack devkit/, find the CUDA libraries of the machine's Python packages,
# and run the CUDA checks. Writes logs under $OUT. usage: bench/gpu/check.sh [probe|tests|conformance|perf|all]
# perf (not part of all; about 9 minutes): ResNet-50 against bench/baselines/gpu-h100.json with and without
# --tune (the gate), the runtime-I/O benchmark, and the CUDA loader on a 5 GB engine.
set -u
what="${1:-all}"
OUT="${OUT:-/tmp/out}"; mkdir -p "$OUT"
. bench/gpu/env.sh
if [ "$what" = probe ] || [ "$what" = all ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import torch, onnx; print('torch', torch.__version__, 'onnx', onnx.__version__)"
  ldd devkit/bin/ingot | grep -E "not found|cudnn|cublas|openblas"
  devkit/bin/ingot --version
fi
if [ "$what" = tests ] || [ "$what" = all ]; then
  for t in devkit/bin/test_cuda_*; do [ -x "$t" ] && { echo "== $t"; "$t" 2>&1 | grep -E "^FAIL|passed, " | head -20; }; done
  echo "== test_models (cuda)"; INGOT_TEST_BACKEND=cuda devkit/bin/test_models 2>&1 | tail -12
fi
if [ "$what" = conformance ] || [ "$what" = all ]; then
  NODE="$INGOT_SHARED_DIR/onnx-node"
  bash bench/gpu/conformance.sh devkit/bin/ingot "$NODE" cuda 12 "$OUT/conformance-cuda.txt" | tail -1
  grep -E "^FAIL" "$OUT/conformance-cuda.txt" | cut -c1-200 | head -30
fi
if [ "$what" = perf ]; then
  bench/run --quick --budget 60 --batches 1,128 --models resnet50 --precisions fp16 --variants none \
    --gate bench/baselines/gpu-h100.json --out "$OUT/heuristic" > /dev/null 2>&1; tail -5 "$OUT/heuristic/gate.txt"
  bench/run --quick --budget 60 --batches 1,128 --models resnet50 --precisions fp16 --variants none --build-flags "--tune" \
    --gate bench/baselines/gpu-h100.json --out "$OUT/tuned" > /dev/null 2>&1; tail -5 "$OUT/tuned/gate.txt"
  timeout 200 python3 bench/gpu/io_bench.py --ingot devkit/bin/ingot --out "$OUT/io" --iters 50 --log /tmp/io.log | tail -22
  KIND=5g timeout 150 bash bench/load/run.sh devkit/bin/ingot /tmp/loadbench cuda > "$OUT/load.txt" 2>&1; tail -8 "$OUT/load.txt"
fi
