#!/usr/bin/env python3
"""The CPU side of the benchmark: ingot's CPU backend against ONNX Runtime (CPU) in the same run.

For each small shared model (digits_cnn, squeezenet1_1, mobilenet_v3_small, tiny_bert) it builds an
ingot engine, then alternates rounds of `ingot run ENGINE --iterations N` (its printed median) and N
timed ONNX Runtime runs on the same inputs (test_data_set_0) with the same thread count. Rounds
alternate so that a load change on the machine hits both sides; the ratio is ingot's median over
ORT's (the median of the per-round ratios), and its spread is their run-to-run spread
((p75-p25)/median).
Writes OUT.json ({"meta", "rows": [{model, precision, batch, ingot, ort, ratio, spread}]}) for
bench/gate; with --gate BASELINE it runs the gate too (and measures once more to confirm a
failure). Exit status 77 (skip) when the shared models or onnxruntime are missing.

usage: cpu_suite.py --ingot build/ingot --shared ../shared [--short] --out FILE.json
                    [--models a,b] [--iterations N] [--rounds R] [--threads T]
                    [--gate BASELINE.json [--no-retry]]
"""
import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

MODELS = "digits_cnn,squeezenet1_1,mobilenet_v3_small,tiny_bert"
SKIP = 77


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pct(xs, p):
    """Percentile by linear interpolation (numpy's default), without needing numpy here."""
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    f = (len(s) - 1) * p / 100.0
    i = int(f)
    return s[i] + (s[min(i + 1, len(s) - 1)] - s[i]) * (f - i)


def model_inputs(mdir):
    """[(name, pb path, numpy array, has symbolic dims)] for the model's graph inputs."""
    import onnx
    from onnx import numpy_helper
    g = onnx.load(os.path.join(mdir, "model.onnx"), load_external_data=False).graph
    inits = {i.name for i in g.initializer}
    graph_inputs = [i for i in g.input if i.name not in inits]
    out = []
    for n, gi in enumerate(graph_inputs):
        pb = os.path.join(mdir, "test_data_set_0", f"input_{n}.pb")
        if not os.path.exists(pb):
            raise RuntimeError(f"{pb} is missing")
        t = onnx.load_tensor(pb)
        name = t.name or gi.name  # the file's own name wins: it may be in another order
        sym = any(not d.HasField("dim_value") for d in gi.type.tensor_type.shape.dim)
        out.append((name, pb, numpy_helper.to_array(t), sym))
    return out


def ingot_round(ingot, eng, inputs, iters, env):
    cmd = [ingot, "run", eng, "--iterations", str(iters + 2)]  # ingot drops 2 warm-up runs
    for name, pb, _, _ in inputs:
        cmd += ["--input", f"{name}={pb}"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    m = re.search(r"median ([0-9.]+) ms", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError((r.stderr or r.stdout).strip()[-300:] or f"exit {r.returncode}")
    return float(m.group(1))


def bench_model(a, name, mdir, work, threads, env):
    import onnxruntime as ort
    row = {"model": name, "precision": "fp32"}
    inputs = model_inputs(mdir)
    row["batch"] = int(inputs[0][2].shape[0]) if inputs[0][2].ndim else 1
    eng = os.path.join(work, name + ".engine")
    cmd = [a.ingot, "build", os.path.join(mdir, "model.onnx"), "-o", eng] + shlex.split(a.build_args)
    shapes = [f"{n}:{'x'.join(str(d) for d in arr.shape)}" for n, _, arr, sym in inputs if sym]
    if shapes:
        cmd += ["--shapes", ",".join(shapes)]
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    build_s = time.time() - t0
    ing_err = None if r.returncode == 0 else (r.stderr or r.stdout).strip()[-300:]

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    ort_err = None
    try:
        sess = ort.InferenceSession(os.path.join(mdir, "model.onnx"), so, providers=["CPUExecutionProvider"])
        feed = {n: arr for n, _, arr, _ in inputs}
        for _ in range(3):  # warm-up: first runs allocate and pick kernels
            sess.run(None, feed)
    except Exception as e:  # report, do not hide
        ort_err = str(e).strip().splitlines()[-1][:300] if str(e).strip() else type(e).__name__

    ing_meds, ort_meds, ort_all = [], [], []
    for _ in range(a.rounds):
        if ing_err is None:
            try:
                ing_meds.append(ingot_round(a.ingot, eng, inputs, a.iterations, env))
            except RuntimeError as e:
                ing_err = str(e)
        if ort_err is None:
            ts = []
            for _ in range(a.iterations):
                t0 = time.perf_counter()
                sess.run(None, feed)
                ts.append((time.perf_counter() - t0) * 1e3)
            ort_meds.append(statistics.median(ts))
            ort_all += ts
        if ing_err and ort_err:
            break

    if ing_err:
        row["ingot"] = {"error": ing_err}
    else:
        med = statistics.median(ing_meds)
        row["ingot"] = {"median_ms": round(med, 4), "rounds_ms": [round(x, 4) for x in ing_meds],
                        "spread": round((pct(ing_meds, 75) - pct(ing_meds, 25)) / med, 4),
                        "build_s": round(build_s, 2)}
    if ort_err:
        row["ort"] = {"error": ort_err}
    else:
        med = statistics.median(ort_all)
        row["ort"] = {"median_ms": round(med, 4), "p10_ms": round(pct(ort_all, 10), 4),
                      "p90_ms": round(pct(ort_all, 90), 4),
                      "spread": round((pct(ort_all, 90) - pct(ort_all, 10)) / med, 4),
                      "rounds_ms": [round(x, 4) for x in ort_meds]}
    if not ing_err and not ort_err:
        # Per-round ratios pair timings taken moments apart, so a burst of load elsewhere on the
        # machine shifts both sides of one round; their median and interquartile spread keep one
        # disturbed round from moving the result. One round has no run-to-run figure: take both
        # sides' spreads instead.
        ratios = [i / o for i, o in zip(ing_meds, ort_meds)]
        rmed = statistics.median(ratios)
        row["ratio"] = round(rmed, 4)
        row["round_ratios"] = [round(x, 4) for x in ratios]
        row["spread"] = round((pct(ratios, 75) - pct(ratios, 25)) / rmed if len(ratios) > 1 else
                              row["ingot"]["spread"] + row["ort"]["spread"], 4)
    return row


def main():
    ap = argparse.ArgumentParser(description="ingot CPU backend against ONNX Runtime CPU, same run.")
    ap.add_argument("--ingot", required=True, help="the ingot command-line binary")
    ap.add_argument("--shared", required=True, help="the shared folder (with models/) or its models/ folder")
    ap.add_argument("--out", required=True, help="result JSON to write")
    ap.add_argument("--short", action="store_true", help="CI mode: 10 rounds of 10 timed runs a side")
    ap.add_argument("--models", default=MODELS)
    ap.add_argument("--iterations", type=int, help="timed runs per round and side (default 20, short 10)")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 10)")
    ap.add_argument("--threads", type=int, default=cores(), help="threads for both sides (default: all cores)")
    ap.add_argument("--build-args", default="", metavar="ARGS",
                    help="more `ingot build` options, e.g. \"--disable-pass fold_batchnorm\"")
    ap.add_argument("--gate", metavar="BASELINE", help="then run bench/gate against BASELINE; its status is ours")
    ap.add_argument("--no-retry", dest="retry", action="store_false",
                    help="with --gate: fail on the first measurement (default: confirm a failure once)")
    a = ap.parse_args()
    a.iterations = a.iterations or (10 if a.short else 20)
    a.rounds = a.rounds or 10
    if a.iterations < 1 or a.rounds < 1 or a.threads < 1:
        ap.error("--iterations, --rounds and --threads must be at least 1")

    mroot = os.path.join(a.shared, "models") if os.path.isdir(os.path.join(a.shared, "models")) else a.shared
    names = [m for m in a.models.split(",") if m]
    absent = [m for m in names if not os.path.exists(os.path.join(mroot, m, "model.onnx"))]
    if absent:
        print(f"SKIP: {', '.join(absent)} not found under {mroot}")
        return SKIP
    try:
        import onnxruntime
        import onnx  # noqa: F401  (reads the models' inputs)
    except ImportError as e:
        print(f"SKIP: {e.name} is not installed (python3 -m pip install onnxruntime onnx)")
        return SKIP
    if not os.access(a.ingot, os.X_OK):
        print(f"cpu_suite: {a.ingot} is not an executable", file=sys.stderr)
        return 2

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    t_start = time.time()
    rows = run_suite(a, names, mroot, env)
    status = write(a, rows, t_start, onnxruntime.__version__)
    if a.gate and status == 1 and a.retry:
        # Load from elsewhere on the machine slows ingot's OpenMP threads far more than ORT's pool,
        # so one disturbed measurement can look like a regression: a regression must show again
        # in a second measurement, each model keeping its better (lower) ratio of the two.
        print("gate failed: measuring again to confirm", flush=True)
        again = {r["model"]: r for r in run_suite(a, names, mroot, env)}
        rows = [min((r, again.get(r["model"], r)), key=lambda x: x.get("ratio", float("inf"))) for r in rows]
        status = write(a, rows, t_start, onnxruntime.__version__, confirmed=True)
    return status


def run_suite(a, names, mroot, env):
    rows = []
    with tempfile.TemporaryDirectory(prefix="ingot-cpu-bench-") as work:
        for m in names:
            try:
                row = bench_model(a, m, os.path.join(mroot, m), work, a.threads, env)
            except Exception as e:  # a broken model folder: a failed row for the gate, not a crash
                err = f"{type(e).__name__}: {e}"[:300]
                row = {"model": m, "precision": "fp32", "ingot": {"error": err}, "ort": {"error": err}}
            rows.append(row)
            i, o = row["ingot"], row["ort"]
            print(f"{m:20s} ingot {i.get('median_ms', 'error'):>9} ms  ort {o.get('median_ms', 'error'):>9} ms  "
                  f"ratio {row.get('ratio', '-')}  spread {row.get('spread', '-')}"
                  + (f"  ingot error: {i['error']}" if "error" in i else "")
                  + (f"  ort error: {o['error']}" if "error" in o else ""), flush=True)
    return rows


def write(a, rows, t_start, ort_version, confirmed=False):
    """Write a.out; with --gate, return bench/gate's status on it, else 0."""
    meta = {"kind": "cpu", "date": time.strftime("%Y-%m-%d"), "host": platform.node(),
            "cpu": cpu_name(), "threads": a.threads, "build_args": a.build_args,
            "onnxruntime": ort_version, "confirmed": confirmed,
            "method": f"ingot: median of `ingot run --iterations {a.iterations + 2}` (2 warm-up dropped); "
                      f"ORT: median of {a.iterations} timed runs after 3 warm-up; {a.rounds} alternating "
                      "rounds; ratio = median of per-round ingot/ORT ratios; spread = (p75-p25)/median of them",
            "seconds": round(time.time() - t_start, 1)}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
        f.write("\n")
    print(f"wrote {a.out} ({meta['seconds']} s)")
    if a.gate:
        gate = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gate")
        return subprocess.run([sys.executable, gate, a.out, a.gate]).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
