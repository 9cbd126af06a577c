"""Adverse events: record, physician review, and the pre-session check.

Every adverse event blocks the patient's next session until a physician has
reviewed it (:func:`adverse_event_check`); a serious event (ICH E2A) or a seizure
(the most serious acute risk of TMS, Rossi et al., 2009) is urgent: its review
must decide explicitly whether treatment may continue. A review that stops
treatment blocks every later session until a newer review allows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..delivery import CheckResult
from ..registry import AdverseEventIn, AdverseEventOut

if TYPE_CHECKING:
    import datetime as dt

    from ..registry import Registry

__all__ = [
    "AdverseEventInput",
    "AdverseEventRecorded",
    "AdverseEventReviewInput",
    "adverse_event_check",
    "list_adverse_events",
    "record_adverse_event",
    "review_adverse_event",
]


def _name(value: str, field: str) -> str:
    text = value.strip()
    if not 1 <= len(text) <= 64:
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: a name or id of "
            "1-64 characters."
        )
    return text


class AdverseEventInput(AdverseEventIn):
    """An adverse event of a patient, with who records it.

    Attributes
    ----------
    site, code : str
        The patient (checked by the registry).
    actor : str
        Who records it (1-64 characters).

    Notes
    -----
    The event's own fields (term, onset, severity, seriousness, relatedness,
    action, outcome, session) are those of :class:`plptms.registry.AdverseEventIn`.
    """

    site: str
    code: str
    actor: str

    @field_validator("actor")
    @classmethod
    def _actor(cls, value: str) -> str:
        return _name(value, "actor")

    def event(self) -> AdverseEventIn:
        """Return the event's own fields (without patient and actor)."""
        return AdverseEventIn.model_validate(
            self.model_dump(exclude={"site", "code", "actor"})
        )


class AdverseEventRecorded(BaseModel):
    """An adverse event as recorded, and what it means for the next session.

    Attributes
    ----------
    event : plptms.registry.AdverseEventOut
        The stored event.
    urgent : bool
        A serious event or a seizure: its review must decide on treatment.
    message : str
        What must happen before the next session.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: AdverseEventOut
    urgent: bool
    message: str


class AdverseEventReviewInput(BaseModel):
    """A physician's review of an adverse event.

    Attributes
    ----------
    event_id : int
        The event.
    physician : str
        The reviewing physician (1-64 characters).
    note : str
        The review (5-2000 characters).
    continue_treatment : bool | None
        Whether stimulation may go on. Required for an urgent event (serious or
        seizure); ``None`` means "may continue" for any other event.
    actor : str | None
        Who records it (the physician when ``None``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: int = Field(ge=1)
    physician: str
    note: str = Field(min_length=5, max_length=2000)
    continue_treatment: bool | None = None
    actor: str | None = None

    @field_validator("physician")
    @classmethod
    def _physician(cls, value: str) -> str:
        return _name(value, "physician")

    @field_validator("actor")
    @classmethod
    def _actor(cls, value: str | None) -> str | None:
        return None if value is None else _name(value, "actor")


def record_adverse_event(
    reg: Registry, event: AdverseEventInput
) -> AdverseEventRecorded:
    """Record an adverse event; the patient's next session waits for its review.

    Parameters
    ----------
    reg : Registry
        The registry.
    event : AdverseEventInput
        The event (validated), with the patient and who records it.

    Returns
    -------
    recorded : AdverseEventRecorded
        The stored event and what the next session needs.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such patient.
    plptms.registry.RegistryError
        On an onset in the future (the site's date) or a delivery session of
        another patient; nothing is stored.
    """
    if not isinstance(event, AdverseEventInput):
        raise TypeError(
            f"Invalid type for 'event': got {type(event).__name__}; allowed: "
            "AdverseEventInput."
        )
    out = reg.record_adverse_event(
        event.site, event.code, event.event(), actor=event.actor
    )
    if out.urgent:
        kind = "a seizure" if not out.serious else "a serious event"
        message = (
            f"{out.label()} is {kind}: the next session is blocked until a "
            "physician reviews it and decides whether treatment may continue."
        )
    else:
        message = (
            f"{out.label()} recorded: the next session is blocked until a physician "
            "reviews it."
        )
    return AdverseEventRecorded(event=out, urgent=out.urgent, message=message)


def review_adverse_event(
    reg: Registry, review: AdverseEventReviewInput
) -> AdverseEventOut:
    """Record a physician's review of an adverse event.

    Parameters
    ----------
    reg : Registry
        The registry.
    review : AdverseEventReviewInput
        The review (validated).

    Returns
    -------
    event : plptms.registry.AdverseEventOut
        The event with its reviews.

    Raises
    ------
    plptms.registry.RecordNotFoundError
        If there is no such event.
    ValueError
        If the event is urgent (serious or a seizure) and the review does not
        decide ``continue_treatment``; nothing is stored.
    """
    if not isinstance(review, AdverseEventReviewInput):
        raise TypeError(
            f"Invalid type for 'review': got {type(review).__name__}; allowed: "
            "AdverseEventReviewInput."
        )
    event = reg.get_adverse_event(review.event_id)
    decision = review.continue_treatment
    if decision is None:
        if event.urgent:
            raise ValueError(
                f"Invalid value for 'continue_treatment': got None for "
                f"{event.label()}, a serious event or seizure; allowed: True "
                "(treatment may continue) or False (stop treatment), decided by "
                "the physician."
            )
        decision = True
    return reg.review_adverse_event(
        review.event_id,
        physician=review.physician,
        note=review.note,
        continue_treatment=decision,
        actor=review.actor,
    )


def list_adverse_events(reg: Registry, site: str, code: str) -> list[AdverseEventOut]:
    """Return a patient's adverse events with their reviews.

    Parameters
    ----------
    reg : Registry
        The registry.
    site, code : str
        The patient.

    Returns
    -------
    events : list of plptms.registry.AdverseEventOut
        By onset date, then id.
    """
    return reg.list_adverse_events(site, code)


def adverse_event_check(
    reg: Registry,
    site: str,
    code: str,
    *,
    operator_confirmed: bool,
    today: dt.date,
) -> CheckResult:
    """Check adverse events before a session (the pre-session check).

    It passes only when the operator confirms that adverse events since the last
    session were reviewed, no recorded event of the patient is without a
    physician's review, and no physician's review in force stops treatment.
    Each blocking event is named.

    Parameters
    ----------
    reg : Registry
        The registry.
    site, code : str
        The patient.
    operator_confirmed : bool
        The operator confirms the adverse-event review (``--ae-reviewed``).
    today : datetime.date
        The session date (the site's date, :func:`site_today`).

    Returns
    -------
    check : plptms.delivery.CheckResult
        ``adverse_events``: passed, or why not.
    """
    events = reg.list_adverse_events(site, code)
    unreviewed = [e for e in events if not e.reviewed]
    stopped = [
        e for e in events if e.review is not None and not e.review.continue_treatment
    ]
    problems: list[str] = []
    if not operator_confirmed:
        problems.append(
            "adverse events since the last session not confirmed reviewed by the "
            "operator: confirm the review before stimulating"
        )
    if unreviewed:
        problems.append(
            "not yet reviewed by a physician: "
            + "; ".join(e.label() for e in unreviewed)
        )
    for e in stopped:
        r = e.review
        assert r is not None
        problems.append(
            f"a physician ({r.physician}) stopped treatment after {e.label()}: a "
            "newer review must allow it"
        )
    if problems:
        return CheckResult(
            check="adverse_events", passed=False, message="; ".join(problems)
        )
    return CheckResult(
        check="adverse_events",
        passed=True,
        message=(
            f"adverse events since the last session reviewed (operator); "
            f"{len(events)} recorded up to {today.isoformat()}, each reviewed by a "
            "physician"
        ),
    )
