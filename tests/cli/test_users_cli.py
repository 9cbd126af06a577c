"""`plptms user`: accounts, sites, passwords, deactivation and API tokens."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from plptms.cli.main import app
from plptms.registry import Registry
from plptms.workflow._accounts import authenticate, principal_from_token

from .conftest import assert_one_line_error

runner = CliRunner()
ADMIN_PW = "correct horse battery"


def _run(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, list(args), input=stdin)


def _count(db: str, table: str) -> int:
    eng = sa.create_engine(db)
    with eng.connect() as c:
        n = int(c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    eng.dispose()
    return n


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    res = _run(
        "user", "add", "admin", "--name", "Ada", "--role", "administrator",
        "--password-stdin", "--db", url, stdin=ADMIN_PW + "\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Created admin (Ada): administrator; no site; active." in res.output
    return url


def test_add_with_a_prompted_password_then_list(db: str) -> None:
    res = _run(
        "user", "add", "op1", "--name", "Olga", "--role", "operator",
        "--site", "S1", "--site", "S2", "--by", "admin", "--db", db,
        stdin="staple ink window\nstaple ink window\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "staple ink window" not in res.output  # the prompt hides it
    with Registry(db) as reg:
        assert authenticate(reg, "op1", "staple ink window").sites == {"S1", "S2"}
    res = _run("user", "list", "--by", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    assert "op1" in res.output
    assert "S1, S2" in res.output
    assert "$argon2" not in res.output


def test_bad_input_is_one_line_and_stores_nothing(db: str) -> None:
    before = _count(db, "users"), _count(db, "audit_log")
    res = _run(
        "user", "add", "op1", "--name", "Olga", "--role", "wizard",
        "--by", "admin", "--password-stdin", "--db", db, stdin="long enough pass\n",
    )  # fmt: skip
    assert_one_line_error(res, "role", "wizard")
    res = _run(
        "user", "add", "op1", "--name", "Olga", "--role", "operator",
        "--by", "admin", "--password-stdin", "--db", db, stdin="short\n",
    )  # fmt: skip
    line = assert_one_line_error(res, "'password'", "5 characters")
    assert "short" not in line.replace("characters", "")
    res = _run(
        "user", "add", "x1", "--name", "X", "--role", "administrator",
        "--password-stdin", "--db", db, stdin="long enough pass\n",
    )  # fmt: skip
    assert_one_line_error(res, "'by'")
    assert (_count(db, "users"), _count(db, "audit_log")) == before


def test_sites_passwd_deactivate(db: str) -> None:
    _run(
        "user", "add", "op1", "--name", "Olga", "--role", "operator", "--site",
        "S1", "--by", "admin", "--password-stdin", "--db", db,
        stdin="staple ink window\n",
    )  # fmt: skip
    res = _run("user", "sites", "op1", "--site", "S3", "--by", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    assert "operator; S3; active" in res.output
    res = _run("user", "sites", "op1", "--site", "S3", "--by", "op1", "--db", db)
    assert_one_line_error(res, "user.manage")
    res = _run(
        "user", "passwd", "op1", "--password-stdin", "--db", db,
        stdin="a brand new passphrase\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    with Registry(db) as reg:
        assert authenticate(reg, "op1", "a brand new passphrase").username == "op1"
    res = _run("user", "deactivate", "op1", "--by", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    assert "DEACTIVATED" in res.output
    res = _run("user", "list", "--by", "op1", "--db", db)
    assert_one_line_error(res, "deactivated")


def test_token_issue_list_revoke(db: str) -> None:
    res = _run("user", "token", "issue", "--user", "admin", "--label", "ci", "--db", db)
    assert res.exit_code == 0, res.output
    token = res.stdout.strip().splitlines()[0]
    assert token.startswith("plptms_")
    with Registry(db) as reg:
        assert principal_from_token(reg, token).username == "admin"
    eng = sa.create_engine(db)
    with eng.connect() as c:
        stored = c.execute(sa.text("SELECT token_sha256 FROM api_tokens")).scalar_one()
    eng.dispose()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    res = _run("user", "token", "list", "--user", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    assert "ci" in res.output
    assert token not in res.output
    res = _run("user", "token", "revoke", "1", "--by", "admin", "--db", db)
    assert res.exit_code == 0, res.output
    res = _run("user", "token", "revoke", "1", "--by", "admin", "--db", db)
    assert_one_line_error(res, "'token_id'", "revoked at")
    res = _run(
        "user", "token", "issue", "--user", "admin", "--label", "x",
        "--ttl-days", "0", "--db", db,
    )  # fmt: skip
    assert_one_line_error(res, "'ttl_days'")
