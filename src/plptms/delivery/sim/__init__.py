"""Simulated stimulator and serial-protocol emulators of the Magstim and MagVenture.

:class:`SimulatedStimulator` is a software stimulator (real or virtual time, coil
heating, fault injection). :class:`MagstimEmulator` and :class:`MagVentureEmulator`
serve the devices' serial protocols on a pseudo-terminal, so that the real drivers
(and magpy-tms / magicpy underneath) run unchanged against them.
"""

from ._coil import CoilThermalModel
from ._magstim_emulator import MagstimEmulator, magstim_crc
from ._magventure_emulator import (
    MagVentureEmulator,
    magventure_crc,
    magventure_frame,
)
from ._pty import PtyEmulator
from ._simulator import SimulatedStimulator, SimulatorSettings, default_pulse_log

__all__ = [
    "CoilThermalModel",
    "MagVentureEmulator",
    "MagstimEmulator",
    "PtyEmulator",
    "SimulatedStimulator",
    "SimulatorSettings",
    "default_pulse_log",
    "magstim_crc",
    "magventure_crc",
    "magventure_frame",
]
