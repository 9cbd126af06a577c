"""The route-table site-isolation walks again, on PostgreSQL through HTTP.

Here the guarded views run on site-scoped registry views, so the database's
row-level security (migration 0014) is active under every request: the same
walks as ``test_routes.py`` must give the same answers with both walls up.
"""

from __future__ import annotations

import pytest
from tests.web import test_routes
from tests.web.conftest import seed


@pytest.fixture
def db_file(db_url: str) -> str:
    """A seeded PostgreSQL registry (this module's override of the SQLite copy)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the SQLite walks are in test_routes.py")
    seed(db_url)
    return db_url


def test_every_site_route_gives_s02_nothing_and_one_404(client, db_file) -> None:  # type: ignore[no-untyped-def]
    test_routes.test_every_site_route_gives_s02_nothing_and_one_404(client, db_file)


def test_the_same_routes_work_for_the_own_site(client, db_file) -> None:  # type: ignore[no-untyped-def]
    test_routes.test_the_same_routes_work_for_the_own_site(client, db_file)


def test_listing_and_search_show_only_own_sites(client) -> None:  # type: ignore[no-untyped-def]
    test_routes.test_listing_and_search_show_only_own_sites(client)
