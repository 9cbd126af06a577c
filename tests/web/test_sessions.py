"""Sign-in, session cookies, expiry, deactivation, sign-out."""

from __future__ import annotations

import pytest
from tests.web.conftest import SECRET, csrf_of, sign_in

from plptms.web._sessions import SESSION_COOKIE

#: Session limits of the tests (s): the defaults, named
MAX_AGE_S = 8 * 3600
IDLE_S = 30 * 60


def _cookie_header(response) -> str:  # type: ignore[no-untyped-def]
    return "; ".join(
        v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"
    )


def test_sign_in_ok_starts_a_session(client) -> None:  # type: ignore[no-untyped-def]
    r = sign_in(client, "dr1")
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    header = _cookie_header(r).lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" not in header  # cookie_secure=False in this client
    home = client.get("/")
    assert home.status_code == 200
    assert "dr1" in home.text


def test_sign_in_wrong_password_and_unknown_user_get_one_generic_message(
    client,  # type: ignore[no-untyped-def]
) -> None:
    wrong = sign_in(client, "dr1", "not-the-password")
    unknown = sign_in(client, "nobody", "whatever")
    assert wrong.status_code == unknown.status_code == 401
    msg = "Sign-in failed: unknown user or wrong password."
    assert msg in wrong.text
    assert msg in unknown.text
    assert "nobody" not in unknown.text.replace('value="nobody"', "")
    assert client.get("/").status_code == 303  # still not signed in


def test_secure_cookie_when_configured(make_client) -> None:  # type: ignore[no-untyped-def]
    c = make_client(cookie_secure=True)
    c.base_url = "https://testserver"
    r = sign_in(c, "dr1")
    assert "secure" in _cookie_header(r).lower()
    assert "Strict-Transport-Security" in r.headers


def test_session_fixation_cookie_from_before_sign_in_is_never_reused(
    client,  # type: ignore[no-untyped-def]
) -> None:
    page = client.get("/sign-in")
    before = client.cookies.get(SESSION_COOKIE)
    assert before
    r = client.post(
        "/sign-in",
        data={
            "username": "dr1",
            "password": "pw-dr1",
            "csrf_token": csrf_of(page.text),
        },
    )
    after = client.cookies.get(SESSION_COOKIE)
    assert r.status_code == 303
    assert after
    assert after != before
    codec = client.app.state.codec
    clock = client.app.state.clock
    old = codec.loads(before, clock())
    new = codec.loads(after, clock())
    assert old.username is None
    assert new.username == "dr1"
    assert new.sid != old.sid
    # an attacker holding the pre-sign-in cookie is still not signed in
    client.cookies.set(SESSION_COOKIE, before)
    assert client.get("/patients").status_code == 303


def test_every_page_request_reloads_the_user(client, accounts) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    accounts.calls.clear()
    client.get("/patients")
    client.get("/patients/S01/P001")
    assert accounts.calls == ["dr1", "dr1"]


def test_deactivated_user_is_signed_out_at_once(client, accounts) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    assert client.get("/patients").status_code == 200
    accounts.deactivated.add("dr1")
    r = client.get("/patients")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert f'{SESSION_COOKIE}=""' in _cookie_header(r) or "max-age=0" in (
        _cookie_header(r).lower()
    )
    accounts.deactivated.clear()  # the cookie is gone: reactivation needs sign-in
    assert client.get("/patients").status_code == 303


@pytest.mark.parametrize(
    ("step_s", "steps", "signed_in"),
    [
        (IDLE_S - 60, 1, True),  # within the idle timeout
        (IDLE_S + 1, 1, False),  # idle too long
        (IDLE_S - 60, 17, False),  # active, but 17 x 29 min > 8 h since sign-in
    ],
)
def test_idle_and_expired_sessions_go_to_sign_in(
    client,
    clock,
    step_s,
    steps,
    signed_in,  # type: ignore[no-untyped-def]
) -> None:
    sign_in(client, "dr1")
    r = None
    for _ in range(steps):
        clock.now += step_s
        r = client.get("/patients")
        if r.status_code != 200:
            break
    assert r is not None
    assert (r.status_code == 200) is signed_in
    if not signed_in:
        assert r.headers["location"] == "/sign-in"


def test_htmx_request_without_session_gets_hx_redirect(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/patients?q=P", headers={"HX-Request": "true"})
    assert r.headers.get("HX-Redirect") == "/sign-in"


def test_forged_cookie_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    from plptms.web._sessions import SessionCodec

    forger = SessionCodec(
        "another-secret-" + "y" * 32, max_age_s=MAX_AGE_S, idle_timeout_s=IDLE_S
    )
    now = client.app.state.clock()
    client.cookies.set(SESSION_COOKIE, forger.dumps(forger.new("dr1", now)))
    assert client.get("/patients").status_code == 303
    # signed with the real secret but never started by a sign-in: no
    # server-side session row, so refused too
    real = SessionCodec(SECRET, max_age_s=MAX_AGE_S, idle_timeout_s=IDLE_S)
    client.cookies.set(SESSION_COOKIE, real.dumps(real.new("dr1", now)))
    assert client.get("/patients").status_code == 303


def test_sign_out_deletes_the_cookie(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    page = client.get("/patients")
    r = client.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert client.cookies.get(SESSION_COOKIE) is None
    assert client.get("/patients").status_code == 303


def test_settings_refuse_a_short_secret() -> None:
    from plptms.web import WebSettings

    with pytest.raises(ValueError, match="secret_key"):
        WebSettings(secret_key="short")


def test_settings_from_env(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from plptms.web import SECRET_KEY_ENV, WebSettings

    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    with pytest.raises(ValueError, match="PLPTMS_SECRET_KEY"):
        WebSettings.from_env()
    monkeypatch.setenv(SECRET_KEY_ENV, SECRET)
    s = WebSettings.from_env(db_url="sqlite:///x.sqlite3")
    assert s.secret_key == SECRET
    assert s.cookie_secure is True
    assert SECRET not in repr(s)
