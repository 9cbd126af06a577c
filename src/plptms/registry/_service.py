"""The registry: its aggregates composed over one audited store.

Each aggregate is a mixin in its own module; every write goes through the
store's one transaction-and-audit helper (:mod:`plptms.registry._store`).

============================  =================================================
module                        methods
============================  =================================================
``_patients.py``              patients and visits
``_assessments.py``           scored assessments (stored, never scored here)
``_clinical.py``              screenings, assignments, treatment sessions, RMT
``_delivery.py``              delivery sessions, events, restarts
``_leases.py``                one runner per delivery session (leases)
``_console_relay.py``         console controls and progress across web workers
``_biomarkers.py``            session EEG biomarkers
``_site_safety.py``           site safety policies and train-table readings
``_sites.py``                 sites and their time zones
``_adverse.py``               adverse events and their physician reviews
``_amendments.py``            dose amendments of an assignment
``_trials.py``                trials, enrolments (allocations), unblindings
``_trial_followup.py``        trial visits (windows, deviations), withdrawals
``_trial_records.py``         co-interventions, medication, blinding, screening
``_users.py``                 user accounts and their sites
``_user_tokens.py``           API tokens, the sign-in throttle
``_web_sessions.py``          server-side web sessions (operational)
``_export.py``                CSV exports
``_verify.py``                audit verification, head and checkpoint
============================  =================================================
"""

from __future__ import annotations

from ._adverse import AdverseEventStore
from ._amendments import AmendmentStore
from ._assessments import AssessmentStore
from ._biomarkers import BiomarkerStore
from ._clinical import ClinicalStore
from ._console_relay import ConsoleRelayStore
from ._delivery import DELIVERY_STATUSES, DeliveryStore
from ._export import ExportStore
from ._leases import LeaseStore
from ._patients import PatientStore
from ._site_safety import SiteSafetyStore
from ._sites import SiteStore
from ._store import RegistryStore
from ._trial_followup import TrialFollowUpStore
from ._trial_records import TrialRecordStore
from ._trials import TrialStore
from ._user_tokens import SignInStore, TokenStore
from ._users import UserStore
from ._verify import AuditStore
from ._web_sessions import WebSessionStore

__all__ = ["DELIVERY_STATUSES", "Registry"]


class Registry(  # the store first: its methods are what the mixins declare
    RegistryStore,
    PatientStore,
    AssessmentStore,
    ClinicalStore,
    DeliveryStore,
    LeaseStore,
    ConsoleRelayStore,
    BiomarkerStore,
    SiteSafetyStore,
    SiteStore,
    AdverseEventStore,
    AmendmentStore,
    TrialStore,
    TrialFollowUpStore,
    TrialRecordStore,
    UserStore,
    TokenStore,
    SignInStore,
    WebSessionStore,
    ExportStore,
    AuditStore,
):
    """The patient registry on SQLite (default) or PostgreSQL.

    Parameters
    ----------
    url : str | None
        SQLAlchemy URL; ``$PLPTMS_DB_URL`` or the default SQLite file when ``None``.
    migrate : bool
        Upgrade the schema to the newest revision on open.
    create : bool
        Create the registry when there is none at the URL. Commands that only
        read pass ``False``: a missing registry is then an error
        (:class:`~plptms.registry.db._engine.RegistryMissingError`) and nothing
        is created.

    Notes
    -----
    Every write runs in one transaction that also appends its audit entries; a
    failure anywhere rolls all of it back. Writers are serialised (SQLite
    ``BEGIN IMMEDIATE``, PostgreSQL advisory lock) so the audit chain stays linear.

    Audit entries and delivery events carry a MAC under the site key (see
    :func:`plptms.registry._anchor.audit_key_path`), created on the first write
    when missing; after each audited write the new chain head is written to this
    database's anchor file under the state directory. See ``docs/audit.md``.

    The registry stores assessments as scored by :mod:`plptms.scales`
    (:meth:`store_assessment`); the use cases that score and store are in
    :mod:`plptms.workflow` (:func:`plptms.workflow.record_assessment`).
    """
