"""Shared helpers of the CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def assert_one_line_error(res: Any, *words: str) -> str:
    """Assert a clean refusal: exit 2, no traceback, one ``Error:`` line.

    Parameters
    ----------
    res : click.testing.Result
        What ``CliRunner.invoke`` returned.
    *words : str
        Text the message must contain.

    Returns
    -------
    line : str
        The error line.
    """
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(
        res.exception
    )
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert lines[0].startswith("Error: "), res.output
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def write_protocol(tmp_path: Path, dose: dict[str, Any], *, pid: str) -> Path:
    """Write a one-block protocol file (10 sessions, 5 a week) with ``dose``."""
    import yaml

    doc = {
        "id": pid,
        "name": "cli",
        "condition": "active",
        "blocks": [
            {
                "label": "M1",
                "dose": dose,
                "sessions": 10,
                "sessions_per_week": 5,
                "course_weeks": 2,
            }
        ],
    }
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(doc))
    return f
