"""A contact sheet of rendered clips: one row per (attack, variant), first / middle / last frame."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

ORDER = ["none", "print", "replay", "injection"]


def row(clip: Path, height: int) -> np.ndarray:
    """The clip's first, middle and last frames side by side (BGR, `height` px tall), labelled."""
    frames = sorted((clip / "frames").iterdir())
    picked = []
    for i in (0, len(frames) // 2, len(frames) - 1):
        im = cv2.imread(str(frames[i]))
        if im is None:
            raise SystemExit(f"{frames[i]}: not an image OpenCV can read")
        picked.append(im)
    scaled = [cv2.resize(f, (round(f.shape[1] * height / f.shape[0]), height)) for f in picked]
    out = np.concatenate(scaled, 1)
    meta = json.loads((clip / "meta.json").read_text())
    label = f"{meta['attack']} / {meta['variant']}  ({clip.name})"
    cv2.rectangle(out, (0, 0), (out.shape[1], 22), (0, 0, 0), -1)
    cv2.putText(out, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir", type=Path, help="a directory of rendered clips")
    ap.add_argument("out", type=Path, help="image to write (.jpg or .png)")
    ap.add_argument("--height", type=int, default=160, help="row height, px")
    a = ap.parse_args()
    first: dict[tuple[str, str], Path] = {}
    for clip in sorted(p for p in a.dir.iterdir() if (p / "meta.json").exists()):
        m = json.loads((clip / "meta.json").read_text())
        first.setdefault((m["attack"], m["variant"]), clip)
    keys = sorted(first, key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 9, k[1]))
    rows = [row(first[k], a.height) for k in keys]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    # Two columns of rows keep the sheet about as wide as it is tall.
    half = (len(rows) + 1) // 2
    left, right = rows[:half], rows[half:]
    right += [np.zeros_like(rows[0])] * (half - len(right))
    sheet = np.concatenate([np.concatenate(left, 0), np.concatenate(right, 0)], 1)
    cv2.imwrite(str(a.out), sheet, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {a.out}: {len(rows)} rows, {sheet.shape[1]} x {sheet.shape[0]} px")


if __name__ == "__main__":
    main()
