"""Run the registry's Alembic migrations programmatically."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Engine

__all__ = [
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
]


def alembic_config(url: str) -> Config:
    """Build an Alembic config pointing at the packaged migrations.

    Parameters
    ----------
    url : str
        Database URL.

    Returns
    -------
    config : alembic.config.Config
        The configuration.
    """
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("plptms.registry.db") / "migrations")
    )
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision``.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The engine.
    revision : str
        Target revision.

    Raises
    ------
    DatabaseOpenError
        If the database is not a plptms registry this version can upgrade (another
        application's tables, a revision newer than this version of plptms); the
        transaction is rolled back and nothing is changed.
    """
    from alembic import command
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from ._engine import DatabaseOpenError, write_lock

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            write_lock(conn)  # concurrent first starts must not race on the schema
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except (CommandError, SQLAlchemyError) as exc:
        engine.dispose()  # the connections of a database we will not use
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseOpenError(
            engine.url.render_as_string(hide_password=True),
            "not a plptms registry this version can open or upgrade "
            f"({type(exc).__name__}: {detail})",
        ) from None


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (e.g. ``"base"``).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The engine.
    revision : str
        Target revision.
    """
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's current revision (``None`` if unversioned)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """Return the newest revision shipped."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head
