"""Clinic pages: screening, protocol assignment with sign-off, session console.

Each route parses the form, calls one guarded use case of
:mod:`plptms.workflow._views_clinic` or :mod:`plptms.workflow._views_console`
and renders the result; a refusal (a missing answer, a refused protocol, a
failed pre-session check) is shown on the page itself, with nothing stored.

Live progress of a running session is sent as server-sent events
(``text/event-stream``) read by ``static/clinic_console.js`` with the
browser's ``EventSource`` (the page works without it: reload to update). A
session another web worker runs is followed through its heartbeat in the
registry, and its controls are relayed there (``plptms.workflow._console_hub``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ..access import Principal
from ..registry import Registry
from ..workflow import (
    ANSWERS,
    SessionConsole,
    assign_page,
    assign_protocol_for,
    authorise_restart_for,
    console_page,
    control_session_for,
    record_screening_for,
    resume_session_for,
    screening_form,
    session_status_for,
    start_session_for,
    verdict_view,
)
from ._deps import checked_form, current_principal, registry
from ._render import render

__all__ = ["EVENT_INTERVAL_S", "console_of", "router"]

router = APIRouter(include_in_schema=False)

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Form = Annotated[dict[str, str], Depends(checked_form)]

#: How often the event stream sends a running session's progress, s.
EVENT_INTERVAL_S = 0.25
_ANSWER = "answer_"


def console_of(request: Request) -> SessionConsole:
    """Return the application's session console (made on first use).

    Parameters
    ----------
    request : fastapi.Request
        The request.

    Returns
    -------
    console : plptms.workflow._views_console.SessionConsole
        One per application, kept in ``app.state.clinic_console``.
    """
    state = request.app.state
    console = getattr(state, "clinic_console", None)
    if not isinstance(console, SessionConsole):
        console = SessionConsole()
        state.clinic_console = console
    return console


Console = Annotated[SessionConsole, Depends(console_of)]


def _base(site: str, code: str) -> str:
    from urllib.parse import quote

    return f"/patients/{quote(site, safe='')}/{quote(code, safe='')}"


# ------------------------------------------------------------------ screening
@router.get("/patients/{site}/{code}/screening")
def screening(request: Request, reg: Reg, user: User, site: str, code: str) -> Response:
    """Show the screening form: every shipped item by id and short label."""
    form = screening_form(reg, user, site, code)
    ctx = {"form": form, "answers": {}, "errors": [], "result": None, "opts": ANSWERS}
    return render(request, "clinic_screening.html", ctx)


@router.post("/patients/{site}/{code}/screening")
def post_screening(
    request: Request, reg: Reg, user: User, form: Form, site: str, code: str
) -> Response:
    """Screen and store; show the verdict, or what is missing (nothing stored)."""
    sform = screening_form(reg, user, site, code)
    answers = {k[len(_ANSWER) :]: v for k, v in form.items() if k.startswith(_ANSWER)}
    errors: list[str] = []
    result = None
    try:
        result = record_screening_for(reg, user, site, code, answers)
    except ValueError as exc:
        errors.append(str(exc))
    if result is not None:
        sform = screening_form(reg, user, site, code)
    ctx = {
        "form": sform,
        "answers": answers if result is None else {},
        "errors": errors,
        "result": result,
        "opts": ANSWERS,
    }
    return render(request, "clinic_screening.html", ctx)


# ----------------------------------------------------------------- assignment
@router.get("/patients/{site}/{code}/assign")
def assign(
    request: Request, reg: Reg, user: User, site: str, code: str, protocol: str = ""
) -> Response:
    """Choose a library protocol and see its verdict at the patient's RMT."""
    errors: list[str] = []
    try:
        page = assign_page(reg, user, site, code, protocol or None)
    except ValueError as exc:
        errors.append(str(exc))
        page = assign_page(reg, user, site, code)
    ctx = {"page": page, "errors": errors, "assigned": None, "refused": None}
    return render(request, "clinic_assign.html", ctx)


@router.post("/patients/{site}/{code}/assign")
def post_assign(
    request: Request, reg: Reg, user: User, form: Form, site: str, code: str
) -> Response:
    """Assign, with the physician's sign-off when the verdict asks for review."""
    from ..workflow import AssignmentRefusedError

    protocol_id = form.get("protocol_id", "")
    errors: list[str] = []
    assigned = refused = None
    try:
        result = assign_protocol_for(
            reg,
            user,
            site,
            code,
            protocol_id,
            review_reason=form.get("review_reason") or None,
        )
        assigned = verdict_view(result.verdict)
    except AssignmentRefusedError as exc:
        refused = verdict_view(exc.verdict)
        errors.append(str(exc))
    except ValueError as exc:
        errors.append(str(exc))
    try:
        page = assign_page(
            reg, user, site, code, None if assigned is not None else protocol_id
        )
    except ValueError:
        page = assign_page(reg, user, site, code)
    ctx = {"page": page, "errors": errors, "assigned": assigned, "refused": refused}
    return render(request, "clinic_assign.html", ctx)


# -------------------------------------------------------------------- console
def _console_ctx(
    reg: Registry,
    user: Principal,
    site: str,
    code: str,
    console: SessionConsole,
    session: int | None,
    **extra: Any,
) -> dict[str, Any]:
    page = console_page(reg, user, site, code, console)
    current = None
    if session is None:
        live = [s for s in page.sessions if s.running]
        chosen = live[-1] if live else (page.sessions[-1] if page.sessions else None)
        session = None if chosen is None else chosen.id
    if session is not None and any(s.id == session for s in page.sessions):
        current = session_status_for(reg, user, site, code, session, console)
    ctx: dict[str, Any] = {
        "page": page,
        "current": current,
        "errors": [],
        "checks": [],
        "message": None,
    }
    ctx.update(extra)
    return ctx


def _int(text: str | None, field: str) -> int:
    raw = (text or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000_000:
        raise ValueError(
            f"Invalid value for '{field}': got {text!r}; allowed: a whole number "
            "from 1."
        )
    return int(raw)


@router.get("/patients/{site}/{code}/console")
def console_get(
    request: Request,
    reg: Reg,
    user: User,
    console: Console,
    site: str,
    code: str,
    session: int | None = None,
) -> Response:
    """Show the session console: checks, start, live progress, controls."""
    ctx = _console_ctx(reg, user, site, code, console, session)
    return render(request, "clinic_console.html", ctx)


@router.post("/patients/{site}/{code}/console/start")
def console_start(
    request: Request,
    reg: Reg,
    user: User,
    console: Console,
    form: Form,
    site: str,
    code: str,
) -> Response:
    """Run the pre-session checks; start on the simulator, or show the refusal."""
    from ..workflow import SessionRefusedError

    checks: list[Any] = []
    errors: list[str] = []
    try:
        number = _int(form.get("number"), "number")
        sid, checks = start_session_for(
            reg,
            user,
            site,
            code,
            form.get("protocol_id", ""),
            number,
            console,
            ae_reviewed=form.get("ae_reviewed") == "yes",
        )
    except SessionRefusedError as exc:
        checks = exc.checks
        errors.append(str(exc))
    except ValueError as exc:
        errors.append(str(exc))
    else:
        return RedirectResponse(
            f"{_base(site, code)}/console?session={sid}", status_code=303
        )
    ctx = _console_ctx(
        reg, user, site, code, console, None, errors=errors, checks=checks
    )
    return render(request, "clinic_console.html", ctx)


@router.post("/patients/{site}/{code}/console/control")
def console_control(
    request: Request,
    reg: Reg,
    user: User,
    console: Console,
    form: Form,
    site: str,
    code: str,
) -> Response:
    """Pause, resume, abort (reason) or emergency-stop the running session."""
    errors: list[str] = []
    sid = None
    try:
        sid = _int(form.get("session_id"), "session_id")
        control_session_for(
            reg,
            user,
            site,
            code,
            sid,
            form.get("action", ""),
            console,
            reason=form.get("reason", ""),
        )
    except ValueError as exc:
        errors.append(str(exc))
    else:
        return RedirectResponse(
            f"{_base(site, code)}/console?session={sid}", status_code=303
        )
    ctx = _console_ctx(reg, user, site, code, console, sid, errors=errors)
    return render(request, "clinic_console.html", ctx)


@router.post("/patients/{site}/{code}/console/restart")
def console_restart(
    request: Request,
    reg: Reg,
    user: User,
    console: Console,
    form: Form,
    site: str,
    code: str,
) -> Response:
    """Record a physician's reasoned restart of a stopped session."""
    errors: list[str] = []
    sid = None
    try:
        sid = _int(form.get("session_id"), "session_id")
        authorise_restart_for(reg, user, site, code, sid, reason=form.get("reason", ""))
    except ValueError as exc:
        errors.append(str(exc))
    else:
        return RedirectResponse(
            f"{_base(site, code)}/console?session={sid}", status_code=303
        )
    ctx = _console_ctx(reg, user, site, code, console, sid, errors=errors)
    return render(request, "clinic_console.html", ctx)


@router.post("/patients/{site}/{code}/console/resume")
def console_resume(
    request: Request,
    reg: Reg,
    user: User,
    console: Console,
    form: Form,
    site: str,
    code: str,
) -> Response:
    """Check again and resume a restart-approved or interrupted session."""
    from ..workflow import SessionRefusedError

    errors: list[str] = []
    checks: list[Any] = []
    sid = None
    try:
        sid = _int(form.get("session_id"), "session_id")
        checks = resume_session_for(
            reg,
            user,
            site,
            code,
            sid,
            console,
            ae_reviewed=form.get("ae_reviewed") == "yes",
        )
    except SessionRefusedError as exc:
        checks = exc.checks
        errors.append(str(exc))
    except ValueError as exc:
        errors.append(str(exc))
    else:
        return RedirectResponse(
            f"{_base(site, code)}/console?session={sid}", status_code=303
        )
    ctx = _console_ctx(
        reg, user, site, code, console, sid, errors=errors, checks=checks
    )
    return render(request, "clinic_console.html", ctx)


@router.get("/patients/{site}/{code}/console/events")
def console_events(
    reg: Reg,
    user: User,
    console: Console,
    site: str,
    code: str,
    session: int | None = None,
) -> Response:
    """Server-sent events: ``progress`` while the session runs, then ``end``."""
    # checked before the stream starts: a refusal is a plain 403/404
    first = None
    if session is None:
        console_page(reg, user, site, code, console)
    else:
        first = session_status_for(reg, user, site, code, session, console)

    async def events() -> AsyncIterator[str]:
        # async: the stream waits on the event loop, and each status read takes
        # a thread of the pool only while it reads (not for the whole session)
        status = first
        while status is not None and status.running:  # here or on another worker
            yield f"event: progress\ndata: {status.model_dump_json()}\n\n"
            await asyncio.sleep(EVENT_INTERVAL_S)
            status = await run_in_threadpool(
                session_status_for, reg, user, site, code, status.session_id, console
            )
        data = "{}" if status is None else status.model_dump_json()
        yield f"event: end\ndata: {data}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
