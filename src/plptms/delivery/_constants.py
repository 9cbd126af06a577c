"""Stimulator-delivery constants: device facts, timing and the simulated coil.

Device facts are read from the driver packages' own source and documentation
(magpy-tms 1.4 for the Magstim Rapid, magicpy 0.1.6 for the MagVenture MagPro), which
is where they are verified; they are not checked against the manufacturers' manuals.
Software timing choices cite ``[design]``; settings of the simulated coil and device
cite ``[simdesign]``.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Output range.
# ---------------------------------------------------------------------------

#: Lowest settable output, % of maximum stimulator output (MSO). [device]
MSO_MIN_PCT: Final[float] = 0.0

#: Highest settable output, % MSO; magpy ``setPower`` and magicpy ``set_amplitude``
#: both refuse values above 100 (McNair, 2022; Numssen, 2024). [device] [magpy]
#: [magicpy]
MSO_MAX_PCT: Final[float] = 100.0

# ---------------------------------------------------------------------------
# Magstim Rapid (from magpy-tms 1.4, ``magpy/magstim.py``; verified in the code).
# ---------------------------------------------------------------------------

#: Serial link speed of the Magstim: 9600 baud, 8N1 (McNair, 2022,
#: ``serialPortController.run``). [magpy]
MAGSTIM_BAUD: Final[int] = 9600

#: Arming time: "You must allow at around 1 s for the stimulator to arm" (McNair,
#: 2022, ``Magstim.arm`` docstring; ``arm(delay=True)`` sleeps 1.1 s). [magpy]
RAPID_ARM_DELAY_S: Final[float] = 1.0

#: Highest pulse rate in single-pulse mode: "In single-pulse mode, the maximum firing
#: frequency is 1 Hz" (McNair, 2022, ``Rapid`` class docstring). Faster trains are
#: timed by the device in rTMS mode. [magpy]
RAPID_SINGLE_PULSE_MAX_HZ: Final[float] = 1.0

#: Keep-alive period while armed: magpy pokes the Rapid every 500 ms when armed
#: (5 s when disarmed) to keep remote control (McNair, 2022,
#: ``serialPortController.run``). [magpy]
RAPID_KEEPALIVE_ARMED_S: Final[float] = 0.5

#: Energy per pulse at 100 % MSO, J: the Rapid energy table ``joules`` runs from 0 to
#: 252 J and is quadratic in power, e.g. 63.0 J at 50 % (McNair, 2022,
#: ``rapid_system_info.yaml``; the same table is ``energyPowerTable`` in MAGIC,
#: Saatlou et al., 2018). Used to scale coil heating with intensity squared.
#: [magpy] [saatlou2018]
RAPID_PULSE_ENERGY_AT_MSO_J: Final[float] = 252.0

#: Coil over-temperature cut-off, degC: "Magstim units will automatically disarm (and
#: cannot be armed) if the coil temperature exceeds 40 degrees celsius" (McNair,
#: 2022, ``Magstim.getTemperature`` docstring). The MagVenture emulator uses the same
#: figure, which is not verified for MagVenture coils. [magpy]
COIL_MAX_TEMPERATURE_C: Final[float] = 40.0

# ---------------------------------------------------------------------------
# MagVenture MagPro (from magicpy 0.1.6, ``magicpy/magicpy.py``; verified in code).
# ---------------------------------------------------------------------------

#: Serial link speed of the MagVenture: 38400 baud, 8N1 (Numssen, 2024,
#: ``MagVenture.__init__``; MAGIC ``magventure.m``, Saatlou et al., 2018).
#: [magicpy] [saatlou2018]
MAGVENTURE_BAUD: Final[int] = 38400

# ---------------------------------------------------------------------------
# Host timing and link supervision (software design choices).
# ---------------------------------------------------------------------------

#: Highest train rate that ``timing="auto"`` fires pulse by pulse over serial, Hz;
#: faster trains are timed by the device. Serial firing "has a high jitter" (Numssen,
#: 2024, ``MagVenture.fire`` docstring), and the Rapid's single-pulse mode stops at
#: 1 Hz (McNair, 2022). [design] [magicpy] [magpy]
HOST_TIMED_MAX_HZ: Final[float] = 1.0

#: After the first reply frame, further frames of the same reply are collected
#: while they keep arriving within this window, s (the MagVenture answers "enable"
#: with several messages). [design]
REPLY_SETTLE_S: Final[float] = 0.02

#: How long a reply may take before the link is declared dead, s. A Magstim reply
#: of at most 24 bytes takes 25 ms at 9600 baud; one second leaves a wide margin
#: without stalling a train for long. [design]
REPLY_TIMEOUT_S: Final[float] = 1.0

#: Precise waits sleep until this long before the deadline, then spin on the
#: monotonic clock, s: longer than the usual scheduler overshoot of a sleeping
#: thread (about 0.1-1 ms on Linux), short enough to cost little CPU. [design]
SPIN_WINDOW_S: Final[float] = 0.002

#: Polling period of the device state during a device-timed train, s. [design]
DEVICE_POLL_INTERVAL_S: Final[float] = 0.1

#: Longest wait for a freshly armed device to report ready before a train, s: the
#: Rapid arming time plus margin. [design]
READY_TIMEOUT_S: Final[float] = 3.0

# ---------------------------------------------------------------------------
# Simulated coil and device (modelling choices, not literature values).
# ---------------------------------------------------------------------------

#: Ambient (and starting) coil temperature of the simulated coil, degC. [simdesign]
SIM_AMBIENT_C: Final[float] = 23.0

#: Temperature rise of the simulated coil per pulse at 100 % MSO, degC; scaled by
#: (intensity / 100)**2 like the pulse energy. With 0.01 degC a 10 Hz train at
#: 100 % MSO heats the coil by 0.1 degC/s, so an air-cooled coil stops after a few
#: minutes of continuous high-intensity rTMS. [simdesign]
SIM_HEAT_PER_PULSE_AT_MSO_C: Final[float] = 0.01

#: Cooling time constant of the simulated coil toward ambient, s. [simdesign]
SIM_COOLING_TAU_S: Final[float] = 900.0

#: Arm-to-ready (charging) delay of the simulator, s: the Rapid arming time.
#: [simdesign] [magpy]
SIM_ARM_DELAY_S: Final[float] = 1.0
