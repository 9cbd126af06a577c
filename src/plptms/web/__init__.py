"""The clinic web application and its JSON API (FastAPI, Jinja2, htmx).

A thin shell over :mod:`plptms.workflow`: each page and endpoint parses its
input, calls one guarded use case or read model (which checks the permission
table and the user's sites) and renders the result. See ``docs/web.md``.

- :func:`create_app`: the application, given :class:`WebSettings` and the
  account functions (``authenticate``, ``principal_for``,
  ``principal_from_token``);
- :func:`clinic_app`: the same on plptms's own accounts (``plptms serve``).

Importing this package loads neither FastAPI nor the registry; they load with
:func:`create_app`.
"""

from typing import TYPE_CHECKING, Any

from ._settings import SECRET_KEY_ENV, WebSettings

if TYPE_CHECKING:
    from ._app import clinic_app, create_app


def __getattr__(name: str) -> Any:
    """Load the application factories (and FastAPI) on first use."""
    if name in ("create_app", "clinic_app"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SECRET_KEY_ENV", "WebSettings", "clinic_app", "create_app"]
