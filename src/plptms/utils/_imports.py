"""One soft import for optional libraries, with the command that installs them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["soft_import"]


def soft_import(name: str, purpose: str, *, package: str | None = None) -> ModuleType:
    """Import an optional module, or say how to install it.

    Parameters
    ----------
    name : str
        Module to import (e.g. ``"neurodsp.sim.aperiodic"``).
    purpose : str
        What needs it, completing "... is needed to {purpose}".
    package : str | None
        The distribution to install, when it differs from the top-level module.

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    ImportError
        Naming the module, what needs it and the ``pip install`` command.
    """
    try:
        return importlib.import_module(name)
    except ImportError as err:
        pkg = package or name.split(".")[0]
        raise ImportError(
            f"{name!r} is needed to {purpose}: install it with `pip install {pkg}`."
        ) from err
