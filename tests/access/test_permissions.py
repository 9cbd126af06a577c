"""The permission table, cell by cell, and site isolation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.access import (
    PERMISSIONS,
    READ_PERMISSIONS,
    AccessDeniedError,
    Permission,
    Principal,
    Role,
    allowed,
    permission_table_markdown,
    require,
    require_sites,
)

DOCS = Path(__file__).parents[2] / "docs" / "access.md"

# The table written out by hand, role by role: the oracle of the cell test.
EXPECTED: dict[Role, set[str]] = {
    Role.ADMINISTRATOR: {"audit.verify", "user.manage", "site.manage"},
    Role.PHYSICIAN: {
        "patient.read", "patient.write", "assessment.read", "assessment.write",
        "screening.write", "rmt.write", "treatment.read", "protocol.assign",
        "dose.amend", "session.run", "session.restart", "ae.write", "ae.review",
        "report.read", "trial.read", "trial.enrol", "trial.visit.write",
        "trial.unblind",
    },
    Role.OPERATOR: {
        "patient.read", "patient.write", "assessment.read", "rmt.write",
        "treatment.read", "session.run", "ae.write", "trial.read",
        "trial.visit.write",
    },
    Role.RATER: {
        "patient.read", "assessment.read", "assessment.write", "ae.write",
        "trial.read", "trial.visit.write",
    },
    Role.MONITOR: {
        "patient.read", "assessment.read", "treatment.read", "report.read",
        "trial.read", "trial.export", "audit.verify",
    },
    Role.STATISTICIAN: {
        "trial.read", "trial.manage", "trial.arm.read", "trial.unblind",
        "trial.analyse", "trial.export",
    },
}  # fmt: skip


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_every_cell(role: Role, permission: Permission) -> None:
    assert allowed(role, permission) is (permission.value in EXPECTED[role])
    p = Principal(username="u1", role=role, sites=frozenset({"S01"}))
    if permission.value in EXPECTED[role]:
        require(p, permission, site="S01")
    else:
        with pytest.raises(AccessDeniedError, match=permission.value):
            require(p, permission, site="S01")


def test_blinding_and_read_only_invariants() -> None:
    """Only the statistician sees arms; the rater sees no treatment; the monitor
    writes nothing; the administrator reads no clinical record."""
    assert PERMISSIONS[Permission.TRIAL_ARM_READ] == {Role.STATISTICIAN}
    assert Role.RATER not in PERMISSIONS[Permission.TREATMENT_READ]
    monitor = {p for p in Permission if allowed(Role.MONITOR, p)}
    assert monitor <= READ_PERMISSIONS
    assert not allowed(Role.ADMINISTRATOR, Permission.PATIENT_READ)
    assert set(PERMISSIONS) == set(Permission)


def test_site_isolation() -> None:
    p = Principal(username="dr", role=Role.PHYSICIAN, sites=frozenset({"S01"}))
    require(p, Permission.PATIENT_READ, site="S01")
    with pytest.raises(AccessDeniedError, match="site 'S02'") as err:
        require(p, Permission.PATIENT_READ, site="S02")
    assert "S01" in str(err.value)
    stat = Principal(username="st", role=Role.STATISTICIAN, sites=frozenset({"S01"}))
    with pytest.raises(AccessDeniedError, match="S02, S03"):
        require_sites(stat, Permission.TRIAL_ANALYSE, {"S01", "S02", "S03"})
    require_sites(
        stat.model_copy(update={"sites": frozenset({"S01", "S02", "S03"})}),
        Permission.TRIAL_ANALYSE,
        {"S01", "S02", "S03"},
    )


def test_the_docs_print_the_table() -> None:
    assert permission_table_markdown() in DOCS.read_text(encoding="utf-8")


def test_bad_values_name_the_field() -> None:
    with pytest.raises(ValueError, match="role"):
        allowed("nurse", Permission.PATIENT_READ)
    with pytest.raises(ValueError, match="permission"):
        allowed(Role.PHYSICIAN, "patient.delete")
    with pytest.raises(ValueError, match="username"):
        Principal(username=" dr", role=Role.PHYSICIAN)


@given(st.text(min_size=1, max_size=64))
def test_username_validator(name: str) -> None:
    ok = name == name.strip() and all(c.isprintable() for c in name)
    if ok:
        assert Principal(username=name, role="rater").username == name
    else:
        with pytest.raises(ValueError, match="username"):
            Principal(username=name, role="rater")


def test_roles_holding_and_the_trial_engine_tuples() -> None:
    """The engine's role checks are the permission table's columns (hand-read)."""
    from plptms.access import roles_holding
    from plptms.workflow import ANALYSIS_ROLES, ARM_VIEW_ROLES, UNBLIND_ROLES

    assert roles_holding("trial.arm.read") == ("statistician",)
    assert roles_holding(Permission.TRIAL_UNBLIND) == ("physician", "statistician")
    assert ARM_VIEW_ROLES == ("statistician",)
    assert UNBLIND_ROLES == ("physician", "statistician")
    assert ANALYSIS_ROLES == ("statistician",)
    with pytest.raises(ValueError, match="'permission'"):
        roles_holding("trial.arm.write")
