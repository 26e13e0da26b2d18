"""Which INT8 recipe agrees with the float model clip by clip: parity, size and speed per recipe.

Usage: python bench/bench_int8_parity.py --checkpoint src/liveness/models/default.pt \
    --data data/s1200 --parity-data data/s1200:val,data/cal77:test,data/hr78:all \
    [--clips 400] [--calib-clips 64] [--repeats 60] [--only 'NAME|NAME...']

Converts the checkpoint to float TFLite once, then quantizes it with each candidate recipe
(ai-edge-quantizer; calibration on `--calib-clips` clips of the train split of `--data`, the
clips `liveness export` uses) and measures, on each set of `--parity-data` (see `liveness
export --parity-data`), what the export's INT8 check measures: verdict agreement with PyTorch
(flips), p50 / p99 / max |Δp| and ΔAUC; then file size and p50 latency (batch 1, one thread)
of every file in one interleaved run, as a ratio to the float file. Writes nothing to the repo.
Needs the export extra.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from liveness import export_tflite as et
from liveness.checkpoint import model_from_checkpoint
from liveness.export import parity_sets, problems
from liveness.parity import backend_probs, load_clips, parity, reference_probs

BACKBONE = r".*MobileNetV3Small_backbone.*"  # every op of the per-frame CNN
W_CONV = ("CONV_2D", "DEPTHWISE_CONV_2D")
W_HEAD = et.WEIGHT_ONLY_OPS


def static(
    scope: str, act_bits: int = 8, sym: bool = False, gran: str = "CHANNELWISE"
) -> list[dict[str, Any]]:
    """Static quantization of the convolutions and adds matching `scope`."""
    r = et.int8_recipe(scope, et.INT8_OPS, weight_only=None)
    for e in r:
        c = e["op_config"] = dict(e["op_config"])
        c["activation_tensor_config"] = {**c["activation_tensor_config"],
                                         "num_bits": act_bits, "symmetric": sym}  # fmt: skip
        c["weight_tensor_config"] = {**c["weight_tensor_config"], "granularity": gran}
    return r


def weights_only(scope: str, ops: tuple[str, ...], compute: str = "FLOAT") -> list[dict[str, Any]]:
    """int8 weights of `ops` matching `scope`; compute FLOAT (weight-only: dequantized) or
    INTEGER (dynamic range: activations quantized on the fly)."""
    config = {
        "weight_tensor_config": {"num_bits": 8, "symmetric": True,
                                 "granularity": "CHANNELWISE", "dtype": "INT"},
        "compute_precision": compute, "explicit_dequantize": compute == "FLOAT",
        "skip_checks": False, "min_weight_elements": 0,
    }  # fmt: skip
    return [{"regex": scope, "operation": op, "algorithm_key": "min_max_uniform_quantize",
             "op_config": config} for op in ops]  # fmt: skip


stages = et.stage_scope
# name -> (recipe, calibration: "ema" = the quantizer's running average, "pNN" = percentile of
# per-clip extremes, p100 = absolute extremes, None = no calibration)
CANDIDATES: dict[str, tuple[list[dict[str, Any]], str | None]] = {
    "backbone a8w8, ema (the previous recipe)": (static(BACKBONE), "ema"),
    "backbone a8w8, p100": (static(BACKBONE), "p100"),
    "backbone a8w8, p90": (static(BACKBONE), "p90"),
    "backbone a8w8 symmetric act, ema": (static(BACKBONE, sym=True), "ema"),
    "backbone a8w8 per-tensor weights, ema": (static(BACKBONE, gran="TENSORWISE"), "ema"),
    "backbone a16w8, p100": (static(BACKBONE, act_bits=16, sym=True), "p100"),
    "backbone dynamic-range w8": (weights_only(BACKBONE, W_CONV, "INTEGER"), None),
    "backbone weight-only w8": (weights_only(BACKBONE, W_CONV), None),
    "all weight-only w8": (weights_only(".*", (*W_CONV, "FULLY_CONNECTED")), None),
    "stages 3-15 a8w8, p90": (static(stages(3)), "p90"),
    "stages 5-15 a8w8, ema": (static(stages(5)), "ema"),
    "stages 5-15 a8w8, p100": (static(stages(5)), "p100"),
    "stages 5-15 a8w8, p75": (static(stages(5)), "p75"),
    "stages 5-15 a8w8, p90": (static(stages(5)), "p90"),
    "stages 5-15 a8w8, p99": (static(stages(5)), "p99"),
    "stages 8-15 a8w8, p90": (static(stages(8)), "p90"),
    "stages 11-15 a8w8, ema": (static(stages(11)), "ema"),
    "stages 11-15 a8w8, p90": (static(stages(11)), "p90"),
    "stages 8-15 a8w8, p90 + head w8 (the default until the white-balanced network)": (
        et.int8_recipe(),
        "p90",
    ),
    "stages 9-15 a8w8, p90 + head w8": (et.int8_recipe(stages(9)), "p90"),
    "stages 10-15 a8w8, p90 + head w8": (et.int8_recipe(stages(10)), "p90"),
    "stages 11-15 a8w8, p90 + head w8": (et.int8_recipe(stages(11)), "p90"),
    "stages 8-15 a8w8, p99 + head w8 (export default)": (et.int8_recipe(), "p99"),
}


def quantize(f32: Path, out: Path, recipe: list[dict[str, Any]], how: str | None,
             feeds: list[dict[str, np.ndarray]]) -> None:  # fmt: skip
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(str(f32), recipe)
    if how is None:
        res = q.quantize()
    elif how == "ema":
        res = q.quantize(q.calibrate({"serving_default": feeds}, num_threads=1))
    else:
        res = q.quantize(et.percentile_ranges(q, feeds, float(how[1:])))
    res.export_model(str(out), overwrite=True)


def latencies(paths: list[Path], repeats: int) -> list[float]:
    """p50 ms per clip of each file, measured interleaved (one thread, batch 1)."""
    from ai_edge_litert.interpreter import Interpreter

    runs: list[tuple[Callable[..., Any], dict[str, np.ndarray]]] = []
    for p in paths:
        r = Interpreter(str(p), num_threads=1).get_signature_runner()
        rng = np.random.default_rng(0)
        feeds = {k: rng.random(d["shape"]).astype(d["dtype"])
                 for k, d in r.get_input_details().items()}  # fmt: skip
        r(**feeds)
        runs.append((r, feeds))
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(repeats):
        for i, (r, f) in enumerate(runs):
            t = time.perf_counter()
            r(**f)
            times[i].append((time.perf_counter() - t) * 1000)
    return [statistics.median(t) for t in times]


def main() -> None:
    from liveness.backends import TfliteBackend

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True, help="dataset whose train split calibrates")
    ap.add_argument("--parity-data", required=True, help="DIR[:SPLIT],... as liveness export")
    ap.add_argument("--clips", type=int, default=400, help="held-out clips per set (at most)")
    ap.add_argument("--calib-clips", type=int, default=et.CALIBRATION_CLIPS)
    ap.add_argument("--repeats", type=int, default=60)
    ap.add_argument("--only", default=None, help="candidate names, |-separated")
    ap.add_argument("--extra", default=None, help="comma list of existing INT8 files to compare")
    args = ap.parse_args()
    model, cfg = model_from_checkpoint(args.checkpoint)
    sets = parity_sets(args.parity_data, "val", cfg, args.clips)
    refs = [reference_probs(model, b) for b in sets]
    calib = load_clips(args.data, "train", cfg, args.calib_clips, seed=1)
    feeds = [et._feeds(calib, i) for i in range(len(calib))]
    names = args.only.split("|") if args.only else list(CANDIDATES)
    if unknown := [n for n in names if n not in CANDIDATES]:
        raise SystemExit(f"unknown candidates {unknown}; known: {list(CANDIDATES)}")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        f32 = tmp / "f32.tflite"
        et.write_tflite(model, cfg, f32)
        files = [("float32", f32)] + [
            (Path(p).name, Path(p)) for p in (args.extra or "").split(",") if p
        ]
        for i, name in enumerate(names):
            out = tmp / f"c{i}.tflite"
            quantize(f32, out, CANDIDATES[name][0], CANDIDATES[name][1], feeds)
            files.append((name, out))
        rows = []
        for name, path in files:
            be = TfliteBackend(path)
            cells = []
            ok = True
            for b, ref in zip(sets, refs, strict=True):
                r = parity(ref, backend_probs(be, b), b, cfg)
                ok = ok and not problems("int8", r)
                cells.append(f"{100 * r['verdict_agreement']:.1f} ({r['verdict_flips']}) / "
                             f"{r['p50_abs_dp']:.4f} / {r['p99_abs_dp']:.3f} / "
                             f"{r['max_abs_dp']:.3f} / {r['delta_auc']:+.4f}")  # fmt: skip
            rows.append([name, *cells, f"{path.stat().st_size:,}", "yes" if ok else "no"])
            print(" | ".join(rows[-1]), flush=True)
        ms = latencies([p for _, p in files], args.repeats)
    print(f"\n{time.strftime('%Y-%m-%d')}; cells: verdict agreement % (flips) / p50 / p99 / max "
          f"|Δp| / ΔAUC; speed: p50 per clip ÷ float32's ({ms[0]:.2f} ms), 1 thread, "
          f"interleaved, {args.repeats} runs\n")  # fmt: skip
    print("| recipe | " + " | ".join(b.source for b in sets) + " | bytes | speed | meets all |")
    print("|---|" + "---:|" * len(sets) + "---:|---:|---|")
    for row, m in zip(rows, ms, strict=True):
        print("| " + " | ".join([*row[:-1], f"{m / ms[0]:.2f}×", row[-1]]) + " |")


if __name__ == "__main__":
    main()
