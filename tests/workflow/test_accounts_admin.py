"""Role change, unlock, own password change and server-side web sessions.

Oracles: argon2-cffi verifies the passwords (the old one still signs in after
a refused change, the new one after an accepted one); the audit log's rows
(actor, action, reason) are read back with SQL; the lockout after five wrong
current passwords comes from the constants (5 failures, 15 minutes); session
ends are hand-placed around the 30 min idle timeout and 8 h limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import RecordNotFoundError, Registry
from plptms.workflow._accounts import (
    LoginRefusedError,
    UserInput,
    authenticate,
    create_user,
    deactivate_user,
    principal_for,
    set_password,
)
from plptms.workflow._accounts_admin import change_own_password, change_role, unlock
from plptms.workflow._web_sessions import (
    SESSION_REFRESH,
    end_web_session,
    start_web_session,
    web_session_user,
)

T0 = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
ADMIN_PW = "correct horse battery"
OP_PW = "staple ink window"
NEW_PW = "a brand new passphrase"
IDLE_S = 30 * 60
MAX_AGE_S = 8 * 3600
SIDS = ("a" * 43, "b" * 43, "c" * 43)


@pytest.fixture
def reg(db_url: str) -> Iterator[Registry]:
    with Registry(db_url) as r:
        yield r


def _counts(reg: Registry) -> tuple[int, int, int]:
    with reg.engine.connect() as c:
        return tuple(  # type: ignore[return-value]
            int(c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("audit_log", "web_sessions", "login_throttle")
        )


def _audit(reg: Registry, action: str) -> list[Any]:
    q = "SELECT actor, action, reason FROM audit_log WHERE action = :a ORDER BY seq"
    with reg.engine.connect() as c:
        return list(c.execute(sa.text(q), {"a": action}).all())


def _user(reg: Registry, name: str, role: Role, by: Principal | None) -> Principal:
    create_user(
        reg,
        UserInput(
            username=name, display_name=name.title(), role=role,
            sites=frozenset({"S1"}), password=ADMIN_PW if by is None else OP_PW,
        ),
        by=by,
    )  # fmt: skip
    return principal_for(reg, name)


@pytest.fixture
def people(reg: Registry) -> tuple[Principal, Principal]:
    admin = _user(reg, "admin", Role.ADMINISTRATOR, None)
    return admin, _user(reg, "op1", Role.OPERATOR, admin)


def _start(reg: Registry, username: str, sid: str) -> None:
    start_web_session(reg, username, sid, now=T0, max_age_s=MAX_AGE_S)


def _live(reg: Registry, sid: str, at: dt.datetime = T0) -> bool:
    try:
        web_session_user(reg, sid, now=at, idle_timeout_s=IDLE_S)
    except LoginRefusedError:
        return False
    return True


# --------------------------------------------------------------- sessions
def test_session_stores_the_digest_and_ends_at_sign_out(reg: Registry) -> None:
    _start(reg, "dr1", SIDS[0])
    found = reg.web_session(hashlib.sha256(SIDS[0].encode()).hexdigest())
    assert found is not None
    assert found.username == "dr1"
    assert web_session_user(reg, SIDS[0], now=T0, idle_timeout_s=IDLE_S) == "dr1"
    assert end_web_session(reg, SIDS[0], now=T0)
    assert not end_web_session(reg, SIDS[0], now=T0)
    with pytest.raises(LoginRefusedError, match="ended at"):
        web_session_user(reg, SIDS[0], now=T0, idle_timeout_s=IDLE_S)
    with pytest.raises(LoginRefusedError, match="unknown"):
        web_session_user(reg, SIDS[1], now=T0, idle_timeout_s=IDLE_S)
    with pytest.raises(LoginRefusedError, match="unknown"):
        web_session_user(reg, "short", now=T0, idle_timeout_s=IDLE_S)


def test_idle_and_absolute_ends(reg: Registry) -> None:
    _start(reg, "dr1", SIDS[0])
    minute = dt.timedelta(minutes=1)
    # a request 29 min in refreshes last seen; 29 min later it is still live
    assert _live(reg, SIDS[0], T0 + 29 * minute)
    assert _live(reg, SIDS[0], T0 + 58 * minute)
    # then 30 min 1 s of silence ends it
    assert not _live(reg, SIDS[0], T0 + 88 * minute + dt.timedelta(seconds=1))
    _start(reg, "dr1", SIDS[1])
    for k in range(1, 25):  # active every 20 min: live up to 8 h exactly
        assert _live(reg, SIDS[1], T0 + 20 * k * minute)
    with pytest.raises(LoginRefusedError, match="ended at"):
        web_session_user(
            reg, SIDS[1], now=T0 + dt.timedelta(hours=8, seconds=1),
            idle_timeout_s=IDLE_S,
        )  # fmt: skip


def test_last_seen_is_written_at_most_once_a_minute(reg: Registry) -> None:
    _start(reg, "dr1", SIDS[0])
    digest = hashlib.sha256(SIDS[0].encode()).hexdigest()
    for s in (10, 30, 59):
        assert _live(reg, SIDS[0], T0 + dt.timedelta(seconds=s))
    found = reg.web_session(digest)
    assert found is not None
    assert found.last_seen_at == T0
    assert _live(reg, SIDS[0], T0 + SESSION_REFRESH)
    found = reg.web_session(digest)
    assert found is not None
    assert found.last_seen_at == T0 + SESSION_REFRESH


def test_deactivation_ends_every_session(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    admin, _ = people
    _start(reg, "op1", SIDS[0])
    _start(reg, "op1", SIDS[1])
    _start(reg, "admin", SIDS[2])
    deactivate_user(reg, "op1", by=admin)
    assert not _live(reg, SIDS[0])
    assert not _live(reg, SIDS[1])
    assert _live(reg, SIDS[2])


# ------------------------------------------------------------- role change
def test_role_change_is_audited_and_ends_the_users_sessions(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    admin, _ = people
    _start(reg, "op1", SIDS[0])
    _start(reg, "admin", SIDS[1])
    user = change_role(reg, admin, "op1", "physician", "now a trial physician")
    assert user.role is Role.PHYSICIAN
    assert principal_for(reg, "op1").role is Role.PHYSICIAN
    assert not _live(reg, SIDS[0])
    assert _live(reg, SIDS[1])
    rows = _audit(reg, "update")
    assert (rows[-1].actor, rows[-1].reason) == ("admin", "now a trial physician")


def test_role_change_refusals_change_nothing(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    admin, op = people
    _start(reg, "op1", SIDS[0])
    before = _counts(reg)
    with pytest.raises(AccessDeniedError):
        change_role(reg, op, "op1", "administrator", "promote myself")
    with pytest.raises(ValueError, match="'role'"):
        change_role(reg, admin, "op1", "wizard", "x")
    with pytest.raises(ValueError, match="'role'"):
        change_role(reg, admin, "op1", "operator", "same role")
    with pytest.raises(ValueError, match="'reason'"):
        change_role(reg, admin, "op1", "rater", "  ")
    with pytest.raises(RecordNotFoundError, match="'username'"):
        change_role(reg, admin, "nobody", "rater", "x")
    assert _counts(reg) == before
    assert principal_for(reg, "op1").role is Role.OPERATOR
    assert _live(reg, SIDS[0])


def test_the_last_active_administrator_keeps_the_role(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    admin, _ = people
    before = _counts(reg)
    with pytest.raises(ValueError, match="last active administrator"):
        change_role(reg, admin, "admin", "monitor", "step down")
    assert _counts(reg) == before
    # a second administrator, then deactivated: still the last active one
    change_role(reg, admin, "op1", "administrator", "second admin")
    deactivate_user(reg, "op1", by=admin)
    with pytest.raises(ValueError, match="last active administrator"):
        change_role(reg, admin, "admin", "monitor", "step down")
    # with another active administrator the step down is allowed
    _user(reg, "admin2", Role.ADMINISTRATOR, admin)
    assert change_role(reg, admin, "admin", "monitor", "step down").role is Role.MONITOR


# ------------------------------------------------------------------ unlock
def test_unlock_clears_a_lockout(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    admin, op = people
    for i in range(5):
        with pytest.raises(LoginRefusedError):
            authenticate(
                reg, "op1", "wrong password!", now=T0 + dt.timedelta(seconds=i)
            )
    with pytest.raises(LoginRefusedError, match="locked until"):
        authenticate(reg, "op1", OP_PW, now=T0 + dt.timedelta(minutes=1))
    with pytest.raises(AccessDeniedError):
        unlock(reg, op, "op1")
    with pytest.raises(RecordNotFoundError, match="'username'"):
        unlock(reg, admin, "nobody")
    assert unlock(reg, admin, "op1", now=T0 + dt.timedelta(minutes=2))
    assert not unlock(reg, admin, "op1", now=T0 + dt.timedelta(minutes=2))
    assert authenticate(reg, "op1", OP_PW, now=T0 + dt.timedelta(minutes=3)) == op
    (row,) = _audit(reg, "sign_in_unlock")
    assert row.actor == "admin"
    assert "5 failed attempts cleared" in row.reason
    assert "lifted" in row.reason


# --------------------------------------------------------- own password
def test_own_password_change_keeps_this_session_only(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    _, op = people
    for sid in SIDS:
        _start(reg, "op1", sid)
    ended = change_own_password(reg, op, OP_PW, NEW_PW, keep_sid=SIDS[1], now=T0)
    assert ended == 2
    assert [_live(reg, s) for s in SIDS] == [False, True, False]
    assert authenticate(reg, "op1", NEW_PW, now=T0) == op
    with pytest.raises(LoginRefusedError):
        authenticate(reg, "op1", OP_PW, now=T0)


def test_wrong_current_password_is_refused_and_counted(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    _, op = people
    _start(reg, "op1", SIDS[0])
    _start(reg, "op1", SIDS[1])
    with pytest.raises(ValueError, match="'password'"):  # policy: nothing counted
        change_own_password(reg, op, OP_PW, "short", keep_sid=SIDS[0], now=T0)
    for i in range(4):
        with pytest.raises(LoginRefusedError, match="'current_password'"):
            change_own_password(
                reg, op, "not my password", NEW_PW, now=T0 + dt.timedelta(seconds=i)
            )
    with pytest.raises(LoginRefusedError, match="locked until"):
        change_own_password(
            reg, op, "not my password", NEW_PW, now=T0 + dt.timedelta(seconds=5)
        )
    # locked: the right current password is refused too, and so is sign-in
    with pytest.raises(LoginRefusedError, match="locked until"):
        change_own_password(reg, op, OP_PW, NEW_PW, now=T0 + dt.timedelta(seconds=6))
    with pytest.raises(LoginRefusedError, match="locked until"):
        authenticate(reg, "op1", OP_PW, now=T0 + dt.timedelta(seconds=7))
    later = T0 + dt.timedelta(minutes=16)
    assert authenticate(reg, "op1", OP_PW, now=later) == op  # unchanged
    assert _live(reg, SIDS[0])  # nothing revoked
    assert _live(reg, SIDS[1])


def test_an_administrators_reset_ends_every_session(
    reg: Registry, people: tuple[Principal, Principal]
) -> None:
    admin, _ = people
    _start(reg, "op1", SIDS[0])
    set_password(reg, "op1", NEW_PW, by=admin)
    assert not _live(reg, SIDS[0])
