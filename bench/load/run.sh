#!/bin/bash
# Load benchmark: a LLaMA-7B-sized engine (13.5 GB of f16 weights) in every load mode, beside the
# floor (reading the file with cat) in the same run. Hot (page cache warm) and, when run as root,
# cold (caches dropped before each). Peak RSS from getrusage via `ingot run --load-stats`.
# usage: bench/load/run.sh INGOT DIR   (DIR needs 14 GB free)
set -u
ingot="$1"; dir="$2"; eng="$dir/llama-7b.engine"
mkdir -p "$dir"
[ -f "$eng" ] || { echo "writing $eng"; /usr/bin/env time -f "synth: %e s" "$ingot" synth llama-7b -o "$eng" || exit 1; }
ls -l "$eng"
drop() { [ "$(id -u)" = 0 ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; }
calc() { python3 -c "print($1)"; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/tmp/load.out 2>&1; t1=$(date +%s.%N); calc "round($t1 - $t0, 3)"; }
echo "| mode | cache | seconds | x floor | load stats |"
echo "|---|---|---|---|---|"
for cache in hot cold; do
  [ "$cache" = cold ] && ! drop && { echo "(cold runs need root)"; break; }
  [ "$cache" = cold ] && drop
  floor=$(secs sh -c "cat '$eng' > /dev/null")
  echo "| cat > /dev/null (floor) | $cache | $floor | 1.00 | |"
  for mode in stream mmap read; do
    [ "$cache" = cold ] && drop
    t=$(secs "$ingot" run "$eng" --load-only --load-stats --load-mode "$mode")
    stats=$(grep -o "peak RSS [^(]*" /tmp/load.out | head -1)
    printf "| %s | %s | %.2f | %.2f | %s |\n" "$mode" "$cache" "$t" "$(calc "$t / $floor")" "$stats"
  done
  [ "$cache" = cold ] && drop
  t=$(secs "$ingot" inspect --verify "$eng")
  printf "| inspect --verify | %s | %.2f | %.2f | |\n" "$cache" "$t" "$(calc "$t / $floor")"
done
