"""The shipped library reproduces Table 2 of the review faithfully."""

from __future__ import annotations

import pytest

from plptms.protocol import Condition, Pattern, TargetSite

# (protocol id, target(s), Hz, % RMT, pulses/session, sessions, weeks) per Table 2
TABLE2 = [
    ("ahmed2011-m1-20hz", ["m1"], [20], [80], [2000], [5], [1]),
    ("dirollo2011-m1-1hz", ["m1"], [1], [80], [600], [15], [3]),
    (
        "lee2015-m1-s1-1hz",
        ["m1", "s1"],
        [1, 1],
        [80, 80],
        [800, 800],
        [None, None],
        [None, None],
    ),
    ("malavera2016-m1-10hz", ["m1"], [10], [90], [1200], [10], [2]),
    (
        "grammer2015-s1-dlpfc",
        ["s1", "dlpfc"],
        [1, 10],
        [100, 120],
        [2000, 3000],
        [28, 5],
        [6, 6],
    ),
    ("xu2019-m1-10hz", ["m1"], [10], [90], [1000], [20], [4]),
    ("xu2019-dlpfc-10hz", ["dlpfc"], [10], [90], [1000], [20], [4]),
    ("wang2022-m1-1hz", ["m1"], [1], [80], [900], [10], [2]),
    ("vats2024-dlpfc-1hz", ["dlpfc"], [1], [90], [1200], [10], [2]),
]

# (study id, n total, arm sizes) per Table 2
STUDIES = [
    ("ahmed2011", 27, [17, 10]),
    ("dirollo2011", 1, [1]),
    ("lee2015", 1, [1]),
    ("malavera2016", 54, [27, 27]),
    ("grammer2015", 1, [1]),
    ("xu2019", 24, [12, 12]),
    ("wang2022", 26, [12, 14]),
    ("vats2024", 19, [10, 9]),
]


@pytest.mark.parametrize(
    ("pid", "targets", "hz", "pct", "pulses", "sessions", "weeks"), TABLE2
)
def test_table2_protocol(
    library, pid, targets, hz, pct, pulses, sessions, weeks
) -> None:  # type: ignore[no-untyped-def]
    p = library.protocol(pid)
    assert p.condition is Condition.ACTIVE
    assert [b.dose.target.value for b in p.blocks] == targets
    for b, f, i, n, s, w in zip(
        p.blocks, hz, pct, pulses, sessions, weeks, strict=True
    ):
        assert b.dose.pattern is Pattern.RTMS
        assert b.dose.frequency_hz == pytest.approx(f)
        assert b.dose.intensity_pct_rmt == pytest.approx(i)
        assert b.dose.pulses_per_session == n
        assert b.sessions == s
        assert b.course_weeks == w
        # the review gives no train structure: recorded as unreported, not invented
        assert b.dose.pulses_per_train is None
        assert b.dose.trains_per_session is None
        assert b.dose.inter_train_interval_s is None


@pytest.mark.parametrize(("sid", "n", "arms"), STUDIES)
def test_table2_study(library, sid, n, arms) -> None:  # type: ignore[no-untyped-def]
    s = library.study(sid)
    assert s.n_total == n
    assert [a.n for a in s.arms] == arms
    assert sum(arms) == n
    for a in s.arms:
        if a.protocol_id is not None:
            assert library.protocol(a.protocol_id).study_id == sid


def test_multi_target_courses(library) -> None:  # type: ignore[no-untyped-def]
    lee = library.protocol("lee2015-m1-s1-1hz")
    assert [(b.label, b.phase) for b in lee.blocks] == [("M1", 1), ("S1", 2)]
    grammer = library.protocol("grammer2015-s1-dlpfc")
    dl = grammer.block("DLPFC")
    assert dl.same_sessions_as == "S1"
    assert dl.phase == grammer.block("S1").phase
    assert grammer.targets == (TargetSite.S1, TargetSite.DLPFC)


def test_unknown_id_suggests(library) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError, match="Did you mean 'malavera2016-m1-10hz'"):
        library.protocol("malavera2016-m1-10")


def test_consensus_range_and_conformance(library) -> None:  # type: ignore[no-untyped-def]
    rng = library.range("consensus2024-m1-hf")
    assert (rng.frequency_hz.low, rng.frequency_hz.high) == (10, 10)
    assert (rng.intensity_pct_rmt.low, rng.intensity_pct_rmt.high) == (80, 90)
    assert (rng.pulses_per_session.low, rng.pulses_per_session.high) == (1500, 3000)
    assert (rng.sessions.low, rng.sessions.high) == (5, 10)
    assert {r.line for r in rng.recommendations} == {"first-line", "second-line"}
    example = rng.conformance(library.protocol("consensus2024-example-10hz"))
    assert example.inside is True
    malavera = rng.conformance(library.protocol("malavera2016-m1-10hz"))
    assert malavera.inside is False
    assert [i.parameter for i in malavera.items if i.inside is False] == [
        "pulses_per_session"
    ]
    xu = rng.conformance(library.protocol("xu2019-dlpfc-10hz"))
    assert xu.inside is False  # DLPFC is not the consensus target
    lat = next(i for i in xu.items if i.parameter == "laterality")
    assert lat.inside is None
    assert lat.value == "unreported"
    wang = rng.conformance(library.protocol("wang2022-m1-1hz"))
    assert next(i for i in wang.items if i.parameter == "frequency_hz").inside is False
