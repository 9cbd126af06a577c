"""Stimulator-coil pairs: the coil current's rate of change at a given output.

dI/dt at 100 % of maximum stimulator output (MSO) depends on both the stimulator and
the coil (its inductance), so the table is keyed by the pair. Values are from
Drakaki et al. :footcite:`drakaki2022`, Table 2, verified against the ``dIdtmax``
field of the coil files the authors distribute with SimNIBS. The output scales
linearly with the % MSO setting.

.. footbibliography::
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, field_validator

from ..utils import check_option, check_range
from . import _constants as C

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["STIMULATORS", "Stimulator", "get_stimulator"]


class Stimulator(BaseModel):
    """A stimulator driving a given coil.

    Parameters
    ----------
    key : str
        Table key, ``"<stimulator>/<coil>"``.
    stimulator : str
        Stimulator model.
    coil : str
        Coil model the dI/dt was measured with.
    max_didt_a_per_us : float
        dI/dt at 100 % MSO, A/us, in (0, 1000].
    citation : str
        Source of the value.
    verified : bool
        Whether the value was checked against the source (see ``citation``).
    standard_coil : str | None
        The :func:`~plptms.efield.standard_coil` this pair corresponds to, if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    stimulator: str
    coil: str
    max_didt_a_per_us: float
    citation: str
    verified: bool
    standard_coil: str | None = None

    @field_validator("max_didt_a_per_us")
    @classmethod
    def _check_didt(cls, v: float) -> float:
        return check_range(
            v, "max_didt_a_per_us", 0.0, 1000.0, low_inclusive=False, unit="A/us"
        )

    def didt_a_per_s(self, intensity_pct_mso: float) -> float:
        """dI/dt at an output setting.

        Parameters
        ----------
        intensity_pct_mso : float
            Output, % MSO, in (0, 100].

        Returns
        -------
        didt : float
            Rate of change of the coil current, A/s.

        Raises
        ------
        ValueError
            If the setting is outside (0, 100] % MSO: a stimulator cannot deliver
            more than its maximum; nothing is clamped.
        """
        pct = check_range(
            intensity_pct_mso,
            "intensity_pct_mso",
            0.0,
            C.MAX_PCT_MSO,
            low_inclusive=False,
            unit="% MSO",
        )
        return self.max_didt_a_per_us * 1e6 * pct / 100.0


_CIT = (
    "Drakaki et al. 2022, Table 2 (verified against dIdtmax in the SimNIBS coil file "
    "{file})"
)


def _entry(
    key: str,
    stimulator: str,
    coil: str,
    value: float,
    file: str,
    standard: str | None = None,
) -> Stimulator:
    return Stimulator(
        key=key,
        stimulator=stimulator,
        coil=coil,
        max_didt_a_per_us=value,
        citation=_CIT.format(file=file),
        verified=True,
        standard_coil=standard,
    )


#: The stimulator-coil table, keyed ``"<stimulator>/<coil>"``.
STIMULATORS: Mapping[str, Stimulator] = MappingProxyType(
    {
        s.key: s
        for s in (
            _entry(
                "magstim_rapid/d70",
                "Magstim Rapid",
                "Magstim D70 (70 mm double coil)",
                C.MAGSTIM_RAPID_D70_MAX_DIDT_A_PER_US,
                "MagStim_D70.ccd",
                "magstim_70mm_fig8",
            ),
            _entry(
                "magpro_x100/mcf_b65",
                "MagVenture MagPro X100",
                "MagVenture MCF-B65",
                C.MAGPRO_X100_MCF_B65_MAX_DIDT_A_PER_US,
                "MagVenture_MCF-B65.ccd",
                "magventure_b65_class",
            ),
            _entry(
                "magpro_x100/cool_b65",
                "MagVenture MagPro X100",
                "MagVenture Cool-B65",
                C.MAGPRO_X100_COOL_B65_MAX_DIDT_A_PER_US,
                "MagVenture_Cool-B65.ccd",
                "magventure_b65_class",
            ),
            _entry(
                "magpro_x100/c_b60",
                "MagVenture MagPro X100",
                "MagVenture C-B60",
                C.MAGPRO_X100_C_B60_MAX_DIDT_A_PER_US,
                "MagVenture_C-B60.ccd",
                "magventure_c_b60",
            ),
            _entry(
                "magpro_x100/mc_b70",
                "MagVenture MagPro X100",
                "MagVenture MC-B70",
                C.MAGPRO_X100_MC_B70_MAX_DIDT_A_PER_US,
                "MagVenture_MC-B70.ccd",
            ),
            _entry(
                "duomag_xt/70bf",
                "Deymed DuoMAG XT",
                "Deymed 70BF",
                C.DUOMAG_XT_70BF_MAX_DIDT_A_PER_US,
                "Deymed_70BF.ccd",
            ),
            _entry(
                "powermag/pmd70",
                "Mag&More PowerMAG",
                "Mag&More PMD70",
                C.POWERMAG_PMD70_MAX_DIDT_A_PER_US,
                "MagMore_PMD70.ccd",
            ),
        )
    }
)


def get_stimulator(key: str) -> Stimulator:
    """Look up a stimulator-coil pair.

    Parameters
    ----------
    key : str
        A key of :data:`STIMULATORS`, e.g. ``"magstim_rapid/d70"``.

    Returns
    -------
    stimulator : Stimulator
        The entry.

    Raises
    ------
    ValueError
        If the key is unknown (the message lists the keys and suggests one).
    """
    check_option(key, "stimulator", list(STIMULATORS))
    return STIMULATORS[key]
