"""Server-side sessions on the REAL accounts: a cookie is honoured only while
its registry row is live.

Oracles: what the browser was told (a copy of the cookie taken before sign-out,
deactivation or a role change is sent back afterwards and must be refused);
cookies signed with the app's own secret but whose server row is idle or past
its end (the signature alone would pass them); the SHA-256 of the session id
(hashlib) is the stored digest; the sign-in throttle's constants (5 failures).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from tests.web import test_security as _security
from tests.web.conftest import Clock, csrf_of
from tests.web.test_security import PASSWORD, _sign_in, _signed_in

# the real-accounts fixtures of test_security (seeded once per session)
_accounts_seeded = _security._accounts_seeded
real = _security.real
real_client = _security.real_client
_pg_accounts_template = _security._pg_accounts_template

NEW_PW = "a brand new passphrase"


def _cookie(c: Any) -> str:
    from plptms.web._sessions import SESSION_COOKIE

    value = c.cookies.get(SESSION_COOKIE)
    assert value
    return str(value)


def _replay(make: Callable[..., Any], cookie: str) -> int:
    """Send a copied cookie from another browser; return the status of a page."""
    from plptms.web._sessions import SESSION_COOKIE

    other = make()
    other.cookies.set(SESSION_COOKIE, cookie)
    return int(other.get("/patients").status_code)


def _sessions(db_file: str, username: str) -> list[Any]:
    eng = sa.create_engine(db_file)
    try:
        with eng.connect() as c:
            return list(
                c.execute(
                    sa.text(
                        "SELECT sid_sha256, revoked_at FROM web_sessions "
                        "WHERE username = :u ORDER BY id"
                    ),
                    {"u": username},
                )
            )
    finally:
        eng.dispose()


def _post(c: Any, path: str, page: str, **data: str) -> Any:
    return c.post(path, data={**data, "csrf_token": csrf_of(c.get(page).text)})


def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    real_client: Callable[..., Any], db_file: str
) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, "dr1"))
    copied = _cookie(c)
    assert _replay(real_client, copied) == 200  # the copy works while signed in
    r = _post(c, "/sign-out", "/")
    assert r.status_code == 303
    assert _replay(real_client, copied) == 303
    ((_, revoked_at),) = _sessions(db_file, "dr1")
    assert revoked_at is not None


def test_only_the_digest_of_the_session_id_is_stored(
    real_client: Callable[..., Any], db_file: str
) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, "dr1"))
    sid = c.app.state.codec.loads(_cookie(c), c.app.state.clock()).sid
    ((digest, _),) = _sessions(db_file, "dr1")
    assert digest == hashlib.sha256(sid.encode()).hexdigest()
    assert sid not in digest


def test_deactivation_refuses_a_copied_cookie(
    real_client: Callable[..., Any], db_file: str
) -> None:
    admin, dr1 = real_client(), real_client()
    assert _signed_in(_sign_in(dr1, "dr1"))
    copied = _cookie(dr1)
    assert _signed_in(_sign_in(admin, "admin"))
    r = _post(admin, "/admin/users/dr1/deactivate", "/admin/users")
    assert r.status_code == 303
    assert _replay(real_client, copied) == 303
    assert [row.revoked_at is not None for row in _sessions(db_file, "dr1")] == [True]


def test_role_change_on_the_admin_page_ends_the_users_sessions(
    real_client: Callable[..., Any], db_file: str
) -> None:
    admin, dr1 = real_client(), real_client()
    assert _signed_in(_sign_in(dr1, "dr1"))
    assert dr1.get("/admin/audit").status_code == 403  # a physician may not
    copied = _cookie(dr1)
    assert _signed_in(_sign_in(admin, "admin"))
    r = _post(
        admin, "/admin/users/dr1/role", "/admin/users", role="monitor", reason="audit"
    )
    assert r.status_code == 200
    assert "dr1 is now monitor" in r.text
    assert dr1.get("/patients").status_code == 303
    assert _replay(real_client, copied) == 303
    assert admin.get("/admin/users").status_code == 200  # the admin's own stays
    # signed in again, dr1 has the new role: a monitor verifies the audit trail
    assert _signed_in(_sign_in(dr1, "dr1"))
    assert dr1.get("/admin/audit").status_code == 200


def test_role_change_and_unlock_refusals(
    real_client: Callable[..., Any], db_file: str
) -> None:
    from tests.web.conftest import counts

    admin, dr1 = real_client(), real_client()
    assert _signed_in(_sign_in(dr1, "dr1"))
    before = counts(db_file)
    r = _post(dr1, "/admin/users/rater1/role", "/", role="administrator", reason="x")
    assert r.status_code == 403
    r = _post(dr1, "/admin/users/rater1/unlock", "/")
    assert r.status_code == 403
    assert _signed_in(_sign_in(admin, "admin"))
    r = _post(
        admin, "/admin/users/rater1/role", "/admin/users", role="wizard", reason="x"
    )
    assert r.status_code == 422
    assert "Invalid value for &#39;role&#39;: got &#39;wizard&#39;" in r.text
    r = _post(
        admin, "/admin/users/admin/role", "/admin/users", role="rater", reason="x"
    )
    assert r.status_code == 422
    assert "last active administrator" in r.text
    r = _post(admin, "/admin/users/nobody/unlock", "/admin/users")
    assert r.status_code == 422
    assert counts(db_file) == before
    assert dr1.get("/patients").status_code == 200  # nothing revoked


def test_unlock_on_the_admin_page(real_client: Callable[..., Any]) -> None:
    c, admin = real_client(), real_client()
    for _ in range(5):
        assert _sign_in(c, "dr1", "wrong password here").status_code == 401
    r = _sign_in(c, "dr1")
    assert r.status_code == 401
    assert "locked until" in r.text
    assert _signed_in(_sign_in(admin, "admin"))
    r = _post(admin, "/admin/users/dr1/unlock", "/admin/users")
    assert r.status_code == 200
    assert "Sign-in of dr1 unlocked" in r.text
    assert _signed_in(_sign_in(c, "dr1"))


def test_own_password_change_asks_the_current_one(
    real_client: Callable[..., Any], db_file: str
) -> None:
    here, elsewhere = real_client(), real_client()
    assert _signed_in(_sign_in(here, "dr1"))
    assert _signed_in(_sign_in(elsewhere, "dr1"))
    page = here.get("/account/password")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.text
    r = _post(
        here, "/account/password", "/account/password",
        current_password="not my password", new_password=NEW_PW,
        new_password_again=NEW_PW,
    )  # fmt: skip
    assert r.status_code == 422
    assert "&#39;current_password&#39;" in r.text
    r = _post(
        here, "/account/password", "/account/password",
        current_password=PASSWORD, new_password=NEW_PW,
        new_password_again=NEW_PW + "x",
    )  # fmt: skip
    assert r.status_code == 422
    assert "&#39;new_password_again&#39;" in r.text
    assert elsewhere.get("/patients").status_code == 200  # nothing changed yet
    r = _post(
        here, "/account/password", "/account/password",
        current_password=PASSWORD, new_password=NEW_PW, new_password_again=NEW_PW,
    )  # fmt: skip
    assert r.status_code == 200
    assert "1 other session(s) of yours ended" in r.text
    assert here.get("/patients").status_code == 200  # this one stays
    assert elsewhere.get("/patients").status_code == 303
    assert not _signed_in(_sign_in(real_client(), "dr1"))  # old password
    assert _signed_in(_sign_in(real_client(), "dr1", NEW_PW))


def test_wrong_current_passwords_lock_the_username(
    real_client: Callable[..., Any],
) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, "dr1"))
    for _ in range(5):
        r = _post(
            c, "/account/password", "/account/password",
            current_password="not my password", new_password=NEW_PW,
            new_password_again=NEW_PW,
        )  # fmt: skip
        assert r.status_code == 422
    assert "locked until" in r.text
    r = _sign_in(real_client(), "dr1")  # the right password, locked out
    assert r.status_code == 401
    assert "locked until" in r.text


def _forged(c: Any, *, issued_at: float, now: float) -> str:
    """The app's own signature on this session, with fresh cookie clocks."""
    from plptms.web._sessions import SessionData

    codec = c.app.state.codec
    session = SessionData.model_validate(codec._serializer.loads(_cookie(c)))
    return str(
        codec.dumps(session.model_copy(update={"issued_at": issued_at, "seen_at": now}))
    )


def test_server_side_idle_end(real_client: Callable[..., Any], clock: Clock) -> None:
    """The row's last-seen time ends a session even if the cookie is re-signed."""
    c = real_client(idle_timeout_s=1800)
    assert _signed_in(_sign_in(c, "dr1"))
    clock.now += 1799
    assert c.get("/patients").status_code == 200  # refreshed: last seen now
    signed = clock.now
    clock.now += 1801
    # a cookie with fresh clocks (as if the secret had leaked): the row says idle
    assert _replay(real_client, _forged(c, issued_at=signed, now=clock.now)) == 303
    assert c.get("/patients").status_code == 303  # and the browser's own copy


def test_server_side_absolute_end(
    real_client: Callable[..., Any], clock: Clock
) -> None:
    c = real_client(session_max_age_s=3600, idle_timeout_s=1800)
    assert _signed_in(_sign_in(c, "dr1"))
    for _ in range(3):  # active every 20 min: never idle
        clock.now += 1200
        assert c.get("/patients").status_code == 200
    clock.now += 60
    # the cookie claims a session begun a minute ago; the row ended at 1 h
    assert (
        _replay(real_client, _forged(c, issued_at=clock.now - 60, now=clock.now)) == 303
    )


def test_session_fixation_still_holds(
    real_client: Callable[..., Any], db_file: str
) -> None:
    c = real_client()
    c.get("/sign-in")
    planted = _cookie(c)
    now = c.app.state.clock()
    planted_sid = c.app.state.codec.loads(planted, now).sid
    assert _signed_in(_sign_in(c, "dr1"))
    after_sid = c.app.state.codec.loads(_cookie(c), now).sid
    assert planted_sid != after_sid
    ((digest, _),) = _sessions(db_file, "dr1")
    assert digest == hashlib.sha256(after_sid.encode()).hexdigest()
    assert _replay(real_client, planted) == 303


def test_an_administrator_stepping_down_is_signed_out(
    real_client: Callable[..., Any], db_file: str
) -> None:
    from plptms.access import Role
    from plptms.registry import Registry
    from plptms.workflow import UserInput, create_user, principal_for

    with Registry(db_file) as reg:
        create_user(
            reg,
            UserInput(
                username="admin2", display_name="Second", role=Role.ADMINISTRATOR,
                password=PASSWORD,
            ),
            by=principal_for(reg, "admin"),
        )  # fmt: skip
    admin = real_client()
    assert _signed_in(_sign_in(admin, "admin"))
    copied = _cookie(admin)
    r = _post(
        admin, "/admin/users/admin/role", "/admin/users", role="monitor", reason="x"
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert admin.get("/admin/users").status_code == 303
    assert _replay(real_client, copied) == 303
    with Registry(db_file) as reg:
        assert principal_for(reg, "admin").role is Role.MONITOR
