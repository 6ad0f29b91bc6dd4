#!/bin/bash
# On the GPU machine: the conformance suite on --backend B in N parallel shards (each test forks
# and creates its own CUDA context, so one process at a time would take too long).
# usage: bench/gpu/conformance.sh INGOT NODE_DIR BACKEND N OUTFILE
# One OpenMP thread per shard: N shards of the machine's default thread count would oversubscribe
# the cores with the CPU fallback's spinning threads.
ingot="$1"; node="$2"; backend="$3"; n="$4"; out="$5"
export OMP_NUM_THREADS=1
for ((i = 0; i < n; i++)); do
  "$ingot" conformance "$node" --backend "$backend" --shard "$i/$n" > "$out.$i" 2>&1 &
done
wait
cat "$out".* | grep -E "^FAIL" | sort > "$out"
passed=0; failed=0; skipped=0
for ((i = 0; i < n; i++)); do
  read -r p f s < <(sed -n 's/^conformance: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\1 \2 \3/p' "$out.$i")
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
done
rm -f "$out".*
echo "conformance: $passed passed, $failed failed, $skipped skipped" | tee -a "$out"
