"""Pool settings of a shared registry and the connection sizing rule.

Oracles: the documented bounds of each setting, hand-computed connection
counts, and libpq's own spelling of the arguments (``connect_timeout`` in s,
``-c statement_timeout=`` in ms).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plptms.registry.db._pool import (
    POOL_ENV,
    PoolSettings,
    check_connection_budget,
    pool_settings_from_env,
    site_connections,
)


def test_defaults_and_engine_arguments() -> None:
    pool = PoolSettings()
    assert pool.engine_kwargs() == {
        "pool_size": 5,
        "max_overflow": 10,
        "pool_timeout": 30.0,
        "pool_recycle": 1800,
        "pool_pre_ping": True,
    }
    assert pool.max_connections == 15
    assert pool.connect_args() == {
        "connect_timeout": 10,
        "options": "-c statement_timeout=60000",
    }
    # options already in the URL are kept, the timeout appended
    assert pool.connect_args("-c search_path=x")["options"] == (
        "-c search_path=x -c statement_timeout=60000"
    )


def test_environment_overrides_each_setting() -> None:
    env = {
        POOL_ENV["pool_size"]: "8",
        POOL_ENV["max_overflow"]: " 0 ",
        POOL_ENV["pool_timeout_s"]: "2.5",
        POOL_ENV["pool_recycle_s"]: "600",
        POOL_ENV["pool_pre_ping"]: "off",
        POOL_ENV["connect_timeout_s"]: "4",
        POOL_ENV["statement_timeout_s"]: "0",
    }
    pool = pool_settings_from_env(env)
    assert pool == PoolSettings(
        pool_size=8,
        max_overflow=0,
        pool_timeout_s=2.5,
        pool_recycle_s=600.0,
        pool_pre_ping=False,
        connect_timeout_s=4,
        statement_timeout_s=0.0,
    )
    assert pool_settings_from_env({}) == PoolSettings()


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("pool_size", "0"),
        ("pool_size", "2.5"),
        ("pool_size", "many"),
        ("max_overflow", "-1"),
        ("pool_timeout_s", "0"),
        ("pool_recycle_s", "10"),
        ("pool_pre_ping", "maybe"),
        ("connect_timeout_s", "1"),
        ("statement_timeout_s", "nan"),
        ("statement_timeout_s", "-5"),
    ],
)
def test_a_bad_variable_is_named(field: str, raw: str) -> None:
    var = POOL_ENV[field]
    with pytest.raises(ValueError, match=var) as ei:
        pool_settings_from_env({var: raw})
    assert repr(raw) in str(ei.value)
    assert "allowed" in str(ei.value).split(repr(raw))[1]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("pool_size", 201, ValueError),
        ("pool_size", True, TypeError),
        ("pool_size", "5", TypeError),
        ("connect_timeout_s", 2.5, TypeError),
        ("pool_pre_ping", 1, TypeError),
        ("pool_timeout_s", 601.0, ValueError),
    ],
)
def test_a_bad_field_is_named(field: str, value: object, error: type) -> None:
    with pytest.raises(error, match=field):
        PoolSettings(**{field: value})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="pool_sise"):
        PoolSettings(pool_sise=5)  # type: ignore[call-arg]


@given(st.integers(min_value=-1000, max_value=1000))
def test_pool_size_bounds(n: int) -> None:
    if 1 <= n <= 200:
        pool = PoolSettings(pool_size=n)
        assert pool.pool_size == n
        assert PoolSettings(**pool.model_dump()) == pool  # idempotent
    else:
        with pytest.raises(ValueError, match="pool_size"):
            PoolSettings(pool_size=n)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_statement_timeout_bounds(x: float) -> None:
    if 0.0 <= x <= 86400.0:
        pool = PoolSettings(statement_timeout_s=x)
        assert pool.connect_args()["options"] == (
            f"-c statement_timeout={round(x * 1000.0)}"
        )
    else:
        with pytest.raises(ValueError, match="statement_timeout_s"):
            PoolSettings(statement_timeout_s=x)


def test_sizing_rule_by_hand() -> None:
    # 2 web workers x 8 threads + 2 stimulation rooms = 18 connections
    assert site_connections(2, 8, 2) == 18
    assert site_connections(0, 1, 1) == 1
    sites = {"S01": 18, "S02": 18, "S03": 10}
    # 100 - 3 superuser - 10 reserved = 87 allowed; 46 used; 41 spare
    assert check_connection_budget(sites, max_connections=100, reserved=10) == 41
    with pytest.raises(ValueError, match=r"per_site.*46 connections.*= 40"):
        check_connection_budget(sites, max_connections=50, reserved=7)
    with pytest.raises(ValueError, match="threads_per_worker"):
        site_connections(2, 0, 1)
    with pytest.raises(TypeError, match="runners"):
        site_connections(2, 8, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="S02"):
        check_connection_budget({"S02": -1}, max_connections=100, reserved=0)
