"""The planner's patient built from the registry: only recorded values, gaps named."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from plptms.planner import PatientContext, PriorTreatment
from plptms.registry import PatientOut, Registry, RegistryError
from plptms.workflow import context_from_records, context_from_registry

from ..report._patients import HAMA, HAMD, HISTORY, add_patient

ATOL = 1e-9


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    db = tmp_path_factory.mktemp("ctx") / "r.sqlite3"
    u = f"sqlite:///{db}"
    add_patient(u, "FULL", course=True)
    add_patient(u, "BARE", rmt_pct_mso=None, screening=None, assessments=False)
    add_patient(u, "NOHIST", history=False)
    return u


def test_full_patient_values_come_from_the_registry(url: str) -> None:
    as_of = dt.date(2026, 3, 14)
    with Registry(url) as reg:
        rc = context_from_registry(reg, "S1", "FULL", as_of=as_of)
        rmt = reg.latest_rmt("S1", "FULL")
    ctx = rc.context
    assert isinstance(ctx, PatientContext)
    assert rc.patient_id == ctx.patient_id == "S1/FULL"
    assert ctx.amputation.side.value == HISTORY["side"]
    assert ctx.amputation.limb.value == HISTORY["limb"]
    assert ctx.amputation.level == HISTORY["level"]
    assert ctx.amputation_cause == HISTORY["cause"]
    assert ctx.screening is not None
    assert ctx.screening.value == "eligible"
    assert rmt is not None
    assert ctx.rmt_pct_mso == pytest.approx(rmt[0], abs=ATOL)
    assert rc.rmt_measured_on == rmt[1]
    assert ctx.hamd_total == sum(HAMD.values())
    assert ctx.hama_total == sum(HAMA.values())
    # 2019-03-14 to 2026-03-14 is 7 years: 84 months to one decimal
    assert ctx.months_since_amputation == pytest.approx(84.0, abs=0.05)
    # latest pain score is the follow-up NRS of 5
    assert rc.pain is not None
    assert rc.pain.scale_id == "nrs_phantom_average"
    assert rc.pain.total == pytest.approx(5.0, abs=ATOL)
    assert rc.pain.visit_kind == "follow_up"
    assert rc.latest_scores[0].scale_id == "nrs_phantom_average"
    # the earlier course is listed, its response is not invented
    assert [a.protocol_id for a in rc.assignments] == ["wang2022-m1-1hz"]
    assert ctx.prior_treatments == ()
    assert any("wang2022-m1-1hz" in u and "not recorded" in u for u in rc.unknown), (
        rc.unknown
    )


def test_stated_prior_response_is_used(url: str) -> None:
    prior = PriorTreatment(protocol_id="wang2022-m1-1hz", response="non-responder")
    with Registry(url) as reg:
        rc = context_from_registry(reg, "S1", "FULL", prior_treatments=(prior,))
    assert rc.context.prior_treatments == (prior,)
    assert not any("wang2022-m1-1hz" in u for u in rc.unknown)
    assert any("non-responder (stated)" in s for s in rc.sources)


def test_missing_fields_stay_unknown(url: str) -> None:
    with Registry(url) as reg:
        rc = context_from_registry(reg, "S1", "BARE")
    ctx = rc.context
    assert ctx.rmt_pct_mso is None
    assert ctx.screening is None
    assert ctx.hamd_total is None
    assert ctx.hama_total is None
    assert rc.pain is None
    assert rc.latest_scores == ()
    text = " ".join(rc.unknown)
    for needle in (
        "resting motor threshold",
        "safety screening",
        "HAM-D 17",
        "HAM-A",
        "pain intensity",
    ):
        assert needle in text


def test_no_history_is_refused_with_the_field_named(url: str) -> None:
    with (
        Registry(url) as reg,
        pytest.raises(RegistryError, match=r"'history'.*S1/NOHIST"),
    ):
        context_from_registry(reg, "S1", "NOHIST")


def test_unknown_patient(url: str) -> None:
    with Registry(url) as reg, pytest.raises(RegistryError, match="no such patient"):
        context_from_registry(reg, "S1", "NOPE")


def test_later_unscored_assessment_is_noted(url: str) -> None:
    with Registry(url) as reg:
        patient = reg.get_patient("S1", "FULL")
        rows = reg.list_assessments("S1", "FULL")
    hamd = next(a for a in rows if a.scale_id == "ham_d17")
    later = hamd.model_copy(
        update={
            "id": 999,
            "visit_date": hamd.visit_date + dt.timedelta(days=5),
            "total": None,
            "computed": False,
        }
    )
    rc = context_from_records(
        patient, [*rows, later], None, None, as_of=dt.date(2026, 1, 1)
    )
    assert rc.context.hamd_total == sum(HAMD.values())
    score = next(s for s in rc.latest_scores if s.scale_id == "ham_d17")
    assert score.later_not_computed == 1
    assert any("could not be scored" in s for s in rc.sources)


def test_records_type_checked() -> None:
    with pytest.raises(TypeError, match="patient"):
        context_from_records(
            {"site": "S1"},  # type: ignore[arg-type]
            [],
            None,
            None,
            as_of=dt.date(2026, 1, 1),
        )
    patient = PatientOut(
        id=1,
        site="S1",
        code="X",
        amputation_date=None,
        history={},
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        deleted=False,
    )
    with pytest.raises(RegistryError, match="history"):
        context_from_records(patient, [], None, None, as_of=dt.date(2026, 1, 1))


def test_import_planner_does_not_load_the_registry_bridge() -> None:
    code = (
        "import sys, plptms.planner; "
        "print('plptms.workflow._planning' in sys.modules, "
        "'plptms.planner._trial' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent,
    )
    assert out.stdout.split() == ["False", "False"]
