"""Every route, generated from the app's route table: site isolation, banner.

A user of S01 asking any route about S02 (an existing code, a code that only
S02 has, a code nobody has) gets the same 404 and never S02 data; every HTML
page carries the research-software banner and basic accessibility markup.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from tests.web.conftest import (
    S02_MARKER_VALUE,
    S02_ONLY_CODE,
    USERS,
    counts,
    csrf_of,
    route_table,
    sign_in,
)

from plptms.web._render import BANNER

CODES = ("P001", S02_ONLY_CODE, "NOPE404")
TODAY = dt.date.today().isoformat()
FORM = {
    "scale_id": "vas_phantom_average",
    "visit_date": TODAY,
    "visit_kind": "follow_up",
    "item_1": "50",
}
BODY = {
    "scale_id": "vas_phantom_average",
    "visit_date": TODAY,
    "visit_kind": "follow_up",
    "items": {"1": 50},
}
#: What a route about S02 must never show an S01 user
LEAKS = (S02_ONLY_CODE, f"{S02_MARKER_VALUE:g}", "70.5")


def _site_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    # the trial routes need a trial: tests/web/test_trial_pages.py walks them
    return [
        (m, p)
        for m, p in route_table(app)
        if "{site}" in p and not p.startswith("/trials")
    ]


def _api_body(path: str, kind: str) -> dict[str, object]:
    """A valid body for each API write (a new write route adds its own here)."""
    if path.endswith("/rmt"):  # a measured RMT with its converged hunt
        from tests.web.test_api_rmt import _body

        return _body()
    return {**BODY, "visit_kind": kind}


def _call(  # type: ignore[no-untyped-def]
    client,
    method: str,
    path: str,
    token: str,
    site: str,
    code: str,
    kind: str = "follow_up",
):
    url = path.format(site=site, code=code)
    api = path.startswith("/api/")
    headers = {"Authorization": "Bearer tok-dr1"} if api else {}
    if method == "GET":
        return [
            client.get(url, headers=headers),
            client.get(url, params={"scale": "vas_phantom_average"}, headers=headers),
        ]
    if api:
        return [client.post(url, json=_api_body(path, kind), headers=headers)]
    return [client.post(url, data={**FORM, "visit_kind": kind, "csrf_token": token})]


def test_route_table_is_what_the_isolation_test_walks(client) -> None:  # type: ignore[no-untyped-def]
    routes = _site_routes(client.app)
    # the test below walks every one of these; a new route is walked too
    assert ("GET", "/patients/{site}/{code}") in routes
    assert ("POST", "/api/v1/patients/{site}/{code}/assessments") in routes
    assert ("GET", "/api/v1/patients/{site}/{code}/rmt") in routes
    assert ("POST", "/api/v1/patients/{site}/{code}/rmt") in routes
    assert len(routes) >= 7


def test_every_site_route_gives_s02_nothing_and_one_404(client, db_file) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    token = csrf_of(client.get("/patients").text)
    before = counts(db_file)
    for method, path in _site_routes(client.app):
        bodies = set()
        for code in CODES:
            for r in _call(client, method, path, token, "S02", code):
                assert r.status_code == 404, (method, path, code, r.status_code)
                for leak in LEAKS:
                    assert leak not in r.text, (method, path, code, leak)
                bodies.add(r.text)
        # an existing S02 patient and a missing one are answered alike
        assert len(bodies) == 1, (method, path)
    assert counts(db_file) == before


def test_the_same_routes_work_for_the_own_site(client, db_file) -> None:  # type: ignore[no-untyped-def]
    """The walk above can fail: at S01 the same calls succeed and store."""
    sign_in(client, "dr1")
    token = csrf_of(client.get("/patients").text)
    a0 = counts(db_file)[0]
    for method, path in _site_routes(client.app):
        kind = "other" if path.startswith("/api/") else "follow_up"
        # the targeting sheet needs head measurements and a PLP history:
        # tests/web/test_targeting.py checks its 200s
        needs_input = path.endswith(("/targeting.png", "/targets"))
        ok = (200, 201, 303, 422) if needs_input else (200, 201, 303)
        for r in _call(client, method, path, token, "S01", "P001", kind):
            assert r.status_code in ok, (method, path, r.status_code)
    assert counts(db_file)[0] == a0 + 2  # the form's and the API's


@pytest.mark.parametrize("username", sorted(u for u in USERS if u != "dr2"))
def test_no_role_of_s01_reads_s02(client, username) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, username)
    token = csrf_of(client.get("/").text)
    for method, path in _site_routes(client.app):
        if path.startswith("/api/"):
            continue
        for r in _call(client, method, path, token, "S02", S02_ONLY_CODE):
            assert r.status_code in (403, 404), (username, method, path)
            for leak in LEAKS:
                assert leak not in r.text


def test_listing_and_search_show_only_own_sites(client) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "dr1")
    for params in (
        {},
        {"site": "S02"},
        {"q": "SECRET"},
        {"q": "P0"},
        {"site": "S02", "q": "P"},
    ):
        for headers in ({}, {"HX-Request": "true"}):
            r = client.get("/patients", params=params, headers=headers)
            assert r.status_code == 200
            assert "S02" not in r.text.replace('value="S02"', "")
            assert S02_ONLY_CODE not in r.text
    rows = client.get("/patients", params={"q": "p00"}, headers={"HX-Request": "true"})
    assert rows.text.count("<tr>") == 2  # S01/P001 and S01/P002, case-insensitive
    api = {"Authorization": "Bearer tok-dr1"}
    for params in ({"site": "S02"}, {"q": S02_ONLY_CODE}):
        assert client.get("/api/v1/patients", params=params, headers=api).json() == []
    both = client.get("/api/v1/patients", headers=api).json()
    assert [(p["site"], p["code"]) for p in both] == [("S01", "P001"), ("S01", "P002")]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.headings: list[int] = []
        self.labels: set[str] = set()
        self.controls: list[str] = []
        self.tables_without_headers = 0
        self._table_th: list[int] = []

    def handle_starttag(self, tag, attrs) -> None:  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"] or "")
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a.get("id") or "")
        if tag == "table":
            self._table_th.append(0)
        if tag == "th" and self._table_th:
            self._table_th[-1] += 1

    def handle_endtag(self, tag) -> None:  # type: ignore[no-untyped-def]
        if tag == "table" and self._table_th:
            if self._table_th.pop() == 0:
                self.tables_without_headers += 1


def _check_page(html: str, where: str) -> None:
    assert BANNER in html, where
    p = _Page()
    p.feed(html)
    assert p.lang == "en", where
    assert p.headings[:1] == [1], where
    assert p.headings.count(1) == 1, where
    for prev, cur in zip(p.headings, p.headings[1:], strict=False):
        assert cur <= prev + 1, (where, p.headings)
    missing = [c for c in p.controls if not c or c not in p.labels]
    assert missing == [], (where, missing)
    assert p.tables_without_headers == 0, where  # data tables only, no layout tables


def test_every_html_page_has_the_banner_and_accessible_markup(client) -> None:  # type: ignore[no-untyped-def]
    seen = 0
    _check_page(client.get("/sign-in").text, "/sign-in")
    sign_in(client, "dr1")
    for method, path in route_table(client.app):
        if method != "GET" or path.startswith(("/api/", "/trials")):
            continue  # the trial pages: tests/web/test_trial_pages.py
        if path.endswith((".svg", ".png")):
            continue
        url = path.format(site="S01", code="P001")
        if url.startswith("/admin/"):  # the administrator's pages, below
            continue
        for params in ({}, {"scale": "sf_mpq2"}):
            resp = client.get(url, params=params)
            assert resp.status_code == 200, url
            if resp.headers["content-type"].startswith("text/html"):
                _check_page(resp.text, url)
                seen += 1
    # error pages: 404, a role's 403, the CSRF 403, a refused form (422)
    _check_page(client.get("/no/such/page").text, "404")
    _check_page(client.get("/patients/S02/P001").text, "404 other site")
    token = csrf_of(client.get("/patients").text)
    bad = client.post(
        "/patients/S01/P001/assessments",
        data={**FORM, "item_1": "150", "csrf_token": token},
    )
    assert bad.status_code == 422
    _check_page(bad.text, "422")
    _check_page(client.post("/patients/S01/P001/assessments", data=FORM).text, "csrf")
    admin = client.__class__(client.app, follow_redirects=False)
    sign_in(admin, "admin1")
    denied = admin.get("/patients")
    assert denied.status_code == 403
    _check_page(denied.text, "403")
    _check_page(admin.get("/").text, "home admin")
    for method, path in route_table(client.app):
        if method == "GET" and path.startswith("/admin/"):
            resp = admin.get(path)
            assert resp.status_code == 200, path
            _check_page(resp.text, path)
            seen += 1
    assert seen >= 7


def test_security_headers_on_pages_and_api(client) -> None:  # type: ignore[no-untyped-def]
    for r in (client.get("/sign-in"), client.get("/api/v1/scales")):
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Cache-Control"] == "no-store"


def test_htmx_is_vendored_and_no_cdn_is_referenced(client) -> None:  # type: ignore[no-untyped-def]
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200
    assert js.text.startswith("var htmx=function()")
    page = client.get("/sign-in").text
    assert 'src="/static/htmx.min.js"' in page
    assert "http://" not in page
    assert "https://" not in page
