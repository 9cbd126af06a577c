"""``python -m plptms``."""

from plptms.cli.main import run

run()
