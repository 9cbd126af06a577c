"""Literature constants of the E-field dose model.

Every value cites its source. "Verified" in a comment means the number was read from
the cited source itself (or from the source's public data files named in the comment);
"to verify" means it is a modelling choice or a value not yet checked against the
primary publication, and is reported as such by :func:`plptms.efield.standard_coil`.
"""

from __future__ import annotations

from typing import Final

# --- Physics --------------------------------------------------------------------------

#: mu_0 / (4 pi) in T m / A, as used by Heller & van Hulsteyn (1992) and by SimNIBS's
#: ``tms_E_field`` (the exact pre-2019 SI value; the 2019 SI value differs by 5.5e-10
#: relative). [heller1992]
MU0_OVER_4PI_T_M_PER_A: Final[float] = 1e-7

# --- Spherical head model -------------------------------------------------------------

#: Radius of the spherical head model, m: 8.5 cm (Deng et al., 2013, Methods; also the
#: 85 mm sphere of Thielscher & Kammer, 2004). Verified in the SimNIBS-distributed
#: documentation of the Deng coil set. [deng2013]
HEAD_RADIUS_M: Final[float] = 0.085

#: Depth of the cortical surface below the scalp in the spherical model, mm: 15 mm
#: (brain surface at r = 7.0 cm in an 8.5 cm sphere; Deng et al., 2013). [deng2013]
CORTEX_DEPTH_MM: Final[float] = 15.0

# --- Coil geometry: Magstim 70 mm figure-of-eight (P/N 9925, 3190) --------------------

#: Magstim 70 mm figure-of-eight, outer winding diameter, m: 87 mm (Deng et al., 2013,
#: supplementary table, coil #31, as reproduced in the SimNIBS coil documentation).
#: Verified there. [deng2013]
MAGSTIM_70MM_FIG8_OUTER_DIAMETER_M: Final[float] = 0.087

#: Magstim 70 mm figure-of-eight, inner winding diameter, m: 56 mm (Deng et al., 2013,
#: coil #31). Verified as above. [deng2013]
MAGSTIM_70MM_FIG8_INNER_DIAMETER_M: Final[float] = 0.056

#: Magstim 70 mm figure-of-eight, turns per wing: 9 (Deng et al., 2013, coil #31).
#: Verified as above. [deng2013]
MAGSTIM_70MM_FIG8_TURNS_PER_WING: Final[int] = 9

#: Magstim 70 mm figure-of-eight, winding cross-section height, m: 6 mm (wire 1.75 mm x
#: 6 mm; Deng et al., 2013, coil #31). Verified as above. [deng2013]
MAGSTIM_70MM_FIG8_WINDING_HEIGHT_M: Final[float] = 0.006

#: Magstim 70 mm figure-of-eight, wing centre-to-centre distance, m: 90 mm, read from
#: the X-ray based dipole model of Thielscher & Kammer (2004) distributed with SimNIBS
#: (``legacy_and_other/Magstim_70mm_Fig8.ccd``: wing centres at x = +-45 mm).
#: Verified in that file; not stated in the paper text seen. [thielscher2004]
MAGSTIM_70MM_FIG8_WING_SEPARATION_M: Final[float] = 0.090

#: Magstim 70 mm figure-of-eight, height of the winding mid-plane above the coil's
#: bottom surface, m: 6.5 mm (dipole layers at 4.2, 6.5 and 8.8 mm in the Thielscher &
#: Kammer (2004) model distributed with SimNIBS). Verified in that file.
#: [thielscher2004]
MAGSTIM_70MM_FIG8_WINDING_OFFSET_M: Final[float] = 0.0065

# --- Coil geometry: Magstim 70 mm circular (P/N 9762) ---------------------------------

#: Magstim 70 mm circular coil, outer winding diameter, m: 94 mm (Deng et al., 2013,
#: coil #4). Verified in the SimNIBS reproduction of the table. [deng2013]
MAGSTIM_70MM_CIRCULAR_OUTER_DIAMETER_M: Final[float] = 0.094

#: Magstim 70 mm circular coil, inner winding diameter, m: 40 mm (Deng et al., 2013,
#: coil #4). Verified as above. [deng2013]
MAGSTIM_70MM_CIRCULAR_INNER_DIAMETER_M: Final[float] = 0.040

#: Magstim 70 mm circular coil, turns: 15 (Deng et al., 2013, coil #4). Verified as
#: above. [deng2013]
MAGSTIM_70MM_CIRCULAR_TURNS: Final[int] = 15

#: Magstim 70 mm circular coil, winding height, m: 6 mm (wire 1.75 mm x 6 mm; Deng et
#: al., 2013, coil #4). Verified as above. [deng2013]
MAGSTIM_70MM_CIRCULAR_WINDING_HEIGHT_M: Final[float] = 0.006

# --- Coil geometry: MagVenture C-B60 butterfly, the B65 class -------------------------

#: MagVenture C-B60 butterfly, outer winding diameter, m: 75 mm (Deng et al., 2013,
#: coil #29). Verified in the SimNIBS reproduction of the table. [deng2013]
MAGVENTURE_CB60_OUTER_DIAMETER_M: Final[float] = 0.075

#: MagVenture C-B60 butterfly, inner winding diameter, m: 35 mm (Deng et al., 2013,
#: coil #29). Verified as above. [deng2013]
MAGVENTURE_CB60_INNER_DIAMETER_M: Final[float] = 0.035

#: MagVenture C-B60 butterfly, turns per wing and layer: 5, in 2 layers (Deng et al.,
#: 2013, coil #29). Verified as above. [deng2013]
MAGVENTURE_CB60_TURNS_PER_LAYER: Final[int] = 5

#: MagVenture C-B60 butterfly, winding layers per wing: 2 (Deng et al., 2013, coil
#: #29). Verified as above. [deng2013]
MAGVENTURE_CB60_LAYERS: Final[int] = 2

#: MagVenture C-B60 butterfly, total height of the two-layer winding, m: 11 mm (the
#: 11 mm of the 1.75 mm x 11 mm stranded cross-section, Deng et al., 2013, coil #29;
#: that it spans both layers is an interpretation, TO VERIFY: the Drakaki et al. (2022)
#: C-B60 dipole layers span 11 mm in depth). [deng2013]
MAGVENTURE_CB60_WINDING_HEIGHT_M: Final[float] = 0.011

#: MagVenture butterfly (C-B60 / B65 class), wing centre-to-centre distance, m: 80 mm.
#: Modelling choice (wings 75 mm across plus casing gap), TO VERIFY against a data
#: sheet; the Drakaki et al. (2022) MCF-B65 dipole grid spans x = +-84 mm. [drakaki2022]
MAGVENTURE_BUTTERFLY_WING_SEPARATION_M: Final[float] = 0.080

#: MagVenture butterfly (C-B60 / B65 class), height of the winding mid-plane above the
#: coil's bottom surface, m: 9.5 mm, the middle of the 4-15 mm depth range of the
#: Drakaki et al. (2022) C-B60 dipole layers (SimNIBS file MagVenture_C-B60.ccd).
#: Read from that file; as a winding height it is a modelling choice, TO VERIFY.
#: [drakaki2022]
MAGVENTURE_BUTTERFLY_WINDING_OFFSET_M: Final[float] = 0.0095

# --- Stimulators: maximal dI/dt at 100 % MSO ------------------------------------------
# Drakaki et al. (2022), Table 2: dI/dt at 100 % MSO of the most common biphasic
# stimulator for each coil. Verified against the ``dIdtmax`` field of the coil files
# the authors distribute with SimNIBS (``coil_models/Drakaki_BrainStim_2022``); the
# paper's table itself was not opened.

#: Magstim Rapid with the Magstim D70 (70 mm double) coil: 114.73 A/us at 100 % MSO
#: (Drakaki et al., 2022, Table 2; SimNIBS file MagStim_D70.ccd). [drakaki2022]
MAGSTIM_RAPID_D70_MAX_DIDT_A_PER_US: Final[float] = 114.73

#: MagPro X100 with the MagVenture MCF-B65: 147.86 A/us at 100 % MSO (Drakaki et al.,
#: 2022, Table 2; SimNIBS file MagVenture_MCF-B65.ccd). [drakaki2022]
MAGPRO_X100_MCF_B65_MAX_DIDT_A_PER_US: Final[float] = 147.86

#: MagPro X100 with the MagVenture Cool-B65: 149.77 A/us at 100 % MSO (Drakaki et al.,
#: 2022, Table 2; SimNIBS file MagVenture_Cool-B65.ccd). [drakaki2022]
MAGPRO_X100_COOL_B65_MAX_DIDT_A_PER_US: Final[float] = 149.77

#: MagPro X100 with the MagVenture C-B60: 155.40 A/us at 100 % MSO (Drakaki et al.,
#: 2022, Table 2; SimNIBS file MagVenture_C-B60.ccd). [drakaki2022]
MAGPRO_X100_C_B60_MAX_DIDT_A_PER_US: Final[float] = 155.40

#: MagPro X100 with the MagVenture MC-B70: 155.33 A/us at 100 % MSO (Drakaki et al.,
#: 2022, Table 2; SimNIBS file MagVenture_MC-B70.ccd). [drakaki2022]
MAGPRO_X100_MC_B70_MAX_DIDT_A_PER_US: Final[float] = 155.33

#: Deymed DuoMAG XT with the Deymed 70BF: 101.06 A/us at 100 % MSO (Drakaki et al.,
#: 2022, Table 2; SimNIBS file Deymed_70BF.ccd). [drakaki2022]
DUOMAG_XT_70BF_MAX_DIDT_A_PER_US: Final[float] = 101.06

#: Mag&More PowerMAG with the PMD70: 241.28 A/us at 100 % MSO (Drakaki et al., 2022,
#: Table 2; SimNIBS file MagMore_PMD70.ccd). [drakaki2022]
POWERMAG_PMD70_MAX_DIDT_A_PER_US: Final[float] = 241.28

# --- Dose transfer --------------------------------------------------------------------

#: Distance adjustment of the motor threshold: + 3 % MSO per mm of extra scalp-cortex
#: distance, adjusted MT = MT + 3 (D_site - D_M1) (Stokes et al., 2005, abstract:
#: "an additional 3% of TMS output"). Verified in the abstract. [stokes2005]
STOKES2005_SLOPE_PCT_MSO_PER_MM: Final[float] = 3.0

#: The same slope measured with 5 and 10 mm separators: 2.8 % MSO per mm (Stokes et
#: al., 2007, abstract). Verified in the abstract. [stokes2007]
STOKES2007_SLOPE_PCT_MSO_PER_MM: Final[float] = 2.8

#: Stimulator output ceiling, % MSO: nothing above 100 % can be delivered. [device]
MAX_PCT_MSO: Final[float] = 100.0

# --- Coil placement -------------------------------------------------------------------

#: Scale of the coil-placement search of the auxiliary dipole method: about 5,900 scalp
#: positions (Gomez et al., 2021). [gomez2021]
GOMEZ2021_N_POSITIONS: Final[int] = 5900

#: Orientations per position in that search: 360 (1 degree steps; Gomez et al., 2021).
#: [gomez2021]
GOMEZ2021_N_ORIENTATIONS: Final[int] = 360
