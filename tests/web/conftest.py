"""A registry of two sites and an app with fake accounts (the web layer alone).

The real accounts (``plptms.workflow`` users) are injected by the caller of
``create_app``; here simple fakes return :class:`plptms.access.Principal`
objects, so these tests check the web layer in isolation.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette's test client asks for the httpx2 fork; httpx still works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from plptms.access import Principal, Role
from plptms.registry import Registry

SECRET = "test-secret-key-" + "x" * 32

#: username -> (role, sites)
USERS: dict[str, tuple[Role, frozenset[str]]] = {
    "dr1": (Role.PHYSICIAN, frozenset({"S01"})),
    "op1": (Role.OPERATOR, frozenset({"S01"})),
    "rater1": (Role.RATER, frozenset({"S01"})),
    "mon1": (Role.MONITOR, frozenset({"S01"})),
    "admin1": (Role.ADMINISTRATOR, frozenset({"S01"})),
    "dr2": (Role.PHYSICIAN, frozenset({"S02"})),
}
#: a pain score only S02 has, to look for in every answer given to S01 users
S02_ONLY_CODE = "SECRET9"
S02_MARKER_VALUE = 77.25


class Accounts:
    """Fake accounts: password ``pw-<user>``, token ``tok-<user>``."""

    def __init__(self) -> None:
        self.deactivated: set[str] = set()
        self.calls: list[str] = []

    def _principal(self, username: str) -> Principal:
        if username not in USERS or username in self.deactivated:
            raise ValueError("Sign-in refused.")
        role, sites = USERS[username]
        return Principal(username=username, role=role, sites=sites)

    def authenticate(self, reg: Registry, username: str, password: str) -> Principal:
        assert isinstance(reg, Registry)
        if password != f"pw-{username}":
            raise ValueError("Sign-in refused.")
        return self._principal(username)

    def principal_for(self, reg: Registry, username: str) -> Principal:
        self.calls.append(username)
        return self._principal(username)

    def principal_from_token(self, reg: Registry, token: str) -> Principal:
        if not token.startswith("tok-"):
            raise ValueError("Token refused.")
        return self._principal(token[4:])


def seed(url: str) -> None:
    """S01: P001 (assessments, screening, RMT, assignment, session, AE), P002.

    S02: P001 (a code that also exists at S01) and SECRET9, with a pain score
    of 77.25 that no S01 patient has.
    """
    from tests._review import REVIEW
    from tests.workflow.conftest import protocol_data

    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.protocol import Protocol
    from plptms.registry import AdverseEventIn, SessionStatus, VisitIn
    from plptms.safety import (
        ScreeningAnswers,
        check_protocol,
        load_screening_items,
        screen,
    )
    from plptms.workflow import AssessmentInput, record_assessment

    today = dt.date.today()
    with Registry(url) as reg:
        for site, code in (
            ("S01", "P001"),
            ("S01", "P002"),
            ("S02", "P001"),
            ("S02", S02_ONLY_CODE),
        ):
            reg.add_patient(site, code, history=None, actor="seed")
        for site, code, values in (
            ("S01", "P001", (62.5, 31.0)),
            ("S02", S02_ONLY_CODE, (S02_MARKER_VALUE, 70.5)),
            ("S02", "P001", (S02_MARKER_VALUE, 70.5)),
        ):
            for days, kind, v in zip(
                (20, 2), ("baseline", "post_treatment"), values, strict=True
            ):
                record_assessment(
                    reg,
                    AssessmentInput(
                        site=site,
                        code=code,
                        visit=VisitIn(
                            visit_date=today - dt.timedelta(days=days), kind=kind
                        ),
                        scale_id="vas_phantom_average",
                        items={"1": v},
                    ),
                    actor="seed",
                )
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        report = screen(ScreeningAnswers(answers=answers, screened_on=today))
        reg.record_screening("S01", "P001", report, actor="seed")
        from tests.workflow.conftest import RMT

        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=RMT), seed=3),
            start_intensity_pct_mso=RMT + 10.0,
        )
        reg.record_rmt(
            "S01",
            "P001",
            hunt,
            hemisphere="right",
            muscle="FDI",
            stimulator="sim",
            actor="seed",
        )
        proto = Protocol.model_validate(protocol_data())
        aid = reg.assign_protocol(
            "S01", "P001", proto, check_protocol(proto, review=REVIEW), actor="seed"
        )
        aid = aid if isinstance(aid, int) else aid.id
        reg.record_session(aid, 1, today, SessionStatus.COMPLETED, actor="seed")
        reg.record_adverse_event(
            "S01",
            "P001",
            AdverseEventIn(
                term="headache", severity="mild", relatedness="possible", onset_on=today
            ),
            actor="seed",
        )


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()


@pytest.fixture(scope="session")
def _seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seed once; each test gets a copy (the seed takes about a second)."""
    base = tmp_path_factory.mktemp("web-seed")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_STATE_DIR", str(base / "state"))
        mp.setenv("PLPTMS_CONFIG_DIR", str(base / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        seed(f"sqlite:///{base / 'web.sqlite3'}")
    return base


@pytest.fixture(scope="session")
def _pg_template(_seeded: Path) -> Iterator[str | None]:
    """The same seed in a PostgreSQL template database (None: no server)."""
    from tests.conftest import _pg_admin_url

    admin = _pg_admin_url()
    if admin is None:
        yield None
        return
    import sqlalchemy as sa

    name = f"plptms_webseed_{uuid.uuid4().hex[:8]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLPTMS_CONFIG_DIR", str(_seeded / "config"))
        mp.delenv("PLPTMS_AUDIT_KEY_FILE", raising=False)
        seed(url)
    sa.create_engine(url).dispose()
    try:
        yield name
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_file(
    request: pytest.FixtureRequest, _seeded: Path, tmp_path: Path
) -> Iterator[str]:
    """A copy of the seeded registry, with its audit key in this test's config.

    Every web test runs on SQLite and on PostgreSQL (where the guarded views'
    scoped registry runs under row-level security); the PostgreSQL copy is a
    database made from a seeded template, skipped when no server is running.
    """
    config = Path(os.environ["PLPTMS_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    shutil.copy(_seeded / "config" / "audit.key", config / "audit.key")
    if request.param == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            src = _seeded / f"web.sqlite3{suffix}"
            if src.exists():
                shutil.copy(src, tmp_path / src.name)
        yield f"sqlite:///{tmp_path / 'web.sqlite3'}"
        return
    template = request.getfixturevalue("_pg_template")
    if template is None:
        pytest.skip("no PostgreSQL server (PLPTMS_TEST_PG_URL unset): run `make test`")
    import sqlalchemy as sa
    from tests.conftest import _pg_admin_url

    admin = _pg_admin_url()
    assert admin is not None
    name = f"plptms_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


class Clock:
    """A clock the tests move forward."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(
    db_file: str, accounts: Accounts, clock: Clock
) -> Iterator[Callable[..., Any]]:
    from plptms.web import WebSettings, create_app

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
            authenticate=accounts.authenticate,
            principal_for=accounts.principal_for,
            principal_from_token=accounts.principal_from_token,
            clock=clock,
        )
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    return make_client()


def csrf_of(html: str) -> str:
    """The CSRF token of a rendered page."""
    import re

    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def sign_in(client: Any, username: str, password: str | None = None) -> Any:
    """Sign in through the form; return the response."""
    page = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={
            "username": username,
            "password": password or f"pw-{username}",
            "csrf_token": csrf_of(page.text),
        },
    )


def counts(url: str) -> tuple[int, int, int]:
    """Rows of assessments, visits and audit entries (nothing stored = unchanged)."""
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            return tuple(  # type: ignore[return-value]
                c.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("assessments", "visits", "audit_log")
            )
    finally:
        eng.dispose()


def audit_actors(url: str, table: str) -> list[str]:
    """Actors of the audit entries of one table, oldest first."""
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    try:
        with eng.connect() as c:
            rows = c.execute(
                sa.text(
                    "SELECT actor FROM audit_log WHERE table_name = :t ORDER BY seq"
                ),
                {"t": table},
            )
            return [r[0] for r in rows]
    finally:
        eng.dispose()


def route_table(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its route table.

    FastAPI >= 0.16x keeps included routers as branches
    (``fastapi.routing.iter_route_contexts`` flattens them); older versions
    list the routes themselves.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI
        routes: Any = app.routes
    else:
        routes = iter_route_contexts(app.routes)
    out: list[tuple[str, str]] = []
    for r in routes:
        methods = getattr(r, "methods", None)
        path = getattr(r, "path", None)
        if methods and path:
            out.extend((m, path) for m in sorted(set(methods) - {"HEAD"}))
    return out
