"""Rotation vectors and matrices (liveness.rotation)."""

from __future__ import annotations

import numpy as np
import pytest

from liveness.rotation import matrix_to_rotvec, rotvec_to_matrix, running_product


def test_rotvec_round_trip_and_orthonormal() -> None:
    rng = np.random.default_rng(0)
    rv = rng.normal(0.0, 0.8, (50, 3))
    rv[0] = 0.0
    rv[1] = [1e-9, 0.0, 0.0]  # the Taylor branch
    m = rotvec_to_matrix(rv)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), np.broadcast_to(np.eye(3), m.shape),
                               atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-12)
    np.testing.assert_allclose(matrix_to_rotvec(m), rv, atol=1e-9)


def test_turn_about_z_by_90_degrees() -> None:
    m = rotvec_to_matrix(np.array([0.0, 0.0, np.pi / 2]))
    np.testing.assert_allclose(m @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 9, 141, 400])
def test_running_product_equals_the_loop(n: int) -> None:
    """The prefix scan gives what multiplying the steps one by one gives, in order (rotations
    do not commute: a reversed product would fail here)."""
    steps = rotvec_to_matrix(np.random.default_rng(n).normal(0.0, 0.3, (n, 3)))
    want = [np.eye(3)]
    for s in steps:
        want.append(want[-1] @ s)
    got = running_product(steps)
    assert got.shape == (n + 1, 3, 3)
    np.testing.assert_allclose(got, np.array(want), atol=1e-12)
