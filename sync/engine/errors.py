"""The sync engine's errors: one base under CrewboardError, and the lock held by another engine."""

from __future__ import annotations

from app.errors import CrewboardError


class SyncError(CrewboardError):
    """Something the sync engine could not do; the message says what and what to do."""


class EngineLocked(SyncError):
    """Another engine syncs this database; this one stays read-only until the lock is free."""

    exit_code = 4

    def __init__(self, holder: str) -> None:
        super().__init__(
            f"Calendar sync is already running in {holder}; this copy stays read-only "
            "and takes over when that one stops."
        )
        self.holder = holder
