"""Scalp and stereotaxic targeting: 10-20 positions, Beam F3, MNI targets, plans.

Targets: M1 (hand, leg), S1, the supplementary motor complex (SMC) and DLPFC.
Talairach coordinates are converted to MNI with the Lancaster et al. (2007)
transform.

Pure core: values in, values out. MNE-Python and SciPy (template geometry) and
Matplotlib (the targeting sheet) are imported only inside the functions that use
them.
"""

from ._beam import BeamResult, BeamVariant, beam_f3
from ._head import HeadMeasurements
from ._mni import MNI_TARGETS, MNICoordinate, mni_target
from ._plan import PlannedSite, TargetPlan, plan_targets
from ._positions import (
    ScalpPosition,
    jasper_positions,
    scalp_position_from_tape,
    scalp_positions,
)
from ._rules import (
    FIVE_CM_RULE_KNOWN_ERROR,
    FiveCmRuleResult,
    five_cm_rule,
    leg_hotspot_estimate,
    m1_hand_estimate,
    s1_from_hotspot,
    smc_estimate,
)
from ._sheet import plot_targeting_sheet
from ._talairach import (
    DEFAULT_TALAIRACH_TRANSFORM,
    TalairachTransform,
    mni_to_talairach,
    talairach_to_mni,
)

__all__ = [
    "DEFAULT_TALAIRACH_TRANSFORM",
    "FIVE_CM_RULE_KNOWN_ERROR",
    "MNI_TARGETS",
    "BeamResult",
    "BeamVariant",
    "FiveCmRuleResult",
    "HeadMeasurements",
    "MNICoordinate",
    "PlannedSite",
    "ScalpPosition",
    "TalairachTransform",
    "TargetPlan",
    "beam_f3",
    "five_cm_rule",
    "jasper_positions",
    "leg_hotspot_estimate",
    "m1_hand_estimate",
    "mni_target",
    "mni_to_talairach",
    "plan_targets",
    "plot_targeting_sheet",
    "s1_from_hotspot",
    "scalp_position_from_tape",
    "scalp_positions",
    "smc_estimate",
    "talairach_to_mni",
]
