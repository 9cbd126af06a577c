"""Boundary models of the trial tables and the helpers that read them.

Used by :class:`plptms.registry._trials.TrialStore` inside its transactions.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ._models import RecordNotFoundError, RegistryError
from ._store import _aware
from ._trial_keys import TRIAL_KEY_ENV, read_trial_key, trial_key_check, trial_key_path

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from sqlalchemy.orm import Session

    from ..trial import Allocation, AllocationRecord

__all__ = [
    "EnrolmentOut",
    "TrialOut",
    "TrialVersionOut",
    "UnblindingOut",
    "allocation_detail",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: A site-scoped view cannot enrol: the allocation (minimisation above all)
#: depends on every site's enrolments, which the view does not see.
SCOPED_ENROLMENT = (
    "A site-scoped registry view cannot enrol: the allocation depends on the "
    "enrolments of every site of the trial; enrol on the unscoped registry after "
    "the application layer's checks."
)


class TrialOut(BaseModel):
    """A stored trial with its newest definition.

    Attributes
    ----------
    trial_id : str
        The trial identifier.
    title : str
        Its title.
    version : int
        The newest definition version.
    definition : dict
        The newest definition (JSON data, as given).
    created_at : datetime.datetime
        When the trial was created (UTC).
    actor : str
        Who created it.
    """

    model_config = _FROZEN

    trial_id: str
    title: str
    version: int
    definition: dict[str, Any]
    created_at: dt.datetime
    actor: str


class TrialVersionOut(BaseModel):
    """One version of a trial definition.

    Attributes
    ----------
    trial_id : str
        The trial identifier.
    version : int
        Version number (1 at creation).
    definition : dict
        The definition (JSON data).
    reason : str | None
        Why it was amended (``None`` for version 1).
    actor : str
        Who recorded it.
    created_at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    definition: dict[str, Any]
    reason: str | None
    actor: str
    created_at: dt.datetime


class EnrolmentOut(BaseModel):
    """A stored enrolment with its allocation (the arm included: registry level).

    Attributes
    ----------
    id : int
        Enrolment id.
    trial_id : str
        The trial identifier.
    version : int
        The definition version in force at enrolment.
    site, code : str
        The patient.
    allocation_index : int
        0-based index of the allocation in the trial.
    arm_id : str
        The arm allocated.
    kit_code : str
        The kit code operators see.
    factors : dict of str to str
        The patient's factor levels at enrolment.
    stratum : str | None
        The stratum key (permuted blocks), else ``None``.
    allocation : dict
        Audit data of the allocation (method, draw, probabilities, message, ...).
    enrolled_at : datetime.datetime
        When (UTC).
    actor : str
        Who enrolled the patient.
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    version: int
    site: str
    code: str
    allocation_index: int
    arm_id: str
    kit_code: str
    factors: dict[str, str]
    stratum: str | None
    allocation: dict[str, Any]
    enrolled_at: dt.datetime
    actor: str


class UnblindingOut(BaseModel):
    """A recorded emergency unblinding.

    Attributes
    ----------
    id : int
        Unblinding id.
    trial_id : str
        The trial identifier.
    site, code : str
        The patient.
    allocation_index : int
        The allocation unblinded.
    role : str
        The role of who asked.
    reason : str
        Why.
    actor : str
        Who asked.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    id: int
    trial_id: str
    site: str
    code: str
    allocation_index: int
    role: str
    reason: str
    actor: str
    at: dt.datetime


def allocation_detail(allocation: Allocation) -> dict[str, Any]:
    """Return an allocation's audit data as JSON (what ``allocation`` stores).

    Parameters
    ----------
    allocation : plptms.trial.Allocation
        The allocation.

    Returns
    -------
    detail : dict
        Method, draw, probabilities, the authenticated message, and the block or
        the minimisation scores where the method has them.
    """
    block = allocation.block
    return {
        "method": allocation.method,
        "draw": allocation.draw,
        "probabilities": dict(allocation.probabilities),
        "message": allocation.message,
        "scores": None if allocation.scores is None else dict(allocation.scores),
        "block": None
        if block is None
        else {"number": block.number, "size": block.size, "position": block.position},
    }


def check_factors(factors: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(factors, dict) or any(
        not isinstance(k, str) or not isinstance(v, str) or not k or not v
        for k, v in factors.items()
    ):
        raise RegistryError(
            f"Invalid value for 'factors': got {factors!r}; allowed: a dict of "
            "non-empty factor names to non-empty levels (text)."
        )
    return dict(factors)


def check_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(definition, dict) or not definition:
        raise RegistryError(
            f"Invalid value for 'definition': got {type(definition).__name__}; "
            "allowed: the trial definition as JSON data (a non-empty dict)."
        )
    return definition


def check_version(version: int, field: str = "version") -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise RegistryError(
            f"Invalid value for {field!r}: got {version!r}; allowed: a whole number "
            ">= 1."
        )
    return version


def trial_row(s: Session, trial_id: str) -> Any:
    from sqlalchemy import select

    from .db._schema import TrialRow

    row = s.execute(
        select(TrialRow).where(TrialRow.slug == trial_id)
    ).scalar_one_or_none()
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'trial_id': got {trial_id!r}; no such trial."
        )
    return row


def latest_version(s: Session, trial_pk: int) -> Any:
    from sqlalchemy import select

    from .db._schema import TrialVersionRow

    return s.execute(
        select(TrialVersionRow)
        .where(TrialVersionRow.trial_id == trial_pk)
        .order_by(TrialVersionRow.version.desc())
        .limit(1)
    ).scalar_one()


def checked_secret(trial: Any) -> bytes:
    path = trial_key_path(trial.slug)
    secret = read_trial_key(path)
    if secret is None:
        raise RegistryError(
            f"The key of trial {trial.slug!r} is missing ({path}): restore the key "
            f"file (or point ${TRIAL_KEY_ENV} at its folder); without it no "
            "allocation can be made or replayed."
        )
    if not hmac.compare_digest(trial_key_check(secret, trial.slug), trial.key_check):
        raise RegistryError(
            f"The key file {path} is not the key of trial {trial.slug!r} (its "
            "fingerprint differs from the one stored at creation): restore the "
            "trial's own key."
        )
    return secret


def enrolment_rows(
    s: Session, trial_pk: int, sites: Collection[str] | None = None
) -> list[Any]:
    """Return a trial's enrolments in allocation order.

    With ``sites=None`` the whole history, checked to be contiguous; with sites,
    theirs only (a part: no contiguity to check).
    """
    from sqlalchemy import select

    from .db._schema import TrialEnrolmentRow

    query = select(TrialEnrolmentRow).where(TrialEnrolmentRow.trial_id == trial_pk)
    if sites is not None:
        query = query.where(TrialEnrolmentRow.site.in_(sorted(sites)))
    rows = list(s.execute(query.order_by(TrialEnrolmentRow.allocation_index)).scalars())
    if sites is not None:
        return rows
    for n, row in enumerate(rows):
        if row.allocation_index != n:
            raise RegistryError(
                f"The allocations of trial {trial_pk} are not contiguous: index "
                f"{row.allocation_index} stored at position {n}; the allocation "
                "history is damaged (check the audit trail)."
            )
    return rows


def allocation_history(rows: Sequence[Any]) -> list[AllocationRecord]:
    from ..trial import AllocationRecord

    return [
        AllocationRecord(arm=r.arm_id, factors=dict(r.factors), stratum=r.stratum)
        for r in rows
    ]


def patient_codes(s: Session, trial_pk: int) -> dict[int, str]:
    from sqlalchemy import select

    from .db._schema import PatientRow, TrialEnrolmentRow

    pairs = s.execute(
        select(PatientRow.id, PatientRow.code)
        .join(TrialEnrolmentRow, TrialEnrolmentRow.patient_id == PatientRow.id)
        .where(TrialEnrolmentRow.trial_id == trial_pk)
    ).all()
    return {int(pid): str(code) for pid, code in pairs}


def enrolment_of(s: Session, trial_id: str, site: str, code: str) -> Any:
    from sqlalchemy import select

    from ._patients import patient_row
    from .db._schema import TrialEnrolmentRow

    trial = trial_row(s, trial_id)
    patient = patient_row(s, site, code)
    row = s.execute(
        select(TrialEnrolmentRow).where(
            TrialEnrolmentRow.trial_id == trial.id,
            TrialEnrolmentRow.patient_id == patient.id,
        )
    ).scalar_one_or_none()
    if row is None:
        raise RecordNotFoundError(
            f"Invalid value for 'code': got {site}/{code}; this patient is not "
            f"enrolled in trial {trial_id!r}."
        )
    return row


def trial_out(trial: Any, version: Any) -> TrialOut:
    return TrialOut(
        trial_id=trial.slug,
        title=trial.title,
        version=version.version,
        definition=version.definition,
        created_at=_aware(trial.created_at),
        actor=trial.actor,
    )


def version_out(trial_id: str, row: Any) -> TrialVersionOut:
    return TrialVersionOut(
        trial_id=trial_id,
        version=row.version,
        definition=row.definition,
        reason=row.reason,
        actor=row.actor,
        created_at=_aware(row.created_at),
    )


def enrolment_out(row: Any, trial_id: str, code: str) -> EnrolmentOut:
    return EnrolmentOut(
        id=row.id,
        trial_id=trial_id,
        version=row.version,
        site=row.site,
        code=code,
        allocation_index=row.allocation_index,
        arm_id=row.arm_id,
        kit_code=row.kit_code,
        factors=dict(row.factors),
        stratum=row.stratum,
        allocation=dict(row.allocation),
        enrolled_at=_aware(row.enrolled_at),
        actor=row.actor,
    )


def unblinding_out(
    row: Any, trial_id: str, site: str, code: str, index: int
) -> UnblindingOut:
    return UnblindingOut(
        id=row.id,
        trial_id=trial_id,
        site=site,
        code=code,
        allocation_index=index,
        role=row.role,
        reason=row.reason,
        actor=row.actor,
        at=_aware(row.at),
    )
