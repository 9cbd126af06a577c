"""`plptms serve`: the clinic web application and its API on Uvicorn."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ._registry import DbOpt, _console, _fail

__all__ = ["prepare_demo", "serve_cmd"]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare_demo(folder: Path) -> tuple[str, Any]:
    """Create a fresh demonstration registry in ``folder`` and seed it.

    Parameters
    ----------
    folder : Path
        Where the SQLite file goes (recreated).

    Returns
    -------
    url : str
        The registry's URL.
    seed : plptms.workflow.DemoSeed
        The accounts and what was stored.
    """
    from ..registry import Registry
    from ..workflow import seed_demo

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "registry.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    with Registry(url) as reg:
        seed = seed_demo(reg)
    return url, seed


def serve_cmd(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Serve a fresh demonstration registry (fictional sites, users, "
            "patients, a trial) with a throwaway secret; loopback only.",
        ),
    ] = False,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Send the session cookie over plain HTTP (loopback only; behind a "
            "TLS proxy leave it off).",
        ),
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    db: DbOpt = None,
) -> None:
    """Serve the clinic web application and the /api/v1 JSON API.

    Production: set $PLPTMS_SECRET_KEY (>= 32 characters) and $PLPTMS_DB_URL
    (PostgreSQL), run several workers behind a TLS reverse proxy (see
    docs/web.md). Research software, not a certified medical device.
    """
    import secrets

    import uvicorn

    from ..utils import state_dir
    from ..web import WebSettings

    if (demo or insecure_cookies) and not _loopback(host):
        raise _fail(
            f"Invalid value for '--host': got {host!r}; allowed with --demo or "
            "--insecure-cookies: a loopback address (127.0.0.1, ::1, localhost)."
        )
    con = _console()
    if demo:
        if workers != 1:
            raise _fail(
                f"Invalid value for '--workers': got {workers}; allowed with "
                "--demo: 1 (the throwaway secret lives in one process)."
            )
        url, seed = prepare_demo(state_dir(create=True) / "demo-web")
        settings = WebSettings(
            db_url=url, secret_key=secrets.token_urlsafe(48), cookie_secure=False
        )
        con.rule("plptms demonstration (fictional data; not a medical device)")
        con.print(f"Registry: {escape(url)}")
        con.print(
            f"{seed.patients} patients at 3 sites; trial {seed.trial_id} with "
            f"{seed.enrolled} enrolled."
        )
        con.print(f"Sign in with any of these (password [bold]{seed.password}[/bold]):")
        for a in seed.accounts:
            con.print(f"  {a.username:<14} {a.role:<14} sites {', '.join(a.sites)}")
    else:
        try:
            settings = WebSettings.from_env(
                db_url=db, cookie_secure=not insecure_cookies
            )
        except ValueError as exc:
            raise _fail(str(exc)) from None
    con.print(f"Serving on [bold]http://{host}:{port}/[/bold] (Ctrl-C to stop).")
    if workers == 1:
        from ..web import clinic_app

        uvicorn.run(clinic_app(settings), host=host, port=port, log_level="info")
        return
    # several workers import the app by name: settings travel in the environment
    import os

    os.environ["PLPTMS_SECRET_KEY"] = settings.secret_key
    if settings.db_url is not None:
        os.environ["PLPTMS_DB_URL"] = settings.db_url
    os.environ["PLPTMS_COOKIE_SECURE"] = "0" if insecure_cookies else "1"
    uvicorn.run(
        "plptms.web._app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
