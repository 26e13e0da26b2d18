"""Tests of the synthetic generator's geometry: rotations, the contract's camera, ray hits."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.rotation import matrix_to_rotvec, rotvec_to_matrix, skew
from liveness.synth.geometry import (
    focal_px,
    look_at,
    pixel_rays,
    project,
    ray_ellipsoid,
    ray_plane,
)

W, H = 48, 64
F = focal_px(W, 65.0)
EX, EY, EZ = np.eye(3)


def random_rotvecs(n: int, seed: int = 0, max_angle: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis * rng.uniform(0.0, max_angle, (n, 1))


def test_skew_is_cross_product() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    assert np.allclose(np.einsum("nij,nj->ni", skew(a), b), np.cross(a, b))


def test_rotvec_round_trip_and_orthonormal() -> None:
    rv = random_rotvecs(200)
    r = rotvec_to_matrix(rv)
    assert r.shape == (200, 3, 3)
    assert np.allclose(np.swapaxes(r, 1, 2) @ r, np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(r), 1.0, atol=1e-12)
    assert np.allclose(matrix_to_rotvec(r), rv, atol=1e-9)


@pytest.mark.parametrize("angle", [0.0, 1e-9, 1e-7, 1e-5, 1e-3])
def test_rotvec_round_trip_tiny_angles(angle: float) -> None:
    rv = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8]) * angle
    r = rotvec_to_matrix(rv)
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-14)
    assert np.allclose(matrix_to_rotvec(r), rv, atol=1e-12)


def test_rotvec_right_hand_rule() -> None:
    # A quarter turn about +z takes +x to +y.
    r = rotvec_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    assert np.allclose(r @ EX, EY, atol=1e-12)
    assert np.allclose(rotvec_to_matrix(np.array([np.pi / 2, 0, 0])) @ EY, EZ, atol=1e-12)


def test_look_at_contract_device_frame() -> None:
    # A phone upright in portrait at (d, 0, 0), its camera looking at the user at the origin.
    r = look_at(np.array([0.3, 0.0, 0.0]), np.zeros(3), np.array([0.0, 0.0, 1.0]))
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    assert np.allclose(y, EZ)  # top edge up
    assert np.allclose(z, -EX)  # out of the screen toward the user (and the camera axis)
    assert np.allclose(x, -EY)  # right edge: the user's right when facing +x
    assert np.allclose(np.cross(x, y), z)  # right-handed
    assert np.isclose(np.linalg.det(r), 1.0)


def test_look_at_orthonormal_with_oblique_up() -> None:
    r = look_at(np.array([0.2, 0.1, -0.05]), np.array([0.0, 0.01, 0.02]), np.array([0.1, 0.2, 1]))
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(r), 1.0)
    d = np.array([0.0, 0.01, 0.02]) - np.array([0.2, 0.1, -0.05])
    assert np.allclose(r[:, 2], d / np.linalg.norm(d))


def test_focal_px() -> None:
    assert np.isclose(focal_px(100, 90.0), 50.0)


def test_pixel_rays_and_project_are_inverse() -> None:
    rays = pixel_rays(W, H, F)
    assert rays.shape == (H, W, 3)
    assert np.allclose(np.linalg.norm(rays, axis=-1), 1.0)
    uv = project(rays * 2.7, F, W, H)  # any depth along the ray
    uu, vv = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    assert np.allclose(uv[..., 0], uu) and np.allclose(uv[..., 1], vv)


def test_pixel_rays_contract_axes() -> None:
    rays = pixel_rays(W, H, F)
    # Image columns run along device −x, rows along device −y; the centre looks along +z.
    assert rays[H // 2, 0, 0] > 0 > rays[H // 2, -1, 0]
    assert rays[0, W // 2, 1] > 0 > rays[-1, W // 2, 1]
    assert np.all(rays[..., 2] > 0)


def test_project_axes() -> None:
    # A point toward the device's right edge is on the image's left; toward its top, image top.
    u, v = project(np.array([0.1, 0.0, 1.0]), F, W, H)
    assert np.isclose(u, W / 2 - 0.1 * F) and np.isclose(v, H / 2)
    u, v = project(np.array([0.0, 0.1, 1.0]), F, W, H)
    assert np.isclose(u, W / 2) and np.isclose(v, H / 2 - 0.1 * F)


def _image_of(p_world: np.ndarray, r: np.ndarray, eye: np.ndarray) -> np.ndarray:
    return project(r.T @ (p_world - eye), F, W, H)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotation_about_device_y_moves_image_right(seed: int) -> None:
    # Device rotation +ε about y (R·exp(ε e_y)): x turns toward −z, a fixed point's device
    # coordinates become p − ε e_y × p, i.e. x decreases by ε·z, so u = W/2 − f·x/z grows by f·ε.
    rng = np.random.default_rng(seed)
    eye = np.array([0.3, 0.0, 0.0])
    r = look_at(eye, np.zeros(3), EZ) @ rotvec_to_matrix(rng.normal(0, 0.05, 3))
    point = rng.normal(0, 0.03, 3)  # near the face, in view
    eps = np.radians(0.5)
    before = _image_of(point, r, eye)
    after = _image_of(point, r @ rotvec_to_matrix(eps * EY), eye)
    assert after[0] - before[0] > 0.9 * F * eps
    assert abs(after[1] - before[1]) < 0.2 * F * eps


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotation_about_device_x_moves_image_up(seed: int) -> None:
    rng = np.random.default_rng(seed)
    eye = np.array([0.3, 0.0, 0.0])
    r = look_at(eye, np.zeros(3), EZ) @ rotvec_to_matrix(rng.normal(0, 0.05, 3))
    point = rng.normal(0, 0.03, 3)
    eps = np.radians(0.5)
    before = _image_of(point, r, eye)
    after = _image_of(point, r @ rotvec_to_matrix(eps * EX), eye)
    assert before[1] - after[1] > 0.9 * F * eps  # v decreases: the point moves up
    assert abs(after[0] - before[0]) < 0.2 * F * eps


def test_ray_ellipsoid_hand_cases() -> None:
    axes = np.array([1.0, 2.0, 3.0])
    o = np.array(
        [
            [-5.0, 0.0, 0.0],  # along +x through the centre: hits x = -1 and x = 1
            [0.0, -5.0, 0.0],  # along +y: y = -2 .. 2
            [0.0, 0.0, 0.0],  # from inside, along +z: exits at z = 3
            [-5.0, 1.5, 0.0],  # along +x at y = 1.5: x = ±sqrt(1 - 1.5²/4) = ±sqrt(7)/4
            [-5.0, 0.0, 3.5],  # misses (z beyond the 3 semi-axis)
            [5.0, 0.0, 0.0],  # ellipsoid entirely behind the ray
        ]
    )
    d = np.array([EX, EY, EZ, EX, EX, EX])
    t_in, t_out, hit = ray_ellipsoid(o, d, axes)
    assert hit.tolist() == [True, True, True, True, False, False]
    assert np.allclose(t_in[:4], [4.0, 3.0, -3.0, 5 - np.sqrt(7) / 4])
    assert np.allclose(t_out[:4], [6.0, 7.0, 3.0, 5 + np.sqrt(7) / 4])
    assert np.isinf(t_in[4]) and np.isinf(t_out[4])


def test_ray_ellipsoid_unnormalised_direction() -> None:
    # t is in units of the given direction vector: |d| = 2 halves the distances.
    t_in, t_out, hit = ray_ellipsoid(np.array([[-5.0, 0, 0]]), np.array([[2.0, 0, 0]]), np.ones(3))
    assert hit[0] and np.isclose(t_in[0], 2.0) and np.isclose(t_out[0], 3.0)


def test_ray_plane_hand_cases() -> None:
    point, normal = np.array([0.0, 0.0, 2.0]), np.array([0.0, 0.0, 1.0])
    o = np.array([[0.0, 0, 0], [1.0, 1, 0], [0.0, 0, 0], [0.0, 0, 0], [0.0, 0, 3]])
    d = np.array(
        [
            [0.0, 0, 1],  # straight up: t = 2
            [0.0, 0.6, 0.8],  # oblique: 2 / 0.8
            [1.0, 0, 0],  # parallel
            [0.0, 0, -1],  # away from the plane
            [0.0, 0, 1],  # plane behind the origin
        ]
    )
    t = ray_plane(o, d, point, normal)
    assert np.allclose(t[:2], [2.0, 2.5])
    assert np.all(np.isinf(t[2:]))
    # The normal's orientation does not matter.
    assert np.allclose(ray_plane(o, d, point, -normal)[:2], [2.0, 2.5])
