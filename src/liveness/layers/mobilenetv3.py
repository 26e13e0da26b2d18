"""MobileNetV3-Small (Howard et al., 2019), written here: width and input channels configurable."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

LayerFn = Callable[[int], nn.Module]

# (kernel, expansion channels, out channels, squeeze-excite, hard-swish, stride) per block,
# from the paper's Table 2; stages end where the stride changes.
SMALL_BLOCKS: tuple[tuple[int, int, int, bool, bool, int], ...] = (
    (3, 16, 16, True, False, 2),
    (3, 72, 24, False, False, 2),
    (3, 88, 24, False, False, 1),
    (5, 96, 40, True, True, 2),
    (5, 240, 40, True, True, 1),
    (5, 240, 40, True, True, 1),
    (5, 120, 48, True, True, 1),
    (5, 144, 48, True, True, 1),
    (5, 288, 96, True, True, 2),
    (5, 576, 96, True, True, 1),
    (5, 576, 96, True, True, 1),
)


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor`, never below 90 % of v (as the paper's code)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class ConvBnAct(nn.Sequential):
    def __init__(
        self,
        cin: int,
        cout: int,
        k: int = 1,
        stride: int = 1,
        groups: int = 1,
        act: type[nn.Module] | None = nn.Hardswish,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if act is not None:
            layers.append(act())
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Channel gating with a hard-sigmoid, as in MobileNetV3."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = make_divisible(channels / reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(s))))


class InvertedResidual(nn.Module):
    """Expand (1×1) -> depthwise (k×k, stride) -> [SE] -> project (1×1); residual if same shape."""

    def __init__(
        self, cin: int, exp: int, cout: int, k: int, se: bool, hs: bool, stride: int
    ) -> None:
        super().__init__()
        act = nn.Hardswish if hs else nn.ReLU
        layers: list[nn.Module] = []
        if exp != cin:
            layers.append(ConvBnAct(cin, exp, 1, act=act))
        layers.append(ConvBnAct(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(SqueezeExcite(exp))
        layers.append(ConvBnAct(exp, cout, 1, act=None))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV3Small(nn.Module):
    """Feature extractor: (N, in_chans, S, S) -> (N, out_channels, S/32, S/32).

    `stage_attn` (e.g. CBAM) is inserted after each stage whose output is still a spatial map
    (strides 8, 16 and 32), so attention acts on where things are, not on pooled vectors.
    """

    def __init__(
        self, width_mult: float = 1.0, in_chans: int = 3, stage_attn: LayerFn | None = None
    ) -> None:
        super().__init__()
        stem = make_divisible(16 * width_mult)
        layers: list[nn.Module] = [ConvBnAct(in_chans, stem, 3, 2)]
        cin = stem
        for i, (k, exp, out, se, hs, stride) in enumerate(SMALL_BLOCKS):
            e, c = make_divisible(exp * width_mult), make_divisible(out * width_mult)
            layers.append(InvertedResidual(cin, e, c, k, se, hs, stride))
            cin = c
            next_stride = SMALL_BLOCKS[i + 1][5] if i + 1 < len(SMALL_BLOCKS) else 2
            if stage_attn is not None and next_stride == 2 and i >= 2:
                layers.append(stage_attn(c))
        self.out_channels = make_divisible(576 * width_mult)
        layers.append(ConvBnAct(cin, self.out_channels, 1))
        self.features = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
