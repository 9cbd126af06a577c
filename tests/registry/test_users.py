"""Registry user accounts (UserStore, TokenStore, SignInStore) on both backends."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from plptms.registry import Registry, RegistryError

T0 = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
#: A PHC-shaped stand-in: the registry stores what the use case hashed.
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"


def _count(reg: Registry, table: str) -> int:
    with reg.engine.connect() as c:
        return int(c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _admin(reg: Registry) -> None:
    reg.add_user(
        "admin", display_name="Ada", role="administrator", sites=frozenset(),
        password_hash=HASH, actor="admin", bootstrap=True,
    )  # fmt: skip


def test_first_account_is_its_own_actor(registry: Registry) -> None:
    with pytest.raises(RegistryError, match="'actor'"):
        registry.add_user(
            "admin", display_name="Ada", role="administrator", sites=frozenset(),
            password_hash=HASH, actor="someone", bootstrap=True,
        )  # fmt: skip
    assert _count(registry, "users") == 0
    _admin(registry)
    cred = registry.user_credential("admin")
    assert cred is not None
    assert cred.pinned
    assert HASH not in repr(cred)
    with registry.engine.connect() as c:
        fp = c.execute(sa.text("SELECT password_hash_sha256 FROM users")).scalar_one()
    assert fp == hashlib.sha256(HASH.encode()).hexdigest()


def test_account_writes_need_an_active_user_as_actor(registry: Registry) -> None:
    _admin(registry)
    before = _count(registry, "audit_log")
    with pytest.raises(RegistryError, match="'actor': got 'ghost'"):
        registry.add_user(
            "op1", display_name="Olga", role="operator", sites=frozenset({"S1"}),
            password_hash=HASH, actor="ghost",
        )  # fmt: skip
    with pytest.raises(RegistryError, match="'password_hash': not shown") as info:
        registry.set_password_hash("admin", "plain text", actor="admin", reason="x")
    assert "plain text" not in str(info.value)
    assert _count(registry, "audit_log") == before
    assert _count(registry, "users") == 1


def test_tokens_and_lockouts_are_audited_and_verify(registry: Registry) -> None:
    _admin(registry)
    digest = hashlib.sha256(b"plptms_x").hexdigest()
    tok = registry.add_api_token(
        "admin", token_sha256=digest, label="ci",
        expires_at=T0 + dt.timedelta(days=1), at=T0,
    )  # fmt: skip
    with pytest.raises(RegistryError, match="'expires_at'"):
        registry.add_api_token(
            "admin", token_sha256="a" * 64, label="ci", expires_at=T0, at=T0
        )
    window, lock = dt.timedelta(minutes=15), dt.timedelta(minutes=15)
    results = [
        registry.record_sign_in_failure(
            "admin",
            T0 + dt.timedelta(seconds=k),
            max_failures=3,
            window=window,
            lockout=lock,
        )
        for k in range(3)
    ]
    assert results == [None, None, T0 + dt.timedelta(seconds=2) + lock]
    assert registry.sign_in_locked_until("admin", T0 + lock) is not None
    assert registry.record_sign_in_success("admin", T0) == results[-1]
    registry.revoke_api_token(tok.id, actor="admin", at=T0)
    report = registry.verify_audit()
    assert report.ok, report.problems
    assert registry.verify_records([("users", 1), ("api_tokens", tok.id)]).ok
