"""Settings of the web application (a frozen pydantic model)."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SECRET_KEY_ENV", "SECRET_KEY_MIN_CHARS", "WebSettings"]

#: Environment variable holding the secret key in production.
SECRET_KEY_ENV = "PLPTMS_SECRET_KEY"

#: Shortest secret key accepted (characters): 32 random characters of a
#: URL-safe alphabet carry about 190 bits.
SECRET_KEY_MIN_CHARS = 32


class WebSettings(BaseModel):
    """How the web application runs.

    Parameters
    ----------
    db_url : str | None
        SQLAlchemy URL of the registry; ``None`` is the default registry
        (``$PLPTMS_DB_URL`` or the SQLite file under the state directory).
    secret_key : str
        Signs the session cookies and derives the CSRF tokens; at least 32
        characters. In production read it from ``$PLPTMS_SECRET_KEY``
        (:meth:`from_env`), never from a file in the repository.
    cookie_secure : bool
        Send the session cookie over HTTPS only (``True`` in production).
    session_max_age_s : int
        A session ends this long after sign-in, s (default 8 h).
    idle_timeout_s : int
        A session ends after this long without a request, s (default 30 min).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    db_url: str | None = None
    secret_key: str = Field(repr=False)
    cookie_secure: bool = True
    session_max_age_s: int = Field(default=8 * 3600, gt=0, le=7 * 24 * 3600)
    idle_timeout_s: int = Field(default=30 * 60, gt=0, le=24 * 3600)

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, v: str) -> str:
        if len(v) < SECRET_KEY_MIN_CHARS:
            raise ValueError(
                f"Invalid value for 'secret_key': got {len(v)} characters; allowed: "
                f"at least {SECRET_KEY_MIN_CHARS} (set ${SECRET_KEY_ENV} to e.g. "
                'the output of `python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"`).'
            )
        return v

    @classmethod
    def from_env(cls, **changes: object) -> WebSettings:
        """Build settings with the secret key from ``$PLPTMS_SECRET_KEY``.

        Parameters
        ----------
        **changes : object
            Other settings (``db_url``, ``cookie_secure``, ...).

        Returns
        -------
        settings : WebSettings
            The settings.

        Raises
        ------
        ValueError
            If the variable is unset or shorter than 32 characters.
        """
        key = os.environ.get(SECRET_KEY_ENV, "")
        if not key:
            raise ValueError(
                f"Invalid value for '${SECRET_KEY_ENV}': it is not set; allowed: a "
                f"secret of at least {SECRET_KEY_MIN_CHARS} characters."
            )
        return cls.model_validate({**changes, "secret_key": key})
