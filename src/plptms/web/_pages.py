"""Server-rendered pages (Jinja2, htmx): each parses, calls one view, renders.

No permission or site rule lives here: every read and write goes through
:mod:`plptms.workflow._views`, which checks the signed-in user.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ..access import Permission, Principal
from ..registry import RecordNotFoundError, Registry, VisitIn, VisitKind
from ..workflow import (
    AssessmentEntry,
    check_items,
    entry_patient,
    list_patients_for,
    patient_page,
    record_assessment_for,
    scale_form,
    scale_forms,
    trajectory_svg,
)
from ._deps import (
    checked_form,
    current_principal,
    now_of,
    registry,
    session_of,
)
from ._render import render

__all__ = ["parse_number", "router"]

router = APIRouter(include_in_schema=False)

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Form = Annotated[dict[str, str], Depends(checked_form)]

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ITEM = "item_"
_SIGN_IN_FAILED = "Sign-in failed: unknown user or wrong password."


def parse_number(text: str) -> int | float | None:
    """Parse a form field into a number; empty is missing.

    Parameters
    ----------
    text : str
        The field as typed.

    Returns
    -------
    value : int | float | None
        An ``int`` for whole-number text, a finite ``float`` for decimal text
        (a comma is read as the decimal mark), ``None`` when empty.

    Raises
    ------
    ValueError
        If the text is not a finite number (``nan``, ``inf`` and words are
        refused).
    """
    t = text.strip().replace(",", ".")
    if not t:
        return None
    if _INT.match(t):
        return int(t)
    if _FLOAT.match(t):
        value = float(t)
        if math.isfinite(value):
            return value
    raise ValueError(t)


@router.get("/")
def home(request: Request, user: User) -> Response:
    """Home: who is signed in and where to go."""
    return render(
        request,
        "home.html",
        {"may_read_patients": user.may(Permission.PATIENT_READ)},
    )


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    """Show the sign-in form (a pre-sign-in session carries its CSRF token)."""
    session = session_of(request)
    if session is None:
        session = request.app.state.codec.new(None, request.app.state.clock())
        request.state.session = session
        request.state.session_out = session
    return render(request, "sign_in.html", {"error": None})


@router.post("/sign-in")
def sign_in(request: Request, reg: Reg, form: Form) -> Response:
    """Check the password; on success start a new session (new id)."""
    from ._app import set_session_cookie

    username = form.get("username", "").strip()
    password = form.get("password", "")
    try:
        principal = request.app.state.authenticate(reg, username, password)
    except (ValueError, LookupError, PermissionError) as exc:
        from ..workflow import LoginRefusedError

        # the accounts' own refusals are worded to reveal nothing (an unknown
        # user locks like a known one); say so when the name is locked
        locked = isinstance(exc, LoginRefusedError) and "locked until" in str(exc)
        error = str(exc) if locked else _SIGN_IN_FAILED
        return render(request, "sign_in.html", {"error": error}, status_code=401)
    from ..workflow import start_web_session

    # never reuse the pre-sign-in session id (session fixation)
    session = request.app.state.codec.new(principal.username, request.app.state.clock())
    start_web_session(
        reg,
        principal.username,
        session.sid,
        now=now_of(request),
        max_age_s=request.app.state.codec.max_age_s,
    )
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, session)
    return response


@router.post("/sign-out")
def sign_out(request: Request, reg: Reg, form: Form) -> Response:
    """End the session (server-side too: a copy of its cookie is refused)."""
    from ..workflow import end_web_session
    from ._app import set_session_cookie

    session = session_of(request)
    if session is not None and session.username is not None:
        end_web_session(reg, session.sid, now=now_of(request))
    response = RedirectResponse("/sign-in", status_code=303)
    set_session_cookie(request, response, None)
    return response


@router.get("/patients")
def patients(
    request: Request,
    reg: Reg,
    user: User,
    q: str = "",
    site: str = "",
) -> Response:
    """List the patients of the user's sites, with live search (htmx)."""
    rows = list_patients_for(reg, user, site=site or None, query=q or None)
    ctx = {"patients": rows, "q": q, "site": site, "sites": sorted(user.sites)}
    if request.headers.get("HX-Request") == "true":
        return render(request, "_patient_rows.html", ctx)
    return render(request, "patients.html", ctx)


@router.get("/patients/{site}/{code}")
def patient(request: Request, reg: Reg, user: User, site: str, code: str) -> Response:
    """Show the patient page (sections by role)."""
    page = patient_page(reg, user, site, code)
    return render(request, "patient.html", {"page": page})


@router.get("/patients/{site}/{code}/report")
def report(
    request: Request,
    reg: Reg,
    user: User,
    site: str,
    code: str,
    kind: str = "clinician",
    format: str = "pdf",  # noqa: A002  (the query parameter's name)
) -> Response:
    """Download the clinician or patient report (PDF, or HTML with format=html).

    When the registry cannot give a report yet (e.g. no PLP history), a page
    says what is missing.
    """
    from ..workflow import ReportUnavailableError, report_for

    try:
        doc = report_for(reg, user, site, code, kind=kind, fmt=format)  # type: ignore[arg-type]
    except ReportUnavailableError as exc:
        return render(
            request,
            "error.html",
            {"title": "No report yet", "message": f"{exc} Record it, then try again."},
        )
    except RecordNotFoundError:
        raise  # the app's one 404 for a missing patient and another site's
    except ValueError as exc:
        return render(
            request,
            "error.html",
            {"title": "Bad request", "message": str(exc)},
            status_code=422,
        )
    return Response(
        doc.content,
        media_type=doc.media_type,
        headers={"Content-Disposition": f'attachment; filename="{doc.filename}"'},
    )


@router.get("/patients/{site}/{code}/trajectory.svg")
def trajectory(
    request: Request, reg: Reg, user: User, site: str, code: str
) -> Response:
    """Serve the pain trajectory as SVG (404 when nothing to plot)."""
    svg = trajectory_svg(reg, user, site, code)
    if svg is None:
        return Response(status_code=404)
    return Response(svg, media_type="image/svg+xml")


@router.get("/patients/{site}/{code}/assessments/new")
def new_assessment(
    request: Request, reg: Reg, user: User, site: str, code: str, scale: str = ""
) -> Response:
    """Choose a scale, then its entry form (item ids and ranges only)."""
    patient = entry_patient(reg, user, site, code)
    if not scale:
        return render(
            request, "scale_choice.html", {"patient": patient, "scales": scale_forms()}
        )
    try:
        form = scale_form(scale)
    except ValueError:
        return Response(status_code=404)
    return render(request, "assessment_form.html", _form_ctx(patient, form))


def _form_ctx(patient: Any, form: Any, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "patient": patient,
        "form": form,
        "visit_kinds": [k.value for k in VisitKind],
        "values": {},
        "item_errors": {},
        "errors": [],
        "visit_date": dt.date.today().isoformat(),
        "visit_kind": VisitKind.BASELINE.value,
    }
    ctx.update(extra)
    return ctx


@router.post("/patients/{site}/{code}/assessments")
def post_assessment(
    request: Request, reg: Reg, user: User, form: Form, site: str, code: str
) -> Response:
    """Score and store an assessment; show every bad item next to the form."""
    patient = entry_patient(reg, user, site, code)
    try:
        sform = scale_form(form.get("scale_id", ""))
    except ValueError:
        return Response(status_code=404)
    values = {k[len(_ITEM) :]: v for k, v in form.items() if k.startswith(_ITEM)}
    items: dict[str, int | float | None] = {}
    item_errors: dict[str, str] = {}
    for item in sform.items:
        raw = values.get(item.id, "")
        try:
            items[item.id] = parse_number(raw)
        except ValueError:
            unit = f" {item.unit}" if item.unit else ""
            kind = "a whole number" if item.integer else "a number"
            item_errors[item.id] = (
                f"Invalid value for '{sform.id}.item_{item.id}': got {raw!r}; "
                f"allowed: {kind} in [{item.min:g}, {item.max:g}]{unit}."
            )
    checked = {k: v for k, v in items.items() if k not in item_errors}
    item_errors.update(check_items(sform.id, dict(checked)))
    errors, visit = _visit(form)
    stored = None
    if not item_errors and visit is not None:
        try:
            stored = record_assessment_for(
                reg,
                user,
                site,
                code,
                AssessmentEntry(scale_id=sform.id, visit=visit, items=items),
            )
        except (TypeError, ValueError) as exc:
            errors.append(str(exc))
    if stored is None:
        ctx = _form_ctx(
            patient,
            sform,
            values=values,
            item_errors=item_errors,
            errors=errors,
            visit_date=form.get("visit_date", ""),
            visit_kind=form.get("visit_kind", ""),
        )
        return render(request, "assessment_form.html", ctx, status_code=422)
    return RedirectResponse(f"/patients/{site}/{code}#assessments", status_code=303)


def _visit(form: dict[str, str]) -> tuple[list[str], VisitIn | None]:
    """Parse the visit fields; every message names its field."""
    errors: list[str] = []
    date_text = form.get("visit_date", "")
    kind_text = form.get("visit_kind", "")
    date: dt.date | None = None
    kind: VisitKind | None = None
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError:
        errors.append(
            f"Invalid value for 'visit_date': got {date_text!r}; allowed: a date "
            "as YYYY-MM-DD."
        )
    try:
        kind = VisitKind(kind_text)
    except ValueError:
        errors.append(
            f"Invalid value for 'visit_kind': got {kind_text!r}; allowed values "
            f"are {', '.join(k.value for k in VisitKind)}."
        )
    if date is None or kind is None:
        return errors, None
    try:
        return errors, VisitIn(visit_date=date, kind=kind)
    except ValidationError as exc:
        errors.extend(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return errors, None
