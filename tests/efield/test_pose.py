"""Coil poses on the scalp sphere."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.efield import CoilPose, SphereHead, pose_on_sphere, tangent_basis

ATOL = 1e-12


def test_pose_at_vertex(head: SphereHead) -> None:
    p = pose_on_sphere(head, (0, 0, 1), 0.0, coil_distance_mm=4.0)
    assert np.allclose(p.center, [0, 0, 0.089], atol=ATOL)
    assert np.allclose(p.z_axis, [0, 0, -1], atol=ATOL)
    assert np.allclose(p.y_axis, [0, 1, 0], atol=ATOL)  # projected head +y
    rot = p.rotation
    assert np.allclose(rot.T @ rot, np.eye(3), atol=ATOL)
    assert math.isclose(np.linalg.det(rot), 1.0, abs_tol=ATOL)


def test_angle_turns_counter_clockwise_seen_from_outside(head: SphereHead) -> None:
    p = pose_on_sphere(head, (0, 0, 1), 90.0)
    assert np.allclose(p.y_axis, [-1, 0, 0], atol=ATOL)


def test_tangent_basis_near_the_y_axis() -> None:
    e1, e2 = tangent_basis(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    assert np.allclose(e1[0], [0, 0, 1], atol=ATOL)
    assert np.allclose(np.cross(e1, e2), [[0, 1, 0], [0, 0, 1]], atol=ATOL)


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)).filter(
        lambda v: sum(c * c for c in v) > 1e-3
    ),
    st.floats(-720.0, 720.0),
)
def test_poses_are_valid_everywhere(
    direction: tuple[float, float, float], angle: float
) -> None:
    p = pose_on_sphere(SphereHead(), direction, angle)
    assert CoilPose.model_validate(p.model_dump()) == p  # idempotent
    u = np.asarray(direction) / np.linalg.norm(direction)
    assert np.allclose(p.z_axis, -u, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1.001, max_value=100.0))
def test_non_unit_axis_raises(scale: float) -> None:
    with pytest.raises(ValueError, match="y_axis"):
        CoilPose(center_m=(0, 0, 0.09), y_axis=(0, scale, 0), z_axis=(0, 0, -1))


def test_non_orthogonal_axes_raise() -> None:
    s = math.sqrt(0.5)
    with pytest.raises(ValueError, match="y_axis"):
        CoilPose(center_m=(0, 0, 0.09), y_axis=(0, s, -s), z_axis=(0, 0, -1))


@settings(max_examples=30, deadline=None)
@given(
    st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=50.001, max_value=1e6))
)
def test_coil_distance_out_of_range(gap: float) -> None:
    with pytest.raises(ValueError, match="coil_distance_mm"):
        pose_on_sphere(SphereHead(), (0, 0, 1), coil_distance_mm=gap)


def test_zero_direction_raises() -> None:
    with pytest.raises(ValueError, match="direction"):
        pose_on_sphere(SphereHead(), (0, 0, 0))
