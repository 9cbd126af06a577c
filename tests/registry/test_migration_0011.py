"""Migration 0011: trials, trial versions, enrolments and unblindings (issue 16)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plptms.registry.db._engine import make_engine
from plptms.registry.db._migrate import current_revision, downgrade, upgrade

NEW = {"trials", "trial_versions", "trial_enrolments", "trial_unblindings"}


def _uniques(insp: sa.Inspector, table: str) -> set[tuple[str, ...]]:
    out = {tuple(u["column_names"]) for u in insp.get_unique_constraints(table)}
    out |= {
        tuple(i["column_names"])
        for i in insp.get_indexes(table)
        if i.get("unique")  # PostgreSQL may report a constraint as a unique index
    }
    return out


def test_0011_upgrades_and_downgrades_keeping_older_rows(db_url: str) -> None:
    from plptms.registry import Registry

    eng = make_engine(db_url)
    upgrade(eng, "0010")
    assert not NEW & set(sa.inspect(eng).get_table_names())
    eng.dispose()
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    eng = make_engine(db_url)
    upgrade(eng, "0011")
    assert current_revision(eng) == "0011"
    insp = sa.inspect(eng)
    assert set(insp.get_table_names()) >= NEW
    cols = {c["name"] for c in insp.get_columns("trial_enrolments")}
    assert {
        "trial_id",
        "version",
        "patient_id",
        "site",
        "allocation_index",
        "arm_id",
        "kit_code",
        "factors",
        "stratum",
        "allocation",
        "enrolled_at",
        "actor",
    } <= cols
    # no column can hold the trial's secret
    assert {c["name"] for c in insp.get_columns("trials")} == {
        "id",
        "slug",
        "title",
        "key_check",
        "created_at",
        "actor",
    }
    uniq = _uniques(insp, "trial_enrolments")
    assert {
        ("trial_id", "allocation_index"),
        ("trial_id", "patient_id"),
        ("trial_id", "kit_code"),
    } <= uniq
    assert ("trial_id", "version") in _uniques(insp, "trial_versions")
    assert ("slug",) in _uniques(insp, "trials")
    eng.dispose()
    eng = make_engine(db_url)
    downgrade(eng, "0010")
    assert current_revision(eng) == "0010"
    names = set(sa.inspect(eng).get_table_names())
    assert not NEW & names
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM patients")).scalar_one() == 1
    upgrade(eng)
    assert NEW <= set(sa.inspect(eng).get_table_names())
    eng.dispose()


def test_0011_unique_constraints_refuse_a_duplicate_allocation(db_url: str) -> None:
    """Even a writer that bypasses the engine cannot store index n twice."""
    from plptms.registry import Registry

    eng = make_engine(db_url)
    upgrade(eng)
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
        reg.add_patient("S1", "P002", history=None, actor="n1")
    row = (
        "INSERT INTO trial_enrolments (trial_id, version, patient_id, site, "
        "allocation_index, arm_id, kit_code, factors, stratum, allocation, "
        "enrolled_at, actor) VALUES (1, 1, :p, 'S1', :i, 'active', :k, '{}', NULL, "
        "'{}', CURRENT_TIMESTAMP, 'x')"
    )
    with eng.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO trials (slug, title, key_check, created_at, actor) "
                "VALUES ('t', 't', 'c', CURRENT_TIMESTAMP, 'x')"
            )
        )
        c.execute(sa.text(row), {"p": 1, "i": 0, "k": "AAAAAAAA"})
    for params in (
        {"p": 2, "i": 0, "k": "BBBBBBBB"},  # index 0 again
        {"p": 1, "i": 1, "k": "BBBBBBBB"},  # patient 1 again
        {"p": 2, "i": 1, "k": "AAAAAAAA"},  # kit code again
    ):
        with pytest.raises(sa.exc.IntegrityError), eng.begin() as c:
            c.execute(sa.text(row), params)
    eng.dispose()
