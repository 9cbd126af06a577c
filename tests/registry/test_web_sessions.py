"""Server-side web sessions in the registry (migration 0015, ``_web_sessions``).

Oracles: hashlib's SHA-256 of the id is what is stored (the id itself is found
nowhere in the table); the times are the ones given; the revocation counts are
counted by hand from the sessions started. On PostgreSQL the site-scoped role
of migration 0014 is refused the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from plptms.registry import DuplicateRecordError, Registry, RegistryError

T0 = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
SID = "s" * 43
HOUR = dt.timedelta(hours=1)


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _rows(reg: Registry) -> list[tuple[object, ...]]:
    with reg.engine.connect() as c:
        return [tuple(r) for r in c.execute(sa.text("SELECT * FROM web_sessions"))]


def test_only_the_digest_is_stored_and_read_back(registry: Registry) -> None:
    out = registry.add_web_session(
        "dr1", sid_sha256=_digest(SID), at=T0, expires_at=T0 + 8 * HOUR
    )
    assert (out.username, out.created_at, out.last_seen_at) == ("dr1", T0, T0)
    assert out.expires_at == T0 + 8 * HOUR
    assert out.revoked_at is None
    assert registry.web_session(_digest(SID)) == out
    rows = _rows(registry)
    assert len(rows) == 1
    assert _digest(SID) in rows[0]
    assert not any(SID in str(v) for v in rows[0])
    assert registry.web_session(_digest("t" * 43)) is None


def test_bad_input_stores_nothing(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="sid_sha256"):
        registry.add_web_session("dr1", sid_sha256=SID, at=T0, expires_at=T0 + HOUR)
    with pytest.raises(RegistryError, match="expires_at"):
        registry.add_web_session("dr1", sid_sha256=_digest(SID), at=T0, expires_at=T0)
    with pytest.raises(RegistryError, match="username"):
        registry.add_web_session(
            "Not A Name", sid_sha256=_digest(SID), at=T0, expires_at=T0 + HOUR
        )
    assert _rows(registry) == []
    registry.add_web_session(
        "dr1", sid_sha256=_digest(SID), at=T0, expires_at=T0 + HOUR
    )
    with pytest.raises(DuplicateRecordError, match="sid_sha256"):
        registry.add_web_session(
            "dr2", sid_sha256=_digest(SID), at=T0, expires_at=T0 + HOUR
        )
    assert len(_rows(registry)) == 1


def test_touch_moves_last_seen_forward_only(registry: Registry) -> None:
    d = _digest(SID)
    registry.add_web_session("dr1", sid_sha256=d, at=T0, expires_at=T0 + HOUR)
    later = T0 + dt.timedelta(minutes=5)
    assert registry.touch_web_session(d, at=later)
    assert not registry.touch_web_session(d, at=T0)  # never backwards
    found = registry.web_session(d)
    assert found is not None
    assert found.last_seen_at == later


def test_revoke_one_and_all_but_one(registry: Registry) -> None:
    sids = [c * 43 for c in "abc"]
    for sid in sids:
        registry.add_web_session(
            "dr1", sid_sha256=_digest(sid), at=T0, expires_at=T0 + HOUR
        )
    registry.add_web_session(
        "dr2", sid_sha256=_digest("d" * 43), at=T0, expires_at=T0 + HOUR
    )
    at = T0 + dt.timedelta(minutes=1)
    assert registry.revoke_web_session(_digest(sids[0]), at=at)
    assert not registry.revoke_web_session(_digest(sids[0]), at=at)  # once
    assert not registry.touch_web_session(_digest(sids[0]), at=at + HOUR)
    # two live sessions of dr1, one kept: one revoked; dr2's untouched
    assert (
        registry.revoke_web_sessions("dr1", at=at, keep_sid_sha256=_digest(sids[2]))
        == 1
    )
    live = [s for s in registry.list_web_sessions("dr1") if s.revoked_at is None]
    assert [s.id for s in live] == [3]
    assert registry.revoke_web_sessions("dr1", at=at) == 1
    assert registry.revoke_web_sessions("dr1", at=at) == 0
    dr2 = registry.list_web_sessions("dr2")
    assert [s.revoked_at for s in dr2] == [None]
    revoked = registry.web_session(_digest(sids[0]))
    assert revoked is not None
    assert revoked.revoked_at == at


def test_the_site_scoped_role_cannot_read_the_table(registry: Registry) -> None:
    registry.add_web_session(
        "dr1", sid_sha256=_digest(SID), at=T0, expires_at=T0 + HOUR
    )
    view = registry.scoped(frozenset({"S01"}))
    if registry.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles: the application layer is the wall")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        with view._read() as s:
            s.execute(sa.text("SELECT count(*) FROM web_sessions")).scalar_one()
    # the unscoped registry (the web app's session check) still reads it
    assert registry.web_session(_digest(SID)) is not None


def test_rows_ended_over_a_month_ago_are_deleted_at_a_later_sign_in(
    registry: Registry,
) -> None:
    from plptms.registry._web_sessions import WEB_SESSION_KEEP

    assert dt.timedelta(days=30) == WEB_SESSION_KEEP
    registry.add_web_session(
        "dr1", sid_sha256=_digest("a" * 43), at=T0, expires_at=T0 + HOUR
    )
    registry.add_web_session(
        "dr1", sid_sha256=_digest("b" * 43), at=T0 + HOUR, expires_at=T0 + 2 * HOUR
    )
    # exactly 30 days after the first one ended: kept
    later = T0 + HOUR + WEB_SESSION_KEEP
    registry.add_web_session(
        "dr2", sid_sha256=_digest("c" * 43), at=later, expires_at=later + HOUR
    )
    assert len(_rows(registry)) == 3
    # a second later: the first one goes, the second (ended an hour later) stays
    later += dt.timedelta(seconds=1)
    registry.add_web_session(
        "dr2", sid_sha256=_digest("d" * 43), at=later, expires_at=later + HOUR
    )
    assert registry.web_session(_digest("a" * 43)) is None
    assert registry.web_session(_digest("b" * 43)) is not None
    assert len(_rows(registry)) == 3
