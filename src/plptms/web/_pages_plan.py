"""The treatment plan of a patient: page ``/patients/{site}/{code}/plan`` and its API.

Each route parses ``start`` (strictly ``YYYY-MM-DD``), calls one guarded use
case (:func:`plptms.workflow._views_plan.treatment_plan_for`, which checks the
role and the patient's site) and renders the plan. The plan reveals the
protocol: every route needs ``treatment.read`` (never the blinded rater), and
another site's patient is a 404 like a missing one. A patient without an
assigned protocol gets a page that says so, not an error.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from ..access import Principal
from ..registry import Registry
from ..workflow import PlanView, StartDateError, treatment_plan_for
from ._api import Detail, _utc
from ._app import API_PREFIX
from ._deps import api_principal, current_principal, registry
from ._render import render

__all__ = ["VERDICT_TEXT", "parse_start", "router"]

router = APIRouter()

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Caller = Annotated[Principal, Depends(api_principal)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: What each safety decision means for the plan (the words carry it, not a colour).
VERDICT_TEXT: Final[dict[str, str]] = {
    "accepted": "Accepted: the protocol may be delivered as planned.",
    "review": "Needs a physician's review before delivery.",
    "refused": "Refused: the safety engine refuses this protocol; no plan is made.",
    "incomplete": "Incomplete: some rules could not be checked.",
}


def parse_start(text: str | None) -> dt.date | None:
    """Parse the ``start`` query parameter strictly.

    Parameters
    ----------
    text : str | None
        ``YYYY-MM-DD``; empty or absent means the date of the assignment.

    Returns
    -------
    start : datetime.date | None
        The first possible treatment day.

    Raises
    ------
    StartDateError
        If the text is not a calendar date written ``YYYY-MM-DD`` (the message
        names the field ``start``).
    """
    if text is None or text == "":
        return None
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise StartDateError(
        f"Invalid value for 'start': got {text[:40]!r}; allowed: a calendar date "
        "written YYYY-MM-DD."
    )


def _bad_start(request: Request, exc: StartDateError) -> Response:
    return render(
        request,
        "error.html",
        {"title": "Invalid date", "message": str(exc)},
        status_code=422,
    )


@router.get("/patients/{site}/{code}/plan", include_in_schema=False)
def plan_page(
    request: Request,
    reg: Reg,
    user: User,
    site: str,
    code: str,
    start: str | None = None,
) -> Response:
    """Show the treatment plan of the patient's assigned protocol."""
    try:
        day = parse_start(start)
    except StartDateError as exc:
        treatment_plan_for(reg, user, site, code)  # role and site first
        return _bad_start(request, exc)
    try:
        view = treatment_plan_for(reg, user, site, code, start=day)
    except StartDateError as exc:
        return _bad_start(request, exc)
    return render(
        request,
        "plan.html",
        {"view": view, "verdict_text": VERDICT_TEXT, "start": start or ""},
    )


@router.get(
    f"{API_PREFIX}/patients/{{site}}/{{code}}/plan",
    response_model=PlanView,
    tags=["clinic"],
    responses={
        401: {"model": Detail, "description": "Missing or invalid bearer token"},
        403: {"model": Detail, "description": "The role may not read treatment"},
        404: {"model": Detail, "description": "No such patient at the caller's sites"},
        422: {"model": Detail, "description": "The start date refused"},
    },
)
def api_plan(
    reg: Reg, caller: Caller, site: str, code: str, start: dt.date | None = None
) -> PlanView | JSONResponse:
    """Return the treatment plan of the patient's latest assigned protocol.

    Blocks with the intensity in % RMT (and % MSO when the RMT is known), how
    to localise each target, the session calendar from ``start`` (default: the
    date of the assignment), follow-up visits, the maintenance note, the
    safety verdict and the warnings. Without an assigned protocol, ``plan`` is
    null and ``problem`` says so. ``start`` outside [2000-01-01, 2100-12-31]
    is refused (422).
    """
    try:
        return _utc(treatment_plan_for(reg, caller, site, code, start=start))
    except StartDateError as exc:
        return JSONResponse(
            {"detail": [{"loc": ["query", "start"], "msg": str(exc)}]},
            status_code=422,
        )
