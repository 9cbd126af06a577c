"""The network to a shared PostgreSQL registry goes down, then comes back.

A TCP proxy sits between the registry and PostgreSQL, and the test cuts it.
Oracles: the connect timeout the test sets (an operation fails within it plus
a margin), the rows and audit entries counted straight on the server before and
after (nothing lost, nothing half-written), the files under the state and
config directories (nothing written anywhere else), and the audit verification.
"""

from __future__ import annotations

import os
import pickle
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from plptms.registry import Registry
from plptms.registry.db._engine import DatabaseOpenError, RegistryUnavailableError
from plptms.registry.db._pool import POOL_ENV

#: The connect timeout the tests set, s (libpq's smallest useful value).
CONNECT_TIMEOUT_S = 2
#: Allowed time beyond the connect timeout for a failed operation, s (a shared,
#: loaded CPU; the oracle is the timeout, not a speed).
MARGIN_S = 2.0


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 that can be cut and restored.

    Modes: ``up`` forwards; ``reset`` accepts and closes at once (the network
    answers "no"); ``blackhole`` accepts and never answers (a cable pulled:
    only a timeout ends the wait). ``mute`` forwards to the server but drops
    its replies. Cutting closes every live connection.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode = "up"
        self.mute = False
        self._live: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "reset":
                client.close()
                continue
            with self._lock:
                self._live.append(client)
            if self.mode == "blackhole":
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._live.append(server)
            for a, b, reply in ((client, server, False), (server, client, True)):
                threading.Thread(
                    target=self._pump, args=(a, b, reply), daemon=True
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, reply: bool) -> None:
        try:
            while data := src.recv(65536):
                if not (reply and self.mute):
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self, mode: str = "reset") -> None:
        """Stop forwarding (``reset`` or ``blackhole``) and drop live connections."""
        self.mode = mode
        with self._lock:
            live, self._live = self._live, []
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        """Forward again."""
        self.mute = False
        self.mode = "up"

    def close(self) -> None:
        self.cut()
        self._listener.close()


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("a network registry is PostgreSQL's")
    return db_url


@pytest.fixture
def proxy(pg_url: str):  # type: ignore[no-untyped-def]
    url = sa.engine.make_url(pg_url)
    p = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield p
    p.close()


def proxied_url(pg_url: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """Return the registry URL through the proxy (sets a 2 s connect timeout)."""
    monkeypatch.setenv(POOL_ENV["connect_timeout_s"], str(CONNECT_TIMEOUT_S))
    url = sa.engine.make_url(pg_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def proxied(pg_url: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch) -> str:
    """The registry URL through the proxy, with a 2 s connect timeout."""
    return proxied_url(pg_url, proxy, monkeypatch)


def _counts(pg_url: str) -> tuple[int, int]:
    """Patients and audit entries, counted on the server directly."""
    eng = sa.create_engine(pg_url)
    try:
        with eng.connect() as c:
            patients = c.execute(sa.text("SELECT count(*) FROM patients")).scalar_one()
            entries = c.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    finally:
        eng.dispose()
    return int(patients), int(entries)


def _files() -> dict[str, bytes]:
    """Every file under the state and config directories, with its content."""
    out: dict[str, bytes] = {}
    for var in ("PLPTMS_STATE_DIR", "PLPTMS_CONFIG_DIR"):
        base = Path(os.environ[var])
        if base.exists():
            for p in sorted(base.rglob("*")):
                if p.is_file():
                    out[str(p)] = p.read_bytes()
    return out


def test_pool_settings_reach_the_engine(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (
        ("pool_size", "3"),
        ("max_overflow", "2"),
        ("pool_timeout_s", "7.5"),
        ("statement_timeout_s", "12.5"),
    ):
        monkeypatch.setenv(POOL_ENV[name], value)
    with Registry(pg_url) as reg:
        pool: Any = reg.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 2, 7.5)
        with reg.engine.connect() as c:
            shown = c.execute(sa.text("SHOW statement_timeout")).scalar_one()
        assert shown == "12500ms"


def test_a_bad_pool_setting_is_refused_before_connecting(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POOL_ENV["pool_size"], "0")
    with pytest.raises(ValueError, match="PLPTMS_DB_POOL_SIZE"):
        Registry(pg_url)


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_network_down_fails_fast_and_writes_nothing(
    pg_url: str, proxied: str, proxy: TcpProxy, mode: str
) -> None:
    with Registry(proxied) as reg:
        reg.add_patient("S01", "P1", history=None, actor="n")
        before, files = _counts(pg_url), _files()
        proxy.cut(mode)
        attempts = {
            "write": lambda: reg.add_patient("S01", "P2", history=None, actor="n"),
            "read": reg.list_patients,
        }
        for attempt, operation in attempts.items():
            start = time.monotonic()
            with pytest.raises(RegistryUnavailableError, match=f":{proxy.port}") as ei:
                operation()
            elapsed = time.monotonic() - start
            assert elapsed < CONNECT_TIMEOUT_S + MARGIN_S, (attempt, elapsed)
            assert ei.value.outcome == "not_written"
            assert "nothing was written" in str(ei.value)
            # an outage is not bad input: `except ValueError` does not catch it
            assert not isinstance(ei.value, ValueError)
        assert _counts(pg_url) == before
        assert _files() == files  # no local fallback, no queue, no new anchor
        # the network is back: the same registry works again (pre-ping)
        proxy.restore()
        reg.add_patient("S01", "P2", history=None, actor="n")
        assert [p.code for p in reg.list_patients()] == ["P1", "P2"]
        assert _counts(pg_url) == (before[0] + 1, before[1] + 1)
        report = reg.verify_audit()
        assert report.ok, report.problems


def test_opening_while_the_network_is_down(proxied: str, proxy: TcpProxy) -> None:
    proxy.cut("blackhole")
    start = time.monotonic()
    # the error the command line already reports for a registry it cannot open
    with pytest.raises(DatabaseOpenError, match=f"127.0.0.1:{proxy.port} cannot be"):
        Registry(proxied)
    assert time.monotonic() - start < CONNECT_TIMEOUT_S + MARGIN_S


def test_a_drop_inside_the_transaction_stores_nothing(
    pg_url: str, proxied: str, proxy: TcpProxy
) -> None:
    """The link drops after the patient row is sent, before its audit entry:
    the server rolls the whole transaction back."""
    with Registry(proxied) as reg:
        reg.add_patient("S01", "P1", history=None, actor="n")
        before = _counts(pg_url)

        def cut_at_audit(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if "INSERT INTO audit_log" in statement:
                proxy.cut()

        sa.event.listen(reg.engine, "before_cursor_execute", cut_at_audit)
        with pytest.raises(RegistryUnavailableError) as ei:
            reg.add_patient("S01", "P2", history=None, actor="n")
        sa.event.remove(reg.engine, "before_cursor_execute", cut_at_audit)
        assert ei.value.outcome == "not_written"
        proxy.restore()
        assert _counts(pg_url) == before
        assert [p.code for p in reg.list_patients()] == ["P1"]
        assert reg.verify_audit().ok


def test_a_drop_while_committing_stores_it_whole(
    pg_url: str, proxied: str, proxy: TcpProxy
) -> None:
    """COMMIT reaches the server but its answer is lost: the error says the
    outcome is unknown, and the change is there whole (row and audit entry)."""
    with Registry(proxied) as reg:
        reg.add_patient("S01", "P1", history=None, actor="n")
        before = _counts(pg_url)

        def lose_the_answer(conn: Any) -> None:
            proxy.mute = True
            threading.Timer(0.5, proxy.cut).start()

        sa.event.listen(reg.engine, "commit", lose_the_answer)
        with pytest.raises(RegistryUnavailableError, match="look the record up") as ei:
            reg.add_patient("S01", "P2", history=None, actor="n")
        sa.event.remove(reg.engine, "commit", lose_the_answer)
        assert ei.value.outcome == "unknown"
        assert pickle.loads(pickle.dumps(ei.value)).args == ei.value.args
        proxy.restore()
        assert _counts(pg_url) == (before[0] + 1, before[1] + 1)
        assert [p.code for p in reg.list_patients()] == ["P1", "P2"]
        assert reg.verify_audit().ok
