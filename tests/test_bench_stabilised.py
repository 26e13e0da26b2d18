"""bench/stabilised.py: which clips count as stabilised."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serverkit import load_bench


def test_stabilised_from_the_generator_meta_or_the_renderer_variant(tmp_path: Path) -> None:
    bench = load_bench("stabilised")
    gen, plain, broken = tmp_path / "gen", tmp_path / "plain", tmp_path / "broken"
    for d in (gen, plain, broken):
        d.mkdir()
    (gen / "meta.json").write_text(json.dumps({"stabilised_sway_kept": 0.2}))
    (plain / "meta.json").write_text(json.dumps({"lighting": "normal"}))
    (broken / "meta.json").write_text("{not json")
    assert bench.stabilised(gen, "normal")
    assert not bench.stabilised(plain, "normal")
    assert bench.stabilised(plain, "stabilised")  # the renderer names it in the manifest
    assert not bench.stabilised(broken, "normal") and not bench.stabilised(tmp_path / "x", "")
