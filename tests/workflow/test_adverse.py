"""Adverse events: recorded, reviewed by a physician, checked before a session.

Issue 15: the pre-session check "adverse events since the last session reviewed"
was only an operator flag. Now every recorded adverse event of the patient blocks
the next session until a physician has reviewed it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from plptms.registry import RecordNotFoundError, Registry, RegistryError
from plptms.workflow import (
    AdverseEventInput,
    AdverseEventReviewInput,
    adverse_event_check,
    record_adverse_event,
    review_adverse_event,
    set_site,
)

TODAY = dt.date(2026, 12, 3)


def _event(**changes: Any) -> AdverseEventInput:
    data: dict[str, Any] = {
        "site": "S1",
        "code": "P001",
        "actor": "nurse1",
        "term": "headache",
        "severity": "mild",
        "relatedness": "possible",
    }
    data.update(changes)
    return AdverseEventInput.model_validate(data)


def _entries(reg: Registry) -> int:
    return reg.verify_audit().entries


def _check(reg: Registry, *, confirmed: bool = True) -> Any:
    return adverse_event_check(
        reg, "S1", "P001", operator_confirmed=confirmed, today=TODAY
    )


def test_no_event_passes_only_with_the_operator_confirmation(url: str) -> None:
    with Registry(url) as reg:
        assert _check(reg).passed
        refused = _check(reg, confirmed=False)
        assert not refused.passed
        assert refused.check == "adverse_events"
        assert "operator" in refused.message


def test_an_unreviewed_event_blocks_and_a_review_clears_it(url: str) -> None:
    with Registry(url) as reg:
        rec = record_adverse_event(reg, _event(description="after session 1"))
        assert not rec.urgent
        assert "blocked until a physician reviews" in rec.message
        assert [e.id for e in reg.unreviewed_adverse_events("S1", "P001")] == [
            rec.event.id
        ]
        blocked = _check(reg)
        assert not blocked.passed
        assert f"AE {rec.event.id} (headache, mild" in blocked.message
        review_adverse_event(
            reg,
            AdverseEventReviewInput(
                event_id=rec.event.id, physician="Dr Rev", note="Tension headache."
            ),
        )
        assert reg.unreviewed_adverse_events("S1", "P001") == []
        cleared = _check(reg)
        assert cleared.passed, cleared.message
        # the operator's confirmation is still required
        assert not _check(reg, confirmed=False).passed
        # the audit trail covers both writes and verifies
        report = reg.verify_audit()
        assert report.ok, report.problems
        refs = reg.verify_records(
            [("adverse_events", rec.event.id), ("adverse_event_reviews", 1)]
        )
        assert refs.ok, refs.problems


def test_a_seizure_needs_an_explicit_decision(url: str) -> None:
    """A seizure is the most serious acute TMS risk (Rossi et al., 2009, Table 1).

    Its review must say whether treatment may continue; a review that stops
    treatment blocks later sessions until a newer review allows it.
    """
    with Registry(url) as reg:
        rec = record_adverse_event(
            reg, _event(term="seizure", severity="severe", relatedness="probable")
        )
        assert rec.urgent
        assert "seizure" in rec.message
        before = _entries(reg)
        with pytest.raises(ValueError, match="continue_treatment"):
            review_adverse_event(
                reg,
                AdverseEventReviewInput(
                    event_id=rec.event.id, physician="Dr N", note="Seen in clinic."
                ),
            )
        assert _entries(reg) == before
        assert not reg.get_adverse_event(rec.event.id).reviewed
        review_adverse_event(
            reg,
            AdverseEventReviewInput(
                event_id=rec.event.id,
                physician="Dr N",
                note="Stop until EEG.",
                continue_treatment=False,
            ),
        )
        stopped = _check(reg)
        assert not stopped.passed
        assert "Dr N" in stopped.message
        assert "stopped treatment" in stopped.message
        review_adverse_event(
            reg,
            AdverseEventReviewInput(
                event_id=rec.event.id,
                physician="Dr N",
                note="EEG normal; resume at a lower dose.",
                continue_treatment=True,
            ),
        )
        assert _check(reg).passed
        assert len(reg.get_adverse_event(rec.event.id).reviews) == 2
        assert reg.verify_audit().ok


def test_a_serious_event_is_urgent_and_names_its_criterion(url: str) -> None:
    """Serious (ICH E2A) is not severe: a mild event can be serious and vice versa."""
    with Registry(url) as reg:
        rec = record_adverse_event(
            reg,
            _event(
                term="syncope",
                severity="moderate",
                serious=True,
                serious_criterion="hospitalisation",
            ),
        )
        assert rec.urgent
        assert rec.event.serious_criterion is not None
        assert rec.event.serious_criterion.value == "hospitalisation"
        severe = record_adverse_event(reg, _event(severity="severe"))
        assert not severe.urgent


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"term": "migraine-ish"}, "term"),
        ({"severity": "grade 7"}, "severity"),
        ({"relatedness": "maybe"}, "relatedness"),
        ({"action_taken": "ignored"}, "action_taken"),
        ({"outcome": "fine"}, "outcome"),
        ({"serious": True}, "serious_criterion"),
        ({"serious_criterion": "death"}, "serious_criterion"),
        ({"term": "other"}, "description"),
        ({"description": "x" * 2001}, "description"),
        ({"onset_on": 20261201}, "onset_on"),
        ({"delivery_session_id": 0}, "delivery_session_id"),
        ({"actor": "  "}, "actor"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        _event(**changes)


def test_refusals_store_nothing(url: str) -> None:
    with Registry(url) as reg:
        before = _entries(reg)
        future = dt.date.today() + dt.timedelta(days=3)
        with pytest.raises(RegistryError, match=r"'onset_on'.*" + future.isoformat()):
            record_adverse_event(reg, _event(onset_on=future))
        with pytest.raises(RecordNotFoundError, match="'code'"):
            record_adverse_event(reg, _event(code="P404"))
        with pytest.raises(RegistryError, match="'site'"):
            record_adverse_event(reg, _event(site="bad site"))
        with pytest.raises(RegistryError, match="'delivery_session_id'"):
            record_adverse_event(reg, _event(delivery_session_id=99))
        with pytest.raises(RecordNotFoundError, match="'event_id'"):
            review_adverse_event(
                reg,
                AdverseEventReviewInput(event_id=42, physician="Dr X", note="none ok"),
            )
        with pytest.raises(ValidationError, match="note"):
            AdverseEventReviewInput(event_id=1, physician="Dr X", note="ok")
        with pytest.raises(ValidationError, match="physician"):
            AdverseEventReviewInput(event_id=1, physician=" ", note="seen, fine")
        assert reg.list_adverse_events("S1", "P001") == []
        assert _entries(reg) == before


def test_the_onset_default_is_the_sites_date(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 2026-12-03 23:30 UTC it is 12-04 at UTC+14 and 12-03 at UTC-11.

    Pacific/Kiritimati is UTC+14 and Pacific/Pago_Pago UTC-11, neither with
    daylight saving time (IANA tz database): 23:30 + 14 h is 13:30 the next day,
    23:30 - 11 h is 12:30 the same day.
    """
    import plptms.registry._adverse as adverse

    instant = dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(adverse, "utc_now", lambda: instant)
    monkeypatch.setenv("PLPTMS_TIMEZONE", "UTC")
    with Registry(url) as reg:
        set_site(
            reg, "S1", name="Line Islands", timezone="Pacific/Kiritimati", actor="a"
        )
        ahead = record_adverse_event(reg, _event())
        assert ahead.event.onset_on == dt.date(2026, 12, 4)
        # the site's 12-04 is not in the future there...
        on_4th = record_adverse_event(reg, _event(onset_on=dt.date(2026, 12, 4)))
        assert on_4th.event.onset_on == dt.date(2026, 12, 4)
        set_site(reg, "S1", name="Samoa", timezone="Pacific/Pago_Pago", actor="a")
        behind = record_adverse_event(reg, _event())
        assert behind.event.onset_on == dt.date(2026, 12, 3)
        # ...but it is at UTC-11
        with pytest.raises(RegistryError, match=r"'onset_on'.*2026-12-03"):
            record_adverse_event(reg, _event(onset_on=dt.date(2026, 12, 4)))
        assert reg.verify_audit().ok


def test_an_event_tied_to_a_session_of_the_patient(url: str) -> None:
    with Registry(url) as reg:
        aid = reg.list_assignments("S1", "P001")[0].id
        sid = reg.start_delivery(
            aid, 1, device="sim", plan={}, blinded=False, actor="tech1"
        )
        rec = record_adverse_event(reg, _event(delivery_session_id=sid))
        assert rec.event.delivery_session_id == sid
        reg.add_patient("S1", "P002", history=None, actor="n1")
        with pytest.raises(RegistryError, match="'delivery_session_id'"):
            record_adverse_event(reg, _event(code="P002", delivery_session_id=sid))
        assert reg.list_adverse_events("S1", "P002") == []


def test_an_edit_outside_plptms_fails_verification(url: str) -> None:
    """Adverse events and reviews are audited tables: a silent edit is caught."""
    with Registry(url) as reg:
        rec = record_adverse_event(reg, _event(severity="severe"))
        review_adverse_event(
            reg,
            AdverseEventReviewInput(
                event_id=rec.event.id, physician="Dr R", note="Seen, resolved."
            ),
        )
        assert reg.verify_audit().ok
        with reg.engine.begin() as conn:
            conn.execute(sa.text("UPDATE adverse_events SET severity = 'mild'"))
        report = reg.verify_audit()
        assert not report.ok
        assert any("adverse_events row" in p for p in report.problems)
        with reg.engine.begin() as conn:
            conn.execute(sa.text("UPDATE adverse_events SET severity = 'severe'"))
            conn.execute(
                sa.text("UPDATE adverse_event_reviews SET continue_treatment = false")
            )
        report = reg.verify_audit()
        assert any("adverse_event_reviews row" in p for p in report.problems)
