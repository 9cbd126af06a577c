"""The two-worker console tests again, on PostgreSQL (row-level security on).

The relay threads, the controls posted to worker B and the event stream all run
on site-scoped registry views there, so the relay tables' policies (migration
0015) are active under every call.
"""

from __future__ import annotations

import pytest
from tests.web import test_console_relay as t
from tests.web.conftest import seed

from plptms.registry import Registry


@pytest.fixture
def db_file(db_url: str) -> str:
    """A seeded PostgreSQL registry (this module's override of the SQLite copy)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the SQLite runs are in test_console_relay.py")
    seed(db_url)
    with Registry(db_url) as reg:
        for e in reg.list_adverse_events("S01", "P001"):
            reg.review_adverse_event(
                e.id, physician="dr1", note="Mild, resolved.", continue_treatment=True
            )
    return db_url


def test_pause_and_resume_posted_to_b(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    t.test_pause_and_resume_posted_to_b_reach_as_runner(make_client, db_file)


def test_an_emergency_stop_posted_to_b(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    t.test_a_stop_posted_to_b_ends_as_session(
        make_client, db_file, "emergency_stop", "dr1", "", "emergency_stop",
        "emergency stop by dr1: emergency stop",
    )  # fmt: skip


def test_the_event_stream_on_b(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    t.test_the_event_stream_on_b_follows_as_progress(make_client, db_file)


def test_a_stale_heartbeat(make_client, db_file) -> None:  # type: ignore[no-untyped-def]
    t.test_a_stale_heartbeat_shows_runner_lost(make_client, db_file)


@pytest.mark.parametrize("user", ["dr2"])
def test_another_sites_user_stores_no_command(make_client, db_file, user) -> None:  # type: ignore[no-untyped-def]
    t.test_refused_controls_store_no_command(make_client, db_file, user, 404, True)
