"""The pages' scripts under the real Content-Security-Policy, in Chromium.

The other end-to-end tests open pages with ``bypass_csp`` so that axe-core can
be injected; here nothing is bypassed. htmx's live patient search and the
session console's live progress (``clinic_console.js``, server-sent events)
must work under the policy the server sends (``script-src 'self'``, no inline
script or style, no eval), and the browser must report no violation on any
page visited.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import LiveServer
from .test_session_console import DEMO_PROTOCOL, _sign_in, _submit
from .test_session_console import server as server  # the fixture

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: Collects every CSP violation the page reports, from before any script runs.
_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _context(browser: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(_WATCH)
    return ctx


def _no_violation(page: Any) -> None:
    assert page.evaluate("window.__csp") == [], page.url


def test_scripts_work_under_the_real_policy(
    server: tuple[LiveServer, str], browser: Any
) -> None:
    from plptms.safety import load_screening_items

    live, _ = server
    base = f"{live.url}/patients/S01/DEMO-101"
    ctx = _context(browser)
    page = ctx.new_page()
    _sign_in(page, live.url, "dr.berlin")
    response = page.goto(f"{live.url}/patients")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    # htmx (vendored, allowEval false) swaps the list in as one types
    page.fill("#q", "102")
    page.wait_for_function(
        "() => !document.querySelector('main').innerText.includes('DEMO-101')"
    )
    assert "DEMO-102" in page.inner_text("main")
    _no_violation(page)
    for path in ("", "/screening", f"/assign?protocol={DEMO_PROTOCOL}"):
        page.goto(f"{base}{path}")
        _no_violation(page)
    page.goto(f"{base}/screening")
    for item in load_screening_items():
        page.check(f"#a-{item.id}-no")
    _submit(page, "main form.screening button[type=submit]")
    page.goto(f"{base}/assign?protocol={DEMO_PROTOCOL}")
    page.fill("#review_reason", "Unverified table cells read; dose as published.")
    _submit(page, "main form.stack button[type=submit]")
    assert f"Assigned {DEMO_PROTOCOL}" in page.inner_text("main")
    _no_violation(page)
    ctx.close()

    ctx = _context(browser)
    page = ctx.new_page()
    _sign_in(page, live.url, "tech.berlin")
    page.goto(f"{base}/console")
    page.check("#ae_reviewed")
    _submit(page, "main form.stack button[type=submit]")
    # the live figures change only if clinic_console.js runs under the policy
    page.wait_for_function(
        "() => /^[1-9]\\d*\\//.test("
        "document.getElementById('live-pulses').textContent)",
        timeout=20_000,
    )
    _no_violation(page)
    _submit(page, "button.estop")
    page.get_by_text("emergency stop by tech.berlin").first.wait_for(timeout=20_000)
    _no_violation(page)
    ctx.close()
