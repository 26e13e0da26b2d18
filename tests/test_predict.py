"""Tests of the predictor and `liveness predict`: contract output, per-clip errors, batching."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
import torch

from liveness.checkpoint import save_checkpoint, slim_checkpoint
from liveness.cli import main
from liveness.clip import read_clip
from liveness.model import LivenessNet
from liveness.predict import load_predictor, predict_paths

from .conftest import TINY


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("model")
    full = save_checkpoint(
        d / "full.pt",
        {"model": LivenessNet(TINY).state_dict(), "config": TINY.to_dict(), "optimizer": {}},
    )
    return slim_checkpoint(full, d / "slim.pt", {"note": "test"})


def test_predict_json_lines_follow_the_contract(
    tiny_dataset: Path, tiny_model: Path, tmp_path: Path
) -> None:
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:5]
    broken = tmp_path / "broken"
    shutil.copytree(clips[0], broken)
    (broken / "frames.csv").write_text("index,t_ms\n0,1\n")
    args = [*clips[:2], str(broken), *clips[2:], str(tmp_path / "missing")]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        # The tiny 48x64 renders are too small for the face detector; scoring is under test.
        code = main(
            [
                "predict",
                "--json",
                "--no-face-check",
                "--model",
                str(tiny_model),
                "--batch-size",
                "2",
                *args,
            ]
        )
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert code == 1  # some clips failed
    assert [r["clip"] for r in lines] == args  # one line per clip, in order
    for r in lines:
        if r["clip"] in clips:
            assert set(r) >= {"clip", "live", "score", "threshold", "modalities"}
            assert 0.0 <= r["score"] <= 1.0 and r["live"] == (r["score"] >= r["threshold"])
            assert r["modalities"][0] == "video"
        else:
            assert "error" in r and "score" not in r and r["error"]


def test_batching_does_not_change_scores(tiny_dataset: Path, tiny_model: Path) -> None:
    pred = load_predictor(tiny_model, check_face=False)
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:6]
    one = [r["score"] for r in predict_paths(pred, clips, batch_size=1)]
    many = [r["score"] for r in predict_paths(pred, clips, batch_size=4)]
    assert one == pytest.approx(many, abs=1e-5)


def test_a_model_with_the_flatness_cue_reports_it_per_clip(
    tiny_dataset: Path, tiny_model: Path
) -> None:
    """`liveness predict` reaches the same decision as assess(): the cue in every answer (an
    added key), on the face the face check found; the contract's keys unchanged."""
    import dataclasses

    pred = load_predictor(tiny_model, check_face=False)
    fusion = dataclasses.replace(pred.config.fusion, w_relief=1.5)
    pred = dataclasses.replace(pred, config=dataclasses.replace(pred.config, fusion=fusion))
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:4]
    rows = list(predict_paths(pred, clips, batch_size=3))
    for path, r in zip(clips, rows, strict=True):
        assert set(r) >= {"clip", "live", "score", "threshold", "modalities", "relief"}
        direct, _ = pred.assess(read_clip(path))
        assert r["relief"] == direct["relief"] and r["score"] == pytest.approx(direct["score"])
    plain = next(iter(predict_paths(load_predictor(tiny_model, check_face=False), clips[:1])))
    assert "relief" not in plain


def test_face_crop_cuts_where_the_face_check_found_the_face(
    tiny_dataset: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PreprocessConfig.face_crop: `liveness predict` and assess() both hand the face check's
    box to the one preprocessing path, which then cuts about the face (not the central square),
    and reach the same score."""
    import dataclasses

    import numpy as np

    from liveness import predict
    from liveness.face import Face, FaceCheck
    from liveness.predict import Predictor

    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:3]
    w = read_clip(clips[0]).frames.shape[2]
    face = Face((0.0, 0.0, w / 4, w / 4), 0.9, np.zeros((6, 2)))  # a small face at the corner
    found = FaceCheck(True, 2, 2, 0.9, "", {0: [face], 3: [face]})
    monkeypatch.setattr(Predictor, "check_face", lambda self, clip: found)
    cuts: list[object] = []
    real = predict.preprocess_clip

    def spy(clip, cfg, shift=0.0, face_box=None):  # type: ignore[no-untyped-def]
        out = real(clip, cfg, shift, face_box)
        if cfg.face_crop:
            cuts.append((face_box, out["video"]))
        return out

    monkeypatch.setattr(predict, "preprocess_clip", spy)
    pred = load_predictor(tiny_model, check_face=False)
    cut = dataclasses.replace(pred.config.preprocess, face_crop=0.5)
    near = dataclasses.replace(pred, config=dataclasses.replace(pred.config, preprocess=cut))
    rows = list(predict_paths(near, clips, batch_size=2))
    assert [b for b, _ in cuts] == [found.box()] * len(clips)
    central = real(read_clip(clips[0]), pred.config.preprocess)["video"]
    assert not np.array_equal(cuts[0][1], central)
    for path, r in zip(clips, rows, strict=True):
        assert r["score"] == pytest.approx(near.assess(read_clip(path))[0]["score"])
    assert len(cuts) == 2 * len(clips)  # assess() cut about the face too


def test_the_cue_on_the_motion_checks_tracks_decides_alike_everywhere(
    tiny_dataset: Path, tiny_model: Path
) -> None:
    """MotionConfig.relief_source "motion": the cue is read off the agreement's tracks, so
    `liveness predict`, assess() with the motion check on the side thread and assess() one step
    after the other measure the same cue and reach the same verdict; a gate above every
    measured cue refuses each capture with sensors whose cue was measured as face_flat, and a
    capture without sensors has no cue."""
    import dataclasses

    pred = load_predictor(tiny_model, check_face=False)
    motion = dataclasses.replace(pred.config.motion, relief_source="motion")
    fusion = dataclasses.replace(pred.config.fusion, flat_gate_pct=100.0)
    pred = dataclasses.replace(
        pred, config=dataclasses.replace(pred.config, motion=motion, fusion=fusion)
    )
    serial = dataclasses.replace(pred, overlap=False)
    clips = sorted(str(p) for p in (tiny_dataset / "clips").iterdir())[:6]
    rows = list(predict_paths(pred, clips, batch_size=4))
    flat = 0
    for path, r in zip(clips, rows, strict=True):
        clip = read_clip(path)
        (a, ma), (b, _) = pred.assess(clip), serial.assess(clip)
        assert a == b and r["score"] == pytest.approx(a["score"]) and r["live"] == a["live"]
        cue = pred.relief(clip, None, ma)
        if clip.imu is None:
            assert cue is None and a.get("rejected") != "face_flat"
        elif cue is not None and cue.measured and a.get("rejected") in (None, "face_flat"):
            assert a["rejected"] == "face_flat" and not a["live"]
            flat += 1
    assert flat >= 1


def test_motion_on_a_side_thread_gives_the_same_verdict(
    tiny_dataset: Path, tiny_model: Path
) -> None:
    """assess() runs the motion check beside the network (Predictor.overlap): the same verdict
    and agreement as one after the other, and the timing says how long the verdict waited."""
    import dataclasses

    from liveness.manifest import read_manifest

    pred = load_predictor(tiny_model, check_face=False)
    serial = dataclasses.replace(pred, overlap=False)
    rows = [r for r in read_manifest(tiny_dataset) if r.has_imu][:3]
    assert rows
    for row in rows:
        clip = read_clip(tiny_dataset / row.clip)
        timing: dict[str, float] = {}
        (a, ma), (b, mb) = pred.assess(clip, timing), serial.assess(clip)
        assert ma is not None and mb is not None and ma.to_dict() == mb.to_dict()
        assert a == b and a["motion"]["status"] == ma.status
        assert set(timing) == {"model", "motion", "wait"} and min(timing.values()) >= 0
    assert pred._side is not None and serial._side is None


def test_modalities_follow_sensor_availability(tiny_dataset: Path, tiny_model: Path) -> None:
    from liveness.manifest import read_manifest

    pred = load_predictor(tiny_model, check_face=False)
    rows = read_manifest(tiny_dataset)
    for row, r in zip(
        rows, predict_paths(pred, [str(tiny_dataset / x.clip) for x in rows]), strict=True
    ):
        assert ("imu" in r["modalities"]) == row.has_imu


def test_unknown_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.bin"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="unknown model type"):
        load_predictor(bad)
    junk = tmp_path / "m.pt"
    junk.write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_predictor(junk)


def test_capture_without_a_face_is_a_refusal_not_an_error(
    tiny_dataset: Path, tiny_model: Path, tmp_path: Path
) -> None:
    import numpy as np

    from liveness.clip import read_clip, write_clip

    clip = read_clip(sorted((tiny_dataset / "clips").iterdir())[0])
    clip.frames = np.full_like(clip.frames, 128)  # a covered lens: grey frames, valid clip
    write_clip(tmp_path / "grey", clip)
    (r,) = predict_paths(load_predictor(tiny_model), [str(tmp_path / "grey")])
    # A readable capture without a face is a verdict (refused, score 0), not an error: the
    # contract keeps "error" for clips that cannot be read, and the exit status with it.
    assert r["rejected"] == "no_face" and r["live"] is False and "error" not in r
    assert r["score"] == 0.0 and r["reasons"][0]["code"] == "no_face"
    assert "no face" in r["reasons"][0]["message"]
    assert r["modalities"] and r["threshold"] == pytest.approx(load_predictor(tiny_model).threshold)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["predict", "--model", str(tiny_model), str(tmp_path / "grey")]) == 0
    assert "SPOOF score 0.0000" in buf.getvalue() and "no face:" in buf.getvalue()


def test_bundled_model_is_the_default_and_matches_its_card(tmp_path: Path) -> None:
    import re

    from liveness.backends import sha256_file
    from liveness.config import SynthConfig
    from liveness.predict import BUNDLED, BUNDLED_CHECKPOINT, MODELS
    from liveness.synth.generate import generate_dataset

    card = (Path(__file__).parents[1] / "docs" / "MODEL_CARD.md").read_text()
    for f in (BUNDLED, BUNDLED_CHECKPOINT, MODELS / "default_int8.tflite"):
        assert re.search(rf"`{sha256_file(f)}`", card), f"MODEL_CARD.md sha256 of {f} is stale"
        if f.suffix == ".tflite":  # the sidecar names this very file and the checkpoint
            side = json.loads(f.with_name(f.name + ".json").read_text())
            assert side["sha256"] == sha256_file(f)
            assert side["source_sha256"] == sha256_file(BUNDLED_CHECKPOINT)
    generate_dataset(tmp_path, 3, seed=11, cfg=SynthConfig(), progress=False)
    clips = sorted(str(p) for p in (tmp_path / "clips").iterdir())
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["predict", "--json", *clips])
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    pred = load_predictor()
    assert pred.backend.name == "tflite"  # serving needs no PyTorch
    # calibrated (rule, fusion and gate stored), not the 0.5 default and the identity fusion
    assert pred.config.threshold_rule != "uncalibrated" and pred.config.threshold != 0.5
    assert "calibration split" in pred.config.threshold_rule
    assert pred.config.fusion.rule == "logistic regression on the calibration split"
    assert pred.config.fusion.motion_gate
    assert len(lines) == 3
    for r in lines:
        assert "score" in r or r.get("rejected") == "no_face"
        if "score" in r:
            assert r["threshold"] == pytest.approx(pred.threshold, abs=1e-6)


def test_bundled_tflite_computes_what_the_checkpoint_computes(tmp_path: Path) -> None:
    from liveness.config import SynthConfig
    from liveness.predict import BUNDLED, BUNDLED_CHECKPOINT
    from liveness.synth.generate import generate_dataset

    generate_dataset(tmp_path, 4, seed=5, cfg=SynthConfig(), progress=False)
    clips = sorted(str(p) for p in (tmp_path / "clips").iterdir())
    a = list(predict_paths(load_predictor(BUNDLED, check_face=False), clips))
    b = list(predict_paths(load_predictor(BUNDLED_CHECKPOINT, check_face=False), clips))
    for x, y in zip(a, b, strict=True):
        assert abs(x["score"] - y["score"]) <= 1e-5 and x["live"] == y["live"]


def test_serving_needs_no_pytorch(tmp_path: Path) -> None:
    """The bundled model, the face check and the service run with torch made unimportable."""
    import subprocess
    import sys

    from liveness.config import SynthConfig
    from liveness.synth.generate import generate_dataset

    generate_dataset(tmp_path / "ds", 1, seed=3, cfg=SynthConfig(), progress=False)
    (clip,) = (tmp_path / "ds" / "clips").iterdir()
    code = f"""
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
from liveness.predict import load_predictor, predict_paths
from liveness.server import ServerSettings, create_app
p = load_predictor()
(r,) = predict_paths(p, [{str(clip)!r}])
app = create_app(ServerSettings(sessions_url="sqlite:///{tmp_path}/s.db"), p)
assert app.test_client().get("/readyz").status_code == 200
assert "torch" not in sys.modules and ("score" in r or r.get("rejected") == "no_face"), r
print("ok", p.backend.name)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok tflite")
