"""The guarded wrappers of ``workflow._views_admin`` (SQLite and PostgreSQL).

Each refuses a role without the permission before anything is read or stored,
and records the principal as the audited actor.
"""

from __future__ import annotations

import pytest

from plptms.access import AccessDeniedError, Principal, Role
from plptms.registry import DuplicateRecordError, Registry
from plptms.workflow._views_admin import (
    check_dose_for,
    create_user_for,
    deactivate_user_for,
    issue_own_token,
    list_protocols_for,
    list_users_for,
    register_patient_for,
    verify_audit_for,
)

PW = "a-long-enough-passphrase"


def _p(username: str, role: Role, sites: set[str]) -> Principal:
    return Principal(username=username, role=role, sites=frozenset(sites))


DR = _p("dr1", Role.PHYSICIAN, {"S1"})
RATER = _p("rater1", Role.RATER, {"S1"})
MON = _p("mon1", Role.MONITOR, {"S1"})


def _audit_rows(reg: Registry) -> int:
    return reg.verify_audit().entries


def test_register_patient_for(url: str) -> None:
    with Registry(url) as reg:
        out = register_patient_for(reg, DR, "S1", "P900")
        assert (out.site, out.code) == ("S1", "P900")
        assert reg.get_patient("S1", "P900").code == "P900"
        n = _audit_rows(reg)
        with pytest.raises(DuplicateRecordError, match="P900"):
            register_patient_for(reg, DR, "S1", "P900")
        with pytest.raises(AccessDeniedError):
            register_patient_for(reg, DR, "S2", "P901")  # not dr1's site
        with pytest.raises(AccessDeniedError):
            register_patient_for(reg, RATER, "S1", "P902")
        with pytest.raises(ValueError, match="code"):
            register_patient_for(reg, DR, "S1", "bad code!")
        assert _audit_rows(reg) == n  # refusals store nothing


def test_protocols_and_dose_check() -> None:
    from plptms.protocol import StimulationDose, load_library

    assert [p.id for p in list_protocols_for(DR)] == sorted(load_library().protocols)
    with pytest.raises(AccessDeniedError):
        list_protocols_for(RATER)
    dose = StimulationDose(
        pattern="rtms",
        target="m1",
        laterality="contralateral",
        frequency_hz=20.0,
        intensity_pct_rmt=130.0,
        pulses_per_train=200,
        trains_per_session=10,
        inter_train_interval_s=30.0,
    )
    v = check_dose_for(DR, dose, rmt_pct_mso=50.0)
    rules = {r.rule_id: r for r in v.rules}
    assert rules["train_duration"].value == pytest.approx(200 / 20.0)  # s
    assert rules["stimulator_output"].value == pytest.approx(1.30 * 50.0)  # % MSO
    assert v.decision.value == "refused"
    with pytest.raises(ValueError, match="rmt_pct_mso"):
        check_dose_for(DR, dose, rmt_pct_mso=120.0)
    for who in (RATER, MON):
        with pytest.raises(AccessDeniedError):
            check_dose_for(who, dose, rmt_pct_mso=None)


def test_accounts_wrappers(url: str) -> None:
    from plptms.workflow import (
        UserInput,
        create_user,
        principal_for,
        principal_from_token,
    )

    with Registry(url) as reg:
        create_user(
            reg,
            UserInput(
                username="root",
                display_name="Root",
                role=Role.ADMINISTRATOR,
                password=PW,
            ),
            by=None,
        )
        admin = principal_for(reg, "root")
        u = create_user_for(
            reg,
            admin,
            username="rater9",
            display_name="R9",
            role=Role.RATER,
            sites=frozenset({"S1"}),
            password=PW,
        )
        assert u.actor == "root"
        assert [x.username for x in list_users_for(reg, admin)] == ["rater9", "root"]
        rater9 = principal_for(reg, "rater9")
        token = issue_own_token(reg, rater9, label="lab", ttl_days=7)
        assert token.startswith("plptms_")
        # the token acts as its own user, and its issue is audited as theirs
        assert principal_from_token(reg, token).username == "rater9"
        assert deactivate_user_for(reg, admin, "rater9").active is False
        with pytest.raises(ValueError, match="rater9"):
            issue_own_token(reg, rater9, label="lab", ttl_days=7)
        n = _audit_rows(reg)
        for who in (DR, MON):
            with pytest.raises(AccessDeniedError):
                list_users_for(reg, who)
            with pytest.raises(AccessDeniedError):
                create_user_for(
                    reg,
                    who,
                    username="x9",
                    display_name="X",
                    role=Role.RATER,
                    sites=frozenset(),
                    password=PW,
                )
            with pytest.raises(AccessDeniedError):
                deactivate_user_for(reg, who, "root")
        with pytest.raises(AccessDeniedError):
            verify_audit_for(reg, DR)
        assert _audit_rows(reg) == n
        assert verify_audit_for(reg, MON).entries == n
