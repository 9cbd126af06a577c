"""Record a resting motor threshold, and say what it does to the assigned doses.

Every intensity is a percentage of the RMT, so a new RMT changes the % MSO of
every assigned protocol: a dose that fitted the stimulator before may now exceed
it, or a rule may now need review. The use case stores the RMT (only from a
converged hunt) and returns each current assignment's verdict with it, so that
the operator sees at once what the next session will meet, instead of at its
start.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..motor import ThresholdResult
from ..safety import Verdict

if TYPE_CHECKING:
    from ..registry import Registry

__all__ = ["RMTInput", "RMTRecorded", "record_rmt"]


class RMTInput(BaseModel):
    """A resting motor threshold to record.

    Parameters
    ----------
    site, code : str
        The patient.
    result : plptms.motor.ThresholdResult
        The hunt (converged, or it is refused).
    hemisphere : {"left", "right"}
        Hemisphere stimulated.
    muscle : str
        Target muscle (e.g. ``"FDI"``).
    stimulator : str
        Stimulator and coil (``"sim"`` for a simulated subject); a % MSO is
        specific to one.
    measured_on : datetime.date | None
        Date (the site's today when ``None``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    site: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=1, max_length=64)
    result: ThresholdResult
    hemisphere: Literal["left", "right"]
    muscle: str = Field(min_length=1, max_length=32)
    stimulator: str = Field(min_length=1, max_length=64)
    measured_on: dt.date | None = None


class RMTRecorded(BaseModel):
    """A stored RMT and the verdict of each current assignment with it.

    Attributes
    ----------
    rmt_pct_mso : float, % MSO
        The RMT stored.
    verdicts : dict of str to plptms.safety.Verdict
        Per assigned protocol (its latest assignment), the verdict now, under
        the site's policy, with the assignment's overrides and review.
    """

    model_config = ConfigDict(frozen=True)

    rmt_pct_mso: float
    verdicts: dict[str, Verdict]

    @property
    def blocked(self) -> dict[str, Verdict]:
        """The assignments that cannot be delivered at this RMT as they stand."""
        return {
            pid: v for pid, v in self.verdicts.items() if v.decision.value != "accepted"
        }


def record_rmt(reg: Registry, rmt: RMTInput, *, actor: str) -> RMTRecorded:
    """Store an RMT and check every current assignment with it.

    Parameters
    ----------
    reg : Registry
        The registry.
    rmt : RMTInput
        The threshold.
    actor : str
        Who measured it.

    Returns
    -------
    recorded : RMTRecorded
        The RMT and the assignments' verdicts with it.

    Raises
    ------
    plptms.registry.RegistryError
        If the hunt did not converge, or on bad input (nothing is stored).
    """
    from ._safety import verdict_for_assignment

    value = reg.record_rmt(
        rmt.site,
        rmt.code,
        rmt.result,
        hemisphere=rmt.hemisphere,
        muscle=rmt.muscle,
        stimulator=rmt.stimulator,
        measured_on=rmt.measured_on,
        actor=actor,
    )
    from ..protocol import Protocol

    latest = {a.protocol_id: a for a in reg.list_assignments(rmt.site, rmt.code)}
    policy = reg.site_policy(rmt.site)
    verdicts = {
        pid: verdict_for_assignment(
            reg,
            rmt.site,
            a.id,
            Protocol.model_validate(a.protocol),
            value,
            policy=policy,
        )
        for pid, a in latest.items()
    }
    return RMTRecorded(rmt_pct_mso=value, verdicts=verdicts)
