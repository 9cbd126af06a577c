"""The targeting sheet: a page, its PNG, and the JSON API of the targets.

Each route parses the tape measurements, calls one guarded use case of
:mod:`plptms.workflow._targeting` and renders the result. The page is a GET
form, so a sheet is bookmarkable; measurements that are missing, not numbers
or out of range are named on the page (field, value, allowed range), never a
server error. Targets reveal the protocol: every route needs
``treatment.read`` (never the blinded rater), and another site's patient is a
404 like a missing one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from ..access import Principal
from ..registry import RecordNotFoundError, Registry
from ..targeting import HeadMeasurements
from ..workflow import (
    PatientTargets,
    TargetingForm,
    targeting_for,
    targeting_form_for,
    targeting_sheet_png,
)
from ._api import Detail
from ._deps import api_principal, current_principal, registry
from ._pages import parse_number
from ._render import render

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["router"]

router = APIRouter()

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Caller = Annotated[Principal, Depends(api_principal)]

_HEAD = tuple(HeadMeasurements.RANGES_CM)
_QUERY = frozenset((*_HEAD, "protocol_id", "beam_variant"))
_NAMED = re.compile(r"^Invalid value for '(\w+)'")


class _Detail(Exception):
    """Refused input: a message per field (``""`` for the whole request)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _pydantic_messages(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        loc = e.get("loc", ())
        m = _NAMED.match(msg)
        name = str(loc[0]) if loc else (m.group(1) if m else "")
        out.setdefault(name, msg)
    return out


def _head(values: Mapping[str, float | None]) -> HeadMeasurements:
    """Return the measurements, or raise ``_Detail`` naming each refused one."""
    errors: dict[str, str] = {}
    for name in _HEAD:
        lo, hi = HeadMeasurements.RANGES_CM[name]
        if values.get(name) is None:
            errors[name] = (
                f"Missing value for {name!r}: allowed range is [{lo:g}, {hi:g}] cm."
            )
    if errors:
        raise _Detail(errors)
    try:
        return HeadMeasurements.model_validate(dict(values))
    except ValidationError as exc:
        raise _Detail(_pydantic_messages(exc)) from None


def _head_from_text(raw: Mapping[str, str]) -> HeadMeasurements:
    errors: dict[str, str] = {}
    values: dict[str, float | None] = {}
    for name in _HEAD:
        text = raw.get(name, "")
        try:
            number = parse_number(text)
        except ValueError:
            lo, hi = HeadMeasurements.RANGES_CM[name]
            errors[name] = (
                f"Invalid value for {name!r}: got {text.strip()!r}; allowed: a number "
                f"of cm in [{lo:g}, {hi:g}]."
            )
            continue
        values[name] = None if number is None else float(number)
    try:
        head = _head(values)
    except _Detail as exc:
        raise _Detail({**exc.errors, **errors}) from None
    if errors:
        raise _Detail(errors)
    return head


def _plan(
    reg: Registry,
    user: Principal,
    site: str,
    code: str,
    head: HeadMeasurements,
    protocol_id: str | None,
    beam_variant: str,
) -> PatientTargets:
    try:
        return targeting_for(
            reg,
            user,
            site,
            code,
            head,
            protocol_id=protocol_id or None,
            beam_variant=beam_variant,
        )
    except RecordNotFoundError:
        raise
    except ValueError as exc:
        m = _NAMED.match(str(exc))
        raise _Detail({m.group(1) if m else "": str(exc)}) from None


def _query(raw: Mapping[str, str]) -> str:
    keys = (*_HEAD, "protocol_id", "beam_variant")
    return urlencode([(k, raw[k]) for k in keys if raw.get(k)])


def _base(site: str, code: str) -> str:
    return f"/patients/{quote(site, safe='')}/{quote(code, safe='')}"


def _sheet_alt(result: PatientTargets) -> str:
    parts = [
        f"{p.target.value} ({', '.join(s.hemisphere.value for s in p.sites)} "
        "hemisphere)"
        for p in result.plans
    ]
    return (
        f"Targeting sheet for patient {result.code}: a top view of the head with "
        f"the planned sites {', '.join(parts)} and the 10-20 grid, followed by the "
        "tape distances and notes listed in the table above."
    )


@router.get("/patients/{site}/{code}/targeting", include_in_schema=False)
def targeting_page(
    request: Request, reg: Reg, user: User, site: str, code: str
) -> Response:
    """Show the targeting form; with measurements, the targets and the sheet."""
    form: TargetingForm = targeting_form_for(reg, user, site, code)
    raw = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    chosen = raw.get("protocol_id") or form.default_protocol or ""
    beam = raw.get("beam_variant") or "web"
    errors: dict[str, str] = {}
    result = None
    if any(k in raw for k in _HEAD):
        try:
            head = _head_from_text(raw)
            result = _plan(reg, user, site, code, head, chosen, beam)
        except _Detail as exc:
            errors = exc.errors
    query = _query({**raw, "protocol_id": chosen, "beam_variant": beam})
    ctx: dict[str, Any] = {
        "form": form,
        "raw": raw,
        "chosen": chosen,
        "beam": beam,
        "errors": errors,
        "result": result,
        "sheet_url": f"{_base(site, code)}/targeting.png?{query}",
        "sheet_alt": None if result is None else _sheet_alt(result),
    }
    return render(request, "targeting.html", ctx, status_code=422 if errors else 200)


@router.get("/patients/{site}/{code}/targeting.png", include_in_schema=False)
def targeting_png(
    request: Request, reg: Reg, user: User, site: str, code: str
) -> Response:
    """Send the targeting sheet as a PNG (``download=1``: as an attachment)."""
    form = targeting_form_for(reg, user, site, code)
    raw = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    try:
        head = _head_from_text(raw)
        result = _plan(
            reg,
            user,
            site,
            code,
            head,
            raw.get("protocol_id") or form.default_protocol,
            raw.get("beam_variant") or "web",
        )
    except _Detail as exc:
        return Response(
            "\n".join(exc.errors.values()), status_code=422, media_type="text/plain"
        )
    name = re.sub(r"[^A-Za-z0-9_-]", "_", f"targeting_{site}_{code}") + ".png"
    how = "attachment" if raw.get("download") == "1" else "inline"
    return Response(
        targeting_sheet_png(result),
        media_type="image/png",
        headers={"Content-Disposition": f'{how}; filename="{name}"'},
    )


_CM = Annotated[float | None, Query(allow_inf_nan=False)]


@router.get(
    "/api/v1/patients/{site}/{code}/targets",
    response_model=PatientTargets,
    tags=["clinic"],
    responses={
        401: {"model": Detail, "description": "Missing or invalid bearer token"},
        403: {"model": Detail, "description": "The role may not read treatment"},
        404: {"model": Detail, "description": "No such patient at the caller's sites"},
        422: {"model": Detail, "description": "A measurement or protocol refused"},
    },
)
def api_targets(
    reg: Reg,
    caller: Caller,
    site: str,
    code: str,
    nasion_inion_cm: _CM = None,
    tragus_tragus_cm: _CM = None,
    circumference_cm: _CM = None,
    protocol_id: Annotated[str | None, Query(max_length=80)] = None,
    beam_variant: Literal["web", "paper"] = "web",
) -> PatientTargets | JSONResponse:
    """Plan a patient's targets from three tape measurements, cm.

    The targets are those of ``protocol_id`` (assigned to the patient, or of
    the library), by default the protocol assigned to the patient last.
    """
    # the patient (and the role) first: another site's patient is a 404 even
    # without measurements
    targeting_form_for(reg, caller, site, code)
    try:
        head = _head(
            {
                "nasion_inion_cm": nasion_inion_cm,
                "tragus_tragus_cm": tragus_tragus_cm,
                "circumference_cm": circumference_cm,
            }
        )
        return _plan(reg, caller, site, code, head, protocol_id, beam_variant)
    except _Detail as exc:
        return JSONResponse(
            {
                "detail": [
                    {"loc": ["query", k] if k in _QUERY else [k or "query"], "msg": v}
                    for k, v in exc.errors.items()
                ]
            },
            status_code=422,
        )
