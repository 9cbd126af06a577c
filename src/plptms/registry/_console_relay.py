"""Registry aggregate: the console relay between web workers.

A session started from the web console runs in one web worker's process. The
operator's next request may reach another worker (``plptms serve --workers
4``), so the controls and the live progress travel through the one thing all
workers share, the registry database:

* ``console_live``: one row per running session, its worker, state, trains and
  pulses, rewritten by the runner's worker as a heartbeat and deleted at the
  end of the run (:meth:`ConsoleRelayStore.console_runner_start`,
  :meth:`~ConsoleRelayStore.console_heartbeat`,
  :meth:`~ConsoleRelayStore.console_runner_end`);
* ``console_commands``: a pause, resume, abort or emergency stop posted to a
  worker that does not run the session
  (:meth:`~ConsoleRelayStore.issue_console_command`), taken by the runner's
  worker (:meth:`~ConsoleRelayStore.take_console_commands`), emergency stop
  first.

Both tables are operational and not audited: the workflow audits the control
itself (who aborted or stopped the session) when the runner applies it. These
writes do not take the audit chain's writer lock (no audit entry is appended).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from ._models import RegistryError
from ._store import _aware, _check_actor, _now

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator
    from contextlib import AbstractContextManager

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

__all__ = [
    "CONSOLE_COMMANDS",
    "ConsoleCommandOut",
    "ConsoleLiveOut",
    "ConsoleNotRunningError",
    "ConsoleRelayStore",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: The relayed controls, in the order the runner applies those taken together.
CONSOLE_COMMANDS: Final[tuple[str, ...]] = (
    "emergency_stop",
    "abort",
    "pause",
    "resume",
)
_WORKER_CHARS: Final[int] = 128


class ConsoleNotRunningError(RegistryError):
    """A control for a session that no web worker runs (nothing stored)."""


class ConsoleCommandOut(BaseModel):
    """A relayed console control."""

    model_config = _FROZEN

    id: int
    session_id: int
    command: str
    actor: str
    reason: str
    issued_at: dt.datetime
    taken_at: dt.datetime | None
    taken_by: str | None
    outcome: str | None


class ConsoleLiveOut(BaseModel):
    """A running session's latest progress, as its runner's worker wrote it."""

    model_config = _FROZEN

    session_id: int
    worker: str
    state: str
    train: int | None
    n_trains: int | None
    pulses_delivered: int
    pulses_total: int
    seconds_left: float | None
    started_at: dt.datetime
    updated_at: dt.datetime

    def age_s(self, now: dt.datetime | None = None) -> float:
        """Return the heartbeat's age, s (``now``: the current UTC time)."""
        at = _now() if now is None else now
        return (at - _aware(self.updated_at)).total_seconds()


def _check_worker(worker: str) -> str:
    if not isinstance(worker, str) or not 0 < len(worker) <= _WORKER_CHARS:
        raise RegistryError(
            f"Invalid value for 'worker': got {worker!r}; allowed: the web "
            f"worker's id (1-{_WORKER_CHARS} characters)."
        )
    return worker


def _command_out(row: object) -> ConsoleCommandOut:
    return ConsoleCommandOut.model_validate(row, from_attributes=True)


def _live_out(row: object) -> ConsoleLiveOut:
    return ConsoleLiveOut.model_validate(row, from_attributes=True)


class ConsoleRelayStore:
    """Registry methods of the console relay (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore
        engine: Engine

        def _scope(self, s: Session) -> None: ...

        def _read(self) -> AbstractContextManager[Session]: ...

    @contextmanager
    def _relay_write(self) -> Iterator[Session]:
        """One short write transaction without audit (nor its writer lock)."""
        from sqlalchemy.orm import Session

        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            self._scope(s)
            yield s

    # ----------------------------------------------------------- live progress
    def console_runner_start(self, session_id: int, *, worker: str) -> None:
        """Record that ``worker`` runs a session now (its first heartbeat).

        Parameters
        ----------
        session_id : int
            Delivery session.
        worker : str
            The web worker's id.

        Raises
        ------
        RecordNotFoundError
            If there is no such delivery session (among the view's sites).
        """
        from ._delivery import _delivery_row
        from .db._schema import ConsoleLiveRow

        worker = _check_worker(worker)
        with self._relay_write() as s:
            _delivery_row(s, session_id)
            now = _now()
            row = s.get(ConsoleLiveRow, session_id)
            if row is None:
                row = ConsoleLiveRow(session_id=session_id)
                s.add(row)
            row.worker = worker
            row.state = "starting"
            row.train = None
            row.n_trains = None
            row.pulses_delivered = 0
            row.pulses_total = 0
            row.seconds_left = None
            row.started_at = now
            row.updated_at = now

    def console_heartbeat(
        self,
        session_id: int,
        *,
        worker: str,
        state: str,
        train: int | None = None,
        n_trains: int | None = None,
        pulses_delivered: int = 0,
        pulses_total: int = 0,
        seconds_left: float | None = None,
    ) -> bool:
        """Write a running session's progress (the runner's heartbeat).

        Parameters
        ----------
        session_id : int
            Delivery session.
        worker : str
            The web worker that runs it.
        state : str
            The runner's state (``running``, ``paused``, ...).
        train, n_trains : int | None
            Current train (from 1) and number of trains.
        pulses_delivered, pulses_total : int
            Pulses so far and planned.
        seconds_left : float | None
            Time left, s (simulated on the console).

        Returns
        -------
        held : bool
            ``False`` when the row is gone or another worker's (nothing written).
        """
        from .db._schema import ConsoleLiveRow

        with self._relay_write() as s:
            row = s.get(ConsoleLiveRow, session_id)
            if row is None or row.worker != worker:
                return False
            row.state = str(state)[:32]
            row.train = train
            row.n_trains = n_trains
            row.pulses_delivered = int(pulses_delivered)
            row.pulses_total = int(pulses_total)
            row.seconds_left = seconds_left
            row.updated_at = _now()
            return True

    def console_runner_end(self, session_id: int, *, worker: str) -> None:
        """Delete a session's live row; untaken controls end as ``ended``.

        Parameters
        ----------
        session_id : int
            Delivery session.
        worker : str
            The web worker whose run ended (another worker's row is kept).
        """
        from sqlalchemy import update

        from .db._schema import ConsoleCommandRow, ConsoleLiveRow

        with self._relay_write() as s:
            # the live row first: a concurrent issue holds it (FOR UPDATE), so
            # its command is committed, and closed below, before this goes on
            row = s.get(ConsoleLiveRow, session_id, with_for_update=True)
            if row is None or row.worker != worker:
                return
            s.delete(row)
            s.flush()
            s.execute(
                update(ConsoleCommandRow)
                .where(
                    ConsoleCommandRow.session_id == session_id,
                    ConsoleCommandRow.taken_at.is_(None),
                )
                .values(taken_at=_now(), taken_by=worker, outcome="ended")
            )

    def console_live(self, session_ids: Collection[int]) -> dict[int, ConsoleLiveOut]:
        """Return the live rows of some sessions (those running or lost).

        Parameters
        ----------
        session_ids : collection of int
            Delivery sessions.

        Returns
        -------
        live : dict of int to ConsoleLiveOut
            By session id; a session without a row is absent.
        """
        from sqlalchemy import select

        from .db._schema import ConsoleLiveRow

        ids = sorted({int(i) for i in session_ids})
        if not ids:
            return {}
        with self._read() as s:
            rows = s.execute(
                select(ConsoleLiveRow).where(ConsoleLiveRow.session_id.in_(ids))
            ).scalars()
            return {r.session_id: _live_out(r) for r in rows}

    # ---------------------------------------------------------------- commands
    def issue_console_command(
        self, session_id: int, command: str, *, actor: str, reason: str
    ) -> tuple[ConsoleCommandOut, ConsoleLiveOut]:
        """Relay a control to the worker that runs a session.

        Parameters
        ----------
        session_id : int
            Delivery session.
        command : str
            One of :data:`CONSOLE_COMMANDS`.
        actor : str
            Who pressed it (the authenticated user).
        reason : str
            Why (an abort's reason; "emergency stop" for an emergency stop).

        Returns
        -------
        command, live : ConsoleCommandOut, ConsoleLiveOut
            The stored command and the live row of its session (the worker
            that will take it and its last heartbeat).

        Raises
        ------
        ConsoleNotRunningError
            If no worker runs the session (no live row): nothing is stored.
        RegistryError
            On an unknown command or a bad actor (nothing stored).
        """
        from sqlalchemy import select

        from .db._schema import ConsoleCommandRow, ConsoleLiveRow

        if command not in CONSOLE_COMMANDS:
            raise RegistryError(
                f"Invalid value for 'command': got {command!r}; allowed values "
                f"are {', '.join(CONSOLE_COMMANDS)}."
            )
        actor = _check_actor(actor)
        with self._relay_write() as s:
            live = s.execute(
                select(ConsoleLiveRow)
                .where(ConsoleLiveRow.session_id == session_id)
                .with_for_update()
            ).scalar_one_or_none()
            if live is None:
                raise ConsoleNotRunningError(
                    f"Invalid value for 'session_id': got {session_id}; it is not "
                    "running on this console or on any other worker of this "
                    "registry (nothing was sent)."
                )
            row = ConsoleCommandRow(
                session_id=session_id,
                command=command,
                actor=actor,
                reason=str(reason),
                issued_at=_now(),
            )
            s.add(row)
            s.flush()
            return _command_out(row), _live_out(live)

    def pending_console_commands(self, session_id: int) -> bool:
        """Return whether a session has a control not yet taken (a cheap read).

        Parameters
        ----------
        session_id : int
            Delivery session.

        Returns
        -------
        pending : bool
            Whether one is waiting.
        """
        from sqlalchemy import select

        from .db._schema import ConsoleCommandRow

        with self._read() as s:
            return (
                s.execute(
                    select(ConsoleCommandRow.id)
                    .where(
                        ConsoleCommandRow.session_id == session_id,
                        ConsoleCommandRow.taken_at.is_(None),
                    )
                    .limit(1)
                ).first()
                is not None
            )

    def take_console_commands(
        self, session_id: int, *, worker: str
    ) -> list[ConsoleCommandOut]:
        """Take a session's waiting controls, emergency stop first.

        Parameters
        ----------
        session_id : int
            Delivery session.
        worker : str
            The worker that runs it (stored as ``taken_by``).

        Returns
        -------
        commands : list of ConsoleCommandOut
            Marked taken (outcome ``applied``): the caller applies them in this
            order (emergency stops, aborts, then the rest as issued).
        """
        from sqlalchemy import select

        from .db._schema import ConsoleCommandRow

        worker = _check_worker(worker)
        with self._relay_write() as s:
            rows = list(
                s.execute(
                    select(ConsoleCommandRow)
                    .where(
                        ConsoleCommandRow.session_id == session_id,
                        ConsoleCommandRow.taken_at.is_(None),
                    )
                    .order_by(ConsoleCommandRow.id)
                ).scalars()
            )
            now = _now()
            for r in rows:
                r.taken_at = now
                r.taken_by = worker
                r.outcome = "applied"
            s.flush()
            out = [_command_out(r) for r in rows]
        first = {"emergency_stop": 0, "abort": 1}
        return sorted(out, key=lambda c: (first.get(c.command, 2), c.id))

    def expire_console_command(self, command_id: int) -> bool:
        """Withdraw a control no runner took in time (a late pause or resume).

        Parameters
        ----------
        command_id : int
            The command.

        Returns
        -------
        expired : bool
            ``False`` when it was taken meanwhile (it stands).
        """
        from sqlalchemy import update

        from .db._schema import ConsoleCommandRow

        with self._relay_write() as s:
            done = s.execute(
                update(ConsoleCommandRow)
                .where(
                    ConsoleCommandRow.id == command_id,
                    ConsoleCommandRow.taken_at.is_(None),
                )
                .values(taken_at=_now(), outcome="expired")
            )
            return bool(getattr(done, "rowcount", 0))

    def console_command(self, command_id: int) -> ConsoleCommandOut:
        """Return one relayed control (whether and by whom it was taken).

        Parameters
        ----------
        command_id : int
            The command.

        Returns
        -------
        command : ConsoleCommandOut
            As stored now.

        Raises
        ------
        RecordNotFoundError
            If there is no such command (among the view's sites).
        """
        from ._models import RecordNotFoundError
        from .db._schema import ConsoleCommandRow

        with self._read() as s:
            row = s.get(ConsoleCommandRow, command_id)
            if row is None:
                raise RecordNotFoundError(f"No console command {command_id}.")
            return _command_out(row)
