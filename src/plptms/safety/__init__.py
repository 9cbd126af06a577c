"""Safety: train limits, protocol checks with cited verdicts, and screening."""

from ._engine import SafetyPolicy, check_dose, check_protocol, intensity_pct_mso
from ._screening import (
    Answer,
    ItemClass,
    ScreeningAnswers,
    ScreeningFinding,
    ScreeningItem,
    ScreeningReport,
    ScreeningStatus,
    load_screening_items,
    screen,
)
from ._train_table import (
    TableCell,
    TrainLimit,
    max_train_duration,
    max_train_duration_array,
    table_cells,
)
from ._verdict import (
    Decision,
    Override,
    RuleResult,
    RuleStatus,
    SafetyCheckIncompleteError,
    SafetyContraindicationError,
    SafetyError,
    UnsafeProtocolError,
    Verdict,
)

__all__ = [
    "Answer",
    "Decision",
    "ItemClass",
    "Override",
    "RuleResult",
    "RuleStatus",
    "SafetyCheckIncompleteError",
    "SafetyContraindicationError",
    "SafetyError",
    "SafetyPolicy",
    "ScreeningAnswers",
    "ScreeningFinding",
    "ScreeningItem",
    "ScreeningReport",
    "ScreeningStatus",
    "TableCell",
    "TrainLimit",
    "UnsafeProtocolError",
    "Verdict",
    "check_dose",
    "check_protocol",
    "intensity_pct_mso",
    "load_screening_items",
    "max_train_duration",
    "max_train_duration_array",
    "screen",
    "table_cells",
]
