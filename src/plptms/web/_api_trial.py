"""The trial API and the RMT API, ``/api/v1``: strict bodies, the same views.

Each endpoint parses its input with strict types (``false``, ``"90"`` or
``NaN`` for a number is a 422 naming the field, never coerced) and calls one
guarded function of :mod:`plptms.workflow` (the trial views, and
:mod:`plptms.workflow._views_api`); the permission table, site isolation and
blinding are decided there. Another site's patient or trial is a 404 alike
with a missing one; a role without the permission a 403.

Non-finite numbers of an analysis (an infinite boundary, say) are sent as
``null``: JSON has no infinity.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ..access import Principal
from ..motor import StopReason, ThresholdMethod
from ..registry import (
    ActionTaken,
    AdverseEventTerm,
    Outcome,
    Registry,
    Relatedness,
    SeriousCriterion,
    Severity,
    TrialVisitOut,
)
from ..trial import InterimReport, TrialAnalysis
from ..workflow import (
    ConsortCounts,
    EnrolmentView,
    RMTRecorded,
    RMTView,
    TrialAdverseEvent,
    TrialLine,
    TrialPage,
    TrialVisitLists,
    UnblindingResult,
    enrol_view_for,
    list_trials_for,
    odm_for,
    record_rmt_for,
    record_trial_ae_for,
    record_trial_visit_for,
    rmt_history_for,
    trial_analysis_for,
    trial_calendar_for,
    trial_consort_counts_for,
    trial_dataset_for,
    trial_interim_for,
    trial_page,
    unblind_for,
)
from ._api import Detail, _utc
from ._deps import api_principal, registry

__all__ = [
    "AdverseEventBody",
    "EnrolmentBody",
    "HuntBody",
    "RMTBody",
    "TrialVisitBody",
    "UnblindBody",
    "router",
]

router = APIRouter(tags=["trial"])

Reg = Annotated[Registry, Depends(registry)]
Caller = Annotated[Principal, Depends(api_principal)]

#: A finite number, never a bool or a string (an integer is a number).
StrictFiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]
Site = Annotated[StrictStr, Field(min_length=1, max_length=32)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=64)]
#: % MSO is a percentage of the stimulator's maximum output: [0, 100].
PctMSO = Annotated[StrictFiniteFloat, Field(ge=0.0, le=100.0)]

#: The stated RMT and the hunt's estimate must agree to this, % MSO (the same
#: number sent twice; the tolerance only absorbs a decimal round trip).
RMT_MATCH_ATOL_PCT_MSO: Final[float] = 1e-6
#: Most pulses one hunt may carry (a relative-frequency hunt uses tens).
MAX_TRACE_PULSES: Final[int] = 2000

_FROZEN = ConfigDict(frozen=True, extra="forbid")

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": Detail, "description": "Missing or invalid bearer token"},
    403: {
        "model": Detail,
        "description": "The role (or a trial site) does not allow this",
    },
    404: {
        "model": Detail,
        "description": "No such trial or patient at the caller's sites",
    },
}
_QUERY_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS,
    422: {"model": Detail, "description": "A parameter refused (named)"},
}
_BODY_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS,
    400: {"model": Detail, "description": "The body is not JSON"},
    409: {"model": Detail, "description": "Already recorded"},
    422: {"model": Detail, "description": "A field refused (named)"},
}
_DATA_ERRORS: dict[int | str, dict[str, object]] = {
    **_QUERY_ERRORS,
    409: {"model": Detail, "description": "Too little data for it yet"},
}


# ------------------------------------------------------------------------ bodies
class EnrolmentBody(BaseModel):
    """A patient to enrol and randomise (as the enrolment page takes it).

    Attributes
    ----------
    site, code : str
        The patient (one of the caller's sites; screened eligible).
    factors : dict of str to str
        A level for every stratification factor but ``site`` (filled in).
    """

    model_config = _FROZEN

    site: Site
    code: Code
    factors: dict[StrictStr, StrictStr] = Field(default_factory=dict, max_length=20)


class TrialVisitBody(BaseModel):
    """A scheduled visit to record.

    Attributes
    ----------
    site, code : str
        The enrolled patient.
    visit_id : str
        A visit of the schedule (``GET /api/v1/trials/{trial_id}``).
    visit_date : datetime.date
        The date it took place (ISO 8601), not in the future.
    deviation_reason : str | None
        Only outside the visit's window: why (a protocol deviation).
    """

    model_config = _FROZEN

    site: Site
    code: Code
    visit_id: StrictStr = Field(min_length=1, max_length=64)
    visit_date: dt.date
    deviation_reason: StrictStr | None = Field(default=None, max_length=2000)


class AdverseEventBody(BaseModel):
    """An adverse event of an enrolled patient.

    ``site`` and ``code`` name the patient; the other fields are those of
    :class:`plptms.registry.AdverseEventIn` (a serious event needs its
    ``serious_criterion``; ``onset_on`` is the site's today when ``null``).
    """

    model_config = _FROZEN

    site: Site
    code: Code
    term: AdverseEventTerm
    severity: Severity
    relatedness: Relatedness
    serious: StrictBool = False
    serious_criterion: SeriousCriterion | None = None
    description: StrictStr = Field(default="", max_length=2000)
    onset_on: dt.date | None = None
    action_taken: ActionTaken = ActionTaken.NONE
    outcome: Outcome = Outcome.UNKNOWN
    delivery_session_id: StrictInt | None = Field(default=None, ge=1)


class UnblindBody(BaseModel):
    """An emergency unblinding of one patient (the reason is required)."""

    model_config = _FROZEN

    site: Site
    code: Code
    reason: StrictStr = Field(max_length=2000)


class TracePointBody(BaseModel):
    """One pulse of a hunt (``plptms threshold hunt --json``)."""

    model_config = _FROZEN

    intensity_pct_mso: PctMSO
    amplitude_uv: Annotated[StrictFiniteFloat, Field(ge=0.0)]
    mep_present: StrictBool


class HuntBody(BaseModel):
    """The hunt that measured the RMT, as ``plptms threshold hunt --json`` prints it.

    See :class:`plptms.motor.ThresholdResult`; only a converged hunt is stored.
    """

    model_config = _FROZEN

    method: ThresholdMethod
    estimate_pct_mso: PctMSO | None
    pulses_used: StrictInt = Field(ge=0, le=MAX_TRACE_PULSES)
    converged: StrictBool
    trace: list[TracePointBody] = Field(max_length=MAX_TRACE_PULSES)
    stop_reason: StopReason
    detail: StrictStr = Field(max_length=2000)
    citation: StrictStr = Field(max_length=2000)
    mep_threshold_uv: Annotated[StrictFiniteFloat, Field(gt=0.0)] = 50.0
    ci95_pct_mso: tuple[StrictFiniteFloat, StrictFiniteFloat] | None = None


class RMTBody(BaseModel):
    """A measured resting motor threshold, with the hunt that found it.

    Attributes
    ----------
    rmt_pct_mso : float, % MSO
        The RMT, in [0, 100]; it must be the hunt's estimate.
    hemisphere : {'left', 'right'}
        Hemisphere stimulated.
    muscle : str
        Target muscle (e.g. ``"FDI"``).
    stimulator : str
        Stimulator and coil (a % MSO is specific to one).
    measured_on : datetime.date | None
        Date (the site's today when ``null``), not in the future.
    hunt : HuntBody
        The converged hunt (its evidence is stored with the RMT).
    """

    model_config = _FROZEN

    rmt_pct_mso: PctMSO
    hemisphere: Literal["left", "right"]
    muscle: StrictStr = Field(min_length=1, max_length=32)
    stimulator: StrictStr = Field(min_length=1, max_length=64)
    measured_on: dt.date | None = None
    hunt: HuntBody


# ----------------------------------------------------------------------- helpers
def _refused(loc: list[str | int], msg: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": loc, "msg": msg}]}, status_code=status)


def _invalid(exc: ValidationError, prefix: list[str | int]) -> JSONResponse:
    return JSONResponse(
        {
            "detail": [
                {
                    "loc": [*prefix, *e["loc"]],
                    "msg": str(e["msg"]).removeprefix("Value error, "),
                }
                for e in exc.errors()
            ]
        },
        status_code=422,
    )


def _conflict(msg: str) -> JSONResponse:
    return JSONResponse({"detail": msg}, status_code=409)


def _json(model: BaseModel) -> Response:
    """Send a model whose floats may be infinite (as ``null``: JSON has none)."""
    return Response(_utc(model).model_dump_json(), media_type="application/json")


def _reraise_lookup(exc: Exception) -> None:
    if isinstance(exc, LookupError):  # another site's or a missing record: 404
        raise exc


# ------------------------------------------------------------------------ trials
@router.get("/trials", response_model=list[TrialLine], responses=_ERRORS)
def api_trials(reg: Reg, caller: Caller) -> list[TrialLine]:
    """List the trials that run at one of the caller's sites (no arm)."""
    return list_trials_for(reg, caller)


@router.get("/trials/{trial_id}", response_model=TrialPage, responses=_ERRORS)
def api_trial(reg: Reg, caller: Caller, trial_id: str) -> TrialPage:
    """Summary, stopping-rule states and SAE alerts (arms for ``trial.arm.read``)."""
    return _utc(trial_page(reg, caller, trial_id))


@router.post(
    "/trials/{trial_id}/enrolments",
    response_model=EnrolmentView,
    status_code=201,
    responses={
        **_BODY_ERRORS,
        409: {"model": Detail, "description": "Already enrolled"},
    },
)
def api_enrol(
    reg: Reg, caller: Caller, trial_id: str, body: EnrolmentBody
) -> EnrolmentView | JSONResponse:
    """Enrol and randomise; the kit code, and the arm only for arm readers."""
    from ..registry import DuplicateRecordError

    try:
        return _utc(
            enrol_view_for(
                reg, caller, trial_id, body.site, body.code, dict(body.factors)
            )
        )
    except DuplicateRecordError as exc:
        _reraise_lookup(exc)
        return _conflict(str(exc))
    except ValidationError as exc:
        return _invalid(exc, ["body"])
    except ValueError as exc:
        _reraise_lookup(exc)
        return _refused(["body"], str(exc))


@router.get(
    "/trials/{trial_id}/visits",
    response_model=list[TrialVisitLists],
    responses=_ERRORS,
)
def api_trial_visits(
    reg: Reg, caller: Caller, trial_id: str, site: str | None = None
) -> list[TrialVisitLists]:
    """Due, overdue and missed visits of the caller's trial sites (or one)."""
    return trial_calendar_for(reg, caller, trial_id, site)


@router.post(
    "/trials/{trial_id}/visits",
    response_model=TrialVisitOut,
    status_code=201,
    responses=_BODY_ERRORS,
)
def api_record_trial_visit(
    reg: Reg, caller: Caller, trial_id: str, body: TrialVisitBody
) -> TrialVisitOut | JSONResponse:
    """Record a scheduled visit; outside its window it needs a deviation reason."""
    from ..registry import DuplicateRecordError
    from ..workflow import TrialVisitInput

    try:
        visit = TrialVisitInput(trial_id=trial_id, **body.model_dump())
        return _utc(record_trial_visit_for(reg, caller, visit))
    except ValidationError as exc:
        return _invalid(exc, ["body"])
    except DuplicateRecordError as exc:
        _reraise_lookup(exc)
        return _conflict(str(exc))
    except ValueError as exc:
        _reraise_lookup(exc)
        return _refused(["body"], str(exc))


@router.post(
    "/trials/{trial_id}/adverse-events",
    response_model=TrialAdverseEvent,
    status_code=201,
    responses=_BODY_ERRORS,
)
def api_record_trial_ae(
    reg: Reg, caller: Caller, trial_id: str, body: AdverseEventBody
) -> TrialAdverseEvent | JSONResponse:
    """Record an adverse event; the answer flags an SAE and the rules it met."""
    from ..registry import AdverseEventIn

    data = body.model_dump(exclude={"site", "code"})
    try:
        event = AdverseEventIn.model_validate(data)
        return _utc(
            record_trial_ae_for(reg, caller, trial_id, body.site, body.code, event)
        )
    except ValidationError as exc:
        return _invalid(exc, ["body"])
    except ValueError as exc:
        _reraise_lookup(exc)
        return _refused(["body"], str(exc))


@router.post(
    "/trials/{trial_id}/unblind",
    response_model=UnblindingResult,
    status_code=201,
    responses=_BODY_ERRORS,
)
def api_unblind(
    reg: Reg, caller: Caller, trial_id: str, body: UnblindBody
) -> UnblindingResult | JSONResponse:
    """Unblind one patient in an emergency (stored and audited before the arm)."""
    try:
        return _utc(
            unblind_for(reg, caller, trial_id, body.site, body.code, body.reason)
        )
    except ValueError as exc:
        _reraise_lookup(exc)
        return _refused(["body", "reason"], str(exc))


@router.get(
    "/trials/{trial_id}/analysis",
    response_model=TrialAnalysis,
    responses=_DATA_ERRORS,
)
def api_trial_analysis(
    reg: Reg,
    caller: Caller,
    trial_id: str,
    analysis_set: Literal["itt", "pp"] = "itt",
) -> Response:
    """Run the planned analyses (statistician, every trial site)."""
    from ..trial import MMRMConvergenceError

    try:
        return _json(trial_analysis_for(reg, caller, trial_id, analysis_set))
    except (ValueError, MMRMConvergenceError) as exc:
        _reraise_lookup(exc)
        return _conflict(str(exc))


@router.get(
    "/trials/{trial_id}/interim",
    response_model=InterimReport,
    responses=_DATA_ERRORS,
)
def api_trial_interim(
    reg: Reg,
    caller: Caller,
    trial_id: str,
    look: Annotated[int, Query(ge=1, le=20)] = 1,
) -> Response:
    """Run an interim look (statistician, every trial site)."""
    from ..trial import MMRMConvergenceError

    try:
        return _json(trial_interim_for(reg, caller, trial_id, look))
    except (ValueError, MMRMConvergenceError) as exc:
        _reraise_lookup(exc)
        return _conflict(str(exc))


@router.get(
    "/trials/{trial_id}/consort",
    response_model=ConsortCounts,
    responses=_DATA_ERRORS,
)
def api_trial_consort(
    reg: Reg, caller: Caller, trial_id: str
) -> ConsortCounts | JSONResponse:
    """Count the CONSORT 2010 flow (statistician, every trial site)."""
    try:
        return trial_consort_counts_for(reg, caller, trial_id)
    except ValueError as exc:
        _reraise_lookup(exc)
        return _conflict(str(exc))


_EXPORT_MEDIA: Final[dict[str, str]] = {
    "csv": "text/csv; charset=utf-8",
    "odm": "application/xml",
}


@router.get(
    "/trials/{trial_id}/export",
    response_class=Response,
    responses={
        **_DATA_ERRORS,
        200: {
            "description": "The file (CSV dataset with arms, or blinded ODM 1.3.2)",
            "content": {"text/csv": {}, "application/xml": {}},
        },
    },
)
def api_trial_export(
    reg: Reg,
    caller: Caller,
    trial_id: str,
    fmt: Annotated[Literal["csv", "odm"], Query(alias="format")],
    table: Literal["long", "patients"] = "long",
    analysis_set: Literal["itt", "pp"] = "itt",
) -> Response:
    """Export the trial's data (``trial.export`` at every trial site).

    ``csv``: the analysis dataset, arms included (``trial.analyse`` too);
    ``odm``: blinded CDISC ODM 1.3.2.
    """
    if fmt == "odm":
        data = odm_for(reg, caller, trial_id)
        name = f"{trial_id}-odm.xml"
    else:
        try:
            data = trial_dataset_for(
                reg, caller, trial_id, fmt="csv", table=table, analysis_set=analysis_set
            )
        except ValueError as exc:
            _reraise_lookup(exc)
            return _conflict(str(exc))
        name = f"{trial_id}-{analysis_set}-{table}.csv"
    return Response(
        data,
        media_type=_EXPORT_MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --------------------------------------------------------------------------- RMT
@router.get(
    "/patients/{site}/{code}/rmt", response_model=list[RMTView], responses=_ERRORS
)
def api_rmt_history(reg: Reg, caller: Caller, site: str, code: str) -> list[RMTView]:
    """Every stored RMT of a patient, oldest first (as the patient page shows it)."""
    return rmt_history_for(reg, caller, site, code)


@router.post(
    "/patients/{site}/{code}/rmt",
    response_model=RMTRecorded,
    status_code=201,
    responses=_BODY_ERRORS,
)
def api_record_rmt(
    reg: Reg, caller: Caller, site: str, code: str, body: RMTBody
) -> RMTRecorded | JSONResponse:
    """Record a measured RMT; answer each current assignment's verdict with it."""
    from ..motor import ThresholdNotFoundError, ThresholdResult
    from ..workflow import RMTInput

    est = body.hunt.estimate_pct_mso
    if est is None or not math.isclose(
        est, body.rmt_pct_mso, rel_tol=0.0, abs_tol=RMT_MATCH_ATOL_PCT_MSO
    ):
        return _refused(
            ["body", "rmt_pct_mso"],
            f"Invalid value for 'rmt_pct_mso': got {body.rmt_pct_mso!r}; allowed: "
            f"the hunt's estimate_pct_mso ({est!r}).",
        )
    try:
        hunt = ThresholdResult.model_validate(body.hunt.model_dump())
    except ValidationError as exc:
        return _invalid(exc, ["body", "hunt"])
    try:
        rmt = RMTInput(
            site=site,
            code=code,
            result=hunt,
            hemisphere=body.hemisphere,
            muscle=body.muscle,
            stimulator=body.stimulator,
            measured_on=body.measured_on,
        )
    except ValidationError as exc:
        # the path's site or code out of the registry's bounds: no such patient
        from ..workflow import PatientNotFoundError

        raise PatientNotFoundError(str(exc)) from None
    try:
        return record_rmt_for(reg, caller, rmt)
    except ValueError as exc:
        _reraise_lookup(exc)
        field = "hunt" if isinstance(exc, ThresholdNotFoundError) else "measured_on"
        return _refused(["body", field], str(exc))
