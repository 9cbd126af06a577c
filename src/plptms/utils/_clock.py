"""One clock: timestamps in UTC, the clinic's calendar date in its time zone.

Every stored timestamp is UTC. A calendar date that a clinician means ("measured
today", "screened on", "session date") is the date in the clinic's time zone: the
site's own zone when the registry has one for the site (``plptms site set SITE
--timezone ...``; the workflow's ``site_today`` passes it here), else
``$PLPTMS_TIMEZONE`` (an IANA name such as ``Europe/Paris``), else the machine's
own zone. Deriving both "today"s here keeps a record made at 23:30 and checked at
00:10 from reading "-1 day ago" away from UTC.
"""

from __future__ import annotations

import datetime as dt
import os

__all__ = [
    "TIMEZONE_ENV",
    "check_timezone",
    "clinic_timezone",
    "clinic_today",
    "utc_now",
]

#: Environment variable naming the clinic's time zone (IANA name).
TIMEZONE_ENV = "PLPTMS_TIMEZONE"


def utc_now() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def check_timezone(name: str, field: str = "timezone") -> str:
    """Check an IANA time zone name and return it stripped.

    Parameters
    ----------
    name : str
        The name, e.g. ``"Europe/Berlin"`` or ``"UTC"``.
    field : str
        Name of the field, used in the message.

    Returns
    -------
    name : str
        The name, stripped of surrounding blanks.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If it is not a time zone known to :mod:`zoneinfo`.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(name, str):
        raise TypeError(
            f"Invalid type for {field!r}: got {type(name).__name__}; allowed: str "
            "(an IANA time zone name)."
        )
    clean = name.strip()
    try:
        if not clean or len(clean) > 64:
            raise ValueError
        ZoneInfo(clean)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Invalid value for {field!r}: got {name!r}; allowed: an IANA time zone "
            "name such as 'Europe/Paris' or 'UTC'."
        ) from None
    return clean


def clinic_timezone(name: str | None = None) -> dt.tzinfo:
    """Return the clinic's time zone.

    Parameters
    ----------
    name : str | None
        The site's IANA time zone; when ``None``, ``$PLPTMS_TIMEZONE``, else the
        machine's zone.

    Returns
    -------
    tz : datetime.tzinfo
        The time zone.

    Raises
    ------
    ValueError
        If ``name`` (or ``$PLPTMS_TIMEZONE``) is not a known IANA time zone name.
    """
    from zoneinfo import ZoneInfo

    if name is not None:
        return ZoneInfo(check_timezone(name, "timezone"))
    env = os.environ.get(TIMEZONE_ENV, "").strip()
    if not env:
        tz = dt.datetime.now().astimezone().tzinfo
        return dt.UTC if tz is None else tz
    return ZoneInfo(check_timezone(env, TIMEZONE_ENV))


def clinic_today(at: dt.datetime | None = None, *, tz: str | None = None) -> dt.date:
    """Return the clinic's calendar date at a moment (now by default).

    Parameters
    ----------
    at : datetime.datetime | None
        A timezone-aware moment (a naive one is taken as UTC); now if ``None``.
    tz : str | None
        The site's IANA time zone; ``$PLPTMS_TIMEZONE`` (else the machine's zone)
        when ``None``.

    Returns
    -------
    date : datetime.date
        The date in that time zone.

    Raises
    ------
    ValueError
        If the time zone is not a known IANA name.
    """
    moment = utc_now() if at is None else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(clinic_timezone(tz)).date()
