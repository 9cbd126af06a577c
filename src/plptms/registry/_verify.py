"""Registry aggregate: verifying the audit trail and exporting its head."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._anchor import AuditHead
from ._audit import AuditReport, TrustRoots
from ._audit_check import verify_chain, verify_rows
from ._models import RegistryError
from ._store import _now, _tables

if TYPE_CHECKING:
    from collections.abc import Sequence
    from contextlib import AbstractContextManager

    from sqlalchemy.orm import Session

__all__ = ["AuditStore"]


class AuditStore:
    """Registry methods that verify the audit trail (mixed into ``Registry``)."""

    if TYPE_CHECKING:  # provided by RegistryStore
        url: str
        _database: str
        _anchor_name: str | None

        def _read(self) -> AbstractContextManager[Session]: ...

    def _roots(self, checkpoint: AuditHead | str | Path | None) -> TrustRoots:
        """Read the site key and the recorded heads kept outside the database."""
        from ._anchor import anchor_path, audit_key_path, read_audit_key, read_head_file

        key_path = audit_key_path()
        apath = anchor_path(self.url, self._anchor_name)
        anchor = None
        if apath is not None and apath.exists():
            anchor = read_head_file(apath)
        cp_path = ""
        if checkpoint is not None and not isinstance(checkpoint, AuditHead):
            cp_path = str(checkpoint)
            checkpoint = read_head_file(checkpoint)
        return TrustRoots(
            key=read_audit_key(key_path),
            key_path=str(key_path),
            anchor=anchor,
            anchor_path=None if apath is None else str(apath),
            checkpoint=checkpoint,
            checkpoint_path=cp_path or "(given)",
        )

    def _with_database_note(
        self, report: AuditReport, roots: TrustRoots
    ) -> AuditReport:
        cp = roots.checkpoint
        if cp is None or cp.database == self._database:
            return report
        note = (
            f"checkpoint {roots.checkpoint_path} was exported from {cp.database}, "
            f"not {self._database} (a moved file, or another database)"
        )
        return report.model_copy(update={"notes": (*report.notes, note)})

    def verify_audit(
        self, *, checkpoint: AuditHead | str | Path | None = None
    ) -> AuditReport:
        """Verify the audit trail end to end.

        Checks the chain (sequence, hashes, links, MACs under the site key), that
        each entry's old state is the previous entry's new state for its row,
        replays it against the tables, walks every delivery session's event chain
        against the count and head sealed in its audited row, and checks the chain
        against this database's head anchor and, if given, an exported checkpoint.

        Parameters
        ----------
        checkpoint : AuditHead | str | Path | None
            A head exported by :meth:`export_checkpoint` (or its file).

        Returns
        -------
        report : AuditReport
            ``ok`` and the list of problems (tampering, or checks that could not
            be made) found, with notes.

        Raises
        ------
        RegistryError
            If the checkpoint or anchor file cannot be read, or the key file is
            not a key.
        """
        roots = self._roots(checkpoint)
        with self._read() as s:
            report = verify_chain(s, _tables(), roots)
        return self._with_database_note(report, roots)

    def verify_records(self, refs: Sequence[tuple[str, int]]) -> AuditReport:
        """Verify named rows cheaply (no chain walk) before relying on them.

        For each (table, id): the row matches its last audited state; each of its
        audit entries hashes and MACs correctly and chains to the entry before it
        (fetched and checked too); each entry's old state is the previous entry's
        new state. A delivery session's events are checked against the head
        sealed in its row. The chain's head entry and the anchored head are
        checked. Meant to run before a session, on the screening, motor
        threshold, protocol assignment and delivery session rows it relies on.

        Parameters
        ----------
        refs : sequence of (str, int)
            Rows as (table name, row id), e.g. ``("screenings", 3)``.

        Returns
        -------
        report : AuditReport
            ``ok`` and the problems found; ``entries`` counts the entries checked.

        Raises
        ------
        RegistryError
            If a table is not an audited table or an id is not an integer.
        """
        roots = self._roots(None)
        with self._read() as s:
            return verify_rows(s, _tables(), refs, roots)

    def audit_head(self) -> AuditHead:
        """Return the chain's head entry (after checking its hash and MAC).

        Returns
        -------
        head : AuditHead
            Sequence number, hash and MAC of the newest entry, and the time now.

        Raises
        ------
        RegistryError
            If the chain is empty, or its head entry fails its hash or MAC check.
        """
        from sqlalchemy import select

        from ._audit_check import _Checker
        from .db._schema import AuditRow

        roots = self._roots(None)
        with self._read() as s:
            row = s.execute(
                select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)
            ).scalar_one_or_none()
            if row is None:
                raise RegistryError("The audit trail is empty: no head to export.")
            chk = _Checker(roots.key)
            chk.entry(row)
            if chk.problems:
                raise RegistryError(
                    "The audit head fails its own check: " + "; ".join(chk.problems)
                )
            return AuditHead(
                database=self._database,
                seq=int(row.seq),
                hash=str(row.hash),
                mac=row.mac,
                at=_now(),
            )

    def export_checkpoint(self, path: str | Path) -> AuditHead:
        """Write the chain's head to a checkpoint file (JSON, written atomically).

        Keep it where the database's writers cannot change it; verify against it
        with ``verify_audit(checkpoint=path)``.

        Parameters
        ----------
        path : str | Path
            The file to write.

        Returns
        -------
        head : AuditHead
            What was written.

        Raises
        ------
        RegistryError
            As :meth:`audit_head`.
        """
        from ._anchor import write_head_file

        head = self.audit_head()
        write_head_file(Path(path), head)
        return head
