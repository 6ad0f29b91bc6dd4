#!/bin/bash
# Load benchmark: a LLaMA-7B-sized engine (13.5 GB of f16 weights) in every load mode, beside the
# floor (reading the file with cat) in the same run.
# usage: bench/load/run.sh INGOT DIR [cpu|cuda]   (DIR needs 14 GB free; default cuda when
#        nvidia-smi sees a GPU, else cpu)
#
# What each column is:
#   seconds    wall time of `ingot run ENGINE --load-only` (process start to exit: includes the
#              CUDA context and cuDNN/cuBLASLt loading for CUDA engines)
#   load s     the loader's own wall time (ingot_load_stats.seconds)
#   x floor    load s / the floor; the floor is `cat ENGINE > /dev/null` in the same run
#   RSS +MiB   peak RSS of the process (/usr/bin/time) minus the process baseline: the peak RSS
#              of the same command on `synth tiny` of the same backend (a CUDA process's context
#              and libraries counted in the baseline, not in the load)
#   VmHWM +MiB how far the load raised the process's peak (the load stats; for CUDA this also
#              counts CUDA initialisation, which happens inside the first load)
#   GPU MiB    device memory holding the weights (load stats)
# Cache: every row of the default pass is "hot": the file was just written by synth and read
# by the floor, and stays in the page cache when the machine has more RAM than the file. The
# page cache is not dropped unless DROP_CACHES=1 is set (needs root; never on shared or lent
# machines): then a "cold" pass drops caches before the floor and before each mode.
set -u
ingot="$1"; dir="$2"
backend="${3:-}"
if [ -z "$backend" ]; then
  if nvidia-smi -L >/dev/null 2>&1; then backend=cuda; else backend=cpu; fi
fi
kind="${KIND:-llama-7b}" # KIND=1g for a quick check
eng="$dir/$kind.$backend.engine"; tiny="$dir/tiny.$backend.engine"
mkdir -p "$dir"
[ -f "$eng" ] || { echo "writing $eng"; "$ingot" synth "$kind" --backend "$backend" -o "$eng" || exit 1; }
"$ingot" synth tiny --backend "$backend" -o "$tiny" >/dev/null || exit 1
ls -l "$eng"
echo "date: $(date -u +%F) host: $(hostname) backend: $backend $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
drop() { [ "${DROP_CACHES:-0}" = 1 ] && [ "$(id -u)" = 0 ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; }
calc() { python3 -c "print($1)"; }
# run CMD...: wall seconds in $t, peak RSS KiB in $rss, output in /tmp/load.out
run() {
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "maxrss_kb %M" "$@" >/tmp/load.out 2>&1
  t1=$(date +%s.%N)
  t=$(calc "round($t1 - $t0, 3)")
  rss=$(grep -o "maxrss_kb [0-9]*" /tmp/load.out | awk '{print $2}')
}
field() { grep -o "$1" /tmp/load.out | head -1 | grep -o "[0-9.]*" | head -1; }
run "$ingot" run "$tiny" --load-only --load-stats
base_rss=$rss
tiny_s=$(grep -o "): [0-9.]* s" /tmp/load.out | grep -o "[0-9.]*" | head -1)
echo "process baseline (synth tiny, $backend, --load-only): peak RSS $(calc "round($base_rss / 1024, 1)") MiB;" \
     "its load took ${tiny_s:-?} s (for CUDA: mostly creating the context and loading cuDNN/cuBLASLt, which" \
     "every first load in a process pays and which the 'load s' column below includes)"
echo
echo "| mode | cache | seconds | load s | x floor | RSS +MiB | VmHWM +MiB | staging bytes | GPU MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for cache in hot cold; do
  [ "$cache" = cold ] && ! drop && { echo; echo "(no cold pass: set DROP_CACHES=1 as root on a machine of your own)"; break; }
  [ "$cache" = cold ] && drop
  t0=$(date +%s.%N); cat "$eng" > /dev/null; t1=$(date +%s.%N)
  floor=$(calc "round($t1 - $t0, 3)")
  echo "| cat > /dev/null (floor) | $cache | $floor | $floor | 1.00 | | | | |"
  for mode in stream stream+verify mmap read; do
    [ "$cache" = cold ] && drop
    args=(--load-mode "${mode%+verify}")
    [ "$mode" = stream+verify ] && args+=(--verify)
    run "$ingot" run "$eng" --load-only --load-stats "${args[@]}"
    if ! grep -q "^loaded" /tmp/load.out; then echo "| $mode | $cache | failed: $(tail -1 /tmp/load.out) |"; continue; fi
    ls_s=$(grep -o "): [0-9.]* s" /tmp/load.out | grep -o "[0-9.]*" | head -1)
    hwm=$(field "peak RSS +[0-9.]*")
    stg=$(field "staging [0-9]*")
    gpu=$(field "device weights [0-9.]*")
    used=$(grep -o "^loaded [^ ]* ([a-z]*)" /tmp/load.out | grep -o "([a-z]*)")
    printf "| %s %s | %s | %.2f | %.2f | %.2f | %.0f | %s | %s | %s |\n" "$mode" "$used" "$cache" "$t" "$ls_s" \
      "$(calc "$ls_s / $floor")" "$(calc "max(0, ($rss - $base_rss) / 1024)")" "$hwm" "$stg" "$gpu"
  done
done
rm -f "$tiny"
