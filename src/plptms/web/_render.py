"""Jinja2 templates of the pages and what every page is given."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..access import Permission

if TYPE_CHECKING:
    from fastapi import Request
    from starlette.templating import Jinja2Templates, _TemplateResponse

__all__ = ["BANNER", "STATIC_DIR", "TEMPLATE_DIR", "render"]

#: Shown at the top of every page.
BANNER = "Research software, not a certified medical device"

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@cache
def _templates() -> Jinja2Templates:
    import jinja2
    from starlette.templating import Jinja2Templates

    # autoescape on for every template, whatever its name
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return Jinja2Templates(env=env)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> _TemplateResponse:
    """Render a page with the banner, the user and the session's CSRF token.

    Parameters
    ----------
    request : fastapi.Request
        The request.
    name : str
        Template file under ``templates/``.
    context : dict | None
        The page's own values.
    status_code : int
        HTTP status.

    Returns
    -------
    response : starlette.templating._TemplateResponse
        The HTML response.
    """
    from ._deps import session_of

    session = session_of(request)
    codec = request.app.state.codec
    principal = getattr(request.state, "principal", None)

    def may(permission: str) -> bool:
        """Whether the signed-in user's role holds ``permission`` (links only)."""
        return principal is not None and bool(principal.may(Permission(permission)))

    ctx: dict[str, Any] = {
        "banner": BANNER,
        "principal": principal,
        "may": may,
        "csrf_token": "" if session is None else codec.csrf_token(session),
        **(context or {}),
    }
    return _templates().TemplateResponse(request, name, ctx, status_code=status_code)
