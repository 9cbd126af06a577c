"""Safety gate: every closed-loop pulse is checked against the checked protocol.

Closed-loop pulses come at irregular times, so the protocol's dose is enforced on
what is actually delivered. At construction the dose goes through the safety
engine (:func:`plptms.safety.check_dose`); a refused or incompletely checked dose
cannot be gated. Then, before each pulse, the gate checks the realised pulse rate,
the realised train (length in pulses and duration against
:func:`plptms.safety.max_train_duration`), the pause between trains and the
session total. It never changes a parameter: a pulse that would exceed a limit is
refused.

What each rule status means here. The gate's verdict on the dose follows the same
precedence as a protocol check (refused > incomplete > review > accepted,
:func:`plptms.safety._verdict.decide`). A ``failed`` rule refuses the dose at
construction, and a ``failed`` per-pulse check refuses the pulse. A limit that rests
on an unverified table cell (``unverified``), or a rule flagged for ``review``, does
not block: the gate is built for a session whose protocol verdict a physician has
reviewed (the pre-session checks of :mod:`plptms.delivery` require an accepted
verdict, which for such a dose means a recorded review). The gate reports it
instead: its verdict is ``review`` (``accepted`` with the review when one is given),
:attr:`SafetyGate.review_rules` lists the rules, a warning is logged at
construction, and every allowed pulse that continues a train whose limit rests on
an unverified cell carries a :attr:`GateVerdict.note` saying so.

.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..protocol import Pattern
from ..safety import Decision as VerdictDecision
from ..safety import (
    RuleStatus,
    SafetyPolicy,
    UnsafeProtocolError,
    Verdict,
    check_dose,
    decide,
    intensity_pct_mso,
    max_train_duration,
)
from ..utils import check_finite, check_range
from ._errors import PulseRefusedError

if TYPE_CHECKING:
    from ..protocol import StimulationDose
    from ..safety import PhysicianReview, RuleResult

__all__ = ["GateVerdict", "SafetyGate"]

logger = logging.getLogger(__name__)

# Relative slack on time comparisons, for floating-point timestamps only.
_REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """Whether one pulse may be fired now.

    Attributes
    ----------
    allowed : bool
        ``True`` if every limit holds with this pulse.
    rule : str
        The rule that refused it (``""`` when allowed).
    message : str
        Why, naming the value and the limit with units.
    note : str
        For an allowed pulse whose train limit rests on a table cell not verified
        against the paper (or on a site reading in conflict with the table): which
        cell. Such a pulse is not blocked (see the module notes), but reported.
    """

    allowed: bool
    rule: str
    message: str
    note: str = ""


class SafetyGate:
    """Refuse any closed-loop pulse that would leave the checked protocol.

    Parameters
    ----------
    dose : StimulationDose
        The per-session dose the closed loop delivers: ``single_pulse`` (each
        trigger a pulse, ``frequency_hz`` the highest mean rate) or ``rtms``
        (triggers grouped in trains of at most ``pulses_per_train`` pulses at up to
        ``frequency_hz``, separated by at least ``inter_train_interval_s``).
    rmt_pct_mso : float | None
        The patient's RMT, % MSO, for the stimulator-output rule.
    policy : SafetyPolicy | None
        Safety-engine settings (train-duration margin, site cell readings).
    train_gap_s : float | None, s
        For ``rtms``: a pause at least this long starts a new train. Default: the
        dose's ``inter_train_interval_s``.
    review : PhysicianReview | None
        The physician's review of the dose, if its verdict needs one: the gate's
        verdict is then ``accepted`` and carries it. Without it the verdict is
        ``review``; pulses are not blocked for that (see the module notes).

    Raises
    ------
    UnsafeProtocolError
        If the safety engine refuses the dose, or a rule needed by the gate could
        not be checked (unreported rate, train or session size).
    ValueError
        If the pattern is theta burst (not supported in closed loop).

    Attributes
    ----------
    verdict : Verdict
        The engine's verdict on the dose (``accepted``, or ``review`` when a rule
        needs a physician's review and none is given).
    review_rules : tuple of RuleResult
        Rules of the dose that are ``unverified``, ``review`` or ``overridden``.
    min_interval_s : float, s
        Shortest allowed interval between pulses: ``1 / frequency_hz``.
    """

    def __init__(
        self,
        dose: StimulationDose,
        *,
        rmt_pct_mso: float | None = None,
        policy: SafetyPolicy | None = None,
        train_gap_s: float | None = None,
        review: PhysicianReview | None = None,
    ) -> None:
        if dose.pattern not in (Pattern.SINGLE_PULSE, Pattern.RTMS):
            raise ValueError(
                f"Invalid value for 'dose.pattern': got {dose.pattern.value!r}; "
                "allowed values are 'single_pulse', 'rtms' (closed-loop theta burst "
                "is not supported)."
            )
        pol = SafetyPolicy() if policy is None else policy
        results = check_dose(
            dose, block="closedloop", rmt_pct_mso=rmt_pct_mso, policy=pol
        )
        verdict = _verdict(results, rmt_pct_mso, pol, review)
        failed = [r for r in results if r.status is RuleStatus.FAILED]
        if failed:
            raise UnsafeProtocolError(
                "The closed-loop dose is refused by the safety engine: "
                + " ".join(r.message for r in failed),
                verdict,
            )
        missing = []
        if dose.frequency_hz is None:
            missing.append("frequency_hz")
        if dose.intensity_pct_rmt is None:
            missing.append("intensity_pct_rmt")
        if dose.pulses_per_session is None:
            missing.append("pulses_per_train/trains_per_session")
        if dose.pattern is Pattern.RTMS:
            if dose.pulses_per_train is None:
                missing.append("pulses_per_train")
            if dose.inter_train_interval_s is None and train_gap_s is None:
                missing.append("inter_train_interval_s")
        not_checked = [
            r
            for r in results
            if r.status is RuleStatus.NOT_CHECKED and not r.needs_patient
        ]
        if missing or not_checked:
            what = ", ".join(repr(m) for m in missing) or ", ".join(
                r.rule_id for r in not_checked
            )
            raise UnsafeProtocolError(
                f"The closed-loop dose cannot be gated: {what} unreported or not "
                "checked. Every limit must be known before a pulse is fired.",
                verdict,
            )
        assert dose.frequency_hz is not None  # for mypy; checked above
        assert dose.intensity_pct_rmt is not None
        assert dose.pulses_per_session is not None
        self.dose = dose
        self.verdict: Verdict = verdict
        self.review_rules: tuple[RuleResult, ...] = verdict.to_review
        if self.review_rules:
            logger.warning(
                "Closed-loop dose needs physician review (%s): %s",
                "review recorded" if verdict.review else "no review recorded",
                "; ".join(f"{r.rule_id}: {r.status.value}" for r in self.review_rules),
            )
        self.policy = pol
        self.readings = pol.cell_readings
        self.frequency_hz = float(dose.frequency_hz)
        self.intensity_pct_rmt = float(dose.intensity_pct_rmt)
        self.rmt_pct_mso = rmt_pct_mso
        #: The checked dose in % MSO (``None`` without an RMT): computed once,
        #: here, so that the gate and the stimulator see the same value.
        self.intensity_pct_mso: float | None = (
            None
            if rmt_pct_mso is None
            else intensity_pct_mso(self.intensity_pct_rmt, rmt_pct_mso)
        )
        self.min_interval_s = 1.0 / self.frequency_hz
        self.max_session_pulses = int(dose.pulses_per_session)
        self.margin = pol.train_duration_margin
        if dose.pattern is Pattern.RTMS:
            assert dose.pulses_per_train is not None
            self.max_train_pulses = int(dose.pulses_per_train)
            gap = dose.inter_train_interval_s if train_gap_s is None else train_gap_s
            assert gap is not None
            self.train_gap_s = check_range(
                gap, "train_gap_s", 0.0, None, low_inclusive=False, unit="s"
            )
        else:
            self.max_train_pulses = 1
            self.train_gap_s = self.min_interval_s
        self._times: list[float] = []
        self._train_start = 0  # index in _times of the current train's first pulse

    # ------------------------------------------------------------------ state
    @property
    def n_pulses(self) -> int:
        """Pulses committed so far."""
        return len(self._times)

    @property
    def pulse_times_s(self) -> tuple[float, ...]:
        """Times of the committed pulses, s."""
        return tuple(self._times)

    def reset(self) -> None:
        """Forget every pulse (a new session)."""
        self._times.clear()
        self._train_start = 0

    # ------------------------------------------------------------------ check
    def check(self, t_s: float) -> GateVerdict:
        """Say whether a pulse at ``t_s`` keeps every limit.

        Parameters
        ----------
        t_s : float, s
            Planned pulse time, on the same clock as earlier pulses.

        Returns
        -------
        verdict : GateVerdict
            Allowed, or the first rule that refuses and why.

        Raises
        ------
        ValueError
            If ``t_s`` is not finite.
        """
        t = check_finite(t_s, "t_s", "s")
        n = len(self._times)
        if n >= self.max_session_pulses:
            return GateVerdict(
                False,
                "session_pulses",
                f"Pulse {n + 1} refused: the checked dose allows "
                f"{self.max_session_pulses} pulses per session.",
            )
        if n == 0:
            return GateVerdict(True, "", "")
        last = self._times[-1]
        interval = t - last
        if interval < self.min_interval_s * (1.0 - _REL_TOL):
            rate = math.inf if interval <= 0 else 1.0 / interval
            return GateVerdict(
                False,
                "pulse_rate",
                f"Pulse refused: {interval * 1e3:.1f} ms after the previous one, a "
                f"realised rate of {rate:.3g} Hz; the checked dose allows at most "
                f"{self.frequency_hz:g} Hz (interval >= "
                f"{self.min_interval_s * 1e3:.1f} ms).",
            )
        if self.dose.pattern is Pattern.SINGLE_PULSE:
            return GateVerdict(True, "", "")
        return self._check_train(t, interval)

    def _check_train(self, t: float, interval: float) -> GateVerdict:
        if interval >= self.train_gap_s * (1.0 - _REL_TOL):
            return GateVerdict(True, "", "")  # a new train starts
        train = self._times[self._train_start :]
        n_train = len(train) + 1
        if n_train > self.max_train_pulses:
            return GateVerdict(
                False,
                "train_pulses",
                f"Pulse refused: it would be pulse {n_train} of a train; the checked "
                f"dose allows {self.max_train_pulses} pulses per train, then a pause "
                f"of {self.train_gap_s:g} s (this one comes after "
                f"{interval:.3g} s).",
            )
        span = t - train[0]
        rate = (n_train - 1) / span if span > 0 else math.inf
        # table convention: duration = pulses / rate (Chen et al., 1997)
        duration = n_train / min(rate, self.frequency_hz)
        limit = max_train_duration(
            min(rate, self.frequency_hz), self.intensity_pct_rmt, self.readings
        )
        if limit.limit_s is None:
            return GateVerdict(
                False,
                "train_duration",
                f"Pulse refused: no safe train duration is known at {rate:.3g} Hz, "
                f"{self.intensity_pct_rmt:g} % RMT ({limit.basis}).",
            )
        allowed = limit.limit_s * self.margin
        if duration > allowed * (1.0 + _REL_TOL):
            return GateVerdict(
                False,
                "train_duration",
                f"Pulse refused: the train would last {duration:.3g} s ({n_train} "
                f"pulses at {min(rate, self.frequency_hz):.3g} Hz), above the limit "
                f"{allowed:.3g} s ({limit.basis}).",
            )
        if limit.conflicts:
            return GateVerdict(
                True,
                "",
                "",
                "train limit: site reading looser than the shipped table, shipped "
                "value applied (" + "; ".join(limit.conflicts) + ")",
            )
        if not limit.verified:
            return GateVerdict(
                True,
                "",
                "",
                "train limit rests on unverified table cell(s): "
                + "; ".join(limit.unverified_cells),
            )
        return GateVerdict(True, "", "")

    def commit(self, t_s: float) -> None:
        """Record a pulse fired at ``t_s`` after checking it.

        Parameters
        ----------
        t_s : float, s
            Time of the pulse.

        Raises
        ------
        PulseRefusedError
            If :meth:`check` refuses the pulse; nothing is recorded.
        ValueError
            If ``t_s`` is not finite or earlier than the last pulse.
        """
        verdict = self.check(t_s)
        if self._times and t_s < self._times[-1]:
            raise ValueError(
                f"Invalid value for 't_s': got {t_s!r}; allowed: not earlier than "
                f"the last pulse at {self._times[-1]!r} s."
            )
        if not verdict.allowed:
            raise PulseRefusedError(verdict.message)
        if self._times and (
            self.dose.pattern is Pattern.SINGLE_PULSE
            or t_s - self._times[-1] >= self.train_gap_s * (1.0 - _REL_TOL)
        ):
            self._train_start = len(self._times)
        self._times.append(float(t_s))

    def __repr__(self) -> str:
        return (
            f"SafetyGate({self.dose.pattern.value}, <= {self.frequency_hz:g} Hz, "
            f"{self.n_pulses}/{self.max_session_pulses} pulses)"
        )


def _verdict(
    results: list[RuleResult],
    rmt_pct_mso: float | None,
    policy: SafetyPolicy,
    review: PhysicianReview | None,
) -> Verdict:
    """Build the gate's verdict, with the precedence of a protocol check."""
    unreviewed = decide(results)
    attach = review is not None and unreviewed is VerdictDecision.REVIEW
    return Verdict(
        protocol_id="closedloop",
        decision=VerdictDecision.ACCEPTED if attach else unreviewed,
        rules=tuple(results),
        policy_name=policy.name,
        review=review if attach else None,
        rmt_pct_mso=rmt_pct_mso,
        policy=f"closed-loop gate; {policy.describe()}",
    )
