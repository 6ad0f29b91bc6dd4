#!/usr/bin/env python3
"""Models on the GPU machine: ingot against PyTorch in the same run.

Exports each model from this machine's PyTorch with random weights (fixed seed): ResNet-50,
MobileNetV2, EfficientNet-B0, ViT-B/16 (torchvision), BERT-base and GPT-2 small (transformers,
seq 128, no KV cache). Builds ingot engines for each batch size and precision, and times GPU work
per batch with CUDA events (median of --iters runs after --warmup): ingot (compute phase of
`ingot run`, repeated --ingot-repeats times for a run-to-run spread), PyTorch eager, PyTorch
CUDA-graph replay, and torch.compile(mode="reduce-overhead"); torch figures carry p10/p90.
Writes OUT/bench.json, OUT/bench.md and OUT/bench.png (when matplotlib is installed).

usage: bench_models.py --ingot devkit/bin/ingot --out DIR [--batches 1,32,128] [--models resnet50,bert]
                       [--precisions fp16,fp32] [--compile] [--ingot-repeats 3]
       bench_models.py --table RESULTS.json [--out DIR]   (markdown table + PNG chart for docs/PERF.md)
models: resnet50 mobilenet_v2 efficientnet_b0 vit_b_16 bert gpt2
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

torch = None  # imported on first use: --table needs neither torch nor a GPU

VISION = ("resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16")
TEXT = ("bert", "gpt2")
SEQ = 128


def need_torch():
    global torch
    if torch is None:
        import torch as t
        torch = t
    return torch


def pct(xs, p):
    """Percentile by linear interpolation (numpy's default)."""
    s = sorted(xs)
    f = (len(s) - 1) * p / 100.0
    i = int(f)
    return s[i] + (s[min(i + 1, len(s) - 1)] - s[i]) * (f - i)


def cuda_time(fn, warmup, iters):
    """(median, p10, p90) GPU milliseconds of fn() by CUDA events around each call."""
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
    return statistics.median(times), pct(times, 10), pct(times, 90)


def make_model(name):
    need_torch()
    torch.manual_seed(0)
    if name in VISION:
        import torchvision
        m = getattr(torchvision.models, name)(weights=None).eval()
        return m, ["input"], ["logits"]
    if name == "gpt2":
        from transformers import GPT2Config, GPT2Model
        cfg = GPT2Config()  # gpt2 small: 12 layers, hidden 768, 12 heads
        cfg._attn_implementation = "eager"
        cfg.use_cache = False
        m = GPT2Model(cfg).eval()
        return m, ["input_ids"], ["last_hidden_state"]
    if name != "bert":
        raise SystemExit(f"bench_models: unknown model '{name}' (known: {' '.join(VISION + TEXT)})")
    from transformers import BertConfig, BertModel
    cfg = BertConfig()  # bert-base: 12 layers, hidden 768, 12 heads
    cfg._attn_implementation = "eager"
    m = BertModel(cfg).eval()
    return m, ["input_ids", "attention_mask"], ["last_hidden_state"]


def make_inputs(name, batch, device, dtype=None):
    g = torch.Generator().manual_seed(1)
    if name in VISION:
        x = torch.randn(batch, 3, 224, 224, generator=g)
        return (x.to(device, dtype or torch.float32),)
    if name == "gpt2":
        return (torch.randint(0, 50257, (batch, SEQ), generator=g).to(device),)
    ids = torch.randint(0, 30522, (batch, SEQ), generator=g)
    mask = torch.ones(batch, SEQ, dtype=torch.int64)
    mask[:, 100:] = 0
    return ids.to(device), mask.to(device)


def wrap(name, model):
    """Text models return ModelOutput objects: export and time their last_hidden_state."""
    class BertWrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids, mask):
            return self.m(input_ids=ids, attention_mask=mask).last_hidden_state

    class GPT2Wrap(BertWrap):
        def forward(self, ids):
            return self.m(input_ids=ids, use_cache=False).last_hidden_state

    return BertWrap(model) if name == "bert" else GPT2Wrap(model) if name == "gpt2" else model


def export(name, model, in_names, out_names, path):
    wrapped = wrap(name, model)
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


def ingot_time(ingot, onnx_path, name, batch, prec, workdir, iters, repeats=1):
    eng = os.path.join(workdir, f"{name}-b{batch}-{prec}.engine")
    shapes = f"input:{batch}x3x224x224" if name in VISION else f"input_ids:{batch}x{SEQ}" if name == "gpt2" else \
        f"input_ids:{batch}x{SEQ},attention_mask:{batch}x{SEQ}"
    cmd = [ingot, "build", onnx_path, "-o", eng, "--backend", "cuda", "--shapes", shapes]
    if prec == "fp16":
        cmd.append("--fp16")
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    build_s = time.time() - t0
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-400:]}
    fallback = subprocess.run([ingot, "inspect", eng], capture_output=True, text=True).stdout.count("cpu-fallback")
    # `ingot run` prints medians only: the spread is that of the medians of repeated runs
    runs = []
    for _ in range(max(1, repeats)):
        r = subprocess.run([ingot, "run", eng, "--iterations", str(iters)], capture_output=True, text=True)
        m = re.search(r"compute ([0-9.]+) ms", r.stdout)
        h = re.search(r"h2d ([0-9.]+) ms", r.stdout)
        d = re.search(r"d2h ([0-9.]+) ms", r.stdout)
        g = re.search(r"(\d+) runs replayed a CUDA graph", r.stdout)
        if r.returncode != 0 or not m or not h or not d:
            return {"error": (r.stderr or r.stdout).strip()[-400:], "fallback_steps": fallback}
        runs.append((float(m.group(1)), float(h.group(1)), float(d.group(1)), int(g.group(1)) if g else 0))
    comp = [x[0] for x in runs]
    mid = sorted(runs)[len(runs) // 2]  # the run with the median compute time
    res = {"compute_ms": mid[0], "h2d_ms": mid[1], "d2h_ms": mid[2], "graph_runs": mid[3],
           "build_s": round(build_s, 1), "fallback_steps": fallback}
    if len(runs) > 1:
        res.update(compute_runs_ms=comp, compute_p10_ms=round(pct(comp, 10), 4),
                   compute_p90_ms=round(pct(comp, 90), 4))
    return res


def put_time(res, key, stats):
    """res[key_ms] = median, with key_p10_ms / key_p90_ms beside it (read by bench/gate)."""
    res[f"{key}_ms"], res[f"{key}_p10_ms"], res[f"{key}_p90_ms"] = stats


def torch_times(model, name, batch, prec, warmup, iters, do_compile):
    dtype = torch.float16 if prec == "fp16" else torch.float32
    m = model.to("cuda", dtype) if name in VISION else model.to("cuda").to(dtype)
    args = make_inputs(name, batch, "cuda", dtype if name in VISION else None)
    res = {}
    with torch.inference_mode():
        put_time(res, "eager", cuda_time(lambda: m(*args), warmup, iters))
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
            put_time(res, "cuda_graph", cuda_time(graph.replay, warmup, iters))
            del graph
        except Exception as e:  # report, do not hide
            res["cuda_graph_error"] = str(e).splitlines()[0][:200]
            torch.cuda.synchronize()
    if do_compile:
        try:
            cm = torch.compile(m, mode="reduce-overhead")
            with torch.inference_mode():
                put_time(res, "compile", cuda_time(lambda: cm(*args), max(warmup, 10), iters))
        except Exception as e:  # report, do not hide
            res["compile_error"] = str(e)[-300:]
    return res


def fmt(d, key):
    """'median (p10-p90)' of d[key_ms] when the spread is there, else the median."""
    v = d.get(f"{key}_ms")
    if not isinstance(v, (int, float)):
        return None
    lo, hi = d.get(f"{key}_p10_ms"), d.get(f"{key}_p90_ms")
    return f"{v:.3f} ({lo:.3f}-{hi:.3f})" if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) \
        else f"{v:.3f}"


def peer_ms(t):
    """The gate's peer: PyTorch CUDA-graph replay, eager where capture failed."""
    return t.get("cuda_graph_ms") or t.get("eager_ms")


def table_lines(doc):
    meta = doc.get("meta", {})
    head = ", ".join(str(meta[k]) for k in ("gpu", "torch", "date") if k in meta)
    lines = [f"{head}; {meta.get('method', '')}".strip("; "), "",
             "Times in ms per batch: median (p10-p90 where measured). ratio = ingot / PyTorch CUDA graph "
             "(eager where capture failed, marked *); below 1 ingot is faster.", "",
             "| model | prec | batch | ingot ms | ratio | fallback steps | torch eager ms | torch CUDA graph ms "
             "| torch.compile ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in doc.get("rows", []):
        i, t = r.get("ingot", {}), r.get("torch", {})
        ing = fmt(i, "compute") or "error: " + str(i.get("error", "no time")).replace("|", "/").splitlines()[-1][:60]
        peer = peer_ms(t)
        ratio = f"{i['compute_ms'] / peer:.2f}" + ("" if t.get("cuda_graph_ms") else "*") \
            if isinstance(i.get("compute_ms"), (int, float)) and peer else "-"
        lines.append(f"| {r.get('model')} | {r.get('precision', '')} | {r.get('batch', '')} | {ing} | {ratio} | "
                     f"{i.get('fallback_steps', '')} | {fmt(t, 'eager') or '-'} | "
                     f"{fmt(t, 'cuda_graph') or 'capture failed'} | {fmt(t, 'compile') or '-'} |")
    return lines


def write_chart(doc, path):
    """Bars of each system's time relative to PyTorch CUDA graph (1.0), one panel per precision."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in doc.get("rows", []) if peer_ms(r.get("torch", {}))]
    precs = sorted({r.get("precision", "") for r in rows}) or [""]
    systems = [("ingot", "tab:blue", lambda r: r["ingot"].get("compute_ms")),
               ("torch eager", "tab:orange", lambda r: r["torch"].get("eager_ms")),
               ("torch.compile", "tab:green", lambda r: r["torch"].get("compile_ms"))]
    fig, axes = plt.subplots(len(precs), 1, figsize=(max(6, 0.9 * len(rows) / len(precs) + 3), 3.2 * len(precs)),
                             squeeze=False)
    for ax, prec in zip(axes[:, 0], precs):
        sel = [r for r in rows if r.get("precision", "") == prec]
        labels = [f"{r['model']}\nb{r.get('batch', '')}" + ("" if r["torch"].get("cuda_graph_ms") else "*")
                  for r in sel]
        w = 0.8 / len(systems)
        for k, (name, color, get) in enumerate(systems):
            xs, ys = [], []
            for j, r in enumerate(sel):
                v = get(r)
                if isinstance(v, (int, float)):
                    xs.append(j + (k - (len(systems) - 1) / 2) * w)
                    ys.append(v / peer_ms(r["torch"]))
            if xs:
                ax.bar(xs, ys, w, label=name, color=color)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="torch CUDA graph")
        ax.set_xticks(range(len(sel)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("time / CUDA graph")
        ax.set_title(f"{prec} (lower is faster; * = eager, capture failed)", fontsize=9)
        ax.legend(fontsize=7, ncol=4)
    meta = doc.get("meta", {})
    fig.suptitle(f"ingot vs PyTorch on {meta.get('gpu', 'GPU')} ({meta.get('date', '')})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_table(doc, outdir):
    """OUTDIR/bench.md (markdown table) and OUTDIR/bench.png (chart); returns the paths written."""
    os.makedirs(outdir, exist_ok=True)
    md = os.path.join(outdir, "bench.md")
    with open(md, "w") as f:
        f.write("\n".join(table_lines(doc)) + "\n")
    written = [md]
    try:
        png = os.path.join(outdir, "bench.png")
        write_chart(doc, png)
        written.append(png)
    except ImportError:
        print("bench_models: matplotlib is not installed; no chart (python3 -m pip install matplotlib)",
              file=sys.stderr)
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ingot")
    ap.add_argument("--out", help="output folder (with --table: default the results file's folder)")
    ap.add_argument("--table", metavar="RESULTS.json", help="only write bench.md + bench.png from a results file")
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--models", default="resnet50,bert", help="of: " + ",".join(VISION + TEXT))
    ap.add_argument("--precisions", default="fp16,fp32")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--ingot-repeats", type=int, default=3, help="`ingot run` repeats for ingot's spread")
    a = ap.parse_args()
    if a.table:
        with open(a.table) as f:
            doc = json.load(f)
        for p in write_table(doc, a.out or os.path.dirname(os.path.abspath(a.table))):
            print("wrote", p)
        return 0
    if not a.ingot or not a.out:
        ap.error("--ingot and --out are required (or --table RESULTS.json)")
    unknown = [m for m in a.models.split(",") if m not in VISION + TEXT]
    if unknown:
        ap.error(f"unknown model(s) {','.join(unknown)}; known: {','.join(VISION + TEXT)}")
    need_torch()
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
                row["ingot"] = ingot_time(a.ingot, onnx_path, name, batch, prec, work, a.iters + 2,
                                          a.ingot_repeats)
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
            "method": "median GPU ms per batch by CUDA events, %d runs after %d warm-up; ingot: median of "
                      "%d `ingot run`s" % (a.iters, a.warmup, a.ingot_repeats)}
    doc = {"meta": meta, "rows": rows}
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1)
    write_table(doc, a.out)
    print("\n".join(table_lines(doc)))


if __name__ == "__main__":
    sys.exit(main())
