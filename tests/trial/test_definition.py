"""Tests of the trial definition, its safety check and its amendments."""

from __future__ import annotations

import copy
import math
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy import stats

from plptms.protocol import Condition, ProtocolFileError, load_data
from plptms.safety import Decision
from plptms.trial import HmacRandom, Minimisation, PermutedBlocks, SimpleRandomisation
from plptms.trial import allocate as trial_allocate
from plptms.trial._definition import (
    ADVERSE_EVENT_TERMS,
    RELATEDNESS_LEVELS,
    Eligibility,
    InterimSpec,
    StoppingRule,
    TrialAmendmentError,
    TrialDefinition,
    TrialDefinitionError,
    amend_definition,
    check_definition_safety,
    definition_verdicts,
    diff_definitions,
    plan_amendment,
    read_trial_definition,
    refused_arms,
)
from plptms.trial._randomisation import AllocationRecord

EXAMPLE = Path(str(resources.files("plptms.trial") / "data" / "example_trial.yaml"))
ATOL_Z = 1e-6  # boundary z values: the integration grid is far finer than this
REFUSED_PROTOCOL = "malavera2016-m1-10hz"  # refused as published (train duration)


@pytest.fixture(scope="module")
def example_data() -> dict[str, Any]:
    data = load_data(EXAMPLE)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def example(example_data: dict[str, Any]) -> TrialDefinition:
    return TrialDefinition.model_validate(example_data)


def _with(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Copy of ``data`` with the value at a dotted path (list indices as ints)."""
    out = copy.deepcopy(data)
    keys = path.split(".")
    node: Any = out
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


# --------------------------------------------------------------------------------------
# The example
# --------------------------------------------------------------------------------------
def test_example_reads_and_passes() -> None:
    """The shipped 2x2 example reads with the safe loader and passes every check."""
    defn = read_trial_definition(EXAMPLE)
    assert defn.id == "plp-rtms-mirror-2x2"
    assert defn.version == 1
    assert defn.site_codes == ("S01", "S02", "S03")
    assert defn.arm_ids == ("active_mt", "active_no_mt", "sham_mt", "sham_no_mt")
    assert [a.condition for a in defn.arms] == ["active", "active", "sham", "sham"]
    assert {a.co_interventions["mirror_therapy"] for a in defn.arms} == {"yes", "no"}
    assert [f.id for f in defn.stratification] == ["site", "limb", "pain_band"]
    assert defn.factor("site").levels == ("S01", "S02", "S03")
    # baseline, 10 sessions, end of course, 3 follow-ups
    assert len(defn.visits) == 15
    assert [v.id for v in defn.visits if v.id.startswith("session_")] == [
        f"session_{k:02d}" for k in range(1, 11)
    ]
    assert [e.id for e in defn.primary_endpoints] == ["nrs_change_eoc"]
    primary = defn.primary_endpoints[0]
    assert (primary.scale_id, primary.visit_id, primary.measure) == (
        "nrs_phantom_average",
        "end_of_course",
        "change_from_baseline",
    )
    secondary = {e.scale_id for e in defn.endpoints if e.kind == "secondary"}
    assert {"pgic", "bpi_interference", "eq5d5l_england", "ham_d17"} <= secondary
    assert [i.information_fraction for i in defn.interim] == [0.5]
    assert defn.interim[0].spending == "obrien_fleming"


def test_example_follow_up_days_follow_the_month_convention(
    example: TrialDefinition,
) -> None:
    """Follow-ups 1, 3, 6 months after the end of course: 30, 91, 182 days later.

    floor(k * 365.2425 / 12) for k = 1, 3, 6 (the mean Gregorian month).
    """
    eoc = example.visit("end_of_course").day
    got = [example.visit(f"followup_{k}m").day - eoc for k in (1, 3, 6)]
    assert got == [30, 91, 182]


def test_example_randomiser_is_minimisation(example: TrialDefinition) -> None:
    """Minimisation on site, limb and pain band with the arms' ratios (1:1:1:1)."""
    cfg = example.randomiser()
    assert isinstance(cfg, Minimisation)
    assert cfg == Minimisation(
        arms=("active_mt", "active_no_mt", "sham_mt", "sham_no_mt"),
        ratio=(1, 1, 1, 1),
        factors=("site", "limb", "pain_band"),
        weights=(1.0, 1.0, 1.0),
        imbalance="range",
        p=0.8,
    )


def test_randomiser_allocates_away_from_imbalance(example_data: dict) -> None:
    """Deterministic minimisation (p = 1) never repeats the first patient's arm.

    Pocock & Simon (1975): after one patient, every other arm has the lower
    imbalance for an identical second patient.
    """
    defn = TrialDefinition.model_validate(_with(example_data, "randomisation.p", 1.0))
    cfg = defn.randomiser()
    draw = HmacRandom(b"0123456789abcdef0123456789abcdef", defn.id)
    pt = defn.check_factors({"site": "S02", "limb": "lower", "pain_band": "nrs_7_10"})
    first = trial_allocate([], pt, cfg, draw)
    second = trial_allocate([AllocationRecord(first.arm, pt)], pt, cfg, draw)
    assert first.arm in defn.arm_ids
    assert second.arm != first.arm


def test_randomiser_blocks_and_simple(example_data: dict) -> None:
    """Blocks: strata are the factors when stratified; ratio carried to the config."""
    data = copy.deepcopy(example_data)
    data["randomisation"] = {"method": "blocks", "block_sizes": [4, 8]}
    cfg = TrialDefinition.model_validate(data).randomiser()
    assert isinstance(cfg, PermutedBlocks)
    assert cfg.strata == ("site", "limb", "pain_band")
    assert cfg.block_sizes == (4, 8)
    data["randomisation"]["stratify"] = False
    assert TrialDefinition.model_validate(data).randomiser().strata == ()
    data["randomisation"] = {"method": "simple"}
    for arm, r in zip(data["arms"], (2, 2, 1, 1), strict=True):
        arm["ratio"] = r
    simple = TrialDefinition.model_validate(data).randomiser()
    assert isinstance(simple, SimpleRandomisation)
    assert simple.ratio == (2, 2, 1, 1)


def test_sham_arm_protocol_is_the_library_protocol_as_sham(
    example: TrialDefinition,
) -> None:
    """A sham arm delivers the same dose with condition sham."""
    active = example.arm_protocol("active_mt")
    sham = example.arm_protocol("sham_mt")
    assert active.condition is Condition.ACTIVE
    assert sham.condition is Condition.SHAM
    assert sham.id == active.id
    assert sham.blocks == active.blocks


def test_boundaries_first_look_closed_form(example: TrialDefinition) -> None:
    """b_1 = Phi^-1(1 - alpha_s(0.5)), alpha_s the O'Brien-Fleming type.

    Lan & DeMets (1983): alpha_s(t) = 2 - 2 Phi(z_{1 - a/2} / sqrt(t)) with
    a = 0.025 per side for a two-sided 0.05 test; the last look spends all of a.
    """
    b = example.boundaries()
    a = 0.025
    spent = 2 - 2 * stats.norm.cdf(stats.norm.ppf(1 - a / 2) / math.sqrt(0.5))
    assert b.information_fractions == (0.5, 1.0)
    assert b.upper[0] == pytest.approx(stats.norm.ppf(1 - spent), abs=ATOL_Z)
    assert b.cumulative_alpha[-1] == pytest.approx(2 * a, abs=1e-6)  # both sides


def test_accessors_name_the_field(example: TrialDefinition) -> None:
    with pytest.raises(KeyError, match=r"arm_id.*active_mt"):
        example.arm("active")
    with pytest.raises(KeyError, match="factor_id"):
        example.factor("age")
    with pytest.raises(ValueError, match="pain_band"):
        example.check_factors({"site": "S01", "limb": "upper", "pain_band": "mild"})
    with pytest.raises(ValueError, match="factors"):
        example.check_factors({"site": "S01", "limb": "upper"})


# --------------------------------------------------------------------------------------
# Validation: each error names its field
# --------------------------------------------------------------------------------------
def _drop_arm(data: dict) -> dict:
    out = copy.deepcopy(data)
    out["arms"] = out["arms"][:3]
    return out


def _dup_arm(data: dict) -> dict:
    out = copy.deepcopy(data)
    out["arms"][1]["id"] = out["arms"][0]["id"]
    return out


def _no_primary(data: dict) -> dict:
    out = copy.deepcopy(data)
    for e in out["endpoints"]:
        e["kind"] = "secondary"
    return out


def _swap_visits(data: dict) -> dict:
    out = copy.deepcopy(data)
    out["visits"][1], out["visits"][2] = out["visits"][2], out["visits"][1]
    return out


def _missing_ci(data: dict) -> dict:
    out = copy.deepcopy(data)
    out["arms"][0]["co_interventions"] = {}
    return out


def _two_spendings(data: dict) -> dict:
    out = copy.deepcopy(data)
    out["interim"] = [
        {"information_fraction": 0.3, "spending": "pocock"},
        {"information_fraction": 0.6, "spending": "obrien_fleming"},
    ]
    return out


def _decreasing_interim(data: dict) -> dict:
    out = copy.deepcopy(data)
    out["interim"] = [{"information_fraction": 0.6}, {"information_fraction": 0.3}]
    return out


BAD_CASES = [
    ("id", "X", "'id'"),
    ("version", 0, "'version'"),
    ("alpha", 0.7, "'alpha'"),
    ("sites.0.code", {"code": "S 01", "name": "x"}, "'code'"),
    ("arms.0.ratio", 0, "'ratio'"),
    ("arms.0.protocol_id", "consensus2024-example-10h", "'protocol_id'"),
    ("arms.0.co_interventions", {"mirror_therapy": "maybe"}, "'co_interventions'"),
    ("arms.0.condition", "placebo", "condition"),
    ("stratification.0.levels", ["S01", "S02"], "'levels'"),
    ("stratification.1.weight", -1.0, "'weight'"),
    ("randomisation.p", 0.1, "'p'"),
    ("randomisation.block_sizes", [4], "'block_sizes'"),
    ("eligibility.min_baseline_pain", 11, "'min_baseline_pain'"),
    ("eligibility.pain_scale_id", "ham_d17", "'pain_scale_id'"),
    ("eligibility.max_age_years", 10, "'max_age_years'"),
    ("visits.0.window_before_days", -1, "'window_before_days'"),
    ("visits.0.scales", ["nrs_phantom_avg"], "'scales'"),
    ("visits.0.day", 1, "'day'"),
    ("endpoints.0.visit_id", "week_2", "'visit_id'"),
    ("endpoints.2.measure", "responder_30", "'measure'"),
    ("endpoints.0.scale_id", "vas_phantom_average", "'scale_id'"),
    ("interim.0.information_fraction", 1.0, "'information_fraction'"),
    ("stopping_rules.0.event", "stroke", "'event'"),
    ("stopping_rules.1.relatedness", ["likely"], "'relatedness'"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD_CASES)
def test_invalid_value_names_field(
    example_data: dict, path: str, value: Any, field: str
) -> None:
    if path.startswith("sites.0.code"):
        data = _with(example_data, "sites.0", value)
    else:
        data = _with(example_data, path, value)
    with pytest.raises(ValidationError, match=field):
        TrialDefinition.model_validate(data)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_drop_arm, "'arms'.*factorial"),
        (_dup_arm, "'arms'.*duplicate"),
        (_no_primary, "'endpoints'.*primary"),
        (_swap_visits, "'day'.*increasing"),
        (_missing_ci, "'co_interventions'"),
        (_two_spendings, "'spending'"),
        (_decreasing_interim, "'information_fraction'.*increasing"),
    ],
)
def test_structural_errors_name_field(
    example_data: dict, mutate: Any, field: str
) -> None:
    with pytest.raises(ValidationError, match=field):
        TrialDefinition.model_validate(mutate(example_data))


def test_unknown_field_and_bad_file(tmp_path: Path, example_data: dict) -> None:
    """Files go through the safe loader: unknown keys and duplicate keys refused."""
    text = EXAMPLE.read_text()
    p = tmp_path / "t.yaml"
    p.write_text(text.replace("alpha: 0.05", "alpha: 0.05\nalpah: 0.05"))
    with pytest.raises(ProtocolFileError, match=r"alpah.*unknown field"):
        read_trial_definition(p)
    p.write_text(text.replace("alpha: 0.05", "alpha: 0.05\nalpha: 0.01"))
    with pytest.raises(ProtocolFileError, match="alpha"):
        read_trial_definition(p)
    q = tmp_path / "t.txt"
    q.write_text(text)
    with pytest.raises(ProtocolFileError, match="'path'"):
        read_trial_definition(q)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_interim_fraction_range(value: float) -> None:
    """In (0, 1) passes and is returned unchanged; anything else names the field."""
    if math.isfinite(value) and 0.0 < value < 1.0:
        spec = InterimSpec(information_fraction=value)
        assert spec.information_fraction == value
        assert InterimSpec(**spec.model_dump()) == spec  # idempotent
    else:
        with pytest.raises(ValidationError, match="information_fraction"):
            InterimSpec(information_fraction=value)


# --------------------------------------------------------------------------------------
# Eligibility and stopping rules
# --------------------------------------------------------------------------------------
def test_eligibility_reasons(example: TrialDefinition) -> None:
    elig = example.eligibility
    ok = {
        "screening": "eligible",
        "age_years": 18,
        "baseline_pain": 4.0,
        "months_since_amputation": 6,
        "limb": "lower",
    }
    assert elig.reasons(**ok) == ()
    for field, value in [
        ("screening", "needs_physician_review"),
        ("age_years", 17),
        ("baseline_pain", 3.0),
        ("months_since_amputation", 5),
    ]:
        got = elig.reasons(**{**ok, field: value})
        assert len(got) == 1
        assert got[0].startswith(field)
    upper_only = Eligibility(min_baseline_pain=4, limbs=("upper",))
    assert upper_only.reasons(**ok)[0].startswith("limb")


def test_stopping_rules_match(example: TrialDefinition) -> None:
    seizure, sae = example.stopping_rules
    assert seizure.matches(event="seizure", serious=False, relatedness="unrelated")
    assert not seizure.matches(event="headache", serious=True, relatedness="definite")
    assert sae.matches(event="syncope", serious=True, relatedness="probable")
    assert not sae.matches(event="syncope", serious=True, relatedness="possible")
    assert not sae.matches(event="syncope", serious=False, relatedness="definite")
    with pytest.raises(ValueError, match="'event'"):
        sae.matches(event="stroke", serious=True, relatedness="definite")
    with pytest.raises(ValidationError, match="'count'"):
        StoppingRule(id="x", description="x", count=0)


def test_terms_match_registry() -> None:
    """The copied controlled lists equal the registry's enums (no import in core)."""
    from plptms.registry import AdverseEventTerm, Relatedness

    assert ADVERSE_EVENT_TERMS == tuple(t.value for t in AdverseEventTerm)
    assert RELATEDNESS_LEVELS == tuple(r.value for r in Relatedness)


def test_site_code_rule_matches_registry() -> None:
    """Site codes follow the registry's rule (copied, not imported, in the core)."""
    from plptms.registry import RegistryError
    from plptms.registry._models import check_code
    from plptms.trial._definition import TrialSite

    for code in ["S01", "a", "x" * 32, "A-b_9", "x" * 33, "-A", "S 1", "É1", ""]:
        try:
            check_code(code, "site")
            registry_ok = True
        except RegistryError:
            registry_ok = False
        try:
            TrialSite(code=code, name="n")
            ours = True
        except ValidationError:
            ours = False
        assert ours == registry_ok, code


# --------------------------------------------------------------------------------------
# Safety at definition time
# --------------------------------------------------------------------------------------
def test_refused_protocol_refuses_definition(
    example_data: dict, tmp_path: Path
) -> None:
    """An arm with Malavera et al. (2016) as published is refused, naming the arm.

    Its 6 s trains at 10 Hz (Malavera et al., 2016, abstract, verified) exceed the
    5 s train limit the safety engine takes from the Wassermann (1998) table (10 Hz,
    100 % MT cell, still to verify), so the library protocol is refused as
    published.
    """
    data = copy.deepcopy(example_data)
    for arm in data["arms"]:
        if arm["condition"] == "active":
            arm["protocol_id"] = REFUSED_PROTOCOL
        # the sham arms keep the consensus protocol
    defn = TrialDefinition.model_validate(data)
    verdicts = definition_verdicts(defn)
    assert verdicts["active_mt"].decision is Decision.REFUSED
    assert verdicts["sham_mt"].decision is not Decision.REFUSED
    refused = refused_arms(verdicts)
    assert sorted(refused) == ["active_mt", "active_no_mt"]
    assert {r.rule_id for r in refused["active_mt"]} == {"train_duration"}
    with pytest.raises(TrialDefinitionError, match=r"arm 'active_mt'.*train_duration"):
        check_definition_safety(defn)
    import yaml

    p = tmp_path / "refused.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(TrialDefinitionError, match=REFUSED_PROTOCOL):
        read_trial_definition(p)


def test_example_verdicts_not_refused(example: TrialDefinition) -> None:
    verdicts = check_definition_safety(example)
    assert set(verdicts) == set(example.arm_ids)
    assert all(v.decision is not Decision.REFUSED for v in verdicts.values())


# --------------------------------------------------------------------------------------
# Amendments
# --------------------------------------------------------------------------------------
REASON = "Longer window at 6 months: patients travel far."


def _v2(data: dict, *edits: tuple[str, Any]) -> TrialDefinition:
    out = _with(data, "version", 2)
    for path, value in edits:
        out = _with(out, path, value)
    return TrialDefinition.model_validate(out)


def test_amendment_allowed_after_enrolment(
    example: TrialDefinition, example_data: dict
) -> None:
    new = _v2(example_data, ("visits.14.window_after_days", 28))
    assert amend_definition(example, new, REASON) is new
    plan = plan_amendment(example, new, REASON)
    assert (plan.from_version, plan.version) == (1, 2)
    assert [c.field for c in plan.changes] == ["visits"]
    assert plan.refused_after_enrolment == ()


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ((("arms.0.ratio", 2), ("randomisation.p", 0.8)), "arms.active_mt.ratio"),
        ((("randomisation.method", "simple"),), "randomisation"),
        ((("stratification.2.weight", 2.0),), "stratification.pain_band.weight"),
        ((("arms.0.id", "active_mirror"),), "arms"),
        ((("stratification.1.levels", ["upper", "lower", "both"]),), "limb.levels"),
    ],
)
def test_amendment_refused_after_enrolment(
    example: TrialDefinition, example_data: dict, edits: tuple, field: str
) -> None:
    new = _v2(example_data, *edits)
    with pytest.raises(TrialAmendmentError, match=field):
        amend_definition(example, new, REASON)
    plan = plan_amendment(example, new, REASON)
    refused = plan.refused_after_enrolment
    assert refused
    assert all(c.needs == "a new trial" for c in refused)
    # before the first enrolment the same change is an amendment
    assert amend_definition(example, new, REASON, enrolled=False) is new


def test_amendment_removing_a_factor_refused(
    example: TrialDefinition, example_data: dict
) -> None:
    data = _with(example_data, "version", 2)
    data["stratification"] = data["stratification"][:2]
    new = TrialDefinition.model_validate(data)
    with pytest.raises(TrialAmendmentError, match="stratification"):
        amend_definition(example, new, REASON)


def test_amendment_adding_a_site(example: TrialDefinition, example_data: dict) -> None:
    """A new site (with its level in the site factor) is an allowed amendment."""
    data = _with(example_data, "version", 2)
    data["sites"].append({"code": "S04", "name": "Example site 4"})
    data["stratification"][0]["levels"].append("S04")
    new = TrialDefinition.model_validate(data)
    plan = plan_amendment(example, new, REASON)
    assert {c.field for c in plan.changes} == {
        "sites.S04",
        "stratification.site.levels",
    }
    assert plan.refused_after_enrolment == ()
    assert amend_definition(example, new, REASON) is new


def test_amendment_needs_listed(example: TrialDefinition, example_data: dict) -> None:
    new = _v2(
        example_data,
        ("endpoints.0.visit_id", "followup_1m"),
        ("arms.0.protocol_id", "wang2022-m1-1hz"),
        ("arms.1.protocol_id", "wang2022-m1-1hz"),
        ("arms.2.protocol_id", "wang2022-m1-1hz"),
        ("arms.3.protocol_id", "wang2022-m1-1hz"),
    )
    needs = {c.field: c.needs for c in diff_definitions(example, new)}
    assert needs["endpoints"] == "amendment; update the trial registration"
    assert needs["arms.active_mt.protocol_id"] == "amendment and safety check"


def test_amendment_breaking_safety_refused(
    example: TrialDefinition, example_data: dict
) -> None:
    """An amendment to a protocol the safety engine refuses (Malavera 2016)."""
    new = _v2(
        example_data,
        ("arms.0.protocol_id", REFUSED_PROTOCOL),
        ("arms.1.protocol_id", REFUSED_PROTOCOL),
    )
    with pytest.raises(TrialDefinitionError, match="train_duration"):
        amend_definition(example, new, REASON)


def test_amendment_bookkeeping_errors(
    example: TrialDefinition, example_data: dict
) -> None:
    new = _v2(example_data, ("title", "A new title"))
    with pytest.raises(TrialAmendmentError, match="'reason'"):
        amend_definition(example, new, "because")
    with pytest.raises(TypeError, match="'reason'"):
        amend_definition(example, new, None)  # type: ignore[arg-type]
    v3 = TrialDefinition.model_validate(_with(example_data, "version", 3))
    with pytest.raises(TrialAmendmentError, match=r"'version'.*2"):
        amend_definition(example, v3, REASON)
    other = _v2(example_data, ("id", "another-trial"))
    with pytest.raises(TrialAmendmentError, match="'id'"):
        amend_definition(example, other, REASON)
    same = _v2(example_data)
    with pytest.raises(TrialAmendmentError, match="'new_defn'"):
        amend_definition(example, same, REASON)
