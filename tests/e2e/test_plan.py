"""The treatment-plan page in real Chromium, on the demonstration registry.

The demonstration seed assigns wang2022-m1-1hz (80 % RMT, one session each
weekday) to the Berlin patients DEMO-104 and DEMO-105; the server fixture
records a resting motor threshold for DEMO-105 (a converged ML-PEST hunt on a
simulated subject), so its plan gives the intensity in % MSO too. Signs in as
the Berlin physician and the Berlin rater; axe-core finds no serious
violation; the pages are written to ``docs/screenshots/patient-plan.png`` and
``patient-plan-none.png``.
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

#: The page prints the % MSO with one decimal.
PRINTED_ATOL_PCT = 0.05


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, float]]:
    from plptms.cli._serve import prepare_demo
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
    from plptms.registry import Registry
    from plptms.web import WebSettings, clinic_app

    url, _ = prepare_demo(tmp_path / "demo")
    with Registry(url) as reg:
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=52.0), seed=3),
            start_intensity_pct_mso=62.0,
        )
        rmt = reg.record_rmt(
            "S01", "DEMO-105", hunt, hemisphere="right", muscle="FDI",
            stimulator="sim", actor="tech.berlin",
        )  # fmt: skip
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    with LiveServer(clinic_app(settings)) as live:
        yield live, rmt


def test_plan_page_in_a_browser(server: tuple[LiveServer, float], browser: Any) -> None:
    live, rmt = server
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, live.url, "dr.berlin")
    page.goto(f"{live.url}/patients/S01/DEMO-105/plan")
    main = page.inner_text("main")
    assert "wang2022-m1-1hz" in main
    assert "Needs a physician's review before delivery." in main
    assert "Dr Demo (Berlin)" in main  # the review recorded with the assignment
    row = page.inner_text("table:has(caption:text('block by block')) tbody tr")
    cells = row.split("\t")
    assert cells[:4] == ["M1", "m1_hand", "right", "80"]
    assert float(cells[4]) == pytest.approx(80.0 * rmt / 100.0, abs=PRINTED_ATOL_PCT)
    dates = page.locator("table.plan-calendar tbody td.nowrap").all_inner_texts()
    assert len(dates) == 10
    assert all(dt.date.fromisoformat(d).weekday() < 5 for d in dates)
    _check(page, "patient-plan")
    # another start date: the calendar moves to the first weekday after it
    page.fill("#start", "2027-01-09")  # a Saturday
    with page.expect_navigation():
        page.click("main button[type=submit]")
    dates = page.locator("table.plan-calendar tbody td.nowrap").all_inner_texts()
    assert dates[0] == "2027-01-11"  # the Monday
    with page.expect_navigation():
        page.click("text=Back to the patient page")
    assert page.url.endswith("/patients/S01/DEMO-105")
    page.goto(f"{live.url}/patients/S01/DEMO-101/plan")
    assert "No protocol is assigned" in page.inner_text("main")
    _check(page, "patient-plan-none")
    ctx.close()
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, live.url, "rater.berlin")
    r = page.goto(f"{live.url}/patients/S01/DEMO-105/plan")
    assert r is not None
    assert r.status == 403
    assert "wang2022" not in page.inner_text("main")
    ctx.close()
