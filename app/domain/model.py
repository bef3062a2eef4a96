"""The domain's entities and values, as frozen dataclasses.

These are what repositories return and services pass around; ORM rows never leave `storage`.
All instants are aware UTC; all-day spans are local dates with an exclusive end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum

from app.domain.hours import BusinessHours
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
from app.domain.time import Interval

# --- people -------------------------------------------------------------------------------


class CalendarBlocking(Enum):
    """Which of a tech's calendars block availability by default."""

    PRIMARY_ONLY = "primary_only"
    MARKED = "marked"  # every calendar whose `blocks` switch is on


@dataclass(frozen=True, slots=True)
class Technician:
    id: TechId
    name: str
    email: str
    timezone: str
    hours: BusinessHours
    color: str = "#3b82f6"
    tentative_blocks: bool = False
    calendar_blocking: CalendarBlocking = CalendarBlocking.MARKED
    notify_email: str | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class Customer:
    id: CustomerId
    name: str
    address: str = ""
    phone: str = ""
    email: str = ""
    notes: str = ""


# --- jobs ---------------------------------------------------------------------------------


class BookingStatus(Enum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class Booking:
    """A job. The dispatcher's truth: sync trouble never blocks or loses one.

    An unassigned job has no tech; it may still carry a wished-for start.
    `version` grows with every change the dispatcher makes, so sync can tell whose edit is newer.
    """

    id: BookingId
    customer_id: CustomerId
    tech_id: TechId | None
    service: str
    start: datetime | None
    duration: timedelta
    notes: str = ""
    status: BookingStatus = BookingStatus.SCHEDULED
    forced: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def end(self) -> datetime | None:
        return None if self.start is None else self.start + self.duration

    @property
    def interval(self) -> Interval | None:
        return None if self.start is None else Interval(self.start, self.start + self.duration)

    @property
    def is_live(self) -> bool:
        return self.status is BookingStatus.SCHEDULED


@dataclass(frozen=True, slots=True)
class TimeOff:
    """Time a dispatcher blocked for a tech by hand: whole local days or a span of instants."""

    id: TimeOffId
    tech_id: TechId
    reason: str = ""
    start: datetime | None = None
    end: datetime | None = None
    first_day: date | None = None
    end_day: date | None = None  # exclusive

    def __post_init__(self) -> None:
        timed = self.start is not None and self.end is not None
        days = self.first_day is not None and self.end_day is not None
        if timed == days:
            raise ValueError("time off is either a start and end, or a first day and end day")


# --- calendars ----------------------------------------------------------------------------


class Provider(Enum):
    GOOGLE = "google"
    MICROSOFT = "microsoft"
    CALDAV = "caldav"  # iCloud, Fastmail, Nextcloud and other CalDAV servers, with an app password


class AccountStatus(Enum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    REVOKED = "revoked"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class CalendarAccount:
    """One tech's sign-in at one provider. The token lives in the OS keyring under `token_ref`."""

    id: AccountId
    tech_id: TechId
    provider: Provider
    email: str
    token_ref: str
    status: AccountStatus = AccountStatus.CONNECTED
    # Where the account's calendar service answers when it is not Google's or Microsoft's own: the
    # directory URL of a compatible server (the provider sandbox, a test double). None: the public service.
    endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Calendar:
    id: CalendarId
    account_id: AccountId
    remote_id: str
    name: str
    primary: bool
    blocks: bool
    sync_cursor: str | None = None
    channel_id: str | None = None
    channel_resource_id: str | None = None
    channel_expires: datetime | None = None


class ShowAs(Enum):
    """How an event shows on free/busy (Google transparency/status and Graph showAs, merged)."""

    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OUT_OF_OFFICE = "oof"
    WORKING_ELSEWHERE = "working_elsewhere"


class Response(Enum):
    """The calendar owner's own answer to the event."""

    ORGANIZER = "organizer"  # their own event, or no attendees at all
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    NEEDS_ACTION = "needs_action"


@dataclass(frozen=True, slots=True)
class EventTime:
    """When an event happens: an instant span with the event's own zone, or local all-day dates."""

    start: datetime | None = None
    end: datetime | None = None
    timezone: str = "UTC"
    start_date: date | None = None
    end_date: date | None = None  # exclusive

    @property
    def all_day(self) -> bool:
        return self.start_date is not None

    def __post_init__(self) -> None:
        timed = self.start is not None and self.end is not None
        dated = self.start_date is not None and self.end_date is not None
        if timed == dated:
            raise ValueError("an event time is either timed or all-day")


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """What we keep of one calendar event: only what availability and sync need.

    A private event keeps its times only (`title` is None). A recurring master carries its
    RRULE/EXDATE/RDATE lines; a modified or cancelled instance points at its master and names the
    original start it replaces.
    """

    calendar_id: CalendarId
    remote_id: str
    etag: str
    when: EventTime
    show_as: ShowAs = ShowAs.BUSY
    response: Response = Response.ORGANIZER
    cancelled: bool = False
    private: bool = False
    title: str | None = None
    event_type: str = "default"
    recurrence: tuple[str, ...] = ()
    master_remote_id: str | None = None
    original_start: datetime | None = None
    original_start_date: date | None = None
    booking_id: BookingId | None = None
    updated: datetime | None = None
    # As read, unverified: the ownership tag the event carries and the identity it is bound to
    # (Google: the event id; Graph: the transactionId). The engine checks it before it believes
    # `booking_id`; neither is stored.
    booking_tag: str | None = None
    tag_subject: str | None = None


class BusySource(Enum):
    CALENDAR = "calendar"
    TIME_OFF = "timeoff"
    BOOKING = "booking"


@dataclass(frozen=True, slots=True)
class BusyBlock:
    """One occurrence of something that makes a tech unavailable, in UTC.

    All-day occurrences are stored already converted to the tech's local day boundaries.
    """

    tech_id: TechId
    interval: Interval
    source: BusySource
    title: str | None = None
    calendar_id: CalendarId | None = None
    remote_id: str | None = None
    all_day: bool = False
    tentative: bool = False
    calendar_name: str | None = None


# The `EventLink.booking_version` of an agreement that no version of the booking is known to match:
# the tech's version of the event was decided on by a person ("keep the booking" of a conflict), or
# the event was found in answer to a create and shows whatever it held. The sync planner then writes
# the booking over the event. Stored as it is, in the link's version column (no schema change).
REWRITE_BOOKING_VERSION = -1


@dataclass(frozen=True, slots=True)
class EventLink:
    """A booking and the calendar event that mirrors it."""

    booking_id: BookingId
    calendar_id: CalendarId
    remote_id: str
    etag: str | None
    content_hash: str
    booking_version: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """ "This booking changed: plan its calendar event again", saved in the booking change's transaction.

    The row names no write: the sync planner decides what to create, update or delete from the
    booking, the calendar and their last agreement. `tech_id` is a tech whose calendar may hold the
    booking's event (the one it was taken from, on a reassignment); `calendar_id` and `remote_id`
    name the event a read saw change, when a read queued the row.
    """

    id: OutboxId
    booking_id: BookingId
    tech_id: TechId | None
    created_at: datetime
    attempts: int = 0
    next_attempt: datetime | None = None
    last_error: str | None = None
    calendar_id: CalendarId | None = None
    remote_id: str | None = None


class ConflictKind(Enum):
    OVERLAP = "overlap"  # a personal event landed on a booking
    EDITED_BOTH = "edited_both"  # booking changed by dispatcher and tech since the last sync
    EVENT_DELETED = "event_deleted"  # the tech deleted the booking's event


class ConflictStatus(Enum):
    OPEN = "open"
    RESOLVED = "resolved"


class Resolution(Enum):
    KEEP = "keep"
    RESCHEDULE = "reschedule"
    REASSIGN = "reassign"
    CANCELLED = "cancelled"  # the job itself was cancelled, which settles whatever was open on it


@dataclass(frozen=True, slots=True)
class Conflict:
    id: ConflictId
    booking_id: BookingId
    tech_id: TechId | None
    kind: ConflictKind
    opened_at: datetime
    status: ConflictStatus = ConflictStatus.OPEN
    remote_id: str | None = None
    calendar_id: CalendarId | None = None
    other_start: datetime | None = None
    other_end: datetime | None = None
    other_title: str | None = None
    resolution: Resolution | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    detail: str = ""


# --- health and messages ------------------------------------------------------------------


class HealthLevel(Enum):
    OK = "ok"
    WARNING = "warning"
    DISPATCHER = "dispatcher"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class SyncHealth:
    account_id: AccountId
    last_success: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None
    level: HealthLevel = HealthLevel.OK
    last_read: datetime | None = None
    last_write: datetime | None = None


class Audience(Enum):
    TECH = "tech"
    DISPATCHER = "dispatcher"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Notification:
    id: NotificationId
    audience: Audience
    recipient: str
    subject: str
    body: str
    created: datetime
    delivered: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    tech_id: TechId | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    action: str
    detail: str
    booking_id: BookingId | None = None
    account_id: AccountId | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # Which desk did it (person@computer, or the office service). Left None when recording: the
    # store fills in the desk that opened it.
    desk: str | None = None
