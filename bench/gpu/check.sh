#!/bin/bash
# On the GPU machine: unpack devkit/, find the CUDA libraries of the machine's Python packages,
# and run the CUDA checks. Writes logs under $OUT. usage: bench/gpu/check.sh [probe|tests|conformance|all]
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
