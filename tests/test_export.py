"""Tests of export: self-describing ONNX/TFLite/INT8 files, parity per backend, loud failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import liveness.export as ex
from liveness.backends import TfliteBackend, sha256_file
from liveness.checkpoint import save_checkpoint
from liveness.export import FILENAMES, PARITY_TOL, ParityError, export_all, export_onnx
from liveness.model import LivenessNet
from liveness.parity import Batch, parity
from liveness.predict import load_predictor, predict_paths

from .conftest import TINY


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(1)
    d = tmp_path_factory.mktemp("export")
    return save_checkpoint(
        d / "m.pt", {"model": LivenessNet(TINY).state_dict(), "config": TINY.to_dict()}
    )


@pytest.fixture(scope="module")
def exported(
    checkpoint: Path, tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """All three formats of the tiny model, checked on the tiny dataset's val clips."""
    out = tmp_path_factory.mktemp("exported")
    export_all(checkpoint, out, data=tiny_dataset, split="val", clips=8, calib_clips=8)
    return out


def test_every_file_is_self_describing(exported: Path, checkpoint: Path) -> None:
    import onnx

    for fmt, name in FILENAMES.items():
        side = json.loads((exported / f"{name}.json").read_text())
        assert side["sha256"] == sha256_file(exported / name)
        assert side["config"] == TINY.to_dict() and side["threshold"] == TINY.threshold
        assert side["source_sha256"] == sha256_file(checkpoint)
        assert side["precision"] == ("int8" if fmt == "int8" else "float32")
        assert side["parity"]["inputs"].startswith("val split") and side["parity"]["n"] > 0
    props = {p.key: p.value for p in onnx.load(str(exported / "model.onnx")).metadata_props}
    assert json.loads(props["liveness_config"]) == TINY.to_dict()
    report = json.loads((exported / "parity_report.json").read_text())
    assert set(report) == set(FILENAMES)
    assert "| model_int8.tflite | int8 |" in (exported / "parity_report.md").read_text()


def test_float_exports_match_pytorch(exported: Path) -> None:
    for name in ("model.onnx", "model.tflite"):
        par = json.loads((exported / f"{name}.json").read_text())["parity"]
        assert par["max_abs_dp"] <= PARITY_TOL, name
        assert par["delta_auc"] == pytest.approx(0.0, abs=1e-9), name


def test_int8_is_really_int8_and_close(exported: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(exported / "model_int8.tflite"))
    int8_weights = [t for t in it.get_tensor_details() if t["dtype"] == np.int8]
    assert len(int8_weights) > 20  # the CNN's convolutions hold int8 weights, not FP16
    f32 = (exported / "model.tflite").stat().st_size
    assert (exported / "model_int8.tflite").stat().st_size < 0.9 * f32
    par = json.loads((exported / "model_int8.tflite.json").read_text())["parity"]
    assert abs(par["delta_auc"]) <= ex.INT8_MAX_DAUC and par["max_abs_dp"] < 0.1


def test_weight_only_recipe_is_int8_weights_with_float_arithmetic(
    checkpoint: Path, exported: Path, tmp_path: Path
) -> None:
    """The fallback recipe: every convolution's and matrix product's weights in int8, no int8
    activations (float arithmetic), a smaller file (half on the bundled network), close to
    PyTorch."""
    from ai_edge_litert.interpreter import Interpreter

    from liveness.export_tflite import write_tflite

    model, cfg = ex.model_from_checkpoint(checkpoint)
    out = tmp_path / "w.tflite"
    batch = Batch.random(cfg, n=4)
    write_tflite(model, cfg, out, batch, recipe="weight_only")
    it = Interpreter(str(out))
    details = it.get_tensor_details()
    assert sum(t["dtype"] == np.int8 for t in details) > 20
    int8 = {t["index"] for t in details if t["dtype"] == np.int8}
    for op in it._get_ops_details():  # int8 tensors only feed DEQUANTIZE: float arithmetic
        assert op["op_name"] == "DEQUANTIZE" or not int8 & set(op["inputs"]), op["op_name"]
    assert out.stat().st_size < 0.8 * (exported / "model.tflite").stat().st_size
    got = ex.backend_probs(TfliteBackend(out), batch)
    assert np.abs(got - ex.reference_probs(model, batch)).max() < 0.05
    with pytest.raises(ValueError, match="unknown INT8 recipe"):
        write_tflite(model, cfg, tmp_path / "x.tflite", batch, recipe="fp4")


@pytest.mark.parametrize("name", ["model.onnx", "model.tflite", "model_int8.tflite"])
def test_predictor_backends_agree_with_pytorch(
    name: str, exported: Path, checkpoint: Path, tiny_dataset: Path
) -> None:
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:6]
    ref = list(predict_paths(load_predictor(checkpoint, check_face=False), clips, batch_size=3))
    pred = load_predictor(exported / name, check_face=False)
    assert pred.backend.name == ("onnx" if name.endswith(".onnx") else "tflite")
    got = list(predict_paths(pred, clips, batch_size=4))
    tol = 0.1 if "int8" in name else 1e-5
    for x, y in zip(ref, got, strict=True):
        assert abs(x["score"] - y["score"]) <= tol and x["modalities"] == y["modalities"]


def test_parity_failure_is_loud(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ex, "PARITY_TOL", -1.0)  # no export can meet a negative tolerance
    with pytest.raises(ParityError, match="max"):
        export_onnx(checkpoint, tmp_path / "m.onnx")
    with pytest.raises(ParityError):
        export_all(checkpoint, tmp_path / "all", formats=("onnx",))
    assert "FAILED" in (tmp_path / "all" / "parity_report.md").read_text()


def test_int8_needs_real_calibration_clips(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="calibration clips"):
        ex.export_model(checkpoint, tmp_path / "q.tflite", "int8")


def test_exported_file_without_sidecar_is_a_clear_error(exported: Path, tmp_path: Path) -> None:
    for name in ("model.onnx", "model.tflite"):
        (tmp_path / name).write_bytes((exported / name).read_bytes())
        with pytest.raises(ValueError, match=rf"missing {name}\.json"):
            load_predictor(tmp_path / name, check_face=False)


def _labelled(n: int, seed: int = 0) -> tuple[np.ndarray, Batch]:
    """n labelled random clips (both classes) and a spread of PyTorch probabilities."""
    b = Batch.random(TINY, n=n, seed=seed)
    b.is_live = np.arange(n) % 2 == 0
    b.attack = np.where(b.is_live, "none", "print")
    b.names = [f"clips/{i:06d}" for i in range(n)]
    rng = np.random.default_rng(seed)
    ref = np.where(b.is_live, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.4, n))
    return ref, b


def test_int8_criteria_pass_identical_and_fail_perturbed() -> None:
    ref, b = _labelled(200)
    same = {**parity(ref, ref.copy(), b, TINY)}
    assert ex.problems("int8", same) == [] and ex.problems("tflite", same) == []
    # Three live clips (1.5 %) fall from > 0.75 to 0.45, still above every attack: AUC does not
    # move at all, yet their verdicts flip and the p99 |Δp| is 0.3.
    idx = np.flatnonzero(b.is_live & (ref > 0.75))[:3]
    got = ref.copy()
    got[idx] = 0.45
    bad = parity(ref, got, b, TINY)
    assert bad["delta_auc"] == 0.0 and bad["verdict_flips"] == 3
    found = " ".join(ex.problems("int8", bad))
    assert "p99 |Δp|" in found and "verdicts agree" in found and b.names[idx[1]] in found
    # One clip in 200 off is tolerated by p99 and by 99 % agreement; a uniform shift is not.
    one = ref.copy()
    one[0] = 0.01
    assert not any("p99" in p for p in ex.problems("int8", parity(ref, one, b, TINY)))
    shifted = np.clip(ref + 0.06, 0, 1)
    assert any("p99" in p for p in ex.problems("int8", parity(ref, shifted, b, TINY)))
    assert ex.problems("int8", parity(ref[:4], ref[:4], Batch.random(TINY, n=4), TINY))


@pytest.mark.parametrize("bad", [(), ("static",), ("static", "weight_only")])
def test_int8_export_is_kept_only_when_it_agrees(
    bad: tuple[str, ...],
    exported: Path,
    checkpoint: Path,
    tiny_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`liveness export --parity-data A:val,A:test`: each set is checked on its own; the INT8
    recipes are tried in turn and the first whose file agrees is kept (its sidecar names it and
    what failed before it); when none agrees the file is not kept under its name and the
    command fails (exit 3). `bad`: the recipes whose file moves the probabilities by 0.2."""
    import shutil

    import liveness.export_tflite as et
    from liveness.cli import main

    written: list[str] = []

    def copy_int8(
        model: object, cfg: object, out: Path, calibration: object = None, recipe: str = ""
    ) -> None:
        assert calibration is not None  # the INT8 path was asked for, with calibration clips
        written.append(recipe)
        shutil.copyfile(exported / "model_int8.tflite", out)  # no conversion in a unit test

    def backend_probs(backend: object, batch: Batch) -> np.ndarray:
        model, _ = ex.model_from_checkpoint(checkpoint)
        shift = 0.2 if written[-1] in bad else 0.0
        return np.clip(ex.reference_probs(model, batch) - shift, 0.0, 1.0)

    monkeypatch.setattr(et, "write_tflite", copy_int8)
    monkeypatch.setattr(ex, "backend_probs", backend_probs)
    out = tmp_path / "out"
    sets = f"{tiny_dataset}:val,{tiny_dataset}:test"
    code = main(["export", "--checkpoint", str(checkpoint), "--out", str(out), "--formats", "int8",
                 "--data", str(tiny_dataset), "--parity-data", sets, "--clips", "8",
                 "--calib-clips", "4"])  # fmt: skip
    printed = capsys.readouterr().out
    report = (out / "parity_report.md").read_text()
    assert "val split of ds" in report and "test split of ds" in report and "clips/" in report
    assert "Verdict: what the product answers" in report
    assert written == list(et.INT8_RECIPES[: len(bad) + 1] if len(bad) < 2 else et.INT8_RECIPES)
    assert f"INT8 recipe of model_int8.tflite: `{written[-1]}`" in report
    assert report.count("failed first:") == len(bad)
    if len(bad) < len(et.INT8_RECIPES):
        assert code == 0 and (out / "model_int8.tflite").is_file()
        side = json.loads((out / "model_int8.tflite.json").read_text())
        assert [r["inputs"] for r in side["parity_sets"]] == ["val split of ds", "test split of ds"]
        assert side["parity"]["verdict_agreement"] == 1.0 and "verdicts agree 100.0 %" in printed
        assert side["int8_recipe"] == written[-1]
        assert [t["recipe"] for t in side["int8_recipes_failed"]] == list(bad)
    else:
        assert code == 3 and "PARITY FAILED" in printed and "p99 |Δp|" in printed
        assert not (out / "model_int8.tflite").exists()
        assert (out / "model_int8.tflite.failed").is_file() and "FAILED" in report
        failed = json.loads((out / "model_int8.tflite.failed.json").read_text())
        assert failed["parity"]["p99_abs_dp"] > ex.INT8_MAX_P99_DP
        assert [t["recipe"] for t in failed["int8_recipes_failed"]] == list(et.INT8_RECIPES)


def test_parity_sets_parse_dir_and_split(tiny_dataset: Path) -> None:
    sets = ex.parity_sets(f"{tiny_dataset}, {tiny_dataset}:all", "test", TINY, 5)
    assert [b.source for b in sets] == ["test split of ds", "all split of ds"]
    assert len(sets[0]) == 4 and len(sets[1]) == 5  # the tiny test split has 4 clips
    assert all(b.names and b.motion is not None and b.is_live is not None for b in sets)
