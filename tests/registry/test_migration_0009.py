"""Migration 0009: adverse events, their reviews and sites (issue 15)."""

from __future__ import annotations

import sqlalchemy as sa

from plptms.registry.db._engine import make_engine
from plptms.registry.db._migrate import current_revision, downgrade, upgrade

NEW = {"adverse_events", "adverse_event_reviews", "sites"}


def test_0009_upgrades_and_downgrades_keeping_older_rows(db_url: str) -> None:
    from plptms.registry import AdverseEventIn, Registry

    eng = make_engine(db_url)
    upgrade(eng, "0008")
    assert not NEW & set(sa.inspect(eng).get_table_names())
    eng.dispose()
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    eng = make_engine(db_url)
    upgrade(eng, "0009")
    assert current_revision(eng) == "0009"
    insp = sa.inspect(eng)
    assert set(insp.get_table_names()) >= NEW
    cols = {c["name"] for c in insp.get_columns("adverse_events")}
    assert {
        "patient_id",
        "delivery_session_id",
        "onset_on",
        "recorded_at",
        "term",
        "severity",
        "serious",
        "relatedness",
        "action_taken",
        "outcome",
        "actor",
    } <= cols
    assert {c["name"] for c in insp.get_columns("sites")} >= {
        "site",
        "name",
        "timezone",
        "updated_at",
        "actor",
    }
    eng.dispose()
    with Registry(db_url) as reg:
        reg.set_site("S1", name="Clinic", timezone="Europe/Berlin", actor="a")
        e = reg.record_adverse_event(
            "S1",
            "P001",
            AdverseEventIn(term="headache", severity="mild", relatedness="possible"),
            actor="n1",
        )
        reg.review_adverse_event(
            e.id, physician="Dr R", note="Resolved.", continue_treatment=True
        )
        assert reg.verify_audit().ok
    eng = make_engine(db_url)
    downgrade(eng, "0008")
    assert current_revision(eng) == "0008"
    names = set(sa.inspect(eng).get_table_names())
    assert not NEW & names
    assert "patients" in names
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM patients")).scalar_one() == 1
    upgrade(eng)
    assert NEW <= set(sa.inspect(eng).get_table_names())
    eng.dispose()
