"""The API's guarded use cases (plptms.workflow._views_api): RMT reads and writes.

The trial wrappers (enrolment view, calendar, CONSORT counts) are exercised
through HTTP in tests/web/test_api_trial.py on the demonstration trial.
"""

from __future__ import annotations

from typing import Any

import pytest

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import Registry
from plptms.workflow import RMTInput
from plptms.workflow._views import PatientNotFoundError
from plptms.workflow._views_api import record_rmt_for, rmt_history_for
from tests.web import conftest as web_fixtures
from tests.web.conftest import S02_ONLY_CODE, audit_actors

# the web tests' registry of two sites (S01, S02), as fixtures here too
_seeded = web_fixtures._seeded
db_file = web_fixtures.db_file
_pg_template = web_fixtures._pg_template

#: RMT read back from the registry, % MSO.
ATOL_PCT_MSO = 1e-9


def _p(role: Role, *sites: str, name: str) -> Principal:
    return Principal(username=name, role=role, sites=frozenset(sites))


OP = _p(Role.OPERATOR, "S01", name="op1")
RATER = _p(Role.RATER, "S01", name="rater1")
ADMIN = _p(Role.ADMINISTRATOR, "S01", "S02", name="admin1")


@pytest.fixture
def reg(db_file: str) -> Any:
    with Registry(db_file) as r:
        yield r


def _rmt(site: str = "S01", code: str = "P001") -> RMTInput:
    from plptms.motor import (
        SimulatedSubject,
        SubjectParameters,
        hunt_relative_frequency,
    )

    hunt = hunt_relative_frequency(
        SimulatedSubject(SubjectParameters(threshold_pct_mso=42.0), seed=11),
        start_intensity_pct_mso=57.0,
    )
    return RMTInput(
        site=site, code=code, result=hunt, hemisphere="left", muscle="FDI",
        stimulator="sim",
    )  # fmt: skip


def _stored(db_file: str) -> int:
    return len(audit_actors(db_file, "motor_thresholds"))


def test_record_by_the_operator_is_audited_under_their_name(
    reg: Any, db_file: str
) -> None:
    rmt = _rmt()
    out = record_rmt_for(reg, OP, rmt)
    assert rmt.result.estimate_pct_mso is not None
    assert abs(out.rmt_pct_mso - rmt.result.estimate_pct_mso) <= ATOL_PCT_MSO
    assert audit_actors(db_file, "motor_thresholds")[-1] == "op1"
    history = rmt_history_for(reg, RATER, "S01", "P001")
    assert [h.method for h in history] == ["ml_pest", "relative_frequency"]


def test_role_is_refused_before_any_read(reg: Any, db_file: str) -> None:
    n = _stored(db_file)
    with pytest.raises(AccessDeniedError, match=r"rmt\.write"):
        record_rmt_for(reg, RATER, _rmt())
    with pytest.raises(AccessDeniedError, match=r"rmt\.write"):
        record_rmt_for(reg, ADMIN, _rmt("S02", "NOPE"))  # role first, no lookup
    with pytest.raises(AccessDeniedError, match=r"patient\.read"):
        rmt_history_for(reg, ADMIN, "S01", "P001")
    assert _stored(db_file) == n


def test_another_site_is_a_missing_patient(reg: Any, db_file: str) -> None:
    n = _stored(db_file)
    messages = set()
    for site, code in (("S02", S02_ONLY_CODE), ("S02", "NOPE")):
        with pytest.raises(PatientNotFoundError, match="code") as exc:
            record_rmt_for(reg, OP, _rmt(site, code))
        messages.add(str(exc.value).replace(code, "X"))
        with pytest.raises(PatientNotFoundError, match="code"):
            rmt_history_for(reg, OP, site, code)
    assert len(messages) == 1
    assert _stored(db_file) == n
