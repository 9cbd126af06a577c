"""SQLAlchemy 2 schema of the registry.

Every table that holds clinical data is audited: each insert, correction and
deletion appends an entry to ``audit_log``, whose rows form a hash chain. Deletion
is soft (``deleted_at`` and ``deleted_reason``); nothing is ever removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AdverseEventReviewRow",
    "AdverseEventRow",
    "ApiTokenRow",
    "AssessmentRow",
    "AuditRow",
    "Base",
    "ConsoleCommandRow",
    "ConsoleLiveRow",
    "DeliveryEventRow",
    "DeliveryLeaseRow",
    "DeliverySessionRow",
    "LoginThrottleRow",
    "MotorThresholdRow",
    "PatientRow",
    "ProtocolAssignmentRow",
    "SafetyCellReadingRow",
    "ScreeningRow",
    "SiteRow",
    "SiteSafetyPolicyRow",
    "TreatmentSessionRow",
    "TrialBlindingGuessRow",
    "TrialCoInterventionRow",
    "TrialEnrolmentRow",
    "TrialMedicationChangeRow",
    "TrialRow",
    "TrialScreeningOutcomeRow",
    "TrialUnblindingRow",
    "TrialVersionRow",
    "TrialVisitRow",
    "TrialWithdrawalRow",
    "UserCredentialRow",
    "UserRow",
    "UserSiteRow",
    "VisitRow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class _SoftDelete:
    deleted_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    deleted_reason: Mapped[str | None] = mapped_column(Text, default=None)


class PatientRow(_SoftDelete, Base):
    """A patient under a pseudonymous code, unique per site."""

    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("site", "code", name="uq_patients_site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32))
    amputation_date: Mapped[dt.date | None] = mapped_column(Date)
    history: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class VisitRow(_SoftDelete, Base):
    """A visit: one date, one kind, per patient."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint(
            "patient_id", "visit_date", "kind", name="uq_visits_patient_date_kind"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_date: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AssessmentRow(_SoftDelete, Base):
    """One scale at one visit: raw items and the scores computed from them."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_visit_scale", "visit_id", "scale_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    scale_id: Mapped[str] = mapped_column(String(48))
    items: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[float | None] = mapped_column(Float)
    subscales: Mapped[dict[str, Any]] = mapped_column(JSON)
    band: Mapped[str | None] = mapped_column(String(64))
    computed: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    scored_with: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ScreeningRow(_SoftDelete, Base):
    """A screening verdict with its full report."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    screened_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ProtocolAssignmentRow(_SoftDelete, Base):
    """A protocol assigned to a patient, with the protocol and verdict as checked."""

    __tablename__ = "protocol_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[dict[str, Any]] = mapped_column(JSON)
    decision: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    assigned_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TreatmentSessionRow(_SoftDelete, Base):
    """A treatment session of an assigned protocol."""

    __tablename__ = "treatment_sessions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "number", name="uq_sessions_assignment_num"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("protocol_assignments.id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    session_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class MotorThresholdRow(_SoftDelete, Base):
    """A resting motor threshold from a converged hunt, with its evidence."""

    __tablename__ = "motor_thresholds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    measured_on: Mapped[dt.date] = mapped_column(Date)
    hemisphere: Mapped[str] = mapped_column(String(8))
    muscle: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32))
    rmt_pct_mso: Mapped[float] = mapped_column(Float)
    pulses_used: Mapped[int] = mapped_column(Integer)
    stimulator: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DeliverySessionRow(Base):
    """A stimulation session as delivered (or attempted) on a device."""

    __tablename__ = "delivery_sessions"
    __table_args__ = (
        UniqueConstraint("assignment_id", "number", name="uq_delivery_assignment_num"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("protocol_assignments.id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(32))
    blinded: Mapped[bool] = mapped_column(Boolean)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text, default="")
    #: Events sealed into the audited row at the last status change (NULL for a
    #: session closed before the chain was keyed).
    event_count: Mapped[int | None] = mapped_column(Integer, default=None)
    #: Hash of the last chained event at that time (the genesis hash if none).
    event_head: Mapped[str | None] = mapped_column(String(64), default=None)


class DeliveryEventRow(Base):
    """One delivery event (pulse, train start/end, fault, pause...), append-only.

    Events chain by hash within their session and carry a MAC under the site key
    (all three NULL for events written before the chain was keyed).
    """

    __tablename__ = "delivery_events"
    __table_args__ = (
        UniqueConstraint("session_id", "seq", name="uq_delivery_events_session_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_sessions.id"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    train_index: Mapped[int | None] = mapped_column(Integer)
    pulse_index: Mapped[int | None] = mapped_column(Integer)
    t_monotonic_s: Mapped[float | None] = mapped_column(Float)
    at: Mapped[str] = mapped_column(String(40))
    intensity_pct_mso: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))


class BiomarkerRow(Base):
    """EEG biomarkers of one session (band power, mu peak, trigger phase)."""

    __tablename__ = "session_biomarkers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    delivery_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery_sessions.id"), index=True
    )
    measured_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))
    derivation: Mapped[str] = mapped_column(String(32))
    duration_s: Mapped[float] = mapped_column(Float)
    theta_power: Mapped[float] = mapped_column(Float)
    alpha_power: Mapped[float] = mapped_column(Float)
    beta_power: Mapped[float] = mapped_column(Float)
    mu_peak_hz: Mapped[float | None] = mapped_column(Float)
    n_triggers: Mapped[int] = mapped_column(Integer)
    true_circular_sd_deg: Mapped[float | None] = mapped_column(Float)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """One audit entry; rows chain by hash and are never updated or deleted.

    ``mac`` is the HMAC-SHA256 of ``hash`` under the site key kept outside the
    database (NULL for entries written before the chain was keyed).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_table_row", "table_name", "row_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    table_name: Mapped[str] = mapped_column(String(48))
    row_id: Mapped[int] = mapped_column(Integer)
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    mac: Mapped[str | None] = mapped_column(String(64))


class DeliveryLeaseRow(Base):
    """Who is running a delivery session now (one runner at a time).

    Operational, not clinical: a lease is taken when a runner starts or resumes a
    session, renewed while it runs (heartbeat) and released when it ends. A
    second runner is refused while the lease is live; an expired lease is taken
    over with an audit entry on the delivery session.
    """

    __tablename__ = "delivery_leases"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_sessions.id"), primary_key=True, autoincrement=False
    )
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ConsoleCommandRow(Base):
    """A console control relayed to the web worker that runs the session.

    Operational, not clinical (not audited): the control itself is audited by
    the workflow when the runner applies it (who stopped the session). A row is
    written by the worker that received the control and taken by the worker
    whose runner holds the session (``taken_at``, ``taken_by``, ``outcome``).
    """

    __tablename__ = "console_commands"
    __table_args__ = (
        Index("ix_console_commands_session_taken", "session_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("delivery_sessions.id"))
    command: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    taken_by: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(16))


class ConsoleLiveRow(Base):
    """A running console session's latest progress and its runner's heartbeat.

    Operational, not clinical (not audited): one row per session while a web
    worker runs it, rewritten every heartbeat and deleted when the run ends. A
    row whose ``updated_at`` is old belongs to a lost runner.
    """

    __tablename__ = "console_live"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("delivery_sessions.id"), primary_key=True, autoincrement=False
    )
    worker: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    train: Mapped[int | None] = mapped_column(Integer)
    n_trains: Mapped[int | None] = mapped_column(Integer)
    pulses_delivered: Mapped[int] = mapped_column(Integer)
    pulses_total: Mapped[int] = mapped_column(Integer)
    seconds_left: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SafetyCellReadingRow(_SoftDelete, Base):
    """A physician's reading of one cell of the train-duration table, per site.

    The newest reading of a cell at a site is the one in force; an older one is
    kept (and audited) but superseded.
    """

    __tablename__ = "safety_cell_readings"
    __table_args__ = (
        Index(
            "ix_safety_cell_readings_site_cell",
            "site",
            "frequency_hz",
            "intensity_pct_mt",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(32))
    frequency_hz: Mapped[float] = mapped_column(Float)
    intensity_pct_mt: Mapped[float] = mapped_column(Float)
    value_s: Mapped[float] = mapped_column(Float)
    lower_bound: Mapped[bool] = mapped_column(Boolean)
    physician: Mapped[str] = mapped_column(String(64))
    read_on: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SiteSafetyPolicyRow(_SoftDelete, Base):
    """A site's safety policy (name and train-duration margin); newest in force."""

    __tablename__ = "site_safety_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(64))
    train_duration_margin: Mapped[float] = mapped_column(Float)
    margin_reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DoseAmendmentRow(_SoftDelete, Base):
    """A recorded, reasoned lower dose for one assignment, from a session on.

    ``amendment`` holds the :class:`plptms.protocol.DoseAmendment` (its fields;
    the reason is also a column). The newest amendment whose ``from_session`` is
    at or before a session applies to it.
    """

    __tablename__ = "dose_amendments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("protocol_assignments.id"), index=True
    )
    from_session: Mapped[int] = mapped_column(Integer)
    amendment: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AdverseEventRow(_SoftDelete, Base):
    """An adverse event of a patient, as recorded (optionally tied to a session).

    The term, severity, relatedness, action and outcome are codes of the
    controlled lists in :mod:`plptms.registry._adverse`; a physician's review is a
    separate row of ``adverse_event_reviews``.
    """

    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    delivery_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery_sessions.id"), index=True
    )
    onset_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    term: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    serious: Mapped[bool] = mapped_column(Boolean)
    serious_criterion: Mapped[str | None] = mapped_column(String(32))
    relatedness: Mapped[str] = mapped_column(String(16))
    action_taken: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))


class AdverseEventReviewRow(Base):
    """A physician's review of an adverse event (append-only; newest in force)."""

    __tablename__ = "adverse_event_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    adverse_event_id: Mapped[int] = mapped_column(
        ForeignKey("adverse_events.id"), index=True
    )
    physician: Mapped[str] = mapped_column(String(64))
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text)
    continue_treatment: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(64))


class SiteRow(Base):
    """A site's settings: display name and IANA time zone (one row per site).

    The site code is unique (same format as ``patients.site``); the integer ``id``
    is what the audit trail keys rows by.
    """

    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("site", name="uq_sites_site"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))


class TrialRow(Base):
    """A randomised trial: its identifier and title (definitions are versioned).

    ``key_check`` is a fingerprint of the trial's secret (an HMAC of a fixed text
    under it), never the secret: it tells a wrong or replaced key file apart from
    the one the trial was created with. The secret lives outside the database.
    """

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("slug", name="uq_trials_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    key_check: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))


class TrialVersionRow(Base):
    """One version of a trial's definition (1 at creation; each amendment +1)."""

    __tablename__ = "trial_versions"
    __table_args__ = (
        UniqueConstraint("trial_id", "version", name="uq_trial_versions_trial_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialEnrolmentRow(Base):
    """A patient enrolled in a trial and allocated (never reassigned or deleted).

    The unique constraints make a duplicate impossible: one allocation index, one
    patient and one kit code per trial. ``allocation`` holds what an auditor
    needs (method, draw, probabilities, the authenticated message, the block or
    the minimisation scores); ``version`` is the definition version in force.
    """

    __tablename__ = "trial_enrolments"
    __table_args__ = (
        UniqueConstraint(
            "trial_id", "allocation_index", name="uq_trial_enrolments_trial_index"
        ),
        UniqueConstraint(
            "trial_id", "patient_id", name="uq_trial_enrolments_trial_patient"
        ),
        UniqueConstraint("trial_id", "kit_code", name="uq_trial_enrolments_trial_kit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    site: Mapped[str] = mapped_column(String(32))
    allocation_index: Mapped[int] = mapped_column(Integer)
    arm_id: Mapped[str] = mapped_column(String(64))
    kit_code: Mapped[str] = mapped_column(String(16))
    factors: Mapped[dict[str, Any]] = mapped_column(JSON)
    stratum: Mapped[str | None] = mapped_column(String(255))
    allocation: Mapped[dict[str, Any]] = mapped_column(JSON)
    enrolled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))


class TrialUnblindingRow(Base):
    """An emergency unblinding of one enrolment: who, in which role, why, when."""

    __tablename__ = "trial_unblindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("trial_enrolments.id"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialVisitRow(Base):
    """A scheduled trial visit as done: one per enrolment and schedule visit.

    ``visit_key`` is the schedule's visit id (e.g. ``followup_1m``); ``visit_id``
    the registry visit of that date whose assessments belong to it; ``version``
    the definition version it was collected under. A visit outside its window is
    stored only as a protocol deviation (``out_of_window``, ``days_outside``:
    negative before the window, positive after it, and ``deviation_reason``).
    """

    __tablename__ = "trial_visits"
    __table_args__ = (
        UniqueConstraint(
            "enrolment_id", "visit_key", name="uq_trial_visits_enrolment_visit"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("trial_enrolments.id"), index=True
    )
    visit_key: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    done_on: Mapped[dt.date] = mapped_column(Date)
    out_of_window: Mapped[bool] = mapped_column(Boolean)
    days_outside: Mapped[int] = mapped_column(Integer)
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialWithdrawalRow(Base):
    """A patient's withdrawal from a trial (once per enrolment; nothing deleted)."""

    __tablename__ = "trial_withdrawals"
    __table_args__ = (
        UniqueConstraint("enrolment_id", name="uq_trial_withdrawals_enrolment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("trial_enrolments.id"))
    withdrawn_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialCoInterventionRow(Base):
    """A co-intervention at a trial visit.

    The trial's own (``kind`` ``trial``, ``co_intervention`` its id) or another
    one (``kind`` ``other``, e.g. physiotherapy).
    """

    __tablename__ = "trial_cointerventions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_visit_id: Mapped[int] = mapped_column(
        ForeignKey("trial_visits.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    co_intervention: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    delivered: Mapped[bool] = mapped_column(Boolean)
    minutes: Mapped[int | None] = mapped_column(Integer)
    sessions: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialMedicationChangeRow(Base):
    """A change of concomitant medication reported at a trial visit."""

    __tablename__ = "trial_medication_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_visit_id: Mapped[int] = mapped_column(
        ForeignKey("trial_visits.id"), index=True
    )
    drug: Mapped[str] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(32))
    dose: Mapped[str] = mapped_column(Text, default="")
    indication: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialBlindingGuessRow(Base):
    """A blinding questionnaire answer: one per trial visit and respondent.

    ``answers`` is the questionnaire's form (3 or 5 answers); ``guess`` one of
    its answers.
    """

    __tablename__ = "trial_blinding_guesses"
    __table_args__ = (
        UniqueConstraint(
            "trial_visit_id",
            "respondent",
            name="uq_trial_blinding_guesses_visit_respondent",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_visit_id: Mapped[int] = mapped_column(
        ForeignKey("trial_visits.id"), index=True
    )
    respondent: Mapped[str] = mapped_column(String(16))
    answers: Mapped[int] = mapped_column(Integer)
    guess: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TrialScreeningOutcomeRow(Base):
    """A patient screened for a trial and not enrolled (the CONSORT screening log)."""

    __tablename__ = "trial_screening_outcomes"
    __table_args__ = (
        UniqueConstraint(
            "trial_id", "patient_id", name="uq_trial_screening_outcomes_trial_patient"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class UserRow(Base):
    """A user account: one role, assigned sites (``user_sites``), active or not.

    The password hash itself is in ``user_credentials`` (never audited, exported
    or shown); this audited row carries its SHA-256 fingerprint, so a hash
    replaced outside plptms fails both the audit replay and the sign-in.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username", name="uq_users_username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    password_hash_sha256: Mapped[str] = mapped_column(String(64))
    password_set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))


class UserCredentialRow(Base):
    """A user's password hash (Argon2id, PHC string); one row per user.

    Kept apart from ``users`` so the audit trail and the exports never hold it;
    ``users.password_hash_sha256`` (audited) pins it.
    """

    __tablename__ = "user_credentials"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    password_hash: Mapped[str] = mapped_column(String(255))


class UserSiteRow(Base):
    """A site assigned to a user (once per pair; ``removed_at`` when withdrawn)."""

    __tablename__ = "user_sites"
    __table_args__ = (
        UniqueConstraint("user_id", "site", name="uq_user_sites_user_site"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    site: Mapped[str] = mapped_column(String(32))
    removed_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiTokenRow(Base):
    """An API token: only the SHA-256 of its plaintext is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    actor: Mapped[str] = mapped_column(String(64))


class LoginThrottleRow(Base):
    """Failed sign-ins of a username (operational, not audited; lockouts are).

    One row per username tried, known or not, so a lockout says nothing about
    whether the account exists.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("username", name="uq_login_throttle_username"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )


class WebSessionRow(Base):
    """A signed-in web session (operational: not audited, not exported).

    Only the SHA-256 of the random session id is stored; the id travels in the
    signed cookie. ``username`` is not a foreign key: the web layer may run on
    injected accounts; the account itself is checked on every request.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (
        UniqueConstraint("sid_sha256", name="uq_web_sessions_sid_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_sha256: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
