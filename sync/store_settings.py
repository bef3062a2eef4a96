"""The store's key/value settings, as sync uses them (the push HMAC key, the event-ownership key).

The use cases' UnitOfWork protocol does not declare settings: only storage's unit of work has them,
and only sync reads them. One accessor says so in one place.
"""

from __future__ import annotations

from typing import Protocol

from app.services.ports import UnitOfWork


class StoreSettings(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
    def all(self) -> dict[str, str]: ...


def store_settings(uow: UnitOfWork, needed_for: str) -> StoreSettings:
    """`uow`'s settings, or TypeError naming what needed them (`needed_for`)."""
    found = getattr(uow, "settings", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no settings; {needed_for} needs storage's unit of work")
    settings: StoreSettings = found
    return settings
