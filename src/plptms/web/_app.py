"""The application factory: pages, API, sessions, security headers, errors."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._version import __version__
from ..access import AccessDeniedError
from ..registry import RecordNotFoundError
from ..registry.db._engine import RegistryUnavailableError
from ._deps import (
    Authenticate,
    CSRFError,
    PrincipalFor,
    PrincipalFromToken,
    SignInRequiredError,
    TokenRefusedError,
)
from ._render import STATIC_DIR, render
from ._sessions import SESSION_COOKIE, SessionData

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from ._settings import WebSettings

__all__ = ["API_PREFIX", "clinic_app", "create_app"]

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

#: Sent with every response: no third-party origin, no framing, no sniffing.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX + "/") or (
        request.url.path == API_PREFIX
    )


def create_app(
    settings: WebSettings,
    *,
    authenticate: Authenticate,
    principal_for: PrincipalFor,
    principal_from_token: PrincipalFromToken,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the web application and its JSON API.

    Parameters
    ----------
    settings : WebSettings
        Database URL, secret key, cookie and session settings.
    authenticate : callable
        ``authenticate(registry, username, password) -> Principal``; raises
        ``ValueError`` (``LoginRefusedError``) on a failed sign-in.
    principal_for : callable
        ``principal_for(registry, username) -> Principal``: the user as the
        accounts say now, called on every request; raises ``ValueError`` for a
        user who may no longer sign in (the session ends at once).
    principal_from_token : callable
        ``principal_from_token(registry, token) -> Principal`` for the API's
        bearer tokens; raises ``ValueError`` on a bad token.
    clock : callable
        Current time, s since the epoch (sessions' ages; tests move it).

    Returns
    -------
    app : fastapi.FastAPI
        The application. The registry is opened when it starts (lifespan) and
        closed when it stops; the OpenAPI schema is at ``/api/v1/openapi.json``.
    """
    from ._api import router as api_router
    from ._api_admin import router as api_admin_router
    from ._api_trial import router as api_trial_router
    from ._pages import router as page_router
    from ._pages_admin import router as admin_page_router
    from ._pages_clinic import router as clinic_page_router
    from ._pages_followup import router as followup_router
    from ._pages_plan import router as plan_router
    from ._pages_targeting import router as targeting_router
    from ._pages_trial import router as trial_router
    from ._sessions import SessionCodec

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from ..registry import Registry

        reg = Registry(settings.db_url)
        app.state.registry = reg
        try:
            yield
        finally:
            reg.close()

    app = FastAPI(
        title="plptms",
        version=__version__,
        description=(
            "plptms clinical API (research software, not a certified medical "
            "device). Bearer-token authentication; the user's role and sites "
            "decide what each endpoint returns."
        ),
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the stock docs pages load scripts from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.codec = SessionCodec(
        settings.secret_key,
        max_age_s=settings.session_max_age_s,
        idle_timeout_s=settings.idle_timeout_s,
    )
    app.state.authenticate = authenticate
    app.state.principal_for = principal_for
    app.state.principal_from_token = principal_from_token
    app.state.clock = clock
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(page_router)
    app.include_router(clinic_page_router)
    app.include_router(admin_page_router)
    app.include_router(trial_router)
    app.include_router(targeting_router)
    app.include_router(followup_router)
    app.include_router(plan_router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(api_admin_router, prefix=API_PREFIX)
    app.include_router(api_trial_router, prefix=API_PREFIX)
    _add_handlers(app)
    _add_middleware(app, settings)
    return app


def set_session_cookie(
    request: Request, response: Response, session: SessionData | None
) -> None:
    """Write (or, for ``None``, delete) the session cookie on a response.

    Parameters
    ----------
    request : fastapi.Request
        The request (for the app's settings and codec).
    response : fastapi.Response
        The response.
    session : SessionData | None
        The session to send, or ``None`` to delete the cookie.
    """
    settings: WebSettings = request.app.state.settings
    if session is None:
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            secure=settings.cookie_secure,
            httponly=True,
            samesite="lax",
        )
        return
    response.set_cookie(
        SESSION_COOKIE,
        request.app.state.codec.dumps(session),
        max_age=settings.session_max_age_s,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _add_middleware(app: FastAPI, settings: WebSettings) -> None:
    @app.middleware("http")
    async def session_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if not _is_api(request) and "set-cookie" not in response.headers:
            # refresh the idle clock of a valid session; end a refused one
            if hasattr(request.state, "session_out"):
                set_session_cookie(request, response, request.state.session_out)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if settings.cookie_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequiredError)
    async def _sign_in(request: Request, exc: SignInRequiredError) -> Response:
        response: Response
        if _is_api(request):  # pragma: no cover - the API never uses sessions
            response = JSONResponse({"detail": "Not signed in."}, status_code=401)
        elif request.headers.get("HX-Request") == "true":
            response = Response(status_code=204, headers={"HX-Redirect": "/sign-in"})
        else:
            response = RedirectResponse("/sign-in", status_code=303)
        if exc.clear:
            set_session_cookie(request, response, None)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # loc, msg and type only: the input itself may be NaN (not JSON) and
        # is not echoed back
        detail = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": e.get("type", ""),
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(TokenRefusedError)
    async def _token(request: Request, exc: TokenRefusedError) -> Response:
        return JSONResponse(
            {"detail": "Invalid value for 'Authorization': a valid bearer token."},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(CSRFError)
    async def _csrf(request: Request, exc: CSRFError) -> Response:
        logger.warning("CSRF check failed on %s %s", request.method, request.url.path)
        return render(
            request,
            "error.html",
            {
                "title": "Request refused",
                "message": "This form has expired or did not come from this "
                "application. Reload the page and try again.",
            },
            status_code=403,
        )

    @app.exception_handler(AccessDeniedError)
    async def _denied(request: Request, exc: AccessDeniedError) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "Your role does not allow this action."}, status_code=403
            )
        return render(
            request,
            "error.html",
            {
                "title": "Not allowed",
                "message": "Your role does not allow this page.",
            },
            status_code=403,
        )

    @app.exception_handler(RecordNotFoundError)
    async def _not_found(request: Request, exc: RecordNotFoundError) -> Response:
        return _page_not_found(request)

    @app.exception_handler(RegistryUnavailableError)
    async def _unavailable(request: Request, exc: RegistryUnavailableError) -> Response:
        # the registry's server cannot be reached: say so (503), never a 500
        logger.error("Registry unavailable on %s %s: %s", request.method,
                     request.url.path, exc)  # fmt: skip
        headers = {"Retry-After": "30"}
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=503, headers=headers)
        response = render(
            request,
            "error.html",
            {"title": "Registry unreachable", "message": str(exc)},
            status_code=503,
        )
        response.headers.update(headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _page_not_found(request)
        if _is_api(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        return render(
            request,
            "error.html",
            {"title": f"Error {exc.status_code}", "message": str(exc.detail)},
            status_code=exc.status_code,
        )


def _page_not_found(request: Request) -> Response:
    """Answer 404 alike for a missing record and another site's."""
    if _is_api(request):
        return JSONResponse({"detail": "Not found."}, status_code=404)
    return render(
        request,
        "error.html",
        {
            "title": "Not found",
            "message": "There is no such page or record among your sites.",
        },
        status_code=404,
    )


def clinic_app(settings: WebSettings) -> FastAPI:
    """Build the application on plptms's own accounts (the production wiring).

    Parameters
    ----------
    settings : WebSettings
        Database URL, secret key, cookie and session settings.

    Returns
    -------
    app : fastapi.FastAPI
        :func:`create_app` with :func:`plptms.workflow.authenticate`,
        :func:`plptms.workflow.principal_for` and
        :func:`plptms.workflow.principal_from_token` (Argon2id passwords,
        throttled sign-in, hashed API tokens).
    """
    from ..workflow import authenticate, principal_for, principal_from_token

    return create_app(
        settings,
        authenticate=authenticate,
        principal_for=principal_for,
        principal_from_token=principal_from_token,
    )


def app_from_env() -> FastAPI:
    """Build :func:`clinic_app` from the environment (Uvicorn's ``--factory``).

    ``$PLPTMS_SECRET_KEY``, ``$PLPTMS_DB_URL`` (optional) and
    ``$PLPTMS_COOKIE_SECURE`` (``0`` for plain HTTP on loopback; default ``1``).

    Returns
    -------
    app : fastapi.FastAPI
        The application.
    """
    import os

    from ._settings import WebSettings

    secure = os.environ.get("PLPTMS_COOKIE_SECURE", "1") != "0"
    return clinic_app(
        WebSettings.from_env(
            db_url=os.environ.get("PLPTMS_DB_URL") or None, cookie_secure=secure
        )
    )
