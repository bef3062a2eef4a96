"""The tables, as SQLAlchemy declarative rows. Rows never leave `storage`; repositories map them.

Every constraint has a name (see NAMING) so later migrations can alter tables on SQLite, where
Alembic must rebuild a table and can only drop constraints it can name. Enums are stored by their
value as plain strings, so adding a member never needs a schema change.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.domain.changes import ChangeKind
from app.domain.model import (
    AccountStatus,
    Audience,
    BookingStatus,
    BusySource,
    CalendarBlocking,
    ConflictKind,
    ConflictStatus,
    HealthLevel,
    Provider,
    Resolution,
    Response,
    ShowAs,
)
from storage.types import Duration, LocalDate, TextLines, TextMap, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(32)  # app.domain.ids: 32 lowercase hex characters
ENUM_WIDTH = 32


def _values(members: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in members]


def enum_column(members: type[enum.Enum]) -> Enum:
    """Store an enum by value (what users and logs see), as text without a database enum type."""
    return Enum(
        members,
        native_enum=False,
        create_constraint=False,
        values_callable=_values,
        validate_strings=True,
        length=ENUM_WIDTH,
    )


def refers_to(target: str, ondelete: str) -> ForeignKey:
    """A foreign key checked at commit, not per statement.

    Without relationship() objects the ORM does not promise to insert a parent row before the
    rows that point at it within one flush; a deferred check makes that order irrelevant while
    still refusing a transaction that would leave a dangling reference.
    """
    return ForeignKey(target, ondelete=ondelete, deferrable=True, initially="DEFERRED")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- people -------------------------------------------------------------------------------


class TechnicianRow(Base):
    __tablename__ = "technicians"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Case-folded name, written with the name, so lookups ignore case the same way on every database.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str] = mapped_column(String(320))
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[str] = mapped_column(Text)  # BusinessHours.to_text()
    color: Mapped[str] = mapped_column(String(16))
    tentative_blocks: Mapped[bool]
    calendar_blocking: Mapped[CalendarBlocking] = mapped_column(enum_column(CalendarBlocking))
    notify_email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool]


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    notes: Mapped[str] = mapped_column(Text)
    # Case-folded name, address, phone and email, written with the row, for substring search.
    search_key: Mapped[str] = mapped_column(Text)


class TimeOffRow(Base):
    __tablename__ = "time_off"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tech_id: Mapped[str] = mapped_column(ID, refers_to("technicians.id", "CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_day: Mapped[date | None] = mapped_column(LocalDate)
    end_day: Mapped[date | None] = mapped_column(LocalDate)


# --- jobs ---------------------------------------------------------------------------------


class BookingRow(Base):
    """A booking. `end` is start + duration, written with the row so overlap queries use an index.

    Indexes lead with `end` because history only grows: a window near today excludes every
    finished job by `end > window.start` and scans only what is current or ahead.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_tech_id_end_start", "tech_id", "end", "start"),
        Index("ix_bookings_end_start", "end", "start"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ID, refers_to("customers.id", "RESTRICT"), index=True)
    tech_id: Mapped[str | None] = mapped_column(ID, refers_to("technicians.id", "SET NULL"))
    service: Mapped[str] = mapped_column(String(200))
    start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration: Mapped[timedelta] = mapped_column(Duration)
    end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notes: Mapped[str] = mapped_column(Text)
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus))
    forced: Mapped[bool]
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)


# --- calendars ----------------------------------------------------------------------------


class CalendarAccountRow(Base):
    """A sign-in at a provider. `token_ref` names a keyring entry; the token never enters the database."""

    __tablename__ = "calendar_accounts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    tech_id: Mapped[str] = mapped_column(ID, refers_to("technicians.id", "CASCADE"), index=True)
    provider: Mapped[Provider] = mapped_column(enum_column(Provider))
    email: Mapped[str] = mapped_column(String(320))
    token_ref: Mapped[str] = mapped_column(String(200))
    status: Mapped[AccountStatus] = mapped_column(enum_column(AccountStatus))
    endpoint: Mapped[str | None] = mapped_column(String(2000))


class CalendarRow(Base):
    __tablename__ = "calendars"
    __table_args__ = (UniqueConstraint("account_id", "remote_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, refers_to("calendar_accounts.id", "CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024))
    name: Mapped[str] = mapped_column(String(400))
    primary: Mapped[bool]
    blocks: Mapped[bool]
    sync_cursor: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[str | None] = mapped_column(String(400))
    channel_resource_id: Mapped[str | None] = mapped_column(String(1024))
    channel_expires: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RemoteEventRow(Base):
    """Mirror of one remote event. `booking_id` is what the event claims, so it has no foreign key:
    an event may name a booking this database never had or has since purged."""

    __tablename__ = "remote_events"
    __table_args__ = (
        UniqueConstraint("calendar_id", "remote_id"),
        Index("ix_remote_events_calendar_id_master_remote_id", "calendar_id", "master_remote_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar_id: Mapped[str] = mapped_column(ID, refers_to("calendars.id", "CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024))
    etag: Mapped[str] = mapped_column(String(400))
    start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(LocalDate)
    end_date: Mapped[date | None] = mapped_column(LocalDate)
    show_as: Mapped[ShowAs] = mapped_column(enum_column(ShowAs))
    response: Mapped[Response] = mapped_column(enum_column(Response))
    cancelled: Mapped[bool]
    private: Mapped[bool]
    title: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(64))
    recurrence: Mapped[tuple[str, ...]] = mapped_column(TextLines)
    master_remote_id: Mapped[str | None] = mapped_column(String(1024))
    original_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    original_start_date: Mapped[date | None] = mapped_column(LocalDate)
    booking_id: Mapped[str | None] = mapped_column(ID, index=True)
    updated: Mapped[datetime | None] = mapped_column(UtcDateTime)


class BusyBlockRow(Base):
    """One materialized busy occurrence, filed under the remote event (or series) it came from.

    `remote_id` is that event's id, so a changed series swaps all its blocks at once;
    `occurrence_remote_id` is the id the block itself carries (an instance of the series, usually
    the same). Indexed by tech then start: the board reads a week for many techs at once, and
    blocks only reach a bounded horizon into the past.
    """

    __tablename__ = "busy_blocks"
    __table_args__ = (
        Index("ix_busy_blocks_tech_id_start_end", "tech_id", "start", "end"),
        Index("ix_busy_blocks_calendar_id_remote_id", "calendar_id", "remote_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tech_id: Mapped[str] = mapped_column(ID, refers_to("technicians.id", "CASCADE"))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[BusySource] = mapped_column(enum_column(BusySource))
    title: Mapped[str | None] = mapped_column(Text)
    calendar_id: Mapped[str] = mapped_column(ID, refers_to("calendars.id", "CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024))
    occurrence_remote_id: Mapped[str | None] = mapped_column(String(1024))
    all_day: Mapped[bool]
    tentative: Mapped[bool]
    calendar_name: Mapped[str | None] = mapped_column(String(400))


class EventLinkRow(Base):
    __tablename__ = "event_links"
    __table_args__ = (UniqueConstraint("calendar_id", "remote_id"),)

    booking_id: Mapped[str] = mapped_column(ID, refers_to("bookings.id", "CASCADE"), primary_key=True)
    calendar_id: Mapped[str] = mapped_column(ID, refers_to("calendars.id", "CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(1024))
    etag: Mapped[str | None] = mapped_column(String(400))
    content_hash: Mapped[str] = mapped_column(String(128))
    booking_version: Mapped[int] = mapped_column(Integer)


class OutboxRow(Base):
    """A booking whose calendar event must be planned again. `seq` numbers rows in the order they
    were written, so due rows go out oldest first and two for one booking never overtake each other."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True)
    booking_id: Mapped[str] = mapped_column(ID, refers_to("bookings.id", "CASCADE"), index=True)
    tech_id: Mapped[str | None] = mapped_column(ID, refers_to("technicians.id", "SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    calendar_id: Mapped[str | None] = mapped_column(ID, refers_to("calendars.id", "SET NULL"))
    remote_id: Mapped[str | None] = mapped_column(String(1024))


class ConflictRow(Base):
    __tablename__ = "conflicts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    booking_id: Mapped[str] = mapped_column(ID, refers_to("bookings.id", "CASCADE"), index=True)
    tech_id: Mapped[str | None] = mapped_column(ID, refers_to("technicians.id", "SET NULL"))
    kind: Mapped[ConflictKind] = mapped_column(enum_column(ConflictKind))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[ConflictStatus] = mapped_column(enum_column(ConflictStatus), index=True)
    remote_id: Mapped[str | None] = mapped_column(String(1024))
    calendar_id: Mapped[str | None] = mapped_column(ID, refers_to("calendars.id", "SET NULL"))
    other_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    other_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    other_title: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution))
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text)


# --- health and messages ------------------------------------------------------------------


class SyncHealthRow(Base):
    __tablename__ = "sync_health"

    account_id: Mapped[str] = mapped_column(
        ID, refers_to("calendar_accounts.id", "CASCADE"), primary_key=True
    )
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    level: Mapped[HealthLevel] = mapped_column(enum_column(HealthLevel))
    last_read: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_write: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NotificationRow(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    audience: Mapped[Audience] = mapped_column(enum_column(Audience))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    delivered: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    tech_id: Mapped[str | None] = mapped_column(ID, refers_to("technicians.id", "SET NULL"))


class AuditRow(Base):
    """One sync or dispatch action. No foreign keys: the log must outlive what it talks about."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    booking_id: Mapped[str | None] = mapped_column(ID, index=True)
    account_id: Mapped[str | None] = mapped_column(ID)
    extra: Mapped[dict[str, str]] = mapped_column(TextMap)
    # Which desk (person@computer, or the office service) did it; None for entries older than desks.
    desk: Mapped[str | None] = mapped_column(String(200))


# --- settings and the sync lock ----------------------------------------------------------------------------


class SettingRow(Base):
    """Application settings that belong to the shared database rather than to one desktop."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class TokenHandoverRow(Base):
    """A calendar sign-in on its way from a desk to the office service, sealed to the service's key.

    `sealed` is ciphertext (HPKE, base64) that only the holder of the private key whose fingerprint
    is `key_fingerprint` can open: the service, whose keyring keeps that key. The service deletes
    the row once the token is in its keyring; rows nobody claimed go after an hour.
    """

    __tablename__ = "token_handovers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    token_ref: Mapped[str] = mapped_column(String(400))
    key_fingerprint: Mapped[str] = mapped_column(String(100), index=True)
    sealed: Mapped[str] = mapped_column(Text)
    desk: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SyncLockRow(Base):
    """Who runs the sync engine against this database. At most one row (id is always 1), so two
    engines on two desks cannot both write to the same calendars; a stale heartbeat shows a crash."""

    __tablename__ = "sync_lock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(400))
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChangeRow(Base):
    """One change-feed entry (see storage.change_feed). `seq` is assigned by the writer while it
    holds the store's write lock, never by a sequence object: see `change_feed.record` for why
    that makes the numbers gap-free and ordered as the transactions committed."""

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[ChangeKind] = mapped_column(enum_column(ChangeKind))
    item_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    desk: Mapped[str] = mapped_column(String(200))
