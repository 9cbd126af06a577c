"""Open a stimulator by kind: the simulator or a hardware driver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..utils import check_option, check_type

if TYPE_CHECKING:
    from ._interface import Stimulator

__all__ = ["STIMULATOR_KINDS", "open_stimulator"]

#: Stimulator kinds :func:`open_stimulator` knows.
STIMULATOR_KINDS: tuple[str, ...] = ("sim", "magstim", "magventure")


def open_stimulator(
    kind: str, *, port: str | None = None, **options: Any
) -> Stimulator:
    """Create a stimulator of the given kind (not yet connected).

    Parameters
    ----------
    kind : str
        ``"sim"`` (:class:`~plptms.delivery.SimulatedStimulator`), ``"magstim"``
        (:class:`~plptms.delivery.MagstimStimulator`) or ``"magventure"``
        (:class:`~plptms.delivery.MagVentureStimulator`).
    port : str | None
        Serial port of a hardware stimulator (required for ``"magstim"`` and
        ``"magventure"``; the simulator takes none).
    **options
        Fields of the kind's settings model (``SimulatorSettings``,
        ``MagstimSettings`` or ``MagVentureSettings``); unknown fields are refused.
        The simulator also takes ``clock`` and ``sleep``.

    Returns
    -------
    stimulator : Stimulator
        Use it as a context manager (``with open_stimulator(...) as stim:``) or
        call ``connect()``.

    Raises
    ------
    TypeError
        If ``kind`` or ``port`` has the wrong type.
    ValueError
        If ``kind`` is unknown, ``port`` is missing (or given to the simulator), or
        an option is unknown or invalid (pydantic's ``ValidationError`` names it).
    """
    check_type(kind, str, "kind")
    check_option(kind, "kind", STIMULATOR_KINDS)
    if kind == "sim":
        if port is not None:
            raise ValueError(
                f"Invalid value for 'port': got {port!r}; allowed: None (the "
                "simulator has no serial port)."
            )
        from .sim import SimulatedStimulator

        clock = options.pop("clock", None)
        sleep = options.pop("sleep", None)
        return SimulatedStimulator(clock=clock, sleep=sleep, **options)
    if port is None:
        raise ValueError(
            f"Invalid value for 'port': got None; kind {kind!r} needs a serial port "
            "path, e.g. '/dev/ttyUSB0' or 'COM3'."
        )
    check_type(port, str, "port")
    from .drivers import MagstimStimulator, MagVentureStimulator

    if kind == "magstim":
        return MagstimStimulator(port=port, **options)
    return MagVentureStimulator(port=port, **options)
