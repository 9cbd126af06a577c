"""Delivery events: the kinds a session logs, and the logged record.

Every pulse a session fires is bracketed by events in the registry's per-session
chain (see ``docs/delivery.md``): an intent before the stimulator is called, the
pulse after it returns, and, after a crash, a reconciliation. Recovery replays
these events; a kind outside :class:`EventKind` is refused when it is written.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DeliveryEvent", "DeliveryLogLostError", "EventKind"]


class DeliveryLogLostError(RuntimeError):
    """The durable log refused an event (e.g. the runner's lease was taken over).

    The runner stops at once without firing: a pulse it cannot log first is a
    pulse it must not give.
    """


class EventKind(StrEnum):
    """The kinds of delivery event (the values stored in the registry)."""

    #: The session's first run started (detail: device id and pulse count).
    SESSION_START = "session_start"
    #: An interrupted session resumed (detail: device id, count, pulses delivered).
    RESUME_SESSION = "resume_session"
    #: The pause still owed across a resume is being kept (detail: seconds, why).
    RESUME_WAIT = "resume_wait"
    #: A device-timed train is about to be fired (written before the call).
    TRAIN_INTENT = "train_intent"
    #: A train started.
    TRAIN_START = "train_start"
    #: A train ended.
    TRAIN_END = "train_end"
    #: One pulse is about to be fired (written before the call).
    PULSE_INTENT = "pulse_intent"
    #: One pulse was fired (written after the stimulator returned).
    PULSE = "pulse"
    #: After a crash: an uncertain pulse counted as delivered (never repeated).
    RECONCILED_DELIVERED = "reconciled_delivered"
    #: After a crash: an uncertain pulse the device count shows was not fired.
    RECONCILED_NOT_DELIVERED = "reconciled_not_delivered"
    #: After a crash: an intended device-timed train the device did not fire.
    RECONCILED_NOT_DELIVERED_TRAIN = "reconciled_not_delivered_train"
    #: The operator paused the session.
    PAUSE = "pause"
    #: The operator resumed a paused session.
    RESUME = "resume"
    #: The operator changed the intensity (re-checked, within the assigned dose).
    INTENSITY_CHANGE = "intensity_change"
    #: An intensity change was refused by the safety re-check (nothing changed).
    INTENSITY_REFUSED = "intensity_refused"
    #: The operator aborted the session.
    ABORT = "abort"
    #: The operator pressed the emergency stop.
    EMERGENCY_STOP = "emergency_stop"
    #: The stimulator reported a fault (detail: the fault).
    FAULT = "fault"
    #: Closed loop: a status change of the trigger (signal quality, gate).
    CLOSEDLOOP_STATUS = "closedloop_status"
    #: Closed loop: the session stopped before its end (detail: why).
    SESSION_INTERRUPTED = "session_interrupted"
    #: The session ended.
    SESSION_END = "session_end"


class DeliveryEvent(BaseModel):
    """One logged delivery event.

    Attributes
    ----------
    seq : int
        Order within the session, from 1.
    kind : str
        One of :class:`EventKind` (stored as its value).
    train_index, pulse_index : int | None
        Position in the plan.
    t_monotonic_s : float | None
        Host monotonic clock at the event, s.
    at : str
        Wall-clock time, UTC ISO.
    intensity_pct_mso : float | None
        Intensity, % MSO.
    detail : str
        Free text, for people.
    data : dict
        The event's structured fields (e.g. ``device_count``, ``device_id``,
        ``delivered``, ``n``), which recovery reads; empty for events written
        before the registry stored them (their ``detail`` text then holds them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    kind: str
    train_index: int | None
    pulse_index: int | None
    t_monotonic_s: float | None
    at: str
    intensity_pct_mso: float | None
    detail: str
    data: dict[str, int | float | str | None] = Field(default_factory=dict)

    @field_validator("data", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return {} if v is None else v

    def field(self, name: str) -> int | float | str | None:
        """Return one structured field (``None`` when absent).

        Events written before structured fields existed carry them as
        ``name=value`` words in ``detail``; those are read as a fallback
        (numbers as ``int`` where they parse, ``"none"`` as ``None``).

        Parameters
        ----------
        name : str
            Field name.

        Returns
        -------
        value : int | float | str | None
            The value.
        """
        if self.data:
            return self.data.get(name)
        for word in self.detail.split():
            key, sep, value = word.partition("=")
            if sep and key == name:
                if value == "none":
                    return None
                try:
                    return int(value)
                except ValueError:
                    return value
        return None
