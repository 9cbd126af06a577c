"""Administration pages on the real accounts: users, tokens, audit verification.

Roles come from the permission table: ``user.manage`` is the administrator's
alone, ``audit.verify`` the administrator's and the monitor's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from tests.web import test_security as _sec
from tests.web.conftest import audit_actors, counts, csrf_of
from tests.web.test_security import PASSWORD, _sign_in, _signed_in

# the real accounts' fixtures (the lead may move them to conftest.py)
_accounts_seeded = _sec._accounts_seeded
real = _sec.real
_pg_accounts_template = _sec._pg_accounts_template
real_client = _sec.real_client

NEW = {
    "username": "rater9",
    "display_name": "Rater Nine",
    "role": "rater",
    "sites": "S01, S02",
    "password": "a-long-enough-passphrase",
}


def _admin(real_client: Callable[..., Any], user: str = "admin") -> tuple[Any, str]:
    c = real_client()
    assert _signed_in(_sign_in(c, user))
    page = c.get("/admin/users")
    return c, csrf_of(page.text) if page.status_code == 200 else ""


def _users(db_file: str) -> dict[str, tuple[str, bool]]:
    from plptms.registry import Registry

    with Registry(db_file) as reg:
        return {u.username: (u.role.value, u.active) for u in reg.list_users()}


def test_user_list(real_client: Callable[..., Any]) -> None:
    c, _ = _admin(real_client)
    page = c.get("/admin/users")
    assert page.status_code == 200
    for u in ("admin", "dr1", "rater1", "mon1", "dr2", "nosite"):
        assert f"<td>{u}</td>" in page.text
    assert "Research software, not a certified medical device" in page.text
    assert "argon2" not in page.text.lower()  # no hash on the page


def test_create_user(real_client: Callable[..., Any], db_file: str) -> None:
    c, token = _admin(real_client)
    r = c.post("/admin/users", data={**NEW, "csrf_token": token})
    assert r.status_code == 303, r.text
    assert _users(db_file)["rater9"] == ("rater", True)
    from plptms.registry import Registry

    with Registry(db_file) as reg:
        u = reg.get_user("rater9")
        assert u is not None
        assert u.sites == frozenset({"S01", "S02"})
        assert u.actor == "admin"
    # the new user signs in with that password
    assert _signed_in(_sign_in(real_client(), "rater9", NEW["password"]))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "short"),
        ("role", "superuser"),
        ("username", "Bad Name!"),
        ("username", "dr1"),  # taken
        ("sites", "S 01"),
    ],
)
def test_create_user_refused(
    real_client: Callable[..., Any], db_file: str, field: str, value: str
) -> None:
    c, token = _admin(real_client)
    before = counts(db_file), _users(db_file)
    r = c.post("/admin/users", data={**NEW, field: value, "csrf_token": token})
    assert r.status_code == 422
    assert "error-summary" in r.text
    summary = r.text.split('class="error-summary"')[1].split("</div>")[0]
    assert field in summary or "exists" in summary, summary
    assert (counts(db_file), _users(db_file)) == before


def test_deactivate(real_client: Callable[..., Any], db_file: str) -> None:
    victim = real_client()
    assert _signed_in(_sign_in(victim, "dr1"))
    c, token = _admin(real_client)
    r = c.post("/admin/users/dr1/deactivate", data={"csrf_token": token})
    assert r.status_code == 303
    assert _users(db_file)["dr1"] == ("physician", False)
    assert victim.get("/patients").status_code == 303  # signed out
    # one's own account, or an unknown one: refused, shown, nothing changes
    before = counts(db_file)
    for who in ("admin", "nobody"):
        r = c.post(f"/admin/users/{who}/deactivate", data={"csrf_token": token})
        assert r.status_code == 422
        assert "error-summary" in r.text
    assert counts(db_file) == before


def _own_token_form(real_client: Callable[..., Any], user: str) -> tuple[Any, str]:
    c = real_client()
    assert _signed_in(_sign_in(c, user))
    page = c.get("/account/token")
    assert page.status_code == 200
    return c, csrf_of(page.text)


@pytest.mark.parametrize("user", ["dr1", "admin"])
def test_issue_own_token_shown_once(
    real_client: Callable[..., Any], db_file: str, user: str
) -> None:
    import sqlalchemy as sa

    c, token = _own_token_form(real_client, user)
    r = c.post(
        "/account/token", data={"label": "lab", "ttl_days": "30", "csrf_token": token}
    )
    assert r.status_code == 200
    m = re.search(r'value="(plptms_[A-Za-z0-9_-]{43})"', r.text)
    assert m, r.text
    plaintext = m.group(1)
    assert r.headers["cache-control"] == "no-store"
    # it acts as its own user on the API: the physician reads patients, the
    # administrator (no clinical record) is refused
    api = c.get("/api/v1/patients", headers={"Authorization": f"Bearer {plaintext}"})
    assert api.status_code == (200 if user == "dr1" else 403)
    # only its SHA-256 is stored, audited as the user's own act
    eng = sa.create_engine(db_file)
    with eng.connect() as conn:
        dump = "\n".join(
            str(row) for row in conn.execute(sa.text("SELECT * FROM api_tokens"))
        )
    eng.dispose()
    assert plaintext not in dump
    assert hashlib.sha256(plaintext.encode()).hexdigest() in dump
    assert audit_actors(db_file, "api_tokens")[-1] == user
    assert plaintext not in c.get("/account/token").text


def test_no_token_for_another_user(real_client: Callable[..., Any]) -> None:
    """A token acts as its user: the administrator cannot make one for dr1."""
    c, token = _admin(real_client)
    assert "Issue API token for" not in c.get("/admin/users").text
    r = c.post("/admin/users/dr1/token", data={"label": "x", "csrf_token": token})
    assert r.status_code in (404, 405)


@pytest.mark.parametrize("days", ["0", "366", "ten"])
def test_issue_token_refused(
    real_client: Callable[..., Any], db_file: str, days: str
) -> None:
    c, token = _own_token_form(real_client, "dr1")
    before = counts(db_file)
    r = c.post(
        "/account/token", data={"label": "lab", "ttl_days": days, "csrf_token": token}
    )
    assert r.status_code == 422
    assert "ttl_days" in r.text
    assert counts(db_file) == before


@pytest.mark.parametrize("user", ["admin", "mon1"])
def test_audit_page(real_client: Callable[..., Any], user: str) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, user))
    # the copied test database has no head anchor yet: the page says so
    r = c.get("/admin/audit")
    assert r.status_code == 200
    assert "does not verify" in r.text
    assert "no head anchor" in r.text
    # an audited write here anchors the head; then the trail verifies
    a, token = _admin(real_client)
    assert a.post("/admin/users", data={**NEW, "csrf_token": token}).status_code == 303
    r = c.get("/admin/audit")
    assert "The audit trail verifies" in r.text, r.text


def test_audit_page_shows_tampering(
    real_client: Callable[..., Any], db_file: str
) -> None:
    import sqlalchemy as sa

    a, token = _admin(real_client)
    assert a.post("/admin/users", data={**NEW, "csrf_token": token}).status_code == 303
    eng = sa.create_engine(db_file)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE patients SET code = 'P00X' WHERE code = 'P002'"))
    eng.dispose()
    c = real_client()
    assert _signed_in(_sign_in(c, "mon1"))
    r = c.get("/admin/audit")
    assert r.status_code == 200
    assert "does not verify" in r.text
    assert "no head anchor" not in r.text  # the tampering is what is reported
    assert "patients" in r.text.split('class="error-summary"')[1]


@pytest.mark.parametrize("user", ["dr1", "rater1", "mon1"])
def test_user_pages_need_user_manage(
    real_client: Callable[..., Any], db_file: str, user: str
) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, user))
    assert c.get("/admin/users").status_code == 403
    token = csrf_of(c.get("/").text)
    before = counts(db_file), _users(db_file)
    for path, data in (
        ("/admin/users", NEW),
        ("/admin/users/rater1/deactivate", {}),
    ):
        r = c.post(path, data={**data, "csrf_token": token})
        assert r.status_code == 403, (user, path)
        assert "Your role does not allow" in r.text
    assert (counts(db_file), _users(db_file)) == before


@pytest.mark.parametrize("user", ["dr1", "rater1"])
def test_audit_page_needs_audit_verify(
    real_client: Callable[..., Any], user: str
) -> None:
    c = real_client()
    assert _signed_in(_sign_in(c, user))
    assert c.get("/admin/audit").status_code == 403


def test_admin_pages_need_sign_in(real_client: Callable[..., Any]) -> None:
    c = real_client()
    for path in ("/admin/users", "/admin/audit"):
        assert c.get(path).status_code == 303
    assert PASSWORD  # the fixtures' password is the one signed in with above
