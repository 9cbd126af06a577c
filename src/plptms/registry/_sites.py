"""Site settings: a site's display name and its IANA time zone.

A site's calendar date ("today", the default date of an undated record, the
"not in the future" check) is the date in its time zone. The zone is a site
setting stored here (audited like clinical data); a site without one falls back
to ``$PLPTMS_TIMEZONE``, else the machine's zone (:func:`plptms.utils.clinic_today`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..utils import clinic_today, utc_now
from ._audit import row_state
from ._models import RegistryError, check_code
from ._store import audit

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["SiteOut", "SiteStore"]

#: Longest display name of a site, in characters.
SITE_NAME_MAX_CHARS = 128


class SiteOut(BaseModel):
    """A site's settings as stored.

    Attributes
    ----------
    site : str
        Site code.
    name : str
        Display name.
    timezone : str
        IANA time zone name.
    updated_at : datetime.datetime
        When last set (UTC).
    actor : str
        Who set it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    site: str
    name: str
    timezone: str
    updated_at: dt.datetime
    actor: str


def _site_out(row: Any) -> SiteOut:
    at = row.updated_at
    return SiteOut(
        site=row.site,
        name=row.name,
        timezone=row.timezone,
        updated_at=at if at.tzinfo else at.replace(tzinfo=dt.UTC),
        actor=row.actor,
    )


class SiteStore:
    """Registry methods for site settings (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by Registry

        def _write(self) -> AbstractContextManager[Session]: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    def set_site(self, site: str, *, name: str, timezone: str, actor: str) -> SiteOut:
        """Record a site's name and time zone (creates or updates; audited).

        Parameters
        ----------
        site : str
            Site code (as in ``patients.site``).
        name : str
            Display name (1-128 characters).
        timezone : str
            IANA time zone name, e.g. ``"Europe/Berlin"``.
        actor : str
            Who records it.

        Returns
        -------
        site : SiteOut
            The settings as stored.

        Raises
        ------
        RegistryError
            On a bad site code, name, time zone or actor (nothing is stored).
        """
        from sqlalchemy import select

        from ..utils import check_timezone
        from ._store import _check_actor
        from .db._schema import SiteRow

        check_code(site, "site")
        actor = _check_actor(actor)
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name.strip()) > SITE_NAME_MAX_CHARS
        ):
            raise RegistryError(
                f"Invalid value for 'name': got {name!r}; allowed: the site's display "
                f"name (1-{SITE_NAME_MAX_CHARS} characters)."
            )
        try:
            zone = check_timezone(timezone, "timezone")
        except (TypeError, ValueError) as exc:
            raise RegistryError(str(exc)) from None
        at = utc_now()
        with self._write() as s:
            row = s.execute(
                select(SiteRow).where(SiteRow.site == site)
            ).scalar_one_or_none()
            if row is None:
                row = SiteRow(
                    site=site,
                    name=name.strip(),
                    timezone=zone,
                    updated_at=at,
                    actor=actor,
                )
                s.add(row)
                audit(s, actor, "insert", "sites", row, None, None, at)
            else:
                old = row_state(row)
                row.name = name.strip()
                row.timezone = zone
                row.updated_at = at
                row.actor = actor
                audit(
                    s, actor, "update", "sites", row, old, "site settings updated", at
                )
            return _site_out(row)

    def get_site(self, site: str) -> SiteOut | None:
        """Return a site's settings (``None`` when never set).

        Parameters
        ----------
        site : str
            Site code.

        Returns
        -------
        site : SiteOut | None
            The settings.
        """
        from sqlalchemy import select

        from .db._schema import SiteRow

        check_code(site, "site")
        with self._read() as s:
            row = s.execute(
                select(SiteRow).where(SiteRow.site == site)
            ).scalar_one_or_none()
            return None if row is None else _site_out(row)

    def site_timezone(self, site: str) -> str | None:
        """Return a site's IANA time zone (``None`` when not set).

        Parameters
        ----------
        site : str
            Site code.

        Returns
        -------
        timezone : str | None
            The zone name.
        """
        out = self.get_site(site)
        return None if out is None else out.timezone

    def _site_day(self, site: str, at: dt.datetime | None = None) -> dt.date:
        """Return the site's calendar date at ``at`` (now when ``None``).

        Outside a transaction; inside one, use :meth:`_site_today`.
        """
        return clinic_today(at, tz=self.site_timezone(site))

    def _not_future(self, site: str, value: dt.date, field: str) -> dt.date:
        """Refuse a date after the site's today (its time zone).

        Raises
        ------
        RegistryError
            If ``value`` lies after the site's date, naming the field.
        """
        day = value.date() if isinstance(value, dt.datetime) else value
        today = self._site_day(site)
        if day > today:
            raise RegistryError(
                f"Invalid value for {field!r}: got {day.isoformat()}; allowed: a date "
                f"not in the future (on or before {today.isoformat()}, the date at "
                f"site {site})."
            )
        return value

    def _site_zone(self, s: Session, site: str) -> str | None:
        """Return the site's time zone inside an open transaction."""
        from sqlalchemy import select

        from .db._schema import SiteRow

        zone = s.execute(select(SiteRow.timezone).where(SiteRow.site == site)).scalar()
        return None if zone is None else str(zone)

    def _site_today(self, s: Session, site: str, at: dt.datetime) -> dt.date:
        """Return the site's calendar date at ``at`` inside a transaction.

        Registry methods that default an undated record to "today" use this so
        the date is the site's (its time zone, else ``$PLPTMS_TIMEZONE``).
        """
        return clinic_today(at, tz=self._site_zone(s, site))
