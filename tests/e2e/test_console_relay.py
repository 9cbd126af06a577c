"""The session console across two web workers, in a browser.

Two servers (two applications, two consoles: two workers) over one fresh
demonstration registry. A technician starts a session on worker A; on worker
B the console first shows the runner as lost (A's heartbeat is made rare, B's
limit short), then, after a physician's restart and a resume on A with a normal
heartbeat, follows A's progress live and stops it with EMERGENCY STOP.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_console_relay_processes import _ready

from .conftest import SCREENSHOTS, LiveServer, axe_violations

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The simulated session's speed on the consoles (10x real time).
SPEED = 10.0
BASE = "/patients/S01/DEMO-101"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer, str]]:
    from plptms.cli._serve import prepare_demo
    from plptms.web import WebSettings, clinic_app
    from plptms.workflow._console_hub import SessionConsole

    url, _ = prepare_demo(tmp_path / "demo")
    _ready(url)
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    app_a, app_b = clinic_app(settings), clinic_app(settings)
    # A beats once an hour, B calls a heartbeat older than 1 s lost
    app_a.state.clinic_console = SessionConsole(speed=SPEED, heartbeat_s=3600.0)
    app_b.state.clinic_console = SessionConsole(speed=SPEED, stale_s=1.0)
    with LiveServer(app_a) as a, LiveServer(app_b) as b:
        yield a, b, url


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", "plptms-demo-only")
    with page.expect_navigation():
        page.click("main button[type=submit]")


def _check(page: Any, name: str) -> None:
    assert "not a certified medical device" in page.inner_text("body")
    bad = axe_violations(page)
    assert not bad, [(v["id"], v["help"], len(v["nodes"])) for v in bad]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_a_session_on_a_seen_and_stopped_on_b(servers, browser) -> None:  # type: ignore[no-untyped-def]
    from plptms.workflow._console_hub import SessionConsole

    a, b, _ = servers
    con_a = a.server.config.app.state.clinic_console
    ctx_a = browser.new_context(viewport={"width": 1280, "height": 900})
    tech_a = ctx_a.new_page()
    _sign_in(tech_a, a.url, "tech.berlin")
    tech_a.goto(f"{a.url}{BASE}/console")
    tech_a.check("#ae_reviewed")
    _submit(tech_a, "main form.stack button[type=submit]")
    sid = int(tech_a.url.rsplit("session=", 1)[1])

    ctx_b = browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    tech_b = ctx_b.new_page()
    _sign_in(tech_b, b.url, "tech.berlin")
    tech_b.wait_for_timeout(1500)  # A's only heartbeat is now older than 1 s
    tech_b.goto(f"{b.url}{BASE}/console?session={sid}")
    main = tech_b.inner_text("main")
    assert "Runner lost." in main
    assert f"Worker {con_a.worker} ran this session" in main
    assert "(runner lost)" in main
    assert "Pause after this train" not in main
    _check(tech_b, "clinic-console-runner-lost")
    # A still takes controls: the stop posted to B ends A's run
    _submit(tech_b, "button.estop")
    assert con_a.join(sid, 30.0)
    tech_b.goto(f"{b.url}{BASE}/console?session={sid}")
    assert "emergency stop by tech.berlin" in tech_b.inner_text("main")

    # a physician's restart on B; A (now beating normally) resumes the session
    ctx_dr = browser.new_context(viewport={"width": 1280, "height": 900})
    dr = ctx_dr.new_page()
    _sign_in(dr, b.url, "dr.berlin")
    dr.goto(f"{b.url}{BASE}/console?session={sid}")
    dr.fill("#restart-reason", "Patient seen after the stop: go on.")
    _submit(dr, "main form.stack button[type=submit]")
    ctx_dr.close()
    con_a = SessionConsole(speed=SPEED)
    a.server.config.app.state.clinic_console = con_a
    tech_a.goto(f"{a.url}{BASE}/console?session={sid}")
    tech_a.check("#resume-ae")
    _submit(tech_a, "main form.stack button[type=submit]")

    tech_b.goto(f"{b.url}{BASE}/console?session={sid}")
    tech_b.wait_for_function(
        "() => /^[1-9]\\d*\\//.test("
        "document.getElementById('live-pulses').textContent)",
        timeout=20_000,
    )
    assert f"worker {con_a.worker}" in tech_b.inner_text("#live-worker")
    assert "Runner lost" not in tech_b.inner_text("main")
    _check(tech_b, "clinic-console-relayed")
    _submit(tech_b, "button.estop")
    assert con_a.join(sid, 30.0)
    tech_b.get_by_text("emergency stop by tech.berlin").first.wait_for(timeout=20_000)
    ctx_a.close()
    ctx_b.close()
