"""A keyed, replayable random source for allocations (HMAC-SHA256).

Every random number an allocation uses is a pure function of a secret key and of
where it is used: ``HMAC-SHA256(secret, "{trial_id}|{stratum}|{index}|{purpose}")``.
There is no generator state, so

- the trial statistician, who holds the secret, replays every allocation from the
  stored history alone (the secret is never stored with the data);
- an operator who sees the history but not the secret cannot predict the next draw
  (predicting it is as hard as forging an HMAC-SHA256 tag);
- two draws that differ in trial, stratum, index or purpose are independent for all
  practical purposes, and concurrent enrolments need no shared generator.

The 256-bit tag is read as a big-endian integer. A uniform number in ``[0, 1)``
takes its top 53 bits divided by ``2**53`` (every value a multiple of ``2**-53``,
the resolution of a double). A whole number in ``[0, n)`` takes the top
``ceil(log2 n)`` bits of successive tags and rejects values ``>= n`` (the tag of
attempt ``j > 0`` keys the message with ``"|j"`` appended), so it is exactly
uniform, without the modulo bias of ``tag % n``.
"""

from __future__ import annotations

import hashlib
import hmac

from ..utils import check_type

__all__ = ["HmacRandom"]

_MAX_REJECTIONS = 256  # P(all rejected) < 2**-256 since each try succeeds w.p. > 1/2
_MIN_SECRET_BYTES = 16


class HmacRandom:
    """Deterministic, keyed random numbers for one trial.

    Parameters
    ----------
    secret : bytes
        The trial's secret key, at least 16 bytes (32 random bytes recommended,
        e.g. ``secrets.token_bytes(32)``). Keep it away from the data and from
        operators; whoever holds it can replay and predict every allocation.
    trial_id : str
        The trial's identifier; it keys every message, so two trials that share a
        secret still draw independent numbers.

    Raises
    ------
    TypeError
        If ``secret`` is not bytes or ``trial_id`` is not a string.
    ValueError
        If ``secret`` is shorter than 16 bytes, ``trial_id`` is empty or holds
        ``'|'``.

    Notes
    -----
    The ``repr`` never shows the secret.
    """

    __slots__ = ("_secret", "trial_id")

    def __init__(self, secret: bytes, trial_id: str) -> None:
        check_type(secret, bytes, "secret")
        check_type(trial_id, str, "trial_id")
        if len(secret) < _MIN_SECRET_BYTES:
            raise ValueError(
                f"Invalid value for 'secret': got {len(secret)} bytes; allowed: at "
                f"least {_MIN_SECRET_BYTES} bytes (32 random bytes recommended)."
            )
        _check_part(trial_id, "trial_id", allow_empty=False)
        self._secret = secret
        self.trial_id = trial_id

    def __repr__(self) -> str:
        return f"HmacRandom(trial_id={self.trial_id!r}, secret=<hidden>)"

    def message(self, index: int, purpose: str, stratum: str | None = None) -> str:
        """Return the text that is authenticated for one draw.

        Parameters
        ----------
        index : int
            Enrolment index (0-based) in the scope of the draw, e.g. in the trial or
            in the stratum.
        purpose : str
            What the draw is for, e.g. ``'arm'`` or ``'block_size'``.
        stratum : str | None
            The stratum key, or ``None`` for a draw over the whole trial.

        Returns
        -------
        message : str
            ``f"{trial_id}|{stratum or ''}|{index}|{purpose}"``.

        Raises
        ------
        TypeError
            If an argument has the wrong type.
        ValueError
            If ``index`` is negative, or ``purpose`` or ``stratum`` holds ``'|'``
            (which would make two different draws share one message).
        """
        check_type(index, int, "index")
        if index < 0:
            raise ValueError(
                f"Invalid value for 'index': got {index}; allowed range is [0, inf)."
            )
        check_type(purpose, str, "purpose")
        _check_part(purpose, "purpose", allow_empty=False)
        if stratum is not None:
            check_type(stratum, str, "stratum")
            _check_part(stratum, "stratum", allow_empty=True)
        return f"{self.trial_id}|{stratum or ''}|{index}|{purpose}"

    def _tag(self, text: str) -> int:
        digest = hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest, "big")

    def uniform(self, index: int, purpose: str, stratum: str | None = None) -> float:
        """Return a uniform number in ``[0, 1)`` with 53 random bits.

        Parameters
        ----------
        index : int
            Enrolment index of the draw.
        purpose : str
            What the draw is for.
        stratum : str | None
            The stratum key, or ``None``.

        Returns
        -------
        u : float
            ``(tag >> 203) / 2**53``, in ``[0, 1)``.
        """
        return (self._tag(self.message(index, purpose, stratum)) >> 203) / 2.0**53

    def integer(
        self, n: int, index: int, purpose: str, stratum: str | None = None
    ) -> int:
        """Return a whole number uniform on ``{0, ..., n - 1}`` (by rejection).

        Parameters
        ----------
        n : int
            Number of outcomes, at least 1 and below ``2**256``.
        index : int
            Enrolment index of the draw.
        purpose : str
            What the draw is for.
        stratum : str | None
            The stratum key, or ``None``.

        Returns
        -------
        k : int
            The draw.

        Raises
        ------
        ValueError
            If ``n`` is out of range.
        """
        check_type(n, int, "n")
        if not 1 <= n < 2**256:
            raise ValueError(
                f"Invalid value for 'n': got {n}; allowed range is [1, 2**256)."
            )
        if n == 1:
            return 0
        bits = (n - 1).bit_length()
        base = self.message(index, purpose, stratum)
        for attempt in range(_MAX_REJECTIONS):
            text = base if attempt == 0 else f"{base}|{attempt}"
            k = self._tag(text) >> (256 - bits)
            if k < n:
                return k
        raise RuntimeError(  # pragma: no cover - probability below 2**-256
            "HMAC rejection sampling did not terminate."
        )


def _check_part(value: str, field: str, *, allow_empty: bool) -> None:
    if "|" in value or (not allow_empty and not value):
        raise ValueError(
            f"Invalid value for {field!r}: got {value!r}; allowed: "
            f"{'' if allow_empty else 'non-empty '}text without '|'."
        )
