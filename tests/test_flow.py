"""Tests of optical flow and gyro-predicted image motion (liveness.flow)."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.flow import focal_for, integrate_gyro, lucas_kanade, rotation_flow, to_gray
from liveness.synth.geometry import pixel_rays, project, rotvec_to_matrix


def smooth_texture(h: int, w: int, seed: int, sigma: float = 2.5) -> np.ndarray:
    """Periodic, band-limited random texture in [0, 1] (Gaussian low-pass of white noise)."""
    rng = np.random.default_rng(seed)
    ky, kx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    lp = np.exp(-2 * (np.pi * sigma) ** 2 * (kx**2 + ky**2))
    img = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((h, w))) * lp))
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def shifted(img: np.ndarray, du: float, dv: float) -> np.ndarray:
    """img moved by (du, dv) pixels (right, down), exactly, by the Fourier shift theorem."""
    h, w = img.shape
    ky, kx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    phase = np.exp(-2j * np.pi * (kx * du + ky * dv))
    return np.real(np.fft.ifft2(np.fft.fft2(img) * phase)).astype(np.float32)


SHIFTS = [(0.3, -0.2, 0), (1.7, 0.6, 1), (-2.4, 1.3, 2), (0.45, 0.85, 4)]
MARGIN = 12  # interior of a 64² image: away from the clamped borders


@pytest.mark.parametrize(("du", "dv", "seed"), [*SHIFTS, (0.0, 0.0, 3)])
def test_lucas_kanade_recovers_subpixel_translation(du: float, dv: float, seed: int) -> None:
    # The robust (median) flow of the interior: what block averages downstream rely on.
    a = smooth_texture(64, 64, seed)
    b = shifted(a, du, dv)
    flow, conf = lucas_kanade(a, b)
    assert flow.shape == (64, 64, 2) and conf.shape == (64, 64)
    inner = flow[MARGIN:-MARGIN, MARGIN:-MARGIN].reshape(-1, 2)
    assert np.allclose(np.median(inner, axis=0), [du, dv], atol=0.05)
    assert np.all(conf >= -1e-6) and conf[MARGIN:-MARGIN, MARGIN:-MARGIN].min() > 0


@pytest.mark.parametrize(("du", "dv", "seed"), SHIFTS)
def test_lucas_kanade_per_pixel_accuracy(du: float, dv: float, seed: int) -> None:
    a = smooth_texture(64, 64, seed)
    b = shifted(a, du, dv)
    flow, _ = lucas_kanade(a, b)
    inner = flow[MARGIN:-MARGIN, MARGIN:-MARGIN].reshape(-1, 2)
    err = np.linalg.norm(inner - np.array([du, dv]), axis=-1)
    assert np.median(err) < 0.05
    assert np.percentile(err, 90) < 0.1
    # More iterations of a converged estimate must not make it worse.
    more, _ = lucas_kanade(a, b, iters=8)
    err8 = np.linalg.norm(more[MARGIN:-MARGIN, MARGIN:-MARGIN].reshape(-1, 2) - [du, dv], axis=-1)
    assert np.percentile(err8, 90) < 0.1


def test_lucas_kanade_blank_image_has_no_confidence() -> None:
    a = np.full((32, 32), 0.5, np.float32)
    flow, conf = lucas_kanade(a, a)
    assert np.allclose(flow, 0.0) and np.allclose(conf, 0.0)


def test_to_gray_downsamples_and_weights() -> None:
    frame = np.zeros((6, 4, 3), np.uint8)
    frame[..., 1] = 255
    g = to_gray(frame, 2)
    assert g.shape == (3, 2) and g.dtype == np.float32
    assert np.allclose(g, 0.587)


@pytest.mark.parametrize("eps", [0.005, -0.01, 0.02])
def test_rotation_flow_about_y_is_rightward_and_exact(eps: float) -> None:
    w, h = 60.0, 80.0
    f = focal_for(w)
    uu, vv = np.meshgrid(np.arange(0.5, w, 5.0), np.arange(0.5, h, 5.0))
    u, v = uu.ravel(), vv.ravel()
    flow = rotation_flow(np.array([0.0, eps, 0.0]), u, v, w, h, f)
    # Near the centre: du ≈ f·ε (a device turn about +y moves the image right), dv ≈ 0.
    centre = (np.abs(u - w / 2) < 6) & (np.abs(v - h / 2) < 6)
    assert np.all(np.sign(flow[centre, 0]) == np.sign(eps))
    assert np.allclose(flow[centre, 0], f * eps, rtol=0.05)
    assert np.allclose(flow[centre, 1], 0.0, atol=0.05 * abs(f * eps))
    # Everywhere: the exact projection of the same world directions after the turn.
    rays = pixel_rays(int(w), int(h), f)[::5, ::5].reshape(-1, 3)
    after = rays @ rotvec_to_matrix(np.array([0.0, eps, 0.0]))  # Rᵀ p, row-wise
    exact = project(after, f, int(w), int(h)) - np.stack([u, v], -1)
    assert np.abs(flow - exact).max() < 0.05 * abs(f * eps) + 0.01


def test_rotation_flow_about_x_is_upward() -> None:
    w, h = 60.0, 80.0
    f = focal_for(w)
    flow = rotation_flow(np.array([0.01, 0.0, 0.0]), np.array([w / 2]), np.array([h / 2]), w, h, f)
    assert np.allclose(flow[0], [0.0, -f * 0.01], atol=1e-3)


def test_rotation_flow_about_z_is_a_rotation_about_centre() -> None:
    w, h = 60.0, 80.0
    f = focal_for(w)
    u, v = np.array([w / 2, w / 2 + 10]), np.array([h / 2, h / 2])
    flow = rotation_flow(np.array([0.0, 0.0, 0.02]), u, v, w, h, f)
    assert np.allclose(flow[0], 0.0, atol=1e-9)  # the centre stays
    assert abs(flow[1, 0]) < 1e-2 and abs(abs(flow[1, 1]) - 10 * 0.02) < 1e-2


def test_focal_for() -> None:
    assert np.isclose(focal_for(100, 90.0), 50.0)


@pytest.mark.parametrize(("t0", "t1"), [(1000.0, 1500.0), (1003.7, 1066.1)])
def test_integrate_gyro_constant_rate(t0: float, t1: float) -> None:
    rate = np.array([0.4, -1.1, 0.25])
    t = np.arange(900.0, 1700.0, 13.0)
    imu = np.column_stack([t, np.zeros((len(t), 3)), np.tile(rate, (len(t), 1))])
    delta = integrate_gyro(imu, t0, t1)
    assert np.allclose(delta, rate * (t1 - t0) / 1000.0, rtol=1e-9)


def test_integrate_gyro_linear_rate_is_exact() -> None:
    # The trapezoid rule is exact for a rate that is linear in time.
    t = np.arange(0.0, 2000.0, 10.0)
    w = np.column_stack([t / 1000.0, -2 * t / 1000.0, np.ones_like(t)])
    imu = np.column_stack([t, np.zeros((len(t), 3)), w])
    delta = integrate_gyro(imu, 200.0, 1200.0)
    want = np.array([(1.2**2 - 0.2**2) / 2, -(1.2**2 - 0.2**2), 1.0])
    assert np.allclose(delta, want, rtol=1e-9)
