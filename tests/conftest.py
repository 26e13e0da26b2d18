"""Shared fixtures: a tiny generated dataset and a tiny model configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveness.config import LivenessConfig, ModelConfig, PreprocessConfig, SynthConfig
from liveness.synth.generate import generate_dataset

TINY = LivenessConfig(
    PreprocessConfig(num_frames=4, image_size=32, imu_per_frame=2),
    ModelConfig(width_mult=0.25, video_dim=16, imu_dim=8, hidden=16),
)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 small clips, 2 per subject: 12 subjects, so every split has some."""
    root = tmp_path_factory.mktemp("tiny") / "ds"
    cfg = SynthConfig(width=48, height=64, clips_per_subject=2)
    generate_dataset(root, 24, seed=7, workers=1, cfg=cfg, progress=False)
    return root
