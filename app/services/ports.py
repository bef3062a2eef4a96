"""The storage protocols the use cases need. `storage` implements them; tests may fake them.

All work happens inside a unit of work: one transaction that commits everything or nothing,
so a booking and its outbox row are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

from app.domain.ids import (
    AccountId,
    BookingId,
    CalendarId,
    ConflictId,
    CustomerId,
    NotificationId,
    OutboxId,
    TechId,
    TimeOffId,
)
from app.domain.model import (
    AuditEntry,
    Booking,
    BusyBlock,
    Calendar,
    CalendarAccount,
    Conflict,
    Customer,
    EventLink,
    Notification,
    OutboxItem,
    Provider,
    RemoteEvent,
    SyncHealth,
    Technician,
    TimeOff,
)
from app.domain.time import Interval
from app.errors import CrewboardError


class TechnicianRepository(Protocol):
    def add(self, tech: Technician) -> None: ...
    def update(self, tech: Technician) -> None: ...
    def get(self, tech_id: TechId) -> Technician | None: ...
    def by_name(self, name: str) -> Technician | None:
        """Case-insensitive exact name match."""
        ...

    def list(self, include_inactive: bool = False) -> list[Technician]: ...


class CustomerRepository(Protocol):
    def add(self, customer: Customer) -> None: ...
    def update(self, customer: Customer) -> None: ...
    def get(self, customer_id: CustomerId) -> Customer | None: ...
    def by_name(self, name: str) -> Customer | None: ...
    def search(self, text: str, limit: int = 20) -> list[Customer]: ...
    def list(self) -> list[Customer]: ...


class BookingRepository(Protocol):
    def add(self, booking: Booking) -> None: ...
    def update(self, booking: Booking) -> None: ...
    def get(self, booking_id: BookingId) -> Booking | None: ...
    def by_prefix(self, prefix: str) -> list[Booking]:
        """Bookings whose id starts with `prefix` (for short ids typed at the CLI)."""
        ...

    def between(
        self, window: Interval, tech_ids: Sequence[TechId] | None = None, live_only: bool = True
    ) -> list[Booking]:
        """Bookings overlapping `window`, optionally for some techs; cancelled ones only on request."""
        ...

    def unassigned(self) -> list[Booking]:
        """Live bookings with no tech."""
        ...

    def list(self, live_only: bool = False) -> list[Booking]: ...


class TimeOffRepository(Protocol):
    def add(self, item: TimeOff) -> None: ...
    def remove(self, item_id: TimeOffId) -> None: ...
    def for_techs(self, tech_ids: Sequence[TechId]) -> list[TimeOff]: ...


class CalendarAccountRepository(Protocol):
    def add(self, account: CalendarAccount) -> None: ...
    def update(self, account: CalendarAccount) -> None: ...
    def get(self, account_id: AccountId) -> CalendarAccount | None: ...
    def for_tech(self, tech_id: TechId) -> list[CalendarAccount]: ...
    def list(self) -> list[CalendarAccount]: ...


class CalendarRepository(Protocol):
    def add(self, calendar: Calendar) -> None: ...
    def update(self, calendar: Calendar) -> None: ...
    def get(self, calendar_id: CalendarId) -> Calendar | None: ...
    def by_remote_id(self, account_id: AccountId, remote_id: str) -> Calendar | None: ...
    def for_account(self, account_id: AccountId) -> list[Calendar]: ...
    def list(self) -> list[Calendar]: ...


class RemoteEventRepository(Protocol):
    def upsert(self, event: RemoteEvent) -> None: ...
    def get(self, calendar_id: CalendarId, remote_id: str) -> RemoteEvent | None: ...
    def delete(self, calendar_id: CalendarId, remote_id: str) -> None: ...
    def for_calendar(self, calendar_id: CalendarId) -> list[RemoteEvent]: ...
    def instances_of(self, calendar_id: CalendarId, master_remote_id: str) -> list[RemoteEvent]: ...
    def clear_calendar(self, calendar_id: CalendarId) -> None: ...


class BusyBlockRepository(Protocol):
    def replace_for_event(self, calendar_id: CalendarId, remote_id: str, blocks: Sequence[BusyBlock]) -> None:
        """Swap every block materialized from one remote event (or series) for `blocks`."""
        ...

    def clear_calendar(self, calendar_id: CalendarId) -> None: ...
    def for_techs(self, tech_ids: Sequence[TechId], window: Interval) -> list[BusyBlock]:
        """Calendar busy blocks of these techs overlapping `window`."""
        ...


class EventLinkRepository(Protocol):
    def put(self, link: EventLink) -> None: ...
    def for_booking(self, booking_id: BookingId) -> EventLink | None: ...
    def by_remote(self, calendar_id: CalendarId, remote_id: str) -> EventLink | None: ...
    def remove(self, booking_id: BookingId) -> None: ...


class OutboxRepository(Protocol):
    def add(self, item: OutboxItem) -> None: ...
    def update(self, item: OutboxItem) -> None: ...
    def remove(self, item_id: OutboxId) -> None: ...
    def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]: ...
    def pending(self) -> list[OutboxItem]: ...
    def for_booking(self, booking_id: BookingId) -> list[OutboxItem]: ...


class ConflictRepository(Protocol):
    def add(self, conflict: Conflict) -> None: ...
    def update(self, conflict: Conflict) -> None: ...
    def get(self, conflict_id: ConflictId) -> Conflict | None: ...
    def by_prefix(self, prefix: str) -> list[Conflict]: ...
    def open(self) -> list[Conflict]: ...
    def for_booking(self, booking_id: BookingId) -> list[Conflict]: ...
    def list(self) -> list[Conflict]: ...


class SyncHealthRepository(Protocol):
    def get(self, account_id: AccountId) -> SyncHealth | None: ...
    def put(self, health: SyncHealth) -> None: ...
    def list(self) -> list[SyncHealth]: ...


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> None: ...
    def update(self, notification: Notification) -> None: ...
    def undelivered(self) -> list[Notification]: ...
    def list(self, limit: int = 200) -> list[Notification]: ...
    def get(self, notification_id: NotificationId) -> Notification | None: ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...
    def recent(self, limit: int = 200) -> list[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction over every repository. Use as a context manager; call commit() to keep."""

    techs: TechnicianRepository
    customers: CustomerRepository
    bookings: BookingRepository
    time_off: TimeOffRepository
    accounts: CalendarAccountRepository
    calendars: CalendarRepository
    remote_events: RemoteEventRepository
    busy: BusyBlockRepository
    links: EventLinkRepository
    outbox: OutboxRepository
    conflicts: ConflictRepository
    health: SyncHealthRepository
    notifications: NotificationRepository
    audit: AuditLog

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


# --- calendar connections -------------------------------------------------------------------
# A connector signs a tech in at one provider, keeps the tokens in the OS keyring under the
# account's token_ref, and lists the account's calendars. `sync.providers` implements it; the
# use cases only ever see the results below, never a token.


class ReconnectRequired(CrewboardError):
    """The provider no longer honours the stored sign-in (invalid_grant, interaction_required,
    revoked): only the tech signing in again can fix it."""


class ProviderUnavailable(CrewboardError):
    """The provider could not be reached or answered with an error; trying again later may work."""


class SignInFailed(CrewboardError):
    """The sign-in did not complete: declined, timed out, or answered something we cannot trust."""


@dataclass(frozen=True, slots=True)
class RemoteCalendar:
    """One calendar as the provider lists it."""

    remote_id: str
    name: str
    primary: bool


@dataclass(frozen=True, slots=True)
class Grant:
    """A completed sign-in: whose account it is, where its tokens are kept, and its calendars."""

    email: str
    token_ref: str
    calendars: tuple[RemoteCalendar, ...]
    display_name: str | None = None


class CalendarConnector(Protocol):
    @property
    def provider(self) -> Provider: ...

    @property
    def sandbox_url(self) -> str | None:
        """The sandbox control URL when this connector signs in to the sandbox, else None."""
        ...

    def authorize(self) -> Grant:
        """Run the provider's sign-in, keep the tokens in the keyring and list the calendars."""
        ...

    def list_calendars(self, account: CalendarAccount) -> list[RemoteCalendar]:
        """The account's calendars now, refreshing its access token if needed.

        Raises ReconnectRequired when the stored sign-in is dead, ProviderUnavailable when offline.
        """
        ...

    def disconnect(self, account: CalendarAccount) -> None:
        """Revoke the grant at the provider where it can be, and delete the tokens from the keyring."""
        ...
