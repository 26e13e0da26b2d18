"""Tests of training: a few steps, checkpoints, resume, calibration, evaluation, and DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from liveness.checkpoint import load_checkpoint, model_from_checkpoint
from liveness.evaluate import evaluate_checkpoint
from liveness.train import TrainArgs, main

from .conftest import TINY


def _args(data: Path, out: Path, **kw: object) -> TrainArgs:
    base: dict[str, object] = dict(
        data=str(data),
        out=str(out),
        config=TINY,
        epochs=2,
        batch_size=4,
        warmup_steps=2,
        progress=False,
        cache=True,
    )
    base.update(kw)
    return TrainArgs(**base)  # type: ignore[arg-type]


def test_train_resume_calibrate_evaluate(tiny_dataset: Path, tmp_path: Path) -> None:
    best = main(_args(tiny_dataset, tmp_path / "run", epochs=1))
    ck = load_checkpoint(best)
    assert ck["epoch"] == 0 and len(ck["history"]) == 1
    assert "validation split" in ck["config"]["threshold_rule"]
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0
    # Resume continues at epoch 1 from last.pt and keeps the history.
    main(_args(tiny_dataset, tmp_path / "run", epochs=2, resume=str(tmp_path / "run" / "last.pt")))
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 1 and [h["epoch"] for h in last["history"]] == [0, 1]
    # The model is rebuilt from the stored configuration, with the calibrated threshold.
    _, cfg = model_from_checkpoint(best)
    assert cfg.preprocess == TINY.preprocess and cfg.model == TINY.model
    assert 0.0 <= cfg.threshold <= 1.0
    summary = evaluate_checkpoint(best, tiny_dataset, tmp_path / "report", progress=False)
    assert summary["threshold"] == pytest.approx(cfg.threshold)
    assert (tmp_path / "report" / "report.md").exists()
    assert json.loads((tmp_path / "report" / "report.json").read_text())["split"] == "test"


def test_cli_train_options_reach_the_checkpoint(tiny_dataset: Path, tmp_path: Path) -> None:
    from liveness.cli import main as cli_main

    out = tmp_path / "cli"
    argv = ["train", "--data", str(tiny_dataset), "--out", str(out), "--epochs", "1"]
    argv += ["--max-steps", "1", "--batch-size", "2", "--frames", "4", "--image-size", "32"]
    argv += ["--width-mult", "0.25", "--threads", "1", "--camera-aug", "0.4", "--zoom", "0.1"]
    argv += ["--skip-attacks", "injection"]
    assert cli_main(argv) == 0
    targs = load_checkpoint(out / "best.pt")["train_args"]
    assert targs["camera_aug"] == 0.4 and targs["zoom"] == 0.1
    assert list(targs["skip_attacks"]) == ["injection"]


def test_training_reduces_loss(tiny_dataset: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    main(_args(tiny_dataset, tmp_path / "fit", epochs=6, lr=5e-3, imu_dropout=0.0))
    hist = load_checkpoint(tmp_path / "fit" / "last.pt")["history"]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


@pytest.mark.slow
def test_ddp_two_processes_end_with_identical_weights(tiny_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "liveness.cli",
        "train",
        "--data",
        str(tiny_dataset),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--max-steps",
        "3",
        "--batch-size",
        "2",
        "--frames",
        "4",
        "--image-size",
        "32",
        "--width-mult",
        "0.25",
        "--threads",
        "1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    d0 = (out / "weights_rank0.sha256").read_text()
    d1 = (out / "weights_rank1.sha256").read_text()
    assert d0 == d1 and len(d0.strip()) == 64
    assert (out / "best.pt").exists()
