"""The stimulator dI/dt table."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.efield import STIMULATORS, Stimulator, get_stimulator

RTOL = 1e-12

# Drakaki et al. (2022), Table 2, as in the dIdtmax header of the SimNIBS coil files
EXPECTED_A_PER_US = {
    "magstim_rapid/d70": 114.73,
    "magpro_x100/mcf_b65": 147.86,
    "magpro_x100/cool_b65": 149.77,
    "magpro_x100/c_b60": 155.40,
    "magpro_x100/mc_b70": 155.33,
    "duomag_xt/70bf": 101.06,
    "powermag/pmd70": 241.28,
}


def test_table_values() -> None:
    assert set(STIMULATORS) == set(EXPECTED_A_PER_US)
    for key, value in EXPECTED_A_PER_US.items():
        s = get_stimulator(key)
        assert s.key == key
        assert math.isclose(s.max_didt_a_per_us, value, rel_tol=RTOL)
        assert s.verified
        assert "Drakaki" in s.citation


def test_didt_scales_with_output() -> None:
    s = get_stimulator("magstim_rapid/d70")
    assert math.isclose(s.didt_a_per_s(100.0), 114.73e6, rel_tol=RTOL)
    assert math.isclose(s.didt_a_per_s(50.0), 57.365e6, rel_tol=RTOL)


def test_unknown_key_suggests() -> None:
    with pytest.raises(ValueError, match="Did you mean 'magstim_rapid/d70'"):
        get_stimulator("magstim_rapid/d7")


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=1e-6, max_value=100.0))
def test_output_in_range_passes(pct: float) -> None:
    s = get_stimulator("magpro_x100/mcf_b65")
    assert math.isclose(s.didt_a_per_s(pct), 147.86e6 * pct / 100, rel_tol=RTOL)
    assert s.didt_a_per_s(pct) == s.didt_a_per_s(pct)  # idempotent


@settings(max_examples=50, deadline=None)
@given(
    st.one_of(
        st.floats(min_value=100.0, max_value=1e9, exclude_min=True),
        st.floats(max_value=0.0),
    )
)
def test_output_out_of_range_is_refused_not_clamped(pct: float) -> None:
    with pytest.raises(ValueError, match="intensity_pct_mso") as err:
        get_stimulator("magpro_x100/mcf_b65").didt_a_per_s(pct)
    assert "% MSO" in str(err.value)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.floats(max_value=0.0), st.floats(min_value=1000.01, max_value=1e9)))
def test_table_validator_out_of_range(value: float) -> None:
    with pytest.raises(ValueError, match="max_didt_a_per_us"):
        Stimulator(
            key="x/y",
            stimulator="x",
            coil="y",
            max_didt_a_per_us=value,
            citation="c",
            verified=False,
        )
