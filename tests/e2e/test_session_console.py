"""The clinic pages in real Chromium, on the demonstration registry.

The Berlin physician screens DEMO-101, checks the demonstration protocol (its
verdict asks for review) and assigns it with a signed-off reason; the Berlin
technician starts session 1 on the simulator, watches the live progress (server-
sent events) and presses EMERGENCY STOP; the session is stored as stopped by an
emergency stop with its pulses. Every page passes axe-core (no serious or
critical violation) and is written to ``docs/screenshots/``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import SCREENSHOTS, LiveServer, axe_violations

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEMO_PROTOCOL = "consensus2024-example-10hz"
#: The simulated session's speed on the console in this test (10x real time).
SPEED = 10.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A fresh demonstration registry with an RMT for DEMO-101 (measured on the
    simulated subject, as the RMT page would record it)."""
    from plptms.cli._serve import prepare_demo
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.registry import Registry
    from plptms.web import WebSettings, clinic_app
    from plptms.workflow._views_console import SessionConsole

    url, _ = prepare_demo(tmp_path / "demo")
    with Registry(url) as reg:
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=48.0), seed=7),
            start_intensity_pct_mso=58.0,
        )
        reg.record_rmt(
            "S01",
            "DEMO-101",
            hunt,
            hemisphere="right",
            muscle="FDI",
            stimulator="sim",
            actor="tech.berlin",
        )
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    app = clinic_app(settings)
    app.state.clinic_console = SessionConsole(speed=SPEED)
    with LiveServer(app) as live:
        yield live, url


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", "plptms-demo-only")
    with page.expect_navigation():
        page.click("button[type=submit]")


def _check(page: Any, name: str) -> None:
    assert "not a certified medical device" in page.inner_text("body")
    bad = axe_violations(page)
    assert not bad, [(v["id"], v["help"], len(v["nodes"])) for v in bad]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_assign_with_sign_off_then_start_and_emergency_stop(
    server: tuple[LiveServer, str], browser: Any
) -> None:
    from plptms.delivery import replay_events
    from plptms.registry import Registry
    from plptms.safety import load_screening_items

    live, url = server
    base = f"{live.url}/patients/S01/DEMO-101"
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, live.url, "dr.berlin")
    page.goto(f"{base}/screening")
    _check(page, "clinic-screening")
    for item in load_screening_items():
        page.check(f"#a-{item.id}-no")
    _submit(page, "main form.screening button[type=submit]")
    assert "Screening stored: eligible" in page.inner_text("main")
    _check(page, "clinic-screening-stored")
    page.goto(f"{base}/assign?protocol={DEMO_PROTOCOL}")
    text = page.inner_text("main")
    assert re.search(r"verdict for .*: REVIEW", text, flags=re.S | re.I), text
    _check(page, "clinic-assign-review")
    page.fill("#review_reason", "Unverified table cells read; dose as published.")
    _submit(page, "main form.stack button[type=submit]")
    assert f"Assigned {DEMO_PROTOCOL}" in page.inner_text("main")
    assert "reviewed by dr.berlin" in page.inner_text("main")
    _check(page, "clinic-assigned")
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, live.url, "tech.berlin")
    page.goto(f"{base}/console")
    assert f"{DEMO_PROTOCOL} (next: session 1)" in page.inner_text("main")
    _check(page, "clinic-console")
    page.check("#ae_reviewed")
    _submit(page, "main form.stack button[type=submit]")
    # live progress arrives by server-sent events
    page.wait_for_function(
        "() => /^[1-9]\\d*\\//.test("
        "document.getElementById('live-pulses').textContent)",
        timeout=20_000,
    )
    assert "running" in page.inner_text("#live-status")
    _check(page, "clinic-console-running")
    _submit(page, "button.estop")
    # the stream ends when the run ends; the page reloads from the registry
    page.get_by_text("emergency stop by tech.berlin").first.wait_for(timeout=20_000)
    page.wait_for_load_state("load")
    main = page.inner_text("main")
    assert "emergency stop by tech.berlin" in main
    assert "resumes only after a physician authorises the restart" in main
    _check(page, "clinic-console-stopped")
    ctx.close()
    with Registry(url) as reg:
        aid, _ = reg.find_assignment("S01", "DEMO-101", DEMO_PROTOCOL)
        (d,) = reg.list_deliveries(aid)
        pulses = replay_events(reg.delivery_events(d.id)).total
        plan_total = sum(t["n_pulses"] for t in d.plan["trains"])
    assert d.status == "emergency_stop"
    assert 0 < pulses < plan_total
