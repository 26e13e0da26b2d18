"""The liveness network: per-frame MobileNetV3+CBAM, an IMU branch, fusion per step, an LSTM."""

from __future__ import annotations

import torch
from torch import nn

from liveness.config import LivenessConfig
from liveness.layers import CBAM, BlockFlow, MobileNetV3Small

# Luma weights for the motion channel (ITU-R BT.601), as in flow.to_gray.
_LUMA = (0.299, 0.587, 0.114)
EGO_SCALE = 0.25  # rad/s: a slow hand-held turn, so predicted and measured ω are ~unit size


class ImuEncoder(nn.Module):
    """(B, T, K, 6) IMU samples -> (B, T, D): temporal convs over the whole T·K sequence, so a
    step's feature also sees its neighbours' motion, then a mean over each step's K samples."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(6, 32, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv1d(32, dim, 5, padding=2),
            nn.ReLU(inplace=True),
        )

    def forward(self, imu: torch.Tensor) -> torch.Tensor:
        b, t, k, c = imu.shape
        x = self.net(imu.reshape(b, t * k, c).transpose(1, 2))  # (B, D, T·K)
        return x.transpose(1, 2).reshape(b, t, k, -1).mean(dim=2)


class LivenessNet(nn.Module):
    """Inputs: video (B, T, 3, S, S) in [0, 1], imu (B, T, K, 6) normalised, imu_present (B,).
    Output: (B,) logits, > 0 meaning live.

    Each frame goes through the backbone with, as a 4th channel, its luminance difference to
    the previous chosen frame: image motion is then visible to a per-frame CNN. Video and IMU
    features are fused per time step before the LSTM, so it can compare the two motions over
    time. Without sensors the IMU feature is a learned "absent" embedding.
    """

    def __init__(self, cfg: LivenessConfig) -> None:
        super().__init__()
        m = cfg.model
        self.cfg = cfg
        in_chans = 4 if m.motion_channel else 3
        attn = (lambda c: CBAM(c)) if m.cbam else None
        self.backbone = MobileNetV3Small(m.width_mult, in_chans, stage_attn=attn)
        self.video_proj = nn.Sequential(
            nn.Linear(self.backbone.out_channels, m.video_dim), nn.Hardswish()
        )
        self.imu = ImuEncoder(m.imu_dim)
        self.imu_absent = nn.Parameter(torch.zeros(m.imu_dim))
        # Image motion per step, computed (not learned) so the LSTM can hold it against the gyro.
        self.flow = BlockFlow() if m.block_flow else None
        flow_dim = m.flow_dim if self.flow is not None else 0
        if self.flow is not None:
            self.flow_proj = nn.Sequential(nn.Linear(self.flow.out_features, m.flow_dim), nn.ReLU())
        aux_dim = 9 if m.motion_aux else 0  # predicted ω, gyro ω, their difference
        if m.motion_aux:
            self.ego = nn.Linear(m.video_dim + flow_dim, 3)
        self.lstm = nn.LSTM(
            m.video_dim + flow_dim + m.imu_dim + aux_dim, m.hidden, batch_first=True
        )
        self.head = nn.Sequential(nn.Dropout(m.dropout), nn.Linear(2 * m.hidden, 1))
        self.luma: torch.Tensor
        self.register_buffer("luma", torch.tensor(_LUMA).view(1, 1, 3, 1, 1), persistent=False)

    def frame_features(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, S, S) -> (B, T, video_dim [+ flow_dim])."""
        b, t = video.shape[:2]
        x = video
        y = (video * self.luma).sum(dim=2, keepdim=True)  # (B, T, 1, S, S) luminance
        if self.cfg.model.motion_channel:
            diff = torch.cat([torch.zeros_like(y[:, :1]), y[:, 1:] - y[:, :-1]], dim=1)
            x = torch.cat([video, diff * 4.0], dim=2)  # differences are small: rescale
        x = (x - 0.5) / 0.25
        f = self.backbone(x.flatten(0, 1))  # (B·T, C, s, s)
        f = f.mean(dim=(2, 3))
        v = self.video_proj(f).view(b, t, -1)
        if self.flow is not None:
            v = torch.cat([v, self.flow_proj(self.flow(y))], dim=-1)
        return v

    def forward(
        self,
        video: torch.Tensor,
        imu: torch.Tensor,
        imu_present: torch.Tensor,
        return_motion: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits (B,); with return_motion also the video's predicted and the gyro's angular
        velocity per step, (B, T, 3) each in units of EGO_SCALE (for the auxiliary loss)."""
        m = self.cfg.model
        b, t = video.shape[:2]
        # (B, T, video_dim); zeros in the IMU-only ablation.
        v_dim = m.video_dim + (m.flow_dim if self.flow is not None else 0)
        v = self.frame_features(video) if m.use_video else video.new_zeros(b, t, v_dim)
        present = imu_present.view(b, 1, 1).to(video.dtype)
        if not m.use_imu:
            present = torch.zeros_like(present)
        i = self.imu(imu) * present + self.imu_absent.view(1, 1, -1) * (1 - present)
        parts = [v, i]
        ego = gyro = v.new_zeros(b, t, 3)
        if m.motion_aux:
            # Mean gyro over each step's K samples (rad/s, channels 3..5), scaled to ~unit size.
            gyro = imu[..., 3:6].mean(dim=2) * (self.cfg.preprocess.gyro_scale / EGO_SCALE)
            ego = self.ego(v) if m.use_video else ego
            gyro = gyro * present
            parts += [ego, gyro, (ego - gyro) * present]
        h, _ = self.lstm(torch.cat(parts, dim=-1))  # (B, T, hidden)
        pooled = torch.cat([h[:, -1], h.mean(dim=1)], dim=-1)
        logits = self.head(pooled).squeeze(-1)
        if return_motion:
            return logits, ego, gyro
        return logits
