"""The clinic application in real Chromium, on the demonstration registry.

Signs in as the Berlin physician, opens the patient list, searches, opens a
patient, records an NRS with an out-of-range value (refused, the item and its
range named), then a valid one (stored and shown); signs in as the Berlin
rater (no treatment section) and as the Leeds physician (no Berlin patient).
Every page is checked with axe-core (no serious or critical violation) and
written to ``docs/screenshots/``.
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh demonstration registry per test, under the test's isolated
    configuration folders (where the audit key lives)."""
    from plptms.cli._serve import prepare_demo
    from plptms.web import WebSettings, clinic_app

    url, _ = prepare_demo(tmp_path / "demo")
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    with LiveServer(clinic_app(settings)) as live:
        yield live


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", "plptms-demo-only")
    with page.expect_navigation():
        page.click("button[type=submit]")


def _check(page: Any, name: str) -> None:
    """The disclaimer, no serious accessibility violation, a screenshot."""
    assert "not a certified medical device" in page.inner_text("body")
    bad = axe_violations(page)
    assert not bad, [(v["id"], v["help"], len(v["nodes"])) for v in bad]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_clinical_path_in_a_browser(server: LiveServer, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{server.url}/sign-in")
    _check(page, "sign-in")
    page.fill("#username", "dr.berlin")
    page.fill("#password", "wrong password here")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "unknown user or wrong password" in page.inner_text("body").lower()
    _sign_in(page, server.url, "dr.berlin")
    page.goto(f"{server.url}/patients")
    _check(page, "patients")
    body = page.inner_text("main")
    assert "DEMO-101" in body
    assert "DEMO-201" not in body  # a Leeds patient
    page.fill("#q", "102")
    page.wait_for_function(
        "() => !document.querySelector('main').innerText.includes('DEMO-101')"
    )
    assert "DEMO-102" in page.inner_text("main")
    page.goto(f"{server.url}/patients/S01/DEMO-101")
    _check(page, "patient")
    assert "Treatment" in page.inner_text("main")
    page.goto(
        f"{server.url}/patients/S01/DEMO-101/assessments/new?scale=nrs_phantom_average"
    )
    page.fill("#item-1", "11")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    text = page.inner_text("main")
    assert re.search(r"item_1'.*got 11", text, flags=re.S), text
    assert "[0, 10]" in text
    _check(page, "assessment-refused")
    page.select_option("#visit_kind", "follow_up")
    page.fill("#item-1", "2")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/patients/S01/DEMO-101" in page.url
    _check(page, "patient-after-assessment")
    ctx.close()


def test_roles_and_sites_in_a_browser(server: LiveServer, browser: Any) -> None:
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "rater.berlin")
    page.goto(f"{server.url}/patients/S01/DEMO-101")
    main = page.inner_text("main")
    assert "Assessments" in main
    assert "Treatment" not in main
    _check(page, "patient-as-rater")
    ctx.close()
    ctx = browser.new_context(bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "dr.leeds")
    response = page.goto(f"{server.url}/patients/S01/DEMO-101")
    assert response is not None
    assert response.status == 404
    assert "DEMO-101" not in page.inner_text("main") or "no such patient" in (
        page.inner_text("main").lower()
    )
    _check(page, "not-found")
    ctx.close()


def test_screenshots_exist() -> None:
    """Guards against a silently skipped browser run in CI."""
    import os

    if os.environ.get("PLPTMS_REQUIRE_BROWSER") != "1":
        pytest.skip("only in CI, after the browser tests")
    for name in ("sign-in", "patients", "patient", "assessment-refused"):
        assert (Path(SCREENSHOTS) / f"{name}.png").stat().st_size > 5_000
