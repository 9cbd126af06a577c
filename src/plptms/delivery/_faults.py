"""Fault injection plans shared by the simulator and the serial emulators."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FaultKind", "FaultPlan"]


class FaultKind(StrEnum):
    """A device fault that can be injected.

    Attributes
    ----------
    NO_REPLY
        The device stops answering: every later command is swallowed and nothing
        more is fired (the host sees a timeout).
    GARBLED_REPLY
        The next fire command is executed (the pulse is delivered and counted) but
        its reply is corrupted (bad checksum).
    DISCONNECT
        The link drops at the next command, which is not executed.
    OVER_TEMPERATURE
        The coil temperature jumps above the cut-off; the device disarms and refuses
        to fire or arm.
    NOT_READY
        The device reports not ready (e.g. an interlock or a charging fault) and
        refuses to fire.
    """

    NO_REPLY = "no_reply"
    GARBLED_REPLY = "garbled_reply"
    DISCONNECT = "disconnect"
    OVER_TEMPERATURE = "over_temperature"
    NOT_READY = "not_ready"


class FaultPlan(BaseModel):
    """When and how a simulated or emulated device fails.

    Attributes
    ----------
    kind : FaultKind | None
        The fault; ``None`` for a healthy device.
    after_pulses : int
        The fault strikes once the device has fired this many pulses in total (its
        own ground-truth count): 0 means at once.

    Notes
    -----
    A fault strikes once. :class:`FaultKind.NO_REPLY` and
    :class:`FaultKind.DISCONNECT` make the device unusable until it is reconnected
    (the simulator) or restarted (the emulators).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind | None = None
    after_pulses: int = Field(default=0, ge=0)

    def armed_for(self, pulses_fired: int) -> FaultKind | None:
        """Return the fault kind once it is due, else ``None``.

        Parameters
        ----------
        pulses_fired : int
            Pulses the device has fired so far.

        Returns
        -------
        kind : FaultKind | None
            The kind when ``pulses_fired >= after_pulses``.
        """
        if self.kind is None or pulses_fired < self.after_pulses:
            return None
        return self.kind
