# Sourced on the GPU machine by check.sh and bench/run: unpack devkit/ (made here by pack.sh) and
# point the loader at its libraries and at the CUDA libraries of the machine's Python packages
# (cuDNN and cuBLASLt come from PyTorch's nvidia-* wheels there; nothing can be installed).
# Sets INGOT_SHARED_DIR, LD_LIBRARY_PATH and OMP_NUM_THREADS. Run from the repository root.
mkdir -p devkit/lib devkit/shared
[ -f devkit/libs.tar.xz ] && [ ! -f devkit/lib/.unpacked ] && tar xJf devkit/libs.tar.xz -C devkit/lib && touch devkit/lib/.unpacked
[ -d devkit/bin ] || { [ -f devkit/bin.tar.xz ] && tar xJf devkit/bin.tar.xz -C devkit; }
for t in onnx-node models; do
  [ -f devkit/$t.tar.xz ] && [ ! -d devkit/shared/$t ] && tar xJf devkit/$t.tar.xz -C devkit/shared
done
export INGOT_SHARED_DIR="$PWD/devkit/shared"
ingot_site=$(python3 -c "import site; print(site.getsitepackages()[0])" 2>/dev/null)
ingot_extra=""
for d in $(find "$ingot_site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null); do ingot_extra="$ingot_extra:$d"; done
export LD_LIBRARY_PATH="$PWD/devkit/lib$ingot_extra:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-8}"
unset ingot_site ingot_extra
