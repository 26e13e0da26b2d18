"""The OpenAPI document: served, structurally valid, and covering every route and status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from liveness.server.app import create_app
from liveness.server.settings import ServerSettings


def _walk_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        refs = [node["$ref"]] if "$ref" in node else []
        return refs + [r for v in node.values() for r in _walk_refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _walk_refs(v)]
    return []


def test_openapi_document_is_complete(tmp_path: Path) -> None:
    app = create_app(ServerSettings(sessions_url=f"sqlite:///{tmp_path / 's.sqlite3'}"))
    r = app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert re.fullmatch(r"3\.0\.\d", doc["openapi"]) and doc["info"]["title"]
    # Every route of the app (but the page and its static files) is documented, same methods.
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("page.") or rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes[path] = {m.lower() for m in rule.methods or ()} - {"head", "options"}
    assert routes == {p: set(ops) for p, ops in doc["paths"].items()}
    # Every $ref resolves; every operation has responses with descriptions.
    for ref in _walk_refs(doc):
        assert ref.startswith("#/components/schemas/")
        assert ref.split("/")[-1] in doc["components"]["schemas"], ref
    for path, ops in doc["paths"].items():
        for op in ops.values():
            for code, resp in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", code) and resp["description"], (path, code)
            for p in op.get("parameters", []):
                assert p["in"] == "path" and "{" + p["name"] + "}" in path
    check = doc["paths"]["/api/v1/sessions/{session_id}/check"]["post"]["responses"]
    assert set(check) == {"200", "400", "404", "410", "413", "415", "422", "429", "503"}
    assert "Retry-After" in check["429"]["headers"]
    sessions = doc["paths"]["/api/v1/sessions"]["post"]["responses"]
    assert "201" in sessions and "429" in sessions
