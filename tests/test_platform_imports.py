"""The package imports on every platform (issue 15).

POSIX-only modules (``tty``, ``termios``, ``pty``, ``fcntl``) are absent on
Windows; the pty device emulators load them only when started. Every public
subpackage must import with them made unavailable.
"""

from __future__ import annotations

import subprocess
import sys

SUBPACKAGES = (
    "batch",
    "sweeps",
    "protocol",
    "safety",
    "scales",
    "targeting",
    "motor",
    "efield",
    "meta",
    "closedloop",
    "delivery",
    "delivery.sim",
    "delivery.drivers",
    "planner",
    "report",
    "trial",
    "access",
    "utils",
    "registry",
    "workflow",
    "cli.main",
    "web",
)

_SCRIPT = """
import importlib, sys
for name in ("tty", "termios", "pty", "fcntl"):
    sys.modules[name] = None  # "import tty" now raises ImportError
for sub in {subs!r}:
    importlib.import_module("plptms." + sub)
from plptms.delivery.sim import MagstimEmulator
try:
    MagstimEmulator().start()
except RuntimeError as exc:
    assert "POSIX" in str(exc), exc
else:
    raise AssertionError("the emulator started without tty")
print("ok")
"""


def test_every_subpackage_imports_without_posix_terminal_modules() -> None:
    res = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(subs=SUBPACKAGES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip().endswith("ok")


def test_the_blocking_is_effective() -> None:
    """Under the same blocking, importing ``tty`` fails: the check above is real."""
    script = _SCRIPT.format(subs=("delivery",)).replace(
        'print("ok")', 'import importlib; importlib.import_module("tty")'
    )
    res = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert res.returncode != 0


def test_every_subpackage_is_in_the_list() -> None:
    """A new subpackage cannot be left out of the platform import check."""
    import pkgutil

    import plptms

    found = {m.name for m in pkgutil.iter_modules(plptms.__path__) if m.ispkg}
    listed = {s.split(".")[0] for s in SUBPACKAGES}
    assert found <= listed, found - listed
