"""The HTTP service: session + check API, health and metrics, and the capture page."""

from __future__ import annotations

from typing import Any

__all__ = ["ServerSettings", "create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: `liveness.server.settings` etc. stay importable without building the Flask app.
    if name == "create_app":
        from liveness.server.app import create_app

        return create_app
    if name == "ServerSettings":
        from liveness.server.settings import ServerSettings

        return ServerSettings
    raise AttributeError(name)
