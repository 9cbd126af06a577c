"""Schemathesis over ``/api/v1/openapi.json``: no 5xx, answers match the schema.

The app is :func:`plptms.web.clinic_app` (the real accounts) on the two-site
registry of ``conftest.py``; the caller is a physician of S01 with an API
token issued by :func:`plptms.workflow.issue_api_token`. Every operation is
fuzzed with schema-valid input (positive) and schema-invalid input (negative),
once with generated path parameters (mostly unknown patients: 404) and once on
a patient that exists, with the checks ``not_a_server_error``,
``response_schema_conformance`` and ``status_code_conformance``. The run is
bounded (:data:`MAX_EXAMPLES` per operation and mode) and derandomised.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from tests.web.conftest import SECRET

from plptms.access import Role

#: Examples per operation, generation mode and path choice (bounded run).
MAX_EXAMPLES = 40

ADMIN_PW = "admin-passphrase-long"
DR_PW = "doctor-passphrase-long"


def seed_accounts(url: str) -> dict[str, str]:
    """Create an administrator and one user per clinical role; return tokens.

    Returns
    -------
    tokens : dict of str to str
        Username to a fresh API token (``plptms_...``).
    """
    from plptms.registry import Registry
    from plptms.workflow import UserInput, create_user, issue_api_token, principal_for

    tokens: dict[str, str] = {}
    with Registry(url) as reg:
        admin = create_user(
            reg,
            UserInput(
                username="admin",
                display_name="Admin",
                role=Role.ADMINISTRATOR,
                sites=frozenset({"S01"}),
                password=ADMIN_PW,
            ),
            by=None,
        )
        by = principal_for(reg, admin.username)
        for username, role, sites in (
            ("dr1", Role.PHYSICIAN, {"S01"}),
            ("rater1", Role.RATER, {"S01"}),
            ("dr2", Role.PHYSICIAN, {"S02"}),
        ):
            create_user(
                reg,
                UserInput(
                    username=username,
                    display_name=username,
                    role=role,
                    sites=frozenset(sites),
                    password=DR_PW,
                ),
                by=by,
            )
        for username in ("admin", "dr1", "rater1", "dr2"):
            tokens[username] = issue_api_token(
                reg, principal_for(reg, username), label="test"
            )
    return tokens


@pytest.fixture
def real_app(db_file: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """``clinic_app`` on the seeded registry, started (lifespan), with tokens."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from plptms.web import WebSettings, clinic_app

    tokens = seed_accounts(db_file)
    app = clinic_app(
        WebSettings.model_validate(
            {"db_url": db_file, "secret_key": SECRET, "cookie_secure": False}
        )
    )
    with TestClient(app):  # runs the lifespan: the registry is open
        yield app, tokens


def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        response_schema_conformance,
        status_code_conformance,
    )

    return [not_a_server_error, response_schema_conformance, status_code_conformance]


def _fuzz(
    app: Any, token: str, *, path_parameters: dict[str, str] | None
) -> list[tuple[str, str]]:
    """Fuzz every operation; return the (operation, mode) pairs run."""
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = _checks()
    headers = {"Authorization": f"Bearer {token}"}
    runs: list[tuple[str, str]] = []
    for result in schema.get_all_operations():
        op = result.ok()
        params = {p.name for p in op.path_parameters}
        fixed = (
            None
            if path_parameters is None
            else {k: v for k, v in path_parameters.items() if k in params}
        )
        if path_parameters is not None and not fixed:
            continue  # no path parameter: already fuzzed in the free run
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(
                generation_mode=mode, path_parameters=fixed, headers=headers
            )

            @given(case=strategy)
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.headers = {**(case.headers or {}), **headers}
                case.call_and_validate(checks=checks)

            try:
                run()
            except Unsatisfiable:
                # nothing schema-invalid to send (e.g. no parameter, no body)
                assert not mode.is_positive, f"{op.label}: no valid input"
                continue
            runs.append((op.label, mode.value))
    return runs


def test_schema_fuzz_free_paths(real_app: tuple[Any, dict[str, str]]) -> None:
    """Generated paths and bodies: never a 5xx, always the documented answer."""
    app, tokens = real_app
    runs = _fuzz(app, tokens["dr1"], path_parameters=None)
    labels = {label for label, _ in runs}
    assert len(labels) >= 5  # every operation ran (positive mode never skipped)
    assert any(mode == "negative" for _, mode in runs)


def test_schema_fuzz_existing_patient(real_app: tuple[Any, dict[str, str]]) -> None:
    """On a patient of the caller's site (reads return it, writes are scored)."""
    app, tokens = real_app
    runs = _fuzz(app, tokens["dr1"], path_parameters={"site": "S01", "code": "P001"})
    assert {label for label, _ in runs} >= {
        "GET /api/v1/patients/{site}/{code}",
        "POST /api/v1/patients/{site}/{code}/assessments",
    }


def test_schema_fuzz_role_without_rights(real_app: tuple[Any, dict[str, str]]) -> None:
    """A rater and an administrator get 403s that match the schema, never 5xx."""
    app, tokens = real_app
    for user in ("rater1", "admin"):
        _fuzz(app, tokens[user], path_parameters={"site": "S01", "code": "P001"})
