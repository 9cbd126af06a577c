"""Security tests on the REAL accounts (Argon2id passwords, throttling, tokens).

The app is :func:`plptms.web.clinic_app` (or :func:`plptms.web.create_app` with
exactly its wiring and a clock the test moves) on the two-site registry of
``conftest.py``, with users made by :func:`plptms.workflow.create_user`. The
CSRF and cross-site tests are generated from the app's route table, so a new
route is covered without editing this file.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import SECRET, Clock, counts, csrf_of, route_table

from plptms.access import Role

PASSWORD = "correct-horse-battery"
WRONG = "wrong-horse-battery-x"
BANNER = "Research software, not a certified medical device"
CSRF_REFUSED = "did not come from this application"

#: username -> (role, sites)
USERS: dict[str, tuple[Role, frozenset[str]]] = {
    "admin": (Role.ADMINISTRATOR, frozenset({"S01"})),
    "dr1": (Role.PHYSICIAN, frozenset({"S01"})),
    "rater1": (Role.RATER, frozenset({"S01"})),
    "mon1": (Role.MONITOR, frozenset({"S01"})),
    "dr2": (Role.PHYSICIAN, frozenset({"S02"})),
    "nosite": (Role.PHYSICIAN, frozenset()),
}


def seed_accounts(url: str) -> dict[str, str]:
    """Create :data:`USERS` (password :data:`PASSWORD`); return an API token each.

    Returns
    -------
    tokens : dict of str to str
        Username to a fresh API token (``plptms_...``).
    """
    from plptms.registry import Registry
    from plptms.workflow import UserInput, create_user, issue_api_token, principal_for

    with Registry(url) as reg:
        for username, (role, sites) in USERS.items():
            first = username == "admin"
            create_user(
                reg,
                UserInput(
                    username=username,
                    display_name=username.title(),
                    role=role,
                    sites=sites,
                    password=PASSWORD,
                ),
                by=None if first else principal_for(reg, "admin"),
            )
        return {
            u: issue_api_token(reg, principal_for(reg, u), label="test") for u in USERS
        }


@pytest.fixture(scope="session")
def _accounts_seeded(_seeded: Path) -> tuple[Path, dict[str, str]]:
    """Add the accounts once (Argon2id is slow on purpose); tests get copies."""
    base = _seeded / "accounts"
    base.mkdir(exist_ok=True)
    shutil.copy(_seeded / "web.sqlite3", base / "web.sqlite3")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_STATE_DIR", str(_seeded / "state"))
        mp.setenv("PLPTMS_CONFIG_DIR", str(_seeded / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        tokens = seed_accounts(f"sqlite:///{base / 'web.sqlite3'}")
    return base / "web.sqlite3", tokens


@pytest.fixture(scope="session")
def _pg_accounts_template(
    _seeded: Path, _pg_template: str | None
) -> Iterator[tuple[str, dict[str, str]] | None]:
    """The seeded PostgreSQL template with the accounts added, as a template."""
    if _pg_template is None:
        yield None
        return
    import uuid

    import sqlalchemy as sa
    from tests.conftest import _pg_admin_url

    admin = _pg_admin_url()
    assert admin is not None
    name = f"plptms_webacct_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_STATE_DIR", str(_seeded / "state"))
        mp.setenv("PLPTMS_CONFIG_DIR", str(_seeded / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        tokens = seed_accounts(f"{admin.rsplit('/', 1)[0]}/{name}")
    try:
        yield name, tokens
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


@pytest.fixture
def real(
    request: pytest.FixtureRequest,
    db_file: str,
    _accounts_seeded: tuple[Path, dict[str, str]],
) -> dict[str, str]:
    """The seeded registry with the real accounts; API tokens by username."""
    if db_file.startswith("postgresql"):  # remake this test's copy from the template
        import sqlalchemy as sa
        from tests.conftest import _pg_admin_url

        template, pg_tokens = request.getfixturevalue("_pg_accounts_template")
        name = db_file.rsplit("/", 1)[1]
        eng = sa.create_engine(str(_pg_admin_url()), isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        eng.dispose()
        return dict(pg_tokens)
    src, tokens = _accounts_seeded
    dst = Path(db_file.removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm"):  # the copy replaces the whole database
        dst.with_name(dst.name + suffix).unlink(missing_ok=True)
    shutil.copy(src, dst)
    return tokens


@pytest.fixture
def real_client(
    db_file: str, real: dict[str, str], clock: Clock
) -> Iterator[Callable[..., Any]]:
    """Clients of the production wiring (real accounts), sharing one clock."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from plptms.web import WebSettings, create_app
    from plptms.workflow import authenticate, principal_for, principal_from_token

    clients: list[Any] = []

    def make(**settings: Any) -> Any:
        app = create_app(
            WebSettings.model_validate(
                {
                    "db_url": db_file,
                    "secret_key": SECRET,
                    "cookie_secure": False,
                    **settings,
                }
            ),
            authenticate=authenticate,
            principal_for=principal_for,
            principal_from_token=principal_from_token,
            clock=clock,
        )
        c = TestClient(app, follow_redirects=False)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def _sign_in(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
        },
    )


def _signed_in(response: Any) -> bool:
    return response.status_code == 303 and response.headers["location"] == "/"


def test_clinic_app_is_this_wiring(db_file: str, real: dict[str, str]) -> None:
    """``clinic_app`` itself signs in with the real accounts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from plptms.web import WebSettings, clinic_app

    app = clinic_app(
        WebSettings.model_validate(
            {"db_url": db_file, "secret_key": SECRET, "cookie_secure": False}
        )
    )
    with TestClient(app, follow_redirects=False) as c:
        assert _signed_in(_sign_in(c, "dr1"))
        assert c.get("/patients").status_code == 200
        assert c.get("/api/v1/patients").status_code == 401  # no cookie on the API
        r = c.get(
            "/api/v1/patients", headers={"Authorization": f"Bearer {real['dr1']}"}
        )
        assert [p["code"] for p in r.json()] == ["P001", "P002"]


# --------------------------------------------------------------- throttling
def test_sixth_attempt_is_locked(real_client: Callable[..., Any]) -> None:
    from plptms.workflow._accounts import MAX_FAILURES

    assert MAX_FAILURES == 5
    c = real_client()
    for _ in range(MAX_FAILURES - 1):
        r = _sign_in(c, "dr1", WRONG)
        assert r.status_code == 401
        assert "Sign-in failed" in r.text
    # the 5th failure locks the name, and the page says so (an unknown name
    # locks alike, so this reveals nothing about which names exist)
    r = _sign_in(c, "dr1", WRONG)
    assert r.status_code == 401
    assert "locked until" in r.text
    # the 6th attempt, with the RIGHT password, is refused: locked
    r = _sign_in(c, "dr1", PASSWORD)
    assert r.status_code == 401
    assert "locked until" in r.text
    r = _sign_in(c, "nobody-here", WRONG)
    for _ in range(MAX_FAILURES - 1):
        r = _sign_in(c, "nobody-here", WRONG)
    assert "locked until" in r.text
    assert c.get("/patients").status_code == 303  # not signed in
    # another user is not locked by dr1's failures
    assert _signed_in(_sign_in(real_client(), "dr2"))


def test_lockout_message_names_the_lock(db_file: str, real: dict[str, str]) -> None:
    """The use case's message says locked, until when, after how many failures."""
    from plptms.registry import Registry
    from plptms.workflow import LoginRefusedError, authenticate

    now = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    with Registry(db_file) as reg:
        for i in range(5):
            with pytest.raises(LoginRefusedError, match="unknown user or wrong"):
                authenticate(reg, "dr1", WRONG, now=now + dt.timedelta(seconds=i))
        with pytest.raises(LoginRefusedError, match=r"locked until 2030-01-01T12:15"):
            authenticate(reg, "dr1", PASSWORD, now=now + dt.timedelta(seconds=6))
        # after the lockout the right password works again
        later = now + dt.timedelta(minutes=16)
        assert authenticate(reg, "dr1", PASSWORD, now=later).username == "dr1"


# ------------------------------------------------------------ session fixation
def test_session_fixation(real_client: Callable[..., Any]) -> None:
    from plptms.web._sessions import SESSION_COOKIE

    c = real_client()
    c.get("/sign-in")
    planted = c.cookies.get(SESSION_COOKIE)
    assert planted  # a pre-sign-in session (carries the form's CSRF token)
    r = _sign_in(c, "dr1")
    assert _signed_in(r)
    after = c.cookies.get(SESSION_COOKIE)
    assert after
    assert after != planted
    # an attacker holding the planted cookie is still not signed in
    attacker = real_client()
    attacker.cookies.set(SESSION_COOKIE, planted)
    assert attacker.get("/patients").status_code == 303
    codec = c.app.state.codec
    now = c.app.state.clock()
    assert codec.loads(planted, now).sid != codec.loads(after, now).sid


# ---------------------------------------------------------------------- CSRF
def _fill(path: str) -> str:
    values = {"site": "S01", "code": "P001", "username": "rater1"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m[1], "x"), path)


def _page_posts(app: Any) -> list[str]:
    return sorted(
        {
            p
            for m, p in route_table(app)
            if m == "POST" and not p.startswith("/api/") and p != "/sign-in"
        }
    )


def test_csrf_on_every_page_post(real_client: Callable[..., Any], db_file: str) -> None:
    """Every state-changing page route refuses a request without its token."""
    c = real_client()
    paths = _page_posts(c.app)
    assert "/sign-out" in paths
    assert "/patients/{site}/{code}/assessments" in paths
    for user in ("dr1", "admin"):
        assert _signed_in(_sign_in(c, user))
        for path in paths:
            for token in (None, "0" * 64):
                before = counts(db_file)
                data = {"scale_id": "vas_phantom_average", "item_1": "5"}
                if token is not None:
                    data["csrf_token"] = token
                r = c.post(_fill(path), data=data)
                assert r.status_code == 403, (user, path, r.status_code)
                assert CSRF_REFUSED in r.text
                assert BANNER in r.text
                assert counts(db_file) == before, path
        assert c.get("/").status_code == 200  # still signed in


def test_csrf_on_sign_in(real_client: Callable[..., Any]) -> None:
    c = real_client()
    c.get("/sign-in")
    r = c.post("/sign-in", data={"username": "dr1", "password": PASSWORD})
    assert r.status_code == 403
    assert c.get("/patients").status_code == 303


def test_api_ignores_the_session_cookie(real_client: Callable[..., Any]) -> None:
    """No API route acts on a cookie (so no CSRF there): 401 without a token."""
    c = real_client()
    assert _signed_in(_sign_in(c, "dr1"))
    api = [(m, p) for m, p in route_table(c.app) if p.startswith("/api/v1/")]
    assert any(m == "POST" for m, _ in api)
    for method, path in api:
        if path.endswith("openapi.json"):
            continue
        r = c.request(method, _fill(path), json={})
        assert r.status_code == 401, (method, path)


# ------------------------------------------------------------------ sessions
def test_expired_session(real_client: Callable[..., Any], clock: Clock) -> None:
    from plptms.web._sessions import SESSION_COOKIE

    c = real_client(session_max_age_s=3600, idle_timeout_s=1800)
    assert _signed_in(_sign_in(c, "dr1"))
    for _ in range(3):  # active every 20 min: never idle, but 1 h in all
        clock.now += 1200
        assert c.get("/patients").status_code == 200
    clock.now += 1200  # 80 min after sign-in
    r = c.get("/patients")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert SESSION_COOKIE in r.headers.get("set-cookie", "")  # deleted
    assert c.get("/patients").status_code == 303


def test_idle_session(real_client: Callable[..., Any], clock: Clock) -> None:
    c = real_client(idle_timeout_s=1800)
    assert _signed_in(_sign_in(c, "dr1"))
    clock.now += 1801
    assert c.get("/patients").status_code == 303


def test_user_without_sites_sees_no_patient(
    real_client: Callable[..., Any], real: dict[str, str]
) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, "nosite"))
    page = c.get("/patients")
    assert page.status_code == 200
    for code in ("P001", "P002", "SECRET9"):
        assert code not in page.text
    assert c.get("/patients/S01/P001").status_code == 404
    auth = {"Authorization": f"Bearer {real['nosite']}"}
    assert c.get("/api/v1/patients", headers=auth).json() == []
    assert c.get("/api/v1/patients?site=S01", headers=auth).json() == []
    assert c.get("/api/v1/patients/S01/P001", headers=auth).status_code == 404


def test_deactivated_user_is_signed_out(
    real_client: Callable[..., Any], real: dict[str, str], db_file: str
) -> None:
    from plptms.registry import Registry
    from plptms.web._sessions import SESSION_COOKIE
    from plptms.workflow import deactivate_user, principal_for

    c = real_client()
    assert _signed_in(_sign_in(c, "dr1"))
    auth = {"Authorization": f"Bearer {real['dr1']}"}
    assert c.get("/patients").status_code == 200
    assert c.get("/api/v1/patients", headers=auth).status_code == 200
    with Registry(db_file) as reg:
        deactivate_user(reg, "dr1", by=principal_for(reg, "admin"))
    r = c.get("/patients")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert SESSION_COOKIE in r.headers.get("set-cookie", "")
    assert c.get("/api/v1/patients", headers=auth).status_code == 401
    assert not _signed_in(_sign_in(real_client(), "dr1"))


# ---------------------------------------------------------------- cross-site
def _bodies() -> dict[str, dict[str, Any]]:
    from tests.web.test_api_rmt import _body as rmt_body

    today = dt.date.today().isoformat()
    return {
        "/api/v1/patients/{site}/{code}/rmt": rmt_body(),
        "/api/v1/patients/{site}/{code}/assessments": {
            "scale_id": "vas_phantom_average",
            "visit_date": today,
            "visit_kind": "follow_up",
            "items": {"1": 40.0},
        },
        "/patients/{site}/{code}/assessments": {
            "scale_id": "vas_phantom_average",
            "visit_date": today,
            "visit_kind": "follow_up",
            "item_1": "40",
        },
    }


def test_cross_site_on_every_route(
    real_client: Callable[..., Any], real: dict[str, str], db_file: str
) -> None:
    """dr2 (S02) asks for S01/P002 on every patient route: exactly the 404 of
    a patient that does not exist, and nothing stored."""
    c = real_client()
    assert _signed_in(_sign_in(c, "dr2"))
    auth = {"Authorization": f"Bearer {real['dr2']}"}
    routes = [(m, p) for m, p in route_table(c.app) if "{site}" in p and "{code}" in p]
    assert len(routes) >= 7
    bodies = _bodies()
    for method, path in routes:
        answers = []
        for code in ("P002", "NOSUCH1"):  # another site's patient, a missing one
            url = path.replace("{site}", "S01").replace("{code}", code)
            before = counts(db_file)
            body = bodies.get(path, {})
            if path.startswith("/api/"):
                r = c.request(method, url, json=body, headers=auth)
            elif method == "POST":
                token = csrf_of(c.get("/patients").text)
                r = c.post(url, data={**body, "csrf_token": token})
            else:
                r = c.request(method, url + "?scale=vas_phantom_average")
            assert r.status_code == 404, (method, path, code, r.status_code)
            assert counts(db_file) == before
            answers.append(r.text.replace(code, "CODE"))
        assert answers[0] == answers[1], (method, path)
