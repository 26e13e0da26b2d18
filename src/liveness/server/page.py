"""The capture page: one HTML file plus its scripts and styles, all served by the app (no CDN)."""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("page", __name__, static_folder="static", static_url_path="/static")


@bp.get("/")
def index() -> Response:
    return bp.send_static_file("index.html")
