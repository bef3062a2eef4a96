"""Persistence: SQLAlchemy tables, Alembic migrations and the repositories behind app.services.ports.

Only this package imports SQLAlchemy. It stores and finds; it decides no business rules.
"""

from __future__ import annotations

from storage.database import Database, database_url, open_database
from storage.unit_of_work import SqlUnitOfWork

__all__ = ["Database", "SqlUnitOfWork", "database_url", "open_database"]
