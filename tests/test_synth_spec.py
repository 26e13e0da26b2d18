"""Tests of liveness.synth.spec and of the generator's module graph (no import loops)."""

from __future__ import annotations

import ast
import dataclasses
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import liveness.synth
from liveness.synth.spec import ClipSpec


def synth_imports() -> dict[str, set[str]]:
    """For each synth module, the synth modules it imports anywhere (TYPE_CHECKING too)."""
    pkg = Path(liveness.synth.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in sorted(pkg.glob("*.py")):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for n in names:
                if n.startswith("liveness.synth.") and n.count(".") == 2:
                    deps.add(n.rsplit(".", 1)[1])
        graph[path.stem] = {d for d in deps if (pkg / f"{d}.py").is_file()}
    return graph


def test_synth_modules_import_as_a_dag() -> None:
    graph = synth_imports()
    assert "spec" in graph["clipgen"] and "spec" in graph["staging"]
    assert "clipgen" not in graph["staging"]
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as e:  # pragma: no cover - the failure message
        raise AssertionError(f"import loop among synth modules: {e.args[1]}") from e
    assert set(order) == set(graph)


def test_clip_spec_is_a_plain_record() -> None:
    # generate.plan builds these positionally and ships them to worker processes.
    names = [f.name for f in dataclasses.fields(ClipSpec)]
    assert names == ["index", "subject", "attack", "variant", "has_imu", "challenge"]
    assert ClipSpec(3, 1, "print", "rig", True, "x") == ClipSpec(3, 1, "print", "rig", True, "x")
