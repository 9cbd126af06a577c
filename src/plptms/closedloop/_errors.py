"""Closed-loop refusals: each says what was wrong and that no pulse was fired."""

from __future__ import annotations

from ..safety import SafetyError

__all__ = [
    "PulseRefusedError",
    "SignalQualityError",
    "StreamLostError",
    "StreamMismatchError",
]


class StreamMismatchError(ValueError):
    """The EEG stream does not match what the closed loop was set up for.

    Raised for missing channels, a wrong sampling rate or a chunk of the wrong
    shape. Nothing is fired from such a stream.
    """


class SignalQualityError(ValueError):
    """The signal is too poor to estimate the phase (no mu peak, flat, too noisy)."""


class StreamLostError(RuntimeError):
    """No samples arrived for longer than allowed: triggering has stopped."""


class PulseRefusedError(SafetyError):
    """The safety gate refused a pulse (rate, train or session limit)."""
