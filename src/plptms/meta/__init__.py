"""Evidence synthesis: effect sizes, meta-analysis, meta-regression and plots.

The Table 2 studies of the source review ship as data (:func:`load_evidence`) with
only what the review reports, and users add studies as validated data files
(``load_evidence(extra=...)``); :func:`collect_effects` turns them into effects (or
says why an effect is not estimable), and the engine pools them
(:func:`meta_analysis`, :func:`meta_regression`, :func:`subgroup_analysis`,
:func:`leave_one_out`, :func:`tau2_confint`, :func:`egger_test`,
:func:`trim_and_fill`, :func:`permutation_test`). Importing this package loads
neither scipy, statsmodels nor matplotlib.
"""

from ._bias import EggerResult, TrimFillResult, egger_test, trim_and_fill
from ._constants import EGGER_MIN_STUDIES
from ._effects import (
    EffectMeasure,
    EffectSize,
    NotEstimable,
    estimate_effect,
    hedges_correction,
    hedges_g,
    log_ratio_of_means,
    mean_difference,
    mean_difference_from_test,
    percent_change_difference,
    smd_from_test,
    t_from_p,
)
from ._evidence import (
    EffectTable,
    EvidenceFileError,
    collect_effects,
    load_evidence,
    read_outcome_study,
    validate_outcome_study,
)
from ._fit import (
    Coefficient,
    ConvergenceError,
    MetaRegressionResult,
    MetaResult,
    Prediction,
    Tau2Method,
    TestType,
    meta_analysis,
    meta_regression,
)
from ._heterogeneity import HeterogeneityInterval, describe_i2, tau2_confint
from ._models import (
    ArmSummary,
    Comparison,
    FrequencyClass,
    OutcomeRecord,
    OutcomeStudy,
    ReportedTest,
    StudyDesign,
    StudyModerators,
    TestDirection,
    Timepoint,
)
from ._permutation import (
    PermutationCoefficient,
    PermutationResult,
    permutation_test,
)
from ._permutation_blocks import PERMUTATION_BLOCK, blocked_permutation_test
from ._plots import forest_plot, funnel_plot
from ._sensitivity import (
    LeaveOneOutRow,
    SubgroupResult,
    leave_one_out,
    subgroup_analysis,
)

__all__ = [
    "EGGER_MIN_STUDIES",
    "PERMUTATION_BLOCK",
    "ArmSummary",
    "Coefficient",
    "Comparison",
    "ConvergenceError",
    "EffectMeasure",
    "EffectSize",
    "EffectTable",
    "EggerResult",
    "EvidenceFileError",
    "FrequencyClass",
    "HeterogeneityInterval",
    "LeaveOneOutRow",
    "MetaRegressionResult",
    "MetaResult",
    "NotEstimable",
    "OutcomeRecord",
    "OutcomeStudy",
    "PermutationCoefficient",
    "PermutationResult",
    "Prediction",
    "ReportedTest",
    "StudyDesign",
    "StudyModerators",
    "SubgroupResult",
    "Tau2Method",
    "TestDirection",
    "TestType",
    "Timepoint",
    "TrimFillResult",
    "blocked_permutation_test",
    "collect_effects",
    "describe_i2",
    "egger_test",
    "estimate_effect",
    "forest_plot",
    "funnel_plot",
    "hedges_correction",
    "hedges_g",
    "leave_one_out",
    "load_evidence",
    "log_ratio_of_means",
    "mean_difference",
    "mean_difference_from_test",
    "meta_analysis",
    "meta_regression",
    "percent_change_difference",
    "permutation_test",
    "read_outcome_study",
    "smd_from_test",
    "subgroup_analysis",
    "t_from_p",
    "tau2_confint",
    "trim_and_fill",
    "validate_outcome_study",
]
