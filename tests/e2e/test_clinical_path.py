"""The clinical path end to end in real Chromium: a delivered session, a report.

On a fresh demonstration registry (with an RMT for DEMO-102, measured on the
simulated subject as in ``test_session_console``):

1. the Berlin physician finds DEMO-102 by the live search, records an NRS
   through the assessment form, screens the patient, checks the demonstration
   protocol (its verdict asks for review), signs it off and assigns it, and
   signs out;
2. the Berlin technician opens the session console, is refused once (the
   adverse-event review not confirmed: the pre-session checks are shown),
   passes the checks, starts session 1 on the simulator, watches the live
   progress (server-sent events) go through and reach the end, and sees the
   session stored as completed with every pulse of the protocol;
3. the physician opens the patient page (the session listed as completed) and
   downloads, through the page's links, the clinician report (PDF) and the
   patient report (PDF, and the same report in HTML).

Oracles: the protocol's pulses per session computed by hand from its library
parameters (50 pulses a train x 30 trains = 1500), the registry's delivery log
(replayed), the PDF magic bytes and the text of the PDFs (pypdfium2 through
:func:`plptms.report.pdf_text`), and the research-software statement in every
report. Every page passes axe-core (no serious or critical violation) and is
written to ``docs/screenshots/clinical-path-*.png``.
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

SITE = "S01"
CODE = "DEMO-102"
PROTOCOL = "consensus2024-example-10hz"
#: The protocol's parameters in the library (consensus2024.yaml), read by hand.
PULSES_PER_TRAIN = 50
TRAINS_PER_SESSION = 30
#: Pulses of one session, by hand: 50 pulses a train x 30 trains.
PULSES_PER_SESSION = 1500
FREQUENCY_HZ = 10.0
#: A train and the pause after it, by hand: 50 pulses at 10 Hz (5 s) + 25 s.
TRAIN_PERIOD_S = 30.0
#: Simulated length of a session, by hand: 30 trains of 5 s and the 29 pauses
#: of 25 s between them, s.
SESSION_S = 875.0
#: The console shows the time left rounded to the second, s.
ROUNDING_S = 0.5
#: The simulator's speed on the console in this test: the 875 s session runs
#: in about 6 s of wall time, so the live progress shows intermediate values.
SPEED = 150.0
#: Wall-clock allowance for the whole session to end in the browser, ms.
SESSION_TIMEOUT_MS = 60_000
#: The research-software statement of every page and report (whitespace folded).
DISCLAIMER = "not a certified medical device"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A fresh demonstration registry with an RMT for DEMO-102 (measured on the
    simulated subject, as the RMT procedure records it); the console runs the
    simulator at :data:`SPEED`."""
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
            SITE,
            CODE,
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


def _flat(text: str) -> str:
    """Fold whitespace (PDF text breaks lines anywhere)."""
    return " ".join(text.split())


def _check(page: Any, name: str) -> None:
    """The disclaimer, no serious accessibility violation, a screenshot."""
    assert DISCLAIMER in _flat(page.inner_text("body"))
    bad = axe_violations(page)
    assert not bad, [(v["id"], v["help"], len(v["nodes"])) for v in bad]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"clinical-path-{name}.png"), full_page=True)


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _sign_in(browser: Any, base: str, username: str, shot: str | None = None) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.goto(f"{base}/sign-in")
    if shot:
        _check(page, shot)
    page.fill("#username", username)
    page.fill("#password", "plptms-demo-only")
    _submit(page, "main button[type=submit]")
    assert f"{username} (" in page.inner_text("header")
    return page


def _sign_out(page: Any) -> None:
    _submit(page, "header form[action='/sign-out'] button[type=submit]")
    assert "/sign-in" in page.url
    page.context.close()


def _physician_prepares(page: Any, base: str) -> None:
    """Search, assessment, screening, assignment with sign-off."""
    from plptms.safety import load_screening_items

    _submit(page, "header nav a[href='/patients']")
    page.fill("#q", "102")
    page.wait_for_function(
        "() => !document.querySelector('#patient-rows').innerText.includes('DEMO-101')"
    )
    rows = page.inner_text("#patient-rows")
    assert CODE in rows
    assert "DEMO-101" not in rows
    assert "DEMO-201" not in rows  # a Leeds patient, never listed in Berlin
    _check(page, "search")
    _submit(page, f"#patient-rows a:text-is('{CODE}')")
    assert page.url.endswith(f"/patients/{SITE}/{CODE}")
    _check(page, "patient-before")

    # an assessment through the form: the scale chosen from the list
    _submit(page, "main a:text-is('Record an assessment')")
    _submit(page, "main a[href$='scale=nrs_phantom_average']")
    page.select_option("#visit_kind", "baseline")
    page.fill("#item-1", "7")
    _check(page, "assessment-form")
    _submit(page, "main button[type=submit]")
    assert page.url.endswith(f"/patients/{SITE}/{CODE}#assessments"), page.url
    table = page.inner_text("#assessments table")
    today_rows = [r for r in table.splitlines() if "nrs_phantom_average" in r]
    assert any(
        re.search(r"baseline\s+nrs_phantom_average\s+7\b", r) for r in today_rows
    )

    # the safety screening: every item answered "no" (eligible)
    _submit(page, "main a:text-is('Safety screening')")
    for item in load_screening_items():
        page.check(f"#a-{item.id}-no")
    _submit(page, "main form.screening button[type=submit]")
    assert "Screening stored: eligible" in page.inner_text("main")
    _check(page, "screening-stored")

    # the protocol checked at the patient's RMT; its verdict asks for review
    page.goto(f"{base}/patients/{SITE}/{CODE}")
    _submit(page, "main a:text-is('Assign a protocol')")
    page.select_option("#protocol", PROTOCOL)
    _submit(page, "main form.search button[type=submit]")
    text = page.inner_text("main")
    assert re.search(r"verdict for .*: REVIEW", text, flags=re.S | re.I), text
    _check(page, "assign-review")
    page.fill("#review_reason", "Unverified table cells read; dose as published.")
    _submit(page, "main form.stack button[type=submit]")
    main = page.inner_text("main")
    assert f"Assigned {PROTOCOL}" in main
    assert "reviewed by dr.berlin" in main
    _check(page, "assigned")


def _check_reading(live: dict[str, str]) -> None:
    """A live reading while stimulating, against the protocol by hand.

    After ``p`` pulses the session is in train ``k = ceil(p / 50)`` with
    ``n = p - 50 (k - 1)`` pulses of it delivered; the time left is the rest of
    the session, ``875 - 30 (k - 1) - n / 10`` s (each train and its pause take
    5 + 25 s, the last train has no pause), shown rounded to the second.
    """
    assert live["status"] == "running", live
    done, total = (int(x) for x in live["pulses"].split("/"))
    assert total == PULSES_PER_SESSION
    assert 0 < done < PULSES_PER_SESSION
    k = -(-done // PULSES_PER_TRAIN)
    n = done - PULSES_PER_TRAIN * (k - 1)
    assert live["train"] == f"{k}/{TRAINS_PER_SESSION}", live
    left = SESSION_S - TRAIN_PERIOD_S * (k - 1) - n / FREQUENCY_HZ
    shown = float(live["left"].removesuffix(" s (simulated)"))
    assert abs(shown - left) <= ROUNDING_S, (live, left)


def _technician_delivers(page: Any, base: str) -> None:
    """Console: refused without the AE review, then checks passed, run to the end."""
    page.goto(f"{base}/patients/{SITE}/{CODE}")
    _submit(page, "main a:text-is('Session console')")
    assert f"{PROTOCOL} (next: session 1)" in page.inner_text("main")
    _check(page, "console")

    # without the adverse-event review confirmed, the checks refuse the start
    _submit(page, "main form.stack button[type=submit]")
    checks = page.inner_text("main table")
    assert "FAILED" in checks
    assert "Refused" in page.inner_text("main .error-summary")
    _check(page, "console-refused")

    page.check("#ae_reviewed")
    _submit(page, "main form.stack button[type=submit]")
    assert re.search(r"/console\?session=\d+$", page.url), page.url
    # live progress by server-sent events: an intermediate reading first, its
    # fields read at once (they come from one event)
    live = page.wait_for_function(
        """() => {
            const text = (id) => document.getElementById(id).textContent;
            const m = /^(\\d+)\\/(\\d+)$/.exec(text('live-pulses'));
            if (!m || m[1] === '0' || m[1] === m[2]) return null;
            if (text('live-state') !== 'stimulating') return null;
            return {status: text('live-status'), pulses: text('live-pulses'),
                    train: text('live-train'), left: text('live-left')};
        }""",
        timeout=SESSION_TIMEOUT_MS,
    ).json_value()
    _check_reading(live)
    _check(page, "console-running")
    # ... then the end, as the stream's last event shows it (the page reloads
    # from the registry 0.8 s later: on a slow machine the reload may come
    # first, and the reloaded page shows the stored end in the same fields)
    from playwright.sync_api import Error as PlaywrightError

    try:
        end = page.wait_for_function(
            """() => {
                const note = document.getElementById('live-note');
                const done = document.querySelector("section#live[data-running='no']");
                if (!done && !(note && note.textContent.includes('no longer running')))
                    return null;
                const text = (id) => document.getElementById(id).textContent.trim();
                return {status: text('live-status'), pulses: text('live-pulses')};
            }""",
            timeout=SESSION_TIMEOUT_MS,
        ).json_value()
    except PlaywrightError:  # the reload destroyed the page between two polls
        page.wait_for_load_state("load")
        end = {
            "status": page.inner_text("#live-status").strip(),
            "pulses": page.inner_text("#live-pulses").strip(),
        }
    total = f"{PULSES_PER_SESSION}/{PULSES_PER_SESSION}"
    assert end == {"status": "completed", "pulses": total}, end
    page.locator("section#live[data-running='no']").wait_for(
        state="attached", timeout=SESSION_TIMEOUT_MS
    )
    page.wait_for_load_state("load")
    assert page.inner_text("#live-status").strip() == "completed"
    assert page.inner_text("#live-pulses").strip() == total
    row = page.inner_text("main section[aria-labelledby=h-sessions] tbody tr")
    assert PROTOCOL in row
    assert "completed" in row
    _check(page, "console-completed")


def _physician_downloads(page: Any, base: str, tmp_path: Path) -> dict[str, Path]:
    """The patient page lists the session; the reports come through its links."""
    from playwright.sync_api import Error as PlaywrightError

    page.goto(f"{base}/patients/{SITE}/{CODE}")
    sessions = page.inner_text("#treatment table")
    (row,) = [r for r in sessions.splitlines() if "delivery" in r]
    assert re.search(r"^1\s+\d{4}-\d\d-\d\d\s+completed\s+delivery \(sim\)", row), row
    _check(page, "patient-after")
    files: dict[str, Path] = {}
    for name, link in (
        ("clinician.pdf", "Clinician report (PDF)"),
        ("patient.pdf", "Patient report (PDF)"),
    ):
        with page.expect_download() as info:
            page.click(f"main a:text-is('{link}')")
        download = info.value
        assert download.suggested_filename == f"{SITE}-{CODE}-{name}"
        files[name] = tmp_path / name
        download.save_as(files[name])
    # the same patient report in HTML: the PDF link's address with format=html
    # (the patient page has no HTML link of its own)
    href = page.get_attribute("main a:text-is('Patient report (PDF)')", "href")
    assert href is not None
    with (
        page.expect_download() as info,
        pytest.raises(PlaywrightError, match=r"Download is starting|ERR_ABORTED"),
    ):
        page.goto(f"{base}{href}&format=html")  # Chromium aborts the navigation
    download = info.value
    assert download.suggested_filename == f"{SITE}-{CODE}-patient.html"
    files["patient.html"] = tmp_path / "patient.html"
    download.save_as(files["patient.html"])
    return files


def test_clinical_path_to_a_delivered_session_and_a_downloaded_report(
    server: tuple[LiveServer, str], browser: Any, tmp_path: Path
) -> None:
    from plptms.delivery import replay_events
    from plptms.protocol import load_library
    from plptms.registry import Registry
    from plptms.report import pdf_text

    # the hand computation rests on the library's parameters
    (block,) = load_library().protocol(PROTOCOL).blocks
    assert block.dose.pulses_per_train == PULSES_PER_TRAIN
    assert block.dose.trains_per_session == TRAINS_PER_SESSION
    assert block.dose.frequency_hz == FREQUENCY_HZ
    assert block.dose.inter_train_interval_s == TRAIN_PERIOD_S - 5.0
    assert PULSES_PER_TRAIN * TRAINS_PER_SESSION == PULSES_PER_SESSION

    live, url = server
    page = _sign_in(browser, live.url, "dr.berlin", shot="sign-in")
    _physician_prepares(page, live.url)
    _sign_out(page)

    page = _sign_in(browser, live.url, "tech.berlin")
    _technician_delivers(page, live.url)
    _sign_out(page)

    with Registry(url) as reg:
        aid, _ = reg.find_assignment(SITE, CODE, PROTOCOL)
        (d,) = reg.list_deliveries(aid)
        state = replay_events(reg.delivery_events(d.id))
        plan_pulses = sum(t["n_pulses"] for t in d.plan["trains"])
        plan_s = sum(
            t["n_pulses"] / t["frequency_hz"] + t["pause_after_s"]
            for t in d.plan["trains"]
        )
    assert d.status == "completed"
    assert d.number == 1
    assert d.device == "sim"
    assert len(d.plan["trains"]) == TRAINS_PER_SESSION
    assert plan_pulses == PULSES_PER_SESSION
    assert plan_s == pytest.approx(SESSION_S, abs=1e-9)
    assert state.total == PULSES_PER_SESSION

    page = _sign_in(browser, live.url, "dr.berlin")
    files = _physician_downloads(page, live.url, tmp_path)
    page.context.close()

    for name in ("clinician.pdf", "patient.pdf"):
        assert files[name].read_bytes()[:5] == b"%PDF-", name
    clinician = _flat(" ".join(pdf_text(files["clinician.pdf"])))
    patient = _flat(" ".join(pdf_text(files["patient.pdf"])))
    html = files["patient.html"].read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    for text in (clinician, patient, _flat(html)):
        assert f"Patient {SITE}/{CODE}" in text
        assert DISCLAIMER in text
        assert "research software" in text
    # the delivered session in the clinician report's "Sessions delivered"
    delivered = clinician.split("Sessions delivered", 1)[1]
    assert re.search(
        rf"\d{{4}}-\d\d-\d\d {re.escape(PROTOCOL)} 1 completed delivery log \(sim\)",
        delivered,
    ), delivered[:600]
    assert "No session recorded or delivered" not in clinician
