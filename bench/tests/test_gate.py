#!/usr/bin/env python3
"""Unit tests of bench/gate: run it as a subprocess on small result files written here.

Covers both result formats (GPU rows with ingot/torch, CPU rows with ingot/ort), an unchanged
run, a regressed one (+20%), noise within the spread, missing models and failed rows, the CUDA-graph
to eager fallback, unreadable input and variant rows (--variant); and bench/gpu/bench_models.py
--table / --write-perf on the checked-in H100 results and on rows shaped as the suite writes them.
Prints `N passed, N failed` last (ctest reads the exit status).
"""
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

GATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gate")


def gpu_doc(scale=None, graph=True, spread=None):
    """Two GPU rows; scale multiplies ingot's time of the named (model, batch) pairs."""
    rows = []
    for model, batch, ing, cg, eager in [("resnet50", 1, 0.60, 1.00, 4.0), ("bert", 32, 6.0, 5.0, 9.0)]:
        r = {"model": model, "precision": "fp16", "batch": batch,
             "ingot": {"compute_ms": ing * (scale or {}).get((model, batch), 1.0), "h2d_ms": 0.05},
             "torch": {"eager_ms": eager}}
        if graph:
            r["torch"]["cuda_graph_ms"] = cg
        else:
            r["torch"]["cuda_graph_error"] = "capture failed"
        if spread is not None:  # as bench_models.py writes it: ingot's spread, none for torch
            med = r["ingot"]["compute_ms"]
            r["ingot"]["compute_p10_ms"], r["ingot"]["compute_p90_ms"] = med * (1 - spread / 2), med * (1 + spread / 2)
        rows.append(r)
    return {"meta": {"gpu": "test"}, "rows": rows}


def with_variant(doc, variant, factor):
    """doc plus a resnet50 row built with `variant`, its ingot time `factor` times the all-passes
    row's, with the same PyTorch figures (as bench_models.py writes variant rows)."""
    base = next(r for r in doc["rows"] if r["model"] == "resnet50")
    v = copy.deepcopy(base)
    v["variant"] = variant
    for k in ("compute_ms", "compute_p10_ms", "compute_p90_ms"):
        if k in v["ingot"]:
            v["ingot"][k] *= factor
    doc["rows"].append(v)
    return doc


def cpu_doc(ratios, spread=0.02):
    rows = []
    for model, ratio in ratios.items():
        rows.append({"model": model, "precision": "fp32", "batch": 1,
                     "ingot": {"median_ms": 10.0 * ratio, "spread": spread},
                     "ort": {"median_ms": 10.0, "spread": spread}, "ratio": ratio, "spread": spread})
    return {"meta": {"kind": "cpu"}, "rows": rows}


class GateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="gate-test-")

    def tearDown(self):
        self.tmp.cleanup()

    def gate(self, cur, base, *args):
        paths = []
        for name, doc in (("current.json", cur), ("baseline.json", base)):
            p = os.path.join(self.tmp.name, name)
            with open(p, "w") as f:
                f.write(doc if isinstance(doc, str) else json.dumps(doc))
            paths.append(p)
        r = subprocess.run([sys.executable, GATE, *paths, *args], capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def test_unchanged_gpu_run_passes(self):
        rc, out = self.gate(gpu_doc(), gpu_doc())
        self.assertEqual(rc, 0, out)
        self.assertIn("2 compared, 0 regressed", out)

    def test_unchanged_cpu_run_passes(self):
        rc, out = self.gate(cpu_doc({"squeezenet1_1": 7.0, "tiny_bert": 3.0}),
                            cpu_doc({"squeezenet1_1": 7.0, "tiny_bert": 3.0}))
        self.assertEqual(rc, 0, out)

    def test_regressed_gpu_run_fails_naming_model_and_figures(self):
        rc, out = self.gate(gpu_doc({("resnet50", 1): 1.2}), gpu_doc())
        self.assertEqual(rc, 1, out)
        line = next(l for l in out.splitlines() if l.startswith("REGRESS"))
        self.assertIn("resnet50 fp16 b1", line)
        self.assertIn("0.720", line)  # current ratio 0.72 / 1.00
        self.assertIn("0.600", line)  # baseline ratio
        self.assertIn("+20.0%", line)
        self.assertIn("allowed +5.0%", line)
        self.assertNotIn("bert", line)

    def test_regressed_cpu_run_fails(self):
        rc, out = self.gate(cpu_doc({"squeezenet1_1": 7.0 * 1.2, "tiny_bert": 3.0}),
                            cpu_doc({"squeezenet1_1": 7.0, "tiny_bert": 3.0}))
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"REGRESS +squeezenet1_1")
        self.assertNotRegex(out, r"REGRESS +tiny_bert")

    def test_noise_within_spread_passes(self):
        # +12% with a measured spread of 10%: allowed is 5% + 10%
        rc, out = self.gate(cpu_doc({"squeezenet1_1": 7.0 * 1.12}, spread=0.10),
                            cpu_doc({"squeezenet1_1": 7.0}, spread=0.10))
        self.assertEqual(rc, 0, out)
        self.assertIn("allowed +15.0%", out)

    def test_spread_from_p10_p90(self):
        rc, out = self.gate(gpu_doc({("resnet50", 1): 1.12}, spread=0.10), gpu_doc(spread=0.10))
        self.assertEqual(rc, 0, out)
        rc, out = self.gate(gpu_doc({("resnet50", 1): 1.20}, spread=0.10), gpu_doc(spread=0.10))
        self.assertEqual(rc, 1, out)

    def test_small_noise_without_spread_passes(self):
        rc, out = self.gate(gpu_doc({("resnet50", 1): 1.04}), gpu_doc())
        self.assertEqual(rc, 0, out)

    def test_faster_run_passes(self):
        rc, out = self.gate(gpu_doc({("resnet50", 1): 0.5}), gpu_doc())
        self.assertEqual(rc, 0, out)

    def test_ratio_not_absolute_time(self):
        # a machine twice as slow for both sides: the same ratio, no regression
        cur = gpu_doc()
        for r in cur["rows"]:
            r["ingot"]["compute_ms"] *= 2
            r["torch"] = {k: v * 2 for k, v in r["torch"].items()}
        rc, out = self.gate(cur, gpu_doc())
        self.assertEqual(rc, 0, out)

    def test_missing_model_reported_and_fails(self):
        cur = gpu_doc()
        cur["rows"] = [r for r in cur["rows"] if r["model"] != "bert"]
        rc, out = self.gate(cur, gpu_doc())
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"MISSING +bert fp16 b32")
        rc, out = self.gate(cur, gpu_doc(), "--allow-missing")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"MISSING +bert fp16 b32")

    def test_error_row_reported_and_fails(self):
        cur = gpu_doc()
        cur["rows"][1]["ingot"] = {"error": "build: unsupported op Foo"}
        rc, out = self.gate(cur, gpu_doc())
        self.assertEqual(rc, 1, out)
        self.assertIn("unsupported op Foo", out)
        rc, _ = self.gate(cur, gpu_doc(), "--allow-missing")
        self.assertEqual(rc, 0)

    def test_missing_peer_fails(self):
        cur = cpu_doc({"tiny_bert": 3.0})
        cur["rows"][0]["ort"] = {"error": "ort crashed"}
        rc, out = self.gate(cur, cpu_doc({"tiny_bert": 3.0}))
        self.assertEqual(rc, 1, out)
        self.assertIn("ONNX Runtime missing", out)

    def test_new_model_is_not_a_failure(self):
        rc, out = self.gate(cpu_doc({"a": 2.0, "b": 3.0}), cpu_doc({"a": 2.0}))
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"NEW +b")

    def test_graph_missing_falls_back_to_eager(self):
        rc, out = self.gate(gpu_doc(graph=False), gpu_doc(graph=False))
        self.assertEqual(rc, 0, out)
        self.assertIn("PyTorch eager", out)
        # a regression against eager is still caught
        rc, out = self.gate(gpu_doc({("bert", 32): 1.2}, graph=False), gpu_doc())
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"REGRESS +bert fp16 b32: ratio to PyTorch eager")

    def test_checked_in_results_pass_against_themselves(self):
        root = os.path.dirname(GATE)
        paths = [os.path.join(root, d, f) for d in ("results", "baselines")
                 for f in sorted(os.listdir(os.path.join(root, d))) if f.endswith(".json")]
        if not paths:
            self.skipTest("no checked-in results or baselines")
        for path in paths:
            with open(path) as f:
                doc = json.load(f)
            rc, out = self.gate(doc, copy.deepcopy(doc))
            self.assertEqual(rc, 0, f"{path}: {out}")
            for v in sorted({r["variant"] for r in doc.get("rows", []) if r.get("variant")}):
                rc, out = self.gate(doc, doc, "--variant", v)  # readable; pass or fail is the run's finding
                self.assertIn(rc, (0, 1), f"{path} --variant {v}: {out}")

    def test_jsonl_rows_accepted(self):
        lines = "\n".join(json.dumps(r) for r in gpu_doc()["rows"]) + "\n"
        rc, out = self.gate(lines, gpu_doc())
        self.assertEqual(rc, 0, out)

    def variant_gate(self, doc, variant, factor, judged=None):
        """The gate on one file holding all-passes rows and `variant` rows `factor` times slower."""
        doc = with_variant(doc, variant, factor)
        return self.gate(doc, doc, "--variant", judged or variant)

    def test_variant_judged_against_all_passes_of_the_same_run(self):
        rc, out = self.variant_gate(gpu_doc(), "no-fold_batchnorm", 1.30)
        self.assertEqual(rc, 1, out)
        line = next(l for l in out.splitlines() if l.startswith("REGRESS"))
        self.assertIn("resnet50 fp16 b1 [no-fold_batchnorm]", line)
        self.assertIn("0.780", line)  # 0.60 * 1.3 / 1.00
        self.assertIn("0.600", line)
        self.assertIn("+30.0%", line)
        self.assertNotIn("MISSING", out)  # bert has no variant rows: not part of this comparison
        self.assertIn("1 compared, 1 regressed", out)

    def test_variant_within_tolerance_passes(self):
        rc, out = self.variant_gate(gpu_doc(), "no-fold_constants", 1.02)
        self.assertEqual(rc, 0, out)
        self.assertIn("+2.0%", out)

    def test_variant_spread_widens_allowance(self):
        rc, out = self.variant_gate(gpu_doc(spread=0.10), "no-fuse_epilogue", 1.12)
        self.assertEqual(rc, 0, out)
        self.assertIn("allowed +15.0%", out)

    def test_variant_rows_left_out_by_default(self):
        doc = with_variant(gpu_doc(), "no-fold_batchnorm", 3.0)
        rc, out = self.gate(doc, gpu_doc())
        self.assertEqual(rc, 0, out)
        self.assertIn("2 compared, 0 regressed", out)
        self.assertNotIn("no-fold_batchnorm", out)
        rc, out = self.gate(gpu_doc(), doc)  # nor counted as missing when only the baseline has them
        self.assertEqual(rc, 0, out)

    def test_unknown_variant_exits_2(self):
        rc, out = self.variant_gate(gpu_doc(), "no-fold_batchnorm", 1.0, "no-cse")
        self.assertEqual(rc, 2, out)
        self.assertIn("no rows of variant 'no-cse'", out)

    def test_failed_variant_build_fails(self):
        doc = with_variant(gpu_doc(), "no-fold_batchnorm", 1.0)
        doc["rows"][-1]["ingot"] = {"error": "build: out of device memory"}
        rc, out = self.gate(doc, doc, "--variant", "no-fold_batchnorm")
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"ERROR +resnet50 fp16 b1 \[no-fold_batchnorm\]: ingot error: build: out of device")

    def test_bad_input_exits_2(self):
        rc, out = self.gate("{not json", gpu_doc())
        self.assertEqual(rc, 2, out)
        rc, out = self.gate({"rows": [{"precision": "fp16"}]}, gpu_doc())
        self.assertEqual(rc, 2, out)
        self.assertIn("model", out)




class SpreadTest(unittest.TestCase):
    """bench_models.run_spread: what the gate allows for one engine's time."""

    def setUp(self):
        sys.path.insert(0, os.path.join(os.path.dirname(GATE), "gpu"))
        import bench_models  # noqa: E402  (needs no torch at import)
        self.run_spread = bench_models.run_spread

    def test_between_runs_wins_when_larger(self):
        self.assertAlmostEqual(self.run_spread([5.0, 5.3], 4.99, 5.03), 0.06)

    def test_within_run_wins_when_larger(self):
        self.assertAlmostEqual(self.run_spread([1.0, 1.01], 0.9, 1.1), 0.2)

    def test_one_run_and_missing_figures(self):
        self.assertAlmostEqual(self.run_spread([2.0], 1.9, 2.1), 0.1)
        self.assertEqual(self.run_spread([2.0, 2.0], None, None), 0.0)
        self.assertIsNone(self.run_spread([], 1.0, 2.0))

    def test_gate_uses_the_spread(self):
        """A 6% slower variant passes when the two runs of one engine already differed by 3%."""
        doc = with_variant(gpu_doc(), "no-x", 1.06)
        for r in doc["rows"]:
            r["ingot"]["spread"] = 0.03
        with tempfile.TemporaryDirectory(prefix="gate-spread-") as d:
            path = os.path.join(d, "r.json")
            with open(path, "w") as f:
                json.dump(doc, f)
            r = subprocess.run([sys.executable, GATE, "--variant", "no-x", path, path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class TableTest(unittest.TestCase):
    """bench/gpu/bench_models.py --table [--write-perf] (no torch or GPU needed)."""

    root = os.path.dirname(GATE)
    script = os.path.join(root, "gpu", "bench_models.py")

    def table(self, results, out, *args):
        return subprocess.run([sys.executable, self.script, "--table", results, "--out", out, *args],
                              capture_output=True, text=True)

    def test_table_and_chart(self):
        results = os.path.join(self.root, "results", "2026-11-22-H100.json")
        if not os.path.exists(results):
            self.skipTest("no checked-in GPU results")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            self.skipTest("matplotlib is not installed")
        with tempfile.TemporaryDirectory(prefix="gate-table-") as out:
            r = self.table(results, out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(out, "2026-11-22-H100.md")) as f:
                md = f.read().splitlines()
            with open(results) as f:
                n = len(json.load(f)["rows"])
            body = [l for l in md if l.startswith("| ") and not l.startswith("| model")]
            self.assertEqual(len(body), n)
            self.assertIn("| resnet50 | fp16 | 1 | 0.633 | 0.62 |", md[md.index(body[0])])
            self.assertTrue(any("0.22*" in l for l in body))  # bert: eager, capture failed
            with open(os.path.join(out, "2026-11-22-H100.png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def suite_doc(self):
        """Rows shaped as the suite writes them: a variant row and the gate's output on them."""
        doc = with_variant(gpu_doc(spread=0.02), "no-fold_batchnorm", 1.5)
        doc["meta"].update(date="2026-12-06", torch="2.11.0", command="bench/run --quick", driver="580")
        doc["rows"][-1].update(disabled_passes=["fold_batchnorm"])
        doc["variant_gates"] = [{"command": "bench/gate --variant no-fold_batchnorm R.json R.json", "exit": 1,
                                 "output": "REGRESS  resnet50 fp16 b1 [no-fold_batchnorm]: ...\ngate: FAIL"}]
        return doc

    def write_suite_doc(self, folder):
        path = os.path.join(folder, "r.json")
        with open(path, "w") as f:
            json.dump(self.suite_doc(), f)
        return path

    def test_variant_table(self):
        with tempfile.TemporaryDirectory(prefix="gate-table-") as out:
            res = self.write_suite_doc(out)
            r = self.table(res, out)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(out, "r.md")) as f:
                md = f.read()
            # the main table has the two all-passes rows only; the variant has its own table
            self.assertEqual(md.count("| resnet50 | fp16 | 1 |"), 2)
            self.assertIn("| resnet50 | fp16 | 1 | 0.600 | 0.900 (×1.50) |", md)
            self.assertIn("no-fold_batchnorm |", md)

    def test_write_perf_replaces_only_the_marked_block(self):
        with tempfile.TemporaryDirectory(prefix="gate-perf-") as out:
            res = self.write_suite_doc(out)
            perf = os.path.join(out, "PERF.md")
            with open(os.path.join(self.root, "..", "docs", "PERF.md")) as f:
                real = f.read()
            begin = next(l for l in real.splitlines() if l.startswith("<!-- gpu-suite:begin"))
            with open(perf, "w") as f:
                f.write(f"# Perf\nbefore\n{begin}\nold numbers 9.999\n<!-- gpu-suite:end -->\nafter\n")
            r = self.table(res, out, "--write-perf", perf)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(perf) as f:
                text = f.read()
            self.assertTrue(text.startswith("# Perf\nbefore\n" + begin))
            self.assertTrue(text.endswith("<!-- gpu-suite:end -->\nafter\n"))
            self.assertNotIn("9.999", text)
            self.assertIn("`bench/run --quick`", text)
            self.assertIn("| resnet50 | fp16 | 1 | 0.600 (0.594-0.606) | 0.60 |", text)
            self.assertIn("REGRESS  resnet50 fp16 b1 [no-fold_batchnorm]", text)
            self.assertIn("(exit status 1)", text)
            # run again: the block is replaced, not repeated
            self.assertEqual(self.table(res, out, "--write-perf", perf).returncode, 0)
            with open(perf) as f:
                self.assertEqual(f.read(), text)

    def test_write_perf_without_markers_fails(self):
        with tempfile.TemporaryDirectory(prefix="gate-perf-") as out:
            res = self.write_suite_doc(out)
            perf = os.path.join(out, "PERF.md")
            with open(perf, "w") as f:
                f.write("# Perf\nno block here\n")
            r = self.table(res, out, "--write-perf", perf)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("has no generated block", r.stderr)
            with open(perf) as f:
                self.assertEqual(f.read(), "# Perf\nno block here\n")


if __name__ == "__main__":
    suite = unittest.TestSuite([unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in (GateTest, SpreadTest, TableTest)])
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(res.failures) + len(res.errors)
    passed = res.testsRun - failed - len(res.skipped)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
