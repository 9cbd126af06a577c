"""Migration 0013: user accounts, their password hashes, sites, API tokens and the
sign-in throttle (issue 17)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from plptms.registry.db._engine import make_engine
from plptms.registry.db._migrate import current_revision, downgrade, upgrade

NEW = {"users", "user_credentials", "user_sites", "api_tokens", "login_throttle"}


def _uniques(insp: sa.Inspector, table: str) -> set[tuple[str, ...]]:
    out = {tuple(u["column_names"]) for u in insp.get_unique_constraints(table)}
    out |= {
        tuple(i["column_names"])
        for i in insp.get_indexes(table)
        if i.get("unique")  # PostgreSQL may report a constraint as a unique index
    }
    return out


def test_0013_upgrades_and_downgrades_keeping_older_rows(db_url: str) -> None:
    from plptms.registry import Registry

    eng = make_engine(db_url)
    upgrade(eng, "0012")
    assert not NEW & set(sa.inspect(eng).get_table_names())
    eng.dispose()
    with Registry(db_url, migrate=False) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
    eng = make_engine(db_url)
    upgrade(eng, "0013")
    assert current_revision(eng) == "0013"
    insp = sa.inspect(eng)
    assert set(insp.get_table_names()) >= NEW
    assert {c["name"] for c in insp.get_columns("users")} == {
        "id", "username", "display_name", "role", "password_hash_sha256",
        "password_set_at", "active", "created_at", "actor",
    }  # fmt: skip
    # the hash itself lives apart from the audited, exported users row
    assert {c["name"] for c in insp.get_columns("user_credentials")} == {
        "user_id", "password_hash",
    }  # fmt: skip
    assert {c["name"] for c in insp.get_columns("api_tokens")} == {
        "id", "user_id", "token_sha256", "label", "created_at", "expires_at",
        "revoked_at", "actor",
    }  # fmt: skip
    assert {c["name"] for c in insp.get_columns("login_throttle")} == {
        "id", "username", "failures", "window_start", "locked_until",
    }  # fmt: skip
    assert ("username",) in _uniques(insp, "users")
    assert ("user_id", "site") in _uniques(insp, "user_sites")
    assert ("token_sha256",) in _uniques(insp, "api_tokens")
    assert ("username",) in _uniques(insp, "login_throttle")
    for table in ("user_credentials", "user_sites", "api_tokens"):
        fks = {
            (tuple(f["constrained_columns"]), f["referred_table"])
            for f in insp.get_foreign_keys(table)
        }
        assert fks == {(("user_id",), "users")}
    eng.dispose()
    eng = make_engine(db_url)
    downgrade(eng, "0012")
    assert current_revision(eng) == "0012"
    assert not NEW & set(sa.inspect(eng).get_table_names())
    with eng.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM patients")).scalar_one() == 1
    upgrade(eng)
    assert NEW <= set(sa.inspect(eng).get_table_names())
    eng.dispose()


def test_0013_a_username_and_a_token_digest_are_stored_once(db_url: str) -> None:
    """Even a writer that bypasses the registry cannot store either twice."""
    eng = make_engine(db_url)
    upgrade(eng)
    user = (
        "INSERT INTO users (username, display_name, role, password_hash_sha256, "
        "password_set_at, active, created_at, actor) VALUES ('a', 'A', "
        "'administrator', :fp, :t, true, :t, 'a')"
    )
    args = {"fp": "0" * 64, "t": "2027-01-04 09:00:00+00:00"}
    with eng.begin() as c:
        c.execute(sa.text(user), args)
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as c:
        c.execute(sa.text(user), args)
    token = (
        "INSERT INTO api_tokens (user_id, token_sha256, label, created_at, "
        "expires_at, actor) VALUES (1, :d, 'x', :t, :t, 'a')"
    )
    with eng.begin() as c:
        c.execute(sa.text(token), {"d": "f" * 64, "t": args["t"]})
    with pytest.raises(sa.exc.IntegrityError), eng.begin() as c:
        c.execute(sa.text(token), {"d": "f" * 64, "t": args["t"]})
    eng.dispose()
