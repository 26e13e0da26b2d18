"""Contact sheets: first, middle and last frame of several clips per class, one PNG per class."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from liveness.clip import read_clip
from liveness.manifest import read_manifest


def contact_sheet(
    dataset: str | os.PathLike[str], attack: str, rows: int = 6, cell: int = 96
) -> Image.Image | None:
    """One sheet for `attack` (none|print|replay|injection); None if no clip has it."""
    root = Path(dataset)
    picked = [r for r in read_manifest(root / "manifest.csv") if r.attack == attack][:rows]
    if not picked:
        return None
    label_h = 14
    sheet = Image.new("RGB", (3 * cell, len(picked) * (cell * 4 // 3 + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for r in picked:
        clip = read_clip(root / r.clip)
        n = clip.frames.shape[0]
        imu = "imu" if clip.has_imu else "no imu"
        draw.text((2, y + 1), f"{r.clip}  {r.attack}/{r.variant}  {imu}  {n} fr", fill="black")
        for j, k in enumerate((0, n // 2, n - 1)):
            im = Image.fromarray(clip.frames[k]).resize(
                (cell, cell * 4 // 3), Image.Resampling.BILINEAR
            )
            sheet.paste(im, (j * cell, y + label_h))
        y += cell * 4 // 3 + label_h
    return sheet


def write_contact_sheets(
    dataset: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None, rows: int = 6
) -> list[Path]:
    """Write preview/<attack>.png for every class present; returns the paths written."""
    out = Path(out_dir) if out_dir is not None else Path(dataset) / "preview"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for attack in ("none", "print", "replay", "injection"):
        sheet = contact_sheet(dataset, attack, rows)
        if sheet is not None:
            name = "live" if attack == "none" else attack
            path = out / f"{name}.png"
            sheet.save(path, optimize=True)
            written.append(path)
    return written


def mosaic(paths: list[Path], out: str | os.PathLike[str]) -> Path:
    """Put several sheets side by side (for the docs)."""
    ims = [Image.open(p) for p in paths]
    h = max(i.height for i in ims)
    canvas = Image.new("RGB", (sum(i.width for i in ims) + 8 * (len(ims) - 1), h), "white")
    x = 0
    for im in ims:
        canvas.paste(im, (x, 0))
        x += im.width + 8
    canvas.save(out, optimize=True)
    return Path(out)


def frames_strip(frames: np.ndarray, n: int = 6) -> Image.Image:
    """n evenly spaced frames of a (T, H, W, 3) clip side by side."""
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return Image.fromarray(np.concatenate([frames[i] for i in idx], axis=1))
