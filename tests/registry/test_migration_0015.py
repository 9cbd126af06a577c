"""Migration 0015: server-side web sessions (issue 17, third slice)."""

from __future__ import annotations

import sqlalchemy as sa

from plptms.registry.db._engine import make_engine
from plptms.registry.db._migrate import current_revision, downgrade, upgrade


def test_0015_upgrades_and_downgrades_keeping_older_rows(db_url: str) -> None:
    from plptms.registry import Registry

    eng = make_engine(db_url)
    upgrade(eng, "0014")
    assert "web_sessions" not in sa.inspect(eng).get_table_names()
    eng.dispose()
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    eng = make_engine(db_url)
    upgrade(eng, "0015")
    assert current_revision(eng) == "0015"
    insp = sa.inspect(eng)
    assert {c["name"] for c in insp.get_columns("web_sessions")} == {
        "id", "sid_sha256", "username", "created_at", "last_seen_at",
        "expires_at", "revoked_at",
    }  # fmt: skip
    uniques = {
        tuple(u["column_names"]) for u in insp.get_unique_constraints("web_sessions")
    } | {
        tuple(i["column_names"])
        for i in insp.get_indexes("web_sessions")
        if i.get("unique")
    }
    assert ("sid_sha256",) in uniques
    assert ["username"] in [i["column_names"] for i in insp.get_indexes("web_sessions")]
    if eng.dialect.name == "postgresql":
        with eng.connect() as c:
            granted = c.execute(
                sa.text(
                    "SELECT has_table_privilege('plptms_site_user', 'web_sessions', "
                    "'SELECT'), has_table_privilege('plptms_site_user', 'patients', "
                    "'SELECT')"
                )
            ).one()
        assert tuple(granted) == (False, True)
    eng.dispose()
    eng = make_engine(db_url)
    downgrade(eng, "0014")
    assert current_revision(eng) == "0014"
    assert "web_sessions" not in sa.inspect(eng).get_table_names()
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM patients")).scalar_one() == 1
    upgrade(eng)
    assert "web_sessions" in sa.inspect(eng).get_table_names()
    eng.dispose()
