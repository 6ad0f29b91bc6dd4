#!/bin/sh
# Pack what the GPU machine needs into devkit/ (git-ignored): the binaries of a CUDA build and
# the shared libraries the GPU machine's image lacks (OpenBLAS, protobuf-c, xxHash, OpenMP,
# gfortran), compressed. usage: bench/gpu/pack.sh BUILD_DIR
set -eu
build="${1:-build-cuda}"
rm -rf devkit && mkdir -p devkit/bin devkit/lib
cp "$build/ingot" devkit/bin/
for t in "$build"/tests/test_models "$build"/tests/cuda/test_cuda_*; do
  [ -f "$t" ] && [ -x "$t" ] && cp "$t" devkit/bin/
done
strip devkit/bin/*
(cd devkit && tar cJf bin.tar.xz bin && rm -rf bin)
libs=""
for l in libprotobuf-c.so.1 libxxhash.so.0 libopenblas.so.0 libgomp.so.1 libgfortran.so.5 libquadmath.so.0; do
  p=$(ldd "$build/ingot" | awk -v n="$l" '$1 == n {print $3}')
  [ -n "$p" ] && cp -L "$p" devkit/lib/ && libs="$libs $l"
done
(cd devkit/lib && tar cJf ../libs.tar.xz $libs && rm -f $libs)
shared="${INGOT_SHARED_DIR:-../shared}"
if [ -d "$shared/onnx-node" ]; then
  (cd "$shared" && tar cJf "$OLDPWD/devkit/onnx-node.tar.xz" onnx-node)
  (cd "$shared" && tar cJf "$OLDPWD/devkit/models.tar.xz" models)
fi
du -sh devkit
