"""The end-to-end demonstration run by ``make run`` (``plptms demo``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..protocol import Amputation, load_data
from ..protocol._io import validate_model
from ..safety import ScreeningAnswers

__all__ = ["DemoPatient", "load_demo_patient"]


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
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    patient: str = Field(min_length=1)
    amputation: Amputation
    rmt_pct_mso: float | None = None
    screening: ScreeningAnswers
    protocol: str


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
