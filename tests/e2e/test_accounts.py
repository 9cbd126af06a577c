"""Account pages in real Chromium: role change, unlock, own password change.

On the demonstration registry: the administrator changes a role (the user's
open session ends at once), unlocks a username locked by five wrong
passwords, and a physician changes their own password (refused with a wrong
current one, then accepted; their other browser is signed out). Every page is
checked with axe-core and written to ``docs/screenshots/``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveServer
from .test_clinic_pages import _check, _sign_in

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEMO_PW = "plptms-demo-only"
NEW_PW = "a brand new passphrase"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    from plptms.cli._serve import prepare_demo
    from plptms.web import WebSettings, clinic_app

    url, _ = prepare_demo(tmp_path / "demo")
    settings = WebSettings(
        db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
    )
    with LiveServer(clinic_app(settings)) as live:
        yield live


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _context(browser: Any) -> Any:
    return browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)


def test_account_pages_in_a_browser(server: LiveServer, browser: Any) -> None:
    # the monitor is signed in elsewhere
    mon_ctx = _context(browser)
    mon = mon_ctx.new_page()
    _sign_in(mon, server.url, "monitor")
    assert mon.goto(f"{server.url}/admin/audit").status == 200

    adm_ctx = _context(browser)
    adm = adm_ctx.new_page()
    _sign_in(adm, server.url, "admin")
    adm.goto(f"{server.url}/admin/users")
    form = "main form[action='/admin/users/monitor/role']"
    adm.select_option(f"{form} select", "rater")
    adm.fill(f"{form} input[name=reason]", "moves to outcome rating")
    _submit(adm, f"{form} button[type=submit]")
    _check(adm, "admin-role-changed")
    assert "monitor is now rater" in adm.inner_text(".notice")
    # the monitor's open session ended with the role change
    mon.goto(f"{server.url}/admin/audit")
    assert mon.url.endswith("/sign-in")
    mon_ctx.close()

    # five wrong passwords lock dr.berlin; the administrator unlocks
    ctx = _context(browser)
    page = ctx.new_page()
    for _ in range(5):
        page.goto(f"{server.url}/sign-in")
        page.fill("#username", "dr.berlin")
        page.fill("#password", "wrong password here")
        _submit(page, "main button[type=submit]")
    assert "locked until" in page.inner_text("main")
    _submit(adm, "main form[action='/admin/users/dr.berlin/unlock'] button")
    _check(adm, "admin-unlocked")
    assert "Sign-in of dr.berlin unlocked" in adm.inner_text(".notice")
    adm_ctx.close()

    # dr.berlin, signed in twice, changes their own password in one browser
    other_ctx = _context(browser)
    other = other_ctx.new_page()
    _sign_in(other, server.url, "dr.berlin")
    _sign_in(page, server.url, "dr.berlin")
    page.goto(f"{server.url}/account/password")
    _check(page, "account-password")
    page.fill("#current_password", "not my password")
    page.fill("#new_password", NEW_PW)
    page.fill("#new_password_again", NEW_PW)
    _submit(page, "main button[type=submit]")
    _check(page, "account-password-refused")
    assert "'current_password'" in page.inner_text(".error-summary")
    page.fill("#current_password", DEMO_PW)
    page.fill("#new_password", NEW_PW)
    page.fill("#new_password_again", NEW_PW)
    _submit(page, "main button[type=submit]")
    _check(page, "account-password-changed")
    assert "1 other session(s) of yours ended" in page.inner_text(".notice")
    other.goto(f"{server.url}/patients")
    assert other.url.endswith("/sign-in")
    assert page.goto(f"{server.url}/patients").status == 200
    other_ctx.close()
    ctx.close()
