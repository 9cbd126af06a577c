"""The JSON API, ``/api/v1``: bearer tokens, strict types, the same views.

Every endpoint calls one function of :mod:`plptms.workflow._views` with the
token's user; the permission table and site isolation are decided there. Item
values are strictly typed: ``false``, ``"90"`` or ``NaN`` for a number is a
422 naming the field, never coerced.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, TypeVar

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
from ..registry import AssessmentOut, Registry, VisitIn, VisitKind
from ..workflow import (
    AssessmentEntry,
    PatientPage,
    PatientSummary,
    ScaleForm,
    check_items,
    list_patients_for,
    patient_assessments,
    patient_page,
    record_assessment_for,
    scale_form,
    scale_forms,
)
from ._deps import api_principal, registry

__all__ = ["AssessmentBody", "router"]

router = APIRouter(tags=["clinic"])

Reg = Annotated[Registry, Depends(registry)]
Caller = Annotated[Principal, Depends(api_principal)]

#: A finite number, never a bool or a string.
StrictFiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]


class AssessmentBody(BaseModel):
    """An assessment to record (strict JSON types).

    Attributes
    ----------
    scale_id : str
        Scale (``GET /api/v1/scales``).
    visit_date : datetime.date
        Visit date (ISO 8601), not in the future.
    visit_kind : VisitKind
        Kind of visit.
    items : dict of str to int | float | None
        Raw item values by item id; ``null`` is missing. Booleans, strings,
        NaN and infinities are refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scale_id: StrictStr = Field(min_length=1, max_length=40)
    visit_date: dt.date
    visit_kind: VisitKind
    items: dict[StrictStr, StrictInt | StrictFiniteFloat | None]


class ErrorItem(BaseModel):
    """One refused field."""

    loc: list[str | int]
    msg: str


class Detail(BaseModel):
    """An error answer: ``{"detail": ...}``."""

    detail: str | list[ErrorItem]


_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": Detail, "description": "Missing or invalid bearer token"},
    403: {"model": Detail, "description": "The role does not allow this"},
    404: {"model": Detail, "description": "No such patient at the caller's sites"},
}


@router.get("/patients", response_model=list[PatientSummary], responses=_ERRORS)
def api_patients(
    reg: Reg, caller: Caller, site: str | None = None, q: str | None = None
) -> list[PatientSummary]:
    """List the patients of the caller's sites (optionally one site, a search)."""
    return _utc(list_patients_for(reg, caller, site=site, query=q))


@router.get("/patients/{site}/{code}", response_model=PatientPage, responses=_ERRORS)
def api_patient(reg: Reg, caller: Caller, site: str, code: str) -> PatientPage:
    """One patient, with the sections the caller's role may see."""
    return _utc(patient_page(reg, caller, site, code))


@router.get(
    "/patients/{site}/{code}/assessments",
    response_model=list[AssessmentOut],
    responses=_ERRORS,
)
def api_assessments(
    reg: Reg, caller: Caller, site: str, code: str
) -> list[AssessmentOut]:
    """List a patient's assessments by visit date."""
    return _utc(patient_assessments(reg, caller, site, code))


@router.post(
    "/patients/{site}/{code}/assessments",
    response_model=AssessmentOut,
    status_code=201,
    responses={
        **_ERRORS,
        400: {"model": Detail, "description": "The body is not JSON"},
        409: {"model": Detail, "description": "Already recorded at that visit"},
        422: {"model": Detail, "description": "A field refused (named)"},
    },
)
def api_record_assessment(
    reg: Reg, caller: Caller, site: str, code: str, body: AssessmentBody
) -> AssessmentOut | JSONResponse:
    """Score and store an assessment; the caller is the audited actor."""
    from ..registry import DuplicateRecordError

    try:
        scale_form(body.scale_id)
    except ValueError as exc:
        return _refused([("body", "scale_id")], str(exc))
    errors = check_items(body.scale_id, dict(body.items))
    if errors:
        return JSONResponse(
            {
                "detail": [
                    {"loc": ["body", "items", k], "msg": v}
                    for k, v in sorted(errors.items())
                ]
            },
            status_code=422,
        )
    try:
        visit = VisitIn(visit_date=body.visit_date, kind=body.visit_kind)
    except ValidationError as exc:
        msg = "; ".join(
            str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()
        )
        return _refused([("body", "visit_date")], msg)
    entry = AssessmentEntry(scale_id=body.scale_id, visit=visit, items=body.items)
    try:
        return _utc(record_assessment_for(reg, caller, site, code, entry))
    except DuplicateRecordError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LookupError):
            raise
        return _refused([("body",)], str(exc))


_T = TypeVar("_T")


def _utc(value: _T) -> _T:
    """Mark the registry's naive times as UTC (SQLite drops the offset).

    The schema says ``date-time`` (RFC 3339), which needs an offset; the
    registry stores UTC, so a naive time read back is UTC.
    """
    out: Any = value
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        out = value.replace(tzinfo=dt.UTC)
    elif isinstance(value, BaseModel):
        changed = {k: _utc(v) for k, v in value.__dict__.items() if _utc(v) is not v}
        out = value.model_copy(update=changed) if changed else value
    elif isinstance(value, (list, tuple)):
        items = [_utc(v) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            out = type(value)(items)
    return out  # type: ignore[no-any-return]


def _refused(locs: list[tuple[str, ...]], msg: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": list(loc), "msg": msg} for loc in locs]},
        status_code=422,
    )


@router.get("/scales", response_model=list[ScaleForm], responses=_ERRORS)
def api_scales(caller: Caller) -> list[ScaleForm]:
    """Every scale's item ids and ranges (never the item wording)."""
    return scale_forms()
