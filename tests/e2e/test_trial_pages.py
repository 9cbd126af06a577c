"""The trial pages in real Chromium, on the demonstration registry.

Setup: DEMO-102 (Berlin) gets an all-"no" safety screening through the
workflow, so it is eligible. The Berlin physician opens the trial list and the
trial page (blinded), enrols DEMO-102 (kit code shown, no arm), is refused
enrolling the ineligible DEMO-103, opens the follow-up calendar and the
patient's calendar, is refused a visit outside its window, records a serious
adverse event (flagged, two stopping rules met, enrolment paused) and unblinds
a patient with a reason. The statistician opens the trial page (arms) and the
analysis page with its CONSORT diagram; the operator sees no arm and may not
unblind. Every page: the disclaimer, no serious axe violation, a screenshot.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import SCREENSHOTS, LiveServer, axe_violations

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TRIAL = "plp-rtms-mirror-2x2"
ARM_IDS = ("active_mt", "active_no_mt", "sham_mt", "sham_no_mt")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh demonstration registry with DEMO-102 screened eligible."""
    from plptms.cli._serve import prepare_demo
    from plptms.registry import Registry
    from plptms.safety import ScreeningAnswers, load_screening_items
    from plptms.web import WebSettings, clinic_app
    from plptms.workflow._clinic import record_screening

    url, _ = prepare_demo(tmp_path / "demo")
    with Registry(url) as reg:
        answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
        record_screening(
            reg,
            "S01",
            "DEMO-102",
            ScreeningAnswers(answers=answers, screened_on=dt.date.today()),
            actor="dr.berlin",
        )
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    with LiveServer(clinic_app(settings)) as live:
        yield live


def _sign_in(browser: Any, base: str, username: str) -> tuple[Any, Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{base}/sign-in")
    page.fill("#username", username)
    page.fill("#password", "plptms-demo-only")
    with page.expect_navigation():
        page.click("button[type=submit]")
    return ctx, page


def _check(page: Any, name: str) -> None:
    """The disclaimer, no serious accessibility violation, a screenshot."""
    assert "not a certified medical device" in page.inner_text("body")
    bad = axe_violations(page)
    assert not bad, [(v["id"], v["help"], len(v["nodes"])) for v in bad]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _submit(page: Any) -> None:
    with page.expect_navigation():
        page.click("main button[type=submit]")


def test_physician_enrols_follows_up_and_unblinds(
    server: LiveServer, browser: Any
) -> None:
    base = f"{server.url}/trials/{TRIAL}"
    ctx, page = _sign_in(browser, server.url, "dr.berlin")
    page.goto(f"{server.url}/trials")
    assert TRIAL in page.inner_text("main")
    _check(page, "trials")
    page.goto(base)
    main = page.inner_text("main")
    assert "DEMO-101" in main
    assert not [a for a in ARM_IDS if a in main]
    _check(page, "trial")
    page.goto(f"{base}/enrol")
    _check(page, "trial-enrol")
    page.select_option("#patient", "S01/DEMO-102")
    page.select_option("#factor-limb", "upper")
    page.select_option("#factor-pain_band", "nrs_7_10")
    _submit(page)
    kit = page.inner_text(".kit")
    assert len(kit) >= 4
    assert not [a for a in ARM_IDS if a in page.inner_text("main")]
    _check(page, "trial-enrolled")
    page.goto(f"{base}/enrol")
    page.select_option("#patient", "S01/DEMO-103")
    page.select_option("#factor-limb", "upper")
    page.select_option("#factor-pain_band", "nrs_7_10")
    _submit(page)
    text = page.inner_text("main")
    assert "Enrolment refused" in text
    assert "eligible" in text
    _check(page, "trial-enrol-refused")
    page.goto(f"{base}/sites/S01/visits")
    assert "DEMO-102" in page.inner_text("main")
    _check(page, "trial-visits")
    page.goto(f"{base}/patients/S01/DEMO-102")
    assert kit in page.inner_text("main")
    _check(page, "trial-patient")
    page.select_option("#visit_id", "followup_6m")
    _submit(page)
    text = page.inner_text("main")
    assert "Visit refused" in text
    assert "window" in text
    _check(page, "trial-visit-refused")
    page.goto(f"{base}/patients/S01/DEMO-102/adverse-events/new")
    _check(page, "trial-ae")
    page.select_option("#term", "seizure")
    page.select_option("#severity", "severe")
    page.select_option("#relatedness", "probable")
    page.check("#serious")
    page.select_option("#serious_criterion", "hospitalisation")
    _submit(page)
    text = page.inner_text("main")
    assert "SERIOUS ADVERSE EVENT" in text
    assert "any_seizure" in text
    _check(page, "trial-ae-serious")
    page.goto(base)
    alert = page.inner_text("[role=alert]")
    assert "Unreviewed serious adverse event" in alert
    _check(page, "trial-alert")
    page.goto(f"{base}/patients/S01/DEMO-101/unblind")
    _check(page, "trial-unblind")
    page.fill("#reason", "Emergency: seizure, the treating physician needs the arm")
    _submit(page)
    shown = [a for a in ARM_IDS if a in page.inner_text("main")]
    assert len(shown) == 1
    _check(page, "trial-unblinded")
    ctx.close()


def test_statistician_analysis_and_consort(server: LiveServer, browser: Any) -> None:
    base = f"{server.url}/trials/{TRIAL}"
    ctx, page = _sign_in(browser, server.url, "stat")
    page.goto(base)
    main = page.inner_text("main")
    assert all(a in main for a in ARM_IDS)
    _check(page, "trial-as-statistician")
    page.goto(f"{base}/analysis")
    assert "Interim look 1" in page.inner_text("main")
    page.wait_for_function(
        "() => { const i = document.querySelector('figure img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    _check(page, "trial-analysis")
    ctx.close()


def test_operator_is_blind_and_may_not_unblind(
    server: LiveServer, browser: Any
) -> None:
    base = f"{server.url}/trials/{TRIAL}"
    ctx, page = _sign_in(browser, server.url, "tech.berlin")
    for path in ("", "/sites/S01/visits", "/patients/S01/DEMO-101"):
        page.goto(f"{base}{path}")
        assert not [a for a in ARM_IDS if a in page.content()], path
    _check(page, "trial-patient-as-operator")
    response = page.goto(f"{base}/patients/S01/DEMO-101/unblind")
    assert response is not None
    assert response.status == 403
    ctx.close()
