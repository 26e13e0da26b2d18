"""The independent renderer (bench/indep/, written from ../shared/CONTRACT.md alone, without
reading liveness.synth) against the motion check: its own conventions hold, a live clip it
renders agrees at its true clock offset, and the same IMU replayed late or early does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from liveness.clip import read_clip
from liveness.config import MotionConfig
from liveness.manifest import read_manifest
from liveness.motion import agreement, compare

RENDER = Path(__file__).parents[1] / "bench" / "indep" / "render.py"


def test_the_renderers_conventions_hold() -> None:
    # Gravity at rest upright and face-up, and the image motion of +2° about device x and y,
    # measured by phase correlation on its own renders (render.py self_check asserts them).
    r = subprocess.run([sys.executable, str(RENDER), "--check"], capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-check ok" in r.stdout


@pytest.fixture(scope="module")
def live_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Clip 0 of the documented phone set (seed 1): live, a "left" arc at 15 fps, IMU at 67 Hz
    # stamped 54.7 ms late, no hfov_deg in meta.json (the check's prior, as for a browser).
    out = tmp_path_factory.mktemp("indep")
    cmd = [sys.executable, str(RENDER), "--out", str(out), "--clips", "160", "--seed", "1",
           "--profile", "phone", "--only", "0", "--workers", "1"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return out / "ix1_0000"


def test_an_independent_live_clip_agrees_and_its_replay_does_not(live_clip: Path) -> None:
    clip = read_clip(live_clip)
    assert clip.meta["label"] == "live" and clip.imu is not None
    cfg = MotionConfig()
    a, vm = agreement(clip.frames, clip.frame_t_ms, clip.imu, cfg)
    assert a.status == "agrees", a.words()
    assert abs(a.offset_ms - clip.meta["imu_offset_ms"]) <= 10  # found, not searched away
    for shift_ms in (150.0, 300.0, -200.0):
        imu = clip.imu.copy()
        imu[:, 0] += shift_ms
        late = compare(vm, imu, cfg)
        assert late.status == "disagrees" and "offset" in late.findings, (shift_ms, late.words())


def test_a_rendered_folder_reads_as_a_dataset(live_clip: Path) -> None:
    # bench/indep/manifest.py turns the renderer's folder into a dataset the project's tools read.
    script = RENDER.with_name("manifest.py")
    r = subprocess.run([sys.executable, str(script), str(live_clip.parent)], capture_output=True,
                       text=True, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = read_manifest(live_clip.parent / "manifest.csv")
    assert [(x.clip, x.attack, x.variant, x.split, x.has_imu) for x in rows] == [
        ("ix1_0000", "none", "normal", "test", True)
    ]
