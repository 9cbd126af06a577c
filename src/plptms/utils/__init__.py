"""Shared helpers: input checks, safe file loading, paths, soft imports, logging."""

from ._checks import (
    check_finite,
    check_not_future,
    check_option,
    check_range,
    check_strict_date,
    check_strict_number,
    check_type,
    format_range,
    short_repr,
)
from ._clock import check_timezone, clinic_timezone, clinic_today, utc_now
from ._gc import gc_paused
from ._imports import soft_import
from ._load import DataFileError, load_data_file, load_data_text
from ._logging import logger, set_log_level
from ._paths import config_dir, state_dir
from ._rawfile import read_raw_checked

__all__ = [
    "DataFileError",
    "check_finite",
    "check_not_future",
    "check_option",
    "check_range",
    "check_strict_date",
    "check_strict_number",
    "check_timezone",
    "check_type",
    "clinic_timezone",
    "clinic_today",
    "config_dir",
    "format_range",
    "gc_paused",
    "load_data_file",
    "load_data_text",
    "logger",
    "read_raw_checked",
    "set_log_level",
    "short_repr",
    "soft_import",
    "state_dir",
    "utc_now",
]
