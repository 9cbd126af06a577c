"""User accounts, sign-in and API tokens (plptms.workflow._accounts).

Oracles: argon2-cffi's own PasswordHasher verifies the stored hash; hashlib's
SHA-256 of the plaintext is the stored token digest; the lockout times are
computed by hand from the constants (5 failures, 15 minutes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import Registry, RegistryError
from plptms.workflow._accounts import (
    LoginRefusedError,
    UserInput,
    authenticate,
    create_user,
    deactivate_user,
    issue_api_token,
    list_api_tokens,
    list_users,
    principal_for,
    principal_from_token,
    revoke_api_token,
    set_password,
    set_user_sites,
)

T0 = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
ADMIN_PW = "correct horse battery"
OP_PW = "staple ink window"
TABLES = ("users", "user_credentials", "user_sites", "api_tokens", "audit_log")


@pytest.fixture
def reg(db_url: str) -> Iterator[Registry]:
    with Registry(db_url) as r:
        yield r


def _count(reg: Registry, table: str) -> int:
    with reg.engine.connect() as c:
        return int(c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _counts(reg: Registry) -> dict[str, int]:
    return {t: _count(reg, t) for t in TABLES}


def _audit(reg: Registry, action: str | None = None) -> list[Any]:
    q = "SELECT actor, action, table_name, reason, new FROM audit_log"
    with reg.engine.connect() as c:
        rows = c.execute(sa.text(q + " ORDER BY seq")).all()
    return [r for r in rows if action is None or r.action == action]


def _admin(reg: Registry) -> Principal:
    create_user(
        reg,
        UserInput(
            username="admin", display_name="Ada", role=Role.ADMINISTRATOR,
            sites=frozenset(), password=ADMIN_PW,
        ),
        by=None,
    )  # fmt: skip
    return authenticate(reg, "admin", ADMIN_PW, now=T0)


def _operator(reg: Registry, admin: Principal, name: str = "op1") -> Principal:
    create_user(
        reg,
        UserInput(
            username=name, display_name="Olga", role=Role.OPERATOR,
            sites=frozenset({"S1"}), password=OP_PW,
        ),
        by=admin,
    )  # fmt: skip
    return principal_for(reg, name)


def _user_input(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "username": "rater1",
        "display_name": "Rita",
        "role": "rater",
        "sites": frozenset({"S1"}),
        "password": "a long enough phrase",
    }
    base.update(changes)
    return base


# ---------------------------------------------------------------- accounts
def test_first_account_then_administrator_creates_others(reg: Registry) -> None:
    admin = _admin(reg)
    assert admin == Principal(username="admin", role=Role.ADMINISTRATOR)
    op = _operator(reg, admin)
    assert op == Principal(username="op1", role="operator", sites=frozenset({"S1"}))
    users = list_users(reg, by=admin)
    assert [u.username for u in users] == ["admin", "op1"]
    assert set(type(users[0]).model_fields) == {
        "id", "username", "display_name", "role", "sites", "active",
        "created_at", "password_set_at", "actor",
    }  # fmt: skip
    assert "$argon2" not in repr(users)
    inserts = [(a.actor, a.table_name) for a in _audit(reg, "insert")]
    # the first account is its own actor; the administrator creates the others
    assert inserts == [
        ("admin", "users"),
        ("admin", "users"),
        ("admin", "user_sites"),
    ]
    assert reg.verify_audit().ok


def test_first_account_must_be_an_administrator_and_only_once(reg: Registry) -> None:
    before = _counts(reg)
    with pytest.raises(ValueError, match="'role'"):
        create_user(reg, UserInput(**_user_input()), by=None)
    assert _counts(reg) == before
    _admin(reg)
    before = _counts(reg)
    with pytest.raises(RegistryError, match="'by'"):
        create_user(
            reg, UserInput(**_user_input(username="x1", role="administrator")), by=None
        )
    assert _counts(reg) == before


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"password": "eleven char"}, ValueError, "'password': got 11 characters"),
        ({"password": "rater1"}, ValueError, "password"),
        ({"username": "admin"}, RegistryError, "'username': got 'admin'"),
        ({"username": "Bad Name"}, ValidationError, "username"),
        ({"role": "wizard"}, ValidationError, "role"),
        ({"sites": frozenset({"S 1"})}, ValidationError, "sites"),
    ],
)
def test_bad_input_stores_nothing(
    reg: Registry, changes: dict[str, Any], error: type[Exception], field: str
) -> None:
    admin = _admin(reg)
    before = _counts(reg)
    with pytest.raises(error, match=field) as info:
        create_user(reg, UserInput(**_user_input(**changes)), by=admin)
    assert "a long enough phrase" not in str(info.value)
    assert _counts(reg) == before
    # the boundary: exactly 12 characters and a different username pass
    create_user(reg, UserInput(**_user_input(password="x" * 12)), by=admin)


def test_password_equal_to_username_is_refused(reg: Registry) -> None:
    admin = _admin(reg)
    with pytest.raises(ValueError, match="'password': it is the username"):
        create_user(
            reg,
            UserInput(
                **_user_input(username="longusername1", password="LongUserName1")
            ),
            by=admin,
        )


def test_only_an_administrator_manages_users(reg: Registry) -> None:
    op = _operator(reg, _admin(reg))
    before = _counts(reg)
    with pytest.raises(AccessDeniedError, match=r"user\.manage"):
        create_user(reg, UserInput(**_user_input()), by=op)
    for call in (
        lambda: list_users(reg, by=op),
        lambda: set_user_sites(reg, "admin", frozenset({"S1"}), by=op),
        lambda: deactivate_user(reg, "admin", by=op),
        lambda: set_password(reg, "admin", "another passphrase", by=op),
    ):
        with pytest.raises(AccessDeniedError, match=r"user\.manage"):
            call()
    assert _counts(reg) == before


def test_user_input_hides_the_password() -> None:
    user = UserInput(**_user_input())
    assert "a long enough phrase" not in repr(user)
    assert "a long enough phrase" not in str(user)


# ---------------------------------------------------------------- passwords
def test_stored_hash_is_argon2id_verified_by_the_library(reg: Registry) -> None:
    from argon2 import PasswordHasher

    _admin(reg)
    with reg.engine.connect() as c:
        stored = c.execute(sa.text("SELECT password_hash FROM user_credentials")).one()[
            0
        ]
        pinned = c.execute(sa.text("SELECT password_hash_sha256 FROM users")).one()[0]
    assert stored.startswith("$argon2id$")
    assert PasswordHasher().verify(stored, ADMIN_PW)
    assert pinned == hashlib.sha256(stored.encode()).hexdigest()
    # the hash is in no audit entry and no export
    assert all(stored not in str(a.new) for a in _audit(reg))


def test_export_holds_no_password_hash(reg: Registry, tmp_path: Any) -> None:
    _admin(reg)
    paths = reg.export_csv(tmp_path)
    names = {p.name for p in paths}
    assert {"users.csv", "user_sites.csv", "api_tokens.csv"} <= names
    assert not {"user_credentials.csv", "login_throttle.csv"} & names
    for p in paths:
        assert "$argon2" not in p.read_text(encoding="utf-8"), p.name


def test_wrong_password_and_unknown_user_get_one_message(reg: Registry) -> None:
    _admin(reg)
    with pytest.raises(LoginRefusedError) as wrong:
        authenticate(reg, "admin", "not the password", now=T0)
    with pytest.raises(LoginRefusedError) as unknown:
        authenticate(reg, "nobody", ADMIN_PW, now=T0)
    with pytest.raises(LoginRefusedError) as malformed:
        authenticate(reg, "No Body", ADMIN_PW, now=T0)
    assert str(wrong.value) == str(unknown.value) == str(malformed.value)
    assert "unknown user or wrong password" in str(wrong.value)
    assert "not the password" not in str(wrong.value)


def test_five_failures_lock_for_fifteen_minutes(reg: Registry) -> None:
    _admin(reg)
    audited = len(_audit(reg))
    for k in range(4):  # failures 1-4 do not lock
        with pytest.raises(LoginRefusedError, match=r"wrong password\.$"):
            authenticate(reg, "admin", "wrong", now=T0 + dt.timedelta(minutes=k))
    fifth = T0 + dt.timedelta(minutes=4)
    with pytest.raises(LoginRefusedError, match="locked until 2027-01-04T09:19:00"):
        authenticate(reg, "admin", "wrong", now=fifth)
    until = fifth + dt.timedelta(minutes=15)  # by hand: 09:04 + 15 min
    # the correct password is refused while locked, up to the last second
    for t in (fifth, until - dt.timedelta(seconds=1)):
        with pytest.raises(LoginRefusedError, match="locked until"):
            authenticate(reg, "admin", ADMIN_PW, now=t)
    assert authenticate(reg, "admin", ADMIN_PW, now=until).username == "admin"
    # one audit entry: the lockout (on the users row), not the failures
    lockouts = _audit(reg)[audited:]
    assert [(a.actor, a.action, a.table_name) for a in lockouts] == [
        ("plptms:sign-in", "sign_in_lockout", "users")
    ]
    assert "5 failed attempts" in lockouts[0].reason
    assert reg.verify_audit().ok


def test_unknown_username_locks_the_same_way(reg: Registry) -> None:
    _admin(reg)
    before = _counts(reg)
    for k in range(4):
        with pytest.raises(LoginRefusedError, match=r"wrong password\.$"):
            authenticate(reg, "ghost", "x", now=T0 + dt.timedelta(seconds=k))
    with pytest.raises(LoginRefusedError, match="'ghost' is locked"):
        authenticate(reg, "ghost", "x", now=T0 + dt.timedelta(seconds=5))
    assert _counts(reg) == before  # nothing audited: there is no account


def test_failures_outside_the_window_and_success_reset(reg: Registry) -> None:
    _admin(reg)
    for k in range(4):
        with pytest.raises(LoginRefusedError):
            authenticate(reg, "admin", "wrong", now=T0 + dt.timedelta(minutes=k))
    # 15 minutes after the first failure the count restarts: the 5th is the 1st
    with pytest.raises(LoginRefusedError, match=r"wrong password\.$"):
        authenticate(reg, "admin", "wrong", now=T0 + dt.timedelta(minutes=15))
    later = T0 + dt.timedelta(minutes=16)
    for k in range(3):
        with pytest.raises(LoginRefusedError, match=r"wrong password\.$"):
            authenticate(reg, "admin", "wrong", now=later + dt.timedelta(seconds=k))
    authenticate(reg, "admin", ADMIN_PW, now=later + dt.timedelta(seconds=10))
    for k in range(4):  # the success cleared the 4 failures before it
        with pytest.raises(LoginRefusedError, match=r"wrong password\.$"):
            authenticate(
                reg, "admin", "wrong", now=later + dt.timedelta(seconds=20 + k)
            )


def test_old_hash_parameters_are_rehashed_at_sign_in(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher, extract_parameters
    from argon2.profiles import RFC_9106_LOW_MEMORY

    import plptms.workflow._accounts as acc

    cheap = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    with monkeypatch.context() as m:
        m.setattr(acc, "_hasher", lambda: cheap)
        _admin(reg)
    authenticate(reg, "admin", ADMIN_PW, now=T0 + dt.timedelta(minutes=1))
    with reg.engine.connect() as c:
        stored = c.execute(sa.text("SELECT password_hash FROM user_credentials")).one()[
            0
        ]
    # argon2-cffi's defaults: RFC 9106's second recommended option (64 MiB, t=3)
    assert extract_parameters(stored) == RFC_9106_LOW_MEMORY
    assert PasswordHasher().verify(stored, ADMIN_PW)
    rehash = _audit(reg, "update")
    assert [(a.actor, a.reason) for a in rehash] == [
        ("admin", "password rehashed at sign-in (new hash parameters)")
    ]
    assert reg.verify_audit().ok


def test_a_hash_replaced_outside_plptms_is_refused(reg: Registry) -> None:
    from argon2 import PasswordHasher

    _admin(reg)
    forged = PasswordHasher().hash("mallory's password")
    with reg.engine.begin() as c:
        c.execute(
            sa.text("UPDATE user_credentials SET password_hash = :h"), {"h": forged}
        )
    with pytest.raises(LoginRefusedError, match="wrong password"):
        authenticate(reg, "admin", "mallory's password", now=T0)
    # and a fingerprint rewritten to match fails the audit replay
    fp = hashlib.sha256(forged.encode()).hexdigest()
    with reg.engine.begin() as c:
        c.execute(sa.text("UPDATE users SET password_hash_sha256 = :h"), {"h": fp})
    report = reg.verify_audit()
    assert not report.ok
    assert any("users row 1" in p for p in report.problems)


def test_set_password_self_or_administrator(reg: Registry) -> None:
    admin = _admin(reg)
    op = _operator(reg, admin)
    set_password(reg, "op1", "my new passphrase", by=op)
    with pytest.raises(LoginRefusedError):
        authenticate(reg, "op1", OP_PW, now=T0)
    assert authenticate(reg, "op1", "my new passphrase", now=T0) == op
    set_password(reg, "op1", "reset by the admin", by=admin)
    assert authenticate(reg, "op1", "reset by the admin", now=T0) == op
    reasons = [(a.actor, a.reason) for a in _audit(reg, "update")]
    assert reasons == [
        ("op1", "password changed by its user"),
        ("admin", "password reset"),
    ]
    before = _counts(reg)
    with pytest.raises(ValueError, match="'password': got 5 characters"):
        set_password(reg, "op1", "short", by=op)
    with pytest.raises(RegistryError, match="no such user"):
        set_password(reg, "nobody", "a long enough phrase", by=admin)
    assert _counts(reg) == before


# ------------------------------------------------------------ sites, deactivation
def test_set_user_sites_withdraws_and_reassigns(reg: Registry) -> None:
    admin = _admin(reg)
    _operator(reg, admin)
    out = set_user_sites(reg, "op1", frozenset({"S2", "S3"}), by=admin)
    assert out.sites == {"S2", "S3"}
    assert principal_for(reg, "op1").sites == {"S2", "S3"}
    out = set_user_sites(reg, "op1", frozenset({"S1"}), by=admin)
    assert out.sites == {"S1"}
    assert _count(reg, "user_sites") == 3  # S1 withdrawn then reassigned: one row
    reasons = [a.reason for a in _audit(reg, "update")]
    assert reasons == [
        "site withdrawn",  # S1, first call
        "site assigned again",  # S1, second call (sites in order)
        "site withdrawn",  # S2
        "site withdrawn",  # S3
    ]
    before = _counts(reg)
    with pytest.raises(RegistryError, match="'sites'"):
        set_user_sites(reg, "op1", frozenset({"S1", "no site!"}), by=admin)
    assert _counts(reg) == before
    assert reg.verify_audit().ok


def test_deactivated_user_cannot_sign_in_or_use_tokens(reg: Registry) -> None:
    admin = _admin(reg)
    op = _operator(reg, admin)
    token = issue_api_token(reg, op, label="laptop", now=T0)
    out = deactivate_user(reg, "op1", by=admin)
    assert not out.active
    with pytest.raises(LoginRefusedError, match="unknown user or wrong password"):
        authenticate(reg, "op1", OP_PW, now=T0)
    with pytest.raises(LoginRefusedError, match="deactivated"):
        principal_for(reg, "op1")
    with pytest.raises(LoginRefusedError, match="deactivated"):
        principal_from_token(reg, token, now=T0)
    before = _counts(reg)
    with pytest.raises(RegistryError, match="deactivated already"):
        deactivate_user(reg, "op1", by=admin)
    with pytest.raises(RegistryError, match="their own"):
        deactivate_user(reg, "admin", by=admin)
    assert _counts(reg) == before


# ------------------------------------------------------------------ tokens
def test_token_is_stored_as_its_sha256_only(reg: Registry) -> None:
    op = _operator(reg, _admin(reg))
    token = issue_api_token(reg, op, label="laptop", now=T0)
    assert token.startswith("plptms_")
    assert len(token) == len("plptms_") + 43  # 32 bytes, base64url, no padding
    with reg.engine.connect() as c:
        stored = c.execute(sa.text("SELECT token_sha256 FROM api_tokens")).one()[0]
        dump = " ".join(
            str(v)
            for t in ("api_tokens", "audit_log")
            for row in c.execute(sa.text(f"SELECT * FROM {t}"))
            for v in row
        )
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token.removeprefix("plptms_") not in dump
    assert principal_from_token(reg, token, now=T0) == op
    assert reg.verify_audit().ok


def test_token_expires_after_its_lifetime(reg: Registry) -> None:
    op = _operator(reg, _admin(reg))
    token = issue_api_token(reg, op, label="ci", ttl_days=2, now=T0)
    end = T0 + dt.timedelta(days=2)  # by hand
    assert principal_from_token(reg, token, now=end - dt.timedelta(seconds=1)) == op
    with pytest.raises(LoginRefusedError, match="expired at 2027-01-06T09:00:00"):
        principal_from_token(reg, token, now=end)


def test_revoked_and_unknown_tokens_are_refused(reg: Registry) -> None:
    admin = _admin(reg)
    op = _operator(reg, admin)
    other = _operator(reg, admin, "op2")
    token = issue_api_token(reg, op, label="laptop", now=T0)
    (tok,) = list_api_tokens(reg, op)
    before = _counts(reg)
    with pytest.raises(AccessDeniedError, match=r"user\.manage"):
        revoke_api_token(reg, other, tok.id)
    with pytest.raises(AccessDeniedError, match=r"user\.manage"):
        list_api_tokens(reg, other, "op1")
    assert _counts(reg) == before
    revoke_api_token(reg, op, tok.id)
    with pytest.raises(LoginRefusedError, match="revoked"):
        principal_from_token(reg, token)
    with pytest.raises(RegistryError, match="revoked at"):
        revoke_api_token(reg, admin, tok.id)
    with pytest.raises(RegistryError, match="no such token"):
        revoke_api_token(reg, admin, 999)
    with pytest.raises(LoginRefusedError, match="unknown") as info:
        principal_from_token(reg, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert token[:-1] not in str(info.value)
    with pytest.raises(LoginRefusedError, match="plptms_"):
        principal_from_token(reg, "Bearer something")
    assert list_api_tokens(reg, admin, "op1")[0].revoked_at is not None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ttl_days": 0}, "ttl_days"),
        ({"ttl_days": 366}, "ttl_days"),
        ({"label": " "}, "label"),
    ],
)
def test_bad_token_requests_store_nothing(
    reg: Registry, kwargs: dict[str, Any], field: str
) -> None:
    op = _operator(reg, _admin(reg))
    before = _counts(reg)
    args: dict[str, Any] = {"label": "laptop", **kwargs}
    with pytest.raises(ValueError, match=field):
        issue_api_token(reg, op, **args)
    assert _counts(reg) == before
