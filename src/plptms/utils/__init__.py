"""Shared helpers: input checks and logging."""

from ._checks import (
    check_finite,
    check_not_future,
    check_option,
    check_range,
    check_strict_date,
    check_strict_number,
    check_type,
    format_range,
)
from ._logging import logger, set_log_level

__all__ = [
    "check_finite",
    "check_not_future",
    "check_option",
    "check_range",
    "check_strict_date",
    "check_strict_number",
    "check_type",
    "format_range",
    "logger",
    "set_log_level",
]
