#!/usr/bin/env python3
"""ResNet-50 and BERT-base on the GPU machine: ingot against PyTorch in the same run.

Exports both models from this machine's PyTorch with random weights (fixed seed), builds ingot
engines for each batch size and precision, and times GPU work per batch with CUDA events
(median of --iters runs after --warmup): ingot (compute phase of `ingot run`), PyTorch eager,
PyTorch CUDA-graph replay, and torch.compile(mode="reduce-overhead").
Writes OUT/bench.json and OUT/bench.md.

usage: bench_models.py --ingot devkit/bin/ingot --out DIR [--batches 1,32,128] [--models resnet50,bert]
                       [--precisions fp16,fp32] [--compile]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import torch


def cuda_time(fn, warmup, iters):
    """Median GPU milliseconds of fn() by CUDA events around each call."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def make_model(name):
    torch.manual_seed(0)
    if name == "resnet50":
        import torchvision
        m = torchvision.models.resnet50(weights=None).eval()
        return m, ["input"], ["logits"]
    from transformers import BertConfig, BertModel
    cfg = BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads
    cfg._attn_implementation = "eager"
    m = BertModel(cfg).eval()
    return m, ["input_ids", "attention_mask"], ["last_hidden_state"]


def make_inputs(name, batch, device, dtype=None):
    g = torch.Generator().manual_seed(1)
    if name == "resnet50":
        x = torch.randn(batch, 3, 224, 224, generator=g)
        return (x.to(device, dtype or torch.float32),)
    ids = torch.randint(0, 30522, (batch, 128), generator=g)
    mask = torch.ones(batch, 128, dtype=torch.int64)
    mask[:, 100:] = 0
    return ids.to(device), mask.to(device)


class BertWrap(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, ids, mask):
        return self.m(input_ids=ids, attention_mask=mask).last_hidden_state


def export(name, model, in_names, out_names, path):
    wrapped = BertWrap(model) if name == "bert" else model
    args = make_inputs(name, 2, "cpu")
    dyn = {n: {0: "batch"} for n in in_names + out_names}
    t0 = time.time()
    try:
        torch.onnx.export(wrapped, args, path, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=17, dynamo=False)
    except TypeError:
        torch.onnx.export(wrapped, args, path, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, opset_version=17)
    print(f"exported {name} in {time.time() - t0:.1f} s", flush=True)
    return wrapped


def ingot_time(ingot, onnx_path, name, batch, prec, workdir, iters):
    eng = os.path.join(workdir, f"{name}-b{batch}-{prec}.engine")
    shapes = f"input:{batch}x3x224x224" if name == "resnet50" else \
        f"input_ids:{batch}x128,attention_mask:{batch}x128"
    cmd = [ingot, "build", onnx_path, "-o", eng, "--backend", "cuda", "--shapes", shapes]
    if prec == "fp16":
        cmd.append("--fp16")
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    build_s = time.time() - t0
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-400:]}
    fallback = subprocess.run([ingot, "inspect", eng], capture_output=True, text=True).stdout.count("cpu-fallback")
    r = subprocess.run([ingot, "run", eng, "--iterations", str(iters)], capture_output=True, text=True)
    m = re.search(r"compute ([0-9.]+) ms", r.stdout)
    h = re.search(r"h2d ([0-9.]+) ms", r.stdout)
    d = re.search(r"d2h ([0-9.]+) ms", r.stdout)
    g = re.search(r"(\d+) runs replayed a CUDA graph", r.stdout)
    if r.returncode != 0 or not m:
        return {"error": (r.stderr or r.stdout).strip()[-400:], "fallback_steps": fallback}
    return {"compute_ms": float(m.group(1)), "h2d_ms": float(h.group(1)), "d2h_ms": float(d.group(1)),
            "graph_runs": int(g.group(1)) if g else 0, "build_s": round(build_s, 1), "fallback_steps": fallback}


def torch_times(model, name, batch, prec, warmup, iters, do_compile):
    dtype = torch.float16 if prec == "fp16" else torch.float32
    m = model.to("cuda", dtype) if name == "resnet50" else model.to("cuda").to(dtype)
    args = make_inputs(name, batch, "cuda", dtype if name == "resnet50" else None)
    res = {}
    with torch.inference_mode():
        res["eager_ms"] = cuda_time(lambda: m(*args), warmup, iters)
        try:  # capture can fail (transformers copies host tensors while building masks)
            static = [a.clone() for a in args]
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    m(*static)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                m(*static)
            res["cuda_graph_ms"] = cuda_time(graph.replay, warmup, iters)
            del graph
        except Exception as e:  # report, do not hide
            res["cuda_graph_error"] = str(e).splitlines()[0][:200]
            torch.cuda.synchronize()
    if do_compile:
        try:
            cm = torch.compile(m, mode="reduce-overhead")
            with torch.inference_mode():
                res["compile_ms"] = cuda_time(lambda: cm(*args), max(warmup, 10), iters)
        except Exception as e:  # report, do not hide
            res["compile_error"] = str(e)[-300:]
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingot", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--models", default="resnet50,bert")
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = "/tmp/ingot-bench"
    os.makedirs(work, exist_ok=True)
    rows = []
    gpu = torch.cuda.get_device_name(0)
    for name in a.models.split(","):
        model, in_names, out_names = make_model(name)
        onnx_path = os.path.join(work, f"{name}.onnx")
        wrapped = export(name, model, in_names, out_names, onnx_path)
        for prec in a.precisions.split(","):
            for batch in [int(b) for b in a.batches.split(",")]:
                row = {"model": name, "precision": prec, "batch": batch}
                row["ingot"] = ingot_time(a.ingot, onnx_path, name, batch, prec, work, a.iters + 2)
                row["torch"] = torch_times(wrapped, name, batch, prec, a.warmup, a.iters,
                                           a.compile and prec == "fp16" and
                                           (batch == 1 or (batch == 128 and name == "resnet50")))
                rows.append(row)
                print(json.dumps(row), flush=True)
                with open(os.path.join(a.out, "rows.jsonl"), "a") as f:
                    f.write(json.dumps(row) + "\n")
        del model, wrapped
        torch.cuda.empty_cache()
    meta = {"gpu": gpu, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
            "method": "median GPU ms per batch by CUDA events, %d runs after %d warm-up" % (a.iters, a.warmup)}
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    lines = [f"{gpu}, PyTorch {torch.__version__}, {meta['date']}; {meta['method']}", "",
             "| model | prec | batch | ingot ms | fallback steps | torch eager ms | torch CUDA graph ms | torch.compile ms |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        i, t = r["ingot"], r["torch"]
        ing = f"{i['compute_ms']:.3f}" if "compute_ms" in i else "error: " + i.get("error", "")[:60]
        comp = f"{t['compile_ms']:.3f}" if "compile_ms" in t else "-"
        graph = f"{t['cuda_graph_ms']:.3f}" if "cuda_graph_ms" in t else "capture failed"
        lines.append(f"| {r['model']} | {r['precision']} | {r['batch']} | {ing} | {i.get('fallback_steps', '')} | "
                     f"{t['eager_ms']:.3f} | {graph} | {comp} |")
    with open(os.path.join(a.out, "bench.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
