"""User account commands: add, list, sites, passwd, role, unlock, deactivate, token.

The command line works on the database directly, so whoever runs it can act as
any user: ``--by`` names the acting user (checked against the permission table
and audited as the actor), as ``--actor`` does elsewhere. Passwords are read
from a hidden prompt, or one line of standard input with ``--password-stdin``;
never from an option (it would land in the shell history).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ._registry import DbOpt, _console, _fail, open_registry

user_app = typer.Typer(
    help="User accounts: roles, sites, passwords, API tokens (the first account, "
    "an administrator, is created without --by).",
    no_args_is_help=True,
)
token_app = typer.Typer(
    help="API tokens (shown once, stored hashed).", no_args_is_help=True
)
user_app.add_typer(token_app, name="token")

UserArg = Annotated[str, typer.Argument(help="The username.")]
ByOpt = Annotated[
    str, typer.Option("--by", help="The acting user (an administrator here).")
]
SitesOpt = Annotated[
    list[str] | None, typer.Option("--site", help="A site code (repeatable).")
]
StdinOpt = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input."),
]


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _principal(reg: Any, username: str) -> Any:
    from ..workflow import principal_for

    return principal_for(reg, username)


def _user_line(u: Any) -> str:
    state = "active" if u.active else "DEACTIVATED"
    sites = ", ".join(sorted(u.sites)) or "no site"
    return f"{u.username} ({u.display_name}): {u.role.value}; {sites}; {state}"


@user_app.command("add")
def user_add(
    username: UserArg,
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    role: Annotated[str, typer.Option("--role", help="The user's role.")],
    site: SitesOpt = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="The administrator (omit for the first account)."),
    ] = None,
    password_stdin: StdinOpt = False,
    db: DbOpt = None,
) -> None:
    """Create a user account (the first one: an administrator, without --by)."""
    from ..access import AccessDeniedError
    from ..workflow import UserInput, create_user
    from ._adverse import _validated

    try:
        with open_registry(db) as reg:
            actor = None if by is None else _principal(reg, by)
            data = {
                "username": username,
                "display_name": name,
                "role": role,
                "sites": frozenset(site or ()),
                "password": _password(password_stdin),
            }
            user = create_user(reg, _validated(UserInput, data), by=actor)
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    _console().print(escape(f"Created {_user_line(user)}."))


@user_app.command("list")
def user_list(
    by: ByOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """List every account."""
    from ..access import AccessDeniedError
    from ..workflow import list_users

    try:
        with open_registry(db, create=False) as reg:
            users = list_users(reg, by=_principal(reg, by))
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _console().print_json(json.dumps([u.model_dump(mode="json") for u in users]))
        return
    table = Table("username", "name", "role", "sites", "active")
    for u in users:
        table.add_row(
            escape(u.username),
            escape(u.display_name),
            u.role.value,
            escape(", ".join(sorted(u.sites))),
            "yes" if u.active else "no",
        )
    _console().print(table)


@user_app.command("sites")
def user_sites(
    username: UserArg, by: ByOpt, site: SitesOpt = None, db: DbOpt = None
) -> None:
    """Assign exactly the given sites to a user (none: withdraw all)."""
    from ..access import AccessDeniedError
    from ..workflow import set_user_sites

    try:
        with open_registry(db, create=False) as reg:
            user = set_user_sites(
                reg, username, frozenset(site or ()), by=_principal(reg, by)
            )
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    _console().print(escape(f"Updated {_user_line(user)}."))


@user_app.command("passwd")
def user_passwd(
    username: UserArg,
    by: Annotated[
        str | None,
        typer.Option("--by", help="The acting user (default: the user themselves)."),
    ] = None,
    password_stdin: StdinOpt = False,
    db: DbOpt = None,
) -> None:
    """Set a user's password (one's own, or any as an administrator)."""
    from ..access import AccessDeniedError
    from ..workflow import set_password

    try:
        with open_registry(db, create=False) as reg:
            actor = _principal(reg, by or username)
            set_password(reg, username, _password(password_stdin), by=actor)
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    _console().print(escape(f"Password of {username} set."))


@user_app.command("role")
def user_role(
    username: UserArg,
    role: Annotated[str, typer.Argument(help="The new role.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")],
    by: ByOpt,
    db: DbOpt = None,
) -> None:
    """Change a user's role (audited); their web sessions end."""
    from ..access import AccessDeniedError
    from ..workflow import change_role

    try:
        with open_registry(db, create=False) as reg:
            user = change_role(reg, _principal(reg, by), username, role, reason)
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    _console().print(escape(f"Updated {_user_line(user)}."))


@user_app.command("unlock")
def user_unlock(username: UserArg, by: ByOpt, db: DbOpt = None) -> None:
    """Clear a username's failed sign-ins and lockout (audited)."""
    from ..access import AccessDeniedError
    from ..workflow import unlock

    try:
        with open_registry(db, create=False) as reg:
            cleared = unlock(reg, _principal(reg, by), username)
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    what = "unlocked" if cleared else "had no failed sign-in to clear"
    _console().print(escape(f"Sign-in of {username} {what}."))


@user_app.command("deactivate")
def user_deactivate(username: UserArg, by: ByOpt, db: DbOpt = None) -> None:
    """Deactivate an account: no sign-in, none of its tokens works."""
    from ..access import AccessDeniedError
    from ..workflow import deactivate_user

    try:
        with open_registry(db, create=False) as reg:
            user = deactivate_user(reg, username, by=_principal(reg, by))
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    _console().print(escape(f"Deactivated {_user_line(user)}."))


@token_app.command("issue")
def token_issue(
    user: Annotated[str, typer.Option("--user", help="Whose token (themselves).")],
    label: Annotated[str, typer.Option("--label", help="What it is for.")],
    ttl_days: Annotated[
        int, typer.Option("--ttl-days", help="Lifetime, days (1-365).")
    ] = 90,
    db: DbOpt = None,
) -> None:
    """Issue an API token; its plaintext is printed once, on its own line."""
    from ..workflow import issue_api_token

    try:
        with open_registry(db, create=False) as reg:
            token = issue_api_token(
                reg, _principal(reg, user), label=label, ttl_days=ttl_days
            )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(token)
    typer.echo("Store it now: plptms keeps only its SHA-256.", err=True)


@token_app.command("list")
def token_list(
    user: Annotated[str, typer.Option("--user", help="Whose tokens.")],
    by: Annotated[
        str | None,
        typer.Option("--by", help="The acting user (default: --user)."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """List a user's tokens (ids, labels, expiry, revocation; never a secret)."""
    from ..access import AccessDeniedError
    from ..workflow import list_api_tokens

    try:
        with open_registry(db, create=False) as reg:
            tokens = list_api_tokens(reg, _principal(reg, by or user), user)
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    table = Table("id", "label", "created", "expires", "revoked")
    for t in tokens:
        table.add_row(
            str(t.id),
            escape(t.label),
            t.created_at.isoformat(timespec="seconds"),
            t.expires_at.isoformat(timespec="seconds"),
            "" if t.revoked_at is None else t.revoked_at.isoformat(timespec="seconds"),
        )
    _console().print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (token list).")],
    by: Annotated[str, typer.Option("--by", help="Its user, or an administrator.")],
    db: DbOpt = None,
) -> None:
    """Revoke an API token: it stops working at once."""
    from ..access import AccessDeniedError
    from ..workflow import revoke_api_token

    try:
        with open_registry(db, create=False) as reg:
            revoke_api_token(reg, _principal(reg, by), token_id)
    except (ValueError, AccessDeniedError) as exc:
        raise _fail(str(exc)) from None
    _console().print(f"Revoked token {token_id}.")
