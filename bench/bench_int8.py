"""Why INT8 runs slower than float here: XNNPACK partitions and latency per quantization recipe.

Usage: python bench/bench_int8.py [--clips 24] [--repeats 40]

Quantizes the bundled model's float TFLite file with four recipes (the whole CNN; the previous
one: every convolution + residual add of the CNN; convolutions only; the export's default:
stages 5-15 + weight-only head, liveness.export_tflite), calibrated (running average) on freshly
generated synthetic clips, and a plain stack of 3×3 convolutions as a control. For each file: size,
QUANTIZE ops, XNNPACK delegate partitions (DELEGATE nodes after allocation) and p50 latency at
batch 1, one thread. Needs the export extra (ai-edge-quantizer, litert-torch for the control).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from liveness.config import SynthConfig
from liveness.export_tflite import INT8_OPS, INT8_SCOPE, WEIGHT_ONLY_SCOPE, int8_recipe
from liveness.predict import BUNDLED


def ops_and_latency(path: Path, repeats: int) -> tuple[Counter[str], float]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(path), num_threads=1)
    runner = it.get_signature_runner()
    feeds = {k: np.zeros(d["shape"], d["dtype"]) for k, d in runner.get_input_details().items()}
    runner(**feeds)  # allocates and delegates: DELEGATE nodes appear in the op list
    ops = Counter(o["op_name"] for o in it._get_ops_details())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        runner(**feeds)
        times.append((time.perf_counter() - t) * 1000)
    return ops, statistics.median(times)


def quantize(src: Path, out: Path, recipe: list[dict[str, Any]], data: list[dict]) -> None:
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(str(src), recipe)
    q.quantize(q.calibrate({"serving_default": data}, num_threads=1)).export_model(
        str(out), overwrite=True
    )


def calibration(n: int, tmp: Path) -> list[dict[str, np.ndarray]]:
    """Model inputs of n generated clips, through the one preprocessing path."""
    from liveness.clip import read_clip
    from liveness.predict import load_predictor
    from liveness.preprocess import preprocess_clip
    from liveness.synth.generate import generate_dataset

    cfg = load_predictor(BUNDLED, check_face=False).config.preprocess
    generate_dataset(tmp / "calib", n, seed=99, cfg=SynthConfig(), progress=False)
    out = []
    for clip in sorted((tmp / "calib" / "clips").iterdir()):
        x = preprocess_clip(read_clip(clip), cfg)
        out.append({
            "args_0": x["video"][None].astype(np.float32) / 255.0,
            "args_1": x["imu"][None].astype(np.float32),
            "args_2": np.array([float(x["imu_present"])], np.float32),
        })  # fmt: skip
    return out


def conv_stack(tmp: Path) -> tuple[Path, Path]:
    """Control: four 3×3 convolutions, 64 channels, 56×56, float and whole-graph INT8."""
    import litert_torch
    import torch

    torch.manual_seed(0)
    layers = [torch.nn.Sequential(torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU())]
    model = torch.nn.Sequential(*(layers * 4)).eval()
    f32, q8 = tmp / "conv_f32.tflite", tmp / "conv_int8.tflite"
    litert_torch.convert(model, (torch.rand(1, 64, 56, 56),)).export(str(f32))
    data = [{"args_0": np.random.default_rng(i).random((1, 64, 56, 56), np.float32)}
            for i in range(8)]  # fmt: skip
    quantize(f32, q8, int8_recipe(".*", ("*",), None), data)
    return f32, q8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        data = calibration(args.clips, tmp)
        files = [("bundled model", "float32", BUNDLED)]
        cnn = r".*MobileNetV3Small_backbone.*"
        recipes: list[tuple[str, tuple[str, ...], str, str | None]] = [
            ("whole CNN", ("*",), cnn, None),
            ("previous", INT8_OPS, cnn, None),
            ("convolutions only", ("CONV_2D", "DEPTHWISE_CONV_2D"), cnn, None),
            ("export default: stages 5-15", INT8_OPS, INT8_SCOPE, WEIGHT_ONLY_SCOPE),
        ]
        for name, kinds, scope, head in recipes:
            out = tmp / f"{name.replace(' ', '_').replace(':', '')}.tflite"
            quantize(BUNDLED, out, int8_recipe(scope, kinds, head), data)
            files.append(("bundled model", f"int8: {name} ({', '.join(kinds)})", out))
        f32, q8 = conv_stack(tmp)
        files += [("4 × conv3×3 control", "float32", f32), ("4 × conv3×3 control", "int8", q8)]
        rows = []
        for model, precision, path in files:
            count, ms = ops_and_latency(path, args.repeats)
            rows.append(f"| {model} | {precision} | {path.stat().st_size:,} "
                        f"| {count['QUANTIZE']} | {count['DELEGATE']} | {ms:.2f} |")  # fmt: skip
    print(f"{time.strftime('%Y-%m-%d')}, 1 thread, batch 1, p50 of {args.repeats}\n")
    print("| model | precision | bytes | QUANTIZE ops | XNNPACK partitions | p50 ms |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
