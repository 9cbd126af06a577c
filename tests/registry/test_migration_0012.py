"""Migration 0012: trial follow-up tables (issue 16)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plptms.registry.db._engine import make_engine
from plptms.registry.db._migrate import current_revision, downgrade, upgrade

NEW = {
    "trial_visits",
    "trial_withdrawals",
    "trial_cointerventions",
    "trial_medication_changes",
    "trial_blinding_guesses",
    "trial_screening_outcomes",
}


def _uniques(insp: sa.Inspector, table: str) -> set[tuple[str, ...]]:
    out = {tuple(u["column_names"]) for u in insp.get_unique_constraints(table)}
    out |= {
        tuple(i["column_names"])
        for i in insp.get_indexes(table)
        if i.get("unique")  # PostgreSQL may report a constraint as a unique index
    }
    return out


def test_0012_upgrades_and_downgrades_keeping_older_rows(db_url: str) -> None:
    from plptms.registry import Registry

    eng = make_engine(db_url)
    upgrade(eng, "0011")
    assert not NEW & set(sa.inspect(eng).get_table_names())
    eng.dispose()
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    eng = make_engine(db_url)
    upgrade(eng, "0012")
    assert current_revision(eng) == "0012"
    insp = sa.inspect(eng)
    assert set(insp.get_table_names()) >= NEW
    assert {c["name"] for c in insp.get_columns("trial_visits")} == {
        "id", "enrolment_id", "visit_key", "visit_id", "version", "done_on",
        "out_of_window", "days_outside", "deviation_reason", "actor", "at",
    }  # fmt: skip
    # no follow-up table holds an arm: the arm stays in trial_enrolments
    for table in NEW:
        assert "arm_id" not in {c["name"] for c in insp.get_columns(table)}
    fks = {
        (tuple(f["constrained_columns"]), f["referred_table"])
        for f in insp.get_foreign_keys("trial_visits")
    }
    assert fks == {(("enrolment_id",), "trial_enrolments"), (("visit_id",), "visits")}
    assert ("enrolment_id", "visit_key") in _uniques(insp, "trial_visits")
    assert ("enrolment_id",) in _uniques(insp, "trial_withdrawals")
    assert ("trial_visit_id", "respondent") in _uniques(insp, "trial_blinding_guesses")
    assert ("trial_id", "patient_id") in _uniques(insp, "trial_screening_outcomes")
    eng.dispose()
    eng = make_engine(db_url)
    downgrade(eng, "0011")
    assert current_revision(eng) == "0011"
    names = set(sa.inspect(eng).get_table_names())
    assert not NEW & names
    assert {"trials", "trial_enrolments"} <= names
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM patients")).scalar_one() == 1
    upgrade(eng)
    assert NEW <= set(sa.inspect(eng).get_table_names())
    eng.dispose()


def test_0012_a_visit_is_recorded_once_per_enrolment(db_url: str) -> None:
    """Even a writer that bypasses the registry cannot store a visit twice."""
    from plptms.registry import Registry

    eng = make_engine(db_url)
    upgrade(eng)
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    with eng.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO trials (slug, title, key_check, created_at, actor) "
                "VALUES ('t', 't', 'c', CURRENT_TIMESTAMP, 'x')"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO trial_enrolments (trial_id, version, patient_id, site, "
                "allocation_index, arm_id, kit_code, factors, stratum, allocation, "
                "enrolled_at, actor) VALUES (1, 1, 1, 'S1', 0, 'a', 'AAAAAAAA', "
                "'{}', NULL, '{}', CURRENT_TIMESTAMP, 'x')"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO visits (patient_id, visit_date, kind, note, created_at) "
                "VALUES (1, '2026-03-02', 'baseline', '', CURRENT_TIMESTAMP)"
            )
        )
    row = (
        "INSERT INTO trial_visits (enrolment_id, visit_key, visit_id, version, "
        "done_on, out_of_window, days_outside, deviation_reason, actor, at) VALUES "
        "(1, 'baseline', 1, 1, '2026-03-02', :o, 0, NULL, 'x', CURRENT_TIMESTAMP)"
    )
    with eng.begin() as c:
        c.execute(sa.text(row), {"o": False})
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as c:
        c.execute(sa.text(row), {"o": False})
    eng.dispose()
