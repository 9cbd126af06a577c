"""``python -m plptms``."""

from plptms.cli.main import app

app()
