"""Report downloads on the demonstration registry, with the real accounts.

A physician of the patient's site downloads both reports (PDF, whose text
carries the research-software statement); a rater (no ``report.read``) is
refused; a physician of another site gets the same 404 as for a missing
patient; an unknown kind is named in the refusal.
"""

from __future__ import annotations

import re
import secrets
import warnings
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    from plptms.cli._serve import prepare_demo
    from plptms.web import WebSettings, clinic_app

    url, seed = prepare_demo(tmp_path / "demo")
    app = clinic_app(
        WebSettings(
            db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
        )
    )
    with TestClient(app, follow_redirects=False) as client:
        yield client, seed


def _sign_in(client: Any, username: str, password: str) -> None:
    page = client.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token
    r = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": token[1]},
    )
    assert r.status_code == 303, r.text


def test_reports_by_role_and_site(demo: Any, tmp_path: Path) -> None:
    from plptms.report._png import pdf_text

    client, seed = demo
    _sign_in(client, "dr.berlin", seed.password)
    for kind in ("clinician", "patient"):
        r = client.get("/patients/S01/DEMO-101/report", params={"kind": kind})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        assert f'filename="S01-DEMO-101-{kind}.pdf"' in r.headers["content-disposition"]
        assert r.content.startswith(b"%PDF")
        path = tmp_path / f"{kind}.pdf"
        path.write_bytes(r.content)
        text = " ".join(pdf_text(path)).lower()
        assert "not a certified medical device" in " ".join(text.split())
        assert "demo-101" in text
    html = client.get(
        "/patients/S01/DEMO-101/report", params={"kind": "patient", "format": "html"}
    )
    assert html.status_code == 200
    assert "text/html" in html.headers["content-type"]
    bad = client.get("/patients/S01/DEMO-101/report", params={"kind": "nurse"})
    assert bad.status_code == 422
    assert "kind" in bad.text
    missing = client.get("/patients/S01/NOPE/report")
    other = client.get("/patients/S02/DEMO-201/report")
    assert missing.status_code == other.status_code == 404
    assert "DEMO-201" not in other.text


def test_a_rater_gets_no_report(demo: Any) -> None:
    client, seed = demo
    _sign_in(client, "rater.berlin", seed.password)
    r = client.get("/patients/S01/DEMO-101/report")
    assert r.status_code == 403
    assert "%PDF" not in r.text
