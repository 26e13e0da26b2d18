"""Block-wise Lucas–Kanade inside the network: image motion per step as explicit features."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class BlockFlow(nn.Module):
    """(B, T, 1, S, S) luminance -> (B, T, 2·grid²) mean image motion per block and step.

    For each pair of consecutive chosen frames, on the image average-pooled by `pool` (so that
    the motion between frames ~100–200 ms apart stays within LK's small-motion range), it
    solves the 2×2 Lucas–Kanade system per block of a grid×grid partition:
        [Σ Ix²  Σ IxIy] [u]     [Σ Ix It]
        [Σ IxIy Σ Iy² ] [v] = − [Σ Iy It]
    with a small ridge λ so textureless blocks give ~0. No weights: it is the same physics in
    every runtime (convolutions, pooling and arithmetic export to ONNX and TFLite), and it
    hands the LSTM the image motion to compare with the gyro.
    """

    def __init__(self, pool: int = 4, grid: int = 4, ridge: float = 1e-4) -> None:
        super().__init__()
        self.pool, self.grid, self.ridge = pool, grid, ridge
        self.dx: torch.Tensor
        self.dy: torch.Tensor
        k = torch.tensor([-0.5, 0.0, 0.5])
        self.register_buffer("dx", k.view(1, 1, 1, 3), persistent=False)
        self.register_buffer("dy", k.view(1, 1, 3, 1), persistent=False)

    @property
    def out_features(self) -> int:
        return 2 * self.grid * self.grid

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        b, t = gray.shape[:2]
        x = F.avg_pool2d(gray.flatten(0, 1), self.pool)  # (B·T, 1, s, s)
        s = x.shape[-1]
        x = x.view(b, t, 1, s, s)
        prev = torch.cat([x[:, :1], x[:, :-1]], dim=1)  # step 0 pairs with itself: zero motion
        it = (x - prev).flatten(0, 1)
        mid = (0.5 * (x + prev)).flatten(0, 1)
        ix = F.conv2d(F.pad(mid, (1, 1, 0, 0), mode="replicate"), self.dx)
        iy = F.conv2d(F.pad(mid, (0, 0, 1, 1), mode="replicate"), self.dy)

        def block(z: torch.Tensor) -> torch.Tensor:
            return F.adaptive_avg_pool2d(z, self.grid)  # (B·T, 1, grid, grid)

        sxx, syy, sxy = block(ix * ix) + self.ridge, block(iy * iy) + self.ridge, block(ix * iy)
        sxt, syt = block(ix * it), block(iy * it)
        det = sxx * syy - sxy * sxy
        u = -(syy * sxt - sxy * syt) / det
        v = -(sxx * syt - sxy * sxt) / det
        flow = torch.cat([u, v], dim=1).clamp(-3.0, 3.0)  # pooled pixels per step
        return flow.view(b, t, -1)
