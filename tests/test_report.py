"""Tests of the evaluation report writer (liveness.report): files, JSON, Markdown and PNGs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from liveness.metrics import summarize
from liveness.report import json_safe, probit, write_report


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    attack = np.array(["none"] * 40 + ["print"] * 20 + ["replay"] * 20 + ["injection"] * 10)
    live = attack == "none"
    scores = np.clip(np.where(live, rng.normal(0.75, 0.15, 90), rng.normal(0.3, 0.2, 90)), 0, 1)
    # Injection clips come without IMU, so the without-IMU subset has no live: NaN metrics.
    has_imu = attack != "injection"
    return scores, live, attack, has_imu


def test_write_report_writes_everything(tmp_path: Path) -> None:
    s, lv, a, imu = _data()
    summary = summarize(s, lv, a, 0.5, has_imu=imu)
    out = tmp_path / "eval"
    paths = write_report(out, summary, s, lv, a, title="Unit test")
    names = {"report.json", "report.md", "roc.png", "det.png", "hist.png"}
    assert {p.name for p in paths} == names
    assert all(p.parent == out and p.stat().st_size > 0 for p in paths)

    loaded = json.loads((out / "report.json").read_text())
    assert loaded == json_safe(summary)
    assert loaded["apcer_per_species"] == pytest.approx(summary["apcer_per_species"])
    assert loaded["without_imu"]["bpcer"] is None  # NaN became null
    assert math.isnan(summary["without_imu"]["bpcer"])

    md = (out / "report.md").read_text()
    assert md.startswith("# Unit test")
    for sp in ("print", "replay", "injection"):
        n = summary["n_per_species"][sp]
        lo, hi = summary["apcer_ci95_per_species"][sp]
        cell = (
            f"{100 * summary['apcer_per_species'][sp]:.2f}% [{100 * lo:.1f}–{100 * hi:.1f}%] ({n})"
        )
        assert f"| {sp} | APCER | {cell} |" in md
    assert "| live (bona fide) | BPCER |" in md
    assert "With IMU" in md and "Without IMU" in md
    for label in ("ACER", "AUC", "EER", "BPCER @ APCER ≤ 1%", "BPCER @ APCER ≤ 5%"):
        assert label in md
    assert "n/a" in md  # undefined metrics of the without-IMU subset

    for name in ("roc.png", "det.png", "hist.png"):
        with Image.open(out / name) as im:
            assert im.format == "PNG"
            assert im.size[0] > 100 and im.size[1] > 100
            im.verify()


def test_report_without_imu_split(tmp_path: Path) -> None:
    s, lv, a, _ = _data()
    write_report(tmp_path, summarize(s, lv, a, 0.6), s, lv, a, title="No split")
    md = (tmp_path / "report.md").read_text()
    assert "With IMU" not in md and "| Metric | All |" in md


def test_probit_and_json_safe() -> None:
    assert probit(0.5) == pytest.approx(0.0)
    assert probit([0.975])[0] == pytest.approx(1.959964, abs=1e-6)
    assert probit(0.0) == pytest.approx(probit(1e-4)) == pytest.approx(-3.719016, abs=1e-6)
    assert json_safe({"a": np.float64("nan"), "b": [np.int64(3), float("inf")]}) == {
        "a": None,
        "b": [3, None],
    }
