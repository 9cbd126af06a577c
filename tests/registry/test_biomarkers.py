"""Session biomarkers in the registry: stored, validated, audited, per patient."""

from __future__ import annotations

import math
from typing import Any

import pytest
from tests._review import REVIEW

from plptms.registry import RecordNotFoundError, Registry, RegistryError


def _values(**update: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        "duration_s": 125.0,
        "sfreq_hz": 160.0,
        "derivation": "C3 Hjorth",
        "unit": "V",
        "theta_power": 2.9e-12,
        "alpha_power": 3.7e-12,
        "beta_power": 4.5e-12,
        "theta_rel": 0.26,
        "alpha_rel": 0.33,
        "beta_rel": 0.41,
        "mu_peak_hz": 12.5,
        "mu_snr_db": 7.6,
        "n_triggers": 39,
        "trigger_rate_per_min": 18.7,
        "target_phase_deg": 180.0,
        "estimated_mean_deg": -172.0,
        "estimated_resultant": 0.996,
        "true_mean_error_deg": 8.7,
        "true_circular_sd_deg": 35.5,
        "true_within_45": 0.87,
    }
    v.update(update)
    return v


def _delivery(reg: Registry, code: str) -> int:
    from plptms.protocol import load_library
    from plptms.safety import check_protocol

    reg.add_patient("S1", code, history=None, actor="nurse1")
    proto = load_library().protocol("consensus2024-example-10hz")
    aid = reg.assign_protocol(
        "S1", code, proto, check_protocol(proto, review=REVIEW), actor="dr1"
    )
    return reg.start_delivery(aid, 1, device="sim", plan={}, blinded=False, actor="t")


def test_record_and_list_biomarkers(registry: Registry) -> None:
    sid = _delivery(registry, "P001")
    rid = registry.record_biomarkers(
        "S1",
        "P001",
        _values(),
        source="closedloop",
        delivery_session_id=sid,
        actor="tech1",
    )
    registry.record_biomarkers(
        "S1",
        "P001",
        _values(n_triggers=0, true_circular_sd_deg=None, mu_peak_hz=None),
        source="resting",
        actor="tech1",
    )
    rows = registry.list_biomarkers("S1", "P001")
    assert len(rows) == 2
    assert rows[0].id == rid
    assert rows[0].delivery_session_id == sid
    assert rows[0].alpha_power == pytest.approx(3.7e-12)
    assert rows[0].values["true_within_45"] == pytest.approx(0.87)
    assert rows[1].mu_peak_hz is None
    assert rows[1].source == "resting"
    assert registry.verify_audit().ok


def test_nan_values_are_stored_as_null(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    registry.record_biomarkers(
        "S1", "P001", _values(theta_rel=math.nan), source="resting", actor="t1"
    )
    assert registry.list_biomarkers("S1", "P001")[0].values["theta_rel"] is None


@pytest.mark.parametrize(
    ("update", "match"),
    [
        ({"alpha_power": -1.0}, "biomarkers.alpha_power"),
        ({"beta_power": math.inf}, "biomarkers.beta_power"),
        ({"mu_peak_hz": math.nan}, "biomarkers.mu_peak_hz"),
        ({"n_triggers": -3}, "biomarkers.n_triggers"),
        ({"n_triggers": 2.5}, "biomarkers.n_triggers"),
    ],
)
def test_bad_biomarkers_are_refused_and_nothing_is_stored(
    registry: Registry, update: dict[str, Any], match: str
) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    with pytest.raises(RegistryError, match=match):
        registry.record_biomarkers(
            "S1", "P001", _values(**update), source="closedloop", actor="t1"
        )
    assert registry.list_biomarkers("S1", "P001") == []


def test_missing_fields_source_and_foreign_sessions_are_refused(
    registry: Registry,
) -> None:
    sid = _delivery(registry, "P001")
    registry.add_patient("S1", "P002", history=None, actor="nurse1")
    values = _values()
    del values["alpha_power"]
    with pytest.raises(RegistryError, match="missing alpha_power"):
        registry.record_biomarkers("S1", "P002", values, source="resting", actor="t")
    with pytest.raises(ValueError, match="'source'"):
        registry.record_biomarkers("S1", "P002", _values(), source="eeg", actor="t")
    with pytest.raises(RecordNotFoundError, match="delivery_session_id"):
        registry.record_biomarkers(
            "S1",
            "P002",
            _values(),
            source="closedloop",
            delivery_session_id=sid,
            actor="t",
        )
    assert registry.list_biomarkers("S1", "P002") == []


def test_an_overlong_derivation_is_refused_not_truncated(registry: Registry) -> None:
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    with pytest.raises(RegistryError, match=r"biomarkers\.derivation"):
        registry.record_biomarkers(
            "S1", "P001", _values(derivation="C3 " * 20), source="resting", actor="t"
        )
    assert registry.list_biomarkers("S1", "P001") == []
