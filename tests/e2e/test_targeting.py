"""The targeting sheet in real Chromium, on the demonstration registry.

The Berlin physician opens a patient's targeting page, types a tape
measurement out of range (named inline, with its range), then valid ones with
a library protocol: the targets table and the sheet image (loaded, with its
alt text) are shown. The Berlin rater is refused. Every page is checked with
axe-core and written to ``docs/screenshots/``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import SCREENSHOTS, LiveServer, axe_violations

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PAGE = "/patients/S01/DEMO-101/targeting"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh demonstration registry (the audit key in this test's folders)."""
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


def test_targeting_sheet_in_a_browser(server: LiveServer, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "dr.berlin")
    page.goto(f"{server.url}{PAGE}")
    assert page.inner_text("h1") == "Targeting sheet"
    page.fill("#nasion_inion_cm", "90")
    page.fill("#tragus_tragus_cm", "36")
    page.fill("#circumference_cm", "60")
    page.select_option("#protocol_id", "grammer2015-s1-dlpfc")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    err = page.inner_text("#err-nasion_inion_cm")
    assert "nasion_inion_cm" in err
    assert "90" in err
    assert "[26, 46] cm" in err
    assert page.get_attribute("#nasion_inion_cm", "aria-invalid") == "true"
    _check(page, "targeting_refused")
    page.fill("#nasion_inion_cm", "38")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "nasion_inion_cm=38" in page.url  # a GET: the sheet is bookmarkable
    table = page.inner_text("main table")
    assert "s1" in table
    assert "dlpfc" in table
    img = page.locator("figure.sheet img")
    img.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('figure.sheet img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert "Targeting sheet for patient DEMO-101" in (img.get_attribute("alt") or "")
    _check(page, "targeting_sheet")
    ctx.close()

    rater = browser.new_context(bypass_csp=True)
    page = rater.new_page()
    _sign_in(page, server.url, "rater.berlin")
    page.goto(f"{server.url}{PAGE}")
    assert "Not allowed" in page.inner_text("h1")
    assert "DEMO-101" not in page.inner_text("main")
    rater.close()
