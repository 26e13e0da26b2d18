"""Tests of the network blocks: MobileNetV3-Small shapes and strides, CBAM placement."""

from __future__ import annotations

import torch

from liveness.layers import CBAM, BlockFlow, MobileNetV3Small
from liveness.layers.cbam import SpatialAttention
from liveness.layers.mobilenetv3 import make_divisible


def test_make_divisible() -> None:
    assert make_divisible(16 * 0.5) == 8
    assert make_divisible(72 * 0.5) == 40  # 36 rounds to 40, which keeps >= 90 %
    assert all(make_divisible(v) % 8 == 0 for v in range(1, 600, 7))


def test_backbone_output_stride_and_channels() -> None:
    net = MobileNetV3Small(width_mult=0.5, in_chans=4).eval()
    out = net(torch.zeros(2, 4, 96, 96))
    assert out.shape == (2, net.out_channels, 3, 3)  # total stride 32
    assert net.out_channels == make_divisible(576 * 0.5)


def test_cbam_sits_on_spatial_maps() -> None:
    seen: list[tuple[int, ...]] = []
    net = MobileNetV3Small(width_mult=0.5, stage_attn=lambda c: CBAM(c)).eval()
    for m in net.modules():
        if isinstance(m, SpatialAttention):
            m.register_forward_hook(lambda _m, inp, _o: seen.append(tuple(inp[0].shape)))
    net(torch.zeros(1, 3, 96, 96))
    assert len(seen) == 3
    assert all(s[2] > 1 and s[3] > 1 for s in seen)  # never after global pooling
    assert [s[2] for s in seen] == [12, 6, 3]  # strides 8, 16, 32


def test_spatial_attention_can_mask_regions() -> None:
    sa = SpatialAttention()
    with torch.no_grad():
        sa.conv.weight.zero_()
        sa.conv.weight[0, 1, 3, 3] = 50.0  # attend where the channel max is high
    x = torch.zeros(1, 2, 8, 8)
    x[0, :, 2, 2] = 1.0
    x[0, 0, 5, 5] = -1.0
    with torch.no_grad():
        y = sa(x)
    assert y[0, 0, 2, 2] > 0.99 and abs(float(y[0, 0, 5, 5])) < 0.6


def _texture(seed: int = 0, n: int = 200) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(1, 1, n, n, generator=g)
    for _ in range(2):  # smooth it: LK needs gradients that vary slowly
        t = torch.nn.functional.avg_pool2d(t, 5, 1, 2)
    return t[0, 0]


def test_block_flow_measures_image_motion() -> None:
    tex = _texture()
    # Content moves 4 px left and 2 px down per step at full size = 1 and 0.5 px after pool 4.
    frames = [tex[50 - 2 * k : 146 - 2 * k, 50 + 4 * k : 146 + 4 * k] for k in range(4)]
    flow = BlockFlow()(torch.stack(frames)[None, :, None]).view(1, 4, 2, 16)
    assert torch.all(flow[0, 0] == 0)  # the first step has no previous frame
    u, v = flow[0, 1:, 0].mean(), flow[0, 1:, 1].mean()
    assert -1.5 < u < -0.7 and 0.25 < v < 0.8


def test_block_flow_is_zero_for_still_or_blank_frames() -> None:
    still = _texture()[:96, :96].expand(1, 3, 1, 96, 96)
    assert BlockFlow()(still).abs().max() < 1e-5
    blank = torch.full((1, 3, 1, 96, 96), 0.5)
    blank[0, 1] += 0.1  # a brightness change with no texture is not motion
    assert BlockFlow()(blank).abs().max() < 1e-3
