"""The coil thermal model against its closed form."""

from __future__ import annotations

import math

import pytest

from plptms.delivery import CoilThermalModel

RTOL = 1e-12


def test_pulse_heating_scales_with_intensity_squared() -> None:
    coil = CoilThermalModel(ambient_c=20.0, heat_per_pulse_at_mso_c=0.02)
    assert coil.heat_per_pulse(100.0) == pytest.approx(0.02, rel=RTOL)
    assert coil.heat_per_pulse(50.0) == pytest.approx(0.005, rel=RTOL)
    assert coil.heat_per_pulse(0.0) == pytest.approx(0.0, abs=1e-15)


def test_exponential_cooling() -> None:
    coil = CoilThermalModel(ambient_c=20.0, cooling_tau_s=100.0, initial_c=30.0)
    assert coil.temperature(0.0) == pytest.approx(30.0, rel=RTOL)
    expected = 20.0 + 10.0 * math.exp(-1.0)
    assert coil.temperature(100.0) == pytest.approx(expected, rel=RTOL)
    assert coil.temperature(1e6) == pytest.approx(20.0, rel=RTOL)


def test_train_heating_matches_closed_form() -> None:
    # n pulses every dt: T_n - Ta = step * sum_k exp(-k dt / tau)
    step, tau, dt, n = 0.01, 50.0, 0.1, 200
    coil = CoilThermalModel(
        ambient_c=20.0, heat_per_pulse_at_mso_c=step, cooling_tau_s=tau
    )
    for k in range(n):
        coil.add_pulse(100.0, k * dt)
    r = math.exp(-dt / tau)
    expected = 20.0 + step * (1 - r**n) / (1 - r)
    assert coil.temperature((n - 1) * dt) == pytest.approx(expected, rel=1e-9)


def test_out_of_range_intensity_refused() -> None:
    coil = CoilThermalModel()
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        coil.add_pulse(120.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cooling_tau_s": 0.0}, "cooling_tau_s"),
        ({"heat_per_pulse_at_mso_c": -1.0}, "heat"),
    ],
)
def test_bad_parameters(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CoilThermalModel(**kwargs)
