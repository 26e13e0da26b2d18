"""Checkpoints: everything to resume training or rebuild the model, in one file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from liveness import __version__
from liveness.config import LivenessConfig
from liveness.model import LivenessNet


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write atomically (temp file + rename) so an interrupted save never corrupts `path`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    torch.save({"liveness_version": __version__, **state}, tmp)
    os.replace(tmp, p)
    return p


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such checkpoint")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a damaged file
        raise ValueError(f"{p}: not a readable checkpoint ({e.__class__.__name__}: {e})") from e
    if not isinstance(ck, dict) or "model" not in ck or "config" not in ck:
        raise ValueError(f"{p}: not a liveness checkpoint (no model/config)")
    return ck


def model_from_checkpoint(path: str | os.PathLike[str]) -> tuple[LivenessNet, LivenessConfig]:
    """Rebuild the network from the configuration stored in the checkpoint, in eval mode."""
    ck = load_checkpoint(path)
    cfg = LivenessConfig.from_dict(ck["config"])
    model = LivenessNet(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, cfg


def slim_checkpoint(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], info: dict[str, Any] | None = None
) -> Path:
    """A deployable copy of a checkpoint: weights + configuration (+ info), no optimiser state."""
    ck = load_checkpoint(src)
    state = {"model": ck["model"], "config": ck["config"], "info": info or {}}
    return save_checkpoint(dst, state)
