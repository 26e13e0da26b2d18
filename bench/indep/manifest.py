"""Write manifest.csv for a folder the independent renderer made, so the project's own tools
(liveness evaluate / calibrate, bench/relief_fusion.py) can read it as a dataset.

    python bench/indep/manifest.py /tmp/indep/phone8

Each clip is its own subject in split "test"; species and variant come from its meta.json, and
has_imu from whether it has an imu.csv.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from liveness.manifest import ManifestRow, write_manifest


def rows_of(root: Path) -> list[ManifestRow]:
    rows = []
    for c in sorted(p for p in root.iterdir() if (p / "meta.json").is_file()):
        meta = json.loads((c / "meta.json").read_text())
        rows.append(
            ManifestRow(
                clip=c.name,
                label="live" if meta["attack"] == "none" else "spoof",
                attack=meta["attack"],
                subject=c.name,
                split="test",
                has_imu=(c / "imu.csv").is_file(),
                variant=meta["variant"],
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir", type=Path)
    root = ap.parse_args().dir
    rows = rows_of(root)
    print(f"{write_manifest(root / 'manifest.csv', rows)}: {len(rows)} clips")


if __name__ == "__main__":
    main()
