"""Stimulation protocols as validated, comparable data, and the shipped library."""

from ._io import ProtocolFileError, format_validation_error, load_data, read_protocol
from ._library import ProtocolLibrary, load_library
from ._models import (
    UNREPORTED,
    Amputation,
    Arm,
    CoilType,
    Condition,
    CourseBlock,
    Hemisphere,
    Laterality,
    Limb,
    LimbSide,
    Pattern,
    Protocol,
    StimulationDose,
    Study,
    TargetSite,
)
from ._range import (
    Conformance,
    ConformanceItem,
    Interval,
    ProtocolRange,
    Recommendation,
)
from ._resolve import PlannedBlock, plan_blocks, resolve_hemisphere, resolve_target

__all__ = [
    "UNREPORTED",
    "Amputation",
    "Arm",
    "CoilType",
    "Condition",
    "Conformance",
    "ConformanceItem",
    "CourseBlock",
    "Hemisphere",
    "Interval",
    "Laterality",
    "Limb",
    "LimbSide",
    "Pattern",
    "PlannedBlock",
    "Protocol",
    "ProtocolFileError",
    "ProtocolLibrary",
    "ProtocolRange",
    "Recommendation",
    "StimulationDose",
    "Study",
    "TargetSite",
    "format_validation_error",
    "load_data",
    "load_library",
    "plan_blocks",
    "read_protocol",
    "resolve_hemisphere",
    "resolve_target",
]
