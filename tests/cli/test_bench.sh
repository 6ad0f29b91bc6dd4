#!/bin/sh
# `ingot bench` on a CPU engine: the JSON report has every field with sane values, the profile
# lists the steps, a steady state allocates nothing (host allocations and copies counted), two
# output buffer sets work, and the flags that apply to CUDA engines only fail with one line
# starting "ingot:".
ingot="$1"; src="$2"; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is absent"; exit 77; }
pass=0; fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_error() {
  what="$1"; shift
  if "$ingot" "$@" >/dev/null 2>"$tmp/err"; then bad "$what: exit 0"; return; fi
  lines=$(wc -l < "$tmp/err")
  if [ "$lines" -eq 1 ] && grep -q '^ingot: ' "$tmp/err"; then ok; else bad "$what: stderr was: $(cat "$tmp/err")"; fi
}
"$ingot" bench --help >/dev/null 2>&1 && ok || bad "bench --help"
if ! "$ingot" build "$src/models/digits_cnn/model.onnx" -o "$tmp/d.engine" --shapes image:2x1x8x8 >/dev/null 2>"$tmp/err"; then
  bad "build: $(cat "$tmp/err")"; echo "$pass passed, $fail failed"; exit 1
fi
if "$ingot" bench "$tmp/d.engine" --warmup 20 --iterations 50 --json "$tmp/b.json" --profile --percentile 50,99 --load \
     > "$tmp/out.txt" 2>&1; then ok; else bad "bench: $(cat "$tmp/out.txt")"; fi
grep -q '^throughput: .* inferences/s, .* items/s (batch 2)' "$tmp/out.txt" && ok || bad "text report: throughput line"
grep -q '^per run: 0.00 allocations (0 device, 0 host' "$tmp/out.txt" && ok || bad "text report: allocations per run"
grep -q 'FusedConv' "$tmp/out.txt" && ok || bad "text report: profile steps"
if python3 - "$tmp/b.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
errs = []
def check(cond, what):
    if not cond: errs.append(what)
check(j["backend"] == "cpu", "backend")
check(j["iterations"] == 50, "iterations %r" % j["iterations"])
check(j["total_host_walltime_s"] > 0, "walltime")
check(j["throughput"]["inferences_per_s"] > 0, "throughput")
check(j["throughput"]["batch"] == 2 and j["throughput"]["items_per_s"] > j["throughput"]["inferences_per_s"], "items/s")
for key in ("latency_ms", "enqueue_ms"):
    s = j[key]
    check(0 < s["min"] <= s["median"] <= s["max"], key + " min <= median <= max")
    check(s["min"] <= s["mean"] <= s["max"], key + " mean")
    check(sorted(s["percentiles"]) == ["50", "99"], key + " percentiles keys")
    check(s["min"] <= s["percentiles"]["50"] <= s["percentiles"]["99"] <= s["max"], key + " percentile order")
for key in ("h2d_ms", "gpu_compute_ms", "d2h_ms", "cuda_graph_runs"):
    check(j[key] is None, key + " is null on CPU")
check(j["allocations_per_run"] == 0, "allocations_per_run %r" % j["allocations_per_run"])
check(j["host_allocations_total"] == 0 and j["device_allocations_total"] == 0, "allocation totals")
check(j["h2d_bytes_per_run"] == 0 and j["d2h_bytes_per_run"] == 0, "no copies on CPU")
check(j["config"]["io_memory"] == "pageable" and j["config"]["streams"] == 1, "config io_memory/streams")
check(isinstance(j["warnings"], list), "warnings")
check(j["load"]["ms"] >= 0 and "rss_hwm_delta" in j["load"], "load")
p = j["profile"]
check(p["runs"] >= 1 and p["total_ms"] > 0, "profile runs/total")
steps = p["steps"]
check(len(steps) >= 3, "profile steps %d" % len(steps))
for s in steps:
    check(s["op"] and s["kernel"].startswith("cpu.") and s["covers"] and s["ms"] >= 0, "step %r" % s)
check(any(s["op"] == "FusedConv" and len(s["covers"]) >= 2 for s in steps), "a fused step covers several ONNX nodes")
if errs:
    print("; ".join(errs)); sys.exit(1)
PY
then ok; else bad "json checks"; fi
# duration mode: at least 10 runs
"$ingot" bench "$tmp/d.engine" --warmup 0 --duration 0.05 --json "$tmp/d.json" >/dev/null 2>&1 &&
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["iterations"] >= 10 else 1)' "$tmp/d.json" &&
  ok || bad "bench --duration"
expect_error "no-data-transfers" bench "$tmp/d.engine" --no-data-transfers
expect_error "streams 2" bench "$tmp/d.engine" --streams 2
expect_error "io-memory device" bench "$tmp/d.engine" --io-memory device
expect_error "io-memory pinned" bench "$tmp/d.engine" --io-memory pinned
expect_error "io-memory mapped" bench "$tmp/d.engine" --io-memory mapped
expect_error "io-memory bogus" bench "$tmp/d.engine" --io-memory bogus
expect_error "output-memory pinned" bench "$tmp/d.engine" --output-memory pinned
expect_error "output-memory bogus" bench "$tmp/d.engine" --output-memory bogus
expect_error "bad percentile" bench "$tmp/d.engine" --percentile 150
expect_error "bad iterations" bench "$tmp/d.engine" --iterations 0
expect_error "missing engine" bench /nonexistent.engine
expect_error "no engine" bench
expect_error "unknown shape input" bench "$tmp/d.engine" --shapes nope:1x1x8x8
"$ingot" bench "$tmp/d.engine" --iterations 3 --warmup 0 --io-memory pageable --output-memory pageable --streams 1 \
  --no-cuda-graph --json "$tmp/p.json" >/dev/null 2>&1 &&
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["config"]; sys.exit(0 if c["io_memory"] == "pageable" and c["output_memory"] == "pageable" else 1)' "$tmp/p.json" &&
  ok || bad "bench with pageable / streams 1"
"$ingot" bench "$tmp/d.engine" --iterations 7 --warmup 0 --output-buffers 2 --json "$tmp/o.json" >/dev/null 2>&1 &&
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["iterations"] == 7 and j["config"]["output_buffers"] == 2 and j["allocations_per_run"] == 0 else 1)' "$tmp/o.json" &&
  ok || bad "bench --output-buffers 2"
expect_error "output-buffers 3" bench "$tmp/d.engine" --output-buffers 3
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
