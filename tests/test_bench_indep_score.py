"""bench/indep/score.py: each model's predict lines in a file of their own."""

from __future__ import annotations

from pathlib import Path

from tests.serverkit import load_bench


def test_a_checkpoint_and_its_export_keep_separate_lines(tmp_path: Path) -> None:
    """default.pt and default.tflite share a stem; scoring both on one draw keeps both files."""
    score = load_bench("indep/score")
    names = {score.saved_lines(tmp_path, m) for m in
             (None, "m/default.pt", "m/default.tflite", "m/default_int8.tflite")}  # fmt: skip
    assert len(names) == 4
    assert score.saved_lines(tmp_path, None) == tmp_path / "predict.jsonl"
    assert score.saved_lines(tmp_path, "m/default.pt") == tmp_path / "predict_default.pt.jsonl"
