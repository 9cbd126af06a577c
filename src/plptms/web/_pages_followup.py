"""The clinic follow-up calendar: page ``/followup`` and ``GET /api/v1/followup``.

Each route parses ``site`` and ``on``, calls one guarded use case
(:func:`plptms.workflow._clinic_followup.clinic_followup_for`, which checks the
role and the sites) and renders the calendar. ``on`` is parsed strictly
(``YYYY-MM-DD``, nothing else): anything else is a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from ..access import Principal
from ..registry import Registry
from ..workflow import ClinicFollowUp, clinic_followup_for
from ._app import API_PREFIX
from ._deps import api_principal, current_principal, registry
from ._render import render

__all__ = ["parse_on", "router"]

router = APIRouter()

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Caller = Annotated[Principal, Depends(api_principal)]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: How each state reads on the page (the words carry it, not a colour).
STATUS_TEXT: Final[dict[str, str]] = {
    "overdue": "Overdue",
    "due": "Due",
    "in_course": "In course",
    "upcoming": "Upcoming",
    "done": "Done",
    "trial": "Trial patient",
}


def parse_on(text: str | None) -> dt.date | None:
    """Parse the ``on`` query parameter strictly.

    Parameters
    ----------
    text : str | None
        ``YYYY-MM-DD``; empty or absent means each site's own date.

    Returns
    -------
    on : datetime.date | None
        The day.

    Raises
    ------
    fastapi.exceptions.RequestValidationError
        If the text is not a calendar date written ``YYYY-MM-DD`` (a 422 that
        names the field ``on``).
    """
    if text is None or text == "":
        return None
    day = None
    if _ISO_DATE.fullmatch(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
    if day is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", "on"),
                    "msg": f"Invalid value for 'on': got {text[:40]!r}; allowed: "
                    "a calendar date written YYYY-MM-DD.",
                    "type": "date_from_iso",
                }
            ]
        )
    return day


def _site(text: str | None) -> str | None:
    return None if text is None or text == "" else text


@router.get("/followup", include_in_schema=False)
def followup_page(
    request: Request,
    reg: Reg,
    user: User,
    site: str | None = None,
    on: str | None = None,
) -> Response:
    """Show the clinic's follow-up calendar, a table per site."""
    try:
        day = parse_on(on)
    except RequestValidationError as exc:
        return render(
            request,
            "error.html",
            {"title": "Invalid date", "message": exc.errors()[0]["msg"]},
            status_code=422,
        )
    calendar = clinic_followup_for(reg, user, site=_site(site), on=day)
    return render(
        request,
        "followup.html",
        {
            "calendar": calendar,
            "status_text": STATUS_TEXT,
            "site": site or "",
            "on": on or "",
            "sites": sorted(user.sites),
        },
    )


@router.get(
    f"{API_PREFIX}/followup",
    tags=["clinic"],
    response_model=ClinicFollowUp,
    responses={
        401: {"description": "Missing or invalid bearer token"},
        403: {"description": "The role does not allow this"},
        404: {"description": "No such site among the caller's sites"},
        422: {"description": "A parameter is invalid (the field is named)"},
    },
)
def api_followup(
    reg: Reg, caller: Caller, site: str | None = None, on: str | None = None
) -> ClinicFollowUp:
    """Return the follow-up calendar of the caller's sites (or one of them)."""
    return clinic_followup_for(reg, caller, site=_site(site), on=parse_on(on))
