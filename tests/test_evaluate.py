"""Tests of the scoring loop shared by training and `liveness evaluate` (liveness.evaluate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from liveness.dataset import ATTACKS, ClipDataset
from liveness.evaluate import evaluate, to_device
from liveness.model import LivenessNet

from .conftest import TINY


def test_evaluate_scores_every_clip_in_order(tiny_dataset: Path) -> None:
    torch.manual_seed(0)
    model = LivenessNet(TINY)
    ds = ClipDataset(tiny_dataset, "val", TINY.preprocess, train=False)
    ev = evaluate(model, DataLoader(ds, 3, shuffle=False), torch.device("cpu"), progress=False)
    assert sorted(ev) == ["attack", "has_imu", "is_live", "score"]
    assert all(len(v) == len(ds) for v in ev.values())
    assert not model.training and ((ev["score"] > 0) & (ev["score"] < 1)).all()
    np.testing.assert_array_equal(ev["is_live"], ds.labels.astype(bool))
    assert [str(a) for a in ev["attack"]] == [r.attack for r in ds.rows]
    assert set(ev["attack"].tolist()) <= set(ATTACKS)
    np.testing.assert_array_equal(ev["has_imu"], [r.has_imu for r in ds.rows])
    one = to_device({k: v[None] for k, v in ds[0].items()}, torch.device("cpu"))
    with torch.no_grad():
        p0 = torch.sigmoid(model(one["video"], one["imu"], one["imu_present"]))
    assert float(p0[0]) == pytest.approx(float(ev["score"][0]), abs=1e-6)
