"""A trial's safety monitoring: stopping rules on its adverse events.

:func:`stopping_rule_states` counts, for every stopping rule of the trial's
newest definition, the adverse events of its enrolled patients that match the
rule (term, seriousness, relatedness):

- ``pause_enrolment`` and ``pause_stimulation`` hold while at least ``count``
  matching events await a physician's review (reviewing them lifts the pause,
  as the data monitoring committee's decision would be recorded);
- ``stop_trial`` holds once ``count`` matching events were recorded at all.

A paused stimulation pauses enrolment too (nobody new starts meanwhile).
:func:`record_trial_adverse_event` records an event of an enrolled patient
through the ordinary adverse-event use case and returns the rules' states just
after, so a serious adverse event (SAE) or a seizure that meets a rule is
flagged at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from ._adverse import AdverseEventInput, AdverseEventRecorded, record_adverse_event

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = [
    "StoppingRuleState",
    "TrialAdverseEvent",
    "TrialSafetyStatus",
    "record_trial_adverse_event",
    "stopping_rule_states",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

StoppingAction = Literal["pause_enrolment", "pause_stimulation", "stop_trial"]


class StoppingRuleState(BaseModel):
    """One stopping rule and the events that count towards it now.

    Attributes
    ----------
    rule_id, description : str
        The rule.
    action : {'pause_enrolment', 'pause_stimulation', 'stop_trial'}
        What it does when met.
    count : int
        Events that meet it.
    matching : tuple of int
        Ids of every matching adverse event (reviewed or not).
    counted : tuple of int
        Ids of those that count now: all matching ones for ``stop_trial``, the
        unreviewed ones for a pause.
    met : bool
        ``len(counted) >= count``.
    """

    model_config = _FROZEN

    rule_id: str
    description: str
    action: StoppingAction
    count: int
    matching: tuple[int, ...]
    counted: tuple[int, ...]
    met: bool


class TrialSafetyStatus(BaseModel):
    """Every stopping rule's state for one trial.

    Attributes
    ----------
    trial_id : str
        The trial.
    version : int
        The definition version whose rules were applied (the newest).
    rules : tuple of StoppingRuleState
        One per rule, in definition order.
    """

    model_config = _FROZEN

    trial_id: str
    version: int
    rules: tuple[StoppingRuleState, ...]

    def held(self, actions: tuple[str, ...]) -> tuple[StoppingRuleState, ...]:
        """Return the met rules whose action is among ``actions``.

        Parameters
        ----------
        actions : tuple of str
            Actions of interest.

        Returns
        -------
        rules : tuple of StoppingRuleState
            The met rules with one of those actions.
        """
        return tuple(r for r in self.rules if r.met and r.action in actions)

    @property
    def stopped(self) -> bool:
        """Whether a ``stop_trial`` rule is met."""
        return bool(self.held(("stop_trial",)))

    @property
    def stimulation_paused(self) -> bool:
        """Whether stimulation is held (a ``pause_stimulation`` or stop rule)."""
        return bool(self.held(("pause_stimulation", "stop_trial")))

    @property
    def enrolment_paused(self) -> bool:
        """Whether enrolment is held (any met rule)."""
        return bool(self.held(("pause_enrolment", "pause_stimulation", "stop_trial")))


class TrialAdverseEvent(BaseModel):
    """An adverse event of an enrolled patient, and the trial's rules after it.

    Attributes
    ----------
    recorded : AdverseEventRecorded
        The stored event and what the patient's next session needs.
    serious : bool
        Whether it is a serious adverse event (SAE).
    triggered : tuple of StoppingRuleState
        The rules this event counts towards that are now met.
    status : TrialSafetyStatus
        Every rule's state after recording it.
    message : str
        What happens now, in words.
    """

    model_config = _FROZEN

    recorded: AdverseEventRecorded
    serious: bool
    triggered: tuple[StoppingRuleState, ...]
    status: TrialSafetyStatus
    message: str


def _rules_of(reg: Registry, trial_id: str) -> tuple[int, tuple[Any, ...]]:
    trial = reg.get_trial(trial_id)
    rules = tuple(trial.definition.get("stopping_rules") or ())
    return trial.version, rules


def stopping_rule_states(reg: Registry, trial_id: str) -> TrialSafetyStatus:
    """Return the state of every stopping rule of a trial.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial.

    Returns
    -------
    status : TrialSafetyStatus
        The rules of the newest definition, with the events counting now.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such trial.
    """
    from ..trial import StoppingRule

    version, raw = _rules_of(reg, trial_id)
    rules = [StoppingRule.model_validate(r) for r in raw]
    if not rules:
        return TrialSafetyStatus(trial_id=trial_id, version=version, rules=())
    events = [
        e
        for en in reg.list_enrolments(trial_id)
        for e in reg.list_adverse_events(en.site, en.code)
    ]
    states = []
    for rule in rules:
        hits = [
            e
            for e in events
            if rule.matches(
                event=e.term.value, serious=e.serious, relatedness=e.relatedness.value
            )
        ]
        counted = hits if rule.action == "stop_trial" else [
            e for e in hits if not e.reviews
        ]  # fmt: skip
        states.append(
            StoppingRuleState(
                rule_id=rule.id,
                description=rule.description,
                action=rule.action,
                count=rule.count,
                matching=tuple(e.id for e in hits),
                counted=tuple(e.id for e in counted),
                met=len(counted) >= rule.count,
            )
        )
    return TrialSafetyStatus(trial_id=trial_id, version=version, rules=tuple(states))


def record_trial_adverse_event(
    reg: Registry, trial_id: str, event: AdverseEventInput
) -> TrialAdverseEvent:
    """Record an adverse event of an enrolled patient; apply the trial's rules.

    Parameters
    ----------
    reg : Registry
        The registry.
    trial_id : str
        The trial the patient is enrolled in.
    event : AdverseEventInput
        The event, with the patient and who records it.

    Returns
    -------
    result : TrialAdverseEvent
        The stored event, whether it is an SAE, the rules it met.

    Raises
    ------
    TypeError
        If ``event`` is not an :class:`AdverseEventInput`.
    plptms.registry.RecordNotFoundError
        If there is no such trial, or the patient is not enrolled in it (nothing
        is stored).
    plptms.registry.RegistryError
        As :func:`record_adverse_event` (nothing is stored).
    """
    if not isinstance(event, AdverseEventInput):
        raise TypeError(
            f"Invalid type for 'event': got {type(event).__name__}; allowed: "
            "AdverseEventInput."
        )
    reg.get_enrolment(trial_id, event.site, event.code)  # enrolled, or refused
    recorded = record_adverse_event(reg, event)
    status = stopping_rule_states(reg, trial_id)
    eid = recorded.event.id
    triggered = tuple(r for r in status.rules if r.met and eid in r.counted)
    parts = []
    if recorded.event.serious:
        parts.append(
            f"SERIOUS ADVERSE EVENT {recorded.event.label()} in trial {trial_id!r}: "
            "report it to the sponsor and the safety committee now."
        )
    parts.append(recorded.message)
    for r in triggered:
        what = {
            "pause_enrolment": "enrolment is paused until the events are reviewed",
            "pause_stimulation": "enrolment and every trial session are paused "
            "until the events are reviewed",
            "stop_trial": "the trial is stopped",
        }[r.action]
        parts.append(
            f"Stopping rule {r.rule_id!r} ({r.description}) is met by adverse "
            f"event(s) {', '.join(map(str, r.counted))}: {what}."
        )
    return TrialAdverseEvent(
        recorded=recorded,
        serious=recorded.event.serious,
        triggered=triggered,
        status=status,
        message=" ".join(parts),
    )
