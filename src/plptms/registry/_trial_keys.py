"""A trial's secret (a key file outside the database) and its kit codes.

The secret (32 random bytes, mode 0600) lives at :func:`trial_key_path`; the
database keeps only a fingerprint of it (:func:`trial_key_check`). Kit codes
(:func:`kit_code`) are derived from the secret and the allocation index only,
never from the arm, so active and sham kits look alike.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ._models import RegistryError

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = [
    "KIT_ALPHABET",
    "KIT_CODE_CHARS",
    "TRIAL_KEY_BYTES",
    "TRIAL_KEY_ENV",
    "check_trial_id",
    "create_trial_key",
    "kit_code",
    "read_trial_key",
    "trial_key_check",
    "trial_key_path",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the folder of the trial key files.
TRIAL_KEY_ENV = "PLPTMS_TRIAL_KEY_DIR"

#: Length of a trial's secret, bytes.
TRIAL_KEY_BYTES = 32

#: Kit code alphabet: digits 2-9 and the capitals but I and O (no 0/O or 1/I to
#: confuse); 32 symbols, 5 bits each.
KIT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

#: Characters in a kit code (40 bits).
KIT_CODE_CHARS = 8

_TRIAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KEY_CHECK_TEXT = "plptms-trial-key-check"
_MAX_KIT_ATTEMPTS = 64


# --------------------------------------------------------------------------------------
# The trial's secret and the kit codes
# --------------------------------------------------------------------------------------
def check_trial_id(value: str, field: str = "trial_id") -> str:
    """Check a trial identifier (also a file name and part of every draw's message).

    Parameters
    ----------
    value : str
        The identifier.
    field : str
        The field name for the error message.

    Returns
    -------
    value : str
        The identifier.

    Raises
    ------
    RegistryError
        Unless it is 1-64 letters, digits, ``_``, ``.`` or ``-``, starting with a
        letter or digit.
    """
    if not isinstance(value, str) or not _TRIAL_ID.match(value):
        raise RegistryError(
            f"Invalid value for {field!r}: got {value!r}; allowed: 1-64 letters, "
            "digits, '_', '.' or '-', starting with a letter or digit."
        )
    return value


def trial_key_path(trial_id: str) -> Path:
    """Return where a trial's secret lives.

    Parameters
    ----------
    trial_id : str
        The trial identifier.

    Returns
    -------
    path : Path
        ``$PLPTMS_TRIAL_KEY_DIR/<trial_id>.key`` when the variable is set, else
        ``config_dir()/trials/<trial_id>.key``.
    """
    from ..utils import config_dir

    check_trial_id(trial_id)
    env = os.environ.get(TRIAL_KEY_ENV)
    folder = Path(env) if env else config_dir() / "trials"
    return folder / f"{trial_id}.key"


def read_trial_key(path: Path) -> bytes | None:
    """Read a trial's secret.

    Parameters
    ----------
    path : Path
        The key file (32 raw bytes).

    Returns
    -------
    key : bytes | None
        The secret, or ``None`` when the file does not exist.

    Raises
    ------
    RegistryError
        If the file cannot be read or does not hold 32 bytes.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"Cannot read the trial key {path}: {exc}.") from None
    if len(data) != TRIAL_KEY_BYTES:
        raise RegistryError(
            f"Invalid trial key {path}: got {len(data)} bytes; allowed: "
            f"{TRIAL_KEY_BYTES} random bytes."
        )
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            logger.warning(
                "The trial key %s is readable by other users (chmod 600 it).", path
            )
    return data


def create_trial_key(path: Path) -> bytes:
    """Create a trial's secret (mode 0600) unless the file already exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trial-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, secrets.token_bytes(TRIAL_KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
    key = read_trial_key(path)
    assert key is not None
    return key


def trial_key_check(secret: bytes, trial_id: str) -> str:
    """Return the fingerprint of a trial's secret stored in the database.

    Parameters
    ----------
    secret : bytes
        The secret.
    trial_id : str
        The trial identifier.

    Returns
    -------
    check : str
        Hex ``HMAC-SHA256(secret, "plptms-trial-key-check|<trial_id>")``; it
        reveals nothing of the secret and is never a message of a draw or a kit.
    """
    text = f"{_KEY_CHECK_TEXT}|{trial_id}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def kit_code(secret: bytes, index: int, taken: Collection[str] = ()) -> str:
    """Return the kit code of allocation ``index`` (the same rule for every arm).

    The code is the top 40 bits of ``HMAC-SHA256(secret, "kit|<index>")`` written
    as 8 symbols of :data:`KIT_ALPHABET` (5 bits each, most significant first).
    In the rare case that the code is already used in the trial (``taken``), the
    message ``"kit|<index>|<attempt>"`` with attempt 1, 2, ... is used instead,
    so the code is still a pure function of the secret and the trial's history.

    Parameters
    ----------
    secret : bytes
        The trial's secret.
    index : int
        The 0-based allocation index.
    taken : collection of str
        Kit codes already used by earlier allocations of the trial.

    Returns
    -------
    code : str
        Eight symbols, e.g. ``'K7QX3MZD'``.

    Raises
    ------
    ValueError
        If ``index`` is negative.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(
            f"Invalid value for 'index': got {index!r}; allowed range is [0, inf)."
        )
    for attempt in range(_MAX_KIT_ATTEMPTS):
        text = f"kit|{index}" if attempt == 0 else f"kit|{index}|{attempt}"
        digest = hmac.new(secret, text.encode("ascii"), hashlib.sha256).digest()
        bits = int.from_bytes(digest[:5], "big")  # top 40 bits
        code = "".join(
            KIT_ALPHABET[(bits >> (5 * (KIT_CODE_CHARS - 1 - k))) & 31]
            for k in range(KIT_CODE_CHARS)
        )
        if code not in taken:
            return code
    raise RuntimeError(  # pragma: no cover - needs 64 collisions in 2**40 codes
        "No free kit code was found."
    )
