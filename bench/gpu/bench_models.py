#!/usr/bin/env python3
"""The GPU suite (run through bench/run): ingot against PyTorch on this machine, in one run.

Exports each model from this machine's PyTorch with random weights (fixed seed): ResNet-50,
MobileNetV2, EfficientNet-B0, ViT-B/16 (torchvision), BERT-base and GPT-2 small (transformers
configs built in code, seq 128, no KV cache), as ONNX (opset 17, dynamic batch). For each
precision (fp16, fp32, tf32; PyTorch's TF32 switches set to match) and batch it builds an ingot
CUDA engine (the batch fixed with --shapes) and times GPU work per batch with CUDA events, median
and p10/p90 of --iters runs after warm-up: ingot by `ingot bench --json` (its gpu_compute_ms), PyTorch eager, PyTorch CUDA-graph replay and
torch.compile(mode="reduce-overhead"). ResNet-50 is also built with each of --variants' passes
disabled (same run, same PyTorch figures), and bench/gate --variant judges each of those against
the all-passes rows of this run: the gate's demonstration.

A model that fails to export or to build is recorded with its error and the run goes on. The
results file is rewritten after every row, so a run stopped by a time limit keeps what it measured.

  OUT/DATE-GPU.json   {"meta", "rows": [...], "variant_gates": [...]} (bench/gate reads it)
  OUT/DATE-GPU.md     the tables; OUT/DATE-GPU.png the chart (matplotlib)
  OUT/suite.log       progress; OUT/gate-variants.txt the variant gates (OUT/gate.txt with --gate)

usage: bench_models.py [--ingot PATH] [--out DIR] [--models a,b] [--batches 1,32,128]
                       [--precisions fp16,fp32,tf32] [--iters N] [--warmup N] [--quick] [--no-compile]
                       [--variants fold_constants,fold_batchnorm,fuse_epilogue|none] [--budget S]
                       [--gate BASELINE.json]
       bench_models.py --table RESULTS.json [--out DIR] [--write-perf docs/PERF.md]
       bench_models.py --check-import --ingot build/ingot [--models a,b] [--batches 1,3] [--check-backend cuda]
                                                             (export, build fp32, run, compare with PyTorch)
models: resnet50 mobilenet_v2 efficientnet_b0 vit_b_16 bert gpt2
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

torch = None  # imported on first use: --table needs neither torch nor a GPU

VISION = ("resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16")
TEXT = ("bert", "gpt2")
SEQ = 128
VARIANT_MODEL = "resnet50"
DEFAULT_VARIANTS = "fold_constants,fold_batchnorm,fuse_epilogue"
HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "..", "gate")
PERF_BEGIN = "<!-- gpu-suite:begin (written by bench/gpu/bench_models.py --write-perf; do not edit) -->"
PERF_END = "<!-- gpu-suite:end -->"


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


class Log:
    """Progress to stdout and OUT/suite.log."""

    def __init__(self, path):
        self.f = open(path, "a") if path else None

    def __call__(self, msg):
        print(msg, flush=True)
        if self.f:
            self.f.write(msg + "\n")
            self.f.flush()


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
    """(model, input names, output names): random weights, fixed seed, configs built in code."""
    need_torch()
    torch.manual_seed(0)
    if name in VISION:
        import torchvision
        m = getattr(torchvision.models, name)(weights=None).eval()
        if name == "vit_b_16":  # torchvision zero-initializes ViT's head: random, so outputs can be compared
            torch.nn.init.normal_(m.heads.head.weight, std=0.02)
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


def shapes_arg(name, batch):
    if name in VISION:
        return f"input:{batch}x3x224x224"
    if name == "gpt2":
        return f"input_ids:{batch}x{SEQ}"
    return f"input_ids:{batch}x{SEQ},attention_mask:{batch}x{SEQ}"


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
            # an explicit all-ones mask: without one, transformers looks for packed sequences with
            # torch.diff, which the ONNX exporter cannot write
            return self.m(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).last_hidden_state

    # eval(): a new Module is in training mode, and the exporter restores the wrapper's mode on
    # everything below it (dropout would stay on in PyTorch's timings)
    return (BertWrap(model) if name == "bert" else GPT2Wrap(model) if name == "gpt2" else model).eval()


def export(name, model, in_names, out_names, path, log, exporter_folding=False):
    """ONNX opset 17 with a dynamic batch (ingot fixes it per engine with --shapes). Without
    exporter_folding the exporter neither folds constants nor fuses Conv+BatchNorm (its eval
    peephole runs only with do_constant_folding), so those optimizations are ingot's own and
    disabling one of ingot's passes shows what it is worth."""
    wrapped = wrap(name, model)
    args = make_inputs(name, 2, "cpu")
    kw = dict(input_names=in_names, output_names=out_names, dynamic_axes={n: {0: "batch"} for n in in_names + out_names},
              opset_version=17, do_constant_folding=exporter_folding)
    t0 = time.time()
    try:
        torch.onnx.export(wrapped, args, path, dynamo=False, **kw)
    except TypeError:  # an exporter without the dynamo switch
        torch.onnx.export(wrapped, args, path, **kw)
    wrapped.eval()  # whatever mode the exporter left behind
    log(f"exported {name} in {time.time() - t0:.1f} s")
    return wrapped


def last_line(r):
    return ((r.stderr or "") + (r.stdout or "")).strip()[-400:] or f"exit status {r.returncode}"


EXTRA_BUILD = []  # --build-flags: more `ingot build` options for the CUDA engines (e.g. --tune)


def ingot_build(ingot, onnx_path, eng, name, batch, prec, backend, disable):
    """Build one engine; (seconds, None) or (None, error)."""
    cmd = [ingot, "build", onnx_path, "-o", eng, "--backend", backend, "--shapes", shapes_arg(name, batch)]
    if prec in ("fp16", "tf32"):
        cmd.append("--" + prec)
    for p in disable:
        cmd += ["--disable-pass", p]
    if backend == "cuda":
        cmd += EXTRA_BUILD
    t0 = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, last_line(r)
    return round(time.time() - t0, 2), None


def run_spread(medians, p10, p90):
    """The relative spread bench/gate allows for one engine's time: the larger of one run's
    (p90 - p10) / median and the difference between the medians of repeated runs (separate
    processes) over their smaller one. One run's percentiles alone understate it: two builds
    of the same engine measured a minute apart differed by 6.2% when one run's p10-p90 was 0.7%
    (H100, 2026-12-06)."""
    m = [x for x in medians if isinstance(x, (int, float)) and x > 0]
    if not m:
        return None
    within = (p90 - p10) / m[0] if isinstance(p10, (int, float)) and isinstance(p90, (int, float)) and p90 >= p10 else 0.0
    between = (max(m) - min(m)) / min(m) if len(m) > 1 else 0.0
    return round(max(within, between), 6)


def ingot_time(ingot, onnx_path, name, batch, prec, work, iters, disable=()):
    """Build, then `ingot bench --json`: GPU compute median and p10/p90 of `iters` timed runs."""
    tag = "-".join(("no",) + tuple(disable)) if disable else "all"
    eng = os.path.join(work, f"{name}-b{batch}-{prec}-{tag}.engine")
    build_s, err = ingot_build(ingot, onnx_path, eng, name, batch, prec, "cuda", disable)
    if err:
        return {"error": "build: " + err}
    ins = subprocess.run([ingot, "inspect", eng], capture_output=True, text=True)
    steps = re.search(r"body 0 \(main graph\), (\d+) steps", ins.stdout)
    res = {"build_s": build_s, "fallback_steps": ins.stdout.count("cpu-fallback"),
           "steps": int(steps.group(1)) if steps else None}
    js = eng + ".json"
    medians = []
    for rep in range(2):  # two processes: the run-to-run spread, not only one run's p10-p90
        r = subprocess.run([ingot, "bench", eng, "--iterations", str(iters), "--percentile", "10,90", "--json", js],
                           capture_output=True, text=True)
        if r.returncode != 0:
            res["error"] = "bench: " + last_line(r)
            return res
        with open(js) as f:
            b = json.load(f)
        comp = b.get("gpu_compute_ms") or {}
        if not isinstance(comp.get("median"), (int, float)):
            res["error"] = "bench: no gpu_compute_ms in its JSON (not a CUDA engine?)"
            return res
        medians.append(comp["median"])
        if rep:
            continue
        p = comp.get("percentiles", {})
        res.update(compute_ms=comp["median"], compute_p10_ms=p.get("10"), compute_p90_ms=p.get("90"),
                   h2d_ms=(b.get("h2d_ms") or {}).get("median"), d2h_ms=(b.get("d2h_ms") or {}).get("median"),
                   latency_ms=(b.get("latency_ms") or {}).get("median"), iterations=b.get("iterations"),
                   graph_runs=b.get("cuda_graph_runs"), warnings=b.get("warnings", []))
    res["compute_repeat_ms"] = medians[1]
    res["spread"] = run_spread(medians, res.get("compute_p10_ms"), res.get("compute_p90_ms"))
    for f in (eng, js):  # engines of 100+ MB each: do not fill the disk over a run
        try:
            os.remove(f)
        except OSError:
            pass
    return res


def put_time(res, key, stats):
    """res[key_ms] = median, with key_p10_ms / key_p90_ms beside it (read by bench/gate)."""
    res[f"{key}_ms"], res[f"{key}_p10_ms"], res[f"{key}_p90_ms"] = stats


def torch_math(prec):
    """PyTorch's matmul and convolution math to match ingot's precision: TF32 tensor cores for
    "tf32", none for "fp32" (ingot's fp32 engines never use TF32; PyTorch's default lets cuDNN use
    it), so every row compares the same arithmetic. Returns the previous settings."""
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    if prec in ("fp32", "tf32"):
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = prec == "tf32"
    return before


def torch_times(model, name, batch, prec, warmup, iters, do_compile):
    before = torch_math(prec)
    try:
        return torch_times_math(model, name, batch, prec, warmup, iters, do_compile)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def torch_times_math(model, name, batch, prec, warmup, iters, do_compile):
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
            res["cuda_graph_error"] = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            torch.cuda.synchronize()
    if do_compile is True:
        try:
            import importlib  # torch._dynamo: imported by name, `torch` here is the global module
            importlib.import_module("torch._dynamo").reset()  # a fresh cache per row: no recompile limit
            t0 = time.time()
            cm = torch.compile(m, mode="reduce-overhead")
            with torch.inference_mode():
                put_time(res, "compile", cuda_time(lambda: cm(*args), max(warmup, 10), iters))
            res["compile_s"] = round(time.time() - t0, 1)
        except Exception as e:  # report, do not hide
            res["compile_error"] = str(e).strip()[-300:] or type(e).__name__
    elif do_compile:
        res["compile_skipped"] = do_compile
    return res


# ---- tables, chart, PERF.md ----

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


def err_text(i):
    return "error: " + str(i.get("error", "no time")).replace("|", "/").strip().splitlines()[-1][:70]


def main_rows(doc):
    return [r for r in doc.get("rows", []) if not r.get("variant")]


def variant_lines(doc):
    """ResNet-50 with each pass disabled beside all passes on (same run): the optimizer's table."""
    rows = doc.get("rows", [])
    variants = []
    for r in rows:
        if r.get("variant") and r["variant"] not in variants:
            variants.append(r["variant"])
    if not variants:
        return []
    base = {(r["model"], r.get("precision"), r.get("batch")): r for r in main_rows(doc)}
    lines = ["ingot GPU compute ms per batch with one optimizer pass disabled, beside all passes on "
             "(× = time / all passes):", "",
             "| model | prec | batch | all passes | " + " | ".join(f"{v}" for v in variants) + " |",
             "|---|---|---|---|" + "---|" * len(variants)]
    keys = []
    for r in rows:
        k = (r["model"], r.get("precision"), r.get("batch"))
        if r.get("variant") and k not in keys:
            keys.append(k)
    for k in keys:
        b = base.get(k, {}).get("ingot", {})
        bms = b.get("compute_ms")
        cells = [f"{bms:.3f}" if isinstance(bms, (int, float)) else (err_text(b) if b else "-")]
        for v in variants:
            r = next((x for x in rows if x.get("variant") == v and (x["model"], x.get("precision"),
                                                                     x.get("batch")) == k), None)
            i = (r or {}).get("ingot", {})
            ms = i.get("compute_ms")
            if isinstance(ms, (int, float)):
                cells.append(f"{ms:.3f}" + (f" (×{ms / bms:.2f})" if isinstance(bms, (int, float)) else ""))
            else:
                cells.append(err_text(i) if r else "-")
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | " + " | ".join(cells) + " |")
    return lines


def table_lines(doc):
    meta = doc.get("meta", {})
    head = ", ".join(str(meta[k]) for k in ("gpu", "torch", "date") if k in meta)
    lines = [f"{head}; {meta.get('method', '')}".strip("; "), "",
             "Times in ms per batch: median (p10-p90 where measured). ratio = ingot / PyTorch CUDA graph "
             "(eager where capture failed, marked *); below 1 ingot is faster.", "",
             "| model | prec | batch | ingot ms | ratio | fallback steps | torch eager ms | torch CUDA graph ms "
             "| torch.compile ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in main_rows(doc):
        i, t = r.get("ingot", {}), r.get("torch", {})
        ing = fmt(i, "compute") or err_text(i)
        peer = peer_ms(t)
        ratio = f"{i['compute_ms'] / peer:.2f}" + ("" if t.get("cuda_graph_ms") else "*") \
            if isinstance(i.get("compute_ms"), (int, float)) and peer else "-"
        graph = fmt(t, "cuda_graph") or ("capture failed" if t.get("cuda_graph_error") else "-")
        comp = fmt(t, "compile") or ("failed" if t.get("compile_error") else "-")
        lines.append(f"| {r.get('model')} | {r.get('precision', '')} | {r.get('batch', '')} | {ing} | {ratio} | "
                     f"{i.get('fallback_steps', '')} | {fmt(t, 'eager') or (err_text(t) if t.get('error') else '-')} | "
                     f"{graph} | {comp} |")
    v = variant_lines(doc)
    return lines + ([""] + v if v else [])


def write_chart(doc, path):
    """Bars of each system's time relative to PyTorch CUDA graph (1.0), one panel per precision."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in main_rows(doc) if peer_ms(r.get("torch", {}))]
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


def write_table(doc, outdir, stem):
    """OUTDIR/STEM.md (tables) and OUTDIR/STEM.png (chart); returns the paths written."""
    os.makedirs(outdir, exist_ok=True)
    md = os.path.join(outdir, stem + ".md")
    with open(md, "w") as f:
        f.write("\n".join(table_lines(doc)) + "\n")
    written = [md]
    try:
        png = os.path.join(outdir, stem + ".png")
        write_chart(doc, png)
        written.append(png)
    except ImportError:
        print("bench_models: matplotlib is not installed; no chart (python3 -m pip install matplotlib)",
              file=sys.stderr)
    return written


def perf_block(doc, results_path, png_path, perf_path):
    """The generated part of docs/PERF.md: only figures and gate output read from the results file."""
    meta = doc.get("meta", {})
    lines = [PERF_BEGIN, "",
             f"Generated from `{os.path.relpath(results_path, os.path.dirname(os.path.abspath(perf_path)))}` "
             f"(run on {meta.get('gpu', '?')}, {meta.get('date', '?')}; PyTorch {meta.get('torch', '?')}; "
             f"driver {meta.get('driver', '?')}).", "",
             "Command: `" + str(meta.get("command", "?")) + "`", ""]
    if meta.get("partial"):
        lines += ["**This run did not finish** (a time limit stopped it): the rows below are what it measured.", ""]
    lines += table_lines(doc)[2:] + [""]  # its first line repeats the meta above
    if png_path:
        rel = os.path.relpath(png_path, os.path.dirname(os.path.abspath(perf_path)))
        lines += [f"![ingot against PyTorch, time relative to PyTorch CUDA graph]({rel})", ""]
    gates = doc.get("variant_gates") or []
    if gates:
        lines += ["The gate on this run: each variant's rows judged against the all-passes rows of the same run "
                  "(`bench/gate --variant V RESULTS RESULTS`):", ""]
        for g in gates:
            lines += ["```", f"$ {g.get('command', '')}"] + str(g.get("output", "")).rstrip().splitlines() + \
                [f"(exit status {g.get('exit')})", "```", ""]
    lines.append(PERF_END)
    return "\n".join(lines)


def write_perf(doc, results_path, png_path, perf_path):
    """Replace the marked block of PERF.md; the markers must already be there."""
    with open(perf_path) as f:
        text = f.read()
    b, e = text.find(PERF_BEGIN), text.find(PERF_END)
    if b < 0 or e < b:
        raise SystemExit(f"bench_models: {perf_path} has no generated block: expected the lines '{PERF_BEGIN}' "
                         f"and '{PERF_END}' in that order")
    text = text[:b] + perf_block(doc, results_path, png_path, perf_path) + text[e + len(PERF_END):]
    with open(perf_path, "w") as f:
        f.write(text)


# ---- the run ----

def gpu_tag(name):
    """'NVIDIA H100 80GB HBM3' -> 'H100': the results file's name."""
    m = re.search(r"\b([A-Z]{1,3}\d{2,4}[A-Za-z]?)\b", name)
    return m.group(1) if m else re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "GPU"


def run_gate(args, log, outfile):
    r = subprocess.run([sys.executable, GATE] + args, capture_output=True, text=True)
    out = (r.stdout + r.stderr).rstrip()
    cmd = "bench/gate " + " ".join(os.path.basename(a) if a.endswith(".json") else a for a in args)
    log(f"$ {cmd}\n{out}\n(exit status {r.returncode})")
    with open(outfile, "a") as f:
        f.write(f"$ {cmd}\n{out}\n(exit status {r.returncode})\n\n")
    return {"command": cmd, "exit": r.returncode, "output": out}


def suite(a, log):
    need_torch()
    if not torch.cuda.is_available():
        raise SystemExit("bench_models: no CUDA device visible to PyTorch; the suite needs a GPU "
                         "(--check-import runs the CPU part)")
    t_start = time.time()
    work = a.work or tempfile.mkdtemp(prefix="ingot-bench-")
    os.makedirs(work, exist_ok=True)
    gpu = torch.cuda.get_device_name(0)
    stem = f"{time.strftime('%Y-%m-%d')}-{gpu_tag(gpu)}"
    path = os.path.join(a.out, stem + ".json")
    variants = [] if a.variants in ("", "none") else a.variants.split(",")
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True).stdout.strip().splitlines()[0]
    except (OSError, IndexError):
        driver = "?"
    meta = {"gpu": gpu, "driver": driver, "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
            "command": "bench/run " + " ".join(sys.argv[1:]),
            "ingot_version": subprocess.run([a.ingot, "--version"], capture_output=True, text=True).stdout.strip(),
            "tf32": {"fp32": "PyTorch with TF32 off for matmuls and convolutions (as ingot's fp32)",
                     "tf32": "PyTorch with TF32 on for both (as ingot's --tf32)"},
            "method": f"GPU ms per batch by CUDA events, median and p10/p90 of {a.iters} runs; torch after "
                      f"{a.warmup} warm-up runs, ingot by `ingot bench --iterations {a.iters}` after its 200 ms "
                      "warm-up (gpu_compute_ms: inputs already on the device)",
            "partial": True}
    doc = {"meta": meta, "rows": []}

    def save():
        meta["seconds"] = round(time.time() - t_start, 1)
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(path + ".tmp", path)

    def over(frac=1.0):
        return a.budget > 0 and time.time() - t_start > a.budget * frac

    batches = [int(b) for b in a.batches.split(",")]
    for name in a.models.split(","):
        base_rows = [{"model": name, "precision": p, "batch": b} for p in a.precisions.split(",") for b in batches]
        if over():
            for row in base_rows:
                row["ingot"] = row["torch"] = {"error": f"not measured: the --budget of {a.budget:.0f} s was spent"}
                doc["rows"].append(row)
            save()
            log(f"{name}: skipped, the time budget is spent")
            continue
        onnx_path = os.path.join(work, f"{name}.onnx")
        try:
            model, in_names, out_names = make_model(name)
            wrapped = export(name, model, in_names, out_names, onnx_path, log, a.exporter_folding)
        except Exception as e:  # record the failure and go on with the next model
            msg = f"export: {type(e).__name__}: {str(e).strip()[:300]}"
            for row in base_rows:
                row["ingot"] = {"error": msg}
                row["torch"] = {"error": msg}
                doc["rows"].append(row)
            save()
            log(f"{name}: {msg}")
            continue
        for row in base_rows:
            prec, batch = row["precision"], row["batch"]
            row["ingot"] = ingot_time(a.ingot, onnx_path, name, batch, prec, work, a.iters)
            first = prec == a.precisions.split(",")[0] and batch == min(batches)
            compile_here = not a.no_compile and (not a.quick or first)
            if compile_here and over(a.compile_frac):
                compile_here = f"skipped: over {a.compile_frac:.0%} of the --budget of {a.budget:.0f} s"
            try:
                row["torch"] = torch_times(wrapped, name, batch, prec, a.warmup, a.iters, compile_here)
            except Exception as e:  # out of memory at a large batch, say: record, go on
                row["torch"] = {"error": f"{type(e).__name__}: {str(e).strip()[:300]}"}
                torch.cuda.empty_cache()
            doc["rows"].append(row)
            save()
            log(json.dumps(row))
            if name != VARIANT_MODEL or (a.quick and prec != a.precisions.split(",")[0]):
                continue
            for v in variants:  # same run, same PyTorch figures: only ingot's build differs
                vrow = {"model": name, "variant": "no-" + v, "disabled_passes": [v], "precision": prec,
                        "batch": batch, "ingot": ingot_time(a.ingot, onnx_path, name, batch, prec, work, a.iters, (v,)),
                        "torch": row["torch"], "torch_from": "the all-passes row of this run"}
                doc["rows"].append(vrow)
                save()
                log(json.dumps({k: vrow[k] for k in ("model", "variant", "precision", "batch", "ingot")}))
        del model, wrapped
        torch.cuda.empty_cache()
        if not a.keep_onnx:
            try:
                os.remove(onnx_path)
            except OSError:
                pass

    gate_out = os.path.join(a.out, "gate-variants.txt")
    if os.path.exists(gate_out):
        os.remove(gate_out)
    gates = []
    for v in variants:
        if any(r.get("variant") == "no-" + v for r in doc["rows"]):
            gates.append(run_gate(["--variant", "no-" + v, path, path], log, gate_out))
    doc["variant_gates"] = gates
    meta["partial"] = False
    save()
    if a.gate:
        g = run_gate([path, a.gate], log, os.path.join(a.out, "gate.txt"))
        doc["baseline_gate"] = dict(g, baseline=a.gate)
        save()
    for p in write_table(doc, a.out, stem):
        log("wrote " + p)
    log("wrote " + path)
    log("\n".join(table_lines(doc)))
    return 0


def check_import(a, log):
    """Export each model, build it in fp32 with ingot's --check-backend (CPU unless told) at each
    of --batches (1 unless given), run it on the model's own inputs and compare with PyTorch's
    output on the CPU (the models ingot can import, and on CUDA, that its kernels compute them)."""
    need_torch()
    import numpy as np
    work = a.work or tempfile.mkdtemp(prefix="ingot-import-")
    os.makedirs(work, exist_ok=True)
    bad = 0
    for name in a.models.split(","):
        onnx_path = os.path.join(work, f"{name}.onnx")
        eng = os.path.join(work, f"{name}.engine")
        try:
            model, in_names, out_names = make_model(name)
            wrapped = export(name, model, in_names, out_names, onnx_path, log, a.exporter_folding)
        except Exception as e:
            log(f"FAIL {name}: export: {type(e).__name__}: {str(e).strip()[:300]}")
            bad += 1
            continue
        backend = a.check_backend
        for batch in [int(b) for b in (a.batches or "1").split(",")]:
            _, err = ingot_build(a.ingot, onnx_path, eng, name, batch, "fp32", backend, ())
            if err:
                log(f"FAIL {name} b{batch}: ingot build --backend {backend}: {err}")
                bad += 1
                continue
            args = make_inputs(name, batch, "cpu")
            with torch.inference_mode():
                want = wrapped(*args).numpy()
            cmd = [a.ingot, "run", eng, "--output", work]
            for n, t in zip(in_names, args):
                np.save(os.path.join(work, n + ".npy"), t.numpy())
                cmd += ["--input", f"{n}={os.path.join(work, n + '.npy')}"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                log(f"FAIL {name} b{batch}: ingot run: {last_line(r)}")
                bad += 1
                continue
            got = np.load(os.path.join(work, out_names[0] + ".npy"))
            err = float(np.max(np.abs(got.astype(np.float64) - want))) if got.shape == want.shape else None
            scale = float(np.max(np.abs(want))) or 1.0
            ok = err is not None and err <= 1e-3 * scale
            log(f"{'ok  ' if ok else 'FAIL'} {name} b{batch}: built and ran on {backend}; output {list(got.shape)}, "
                f"max |ingot - torch| {err if err is not None else 'shape differs from ' + str(list(want.shape))} "
                f"(max |torch| {scale:.3g}, allowed 1e-3 of it)")
            bad += not ok
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description="ingot against PyTorch on this GPU (see the module docstring)")
    ap.add_argument("--ingot", help="the ingot binary (default devkit/bin/ingot, else build/ingot)")
    ap.add_argument("--out", help="output folder (default $OUT, else bench/results; with --table: the results "
                                  "file's folder)")
    ap.add_argument("--keep-onnx", action="store_true", help="leave the exported ONNX files in --work")
    ap.add_argument("--work", help="folder for the ONNX files and engines (default a new one under /tmp)")
    ap.add_argument("--table", metavar="RESULTS.json", help="only write the tables + chart from a results file")
    ap.add_argument("--write-perf", metavar="PERF.md", help="with --table: replace PERF.md's generated block")
    ap.add_argument("--check-import", action="store_true", help="export, build (fp32) and run each model at each "
                                                                  "of --batches (default 1), compare with PyTorch")
    ap.add_argument("--check-backend", default="cpu", choices=("cpu", "cuda"), help="--check-import's backend")
    ap.add_argument("--batches", help="default 1,32,128 (--quick: 1,32)")
    ap.add_argument("--models", default=",".join(("resnet50",) + TEXT + VISION[1:]),
                    help="of: " + ",".join(VISION + TEXT))
    ap.add_argument("--precisions", default="fp16,fp32", help="of: fp16,fp32,tf32")
    ap.add_argument("--no-compile", action="store_true", help="do not measure torch.compile")
    ap.add_argument("--quick", action="store_true",
                    help="batches 1,32, torch.compile at the smallest batch of the first precision only, variants "
                         "at the first precision only, 10 torch warm-up runs, --budget 450 unless given")
    ap.add_argument("--iters", type=int, default=100, help="timed runs per measurement (>= 100 for the record)")
    ap.add_argument("--warmup", type=int, help="torch warm-up runs (default 20, --quick 10)")
    ap.add_argument("--variants", default=DEFAULT_VARIANTS,
                    help=f"passes to disable one at a time on {VARIANT_MODEL} ('none' for no variants)")
    ap.add_argument("--budget", type=float, help="seconds: past it no new model starts (rows recorded as not "
                                                 "measured); torch.compile stops at --compile-frac of it")
    ap.add_argument("--compile-frac", type=float, default=0.6, help=argparse.SUPPRESS)
    ap.add_argument("--exporter-folding", action="store_true",
                    help="let torch.onnx.export fold constants and Conv+BatchNorm itself (default: ingot does)")
    ap.add_argument("--build-flags", default="",
                    help="more options for every CUDA `ingot build`, e.g. \"--tune\" (recorded in the command)")
    ap.add_argument("--gate", metavar="BASELINE.json", help="also run bench/gate on the results against it")
    a = ap.parse_args()
    EXTRA_BUILD[:] = a.build_flags.split()
    unknown = [m for m in a.models.split(",") if m not in VISION + TEXT]
    if unknown and not a.table:
        ap.error(f"unknown model(s) {','.join(unknown)}; known: {','.join(VISION + TEXT)}")
    bad = [p for p in a.precisions.split(",") if p not in ("fp16", "fp32", "tf32")]
    if bad and not a.table:
        ap.error(f"unknown precision(s) {','.join(bad)}; known: fp16,fp32,tf32")
    if a.table:
        with open(a.table) as f:
            doc = json.load(f)
        stem = os.path.splitext(os.path.basename(a.table))[0]
        written = write_table(doc, a.out or os.path.dirname(os.path.abspath(a.table)), stem)
        for p in written:
            print("wrote", p)
        if a.write_perf:
            png = next((p for p in written if p.endswith(".png")), None)
            write_perf(doc, a.table, png, a.write_perf)
            print("wrote", a.write_perf)
        return 0
    if a.write_perf:
        ap.error("--write-perf goes with --table RESULTS.json")
    if a.variants not in ("", "none"):
        bad = [v for v in a.variants.split(",") if not re.fullmatch(r"[a-z_]+", v)]
        if bad:
            ap.error(f"--variants: '{bad[0]}' is not a pass name (see ingot build --list-passes)")
    if a.iters < 1:
        ap.error(f"--iters {a.iters}: at least 1 (100 or more for results to keep)")
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    a.ingot = a.ingot or next((p for p in (os.path.join(root, "devkit", "bin", "ingot"),
                                           os.path.join(root, "build", "ingot")) if os.path.exists(p)), None)
    if not a.ingot:
        ap.error("no ingot binary: give --ingot PATH (devkit/bin/ingot and build/ingot are absent)")
    a.batches = a.batches or ("1,32" if a.quick else "1,32,128")
    a.warmup = a.warmup if a.warmup is not None else (10 if a.quick else 20)
    a.budget = a.budget if a.budget is not None else (450.0 if a.quick else 0.0)
    if a.check_import:
        return check_import(a, Log(None))
    a.out = a.out or os.environ.get("OUT") or os.path.join(root, "bench", "results")
    os.makedirs(a.out, exist_ok=True)
    return suite(a, Log(os.path.join(a.out, "suite.log")))


if __name__ == "__main__":
    sys.exit(main())
