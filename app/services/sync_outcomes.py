"""Read-only queries behind the sync-health panel, the conflicts panel and the notifications inbox.

Nothing here changes the store: each query opens one unit of work, reads, and returns plain
values the screens can show without asking again. Sync latency is measured from the audit log
(see `latency`), so the panel reports what really happened rather than what was planned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from app.domain.ids import AccountId, BookingId, CalendarId, ConflictId, NotificationId, TechId
from app.domain.model import (
    Audience,
    AuditEntry,
    Booking,
    CalendarAccount,
    Conflict,
    ConflictStatus,
    Customer,
    Notification,
    OutboxItem,
    SyncHealth,
    Technician,
)
from app.domain.time import Clock
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.read_pacing import ReadPacing, current_pacing

LATENCY_WINDOW = timedelta(hours=24)
AUDIT_SCAN_LIMIT = 20_000  # a busy day of dispatch and sync actions, with room to spare
RESOLVED_LIMIT = 50
INBOX_LIMIT = 200

# The engine records each confirmed calendar write as one of WRITES (with the booking id), its
# `extra` carrying "queued_at": when the oldest outbox row it carried out was queued (ISO 8601);
# that is the start of the delay. A record without it (written before the engine kept it) pairs
# with the booking's latest change in the audit log since its previous write. A calendar read that
# applied changes made at the calendar is recorded once as READ_APPLIED (sync.engine.inbound), its
# "changed_at" the provider's `updated` time of the oldest change it applied.
WRITES = ("sync.event_created", "sync.event_updated", "sync.event_deleted")
READ_APPLIED = "sync.read_applied"
QUEUED_AT = "queued_at"
CHANGED_AT = "changed_at"
BOOKING_CHANGES = (
    "booking.created",
    "booking.moved",
    "booking.reassigned",
    "booking.edited",
    "booking.cancelled",
    "conflict.resolved",
)

STAFF = (Audience.DISPATCHER, Audience.OWNER)

_SECRETS = (
    re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+"),
    re.compile(
        r"(?i)\b(access_token|refresh_token|id_token|client_secret|code|token|password|clientState)"
        r"([\"']?\s*[=:]\s*[\"']?)[^\s&,;\"'}]+"
    ),
    re.compile(r"\b[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\b"),  # a JWT
    re.compile(r"\bya29\.[A-Za-z0-9_\-.]+"),  # a Google access token
)


def token_free(text: str | None) -> str | None:
    """`text` with anything that looks like a credential replaced, for screens that show errors."""
    if text is None:
        return None
    cleaned = _SECRETS[0].sub(r"\1 [hidden]", text)
    cleaned = _SECRETS[1].sub(r"\1\2[hidden]", cleaned)
    for pattern in _SECRETS[2:]:
        cleaned = pattern.sub("[hidden]", cleaned)
    return cleaned


# --- sync health --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One calendar account as the owner's health panel shows it."""

    account: CalendarAccount
    tech: Technician
    health: SyncHealth | None
    queued_writes: int  # outbox items waiting for this tech's calendar
    oldest_queued: datetime | None
    failed_writes: int  # queued items whose last attempt failed
    last_write_error: str | None  # the newest error of a queued write, if any
    alerts_sent: int  # dispatcher and owner notifications about this tech, delivered
    alerts_pending: int  # written but not yet delivered


@dataclass(frozen=True, slots=True)
class QueuedWrites:
    tech: Technician
    count: int
    oldest: datetime | None


class LatencyDirection(Enum):
    WRITE = "write"  # a booking change reached the tech's calendar
    READ = "read"  # a calendar change reached the board


class LatencySource(Enum):
    AUDIT = "audit"  # the engine recorded when the change began and when it completed
    PAIRED = "paired"  # the engine's write record paired with the booking's change before it
    MIRROR = "mirror"  # the booking's audit time against the mirrored event's updated time


@dataclass(frozen=True, slots=True)
class LatencySample:
    at: datetime  # when the change completed (write confirmed, change read)
    delay: timedelta
    direction: LatencyDirection
    source: LatencySource
    booking_id: BookingId | None = None
    account_id: AccountId | None = None


@dataclass(frozen=True, slots=True)
class LatencyReport:
    window_start: datetime
    window_end: datetime
    samples: tuple[LatencySample, ...]  # oldest first

    def of(self, direction: LatencyDirection) -> tuple[LatencySample, ...]:
        return tuple(s for s in self.samples if s.direction is direction)

    def percentile(self, fraction: float, direction: LatencyDirection | None = None) -> timedelta | None:
        """The delay below which `fraction` of the samples fall (nearest rank); None without samples."""
        chosen = self.samples if direction is None else self.of(direction)
        if not chosen:
            return None
        delays = sorted(s.delay for s in chosen)
        rank = max(1, min(len(delays), round(fraction * len(delays) + 0.5)))
        return delays[rank - 1]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Everything the health panel shows, read in one transaction at `now`."""

    now: datetime
    accounts: tuple[AccountHealth, ...]
    queued: tuple[QueuedWrites, ...]
    latency: LatencyReport
    alerts: tuple[Notification, ...]  # dispatcher and owner notifications, newest first
    paced: ReadPacing | None = None  # reads are held back to stay within the providers' quotas


# --- conflicts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConflictView:
    """A conflict with what both of its sides need to be understood without another query."""

    conflict: Conflict
    booking: Booking | None
    customer: Customer | None
    tech: Technician | None  # the tech whose calendar raised it
    booking_tech: Technician | None  # who the booking is assigned to now
    calendar_name: str | None

    @property
    def id(self) -> ConflictId:
        return self.conflict.id


@dataclass(frozen=True, slots=True)
class ConflictLists:
    open: tuple[ConflictView, ...]  # oldest first: the longest waiting comes first
    resolved: tuple[ConflictView, ...]  # newest first


# --- the service --------------------------------------------------------------------------------


class SyncOutcomeQueries:
    """Queries for the health panel, the conflicts panel and the inbox; it never writes."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow_factory
        self._clock = clock

    def report(self, window: timedelta = LATENCY_WINDOW) -> HealthReport:
        now = self._clock.now()
        with self._uow() as uow:
            techs = {t.id: t for t in uow.techs.list(include_inactive=True)}
            outbox = uow.outbox.pending()
            notifications = uow.notifications.list(limit=INBOX_LIMIT)
            health = {h.account_id: h for h in uow.health.list()}
            rows: list[AccountHealth] = []
            for account in uow.accounts.list():
                tech = techs.get(account.tech_id)
                if tech is None:
                    continue
                waiting = [item for item in outbox if item.tech_id == account.tech_id]
                failed = [item for item in waiting if item.last_error]
                newest_failed = max(failed, key=lambda i: i.created_at, default=None)
                alerts = [n for n in notifications if n.tech_id == tech.id and n.audience in STAFF]
                rows.append(
                    AccountHealth(
                        account=account,
                        tech=tech,
                        health=_clean(health.get(account.id)),
                        queued_writes=len(waiting),
                        oldest_queued=min((i.created_at for i in waiting), default=None),
                        failed_writes=len(failed),
                        last_write_error=None
                        if newest_failed is None
                        else token_free(newest_failed.last_error),
                        alerts_sent=sum(1 for n in alerts if n.delivered is not None),
                        alerts_pending=sum(1 for n in alerts if n.delivered is None),
                    )
                )
            rows.sort(key=lambda r: (r.tech.name.casefold(), r.account.email.casefold()))
            queued = _queued_by_tech(outbox, techs)
            latency = _latency(uow, now - window, now)
            paced = current_pacing(uow, now)
        staff = tuple(n for n in notifications if n.audience in STAFF)
        return HealthReport(now, tuple(rows), queued, latency, staff, paced)

    def latency(self, window: timedelta = LATENCY_WINDOW) -> LatencyReport:
        now = self._clock.now()
        with self._uow() as uow:
            return _latency(uow, now - window, now)

    def conflicts(self, resolved_limit: int = RESOLVED_LIMIT) -> ConflictLists:
        with self._uow() as uow:
            every = uow.conflicts.list()
            open_ = sorted(
                (c for c in every if c.status is ConflictStatus.OPEN), key=lambda c: (c.opened_at, c.id)
            )
            resolved = sorted(
                (c for c in every if c.status is ConflictStatus.RESOLVED),
                key=lambda c: (c.resolved_at or c.opened_at, c.id),
                reverse=True,
            )[:resolved_limit]
            views = _conflict_views(uow, [*open_, *resolved])
        return ConflictLists(tuple(views[: len(open_)]), tuple(views[len(open_) :]))

    def conflict(self, conflict_id: ConflictId) -> ConflictView | None:
        with self._uow() as uow:
            found = uow.conflicts.get(conflict_id)
            return None if found is None else _conflict_views(uow, [found])[0]

    def inbox(self, limit: int = INBOX_LIMIT) -> list[Notification]:
        """Alerts for the dispatcher and the owner, newest first (techs' own mail is not theirs)."""
        with self._uow() as uow:
            found = uow.notifications.list(limit=limit)
        return sorted(
            (n for n in found if n.audience in STAFF), key=lambda n: (n.created, n.id), reverse=True
        )

    def notification(self, notification_id: NotificationId) -> Notification | None:
        with self._uow() as uow:
            return uow.notifications.get(notification_id)


# --- helpers ------------------------------------------------------------------------------------


def _clean(health: SyncHealth | None) -> SyncHealth | None:
    if health is None or health.last_error is None:
        return health
    return replace(health, last_error=token_free(health.last_error))


def _queued_by_tech(
    outbox: Iterable[OutboxItem], techs: dict[TechId, Technician]
) -> tuple[QueuedWrites, ...]:
    counts: dict[TechId, tuple[int, datetime]] = {}
    for item in outbox:
        if item.tech_id is None or item.tech_id not in techs:
            continue
        count, oldest = counts.get(item.tech_id, (0, item.created_at))
        counts[item.tech_id] = (count + 1, min(oldest, item.created_at))
    return tuple(
        sorted(
            (QueuedWrites(techs[t], n, oldest) for t, (n, oldest) in counts.items()),
            key=lambda q: q.tech.name.casefold(),
        )
    )


def _conflict_views(uow: UnitOfWork, conflicts: Sequence[Conflict]) -> list[ConflictView]:
    techs: dict[TechId, Technician | None] = {}
    customers: dict[str, Customer | None] = {}
    calendars: dict[str, str | None] = {}

    def tech(tech_id: TechId | None) -> Technician | None:
        if tech_id is None:
            return None
        if tech_id not in techs:
            techs[tech_id] = uow.techs.get(tech_id)
        return techs[tech_id]

    views = []
    for conflict in conflicts:
        booking = uow.bookings.get(conflict.booking_id)
        customer = None
        if booking is not None:
            if booking.customer_id not in customers:
                customers[booking.customer_id] = uow.customers.get(booking.customer_id)
            customer = customers[booking.customer_id]
        calendar_name = None
        if conflict.calendar_id is not None:
            if conflict.calendar_id not in calendars:
                found = uow.calendars.get(conflict.calendar_id)
                calendars[conflict.calendar_id] = None if found is None else found.name
            calendar_name = calendars[conflict.calendar_id]
        views.append(
            ConflictView(
                conflict=conflict,
                booking=booking,
                customer=customer,
                tech=tech(conflict.tech_id),
                booking_tech=tech(booking.tech_id) if booking is not None else None,
                calendar_name=calendar_name,
            )
        )
    return views


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _latency(uow: UnitOfWork, start: datetime, end: datetime) -> LatencyReport:
    """Delays of the changes completed in [start, end], from what the audit log says.

    A write's delay runs from the change that caused it to the engine's record of the write: the
    record's own "queued_at" when it has one, else the booking's latest change since its previous
    write. A read's delay runs from the calendar change ("changed_at") to its READ_APPLIED record.
    Bookings with no write record at all fall back to the `updated` time of the event we mirror.
    """
    # Oldest first; entries at the same instant stay in the order they were written.
    newest_first = [e for e in uow.audit.recent(AUDIT_SCAN_LIMIT) if e.at <= end]
    entries = sorted(reversed(newest_first), key=lambda e: e.at)
    samples: list[LatencySample] = []
    written: set[BookingId] = set()
    latest: dict[BookingId, datetime] = {}  # the latest change since the booking's last write
    accounts: dict[str, AccountId | None] = {}

    def account_of(entry: AuditEntry) -> AccountId | None:
        if entry.account_id is not None:
            return entry.account_id
        calendar_id = entry.extra.get("calendar")
        if not calendar_id:
            return None
        if calendar_id not in accounts:
            found = uow.calendars.get(CalendarId(calendar_id))
            accounts[calendar_id] = None if found is None else found.account_id
        return accounts[calendar_id]

    for entry in entries:
        booking_id = entry.booking_id
        if entry.action in BOOKING_CHANGES and booking_id is not None:
            latest[booking_id] = entry.at
            continue
        if entry.action in WRITES and booking_id is not None:
            written.add(booking_id)
            began = _instant(entry.extra.get(QUEUED_AT))
            source = LatencySource.AUDIT
            if began is None:
                began, source = latest.get(booking_id), LatencySource.PAIRED
            latest.pop(booking_id, None)
            if began is None or began > entry.at or entry.at < start:
                continue
            samples.append(
                LatencySample(
                    entry.at, entry.at - began, LatencyDirection.WRITE, source, booking_id, account_of(entry)
                )
            )
        elif entry.action == READ_APPLIED and entry.at >= start:
            began = _instant(entry.extra.get(CHANGED_AT))
            if began is not None and began <= entry.at:
                samples.append(
                    LatencySample(
                        entry.at,
                        entry.at - began,
                        LatencyDirection.READ,
                        LatencySource.AUDIT,
                        booking_id,
                        account_of(entry),
                    )
                )
    samples.extend(_mirror_samples(uow, entries, start, end, written))
    samples.sort(key=lambda s: (s.at, s.delay))
    return LatencyReport(start, end, tuple(samples))


def _mirror_samples(
    uow: UnitOfWork, entries: Sequence[AuditEntry], start: datetime, end: datetime, skip: set[BookingId]
) -> list[LatencySample]:
    changes: dict[BookingId, list[datetime]] = {}
    for entry in entries:
        if entry.action in BOOKING_CHANGES and entry.booking_id is not None and entry.booking_id not in skip:
            changes.setdefault(entry.booking_id, []).append(entry.at)
    samples = []
    for booking_id, times in changes.items():
        link = uow.links.for_booking(booking_id)
        if link is None:
            continue
        event = uow.remote_events.get(link.calendar_id, link.remote_id)
        if event is None or event.updated is None or event.booking_id != booking_id:
            continue
        written = event.updated
        if not start <= written <= end:
            continue
        before = [t for t in times if t <= written]
        if not before:
            continue
        account = uow.calendars.get(link.calendar_id)
        samples.append(
            LatencySample(
                written,
                written - max(before),
                LatencyDirection.WRITE,
                LatencySource.MIRROR,
                booking_id,
                None if account is None else account.account_id,
            )
        )
    return samples
