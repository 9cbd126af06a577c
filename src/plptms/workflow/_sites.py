"""A site's calendar date, in one place; the site settings use cases.

Every workflow use case that needs "today" for a patient asks :func:`site_today`
with the patient's site: the date in the site's time zone (a site setting,
``plptms site set SITE --timezone ...``), else ``$PLPTMS_TIMEZONE``, else the
machine's zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils import clinic_today

if TYPE_CHECKING:
    import datetime as dt

    from ..registry import Registry, SiteOut

__all__ = ["get_site", "set_site", "site_today"]


def site_today(reg: Registry, site: str, at: dt.datetime | None = None) -> dt.date:
    """Return the site's calendar date (now, or at a given moment).

    Parameters
    ----------
    reg : Registry
        The registry (it holds the site's time zone).
    site : str
        Site code.
    at : datetime.datetime | None
        The moment (timezone-aware; a naive one is UTC); now when ``None``.

    Returns
    -------
    date : datetime.date
        The date in the site's time zone; without one, in ``$PLPTMS_TIMEZONE``
        (else the machine's zone).

    Raises
    ------
    plptms.registry.RegistryError
        If the site code is invalid.
    """
    return clinic_today(at, tz=reg.site_timezone(site))


def set_site(
    reg: Registry, site: str, *, name: str, timezone: str, actor: str
) -> SiteOut:
    """Record a site's display name and IANA time zone (audited).

    From then on the site's dates (its "today", default dates of undated records,
    the "not in the future" checks) are taken in this zone.

    Parameters
    ----------
    reg : Registry
        The registry.
    site : str
        Site code.
    name : str
        Display name.
    timezone : str
        IANA time zone name, e.g. ``"Europe/Berlin"``.
    actor : str
        Who records it.

    Returns
    -------
    site : plptms.registry.SiteOut
        The settings as stored.

    Raises
    ------
    plptms.registry.RegistryError
        On a bad site code, name, time zone or actor (nothing is stored).
    """
    return reg.set_site(site, name=name, timezone=timezone, actor=actor)


def get_site(reg: Registry, site: str) -> SiteOut | None:
    """Return a site's settings (``None`` when never set).

    Parameters
    ----------
    reg : Registry
        The registry.
    site : str
        Site code.

    Returns
    -------
    site : plptms.registry.SiteOut | None
        The settings.
    """
    return reg.get_site(site)
