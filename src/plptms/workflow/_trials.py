"""The trial engine's use cases: create, amend, enrol, view, unblind, replay.

A trial definition (``plptms.trial.TrialDefinition``) is validated by its own
model; the registry stores it as JSON, versioned. These use cases take the
definition object (or read it back with ``definition_type``, by default
``plptms.trial._definition.TrialDefinition``) and need of it only: ``.id``,
``.version``, ``.sites`` (each ``.code``), ``.arms`` (each ``.id``),
``.stratification`` (each ``.id`` and ``.levels``), ``.randomiser()``,
``.model_dump(mode="json")`` and the class method ``model_validate``.

Concealment and blinding:

- an allocation is made only when an eligible patient (latest screening
  ``eligible``) is enrolled at one of the trial's sites with a level for every
  stratification factor; :func:`enrol_patient` returns the kit code and the
  allocation index, never the arm;
- :func:`allocation_for` shows the arm only to the roles in
  :data:`ARM_VIEW_ROLES`; every other role sees the kit code;
- :func:`unblind` (emergency unblinding, one patient) needs a role in
  :data:`UNBLIND_ROLES` and a reason of at least
  :data:`UNBLIND_REASON_MIN_CHARS` characters, and is stored and audited before
  the arm is returned;
- :func:`replay_allocations` recomputes every allocation and kit code from the
  stored history and the trial's secret and reports any difference.

Roles are declared by the caller: plptms has no log-in yet, so the role checks
keep honest users on the blinded path and leave a trace, they do not stop
someone who can read the database (where the arms are stored).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

from pydantic import BaseModel, ConfigDict

from ..access import Permission, roles_holding
from ..registry import RegistryError

if TYPE_CHECKING:
    from ..registry import Registry, TrialOut, TrialVersionOut

__all__ = [
    "ARM_VIEW_ROLES",
    "UNBLIND_REASON_MIN_CHARS",
    "UNBLIND_ROLES",
    "AllocationView",
    "Enrolment",
    "EnrolmentRefusedError",
    "ReplayMismatch",
    "ReplayReport",
    "TrialDefinitionLike",
    "TrialSessionStart",
    "UnblindingRefusedError",
    "UnblindingResult",
    "allocation_for",
    "amend_trial",
    "create_trial",
    "enrol_patient",
    "prepare_trial_session",
    "replay_allocations",
    "unblind",
]

#: Roles that may see a patient's arm (:func:`allocation_for`): the holders of
#: ``trial.arm.read`` in :data:`plptms.access.PERMISSIONS` (one table decides).
ARM_VIEW_ROLES: Final[tuple[str, ...]] = roles_holding(Permission.TRIAL_ARM_READ)

#: Roles that may unblind one patient in an emergency (:func:`unblind`): the
#: holders of ``trial.unblind`` in :data:`plptms.access.PERMISSIONS`.
UNBLIND_ROLES: Final[tuple[str, ...]] = roles_holding(Permission.TRIAL_UNBLIND)

#: Shortest reason accepted for an emergency unblinding, characters (plptms choice).
UNBLIND_REASON_MIN_CHARS: Final[int] = 10

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_DRAW_ATOL = 1e-12  # replayed draws and probabilities are recomputed exactly


class TrialDefinitionLike(Protocol):
    """What the trial engine needs of a trial definition."""

    @property
    def id(self) -> str:
        """The trial identifier."""

    @property
    def version(self) -> int:
        """The definition version."""

    @property
    def sites(self) -> Sequence[Any]:
        """The sites, each with ``.code``."""

    @property
    def arms(self) -> Sequence[Any]:
        """The arms, each with ``.id``."""

    @property
    def stratification(self) -> Sequence[Any]:
        """The stratification factors, each with ``.id`` and ``.levels``."""

    def randomiser(self) -> Any:
        """Return the allocation method (a :mod:`plptms.trial` configuration)."""

    def model_dump(self, *, mode: str) -> dict[str, Any]:
        """Return the definition as JSON data."""


class EnrolmentRefusedError(ValueError):
    """A patient cannot be enrolled (not eligible, wrong site or factor level)."""


class UnblindingRefusedError(ValueError):
    """An unblinding was asked without a permitted role or a sufficient reason."""


class Enrolment(BaseModel):
    """What the enrolling operator sees: the kit code, never the arm.

    Attributes
    ----------
    trial_id : str
        The trial.
    version : int
        The definition version in force.
    site, code : str
        The patient.
    allocation_index : int
        0-based index of the allocation in the trial.
    kit_code : str
        The kit to deliver (the same form for every arm).
    enrolled_at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    site: str
    code: str
    allocation_index: int
    kit_code: str
    enrolled_at: dt.datetime


class AllocationView(BaseModel):
    """A patient's allocation as a role may see it.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The patient.
    allocation_index : int
        0-based index of the allocation.
    kit_code : str
        The kit code.
    role : str
        The role that asked.
    arm_id : str | None
        The arm, for the roles in :data:`ARM_VIEW_ROLES`; ``None`` for the others.
    """

    model_config = _FROZEN

    trial_id: str
    site: str
    code: str
    allocation_index: int
    kit_code: str
    role: str
    arm_id: str | None


class UnblindingResult(BaseModel):
    """An emergency unblinding: the arm, and the record that it was revealed.

    Attributes
    ----------
    trial_id : str
        The trial.
    site, code : str
        The patient.
    kit_code : str
        The kit code.
    arm_id : str
        The arm.
    unblinding_id : int
        The stored unblinding record.
    role, reason, actor : str
        Who asked, in which role, why.
    at : datetime.datetime
        When (UTC).
    """

    model_config = _FROZEN

    trial_id: str
    site: str
    code: str
    kit_code: str
    arm_id: str
    unblinding_id: int
    role: str
    reason: str
    actor: str
    at: dt.datetime


class ReplayMismatch(BaseModel):
    """One difference between a stored allocation and its replay.

    Attributes
    ----------
    allocation_index : int
        The allocation (-1 for a finding about the trial as a whole).
    field : str
        What differs (``arm_id``, ``kit_code``, ``stratum``, ``draw``, ...).
    stored, replayed : str
        The two values, as text.
    """

    model_config = _FROZEN

    allocation_index: int
    field: str
    stored: str
    replayed: str


class ReplayReport(BaseModel):
    """The statistician's replay of a trial's allocations.

    Attributes
    ----------
    trial_id : str
        The trial.
    n_allocations : int
        Allocations replayed.
    mismatches : tuple of ReplayMismatch
        Every difference found (empty when the replay matches).
    """

    model_config = _FROZEN

    trial_id: str
    n_allocations: int
    mismatches: tuple[ReplayMismatch, ...]

    @property
    def ok(self) -> bool:
        """Whether every allocation replayed identically."""
        return not self.mismatches


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _default_definition_type() -> Any:
    from importlib import import_module

    try:
        return import_module("plptms.trial._definition").TrialDefinition
    except (ImportError, AttributeError):
        raise RegistryError(
            "Invalid value for 'definition_type': got None and "
            "plptms.trial._definition.TrialDefinition is not available; allowed: "
            "the trial definition class."
        ) from None


def _definition_of(
    trial: TrialOut | TrialVersionOut, definition_type: Any | None
) -> Any:
    cls: Any = (
        _default_definition_type() if definition_type is None else definition_type
    )
    return cls.model_validate(trial.definition)


def _check_definition(definition: Any) -> tuple[dict[str, Any], Any]:
    """Return the definition's JSON data and its randomiser, or refuse it."""
    for name in ("id", "version", "sites", "arms", "stratification"):
        if not hasattr(definition, name):
            raise TypeError(
                f"Invalid type for 'definition': got {type(definition).__name__} "
                f"without {name!r}; allowed: a trial definition "
                "(plptms.trial.TrialDefinition)."
            )
    config = definition.randomiser()
    arms = {a.id for a in definition.arms}
    if set(config.arms) - arms:
        raise ValueError(
            f"Invalid value for 'definition': its randomiser allocates "
            f"{sorted(config.arms)!r} but the arms are {sorted(arms)!r}; allowed: "
            "a randomiser over the definition's arms."
        )
    return definition.model_dump(mode="json"), config


def _title(definition: Any) -> str:
    for name in ("title", "name"):
        value = getattr(definition, name, None)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return str(definition.id)


def _check_factors(
    definition: Any, site: str, factors: Mapping[str, str]
) -> dict[str, str]:
    """Check the factor levels against the definition; fill ``site`` if stratified."""
    if not isinstance(factors, Mapping):
        raise TypeError(
            f"Invalid type for 'factors': got {type(factors).__name__}; allowed: a "
            "mapping of stratification factor to level."
        )
    levels = {f.id: tuple(str(v) for v in f.levels) for f in definition.stratification}
    out = {str(k): v for k, v in factors.items()}
    if "site" in levels and "site" not in out:
        out["site"] = site
    unknown = sorted(set(out) - set(levels))
    if unknown:
        raise EnrolmentRefusedError(
            f"Invalid value for 'factors': got unknown factor(s) {unknown!r}; "
            f"allowed: {sorted(levels)!r}."
        )
    for name, allowed in levels.items():
        if name not in out:
            raise EnrolmentRefusedError(
                f"Invalid value for 'factors': got {sorted(out)!r} without "
                f"{name!r}; allowed: a level for every stratification factor "
                f"{sorted(levels)!r}."
            )
        if out[name] not in allowed:
            raise EnrolmentRefusedError(
                f"Invalid value for 'factors[{name!r}]': got {out[name]!r}; "
                f"allowed: {list(allowed)!r}."
            )
    if "site" in levels and out["site"] != site:
        raise EnrolmentRefusedError(
            f"Invalid value for 'factors['site']': got {out['site']!r}; allowed: "
            f"the enrolling site {site!r}."
        )
    return out


# --------------------------------------------------------------------------------------
# use cases
# --------------------------------------------------------------------------------------
def create_trial(
    reg: Registry, definition: TrialDefinitionLike, *, actor: str
) -> TrialOut:
    """Create a trial from its definition (version 1) and its secret (audited).

    Parameters
    ----------
    reg : Registry
        The registry.
    definition : TrialDefinition
        The validated definition; its ``version`` must be 1.
    actor : str
        Who creates the trial.

    Returns
    -------
    trial : plptms.registry.TrialOut
        The trial as stored.

    Raises
    ------
    TypeError
        If ``definition`` is not a trial definition.
    ValueError
        If its version is not 1 or its randomiser names other arms.
    plptms.registry.DuplicateRecordError
        If the trial exists.
    """
    data, _ = _check_definition(definition)
    if definition.version != 1:
        raise ValueError(
            f"Invalid value for 'definition.version': got {definition.version!r}; "
            "allowed: 1 for a new trial (later versions are amendments)."
        )
    _check_safety_at_sites(reg, definition)
    return reg.create_trial(
        definition.id, data, title=_title(definition), actor=actor, version=1
    )


def amend_trial(
    reg: Registry, new_definition: TrialDefinitionLike, *, reason: str, actor: str
) -> TrialVersionOut:
    """Store an amended definition as the next version (audited, with a reason).

    Parameters
    ----------
    reg : Registry
        The registry.
    new_definition : TrialDefinition
        The amended definition; its ``version`` must be the newest stored + 1.
    reason : str
        Why it is amended (at least 5 characters).
    actor : str
        Who amends it.

    Returns
    -------
    version : plptms.registry.TrialVersionOut
        The new version.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial does not exist.
    plptms.registry.RegistryError
        On a wrong version number, a missing reason, or an allocated arm dropped.
    """
    data, config = _check_definition(new_definition)
    from ..trial import TrialDefinition, amend_definition

    if isinstance(new_definition, TrialDefinition):
        current = _definition_of(reg.get_trial(new_definition.id), None)
        enrolled = bool(reg.list_enrolments(new_definition.id))
        # the id, the version, the reason and (once patients are enrolled) what
        # the stored allocations depend on; then the arms at each site's policy
        amend_definition(current, new_definition, reason, enrolled=enrolled)
        _check_safety_at_sites(reg, new_definition)
    return reg.amend_trial(
        new_definition.id,
        data,
        version=new_definition.version,
        arms=tuple(config.arms),
        reason=reason,
        actor=actor,
    )


def _check_safety_at_sites(reg: Registry, definition: Any) -> None:
    """Refuse a definition whose arm protocol a trial site's safety policy refuses.

    Each site's stored policy (the default where none is stored) checks every
    arm, as it will when the arm is assigned to a patient of that site.
    """
    from ..trial import TrialDefinition, check_definition_safety

    if not isinstance(definition, TrialDefinition):
        return  # a stand-in (tests): its arms are checked when assigned
    for site in definition.sites:
        try:
            check_definition_safety(definition, reg.site_policy(site.code))
        except ValueError as exc:
            raise type(exc)(f"At site {site.code!r}: {exc}") from None


def _check_stopping_rules(
    reg: Registry,
    trial_id: str,
    *,
    actions: tuple[str, ...] = ("pause_enrolment", "pause_stimulation", "stop_trial"),
    what: str = "Enrolment",
) -> None:
    """Refuse while a stopping rule of the trial with one of ``actions`` is met.

    :func:`plptms.workflow._trial_safety.stopping_rule_states` counts the events
    against the newest stored definition's rules.
    """
    from ._trial_safety import stopping_rule_states

    for rule in stopping_rule_states(reg, trial_id).held(actions):
        ids = ", ".join(str(i) for i in rule.counted[: rule.count])
        state = (
            "stopped"
            if rule.action == "stop_trial"
            else "paused until the events are reviewed"
        )
        raise EnrolmentRefusedError(
            f"{what} in {trial_id!r} is {state}: stopping rule {rule.rule_id!r} "
            f"({rule.description}) is met by adverse event(s) {ids}."
        )


def enrol_patient(
    reg: Registry,
    trial_id: str,
    site: str,
    code: str,
    factors: Mapping[str, str],
    *,
    actor: str,
    definition_type: Any | None = None,
) -> Enrolment:
    """Enrol an eligible patient and allocate them (concealed: no arm returned).

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    site, code : str
        The patient; the site must be one of the trial's sites.
    factors : Mapping[str, str]
        A level for every stratification factor of the definition (``site``,
        when it is one, is filled in with the enrolling site).
    actor : str
        Who enrols the patient.
    definition_type : type | None
        The definition class to read the stored definition back with; ``None``
        means ``plptms.trial._definition.TrialDefinition``.

    Returns
    -------
    enrolment : Enrolment
        The kit code and allocation index (the arm is not shown).

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial or the patient does not exist.
    EnrolmentRefusedError
        If the patient's latest screening is missing or not ``eligible``, the
        site is not a trial site, a factor or level is not the definition's, or
        a safety stopping rule of the trial is met (enrolment paused).
    plptms.registry.DuplicateRecordError
        If the patient is already enrolled.
    """
    trial = reg.get_trial(trial_id)
    definition = _definition_of(trial, definition_type)
    sites = [s.code for s in definition.sites]
    if site not in sites:
        raise EnrolmentRefusedError(
            f"Invalid value for 'site': got {site!r}; allowed: a site of trial "
            f"{trial_id!r} {sites!r}."
        )
    reg.get_patient(site, code)  # RecordNotFoundError for an unknown patient
    _check_stopping_rules(reg, trial_id)
    levels = _check_factors(definition, site, factors)
    screening = reg.latest_screening(site, code)
    if screening is None or screening.status.value != "eligible":
        got = "no screening" if screening is None else screening.status.value
        raise EnrolmentRefusedError(
            f"Invalid value for 'code': got {site}/{code} with {got}; allowed: a "
            "patient whose latest screening is 'eligible'."
        )
    out = reg.enrol(
        trial_id,
        site,
        code,
        levels,
        version=trial.version,
        config=definition.randomiser(),
        actor=actor,
    )
    return Enrolment(
        trial_id=out.trial_id,
        version=out.version,
        site=out.site,
        code=out.code,
        allocation_index=out.allocation_index,
        kit_code=out.kit_code,
        enrolled_at=out.enrolled_at,
    )


def allocation_for(
    reg: Registry, trial_id: str, site: str, code: str, *, role: str
) -> AllocationView:
    """Return a patient's allocation as ``role`` may see it.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    role : str
        The caller's role; the arm is shown to :data:`ARM_VIEW_ROLES` only.

    Returns
    -------
    view : AllocationView
        Kit code and index; the arm for a permitted role, else ``None``.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled in the trial.
    """
    e = reg.get_enrolment(trial_id, site, code)
    return AllocationView(
        trial_id=e.trial_id,
        site=e.site,
        code=e.code,
        allocation_index=e.allocation_index,
        kit_code=e.kit_code,
        role=role,
        arm_id=e.arm_id if role in ARM_VIEW_ROLES else None,
    )


def unblind(
    reg: Registry,
    trial_id: str,
    site: str,
    code: str,
    *,
    role: str,
    reason: str,
    actor: str,
) -> UnblindingResult:
    """Unblind one patient in an emergency (recorded and audited first).

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    site, code : str
        The patient.
    role : str
        One of :data:`UNBLIND_ROLES`.
    reason : str
        Why, at least :data:`UNBLIND_REASON_MIN_CHARS` characters.
    actor : str
        Who asks.

    Returns
    -------
    result : UnblindingResult
        The arm and the stored unblinding.

    Raises
    ------
    UnblindingRefusedError
        Without a permitted role or a sufficient reason (nothing is stored).
    plptms.registry.RecordNotFoundError
        If the patient is not enrolled in the trial.
    """
    if role not in UNBLIND_ROLES:
        raise UnblindingRefusedError(
            f"Invalid value for 'role': got {role!r}; allowed: {list(UNBLIND_ROLES)!r}."
        )
    if not isinstance(reason, str) or len(reason.strip()) < UNBLIND_REASON_MIN_CHARS:
        raise UnblindingRefusedError(
            f"Invalid value for 'reason': got {reason!r}; allowed: an explanation of "
            f"at least {UNBLIND_REASON_MIN_CHARS} characters (required to unblind)."
        )
    e, u = reg.record_unblinding(
        trial_id, site, code, role=role, reason=reason, actor=actor
    )
    return UnblindingResult(
        trial_id=e.trial_id,
        site=e.site,
        code=e.code,
        kit_code=e.kit_code,
        arm_id=e.arm_id,
        unblinding_id=u.id,
        role=u.role,
        reason=u.reason,
        actor=u.actor,
        at=u.at,
    )


def _differs(a: float, b: float) -> bool:
    return not math.isclose(a, b, rel_tol=0.0, abs_tol=_DRAW_ATOL)


def replay_allocations(
    reg: Registry, trial_id: str, definition: TrialDefinitionLike
) -> ReplayReport:
    """Recompute every allocation from the stored history and the secret.

    Allocation ``n`` is recomputed from allocations ``0..n-1`` as stored, the
    stored factors of patient ``n``, the randomiser of the definition version it
    was enrolled under (read back with ``type(definition)``) and the trial's
    secret; its arm, stratum, draw, probabilities, authenticated message and kit
    code are compared with the stored ones. The indices must run 0..N-1.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    definition : TrialDefinition
        The statistician's copy of the definition; it must equal the stored
        version of the same number.

    Returns
    -------
    report : ReplayReport
        Every difference found.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If the trial does not exist.
    plptms.registry.RegistryError
        If the trial's key is missing or wrong.
    """
    from ..registry import kit_code
    from ..trial import AllocationRecord, HmacRandom, allocate

    mismatches: list[ReplayMismatch] = []
    versions = {v.version: v for v in reg.trial_versions(trial_id)}
    mine = versions.get(definition.version)
    if definition.id != trial_id:
        mismatches.append(
            ReplayMismatch(
                allocation_index=-1,
                field="definition.id",
                stored=trial_id,
                replayed=str(definition.id),
            )
        )
    elif mine is None or mine.definition != definition.model_dump(mode="json"):
        mismatches.append(
            ReplayMismatch(
                allocation_index=-1,
                field="definition",
                stored="(none)" if mine is None else f"version {mine.version}",
                replayed=f"version {definition.version} differs from the stored one",
            )
        )
    cls: Any = type(definition)
    configs = {
        n: cls.model_validate(v.definition).randomiser() for n, v in versions.items()
    }
    secret = reg.trial_secret(trial_id)
    draw = HmacRandom(secret, trial_id)
    stored = reg.list_enrolments(trial_id)
    history: list[AllocationRecord] = []
    taken: set[str] = set()
    for n, e in enumerate(stored):

        def bad(
            field: str, a: object, b: object, index: int = e.allocation_index
        ) -> None:
            mismatches.append(
                ReplayMismatch(
                    allocation_index=index, field=field, stored=str(a), replayed=str(b)
                )
            )

        if e.allocation_index != n:
            bad("allocation_index", e.allocation_index, n)
        try:
            a = allocate(history, e.factors, configs[e.version], draw)
        except (KeyError, TypeError, ValueError) as exc:
            bad("allocation", "stored", f"not reproducible: {exc}")
        else:
            if a.arm != e.arm_id:
                bad("arm_id", e.arm_id, a.arm)
            if a.stratum != e.stratum:
                bad("stratum", e.stratum, a.stratum)
            if a.message != e.allocation.get("message"):
                bad("message", e.allocation.get("message"), a.message)
            if _differs(float(e.allocation.get("draw", math.nan)), a.draw):
                bad("draw", e.allocation.get("draw"), a.draw)
            probs = e.allocation.get("probabilities") or {}
            if set(probs) != set(a.probabilities) or any(
                _differs(float(probs[k]), v) for k, v in a.probabilities.items()
            ):
                bad("probabilities", probs, dict(a.probabilities))
        kit = kit_code(secret, n, taken)
        if kit != e.kit_code:
            bad("kit_code", e.kit_code, kit)
        taken.add(e.kit_code)
        history.append(
            AllocationRecord(arm=e.arm_id, factors=e.factors, stratum=e.stratum)
        )
    return ReplayReport(
        trial_id=trial_id, n_allocations=len(stored), mismatches=tuple(mismatches)
    )


class TrialSessionStart(BaseModel):
    """A trial session cleared to run, as the blinded operator sees it.

    Attributes
    ----------
    kit_code : str
        The patient's kit code (the same for active and sham arms).
    prepared : PreparedSession
        The session, opened blinded through the ordinary session path; run it
        with :func:`plptms.workflow.run_delivery`.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    kit_code: str
    prepared: Any


def prepare_trial_session(
    reg: Registry,
    trial_id: str,
    site: str,
    code: str,
    number: int,
    *,
    device: str,
    actor: str,
    ae_reviewed: bool,
    review: Any | None = None,
    definition_type: Any | None = None,
) -> TrialSessionStart:
    """Open a blinded session of an enrolled patient's allocated arm.

    The arm's protocol (the library protocol with the arm's condition, active
    or sham) is assigned to the patient on the first session, through the
    ordinary assignment (its verdict under the site's policy; a verdict needing
    review needs the trial physician's ``review``), and every session then goes
    through :func:`plptms.workflow.prepare_start`: the same checks, plan and
    runner as any session, displayed blinded. The operator gets the kit code;
    the arm is never returned.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.
    site, code : str
        The enrolled patient.
    number : int
        Session number, from 1.
    device : str
        Stimulator kind (sham sessions run on the simulator until a sham coil
        can be confirmed).
    actor : str
        The operator.
    ae_reviewed : bool
        The operator confirms adverse events since the last session were
        reviewed.
    review : plptms.safety.PhysicianReview | None
        The trial physician's review, when the arm's verdict asks for one.
    definition_type : type | None
        The definition class (:class:`plptms.trial.TrialDefinition` by default).

    Returns
    -------
    start : TrialSessionStart
        The kit code and the prepared session.

    Raises
    ------
    plptms.workflow.AssignmentRefusedError
        If the arm's protocol cannot be assigned (a review is missing).
    plptms.workflow.SessionRefusedError
        If a pre-session check fails.
    EnrolmentRefusedError
        If the patient withdrew from the trial, or a ``pause_stimulation`` or
        ``stop_trial`` stopping rule of the trial is met (e.g. a seizure not yet
        reviewed).
    """
    from ._clinic import assign_protocol
    from ._delivery import prepare_start

    enrolment = reg.get_enrolment(trial_id, site, code)
    withdrawn = reg.get_withdrawal(trial_id, site, code)
    if withdrawn is not None:
        raise EnrolmentRefusedError(
            f"Invalid value for 'code': got {site}/{code}; this patient withdrew "
            f"from {trial_id!r} on {withdrawn.withdrawn_on.isoformat()} "
            f"({withdrawn.reason}); allowed: a patient still in the trial (no "
            "session is given after a withdrawal)."
        )
    _check_stopping_rules(
        reg,
        trial_id,
        actions=("pause_stimulation", "stop_trial"),
        what="Stimulation",
    )
    version = next(
        v for v in reg.trial_versions(trial_id) if v.version == enrolment.version
    )
    definition = _definition_of(version, definition_type)
    protocol = definition.arm_protocol(enrolment.arm_id)
    assigned = [
        a for a in reg.list_assignments(site, code) if a.protocol_id == protocol.id
    ]
    if assigned and assigned[-1].protocol.get("condition") != protocol.condition.value:
        raise EnrolmentRefusedError(
            f"Invalid value for 'code': {site}/{code} has {protocol.id!r} assigned "
            "outside the trial with another condition; the trial's sessions need "
            "the allocated arm's: resolve the earlier assignment first."
        )
    if not assigned:
        assign_protocol(reg, site, code, protocol, actor=actor, review=review)
    prepared = prepare_start(
        reg,
        site,
        code,
        protocol.id,
        number,
        device=device,
        actor=actor,
        ae_reviewed=ae_reviewed,
        blinded=True,
    )
    return TrialSessionStart(kit_code=enrolment.kit_code, prepared=prepared)
