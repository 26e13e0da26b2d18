"""Which backbone ops tolerate INT8: each op quantized alone, |Δp| against PyTorch per stage.

Usage: python bench/bench_int8_sensitivity.py --checkpoint src/liveness/models/default.pt \
    --data data/s1200 --parity-data data/s1200:val [--clips 400] [--calib-clips 64]

For every convolution, depthwise convolution and add of the per-frame CNN, a file with only that
op in static INT8 (ai-edge-quantizer, the quantizer's running-average calibration on the train
split of `--data`) is scored on the held-out set; prints |Δp| per op and, per backbone stage
(MobileNetV3Small.features index), the worst op's p99 and max |Δp|. This is how the export's
INT8 recipe chose the stage from which on the CNN is quantized (liveness.export_tflite).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from liveness import export_tflite as et
from liveness.backends import TfliteBackend
from liveness.checkpoint import model_from_checkpoint
from liveness.export import parity_sets
from liveness.parity import backend_probs, load_clips, reference_probs

STAGE = re.compile(
    r"Sequential_features/liveness\.layers\.(?:mobilenetv3\.(?:InvertedResidual|ConvBnAct)"
    r"|cbam\.CBAM)_(\d+)"
)


def backbone_ops(f32: Path) -> list[tuple[str, str, int]]:
    """(op name, scope, stage) of each quantizable op of the backbone, in graph order."""
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as fu

    model = fu.read_model(str(f32))
    sg = model.subgraphs[0]
    out = []
    for op in sg.operators:
        name = fu.TFL_OP_CODE_TO_NAME.get(model.operatorCodes[op.opcodeIndex].builtinCode)
        scope = fu.get_op_scope(op, sg.tensors)
        m = STAGE.search(scope)
        if str(name).split(".")[-1] in et.INT8_OPS and m:
            out.append((str(name).split(".")[-1], scope, int(m.group(1))))
    return out


def main() -> None:
    from ai_edge_quantizer import quantizer

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", required=True, help="dataset whose train split calibrates")
    ap.add_argument("--parity-data", required=True, help="one DIR[:SPLIT] (selection set)")
    ap.add_argument("--clips", type=int, default=400)
    ap.add_argument("--calib-clips", type=int, default=et.CALIBRATION_CLIPS)
    args = ap.parse_args()
    model, cfg = model_from_checkpoint(args.checkpoint)
    (held,) = parity_sets(args.parity_data, "val", cfg, args.clips)
    ref = reference_probs(model, held)
    calib = load_clips(args.data, "train", cfg, args.calib_clips, seed=1)
    feeds = {"serving_default": [et._feeds(calib, i) for i in range(len(calib))]}
    per_stage: dict[int, list[tuple[float, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as t:
        f32, q8 = Path(t) / "f32.tflite", Path(t) / "q8.tflite"
        et.write_tflite(model, cfg, f32)
        for op, scope, stage in backbone_ops(f32):
            recipe = et.int8_recipe("^" + re.escape(scope) + "$", (op,), weight_only=None)
            q = quantizer.Quantizer(str(f32), recipe)
            q.quantize(q.calibrate(feeds, num_threads=1)).export_model(str(q8), overwrite=True)
            dp = np.abs(backend_probs(TfliteBackend(q8), held) - ref)
            p99, mx = float(np.percentile(dp, 99)), float(dp.max())
            per_stage[stage].append((p99, mx))
            print(f"stage {stage:2d} {op:18s} p99 {p99:.4f} max {mx:.4f}", flush=True)
    print(f"\n{held.source}, {len(held)} clips: each op alone in INT8, the rest float\n")
    print("| stage | ops | worst op's p99 abs Δp | worst op's max abs Δp |")
    print("|---:|---:|---:|---:|")
    for s in sorted(per_stage):
        v = per_stage[s]
        print(f"| {s} | {len(v)} | {max(x for x, _ in v):.4f} | {max(y for _, y in v):.4f} |")


if __name__ == "__main__":
    main()
