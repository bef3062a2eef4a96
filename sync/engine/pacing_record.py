"""Writes the quota pacer's state where the health view reads it (app.services.read_pacing)."""

from __future__ import annotations

from app.services.ports import UnitOfWork
from app.services.read_pacing import KEY, ReadPacing, encode
from sync.store_settings import store_settings


def store_pacing(uow: UnitOfWork, pacing: ReadPacing | None) -> None:
    """Record that reads are being paced (or no longer are); a store without settings records nothing."""
    if getattr(uow, "settings", None) is None:
        return  # a test's unit of work without storage's settings: nothing to show anyway
    store_settings(uow, "the health view's pacing line").put(KEY, encode(pacing))
