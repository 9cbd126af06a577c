"""Trial pages: each parses, calls one guarded view, renders.

The trial list and page, enrolment, the follow-up calendar, adverse events,
emergency unblinding, the analyses and the exports.

No permission, site or blinding rule lives here: every read and write goes
through :mod:`plptms.workflow._views_trial`, which checks the signed-in user.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ..access import Permission, Principal
from ..registry import (
    AdverseEventIn,
    AdverseEventTerm,
    Registry,
    Relatedness,
    SeriousCriterion,
    Severity,
)
from ..workflow import (
    TrialVisitInput,
    consort_images_for,
    enrol_for,
    enrol_form,
    list_trials_for,
    odm_for,
    record_trial_ae_for,
    record_trial_visit_for,
    trial_analysis_for,
    trial_dataset_for,
    trial_interim_for,
    trial_page,
    trial_patient_page,
    trial_visit_lists_for,
    unblind_for,
)
from ._deps import checked_form, current_principal, registry
from ._render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Form = Annotated[dict[str, str], Depends(checked_form)]

_FACTOR = "factor_"
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}


def _messages(exc: Exception) -> list[str]:
    """Put a refusal in words (pydantic errors one per line, no prefix)."""
    if isinstance(exc, ValidationError):
        return [
            str(e["msg"]).removeprefix("Value error, ")
            + (
                ""
                if "'" in str(e["msg"])
                else f" (field {'.'.join(map(str, e['loc']))})"
            )
            for e in exc.errors()
        ]
    return [str(exc)]


def _download(data: bytes, media: str, filename: str) -> Response:
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/trials")
def trials(request: Request, reg: Reg, user: User) -> Response:
    """List the trials that run at the user's sites."""
    return render(request, "trial_list.html", {"trials": list_trials_for(reg, user)})


@router.get("/trials/{trial_id}")
def trial(request: Request, reg: Reg, user: User, trial_id: str) -> Response:
    """Show the trial page (arms only for ``trial.arm.read``)."""
    return render(request, "trial_page.html", {"page": trial_page(reg, user, trial_id)})


def _enrol_ctx(
    reg: Registry, user: Principal, trial_id: str, **extra: Any
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "form": enrol_form(reg, user, trial_id),
        "errors": [],
        "chosen": "",
        "levels": {},
    }
    ctx.update(extra)
    return ctx


@router.get("/trials/{trial_id}/enrol")
def enrol_page(request: Request, reg: Reg, user: User, trial_id: str) -> Response:
    """Show the enrolment form: a patient of the user's sites, the factors."""
    return render(request, "trial_enrol.html", _enrol_ctx(reg, user, trial_id))


@router.post("/trials/{trial_id}/enrol")
def enrol(
    request: Request, reg: Reg, user: User, form: Form, trial_id: str
) -> Response:
    """Enrol; show the kit code, or the refusal next to the form."""
    chosen = form.get("patient", "")
    site, _, code = chosen.partition("/")
    levels = {
        k[len(_FACTOR) :]: v for k, v in form.items() if k.startswith(_FACTOR) and v
    }
    ctx = _enrol_ctx(reg, user, trial_id, chosen=chosen, levels=levels)
    if not site or not code:
        ctx["errors"] = [
            f"Invalid value for 'patient': got {chosen!r}; allowed: a patient of "
            "the list."
        ]
        return render(request, "trial_enrol.html", ctx, status_code=422)
    try:
        enrolment = enrol_for(reg, user, trial_id, site, code, levels)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LookupError):  # an unknown or foreign patient: 404
            raise
        ctx["errors"] = _messages(exc)
        return render(request, "trial_enrol.html", ctx, status_code=422)
    return render(
        request, "trial_enrolled.html", {"trial": ctx["form"].trial, "e": enrolment}
    )


@router.get("/trials/{trial_id}/sites/{site}/visits")
def visit_lists(
    request: Request, reg: Reg, user: User, trial_id: str, site: str
) -> Response:
    """Show the site's follow-up calendar: due, overdue and missed visits."""
    lists = trial_visit_lists_for(reg, user, trial_id, site)
    return render(
        request,
        "trial_visits.html",
        {"lists": lists, "trial": trial_page(reg, user, trial_id).trial},
    )


def _patient_ctx(
    reg: Registry,
    user: Principal,
    trial_id: str,
    site: str,
    code: str,
    **extra: Any,
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "page": trial_patient_page(reg, user, trial_id, site, code),
        "may_visit": user.may(Permission.TRIAL_VISIT_WRITE),
        "may_ae": user.may(Permission.AE_WRITE),
        "may_unblind": user.may(Permission.TRIAL_UNBLIND),
        "may_patient": user.may(Permission.PATIENT_READ),
        "errors": [],
        "values": {},
        "today": dt.date.today().isoformat(),
    }
    ctx.update(extra)
    return ctx


@router.get("/trials/{trial_id}/patients/{site}/{code}")
def trial_patient(
    request: Request, reg: Reg, user: User, trial_id: str, site: str, code: str
) -> Response:
    """Show an enrolled patient's own calendar, with the visit form."""
    ctx = _patient_ctx(reg, user, trial_id, site, code)
    return render(request, "trial_patient.html", ctx)


@router.post("/trials/{trial_id}/patients/{site}/{code}/visits")
def record_visit(
    request: Request,
    reg: Reg,
    user: User,
    form: Form,
    trial_id: str,
    site: str,
    code: str,
) -> Response:
    """Record a scheduled visit; a date outside its window is refused plainly."""
    reason = form.get("deviation_reason", "").strip() or None
    try:
        visit = TrialVisitInput(
            trial_id=trial_id,
            site=site,
            code=code,
            visit_id=form.get("visit_id", ""),
            visit_date=form.get("visit_date", ""),
            deviation_reason=reason,
        )
        record_trial_visit_for(reg, user, visit)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LookupError):
            raise
        ctx = _patient_ctx(
            reg, user, trial_id, site, code, errors=_messages(exc), values=form
        )
        return render(request, "trial_patient.html", ctx, status_code=422)
    return RedirectResponse(
        f"/trials/{trial_id}/patients/{site}/{code}#calendar", status_code=303
    )


def _ae_ctx(
    reg: Registry, user: Principal, trial_id: str, site: str, code: str, **extra: Any
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "page": trial_patient_page(
            reg, user, trial_id, site, code, action=Permission.AE_WRITE
        ),
        "terms": [t.value for t in AdverseEventTerm],
        "severities": [s.value for s in Severity],
        "relatedness": [r.value for r in Relatedness],
        "criteria": [c.value for c in SeriousCriterion],
        "errors": [],
        "values": {"onset_on": dt.date.today().isoformat()},
    }
    ctx.update(extra)
    return ctx


@router.get("/trials/{trial_id}/patients/{site}/{code}/adverse-events/new")
def ae_page(
    request: Request, reg: Reg, user: User, trial_id: str, site: str, code: str
) -> Response:
    """Show the adverse-event form of an enrolled patient."""
    return render(request, "trial_ae.html", _ae_ctx(reg, user, trial_id, site, code))


@router.post("/trials/{trial_id}/patients/{site}/{code}/adverse-events")
def record_ae(
    request: Request,
    reg: Reg,
    user: User,
    form: Form,
    trial_id: str,
    site: str,
    code: str,
) -> Response:
    """Record an adverse event; show the SAE flag and the rules it met."""
    data: dict[str, Any] = {
        "term": form.get("term", ""),
        "severity": form.get("severity", ""),
        "relatedness": form.get("relatedness", ""),
        "serious": form.get("serious") == "yes",
        "description": form.get("description", ""),
        "onset_on": form.get("onset_on") or None,
    }
    if form.get("serious_criterion"):
        data["serious_criterion"] = form["serious_criterion"]
    try:
        if data["onset_on"] is not None:
            data["onset_on"] = dt.date.fromisoformat(data["onset_on"])
        event = AdverseEventIn.model_validate(data)
        result = record_trial_ae_for(reg, user, trial_id, site, code, event)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LookupError):
            raise
        msgs = _messages(exc)
        if "Invalid isoformat" in msgs[0]:
            msgs = [
                f"Invalid value for 'onset_on': got {form.get('onset_on')!r}; "
                "allowed: a date as YYYY-MM-DD."
            ]
        ctx = _ae_ctx(reg, user, trial_id, site, code, errors=msgs, values=form)
        return render(request, "trial_ae.html", ctx, status_code=422)
    page = trial_patient_page(reg, user, trial_id, site, code)
    return render(request, "trial_ae_recorded.html", {"page": page, "r": result})


@router.get("/trials/{trial_id}/patients/{site}/{code}/unblind")
def unblind_page(
    request: Request, reg: Reg, user: User, trial_id: str, site: str, code: str
) -> Response:
    """Show the emergency unblinding form (a reason is required)."""
    page = trial_patient_page(
        reg, user, trial_id, site, code, action=Permission.TRIAL_UNBLIND
    )
    return render(request, "trial_unblind.html", {"page": page, "errors": []})


@router.post("/trials/{trial_id}/patients/{site}/{code}/unblind")
def unblind(
    request: Request,
    reg: Reg,
    user: User,
    form: Form,
    trial_id: str,
    site: str,
    code: str,
) -> Response:
    """Unblind one patient: the arm is shown once, after it is recorded."""
    try:
        result = unblind_for(reg, user, trial_id, site, code, form.get("reason", ""))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LookupError):
            raise
        page = trial_patient_page(
            reg, user, trial_id, site, code, action=Permission.TRIAL_UNBLIND
        )
        ctx = {"page": page, "errors": _messages(exc)}
        return render(request, "trial_unblind.html", ctx, status_code=422)
    return render(request, "trial_unblinded.html", {"r": result})


@router.get("/trials/{trial_id}/analysis")
def analysis(
    request: Request,
    reg: Reg,
    user: User,
    trial_id: str,
    analysis_set: str = "itt",
    look: int = 1,
) -> Response:
    """Show the final analysis, an interim look, the CONSORT diagram, exports."""
    page = trial_page(reg, user, trial_id)
    result = interim = None
    errors: dict[str, str] = {}
    try:
        result = trial_analysis_for(reg, user, trial_id, analysis_set)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, LookupError):
            raise
        errors["analysis"] = str(exc)
    try:
        interim = trial_interim_for(reg, user, trial_id, look)
    except (TypeError, ValueError) as exc:
        errors["interim"] = str(exc)
    ctx = {
        "page": page,
        "result": result,
        "interim": interim,
        "errors": errors,
        "analysis_set": analysis_set,
        "look": look,
    }
    return render(request, "trial_analysis.html", ctx)


@router.get("/trials/{trial_id}/consort.{ext}")
def consort(
    request: Request, reg: Reg, user: User, trial_id: str, ext: str
) -> Response:
    """Serve the CONSORT flow diagram as PNG or SVG."""
    if ext not in ("png", "svg"):
        return Response(status_code=404)
    images = consort_images_for(reg, user, trial_id)
    if ext == "png":
        return Response(images.png, media_type="image/png")
    return Response(images.svg, media_type="image/svg+xml")


@router.get("/trials/{trial_id}/export/odm.xml")
def export_odm(request: Request, reg: Reg, user: User, trial_id: str) -> Response:
    """Download the blinded CDISC ODM 1.3.2 export (monitor, statistician)."""
    return _download(
        odm_for(reg, user, trial_id), "application/xml", f"{trial_id}-odm.xml"
    )


@router.get("/trials/{trial_id}/export/dataset.{fmt}")
def export_dataset(
    request: Request,
    reg: Reg,
    user: User,
    trial_id: str,
    fmt: str,
    table: str = "long",
    analysis_set: str = "itt",
) -> Response:
    """Download the analysis dataset (arms included) as CSV or Parquet."""
    if fmt not in _MEDIA:
        return Response(status_code=404)
    try:
        data = trial_dataset_for(
            reg, user, trial_id, fmt=fmt, table=table, analysis_set=analysis_set
        )
    except ImportError as exc:
        return Response(str(exc), status_code=501, media_type="text/plain")
    except ValueError as exc:
        if isinstance(exc, LookupError):
            raise
        return Response(str(exc), status_code=422, media_type="text/plain")
    name = f"{trial_id}-{analysis_set}-{table}.{fmt}"
    return _download(data, _MEDIA[fmt], name)
