"""Clinical scales for phantom limb pain: scoring, responders, PLP history, MME.

Pure core: values in, values out. Only item identifiers, ranges and scoring rules
are stored, never the (licensed) item wording.
"""

from ._constants import IMMPACT_MODERATE_PCT, IMMPACT_SUBSTANTIAL_PCT
from ._definitions import (
    PainInstrument,
    PainSite,
    PainSummary,
    get_scale,
    list_scales,
    load_value_sets,
    pain_intensity_scale_id,
)
from ._history import (
    AmputationCause,
    AmputationLevel,
    Analgesic,
    AnalgesicClass,
    AttackFrequency,
    AttackPeriod,
    PLPHistory,
    ProsthesisUse,
    Trigger,
    levels_for,
)
from ._mme import DoseUnit, Opioid, OpioidDose, daily_mme, mme_conversion_factor
from ._models import (
    Aggregation,
    Band,
    ItemDecrements,
    ItemDefinition,
    ScaleDefinition,
    ScaleScore,
    SubscaleDefinition,
    ValueSet,
)
from ._records import ScoredRecord, score_record
from ._response import (
    ResponderClass,
    ResponseResult,
    assess_response,
    classify_percent_change,
    classify_pgic,
    classify_response,
    is_bpi_interference_responder,
    is_pgic_responder,
    percent_change,
)
from ._scoring import score, validate_item

__all__ = [
    "IMMPACT_MODERATE_PCT",
    "IMMPACT_SUBSTANTIAL_PCT",
    "Aggregation",
    "AmputationCause",
    "AmputationLevel",
    "Analgesic",
    "AnalgesicClass",
    "AttackFrequency",
    "AttackPeriod",
    "Band",
    "DoseUnit",
    "ItemDecrements",
    "ItemDefinition",
    "Opioid",
    "OpioidDose",
    "PLPHistory",
    "PainInstrument",
    "PainSite",
    "PainSummary",
    "ProsthesisUse",
    "ResponderClass",
    "ResponseResult",
    "ScaleDefinition",
    "ScaleScore",
    "ScoredRecord",
    "SubscaleDefinition",
    "Trigger",
    "ValueSet",
    "assess_response",
    "classify_percent_change",
    "classify_pgic",
    "classify_response",
    "daily_mme",
    "get_scale",
    "is_bpi_interference_responder",
    "is_pgic_responder",
    "levels_for",
    "list_scales",
    "load_value_sets",
    "mme_conversion_factor",
    "pain_intensity_scale_id",
    "percent_change",
    "score",
    "score_record",
    "validate_item",
]
