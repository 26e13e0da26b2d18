"""The generator's presets: training's wide ranges, shifted outside them, mixed clip sizes."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from liveness.cli import main
from liveness.clip import read_clip
from liveness.config import PreprocessConfig, SynthConfig
from liveness.dataset import ClipDataset
from liveness.manifest import read_manifest
from liveness.synth.atlas import sample_atlas
from liveness.synth.clipgen import render_clip
from liveness.synth.generate import generate_dataset
from liveness.synth.presets import (
    PRESETS,
    SHIFTED,
    SHIFTED_AXES,
    TRAINING,
    overlapping_axes,
    preset,
    ranges,
)
from liveness.synth.scene import WALL_STYLES
from liveness.synth.settings import ClipSettings, draw, intervals, settings_rng
from liveness.synth.spec import ClipSpec

OTHER = {"training": SHIFTED, "shifted": TRAINING}


def inside(x: float, r: tuple[float, ...]) -> bool:
    return any(lo <= x <= hi for lo, hi in intervals(r))


def test_presets_never_overlap() -> None:
    assert overlapping_axes(TRAINING, SHIFTED) == []
    assert overlapping_axes(SHIFTED, TRAINING) == []
    # The check has teeth: a preset overlaps itself on every axis.
    assert overlapping_axes(TRAINING, TRAINING) == list(SHIFTED_AXES)
    assert overlapping_axes(TRAINING, dataclasses.replace(SHIFTED, fps=(25.0, 28.0))) == ["fps"]
    assert preset("shifted") is SHIFTED and set(PRESETS) == {"training", "shifted"}
    assert preset("base") == SynthConfig()  # the first generator's settings
    with pytest.raises(ValueError, match="unknown preset"):
        preset("wide")


def test_training_ranges_are_the_documented_ones() -> None:
    r = ranges(TRAINING)
    assert r["sizes"][0] == [96, 128] and r["sizes"][-1] == [240, 320]
    assert all(w * 4 == h * 3 for w, h in r["sizes"])  # portrait 3:4
    assert r["size_weights"] == sorted(r["size_weights"], reverse=True)  # small sizes favoured
    assert r["fps"] == [[10.0, 25.0]] and r["imu_hz"] == [[50.0, 150.0]]
    assert r["hfov_deg"] == [[55.0, 72.0]] and r["jpeg_quality"] == [50, 95]
    assert r["imu_offset_ms"] == [0.0, 20.0]
    s = ranges(SHIFTED)
    assert s["sizes"] == [[360, 480], [480, 640]] and s["fps"] == [[26.0, 30.0]]
    assert s["hfov_deg"] == [[50.0, 54.0], [74.0, 80.0]] and s["imu_hz"] == [[160.0, 200.0]]
    # The base configuration is the generator's first one, one fixed size.
    assert ranges(SynthConfig())["sizes"] == [[96, 128]]


@pytest.mark.parametrize("name", ["training", "shifted"])
def test_every_drawn_setting_is_in_its_preset_and_outside_the_other(name: str) -> None:
    cfg, other = PRESETS[name], OTHER[name]
    other_px = ranges(other)["pixels"][0]
    sizes = Counter()
    for i in range(300):
        cs = ClipSettings.sample(cfg, settings_rng(17, i))
        assert (cs.width, cs.height) in cfg.sizes
        assert not other_px[0] <= cs.width * cs.height <= other_px[1]
        sizes[(cs.width, cs.height)] += 1
    assert set(sizes) == set(cfg.sizes)  # every size is drawn
    rng = np.random.default_rng(0)
    for axis in ("fps", "imu_hz", "hfov_deg", "light_warmth"):
        xs = [draw(rng, getattr(cfg, axis)) for _ in range(500)]
        assert all(inside(x, getattr(cfg, axis)) for x in xs), axis
        assert not any(inside(x, getattr(other, axis)) for x in xs), axis
    walls = {n: set(c.wall_styles or [c.wall_style]) for n, c in ((name, cfg), ("other", other))}
    assert not walls[name] & walls["other"]


def test_training_sizes_favour_small_ones() -> None:
    n = Counter(ClipSettings.sample(TRAINING, settings_rng(1, i)).width for i in range(2000))
    assert n[96] > n[120] > n[144] and n[96] > 5 * n[240]
    mean_px = sum(w * (w * 4 // 3) * k for w, k in n.items()) / 2000
    assert 1.5 < mean_px / (96 * 128) < 2.6  # documented: ~2× the pixels of 96×128


@pytest.mark.parametrize("name", ["training", "shifted"])
def test_rendered_clips_record_settings_in_range(name: str) -> None:
    # Small frames (the preset's other ranges kept) to stay fast; sizes are tested above.
    cfg = dataclasses.replace(PRESETS[name], width=40, height=56)
    other = OTHER[name]
    atlas = sample_atlas(np.random.default_rng(0))
    for i in range(3):
        spec = ClipSpec(i, 0, "none", "normal", True, "left")
        m = render_clip(spec, atlas, cfg, 21).meta
        assert m["preset"] == name
        for axis in ("fps", "imu_hz", "hfov_deg"):
            assert inside(m[axis], getattr(cfg, axis)), (axis, m[axis])
            assert not inside(m[axis], getattr(other, axis)), (axis, m[axis])
        assert cfg.jpeg_quality[0] <= m["jpeg_quality"] <= cfg.jpeg_quality[1]


def test_tiled_walls_differ_from_painted_ones() -> None:
    from liveness.synth.scene import wall_texture

    def periodic_share(tex: np.ndarray) -> float:
        """Share of the row-mean profile's variation in its strongest non-slow frequency: the
        horizontal grout lines of tiles or bricks repeat at one period."""
        prof = tex.mean(axis=(1, 2))
        power = np.abs(np.fft.rfft(prof - prof.mean())) ** 2
        return float(power[3:].max() / power[1:].sum())

    tiled, painted = [], []
    for seed in range(6):
        tex = wall_texture(np.random.default_rng(seed), size=128, style="tiled")
        assert tex.shape == (128, 128, 3) and tex.dtype == np.float32
        assert tex.min() >= 0.0 and tex.max() <= 1.0
        tiled.append(periodic_share(tex))
        painted.append(periodic_share(wall_texture(np.random.default_rng(seed), size=128)))
    assert min(tiled) > 0.2 and np.mean(tiled) > 2 * np.mean(painted)
    with pytest.raises(ValueError, match="wall style"):
        wall_texture(np.random.default_rng(0), style="marble")


@pytest.mark.parametrize("style", WALL_STYLES)
def test_every_wall_style_is_a_valid_texture_and_its_own(style: str) -> None:
    from liveness.synth.scene import wall_texture

    texs = [wall_texture(np.random.default_rng(s), size=96, style=style) for s in range(4)]
    for tex in texs:
        assert tex.shape == (96, 96, 3) and tex.dtype == np.float32
        assert tex.min() >= 0.0 and tex.max() <= 1.0 and tex.std() > 0.01  # not blank
    # Different seeds, different walls; the same seed, the same wall.
    assert not np.allclose(texs[0], texs[1])
    again = wall_texture(np.random.default_rng(0), size=96, style=style)
    assert np.array_equal(again, texs[0])


def test_training_rooms_mix_styles_and_shifted_keeps_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    from liveness.synth import capture
    from liveness.synth.capture import room
    from liveness.synth.scene import Lighting, wall_texture

    seen: list[str] = []

    def spy(rng: np.random.Generator, size: int = 256, style: str = "painted") -> np.ndarray:
        seen.append(style)
        return wall_texture(rng, 32, style)

    monkeypatch.setattr(capture, "wall_texture", spy)
    light = Lighting.sample(np.random.default_rng(0))
    for s in range(60):
        room(np.random.default_rng(s), light, TRAINING)
    assert set(seen) == set(TRAINING.wall_styles)  # each family drawn, about equally
    assert min(Counter(seen).values()) >= 10
    room(np.random.default_rng(0), light, SHIFTED)
    assert seen[-1] == "tiled"
    assert set(TRAINING.wall_styles) <= set(WALL_STYLES) and len(TRAINING.wall_styles) >= 3
    assert SHIFTED.wall_styles == () and SHIFTED.wall_style == "tiled"
    assert "tiled" not in TRAINING.wall_styles
    # A config without wall_styles draws the room exactly as before they existed.
    base = SynthConfig()
    a = room(np.random.default_rng(5), light, base)
    rng = np.random.default_rng(5)
    assert a.distance == rng.uniform(0.6, 3.0)


def test_mirrored_wall_repeats_instead_of_smearing() -> None:
    from liveness.synth.scene import Lighting, Wall

    tex = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    light = Lighting(np.array([1.0, 0.0, 0.0]), np.ones(3), np.zeros(3))
    # Rays from 1 m in front of a wall 1 m behind the origin, hitting it 2.5-3.5 m to the side
    # (beyond the texture's 4 m), all at one height.
    side = np.linspace(2.5, 3.5, 50)
    dirs = np.stack([-2.0 * np.ones(50), side, np.zeros(50)], -1)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    origin = np.array([1.0, 0.0, 0.0])
    _, smeared = Wall(1.0, tex, light).trace(origin, dirs, 0.0)
    _, mirrored = Wall(1.0, tex, light, mirror=True).trace(origin, dirs, 0.0)
    assert len(np.unique(smeared, axis=0)) == 1  # one edge texel, stretched
    assert len(np.unique(mirrored, axis=0)) > 10  # the texture goes on, mirrored
    # At 2.5 m (0.5 m past the 2 m edge) it shows the texel 0.5 m inside the edge.
    texel = int((2.0 - 0.5) / 4.0 * 64 + 0.5 * 64) - 1
    assert np.allclose(mirrored[0], tex[32, texel], atol=1e-6) or np.allclose(
        mirrored[0], tex[32, texel + 1], atol=1e-6
    )


def test_mixed_sizes_write_and_load(tmp_path: Path) -> None:
    cfg = dataclasses.replace(
        TRAINING, sizes=((48, 64), (60, 80), (72, 96)), size_weights=(1, 1, 1), clips_per_subject=1
    )
    root = tmp_path / "ds"
    generate_dataset(root, 6, 4, cfg=cfg, progress=False)
    shapes = set()
    for row in read_manifest(root):
        clip = read_clip(root / row.clip)
        shapes.add(clip.frames.shape[1:])  # one size for all frames of a clip (one array)
    assert len(shapes) >= 2 and shapes <= {(64, 48, 3), (80, 60, 3), (96, 72, 3)}
    info = json.loads((root / "synth.json").read_text())
    assert info["preset"] == "training" and info["config"]["width"] is None
    assert info["ranges"]["sizes"] == [[48, 64], [60, 80], [72, 96]]
    assert info["presets"]["shifted"] == ranges(SHIFTED)
    pp = PreprocessConfig(num_frames=6, image_size=24, imu_per_frame=2)
    for split in ("train", "val", "test"):
        ds = ClipDataset(root, split, pp, train=False)
        for i in range(len(ds)):
            assert tuple(ds[i]["video"].shape) == (6, 3, 24, 24)


def test_training_preset_same_seed_same_bytes_any_worker_count(tmp_path: Path) -> None:
    # Mixed sizes, clock offsets and shifted injections all come from (seed, index) alone.
    from tests.test_synth_generate import digests

    cfg = dataclasses.replace(
        TRAINING, sizes=((32, 40), (40, 52)), size_weights=(1, 1), clips_per_subject=2
    )
    generate_dataset(tmp_path / "w1", 5, 8, workers=1, cfg=cfg, progress=False)
    generate_dataset(tmp_path / "w2", 5, 8, workers=2, cfg=cfg, progress=False)
    a, b = digests(tmp_path / "w1"), digests(tmp_path / "w2")
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_cli_preset_and_fixed_size(tmp_path: Path) -> None:
    out = tmp_path / "shifted"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        args = ["--clips", "2", "--seed", "3", "--preset", "shifted", "--width", "48"]
        assert main(["synth", "--out", str(out), *args]) == 0
    assert "size is no longer shifted" in buf.getvalue()
    info = json.loads((out / "synth.json").read_text())
    assert info["preset"] == "shifted"
    assert (info["config"]["width"], info["config"]["height"]) == (48, 64)  # 3:4 from one side
    assert info["config"]["fps"] == [26.0, 30.0]  # the preset's other ranges stay
    for row in read_manifest(out):
        clip = read_clip(out / row.clip)
        assert clip.frames.shape[1:3] == (64, 48) and clip.meta["preset"] == "shifted"


def test_cli_stabilised_share_and_filtered_walls(tmp_path: Path) -> None:
    out = tmp_path / "st"
    with contextlib.redirect_stdout(io.StringIO()):
        args = ["--clips", "2", "--seed", "3", "--width", "48", "--stabilised", "1"]
        assert main(["synth", "--out", str(out), *args, "--filtered-walls"]) == 0
    info = json.loads((out / "synth.json").read_text())
    assert info["config"]["stabilised_share"] == 1.0 and info["preset"] == "training"
    assert info["config"]["wall_filtered"] is True
    assert all("stabilised_sway_kept" in read_clip(out / r.clip).meta for r in read_manifest(out))
