"""CLI commands for profile (registered on the root app on import)."""

from __future__ import annotations

from dlprimer.cli._app import app  # noqa: F401
