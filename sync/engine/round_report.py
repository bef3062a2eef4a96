"""What one sync round did, per account and in all: for the command line, the log and the health record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.ids import AccountId
from app.domain.model import AccountStatus, Provider
from sync.engine.ports import Direction


@dataclass(slots=True)
class AccountReport:
    account_id: AccountId
    tech: str
    email: str
    provider: Provider
    status: AccountStatus
    calendars_read: int = 0
    events: int = 0
    writes: int = 0
    error: str | None = None

    def summary(self) -> str:
        """One line for people: whose calendar, what happened."""
        head = f"{self.tech} ({self.provider.value} {self.email})"
        if self.status is not AccountStatus.CONNECTED:
            return f"{head}: not syncing, {self.status.value.replace('_', ' ')}" + (
                f" ({self.error})" if self.error else ""
            )
        done = f"{self.calendars_read} calendar(s) read, {self.events} change(s), {self.writes} write(s)"
        return f"{head}: {done}" + (f"; failing: {self.error}" if self.error else "; ok")


@dataclass(slots=True)
class RoundReport:
    started: datetime
    calendars_read: int = 0
    events_stored: int = 0
    writes: int = 0
    bookings_synced: int = 0
    bookings_moved: int = 0
    conflicts_opened: int = 0
    conflicts_closed: int = 0
    refused: list[str] = field(default_factory=list)
    errors: dict[AccountId, str] = field(default_factory=dict)
    accounts: dict[AccountId, AccountReport] = field(default_factory=dict)
    succeeded: dict[AccountId, set[Direction]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.refused
