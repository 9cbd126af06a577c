"""Package logger: a ``NullHandler`` only; the CLI owns real handlers."""

from __future__ import annotations

import logging

__all__ = ["logger", "set_log_level"]

#: Root logger of the package.
logger: logging.Logger = logging.getLogger("plptms")
logger.addHandler(logging.NullHandler())


def set_log_level(verbose: bool | str | int | None) -> None:
    """Set the level of the ``plptms`` logger.

    Parameters
    ----------
    verbose : bool | str | int | None
        ``True`` for INFO, ``False``/``None`` for WARNING, or a level name/number.
    """
    if verbose is None or verbose is False:
        level: int | str = logging.WARNING
    elif verbose is True:
        level = logging.INFO
    elif isinstance(verbose, str):
        level = verbose.upper()
    else:
        level = verbose
    logger.setLevel(level)
