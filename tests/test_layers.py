"""Tests of the network blocks: MobileNetV3-Small shapes and strides, CBAM placement."""

from __future__ import annotations

import torch

from liveness.layers import CBAM, MobileNetV3Small
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
