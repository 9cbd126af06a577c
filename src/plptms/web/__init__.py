"""The clinic web application and its JSON API (FastAPI, Jinja2, htmx).

A thin shell over :mod:`plptms.workflow`: each page and endpoint parses its
input, calls one guarded use case or read model (which checks the permission
table and the user's sites) and renders the result. See ``docs/web.md``.

- :func:`create_app`: the application, given :class:`WebSettings` and the
  account functions (``authenticate``, ``principal_for``,
  ``principal_from_token``).

Importing this package loads neither FastAPI nor the registry; they load with
:func:`create_app`.
"""

from typing import TYPE_CHECKING, Any

from ._settings import SECRET_KEY_ENV, WebSettings

if TYPE_CHECKING:
    from ._app import create_app


def __getattr__(name: str) -> Any:
    """Load the application factory (and FastAPI) on first use."""
    if name == "create_app":
        from ._app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SECRET_KEY_ENV", "WebSettings", "create_app"]
