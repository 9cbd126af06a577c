"""A minimal stand-in for ``plptms.trial.TrialDefinition`` (tests only).

It has the attribute names the trial engine relies on (``id``, ``version``,
``sites[].code``, ``arms[].id/.protocol_id/.condition/.ratio``,
``stratification[].id/.levels``, ``randomiser()``), nothing more. Kept importable
by module path so spawned processes can read definitions back with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from plptms.trial import Minimisation, PermutedBlocks, SimpleRandomisation

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Site(BaseModel):
    model_config = _FROZEN
    code: str


class Arm(BaseModel):
    model_config = _FROZEN
    id: str
    protocol_id: str
    condition: Literal["active", "sham"]
    ratio: int = 1


class Factor(BaseModel):
    model_config = _FROZEN
    id: str
    levels: tuple[str, ...]


class StandInDefinition(BaseModel):
    model_config = _FROZEN

    id: str
    version: int = 1
    title: str = "Stand-in trial"
    sites: tuple[Site, ...]
    arms: tuple[Arm, ...]
    stratification: tuple[Factor, ...] = ()
    method: Literal["simple", "permuted_blocks", "minimisation"] = "permuted_blocks"
    block_sizes: tuple[int, ...] = (4,)
    p: float = 0.8

    def randomiser(self) -> Any:
        arms = tuple(a.id for a in self.arms)
        ratio = tuple(a.ratio for a in self.arms)
        strata = tuple(f.id for f in self.stratification)
        if self.method == "simple":
            return SimpleRandomisation(arms=arms, ratio=ratio)
        if self.method == "permuted_blocks":
            return PermutedBlocks(
                arms=arms, ratio=ratio, block_sizes=self.block_sizes, strata=strata
            )
        return Minimisation(arms=arms, ratio=ratio, factors=strata, p=self.p)


def definition(**changes: Any) -> StandInDefinition:
    """Two sites, active and sham rTMS 1:1, stratified by limb; with changes."""
    data: dict[str, Any] = {
        "id": "plp-m1",
        "sites": [{"code": "S1"}, {"code": "S2"}],
        "arms": [
            {"id": "active", "protocol_id": "malavera2016", "condition": "active"},
            {"id": "sham", "protocol_id": "malavera2016-sham", "condition": "sham"},
        ],
        "stratification": [{"id": "limb", "levels": ["upper", "lower"]}],
    }
    data.update(changes)
    return StandInDefinition.model_validate(data)


def screen(reg: Any, site: str, code: str, *, excluded: bool = False) -> None:
    """Record a screening today: every answer no, or an absolute contraindication."""
    from plptms.safety import ScreeningAnswers, load_screening_items
    from plptms.safety import screen as run_screen

    items = load_screening_items()
    answers = dict.fromkeys([i.id for i in items], "no")
    if excluded:
        absolute = [i.id for i in items if i.item_class.value == "absolute"]
        answers[absolute[0]] = "yes"
    report = run_screen(ScreeningAnswers(answers=answers, screened_on=dt.date.today()))
    reg.record_screening(site, code, report, actor="dr1")
