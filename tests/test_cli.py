"""Tests of the `liveness` command line (liveness.cli): synth, preview, baseline, errors."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from liveness.cli import main
from liveness.clip import read_clip
from liveness.manifest import read_manifest

SYNTH = ["--clips", "6", "--seed", "1", "--width", "48", "--height", "64"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cli") / "ds"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["synth", "--out", str(out), *SYNTH, "--preview"]) == 0
    return out, buf.getvalue()


def test_synth_writes_dataset_and_previews(dataset: tuple[Path, str]) -> None:
    root, stdout = dataset
    rows = read_manifest(root)
    assert len(rows) == 6
    assert f"wrote 6 clips to {root}" in stdout
    for r in rows:
        clip = read_clip(root / r.clip)
        assert clip.frames.shape[1:3] == (64, 48)
    attacks = {r.attack for r in rows}
    names = {"live" if a == "none" else a for a in attacks}
    pngs = sorted((root / "preview").glob("*.png"))
    assert {p.stem for p in pngs} == names
    assert stdout.count("contact sheet:") == len(names)
    for p in pngs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.width > 0 and im.height > 0


def test_preview_to_other_directory(
    dataset: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = dataset
    out = tmp_path / "sheets"
    assert main(["preview", str(root), "--out", str(out), "--rows", "2"]) == 0
    printed = capsys.readouterr().out
    pngs = sorted(out.glob("*.png"))
    assert pngs and printed.count("contact sheet:") == len(pngs)
    assert {p.name for p in pngs} == {p.name for p in (root / "preview").glob("*.png")}


def test_baseline_prints_table_and_json(
    dataset: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = dataset
    js = tmp_path / "report.json"
    assert main(["baseline", str(root), "--split", "all", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    assert "| species | n (with IMU) | AUC motion | AUC planarity | refused |" in out
    report = json.loads(js.read_text())
    assert report["n_clips"] == 6 and report["split"] == "all"
    rows = read_manifest(root)
    species = sorted({r.attack for r in rows} - {"none"})
    assert sorted(report["auc"]) == species
    for sp in species:
        n = sum(r.attack == sp for r in rows)
        n_imu = sum(r.attack == sp and r.has_imu for r in rows)
        assert f"| {sp} | {n} ({n_imu}) |" in out


def _assert_clean_error(capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "error:" in err
    for n in needles:
        assert n in err, err


def test_baseline_without_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["baseline", str(tmp_path)]) == 2
    _assert_clean_error(capsys, "liveness baseline", "manifest.csv")


def test_preview_without_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", str(tmp_path / "nowhere")]) == 2
    _assert_clean_error(capsys, "liveness preview", "manifest.csv")


def test_baseline_empty_split_exits_2(
    dataset: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = dataset
    assert main(["baseline", str(root), "--split", "nosuch"]) == 2
    _assert_clean_error(capsys, "no clips in split 'nosuch'")


def test_baseline_broken_clip_exits_2(
    dataset: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = dataset
    copy = tmp_path / "ds"
    shutil.copytree(root, copy)
    victim = read_manifest(copy)[0].clip
    (copy / victim / "frames.csv").unlink()
    assert main(["baseline", str(copy), "--split", "all"]) == 2
    _assert_clean_error(capsys, "frames.csv", "missing")


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["synth", "--out", "x"])  # --clips is required
    assert e.value.code == 2
    assert "--clips" in capsys.readouterr().err


def test_missing_extra_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_litert(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("litert_torch"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    from liveness.predict import BUNDLED_CHECKPOINT

    code = main(["export", "--checkpoint", str(BUNDLED_CHECKPOINT), "--out", str(tmp_path),
                 "--formats", "tflite"])  # fmt: skip
    assert code == 2
    assert "pip install 'liveness[export]'" in capsys.readouterr().err


def test_motion_reports_what_predict_measured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`liveness motion --json` uses the model's motion settings and the clip's own field of
    view, as `liveness predict` does: debugging a refused capture shows the numbers it got.
    Checked on a capture whose meta.json states a lens far from the 65° prior, and against a
    model whose motion settings differ from the defaults."""
    from liveness.calibrate import write_config
    from liveness.config import SynthConfig
    from liveness.predict import BUNDLED, load_predictor
    from liveness.synth.generate import generate_dataset

    generate_dataset(tmp_path / "d", 4, seed=5, cfg=SynthConfig(width=120, height=160),
                     progress=False)  # fmt: skip
    clips = [tmp_path / "d" / r.clip for r in read_manifest(tmp_path / "d" / "manifest.csv")]
    clip = next(c for c in clips if read_clip(c).imu is not None)
    meta = json.loads((clip / "meta.json").read_text())
    meta["hfov_deg"] = 78.0
    (clip / "meta.json").write_text(json.dumps(meta))
    model = tmp_path / "m.tflite"
    shutil.copy(BUNDLED, model)
    shutil.copy(str(BUNDLED) + ".json", str(model) + ".json")
    cfg = load_predictor(model, check_face=False).config
    motion = type(cfg.motion)(**{**cfg.motion.__dict__, "offset_ms": 60.0, "lead_weight": 1.0})
    write_config(model, type(cfg)(**{**cfg.__dict__, "motion": motion}))
    assert main(["predict", "--model", str(model), "--json", "--no-face-check", str(clip)]) == 0
    predicted = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["motion"]
    assert main(["motion", "--model", str(model), "--json", str(clip)]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {k: got[k] for k in predicted} == predicted
    # In words, the numbers the gates read beside the agreement's own (bundled: both gates).
    assert main(["motion", "--model", str(model), str(clip)]) == 0
    text = capsys.readouterr().out
    assert got["scene_misfit"] is not None and f"scene misfit {got['scene_misfit']:.2f}" in text
    assert "the gate refuses above" in text
    # ... which the defaults and the 65° prior do not give (what the command used before).
    from liveness.motion import agreement

    c = read_clip(clip)
    prior = agreement(c.frames, c.frame_t_ms, c.imu, type(cfg.motion)())[0].to_dict()
    assert abs(prior["gain"] - got["gain"]) > 0.05, (prior["gain"], got["gain"])
