"""Targeting use case: the patient's targets from the registry, guarded, the sheet.

Oracles: the 10-20 system's C4 by hand (Jasper, 1958: 50 % of the nasion-inion
arc from the nasion, 20 % of the tragus-tragus arc lateral to Cz, a quarter of
the circumference from Fpz), the Beam F3 web calculator's published X for the
demonstration head (6.95 cm; tests/data/beam_f3_worked_values.json), Mayka et
al.'s (2006) M1 Talairach centre (37, -21, 58) as published (not verified).
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from plptms.access import AccessDeniedError, Principal, Role
from plptms.protocol import Hemisphere, TargetSite
from plptms.registry import Registry
from plptms.targeting import HeadMeasurements
from plptms.workflow._targeting import (
    plan_file_targets,
    plan_patient_targets,
    targeting_for,
    targeting_form_for,
    targeting_sheet_png,
)
from plptms.workflow._views import PatientNotFoundError

DR = Principal(username="dr1", role=Role.PHYSICIAN, sites=frozenset({"S01"}))
OP = Principal(username="op1", role=Role.OPERATOR, sites=frozenset({"S01"}))
MON = Principal(username="mon1", role=Role.MONITOR, sites=frozenset({"S01"}))
RATER = Principal(username="rater1", role=Role.RATER, sites=frozenset({"S01"}))
DR2 = Principal(username="dr2", role=Role.PHYSICIAN, sites=frozenset({"S02"}))
#: The Beam demonstration head, cm.
HEAD = HeadMeasurements(
    nasion_inion_cm=38.0, tragus_tragus_cm=36.0, circumference_cm=60.0
)
#: Tape distances are derived analytically: only float rounding differs.
ANALYTIC_ATOL_CM = 1e-9
#: Published values are printed with 2 decimals.
PUBLISHED_ATOL_CM = 0.005
#: Mayka et al. (2006) print whole millimetres.
PUBLISHED_ATOL_MM = 1e-9
#: A figure's pixel size is its inch size times dpi, rounded either way.
PX_ATOL = 1
BEAM = json.loads(
    (Path(__file__).parents[1] / "data" / "beam_f3_worked_values.json").read_text()
)["cases"][0]


def history(side: str, limb: str) -> dict[str, Any]:
    """A PLP history (amputation two and a half years ago)."""
    today = dt.date.today()
    return {
        "side": side,
        "limb": limb,
        "level": "transradial" if limb == "upper" else "transtibial",
        "cause": "trauma",
        "amputation_date": (today - dt.timedelta(days=900)).isoformat(),
        "assessed_on": today.isoformat(),
        "prosthesis_use": "daily",
        "phantom_sensations": True,
        "telescoping": False,
    }


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    """The web seed (S01/P001 without history, small-10hz assigned), plus
    S01/P010 (left arm, small-10hz assigned) and S01/P011 (right leg, nothing
    assigned)."""
    from plptms.protocol import Protocol
    from plptms.safety import check_protocol
    from tests._review import REVIEW
    from tests.web.conftest import seed
    from tests.workflow.conftest import protocol_data

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    seed(url)
    with Registry(url) as r:
        r.add_patient("S01", "P010", history=history("left", "upper"), actor="n")
        r.add_patient("S01", "P011", history=history("right", "lower"), actor="n")
        proto = Protocol.model_validate(protocol_data())
        r.assign_protocol(
            "S01", "P010", proto, check_protocol(proto, review=REVIEW), actor="dr1"
        )
        yield r


def _audit(reg: Registry) -> int:
    eng = sa.create_engine(reg.url)
    try:
        with eng.connect() as c:
            return int(
                c.execute(sa.text("SELECT COUNT(*) FROM audit_log")).scalar_one()
            )
    finally:
        eng.dispose()


def test_assigned_protocol_by_default_with_c4_by_hand(reg: Registry) -> None:
    before = _audit(reg)
    res = plan_patient_targets(reg, "S01", "P010", HEAD)
    assert (res.source, res.protocol_id) == ("assignment", "small-10hz")
    assert res.amputation.side.value == "left"
    (plan,) = res.plans
    assert plan.target is TargetSite.M1_HAND  # the protocol's m1_hand block
    assert plan.hemisphere is Hemisphere.RIGHT  # contralateral to the left arm
    (site,) = plan.sites
    (c4,) = [a for a in site.alternatives if a.method == "jasper_10_20_analytic"]
    assert c4.name == "C4"
    assert c4.side == "right"
    assert c4.from_nasion_cm == pytest.approx(0.5 * 38.0, abs=ANALYTIC_ATOL_CM)
    assert c4.lateral_cm == pytest.approx(0.2 * 36.0, abs=ANALYTIC_ATOL_CM)
    assert c4.ring_from_fpz_cm == pytest.approx(60.0 / 4, abs=ANALYTIC_ATOL_CM)
    assert site.mni is not None
    assert site.mni.talairach_mm == pytest.approx((37, -21, 58), abs=PUBLISHED_ATOL_MM)
    assert site.mni.x_mm > 0  # mirrored to the right hemisphere
    assert _audit(reg) == before  # a plan stores nothing


def test_library_protocol_gives_s1_and_beam_f3(reg: Registry) -> None:
    res = plan_patient_targets(
        reg, "S01", "P011", HEAD, protocol_id="grammer2015-s1-dlpfc"
    )
    assert (res.source, res.protocol_id) == ("library", "grammer2015-s1-dlpfc")
    s1, dlpfc = res.plans
    assert (s1.target, s1.hemisphere) == (TargetSite.S1, Hemisphere.LEFT)
    assert (dlpfc.target, dlpfc.hemisphere) == (TargetSite.DLPFC, Hemisphere.LEFT)
    beam = dlpfc.sites[0].beam
    assert beam is not None
    assert beam.target == "F3"
    assert beam.x_cm == pytest.approx(BEAM["x_cm"], abs=PUBLISHED_ATOL_CM)
    paper = plan_patient_targets(
        reg,
        "S01",
        "P011",
        HEAD,
        protocol_id="grammer2015-s1-dlpfc",
        beam_variant="paper",
    )
    assert paper.plans[1].sites[0].beam is not None
    assert paper.plans[1].sites[0].beam.variant == "paper"


def test_given_targets_are_contralateral(reg: Registry) -> None:
    res = plan_patient_targets(reg, "S01", "P011", HEAD, targets=["m1", "dlpfc"])
    assert res.source == "targets"
    assert res.protocol_id is None
    assert [(p.target, p.hemisphere) for p in res.plans] == [
        (TargetSite.M1_LEG, Hemisphere.LEFT),
        (TargetSite.DLPFC, Hemisphere.LEFT),
    ]


@pytest.mark.parametrize(
    ("code", "kwargs", "field"),
    [
        ("P011", {}, "protocol_id"),  # nothing assigned, nothing given
        ("P001", {}, "history"),  # no PLP history
        ("P010", {"protocol_id": "nope"}, "protocol_id"),
        ("P010", {"targets": ["m2"]}, "targets"),
        ("P010", {"targets": []}, "targets"),
        ("P010", {"targets": ["m1"], "protocol_id": "small-10hz"}, "targets"),
        ("P010", {"beam_variant": "tape"}, "beam_variant"),
    ],
)
def test_refusals_name_the_field(
    reg: Registry, code: str, kwargs: dict[str, Any], field: str
) -> None:
    before = _audit(reg)
    with pytest.raises(ValueError, match=field) as info:
        plan_patient_targets(reg, "S01", code, HEAD, **kwargs)
    if code == "P011":  # says what to give
        assert "targets" in str(info.value)
        assert "grammer2015-s1-dlpfc" in str(info.value)
    assert _audit(reg) == before


def test_guard_role_then_site(reg: Registry) -> None:
    for who in (DR, OP, MON):
        assert targeting_for(reg, who, "S01", "P010", HEAD).plans
    with pytest.raises(AccessDeniedError, match=r"treatment\.read"):
        targeting_for(reg, RATER, "S01", "P010", HEAD)
    with pytest.raises(AccessDeniedError, match=r"treatment\.read"):
        targeting_form_for(reg, RATER, "S01", "P010")
    messages = set()
    for who, site, code in (
        (DR2, "S01", "P010"),  # another site's patient
        (DR, "S02", "P001"),  # a site the user is not assigned to
        (DR, "S01", "NOPE"),  # no such patient
    ):
        with pytest.raises(PatientNotFoundError, match="code") as info:
            targeting_for(reg, who, site, code, HEAD)
        with pytest.raises(PatientNotFoundError, match="code"):
            targeting_form_for(reg, who, site, code)
        messages.add(str(info.value).replace(f"{site}/{code}", "X"))
    assert len(messages) == 1  # another site's patient reads like a missing one


def test_form_defaults_to_the_last_assignment(reg: Registry) -> None:
    form = targeting_form_for(reg, DR, "S01", "P010")
    assert form.default_protocol == "small-10hz"
    assert form.assigned == ("small-10hz",)
    assert "grammer2015-s1-dlpfc" in form.library
    assert [f.name for f in form.fields] == [
        "nasion_inion_cm",
        "tragus_tragus_cm",
        "circumference_cm",
    ]
    for f in form.fields:  # the stated range is the one the model enforces
        ok = {"nasion_inion_cm": 38.0, "tragus_tragus_cm": 36.0}
        ok["circumference_cm"] = 60.0
        for bad in (f.min_cm - 0.1, f.max_cm + 0.1):
            with pytest.raises(ValueError, match=f.name):
                HeadMeasurements.model_validate({**ok, f.name: bad})
    assert targeting_form_for(reg, DR, "S01", "P011").default_protocol is None


def test_file_patient_and_the_sheet_png() -> None:
    from plptms.protocol import Amputation

    res = plan_file_targets(
        "T-001",
        Amputation(side="right", limb="upper"),
        HEAD,
        protocol_id="grammer2015-s1-dlpfc",
    )
    assert res.site is None
    assert [p.target for p in res.plans] == [TargetSite.S1, TargetSite.DLPFC]
    with pytest.raises(ValueError, match="protocol_id"):
        plan_file_targets("T-001", Amputation(side="right", limb="upper"), HEAD)
    png = targeting_sheet_png(res, dpi=50)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert abs(width - 8.27 * 50) <= PX_ATOL  # A4 portrait, inches x dpi
    assert abs(height - 11.69 * 50) <= PX_ATOL
