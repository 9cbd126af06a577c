"""One clock: timestamps in UTC, the clinic's calendar date in its time zone.

Every stored timestamp is UTC. A calendar date that a clinician means ("measured
today", "screened on", "session date") is the date in the clinic's time zone:
``$PLPTMS_TIMEZONE`` (an IANA name such as ``Europe/Paris``), or the machine's own
zone when unset. Deriving both "today"s here keeps a record made at 23:30 and
checked at 00:10 from reading "-1 day ago" away from UTC.
"""

from __future__ import annotations

import datetime as dt
import os

__all__ = ["TIMEZONE_ENV", "clinic_timezone", "clinic_today", "utc_now"]

#: Environment variable naming the clinic's time zone (IANA name).
TIMEZONE_ENV = "PLPTMS_TIMEZONE"


def utc_now() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def clinic_timezone() -> dt.tzinfo:
    """Return the clinic's time zone (``$PLPTMS_TIMEZONE`` or the machine's).

    Returns
    -------
    tz : datetime.tzinfo
        The time zone.

    Raises
    ------
    ValueError
        If ``$PLPTMS_TIMEZONE`` is not a known IANA time zone name.
    """
    name = os.environ.get(TIMEZONE_ENV, "").strip()
    if not name:
        tz = dt.datetime.now().astimezone().tzinfo
        return dt.UTC if tz is None else tz
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Invalid value for '{TIMEZONE_ENV}': got {name!r}; allowed: an IANA "
            "time zone name such as 'Europe/Paris' or 'UTC'."
        ) from None


def clinic_today(at: dt.datetime | None = None) -> dt.date:
    """Return the clinic's calendar date at a moment (now by default).

    Parameters
    ----------
    at : datetime.datetime | None
        A timezone-aware moment (a naive one is taken as UTC); now if ``None``.

    Returns
    -------
    date : datetime.date
        The date in the clinic's time zone.
    """
    moment = utc_now() if at is None else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(clinic_timezone()).date()
