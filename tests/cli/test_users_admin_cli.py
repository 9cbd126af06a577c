"""`plptms user role` and `plptms user unlock` (issue 17, third slice).

Oracles: the stored role read back through the accounts (``principal_for``);
the audit log's reason and actor read with SQL; a lockout made by five wrong
passwords (the throttle's constants) and a correct sign-in after the unlock.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from plptms.access import Role
from plptms.cli.main import app
from plptms.registry import Registry
from plptms.workflow._accounts import LoginRefusedError, authenticate, principal_for

from .conftest import assert_one_line_error

runner = CliRunner()
ADMIN_PW = "correct horse battery"
OP_PW = "staple ink window"


def _run(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=stdin)


def _audit(db: str) -> list[Any]:
    eng = sa.create_engine(db)
    with eng.connect() as c:
        rows = list(
            c.execute(
                sa.text("SELECT actor, action, reason FROM audit_log ORDER BY seq")
            )
        )
    eng.dispose()
    return rows


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    for args, pw in (
        (("admin", "--name", "Ada", "--role", "administrator"), ADMIN_PW),
        (("op1", "--name", "Olga", "--role", "operator", "--by", "admin"), OP_PW),
    ):
        res = _run(
            "user", "add", *args, "--password-stdin", "--db", url, stdin=pw + "\n"
        )
        assert res.exit_code == 0, res.output
    return url


def test_role_changes_the_role_with_its_reason(db: str) -> None:
    res = _run(
        "user", "role", "op1", "physician", "--reason", "trained as physician",
        "--by", "admin", "--db", db,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Updated op1 (Olga): physician; no site; active." in res.output
    with Registry(db) as reg:
        assert principal_for(reg, "op1").role is Role.PHYSICIAN
    last = _audit(db)[-1]
    assert (last.actor, last.action, last.reason) == (
        "admin",
        "update",
        "trained as physician",
    )


def test_role_refusals_are_one_line_and_change_nothing(db: str) -> None:
    before = len(_audit(db))
    res = _run(
        "user", "role", "op1", "wizard", "--reason", "x", "--by", "admin", "--db", db
    )
    assert_one_line_error(res, "'role'", "wizard")
    res = _run(
        "user", "role", "admin", "rater", "--reason", "x", "--by", "admin", "--db", db
    )
    assert_one_line_error(res, "last active administrator")
    res = _run(
        "user", "role", "op1", "administrator", "--reason", "x", "--by", "op1",
        "--db", db,
    )  # fmt: skip
    assert_one_line_error(res)
    res = _run("user", "role", "op1", "rater", "--by", "admin", "--db", db)
    assert res.exit_code == 2  # --reason is required
    assert len(_audit(db)) == before


def test_unlock_lifts_a_lockout(db: str) -> None:
    t0 = dt.datetime.now(dt.UTC)
    with Registry(db) as reg:
        for _ in range(5):
            with pytest.raises(LoginRefusedError):
                authenticate(reg, "op1", "wrong password!", now=t0)
        with pytest.raises(LoginRefusedError, match="locked until"):
            authenticate(reg, "op1", OP_PW, now=t0)
    res = _run("user", "unlock", "op1", "--by", "op1", "--db", db)
    assert_one_line_error(res)  # an operator may not manage users
    res = _run("user", "unlock", "op1", "--by", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    assert "Sign-in of op1 unlocked." in res.output
    with Registry(db) as reg:
        assert authenticate(reg, "op1", OP_PW).username == "op1"
    last = [r for r in _audit(db) if r.action == "sign_in_unlock"]
    assert [r.actor for r in last] == ["admin"]
    res = _run("user", "unlock", "op1", "--by", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    assert "had no failed sign-in to clear" in res.output
    res = _run("user", "unlock", "nobody", "--by", "admin", "--db", db)
    assert_one_line_error(res, "'username'", "nobody")
