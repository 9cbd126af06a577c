"""Safety verdicts under a site's policy, and the table-verification workflow.

Every verdict the application layer computes uses the site's policy (its name,
any recorded train-duration margin and the train-table cells its physicians have
read; see :class:`plptms.registry.Registry.site_policy`). A physician review
recorded when a protocol was assigned carries over to a later check only while
the rules needing review are the same ones it signed off: a rule that newly needs
review (e.g. after a cell reading looser than the shipped table) asks for a new
review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..protocol import Protocol
    from ..registry import Registry
    from ..safety import (
        CellReading,
        Override,
        PhysicianReview,
        SafetyPolicy,
        TableCell,
        Verdict,
    )

__all__ = [
    "check_for_site",
    "record_table_readings",
    "review_keys",
    "set_site_policy",
    "site_table",
    "verdict_for_assignment",
]


def review_keys(verdict: Verdict) -> frozenset[tuple[str, str, str]]:
    """Return what a physician review of ``verdict`` signs off.

    Parameters
    ----------
    verdict : plptms.safety.Verdict
        A verdict.

    Returns
    -------
    keys : frozenset of (rule_id, block, status)
        The rules whose status asks for review (review, unverified, overridden).
    """
    return frozenset((r.rule_id, r.block, r.status.value) for r in verdict.to_review)


def check_for_site(
    reg: Registry,
    site: str,
    protocol: Protocol,
    *,
    rmt_pct_mso: float | None,
    overrides: Sequence[Override] = (),
    review: PhysicianReview | None = None,
    policy: SafetyPolicy | None = None,
) -> Verdict:
    """Check a protocol under the safety policy in force at a site.

    Parameters
    ----------
    reg : Registry
        The registry (holds the site's policy and cell readings).
    site : str
        Site code.
    protocol : plptms.protocol.Protocol
        The protocol.
    rmt_pct_mso : float | None
        The patient's RMT, % MSO.
    overrides : sequence of plptms.safety.Override
        Recorded overrides.
    review : plptms.safety.PhysicianReview | None
        A physician's review of what the verdict asks to review.
    policy : plptms.safety.SafetyPolicy | None
        The site's policy when the caller already read it (one read for a whole
        check); read from the registry when ``None``.

    Returns
    -------
    verdict : plptms.safety.Verdict
        The verdict; its ``policy_name`` names the site's policy.
    """
    from ..safety import check_protocol

    return check_protocol(
        protocol,
        rmt_pct_mso=rmt_pct_mso,
        overrides=overrides,
        policy=reg.site_policy(site) if policy is None else policy,
        review=review,
    )


def verdict_for_assignment(
    reg: Registry,
    site: str,
    assignment_id: int,
    protocol: Protocol,
    rmt_pct_mso: float,
    *,
    policy: SafetyPolicy | None = None,
) -> Verdict:
    """Check an assigned protocol again now, carrying its recorded review.

    The protocol is checked with the overrides stored at assignment, under the
    site's policy as it is now and with the patient's current RMT. The physician
    review stored at assignment is applied only if every rule that asks for
    review now was among those it signed off.

    Parameters
    ----------
    reg : Registry
        The registry.
    site : str
        The patient's site.
    assignment_id : int
        The assignment.
    protocol : plptms.protocol.Protocol
        The protocol as assigned.
    rmt_pct_mso : float
        The patient's current RMT, % MSO.
    policy : plptms.safety.SafetyPolicy | None
        The site's policy, if already read.

    Returns
    -------
    verdict : plptms.safety.Verdict
        ``accepted`` when nothing needs review or the stored review covers it;
        ``review`` when a rule needs a review that was not recorded.
    """
    stored = reg.assignment_verdict(assignment_id)
    pol = reg.site_policy(site) if policy is None else policy
    now = check_for_site(
        reg,
        site,
        protocol,
        rmt_pct_mso=rmt_pct_mso,
        overrides=stored.overrides,
        policy=pol,
    )
    if (
        stored.review is not None
        and now.decision.value == "review"
        and review_keys(now) <= review_keys(stored)
    ):
        return check_for_site(
            reg,
            site,
            protocol,
            rmt_pct_mso=rmt_pct_mso,
            overrides=stored.overrides,
            review=stored.review,
            policy=pol,
        )
    return now


def record_table_readings(
    reg: Registry, site: str, readings: Iterable[CellReading], *, actor: str
) -> list[int]:
    """Record a physician's readings of train-table cells for a site (audited).

    Parameters
    ----------
    reg : Registry
        The registry.
    site : str
        Site code.
    readings : iterable of plptms.safety.CellReading
        The cells read, each with the value read, the physician and the date.
    actor : str
        Who records them.

    Returns
    -------
    ids : list of int
        Row ids.
    """
    return reg.record_cell_readings(site, readings, actor=actor)


def set_site_policy(
    reg: Registry,
    site: str,
    *,
    name: str,
    train_duration_margin: float,
    margin_reason: str,
    actor: str,
) -> int:
    """Record a site's safety policy (audited); it applies to later verdicts.

    Parameters
    ----------
    reg : Registry
        The registry.
    site : str
        Site code.
    name : str
        Policy name, shown on every verdict.
    train_duration_margin : float
        Factor in (0, 1] on every train-duration limit.
    margin_reason : str
        Why (required unless the margin is 1).
    actor : str
        Who records it.

    Returns
    -------
    id : int
        Row id.
    """
    return reg.set_site_policy(
        site,
        name=name,
        train_duration_margin=train_duration_margin,
        margin_reason=margin_reason,
        actor=actor,
    )


def site_table(reg: Registry, site: str) -> tuple[TableCell, ...]:
    """Return the train table as the site applies it (its readings included).

    Parameters
    ----------
    reg : Registry
        The registry.
    site : str
        Site code.

    Returns
    -------
    cells : tuple of TableCell
        Every cell with its status and applied limit.
    """
    from ..safety import table_cells

    return table_cells(reg.cell_readings(site))
