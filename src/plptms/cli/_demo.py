"""The end-to-end demonstration run by ``make run`` (``plptms demo``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..protocol import Amputation, load_data
from ..protocol._io import validate_model
from ..safety import ScreeningAnswers

__all__ = ["DemoAssessment", "DemoPatient", "load_demo_patient"]


class DemoAssessment(BaseModel):
    """A fictional assessment of the demonstration patient.

    Parameters
    ----------
    day : int
        Days after the baseline visit.
    kind : str
        Visit kind.
    scale : str
        Scale id.
    items : dict
        Raw items.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: int = Field(ge=0)
    kind: str
    scale: str
    items: dict[str, float | int | None]


class DemoPatient(BaseModel):
    """A patient file for the demonstration.

    Parameters
    ----------
    patient : str
        Pseudonymous code.
    amputation : Amputation
        The amputation.
    rmt_pct_mso : float | None
        Resting motor threshold, % MSO.
    screening : ScreeningAnswers
        Screening answers.
    protocol : str
        Library protocol id to plan.
    history : dict | None
        PLP history (see :class:`plptms.scales.PLPHistory`).
    head : dict | None
        Head measurements (see :class:`plptms.targeting.HeadMeasurements`).
    assessments : tuple of DemoAssessment
        Fictional outcomes to store and plot.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient: str = Field(min_length=1)
    amputation: Amputation
    rmt_pct_mso: float | None = None
    screening: ScreeningAnswers
    protocol: str
    history: dict[str, Any] | None = None
    head: dict[str, float] | None = None
    assessments: tuple[DemoAssessment, ...] = ()


def load_demo_patient(path: str | Path | None = None) -> DemoPatient:
    """Load a demo patient file (the shipped fictional patient by default).

    Parameters
    ----------
    path : str | Path | None
        A JSON or YAML file; ``None`` for the shipped one.

    Returns
    -------
    patient : DemoPatient
        The validated file.
    """
    if path is None:
        res = resources.files("plptms") / "data" / "demo_patient.yaml"
        with resources.as_file(res) as p:
            data = load_data(p)
        source = "demo_patient.yaml"
    else:
        data = load_data(path)
        source = str(path)
    return validate_model(DemoPatient, data, source)
