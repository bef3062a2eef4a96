"""The one interface the sync engine uses for every calendar provider.

Google (google-api-python-client), Microsoft Graph (httpx) and the in-memory fake used by the
engine's tests all implement `CalendarProvider`; one contract test suite holds them to it.
Every method is a coroutine: network I/O runs on the engine's asyncio loop (a blocking client
library runs in a worker thread of its own). Errors are only those of sync.providers.errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from app.domain.model import Booking, Calendar, Customer, RemoteEvent, Technician
from app.domain.time import Interval
from app.services.ports import RemoteCalendar


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """Everything that changed in one calendar since a cursor, normalized.

    `full` is True when the read started without a cursor (first sync, or after the provider
    expired it): the caller then replaces its whole mirror of the calendar with `events`, instead
    of applying them as changes, so nothing is duplicated and nothing stale survives.
    """

    events: tuple[RemoteEvent, ...]
    deleted: tuple[str, ...]  # remote ids gone from the calendar (deleted events, removed instances)
    cursor: str  # where the next incremental read starts (syncToken / deltaLink)
    full: bool
    skipped: tuple[tuple[str, str], ...] = ()  # (remote id, reason) for events we could not read


@dataclass(frozen=True, slots=True)
class WrittenEvent:
    """What a provider answered to a write: the event's id, its new etag and its content hash."""

    remote_id: str
    etag: str
    content_hash: str
    adopted: bool = False  # the event already existed (a retried create): we adopted it


@dataclass(frozen=True, slots=True)
class Channel:
    """A push channel (Google watch channel or Graph subscription) for one calendar."""

    id: str
    resource_id: str | None
    expires: datetime
    token: str  # Google X-Goog-Channel-Token / Graph clientState: proves a notification is ours


@dataclass(frozen=True, slots=True)
class BookingEventContent:
    """Everything the calendar event of a booking shows, assembled by the engine."""

    booking: Booking
    customer: Customer
    tech: Technician
    link: str  # the tech's job page (https), or "" where the office serves none
    office_phone: str = ""  # what the event says to call when there is no job page
    # The Outlook category that colours the tech's jobs (None: the tech has not asked for colour).
    # Only a mailbox that consented to MailboxSettings.ReadWrite gets it; Google uses colorId.
    category: str | None = None
    drop_category: bool = False  # the tech turned colour off: write the event without our category
    extra: dict[str, str] = field(default_factory=dict)
    # The store's event ownership key (sync.core.ownership): the adapter tags what it creates with
    # it and adopts, on a lost answer, only an event whose tag verifies. Never logged.
    owner_key: bytes = field(default=b"", repr=False)


def lifecycle_url(address: str) -> str:
    """Where a subscription made for notification `address` gets its lifecycle notices (Graph).

    Beside the change notices, one path segment deeper, so the receiver that serves `address`
    serves this too, and a relay forwarding the public URL's prefix forwards both.
    """
    return f"{address.rstrip('/')}/lifecycle"


class CalendarProvider(Protocol):
    """One signed-in account at one provider."""

    async def list_calendars(self) -> list[RemoteCalendar]: ...

    async def read_changes(self, calendar: Calendar, cursor: str | None, window: Interval) -> ChangeBatch:
        """Changes since `cursor`, or everything inside `window` when `cursor` is None.

        Raises CursorExpired when the provider no longer knows the cursor (the caller retries with
        None); AuthExpired, RateLimited, Transient as the provider answers.
        """
        ...

    async def find_booking_event(
        self, calendar: Calendar, content: BookingEventContent
    ) -> RemoteEvent | None:
        """The event we created for this booking in `calendar`, if it exists (recovers lost answers).

        Only an event whose ownership tag verifies under `content.owner_key` counts: one that
        merely carries the booking id was not proven ours and is never returned.
        """
        ...

    async def create_event(self, calendar: Calendar, content: BookingEventContent) -> WrittenEvent:
        """Create the booking's event idempotently: a retry after a lost answer adopts the first one
        (only when its ownership tag verifies), tagging the event for `content.owner_key`."""
        ...

    async def update_event(
        self, calendar: Calendar, remote_id: str, etag: str | None, content: BookingEventContent
    ) -> WrittenEvent:
        """Overwrite the booking's event; If-Match `etag`. PreconditionFailed when it changed since."""
        ...

    async def delete_event(self, calendar: Calendar, remote_id: str, etag: str | None) -> None:
        """Delete the booking's event; an event already gone counts as deleted."""
        ...

    async def watch(self, calendar: Calendar, address: str, token: str) -> Channel:
        """Ask the provider to POST change notices for `calendar` to `address` (Graph: its lifecycle
        notices to `lifecycle_url(address)`)."""
        ...

    async def renew(self, calendar: Calendar, channel: Channel, address: str) -> Channel:
        """Extend a channel before it expires (Google: a new channel; Graph: PATCH the subscription).

        A channel with another id than `channel` is a new one beside the old: the caller stores it,
        then stops the old one (stopping first would leave a dead channel stored if the process
        died in between)."""
        ...

    async def stop_watch(self, calendar: Calendar, channel: Channel) -> None: ...

    async def aclose(self) -> None: ...
