"""Read and write a dataset's manifest.csv: one row per clip with its label, attack and split."""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST_NAME = "manifest.csv"
COLUMNS = ("clip", "label", "attack", "subject", "split", "has_imu", "variant")
LABELS = ("live", "spoof")
SPLITS = ("train", "val", "test")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file, line and problem."""


@dataclass(frozen=True)
class ManifestRow:
    """One clip of a dataset. `clip` is a POSIX path relative to the dataset root."""

    clip: str
    label: str  # live | spoof
    attack: str  # none for live; print | replay | injection | ... for spoof
    subject: str
    split: str  # train | val | test
    has_imu: bool
    variant: str = ""  # free tag, e.g. "no_imu" or "jpeg70"

    @property
    def is_live(self) -> bool:
        return self.label == "live"

    def problem(self) -> str | None:
        """What is wrong with this row, or None if it is valid."""
        p = PurePosixPath(self.clip)
        if not self.clip or p.is_absolute() or ".." in p.parts or "\\" in self.clip:
            return f"clip {self.clip!r} must be a relative POSIX path inside the dataset"
        if self.label not in LABELS:
            return f"unknown label {self.label!r} (expected {'|'.join(LABELS)})"
        if not self.attack:
            return "attack is empty"
        if (self.label == "live") != (self.attack == "none"):
            return f"label {self.label!r} does not match attack {self.attack!r}"
        if self.split not in SPLITS:
            return f"unknown split {self.split!r} (expected {'|'.join(SPLITS)})"
        if not self.subject:
            return "subject is empty"
        return None


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """The manifest file for `path`: the file itself, or <dir>/manifest.csv for a dataset root."""
    p = Path(path)
    return p / MANIFEST_NAME if p.is_dir() else p


def write_manifest(path: str | os.PathLike[str], rows: list[ManifestRow]) -> Path:
    """Validate and write rows (in the given order) with the fixed header; returns the file."""
    out = manifest_path(path)
    seen: set[str] = set()
    for n, row in enumerate(rows, start=1):
        problem = row.problem()
        if problem is None and row.clip in seen:
            problem = f"clip {row.clip!r} listed twice"
        if problem:
            raise ManifestError(f"{out}: row {n}: {problem}")
        seen.add(row.clip)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        flag = "1" if r.has_imu else "0"
        w.writerow([r.clip, r.label, r.attack, r.subject, r.split, flag, r.variant])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8", newline="")
    os.replace(tmp, out)  # readers never see a half-written manifest
    return out


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestRow]:
    """Read a manifest (file or dataset root); columns may come in any order, extras ignored."""
    file = manifest_path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ManifestError(f"{file}: unreadable: {e}") from e
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ManifestError(f"{file}: empty file, expected header {','.join(COLUMNS)!r}")
    header = [h.strip() for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ManifestError(f"{file}: missing column(s) {', '.join(missing)}")
    col = {c: header.index(c) for c in COLUMNS}
    rows: list[ManifestRow] = []
    seen: set[str] = set()
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(header):
            raise ManifestError(
                f"{file}: line {line}: {len(cells)} values for {len(header)} columns"
            )
        v = {c: cells[i].strip() for c, i in col.items()}
        if v["has_imu"] not in ("0", "1"):
            raise ManifestError(
                f"{file}: line {line}: has_imu must be 0 or 1, not {v['has_imu']!r}"
            )
        row = ManifestRow(
            clip=v["clip"],
            label=v["label"],
            attack=v["attack"],
            subject=v["subject"],
            split=v["split"],
            has_imu=v["has_imu"] == "1",
            variant=v["variant"],
        )
        problem = row.problem()
        if problem is None and row.clip in seen:
            problem = f"clip {row.clip!r} listed twice"
        if problem:
            raise ManifestError(f"{file}: line {line}: {problem}")
        seen.add(row.clip)
        rows.append(row)
    return rows
