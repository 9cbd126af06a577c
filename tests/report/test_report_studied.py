"""Reports show the studied target, the review's errors and refused overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from typing import Any

import pytest

from plptms.planner import plan_for_patient
from plptms.protocol import (
    Amputation,
    Hemisphere,
    PlannedBlock,
    TargetDeviation,
    TargetSite,
    load_library,
)
from plptms.registry import Registry
from plptms.report import render_html
from plptms.report._plain import plain_target
from plptms.safety import Override
from plptms.workflow import collect_report_data

from ._patients import add_patient

START = dt.date(2026, 3, 2)
TODAY = dt.date(2026, 2, 20)


def _flat(text: str) -> str:
    text = re.sub(r"<style>.*?</style>", " ", text, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(text))


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    u = f"sqlite:///{tmp_path_factory.mktemp('studied') / 'r.sqlite3'}"
    add_patient(u, "FULL")
    return u


def _data(url: str, **kw: Any) -> Any:
    with Registry(url) as reg:
        return collect_report_data(
            reg, "S1", "FULL", start_date=START, today=TODAY, **kw
        )


def test_refused_studied_protocol_report_shows_override_needs(url: str) -> None:
    """Malavera et al. (2016) as published: refused, overridable, corrections shown."""
    data = _data(url, protocol_id="malavera2016-m1-10hz")
    assert data.result.plan is None
    page = _flat(render_html(data, "clinician"))
    assert "What an override would need" in page
    assert "rule train_duration, field pulses_per_train: value 6 s, limit 5 s" in page
    assert "operator reason" in page
    assert "physician review" in page
    assert "refused by train_​duration (overridable)" in page


def test_planned_study_source_and_corrections(url: str) -> None:
    data = _data(url, protocol_id="dirollo2011-m1-1hz")
    assert data.result.plan is not None
    page = _flat(render_html(data, "clinician"))
    assert "Source of this protocol" in page
    assert "the published abstract" in page
    assert "doi:10.1155/2011/130751" in page
    # the review's wording beside what was published (Di Rollo & Pallanti, 2011)
    assert "contralateral M1" in page
    assert "unaffected hemisphere" in page
    # the M1 area is inferred for this patient, and said so
    assert "area inferred, not studied" in page


def test_deviation_shown_as_not_studied(url: str) -> None:
    data = _data(url)
    with Registry(url) as reg:
        from plptms.workflow import context_from_registry

        ctx = context_from_registry(reg, "S1", "FULL", as_of=TODAY)
    dev = TargetDeviation(
        target="m1_leg", reason="trying the leg area on purpose", operator="dr rep"
    )
    result = plan_for_patient(
        ctx.context,
        start_date=START,
        protocol_id="malavera2016-m1-10hz",
        overrides=[
            Override(
                rule_id="train_duration",
                reason="studied dose of a published RCT",
                operator="dr rep",
            )
        ],
        target_deviations=[dev],
    )
    assert result.plan is not None
    lib = load_library()
    data = dataclasses.replace(
        data, result=result, protocol=lib.protocol("malavera2016-m1-10hz")
    )
    page = _flat(render_html(data, "clinician"))
    assert "NOT STUDIED (recorded deviation); the study: m1_hand" in page
    assert "trying the leg area on purpose" in page
    patient = _flat(render_html(data, "patient"))
    assert "not the one used in the published study" in patient


def test_plain_wording_for_smc() -> None:
    block = PlannedBlock(
        label="SMC",
        target=TargetSite.SMC,
        hemisphere=Hemisphere.LEFT,
        intensity_pct_rmt=85.0,
        intensity_pct_mso=None,
        explanation="",
    )
    text = plain_target(block, Amputation(side="right", limb="lower"))
    assert "helps to plan movements" in text
    assert "left side of your head" in text
