"""Command-line interface (thin shell over the core)."""
