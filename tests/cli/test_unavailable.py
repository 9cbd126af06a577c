"""A registry lost after it was opened ends a command with exit 5, not a traceback."""

from __future__ import annotations

import pytest

from plptms.cli import main
from plptms.registry import RegistryUnavailableError


def _lost() -> None:
    raise RegistryUnavailableError(
        "postgresql://plptms:***@db.example:5432/plptms",
        "db.example:5432",
        "connection refused",
        "not_written",
    )


def test_unavailable_registry_exits_5_with_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(main, "app", _lost)
    with pytest.raises(SystemExit) as info:
        main.run()
    assert info.value.code == main.EXIT_UNAVAILABLE == 5
    err = " ".join(capsys.readouterr().err.split())
    assert "Registry unavailable:" in err
    assert "db.example:5432" in err
    assert "nothing was written" in err
    assert "Traceback" not in err


def test_other_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(main, "app", boom)
    with pytest.raises(RuntimeError, match="a bug"):
        main.run()
