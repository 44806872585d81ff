"""Fixtures for the team store tests: a private PostgreSQL cluster (``pg.py``)."""

from __future__ import annotations

from .pg import pg_cluster, team_db

__all__ = ["pg_cluster", "team_db"]
