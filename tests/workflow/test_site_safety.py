"""A site's safety policy and its physicians' readings of the train table (issue 14).

Table verification as a workflow: a physician who has the paper (Rossi et al.
2009, Table 4, reproducing Wassermann 1998) records a cell's value; plptms keeps
who, when and the value in the audit trail, and from then on the site's verdicts
use it: a stricter reading is applied, a looser one goes to physician review.
"""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.protocol import Protocol
from plptms.registry import Registry, RegistryError
from plptms.safety import CellReading, PhysicianReview
from plptms.workflow import (
    SessionRefusedError,
    check_for_site,
    prepare_start,
    record_table_readings,
    set_site_policy,
    site_table,
)

from .conftest import RMT, protocol_data, record_rmt, screen_patient

#: One 10 Hz train of 5 pulses (0.5 s) per session at 90 % RMT: below the table's
#: 100 % column, so its limit is the 10 Hz x 100 % MT cell alone (printed ">5" s;
#: Wassermann 1998, Table 4, as reproduced in Rossi et al. 2009), and with a single
#: train no inter-train interval applies.
ONE_TRAIN = {"trains_per_session": 1}
REVIEW = PhysicianReview(
    physician="Dr R", reason="Reviewed the unverified cell 10x100."
)


def _reading(value: float, *, lower: bool = True, f: float = 10.0, i: float = 100.0):
    return CellReading(
        frequency_hz=f,
        intensity_pct_mt=i,
        value_s=value,
        lower_bound=lower,
        physician="Dr Paper",
        read_on=dt.date.today(),
    )


@pytest.fixture
def reg(db_url: str):
    with Registry(db_url) as r:
        r.add_patient("S1", "P001", history=None, actor="n1")
        screen_patient(r)
        record_rmt(r)
        yield r


def _proto(**dose) -> Protocol:
    data = protocol_data(**{**ONE_TRAIN, **dose})
    data["id"] = "one-train"
    return Protocol.model_validate(data)


def _rule(verdict, rule_id: str):
    return next(r for r in verdict.rules if r.rule_id == rule_id)


def test_an_unverified_cell_sends_the_verdict_to_review_until_read(reg) -> None:
    """Unverified cell: review; once the site's physician reads it: accepted."""
    proto = _proto()
    before = check_for_site(reg, "S1", proto, rmt_pct_mso=RMT)
    assert before.decision.value == "review"
    assert _rule(before, "train_duration").status.value == "unverified"
    assert before.policy_name == "plptms-default"
    record_table_readings(reg, "S1", [_reading(5.0)], actor="dr-paper")
    after = check_for_site(reg, "S1", proto, rmt_pct_mso=RMT)
    assert _rule(after, "train_duration").status.value == "passed"
    assert after.decision.value == "accepted"
    # another site's verdicts are untouched by S1's reading
    other = check_for_site(reg, "S2", proto, rmt_pct_mso=RMT)
    assert _rule(other, "train_duration").status.value == "unverified"


def test_a_stricter_reading_is_applied(reg) -> None:
    """A value read shorter than the shipped one becomes the site's limit."""
    record_table_readings(reg, "S1", [_reading(0.3, lower=False)], actor="dr-paper")
    v = check_for_site(reg, "S1", _proto(), rmt_pct_mso=RMT)  # a 0.5 s train
    rule = _rule(v, "train_duration")
    assert rule.status.value == "failed"
    assert rule.limit == pytest.approx(0.3, rel=1e-12)
    assert v.decision.value == "refused"
    cell = next(
        c
        for c in site_table(reg, "S1")
        if (c.frequency_hz, c.intensity_pct_mt) == (10, 100)
    )
    assert cell.verified
    assert cell.applied_s == pytest.approx(0.3, rel=1e-12)


def test_a_looser_reading_goes_to_review_and_never_loosens(reg) -> None:
    """A value read longer than shipped keeps the shipped limit and asks for review."""
    record_table_readings(reg, "S1", [_reading(8.0)], actor="dr-paper")
    short = check_for_site(reg, "S1", _proto(), rmt_pct_mso=RMT)
    assert _rule(short, "train_duration").status.value == "review"
    assert short.decision.value == "review"
    # a 6 s train (60 pulses at 10 Hz) passes the looser reading but not the
    # shipped 5 s: it is still refused
    long = check_for_site(reg, "S1", _proto(pulses_per_train=60), rmt_pct_mso=RMT)
    rule = _rule(long, "train_duration")
    assert rule.status.value == "failed"
    assert rule.limit == pytest.approx(5.0, rel=1e-12)


def test_readings_are_audited_and_a_new_one_supersedes_the_old(reg) -> None:
    """Who, when and the value read are in the audit trail; the newest is in force."""
    from sqlalchemy import select

    from plptms.registry.db._schema import AuditRow

    record_table_readings(reg, "S1", [_reading(5.0)], actor="dr-paper")
    record_table_readings(reg, "S1", [_reading(4.0, lower=False)], actor="dr-second")
    (only,) = reg.cell_readings("S1")
    assert only.value_s == 4.0
    assert only.lower_bound is False
    with reg._read() as s:
        rows = (
            s.execute(
                select(AuditRow).where(AuditRow.table_name == "safety_cell_readings")
            )
            .scalars()
            .all()
        )
        actions = [(r.actor, r.action) for r in rows]
    assert actions == [
        ("dr-paper", "insert"),
        ("dr-second", "delete"),
        ("dr-second", "insert"),
    ]
    assert reg.verify_audit().ok


def test_a_bad_reading_stores_nothing(reg) -> None:
    """Two readings of one cell, or a future date, are refused as a whole."""
    with pytest.raises(RegistryError, match="read twice"):
        record_table_readings(reg, "S1", [_reading(5.0), _reading(4.0)], actor="dr")
    future = _reading(5.0).model_copy(
        update={"read_on": dt.date.today() + dt.timedelta(days=2)}
    )
    with pytest.raises(RegistryError, match="read_on"):
        record_table_readings(reg, "S1", [_reading(5.0, i=110.0), future], actor="dr")
    assert reg.cell_readings("S1") == ()


def test_a_margin_is_a_named_recorded_site_policy(reg) -> None:
    """The 25 % cut (Chen et al. 1997) needs a reason and is named on verdicts."""
    with pytest.raises(RegistryError, match="margin_reason"):
        set_site_policy(
            reg,
            "S1",
            name="cut",
            train_duration_margin=0.75,
            margin_reason="",
            actor="a",
        )
    set_site_policy(
        reg,
        "S1",
        name="chen-cut",
        train_duration_margin=0.75,
        margin_reason="Site committee: apply the 25 % cut advised by Chen 1997.",
        actor="committee",
    )
    record_table_readings(reg, "S1", [_reading(5.0)], actor="dr-paper")
    # a 4 s train: within 5 s, beyond 0.75 x 5 = 3.75 s
    v = check_for_site(reg, "S1", _proto(pulses_per_train=40), rmt_pct_mso=RMT)
    assert v.policy_name == "chen-cut"
    rule = _rule(v, "train_duration")
    assert rule.status.value == "failed"
    assert rule.limit == pytest.approx(3.75, rel=1e-12)
    default = check_for_site(reg, "S2", _proto(pulses_per_train=40), rmt_pct_mso=RMT)
    assert default.policy_name == "plptms-default"
    assert _rule(default, "train_duration").status.value != "failed"


def test_a_recorded_review_covers_only_what_it_signed_off(reg) -> None:
    """A review carries to the session; a rule newly needing review asks again."""
    proto = _proto()
    verdict = check_for_site(reg, "S1", proto, rmt_pct_mso=RMT, review=REVIEW)
    assert verdict.decision.value == "accepted"
    assert verdict.review == REVIEW
    reg.assign_protocol("S1", "P001", proto, verdict, actor="dr1")

    def start(number: int):
        return prepare_start(
            reg,
            "S1",
            "P001",
            "one-train",
            number,
            device="sim",
            actor="t",
            ae_reviewed=True,
        )

    prepared = start(1)
    assert any(c.check == "verdict" and c.passed for c in prepared.checks)
    # the plan carries the site's policy, so re-checks during the session use it
    assert prepared.plan.policy == reg.site_policy("S1")
    reg.finish_delivery(prepared.session_id, "completed", actor="t")
    # a looser reading makes the train rule "review" (not "unverified"): the old
    # review did not sign that off
    record_table_readings(reg, "S1", [_reading(8.0)], actor="dr-paper")
    with pytest.raises(SessionRefusedError, match="verdict"):
        start(2)


def test_unreviewed_assignment_is_refused_at_the_session(reg) -> None:
    """No verdict resting on an unverified limit starts a session without review."""
    proto = _proto()
    verdict = check_for_site(reg, "S1", proto, rmt_pct_mso=RMT)
    reg.assign_protocol("S1", "P001", proto, verdict, actor="dr1")
    with pytest.raises(SessionRefusedError, match="verdict"):
        prepare_start(
            reg, "S1", "P001", "one-train", 1, device="sim", actor="t", ae_reviewed=True
        )
