"""Typed inputs of an analysis dataset: one randomised patient, one scale score.

The application layer maps the registry's records onto these;
:func:`plptms.trial.build_dataset` checks them against the trial definition.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AnalysisPatient", "AnalysisScore"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
#: Covariate names: usable as column names.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class AnalysisPatient(BaseModel):
    """One randomised patient, as the analysis needs it.

    Parameters
    ----------
    patient : str
        The patient's key (unique in the trial).
    site : str
        Site code (one of the definition's sites).
    arm_id : str
        The arm allocated (one of the definition's arms).
    randomised_on : datetime.date
        Date of randomisation (day 0 of the schedule).
    covariates : dict of str to float
        Baseline characteristics for moderator analyses, e.g.
        ``months_since_amputation`` or ``mu_power``: names of 1-64 lower case
        letters, digits and ``_`` (starting with a letter), finite values.
    sessions_planned, sessions_received : int
        Stimulation sessions planned (>= 1) and received (0 to planned).
    major_deviation : bool
        Whether a major protocol deviation occurred.
    withdrawn_on : datetime.date | None
        Date of withdrawal, if any (on or after randomisation).
    """

    model_config = _FROZEN

    patient: str = Field(min_length=1, max_length=64)
    site: str
    arm_id: str
    randomised_on: dt.date
    covariates: dict[str, float] = Field(default_factory=dict)
    sessions_planned: int
    sessions_received: int
    major_deviation: bool = False
    withdrawn_on: dt.date | None = None

    @field_validator("covariates")
    @classmethod
    def _covariates(cls, v: dict[str, float]) -> dict[str, float]:
        for name, value in v.items():
            if not _NAME.match(name):
                raise ValueError(
                    f"Invalid value for 'covariates': got name {name!r}; allowed: "
                    "1-64 lower case letters, digits and '_', starting with a letter."
                )
            if not math.isfinite(value):
                raise ValueError(
                    f"Invalid value for 'covariates[{name!r}]': got {value!r}; "
                    "allowed: a finite number."
                )
        return v

    @model_validator(mode="after")
    def _sessions(self) -> AnalysisPatient:
        if self.sessions_planned < 1:
            raise ValueError(
                f"Invalid value for 'sessions_planned': got {self.sessions_planned}; "
                "allowed range is [1, inf) sessions."
            )
        if not 0 <= self.sessions_received <= self.sessions_planned:
            raise ValueError(
                f"Invalid value for 'sessions_received': got "
                f"{self.sessions_received}; allowed range is "
                f"[0, {self.sessions_planned}] sessions (the sessions planned)."
            )
        if self.withdrawn_on is not None and self.withdrawn_on < self.randomised_on:
            raise ValueError(
                f"Invalid value for 'withdrawn_on': got {self.withdrawn_on}; allowed: "
                f"on or after randomisation ({self.randomised_on})."
            )
        return self


class AnalysisScore(BaseModel):
    """One scale score of a patient at a visit.

    Parameters
    ----------
    patient : str
        The patient's key.
    visit_id : str
        The visit (one of the definition's visits).
    scale_id : str
        The scale (one collected at that visit).
    value : float | None
        The scale's total, in the scale's units; ``None`` when the record exists
        but the total could not be scored (e.g. too many items missing).
    done_on : datetime.date
        Date the score was taken.
    in_window : bool
        Whether it was taken inside the visit's window.
    """

    model_config = _FROZEN

    patient: str = Field(min_length=1, max_length=64)
    visit_id: str
    scale_id: str
    value: float | None
    done_on: dt.date
    in_window: bool

    @field_validator("value")
    @classmethod
    def _value(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError(
                f"Invalid value for 'value': got {v!r}; allowed: a finite number or "
                "None (not scored)."
            )
        return v
