"""Hardware stimulator drivers (Magstim through magpy-tms, MagVenture through magicpy).

Importing this package imports neither magpy nor magicpy nor pyserial: they are
imported when a driver connects.
"""

from ._magstim import MagstimSettings, MagstimStimulator
from ._magventure import MagVentureSettings, MagVentureStimulator

__all__ = [
    "MagVentureSettings",
    "MagVentureStimulator",
    "MagstimSettings",
    "MagstimStimulator",
]
