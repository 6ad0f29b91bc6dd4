#!/usr/bin/env python3
"""Runtime I/O benchmark on a GPU machine (the runtime-I/O issue's evidence), in one run:

1. The image model (bench/models/image_model.py: 1x3x1600x2560 in, 1x3x1600x2560 out) built
   with three I/O formats (f32 in/out; fp16 in/out; uint8 NHWC in with the normalization folded
   in, fp16 out; fp16 compute in all three), each run end to end by `ingot bench` with its
   inputs and outputs in pageable, pinned, mapped and device memory, and with a pageable input
   and pinned outputs (the pageable-bound input against the pinned row); beside the bare copy
   floors of the same byte counts measured with PyTorch in the same run (pageable and pinned,
   host -> device and device -> host, CUDA events).
2. Output buffers: ResNet-50 fp16 batch 1 and the uint8 image engine with persistent outputs
   (bound once), with the caller allocating device output buffers before every run
   (`--output-alloc-per-run`: cudaMalloc/cudaFree each call), and with ingot's own outputs
   single- and double-buffered (`--output-buffers 1|2`).
3. Throughput of ResNet-50 fp16 batch 32 with 1, 2 and 4 contexts on their own streams
   (`--streams N`, pinned I/O).

Every figure is the median of the runs `ingot bench` times (host wall time from enqueue to the
end of synchronize, after warm-up) unless the column says otherwise. Writes io.json and io.md
under --out. Needs: devkit/ (bench/gpu/pack.sh) sourced through bench/gpu/env.sh, torch, onnx.

    . bench/gpu/env.sh && python3 bench/gpu/io_bench.py --ingot devkit/bin/ingot --out $OUT
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NORM = "image:mean=0.485,0.456,0.406:std=0.229,0.224,0.225:scale=0.00392156862745098"
KINDS = ["pageable", "pinned", "mapped", "device"]


def sh(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(r.stdout[-4000:] + "\n")
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} {cmd[1]} failed ({r.returncode}): {r.stdout[-600:]}")
    return r.stdout


def bench(ingot, engine, log, work, iters, extra):
    out = os.path.join(work, "b.json")
    sh([ingot, "bench", engine, "--iterations", str(iters), "--warmup", "300", "--percentile", "10,90",
        "--json", out] + extra, log)
    j = json.load(open(out))
    med = lambda k: (j[k] or {}).get("median")
    return {"latency_ms": med("latency_ms"), "latency_p10": j["latency_ms"]["percentiles"]["10"],
            "latency_p90": j["latency_ms"]["percentiles"]["90"], "enqueue_ms": med("enqueue_ms"),
            "h2d_ms": med("h2d_ms"), "compute_ms": med("gpu_compute_ms"), "d2h_ms": med("d2h_ms"),
            "items_per_s": j["throughput"]["items_per_s"], "inferences_per_s": j["throughput"]["inferences_per_s"],
            "device_allocs_total": j["device_allocations_total"], "host_allocs_total": j["host_allocations_total"],
            "h2d_bytes_per_run": j["h2d_bytes_per_run"], "d2h_bytes_per_run": j["d2h_bytes_per_run"],
            "graph_runs": j["cuda_graph_runs"], "iterations": j["iterations"], "warnings": j["warnings"]}


def copy_floors(sizes, reps=30):
    """Median ms of one copy of n bytes: pageable/pinned, host->device/device->host."""
    import torch
    res = {}
    for n in sorted(set(sizes)):
        dev = torch.empty(n, dtype=torch.uint8, device="cuda")
        page = torch.randint(0, 255, (n,), dtype=torch.uint8)
        pin = page.clone().pin_memory()
        row = {}
        for name, fn in (("h2d_pageable", lambda: dev.copy_(page)), ("h2d_pinned", lambda: dev.copy_(pin, non_blocking=True)),
                         ("d2h_pageable", lambda: page.copy_(dev)), ("d2h_pinned", lambda: pin.copy_(dev, non_blocking=True))):
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            t = []
            for _ in range(reps):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                torch.cuda.synchronize()
                t.append(a.elapsed_time(b))
            t.sort()
            row[name] = t[len(t) // 2]
        res[n] = row
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ingot", default="devkit/bin/ingot")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--height", type=int, default=1600)
    ap.add_argument("--width", type=int, default=2560)
    ap.add_argument("--log", help="the commands and their output (default OUT/io.log)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="iobench")
    log = open(a.log or os.path.join(a.out, "io.log"), "w")
    import torch
    gpu = torch.cuda.get_device_name(0)
    R = {"meta": {"date": time.strftime("%Y-%m-%d"), "gpu": gpu, "torch": torch.__version__, "iters": a.iters,
                  "height": a.height, "width": a.width,
                  "command": "python3 bench/gpu/io_bench.py " + " ".join(sys.argv[1:])},
         "image": {}, "outputs": {}, "streams": {}, "floors": {}}

    def save():
        json.dump(R, open(os.path.join(a.out, "io.json"), "w"), indent=1)

    img = os.path.join(work, "image.onnx")
    sh([sys.executable, os.path.join(ROOT, "bench/models/image_model.py"), "--out", img, "--height", str(a.height),
        "--width", str(a.width)], log)
    engines = {
        "f32": [],
        "fp16": ["--input-format", "image:fp16", "--output-format", "out:fp16"],
        "uint8": ["--input-format", "image:uint8:nhwc", "--input-norm", NORM, "--output-format", "out:fp16"],
    }
    px = a.height * a.width * 3
    in_bytes = {"f32": 4 * px, "fp16": 2 * px, "uint8": px}
    out_bytes = {"f32": 4 * px, "fp16": 2 * px, "uint8": 2 * px}
    t0 = time.time()
    for fmt, flags in engines.items():
        e = os.path.join(work, f"image-{fmt}.engine")
        sh([a.ingot, "build", img, "-o", e, "--backend", "cuda", "--fp16"] + flags, log)
        # every kind for inputs and outputs alike; then a pageable input with pinned outputs, the
        # issue's "pageable-bound input" beside the pinned row (only the input's memory differs)
        for kind, extra in [(k, ["--io-memory", k]) for k in KINDS] + \
                           [("pageable-in", ["--io-memory", "pageable", "--output-memory", "pinned"])]:
            try:
                R["image"][f"{fmt}/{kind}"] = bench(a.ingot, e, log, work, a.iters, extra)
            except RuntimeError as err:
                R["image"][f"{fmt}/{kind}"] = {"error": str(err)}
            save()
        if fmt == "uint8":
            for name, extra in (("persistent (device outputs bound once)", ["--io-memory", "device"]),
                                ("allocated every run (device)", ["--io-memory", "device", "--output-alloc-per-run"]),
                                ("ingot's outputs, 1 set (pinned)", ["--io-memory", "pinned", "--output-buffers", "1"]),
                                ("ingot's outputs, 2 sets (pinned)", ["--io-memory", "pinned", "--output-buffers", "2"])):
                R["outputs"][f"image-uint8 / {name}"] = bench(a.ingot, e, log, work, a.iters, extra)
                save()
        os.remove(e)
    log.write(f"image engines: {time.time() - t0:.1f} s\n")
    R["floors"] = {str(k): v for k, v in copy_floors(list(in_bytes.values()) + list(out_bytes.values())).items()}
    R["bytes"] = {"in": in_bytes, "out": out_bytes}
    save()

    r50 = os.path.join(work, "resnet50.onnx")
    sh([sys.executable, os.path.join(ROOT, "bench/models/resnet50.py"), "--out", r50, "--batch", "N"], log)
    e1 = os.path.join(work, "r50-b1.engine")
    sh([a.ingot, "build", r50, "-o", e1, "--backend", "cuda", "--fp16", "--shapes", "input:1x3x224x224"], log)
    for name, extra in (("persistent (device outputs bound once)", ["--io-memory", "device"]),
                        ("allocated every run (device)", ["--io-memory", "device", "--output-alloc-per-run"]),
                        ("ingot's outputs, 1 set (pinned)", ["--io-memory", "pinned", "--output-buffers", "1"]),
                        ("ingot's outputs, 2 sets (pinned)", ["--io-memory", "pinned", "--output-buffers", "2"])):
        R["outputs"][f"resnet50-b1 / {name}"] = bench(a.ingot, e1, log, work, max(a.iters, 200), extra)
        save()
    e32 = os.path.join(work, "r50-b32.engine")
    sh([a.ingot, "build", r50, "-o", e32, "--backend", "cuda", "--fp16", "--shapes", "input:32x3x224x224"], log)
    for n in (1, 2, 4):
        R["streams"][str(n)] = bench(a.ingot, e32, log, work, a.iters, ["--io-memory", "pinned", "--streams", str(n)])
        save()
    write_md(R, os.path.join(a.out, "io.md"))
    print(open(os.path.join(a.out, "io.md")).read())


def f(v, d=3):
    return "—" if v is None else f"{v:.{d}f}"


def write_md(R, path):
    m = R["meta"]
    L = [f"Measured on {m['gpu']}, {m['date']}, with `{m['command']}` (torch {m['torch']} for the copy floors); "
         f"ingot times are medians of {m['iters']} runs of `ingot bench` (host wall time, enqueue to end of "
         "synchronize, inputs and outputs copied every run).", "",
         f"Image model {m['height']}x{m['width']}x3, fp16 compute: end-to-end latency (ms) by input/output memory "
         "kind and I/O format, and the bare copy floors of the same bytes (PyTorch, CUDA events).", "",
         "| format (in → out) | bytes in / out | pageable | pinned | mapped | device | pageable ÷ pinned | "
         "pageable in, pinned out | ÷ pinned | GPU compute | H2D floor pageable / pinned | D2H floor pageable / pinned |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    names = {"f32": "f32 → f32", "fp16": "fp16 → fp16", "uint8": "uint8 NHWC (+norm) → fp16"}
    for fmt in ("f32", "fp16", "uint8"):
        row = [R["image"].get(f"{fmt}/{k}", {}) for k in KINDS]
        lat = [r.get("latency_ms") for r in row]
        ib, ob = R["bytes"]["in"][fmt], R["bytes"]["out"][fmt]
        fi, fo = R["floors"].get(str(ib), {}), R["floors"].get(str(ob), {})
        ratio = lat[0] / lat[1] if lat[0] and lat[1] else None
        pin_in = R["image"].get(f"{fmt}/pageable-in", {}).get("latency_ms")
        ratio_in = pin_in / lat[1] if pin_in and lat[1] else None
        L.append(f"| {names[fmt]} | {ib / 1e6:.1f} / {ob / 1e6:.1f} MB | " + " | ".join(f(x) for x in lat) +
                 f" | {f(ratio, 2)} | {f(pin_in)} | {f(ratio_in, 2)} | {f(row[3].get('compute_ms'))} | {f(fi.get('h2d_pageable'))} / {f(fi.get('h2d_pinned'))} |"
                 f" {f(fo.get('d2h_pageable'))} / {f(fo.get('d2h_pinned'))} |")
    L += ["", "Output buffers: latency (ms, median and p10–p90) and device allocations over the timed runs.", "",
          "| engine / outputs | latency | p10–p90 | device allocations (ingot) |", "|---|---|---|---|"]
    for k, r in R["outputs"].items():
        L.append(f"| {k} | {f(r.get('latency_ms'))} | {f(r.get('latency_p10'))}–{f(r.get('latency_p90'))} | "
                 f"{r.get('device_allocs_total')} in {r.get('iterations')} runs |")
    L += ["", "ResNet-50 fp16 batch 32, pinned I/O: N contexts on N streams, runs enqueued round-robin.", "",
          "| streams | images/s | latency per run (ms) |", "|---|---|---|"]
    for n, r in R["streams"].items():
        L.append(f"| {n} | {f(r.get('items_per_s'), 0)} | {f(r.get('latency_ms'))} |")
    open(path, "w").write("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
