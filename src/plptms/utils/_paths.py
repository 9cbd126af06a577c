"""Where plptms keeps files outside the registry database.

Two places, both outside the database on purpose:

- the *state* directory (``$PLPTMS_STATE_DIR``, else ``$XDG_STATE_HOME/plptms``,
  else ``~/.local/state/plptms``): the simulator's persisted pulse counter and
  the audit head anchors;
- the *config* directory (``$PLPTMS_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/plptms``,
  else ``~/.config/plptms``): the site secret that keys the audit chain.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["config_dir", "state_dir"]


def _base(own: str, xdg: str, fallback: tuple[str, ...]) -> Path:
    env = os.environ.get(own)
    if env:
        return Path(env)
    xdg_env = os.environ.get(xdg)
    base = Path(xdg_env) if xdg_env else Path.home().joinpath(*fallback)
    return base / "plptms"


def state_dir(*, create: bool = False) -> Path:
    """Return the state directory (see the module docstring).

    Parameters
    ----------
    create : bool
        Create it (mode 0700) when missing.

    Returns
    -------
    path : Path
        The directory.
    """
    path = _base("PLPTMS_STATE_DIR", "XDG_STATE_HOME", (".local", "state"))
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_dir(*, create: bool = False) -> Path:
    """Return the config directory (see the module docstring).

    Parameters
    ----------
    create : bool
        Create it (mode 0700) when missing.

    Returns
    -------
    path : Path
        The directory.
    """
    path = _base("PLPTMS_CONFIG_DIR", "XDG_CONFIG_HOME", (".config",))
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
