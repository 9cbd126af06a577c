"""More of the JSON API, ``/api/v1``: register a patient, protocols, dose check.

Each endpoint parses its body with strict types and calls one guarded function
of :mod:`plptms.workflow._views_admin`; the permission table, site isolation
and the safety rules are decided there (the dose check is
:func:`plptms.safety.check_protocol`). Numbers of the dose are strictly typed:
``false``, ``"90"`` or ``NaN`` is a 422 naming the field, never coerced.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ..access import Principal
from ..protocol import CoilType, Laterality, Pattern, TargetSite
from ..registry import Registry
from ..safety import Verdict
from ..workflow import (
    PatientSummary,
    ProtocolSummary,
    check_dose_for,
    list_protocols_for,
    register_patient_for,
)
from ._api import Detail
from ._deps import api_principal, registry

__all__ = ["DoseCheckBody", "PatientBody", "router"]

router = APIRouter(tags=["clinic"])

Reg = Annotated[Registry, Depends(registry)]
Caller = Annotated[Principal, Depends(api_principal)]

#: A finite number, never a bool or a string (an integer is a number).
StrictFiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": Detail, "description": "Missing or invalid bearer token"},
    403: {"model": Detail, "description": "The role or the site does not allow this"},
}
_BODY_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS,
    400: {"model": Detail, "description": "The body is not JSON"},
    422: {"model": Detail, "description": "A field refused (named)"},
}


class PatientBody(BaseModel):
    """A patient to register at one of the caller's sites.

    Attributes
    ----------
    site : str
        Site code (one of the caller's).
    code : str
        Pseudonymous code, unique within the site.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: StrictStr = Field(min_length=1, max_length=32)
    code: StrictStr = Field(min_length=1, max_length=32)


class DoseCheckBody(BaseModel):
    """One session's dose to check, and the patient's RMT (strict JSON types).

    Every dose field must be given; ``null`` means not known (the rule that
    needs it is reported as not checked). See
    :class:`plptms.protocol.StimulationDose` for the meaning and units.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: Pattern
    target: TargetSite
    laterality: Laterality | None
    frequency_hz: StrictFiniteFloat | None
    intensity_pct_rmt: StrictFiniteFloat | None
    pulses_per_train: StrictInt | None
    trains_per_session: StrictInt | None
    inter_train_interval_s: StrictFiniteFloat | None
    pulses_per_burst: StrictInt | None = None
    intra_burst_frequency_hz: StrictFiniteFloat | None = None
    coil: CoilType | None = None
    rmt_pct_mso: StrictFiniteFloat | None = None


@router.post(
    "/patients",
    response_model=PatientSummary,
    status_code=201,
    responses={
        **_BODY_ERRORS,
        409: {"model": Detail, "description": "The code exists at that site"},
    },
)
def api_register_patient(
    reg: Reg, caller: Caller, body: PatientBody
) -> PatientSummary | JSONResponse:
    """Register a patient; the caller is the audited actor."""
    from ..registry import DuplicateRecordError
    from ._api import _utc

    try:
        return _utc(register_patient_for(reg, caller, body.site, body.code))
    except DuplicateRecordError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    except ValueError as exc:
        return _refused(["body", "code"], str(exc))


@router.get("/protocols", response_model=list[ProtocolSummary], responses=_ERRORS)
def api_protocols(caller: Caller) -> list[ProtocolSummary]:
    """List the protocols of the shipped library."""
    return list_protocols_for(caller)


@router.post("/protocols/check", response_model=Verdict, responses=_BODY_ERRORS)
def api_check_dose(caller: Caller, body: DoseCheckBody) -> Verdict | JSONResponse:
    """Check a dose with the safety engine; nothing is stored."""
    from ..protocol import StimulationDose

    try:
        dose = StimulationDose.model_validate(body.model_dump(exclude={"rmt_pct_mso"}))
    except ValidationError as exc:
        return JSONResponse(
            {
                "detail": [
                    {
                        "loc": ["body", *e["loc"]],
                        "msg": str(e["msg"]).removeprefix("Value error, "),
                    }
                    for e in exc.errors()
                ]
            },
            status_code=422,
        )
    try:
        return check_dose_for(caller, dose, rmt_pct_mso=body.rmt_pct_mso)
    except ValueError as exc:
        return _refused(["body", "rmt_pct_mso"], str(exc))


def _refused(loc: list[str], msg: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": loc, "msg": msg}]}, status_code=422)
