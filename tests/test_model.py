"""Tests of LivenessNet: shapes, missing sensors, ablation switches, reported modalities."""

from __future__ import annotations

import dataclasses

import torch

from liveness.config import LivenessConfig
from liveness.model import LivenessNet

from .conftest import TINY


def _inputs(b: int = 3, cfg: LivenessConfig = TINY) -> tuple[torch.Tensor, ...]:
    p = cfg.preprocess
    g = torch.Generator().manual_seed(0)
    video = torch.rand(b, p.num_frames, 3, p.image_size, p.image_size, generator=g)
    imu = torch.randn(b, p.num_frames, p.imu_per_frame, 6, generator=g)
    return video, imu, torch.ones(b)


def test_forward_shape_and_gradients() -> None:
    net = LivenessNet(TINY)
    video, imu, present = _inputs()
    out = net(video, imu, present)
    assert out.shape == (3,)
    out.sum().backward()
    assert net.imu.net[0].weight.grad is not None
    assert net.backbone.features[0][0].weight.grad is not None


def test_missing_imu_ignores_imu_values() -> None:
    net = LivenessNet(TINY).eval()
    video, imu, _ = _inputs()
    absent = torch.zeros(3)
    a = net(video, imu, absent)
    b = net(video, imu * 100, absent)
    assert torch.allclose(a, b)
    c = net(video, imu * 100, torch.ones(3))
    assert not torch.allclose(a, c)


def test_imu_changes_fused_output_and_video_only_ignores_it() -> None:
    video, imu, present = _inputs()
    fused = LivenessNet(TINY).eval()
    assert not torch.allclose(fused(video, imu, present), fused(video, -imu, present))
    vcfg = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, use_imu=False))
    vonly = LivenessNet(vcfg).eval()
    assert torch.allclose(vonly(video, imu, present), vonly(video, -imu, present))
    icfg = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, use_video=False))
    ionly = LivenessNet(icfg).eval()
    assert torch.allclose(ionly(video, imu, present), ionly(torch.rand_like(video), imu, present))


def test_motion_channel_sees_frame_order() -> None:
    """Per-frame features depend on the previous frame only through the motion inputs."""
    video = _inputs()[0]
    # Train-mode batch norm keeps activations at unit scale (an untrained net's running stats
    # would shrink them); the batch holds the same frames either way, so its stats match.
    net = LivenessNet(TINY).train()
    a = net.frame_features(video)
    b = net.frame_features(video.flip(1)).flip(1)  # same frames, reversed order
    assert float((a - b).abs().max()) > 1e-3
    still = dataclasses.replace(
        TINY, model=dataclasses.replace(TINY.model, motion_channel=False, block_flow=False)
    )
    net2 = LivenessNet(still).train()
    a2, b2 = net2.frame_features(video), net2.frame_features(video.flip(1)).flip(1)
    assert torch.allclose(a2, b2, atol=1e-5)


def test_modalities_reported() -> None:
    assert TINY.modalities(True) == ["video", "imu"]
    assert TINY.modalities(False) == ["video"]
    vcfg = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, use_imu=False))
    assert vcfg.modalities(True) == ["video"]


def test_config_round_trip() -> None:
    assert LivenessConfig.from_dict(TINY.to_dict()) == TINY


def test_motion_aux_outputs_and_gradients() -> None:
    cfg = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, motion_aux=True))
    net = LivenessNet(cfg)
    video, imu, _ = _inputs()
    present = torch.tensor([1.0, 0.0, 1.0])
    logits, ego, gyro = net(video, imu, present, return_motion=True)
    assert logits.shape == (3,) and ego.shape == gyro.shape == (3, TINY.preprocess.num_frames, 3)
    assert torch.all(gyro[1] == 0)  # no sensors, no gyro target
    from liveness.model import EGO_SCALE

    assert torch.allclose(gyro[0], imu[0, :, :, 3:6].mean(dim=1) / EGO_SCALE)
    torch.nn.functional.mse_loss(ego, gyro).backward()
    assert net.ego.weight.grad is not None and net.backbone.features[0][0].weight.grad is not None
    # The plain call (export, prediction) still returns logits only.
    assert net(video, imu, present).shape == (3,)
