"""A first-order thermal model of a TMS coil."""

from __future__ import annotations

import math
import threading

from .._checks import check_intensity
from .._constants import (
    SIM_AMBIENT_C,
    SIM_COOLING_TAU_S,
    SIM_HEAT_PER_PULSE_AT_MSO_C,
)

__all__ = ["CoilThermalModel"]


class CoilThermalModel:
    """Coil temperature: a step per pulse, exponential cooling toward ambient.

    Each pulse at intensity ``I`` (% MSO) adds ``heat_per_pulse_at_mso_c * (I /
    100)**2`` degC, since the pulse energy grows with the square of the output (the
    Rapid energy table in magpy-tms); between pulses the excess over ambient decays
    with time constant ``cooling_tau_s``.

    Parameters
    ----------
    ambient_c : float
        Ambient temperature, degC.
    heat_per_pulse_at_mso_c : float
        Temperature step of one pulse at 100 % MSO, degC.
    cooling_tau_s : float
        Cooling time constant, s.
    initial_c : float | None
        Starting temperature, degC (``None``: ambient).
    t_s : float
        Time of the starting temperature on the caller's clock, s.
    """

    def __init__(
        self,
        *,
        ambient_c: float = SIM_AMBIENT_C,
        heat_per_pulse_at_mso_c: float = SIM_HEAT_PER_PULSE_AT_MSO_C,
        cooling_tau_s: float = SIM_COOLING_TAU_S,
        initial_c: float | None = None,
        t_s: float = 0.0,
    ) -> None:
        if cooling_tau_s <= 0.0 or not math.isfinite(cooling_tau_s):
            raise ValueError(
                f"Invalid value for 'cooling_tau_s': got {cooling_tau_s!r}; allowed "
                "range is (0, inf) s."
            )
        if heat_per_pulse_at_mso_c < 0.0:
            raise ValueError(
                "Invalid value for 'heat_per_pulse_at_mso_c': got "
                f"{heat_per_pulse_at_mso_c!r}; allowed range is [0, inf) degC."
            )
        self.ambient_c = float(ambient_c)
        self.heat_per_pulse_at_mso_c = float(heat_per_pulse_at_mso_c)
        self.cooling_tau_s = float(cooling_tau_s)
        self._temp_c = self.ambient_c if initial_c is None else float(initial_c)
        self._t_s = float(t_s)
        self._lock = threading.Lock()

    def _at(self, t_s: float) -> float:
        dt = t_s - self._t_s
        if dt <= 0.0:
            return self._temp_c
        excess = self._temp_c - self.ambient_c
        return self.ambient_c + excess * math.exp(-dt / self.cooling_tau_s)

    def temperature(self, t_s: float) -> float:
        """Return the coil temperature at time ``t_s``, degC.

        Parameters
        ----------
        t_s : float
            Time on the caller's clock, s.

        Returns
        -------
        temperature_c : float
            Temperature, degC.
        """
        with self._lock:
            return self._at(t_s)

    def heat_per_pulse(self, intensity_pct_mso: float) -> float:
        """Return the temperature step of one pulse, degC.

        Parameters
        ----------
        intensity_pct_mso : float
            Intensity, % MSO.

        Returns
        -------
        step_c : float
            Temperature step, degC.
        """
        intensity = check_intensity(intensity_pct_mso)
        return self.heat_per_pulse_at_mso_c * (intensity / 100.0) ** 2

    def add_pulse(self, intensity_pct_mso: float, t_s: float) -> float:
        """Account for one pulse at time ``t_s``.

        Parameters
        ----------
        intensity_pct_mso : float
            Intensity, % MSO.
        t_s : float
            Time of the pulse, s.

        Returns
        -------
        temperature_c : float
            Temperature right after the pulse, degC.
        """
        step = self.heat_per_pulse(intensity_pct_mso)
        with self._lock:
            t = max(t_s, self._t_s)
            self._temp_c = self._at(t) + step
            self._t_s = t
            return self._temp_c

    def set_temperature(self, temperature_c: float, t_s: float) -> None:
        """Force the temperature (fault injection, or a coil swap).

        Parameters
        ----------
        temperature_c : float
            New temperature, degC.
        t_s : float
            Time, s.
        """
        with self._lock:
            self._temp_c = float(temperature_c)
            self._t_s = max(t_s, self._t_s)
