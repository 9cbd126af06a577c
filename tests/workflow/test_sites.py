"""A site's calendar date from its time zone, a site setting (issue 15).

Run under two time zones, +14 h (Pacific/Kiritimati) and -11 h
(Pacific/Pago_Pago): neither observes daylight saving time (IANA tz database),
so at a fixed UTC instant the expected local dates follow by adding the offset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from plptms.registry import Registry, RegistryError
from plptms.workflow import get_site, record_screening, set_site, site_today

#: 2026-12-03 10:00 UTC: 24:00 (next day, 00:00) at +14 h, 23:00 the day before at
#: -11 h.
INSTANT = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
EXPECTED = {
    "Pacific/Kiritimati": dt.date(2026, 12, 4),
    "Pacific/Pago_Pago": dt.date(2026, 12, 2),
}


@pytest.fixture
def reg(db_url: str) -> Iterator[Registry]:
    r = Registry(db_url)
    yield r
    r.close()


def test_two_sites_at_one_instant_have_different_dates(reg: Registry) -> None:
    set_site(reg, "KIR", name="Kiritimati", timezone="Pacific/Kiritimati", actor="a")
    set_site(reg, "PPG", name="Pago Pago", timezone="Pacific/Pago_Pago", actor="a")
    assert site_today(reg, "KIR", INSTANT) == EXPECTED["Pacific/Kiritimati"]
    assert site_today(reg, "PPG", INSTANT) == EXPECTED["Pacific/Pago_Pago"]
    assert site_today(reg, "KIR", INSTANT) - site_today(reg, "PPG", INSTANT) == (
        dt.timedelta(days=2)
    )


@pytest.mark.parametrize("zone", sorted(EXPECTED))
def test_a_site_without_a_zone_uses_the_environment(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("PLPTMS_TIMEZONE", zone)
    assert reg.site_timezone("S9") is None
    assert get_site(reg, "S9") is None
    assert site_today(reg, "S9", INSTANT) == EXPECTED[zone]


@pytest.mark.parametrize(
    ("env", "site_zone"),
    [
        ("Pacific/Pago_Pago", "Pacific/Kiritimati"),
        ("Pacific/Kiritimati", "Pacific/Pago_Pago"),
    ],
)
def test_the_site_setting_wins_over_the_environment(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, env: str, site_zone: str
) -> None:
    monkeypatch.setenv("PLPTMS_TIMEZONE", env)
    set_site(reg, "S1", name="Clinic", timezone=site_zone, actor="admin")
    assert site_today(reg, "S1", INSTANT) == EXPECTED[site_zone]


def test_setting_a_site_again_updates_it_audited(reg: Registry) -> None:
    first = set_site(reg, "S1", name="Clinic", timezone="Europe/Berlin", actor="a1")
    assert first.timezone == "Europe/Berlin"
    second = set_site(reg, "S1", name="Clinic B", timezone=" UTC ", actor="a2")
    stored = get_site(reg, "S1")
    assert stored == second
    assert (stored.name, stored.timezone, stored.actor) == ("Clinic B", "UTC", "a2")
    report = reg.verify_audit()
    assert report.ok, report.problems
    assert report.entries == 2


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"timezone": "Mars/Olympus"}, r"'timezone'.*Mars/Olympus"),
        ({"timezone": ""}, r"'timezone'"),
        ({"site": "bad site"}, r"'site'.*bad site"),
        ({"name": "   "}, r"'name'"),
        ({"name": "n" * 129}, r"'name'"),
        ({"actor": ""}, r"'actor'"),
    ],
)
def test_bad_site_settings_name_the_field_and_store_nothing(
    reg: Registry, kwargs: dict[str, str], pattern: str
) -> None:
    args = {"site": "S1", "name": "Clinic", "timezone": "UTC", "actor": "a"}
    args.update(kwargs)
    site = args.pop("site")
    with pytest.raises(RegistryError, match=pattern):
        set_site(reg, site, **args)
    if site == "S1":
        assert get_site(reg, "S1") is None
    assert reg.verify_audit().entries == 0


@pytest.mark.parametrize("zone", sorted(EXPECTED))
def test_an_undated_screening_gets_the_sites_date(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """The workflow and the registry take 'today' in the site's zone, not UTC."""
    import plptms.utils._clock as clock
    from plptms.safety import ScreeningAnswers, load_screening_items

    monkeypatch.setattr(clock, "utc_now", lambda: INSTANT)
    monkeypatch.setenv("PLPTMS_TIMEZONE", "UTC")
    set_site(reg, "S1", name="Clinic", timezone=zone, actor="a")
    reg.add_patient("S1", "P001", history=None, actor="n")
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    _, report = record_screening(
        reg, "S1", "P001", ScreeningAnswers(answers=answers), actor="dr"
    )
    assert report.screened_on == EXPECTED[zone]
    stored = reg.latest_screening("S1", "P001")
    assert stored is not None
    assert stored.screened_on == EXPECTED[zone]


@pytest.mark.parametrize("zone", sorted(EXPECTED))
def test_a_treatment_session_may_be_dated_up_to_the_sites_today(
    reg: Registry, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    """At one instant, +14 h has reached 12-04 and -11 h is still on 12-02."""
    import plptms.registry._clinical as clinical
    import plptms.utils._clock as clock
    from plptms.protocol import load_library
    from plptms.registry import SessionStatus
    from plptms.safety import check_protocol

    monkeypatch.setattr(clock, "utc_now", lambda: INSTANT)
    monkeypatch.setattr(clinical, "_now", lambda: INSTANT)
    monkeypatch.setenv("PLPTMS_TIMEZONE", "UTC")
    set_site(reg, "S1", name="Clinic", timezone=zone, actor="a")
    reg.add_patient("S1", "P001", history=None, actor="n")
    proto = load_library().protocol("wang2022-m1-1hz")
    aid = reg.assign_protocol(
        "S1", "P001", proto, check_protocol(proto), actor="d",
        assigned_on=dt.date(2026, 12, 1),
    )  # fmt: skip
    today = EXPECTED[zone]
    reg.record_session(aid, 1, today, SessionStatus.COMPLETED, actor="t")
    with pytest.raises(RegistryError, match="'session_date'"):
        reg.record_session(
            aid, 2, today + dt.timedelta(days=1), SessionStatus.COMPLETED, actor="t"
        )
