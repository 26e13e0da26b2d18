"""Tests of manifest.csv reading and writing (liveness.manifest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveness.manifest import ManifestError, ManifestRow, read_manifest, write_manifest

ROWS = [
    ManifestRow("clips/s01_live", "live", "none", "s01", "train", True, ""),
    ManifestRow("clips/s01_print", "spoof", "print", "s01", "train", False, "no_imu"),
    ManifestRow("clips/s02_replay", "spoof", "replay", "s02", "val", True, "jpeg70"),
    ManifestRow("clips/s03,odd name", "spoof", "cutout", "s03", "test", True, "a,b"),
]
HEADER = "clip,label,attack,subject,split,has_imu,variant"


def test_round_trip_and_exact_text(tmp_path: Path) -> None:
    out = write_manifest(tmp_path, ROWS)  # a dataset root means <root>/manifest.csv
    assert out == tmp_path / "manifest.csv"
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER
    assert lines[1] == "clips/s01_live,live,none,s01,train,1,"
    assert read_manifest(tmp_path) == ROWS
    assert read_manifest(out) == ROWS
    assert ROWS[0].is_live and not ROWS[1].is_live
    write_manifest(tmp_path / "again.csv", ROWS)
    assert (tmp_path / "again.csv").read_bytes() == out.read_bytes()


def test_columns_in_any_order_extras_and_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "manifest.csv"
    f.write_text(
        "split,clip,extra,label,attack,subject,has_imu,variant\n"
        "val,c/1,zz,live,none,s9,0,\n\n"
        "test,c/2,zz,spoof,injection,s8,1,v\n"
    )
    rows = read_manifest(f)
    assert rows == [
        ManifestRow("c/1", "live", "none", "s9", "val", False, ""),
        ManifestRow("c/2", "spoof", "injection", "s8", "test", True, "v"),
    ]


GOOD = "c/1,live,none,s1,train,1,"
CASES = [
    ("unknown split", f"{HEADER}\nc/1,live,none,s1,dev,1,\n", "line 2: unknown split 'dev'"),
    ("missing column", "clip,label,attack,subject,split,has_imu\n", "missing column(s) variant"),
    ("empty", "", "empty file"),
    ("bad label", f"{HEADER}\nc/1,real,none,s1,train,1,\n", "line 2: unknown label 'real'"),
    ("mismatch", f"{HEADER}\nc/1,live,print,s1,train,1,\n", "does not match attack 'print'"),
    ("spoof none", f"{HEADER}\nc/1,spoof,none,s1,train,1,\n", "does not match attack 'none'"),
    ("no attack", f"{HEADER}\nc/1,spoof,,s1,train,1,\n", "attack is empty"),
    ("has_imu", f"{HEADER}\nc/1,live,none,s1,train,yes,\n", "has_imu must be 0 or 1"),
    ("cells", f"{HEADER}\nc/1,live,none,s1,train,1\n", "line 2: 6 values for 7 columns"),
    ("absolute", f"{HEADER}\n/etc/c,live,none,s1,train,1,\n", "relative POSIX path"),
    ("escape", f"{HEADER}\n../c,live,none,s1,train,1,\n", "relative POSIX path"),
    ("no subject", f"{HEADER}\nc/1,live,none,,train,1,\n", "subject is empty"),
    ("duplicate", f"{HEADER}\n{GOOD}\n{GOOD}\n", "line 3: clip 'c/1' listed twice"),
]


@pytest.mark.parametrize(("name", "text", "words"), CASES, ids=[c[0] for c in CASES])
def test_read_errors(tmp_path: Path, name: str, text: str, words: str) -> None:
    f = tmp_path / "manifest.csv"
    f.write_text(text)
    with pytest.raises(ManifestError) as e:
        read_manifest(f)
    assert str(e.value).startswith(f"{f}: ") and words in str(e.value), str(e.value)


def test_write_refuses_bad_rows_and_missing_file(tmp_path: Path) -> None:
    bad = ManifestRow("c/1", "live", "none", "s1", "training", True)
    with pytest.raises(ManifestError, match="row 1: unknown split 'training'"):
        write_manifest(tmp_path / "m.csv", [bad])
    with pytest.raises(ManifestError, match="row 2: clip 'clips/s01_live' listed twice"):
        write_manifest(tmp_path / "m.csv", [ROWS[0], ROWS[0]])
    assert not (tmp_path / "m.csv").exists()
    with pytest.raises(ManifestError, match="unreadable"):
        read_manifest(tmp_path / "nope.csv")
