"""The web application while the network to its PostgreSQL registry is down.

Oracle: the HTTP status (503, not a 500 traceback), the message that the
registry raised (names the server's host:port and says nothing was written),
and the same page answering 200 again once the network is back, without a
restart of the application.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.registry.test_multisite_network import TcpProxy, proxied_url

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def proxied(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, TcpProxy]]:
    """The registry URL through a proxy, and the proxy (PostgreSQL only)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a network registry is PostgreSQL's")
    url = sa.engine.make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield proxied_url(db_url, proxy, monkeypatch), proxy
    proxy.close()


def test_pages_and_api_answer_503_while_the_registry_is_unreachable(
    proxied: tuple[str, TcpProxy],
) -> None:
    from plptms.registry import Registry
    from plptms.web import WebSettings, create_app
    from tests.web.conftest import SECRET, Accounts, sign_in

    url, proxy = proxied
    with Registry(url) as reg:
        reg.add_patient("S01", "P001", history=None, actor="seed")
    accounts = Accounts()
    app = create_app(
        WebSettings(db_url=url, secret_key=SECRET, cookie_secure=False),
        authenticate=accounts.authenticate,
        principal_for=accounts.principal_for,
        principal_from_token=accounts.principal_from_token,
    )
    api = {"Authorization": "Bearer tok-dr1"}
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        assert sign_in(c, "dr1").status_code == 303
        assert "P001" in c.get("/patients").text
        proxy.cut("blackhole")
        page: Any = c.get("/patients")
        assert page.status_code == 503
        assert f"127.0.0.1:{proxy.port}" in page.text
        assert "nothing was written" in page.text
        assert "Traceback" not in page.text
        assert page.headers["Retry-After"] == "30"
        answer = c.get("/api/v1/patients", headers=api)
        assert answer.status_code == 503
        assert "cannot be reached" in answer.json()["detail"]
        proxy.restore()
        again = c.get("/patients")
        assert again.status_code == 200
        assert "P001" in again.text
        assert c.get("/api/v1/patients", headers=api).status_code == 200
