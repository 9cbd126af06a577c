"""The clinic follow-up calendar in real Chromium, on the demonstration registry.

The demonstration seed has two Berlin courses (DEMO-104 due, DEMO-105
overdue); the server fixture records more through the registry (fictional,
relative to today): DEMO-102
(vats2024-dlpfc-1hz, 10 sessions ending 35 days ago: its 4-week visit is due,
its window still open), DEMO-103 (wang2022-m1-1hz, ending 60 days ago: the
4-week window closed, overdue), DEMO-106 (consensus2024-example-10hz, 2 of 10
sessions: in course); DEMO-101 is enrolled in the example trial. Signs in as the Berlin
physician and the Berlin rater; axe-core finds no serious violation; the pages
are written to ``docs/screenshots/followup.png`` and ``followup-rater.png``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveServer
from .test_clinic_pages import _check, _sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _weekdays_until(last: dt.date, n: int) -> list[dt.date]:
    out: list[dt.date] = []
    day = last
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day -= dt.timedelta(days=1)
    return out[::-1]


def _course(reg: Any, code: str, protocol_id: str, last: dt.date, n: int) -> None:
    from plptms.protocol import load_library
    from plptms.registry import SessionStatus
    from plptms.safety import check_protocol
    from tests._review import REVIEW

    proto = load_library().protocol(protocol_id)
    dates = _weekdays_until(last, n)
    aid = reg.assign_protocol(
        "S01", code, proto, check_protocol(proto, rmt_pct_mso=50.0, review=REVIEW),
        actor="dr.berlin", assigned_on=dates[0],
    )  # fmt: skip
    for k, day in enumerate(dates, start=1):
        reg.record_session(aid, k, day, SessionStatus.COMPLETED, actor="tech.berlin")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    from plptms.cli._serve import prepare_demo
    from plptms.registry import Registry
    from plptms.web import WebSettings, clinic_app

    url, _ = prepare_demo(tmp_path / "demo")
    today = dt.date.today()
    with Registry(url) as reg:
        _course(reg, "DEMO-102", "vats2024-dlpfc-1hz", today - dt.timedelta(35), 10)
        _course(reg, "DEMO-103", "wang2022-m1-1hz", today - dt.timedelta(60), 10)
        reg.add_patient("S01", "DEMO-106", history=None, actor="dr.berlin")
        _course(
            reg, "DEMO-106", "consensus2024-example-10hz", today - dt.timedelta(1), 2
        )
        _course(reg, "DEMO-101", "wang2022-m1-1hz", today - dt.timedelta(60), 10)
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    with LiveServer(clinic_app(settings)) as live:
        yield live


def test_followup_calendar_in_a_browser(server: LiveServer, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "dr.berlin")
    page.goto(f"{server.url}/followup")
    main = page.inner_text("main")
    order = [main.index(c) for c in ("DEMO-103", "DEMO-102", "DEMO-106", "DEMO-101")]
    assert order == sorted(order), main  # overdue, due, in course, trial
    assert main.index("DEMO-105") < main.index("DEMO-102")  # the seed's overdue
    assert main.index("DEMO-104") < main.index("DEMO-106")  # the seed's due
    for state in ("Overdue", "Due", "In course", "Trial patient"):
        assert state in main
    assert "see the trial calendar" in main
    assert "DEMO-201" not in main  # a Leeds patient
    assert "vats2024-dlpfc-1hz" in main
    _check(page, "followup")
    with page.expect_navigation():
        page.click("text=Record pain (nrs_phantom_average) >> nth=0")
    assert "/patients/S01/DEMO-103/assessments/new?scale=nrs_phantom_average" in (
        page.url
    )
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "rater.berlin")
    page.goto(f"{server.url}/followup?site=S01")
    main = page.inner_text("main")
    assert "vats2024" not in main
    assert "wang2022" not in main
    assert "Overdue" in main
    _check(page, "followup-rater")
    ctx.close()
