"""The administration pages in real Chromium, on the demonstration registry.

Signs in as the administrator: the user list, a refused user (short password,
named), a created user, the administrator's own API token shown once, a
deactivation, and the audit verification; then as the monitor (audit page
only, users refused). Every page is checked with axe-core and written to
``docs/screenshots/``.
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


def test_admin_pages_in_a_browser(server: LiveServer, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "admin")
    page.goto(f"{server.url}/admin/users")
    _check(page, "admin-users")
    assert "dr.berlin" in page.inner_text("main")
    form = "main form[action='/admin/users']"
    page.fill("#username", "rater.new")
    page.fill("#display_name", "New rater")
    page.select_option("#role", "rater")
    page.fill("#sites", "S01")
    page.fill("#password", "short")
    _submit(page, f"{form} button[type=submit]")
    _check(page, "admin-users-refused")
    assert "'password'" in page.inner_text(".error-summary")
    page.fill("#password", "a-long-enough-passphrase")
    _submit(page, f"{form} button[type=submit]")
    assert "rater.new" in page.inner_text("main")
    page.goto(f"{server.url}/account/token")  # a token is the user's own
    _check(page, "account-token")
    _submit(page, "main button[type=submit]")
    _check(page, "admin-token")
    token = page.input_value("#token")
    assert token.startswith("plptms_")
    page.goto(f"{server.url}/admin/users")
    assert token not in page.content()  # shown once
    _submit(page, "main form[action='/admin/users/rater.new/deactivate'] button")
    row = page.locator("tr", has_text="rater.new").inner_text()
    assert "deactivated" in row
    page.goto(f"{server.url}/admin/audit")
    _check(page, "admin-audit")
    assert "The audit trail verifies" in page.inner_text("main")
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    _sign_in(page, server.url, "monitor")
    page.goto(f"{server.url}/admin/audit")
    assert "The audit trail verifies" in page.inner_text("main")
    resp = page.goto(f"{server.url}/admin/users")
    assert resp is not None
    assert resp.status == 403
    _check(page, "admin-users-refused-monitor")
    ctx.close()
