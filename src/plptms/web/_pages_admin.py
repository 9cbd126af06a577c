"""Administration pages: users, roles, unlocks, API tokens, the audit trail.

Each route parses its form, calls one guarded function of
:mod:`plptms.workflow._views_admin` or :mod:`plptms.workflow._accounts_admin`
(``user.manage`` or ``audit.verify``, checked there) and renders the result; a
refusal is shown on the page. ``/account/password`` is every signed-in user's
own password change (the current password first).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ..access import Principal, Role
from ..registry import Registry
from ..workflow import (
    change_own_password,
    change_role,
    create_user_for,
    deactivate_user_for,
    issue_own_token,
    list_users_for,
    unlock,
    verify_audit_for,
)
from ._deps import checked_form, current_principal, now_of, registry, session_of
from ._render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Reg = Annotated[Registry, Depends(registry)]
User = Annotated[Principal, Depends(current_principal)]
Form = Annotated[dict[str, str], Depends(checked_form)]


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()]
    return [str(exc)]


def _users_page(
    request: Request,
    reg: Registry,
    user: Principal,
    *,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    users = list_users_for(reg, user)
    ctx: dict[str, Any] = {
        "users": users,
        "roles": [r.value for r in Role],
        "errors": errors or [],
        "values": values or {},
        "notice": notice,
    }
    return render(request, "admin_users.html", ctx, status_code=status_code)


@router.get("/admin/users")
def users(request: Request, reg: Reg, user: User) -> Response:
    """List the accounts, with the form to create one."""
    return _users_page(request, reg, user)


@router.post("/admin/users")
def create(request: Request, reg: Reg, user: User, form: Form) -> Response:
    """Create an account; every refused field is shown next to the form."""
    values = {k: form.get(k, "") for k in ("username", "display_name", "role", "sites")}
    sites = frozenset(s.strip() for s in values["sites"].split(",") if s.strip())
    try:
        role = Role(values["role"])
    except ValueError:
        msg = (
            f"Invalid value for 'role': got {values['role']!r}; allowed values are "
            f"{', '.join(r.value for r in Role)}."
        )
        return _users_page(
            request, reg, user, errors=[msg], values=values, status_code=422
        )
    try:
        create_user_for(
            reg,
            user,
            username=values["username"].strip(),
            display_name=values["display_name"].strip(),
            role=role,
            sites=sites,
            password=form.get("password", ""),
        )
    except (TypeError, ValueError) as exc:
        return _users_page(
            request, reg, user, errors=_messages(exc), values=values, status_code=422
        )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/deactivate")
def deactivate(
    request: Request, reg: Reg, user: User, form: Form, username: str
) -> Response:
    """Deactivate an account (its sessions end, its tokens stop working)."""
    try:
        deactivate_user_for(reg, user, username)
    except (TypeError, ValueError) as exc:
        return _users_page(request, reg, user, errors=_messages(exc), status_code=422)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/role")
def role(request: Request, reg: Reg, user: User, form: Form, username: str) -> Response:
    """Change a user's role (reason audited); that user's sessions end."""
    try:
        changed = change_role(
            reg, user, username, form.get("role", ""), form.get("reason", "")
        )
    except (TypeError, ValueError) as exc:
        return _users_page(request, reg, user, errors=_messages(exc), status_code=422)
    if username == user.username:  # one's own sessions ended with it
        return RedirectResponse("/sign-in", status_code=303)
    notice = (
        f"{changed.username} is now {changed.role.value}; their sessions ended "
        "(they sign in again)."
    )
    return _users_page(request, reg, user, notice=notice)


@router.post("/admin/users/{username}/unlock")
def unlock_user(
    request: Request, reg: Reg, user: User, form: Form, username: str
) -> Response:
    """Clear a username's failed sign-ins and lockout."""
    try:
        cleared = unlock(reg, user, username, now=now_of(request))
    except (TypeError, ValueError) as exc:
        return _users_page(request, reg, user, errors=_messages(exc), status_code=422)
    notice = (
        f"Sign-in of {username} unlocked: its failed attempts are cleared."
        if cleared
        else f"Sign-in of {username} had no failed attempt to clear."
    )
    return _users_page(request, reg, user, notice=notice)


@router.get("/account/password")
def password_form(request: Request, user: User) -> Response:
    """Show the own-password form (current password, new one twice)."""
    return render(request, "account_password.html", {"errors": [], "notice": None})


@router.post("/account/password")
def password(request: Request, reg: Reg, user: User, form: Form) -> Response:
    """Change one's own password; a wrong current one counts as a failed sign-in."""
    new = form.get("new_password", "")
    if new != form.get("new_password_again", ""):
        msg = (
            "Invalid value for 'new_password_again': not shown; allowed: the same "
            "new password twice."
        )
        return render(
            request,
            "account_password.html",
            {"errors": [msg], "notice": None},
            status_code=422,
        )
    session = session_of(request)
    try:
        ended = change_own_password(
            reg,
            user,
            form.get("current_password", ""),
            new,
            keep_sid=None if session is None else session.sid,
            now=now_of(request),
        )
    except (TypeError, ValueError) as exc:
        return render(
            request,
            "account_password.html",
            {"errors": _messages(exc), "notice": None},
            status_code=422,
        )
    notice = (
        f"Your password is changed; {ended} other session(s) of yours ended "
        "(this one stays signed in)."
    )
    return render(request, "account_password.html", {"errors": [], "notice": notice})


@router.get("/account/token")
def token_form(request: Request, user: User) -> Response:
    """Show the form that issues an API token for the signed-in user."""
    return render(request, "account_token.html", {"errors": []})


@router.post("/account/token")
def token(request: Request, reg: Reg, user: User, form: Form) -> Response:
    """Issue an API token for the signed-in user; show its plaintext this once."""
    label = form.get("label", "").strip()
    days_text = form.get("ttl_days", "90").strip()
    try:
        ttl_days = int(days_text)
    except ValueError:
        msg = (
            f"Invalid value for 'ttl_days': got {days_text!r}; allowed: a whole "
            "number of days."
        )
        return render(request, "account_token.html", {"errors": [msg]}, status_code=422)
    try:
        plaintext = issue_own_token(reg, user, label=label, ttl_days=ttl_days)
    except (TypeError, ValueError) as exc:
        return render(
            request,
            "account_token.html",
            {"errors": _messages(exc)},
            status_code=422,
        )
    return render(
        request,
        "token_issued.html",
        {"label": label, "token": plaintext, "days": ttl_days},
    )


@router.get("/admin/audit")
def audit(request: Request, reg: Reg, user: User) -> Response:
    """Verify the audit trail end to end and show the result."""
    report = verify_audit_for(reg, user)
    return render(request, "admin_audit.html", {"report": report})
