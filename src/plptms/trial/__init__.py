"""Multicentre randomised trials: randomisation, analysis, monitoring (core).

The science of a trial, on data: allocation methods, group-sequential
boundaries, blinding indices and the primary analysis. It never imports the
registry or the application layer; the trial engine in :mod:`plptms.workflow`
stores every allocation, visit and event as an audited registry record.
"""

from ._analysis import (
    AnalysisSets,
    ArmResponders,
    ResponderAnalysis,
    analysis_sets,
    durability,
    moderator_analysis,
    responder_analysis,
)
from ._blinding import (
    BangBlindingIndex,
    BlindingAssessment,
    JamesBlindingIndex,
    bang_blinding_index,
    blinding_indices,
    james_blinding_index,
)
from ._consort import ConsortArm, ConsortFlow, consort_diagram, write_consort
from ._mmrm import (
    MMRMConvergenceError,
    MMRMEstimate,
    MMRMResult,
    MMRMSpec,
    fit_mmrm,
)
from ._prng import HmacRandom
from ._randomisation import (
    Allocation,
    AllocationRecord,
    BlockState,
    Minimisation,
    PermutedBlocks,
    SimpleRandomisation,
    SimulatedAllocations,
    allocate,
    correct_guess_probability,
    exact_block_correct_guesses,
    exact_simple_imbalance,
    factor_imbalance,
    final_imbalance,
    pocock_simon_scores,
    simulate_allocations,
)
from ._sequential import (
    GroupSequentialBoundaries,
    InterimDecision,
    crossing_probabilities,
    evaluate_interim,
    lan_demets_boundaries,
    obrien_fleming_boundaries,
    pocock_boundaries,
    spending_function,
)

__all__ = [
    "Allocation",
    "AllocationRecord",
    "AnalysisSets",
    "ArmResponders",
    "BangBlindingIndex",
    "BlindingAssessment",
    "BlockState",
    "ConsortArm",
    "ConsortFlow",
    "GroupSequentialBoundaries",
    "HmacRandom",
    "InterimDecision",
    "JamesBlindingIndex",
    "MMRMConvergenceError",
    "MMRMEstimate",
    "MMRMResult",
    "MMRMSpec",
    "Minimisation",
    "PermutedBlocks",
    "ResponderAnalysis",
    "SimpleRandomisation",
    "SimulatedAllocations",
    "allocate",
    "analysis_sets",
    "bang_blinding_index",
    "blinding_indices",
    "consort_diagram",
    "correct_guess_probability",
    "crossing_probabilities",
    "durability",
    "evaluate_interim",
    "exact_block_correct_guesses",
    "exact_simple_imbalance",
    "factor_imbalance",
    "final_imbalance",
    "fit_mmrm",
    "james_blinding_index",
    "lan_demets_boundaries",
    "moderator_analysis",
    "obrien_fleming_boundaries",
    "pocock_boundaries",
    "pocock_simon_scores",
    "responder_analysis",
    "simulate_allocations",
    "spending_function",
    "write_consort",
]
