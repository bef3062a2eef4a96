"""Crewboard → calendar: run the planner for every booking with a due outbox row and carry it out.

For each booking the planner sees what the booking wants (`Desired`), what the mirror holds
(`Observed`) and what both sides last agreed (`Agreed`, the EventLink). Every confirmed provider
write is recorded at once with the link and the mirror entry it produced; the outbox rows go only
in the unit of work that records the last confirmed step. A failure leaves the rows in place with
a later retry time, so nothing is dropped before its effect is confirmed, and the next pass plans
the same work again from whatever was confirmed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import assert_never

from app.bus import BookingChanged
from app.domain.ids import AccountId, BookingId, CalendarId, OutboxId, TechId
from app.domain.model import (
    REWRITE_BOOKING_VERSION,
    AccountStatus,
    AuditEntry,
    Booking,
    Calendar,
    CalendarAccount,
    ConflictKind,
    ConflictStatus,
    Customer,
    EventLink,
    OutboxItem,
    RemoteEvent,
    Technician,
)
from app.domain.time import Clock
from app.services.ports import UnitOfWork
from app.services.sync_outcomes import QUEUED_AT
from app.services.sync_queue import changed_row
from sync.core.planner import (
    REMOTE_WRITES,
    WAITS_FOR_PERSON,
    Action,
    AdoptEvent,
    Agreed,
    CreateEvent,
    DeleteEvent,
    Desired,
    FlagEditedBoth,
    FlagEventDeleted,
    ForgetLink,
    MoveBooking,
    Observed,
    UpdateEvent,
    plan,
)
from sync.engine import planner_inputs
from sync.engine.alerts import Alerts, open_conflict, tell_tech_and_dispatcher
from sync.engine.ownership import store_key
from sync.engine.providers import ProviderPool
from sync.engine.worker import DbWorker
from sync.providers.errors import (
    AlreadyExists,
    AuthExpired,
    NotFoundRemote,
    PreconditionFailed,
    ProviderError,
    RateLimited,
)
from sync.providers.protocol import BookingEventContent, CalendarProvider, WrittenEvent

log = logging.getLogger(__name__)

BACKOFF_BASE = 2.0  # seconds
BACKOFF_CAP = 300.0  # five minutes
# A write that must wait for a person (a conflict, a reconnect) is looked at again this often.
WAIT_RECHECK = timedelta(seconds=60)
# Conflicts that stop a booking's sync until someone decides.
BLOCKING_KINDS = frozenset({ConflictKind.EDITED_BOTH, ConflictKind.EVENT_DELETED})
_WAITING_STATUSES = frozenset({AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED})

Effect = Callable[[UnitOfWork], None]


def backoff_seconds(
    attempts: int, rng: random.Random, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempts-1))]."""
    ceiling = min(cap, base * (2 ** max(0, attempts - 1)))
    return rng.uniform(0.0, ceiling)


@dataclass(slots=True)
class FlushReport:
    bookings: int = 0
    writes: int = 0
    done: list[BookingId] = field(default_factory=list)
    alerts: Alerts = field(default_factory=Alerts)
    changed: list[BookingChanged] = field(default_factory=list)
    reread: set[CalendarId] = field(default_factory=set)
    wrote: set[AccountId] = field(default_factory=set)
    failed: dict[AccountId, str] = field(default_factory=dict)
    auth_expired: dict[AccountId, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Everything one booking's plan needs, read in one unit of work."""

    booking: Booking | None
    customer: Customer | None
    tech: Technician | None
    desired: Desired | None
    link: EventLink | None
    candidates: tuple[RemoteEvent, ...]
    calendars: dict[CalendarId, tuple[Calendar, CalendarAccount]]
    wait: str | None  # why the booking's writes must wait for a person
    # A write of this booking went out before (any row, due now or waiting for its retry): its
    # answer may have been lost, so an event of ours may be there unrecorded.
    tried: bool = False


class _Replan(Exception):
    """The booking changed while we talked to the provider: plan it again in the next pass."""


class _Wait(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboxFlusher:
    def __init__(
        self,
        db: DbWorker,
        clock: Clock,
        providers: ProviderPool,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._providers = providers
        self._rng = rng or random.Random()
        self._current_account: AccountId | None = None
        self._owner_key = b""  # the store's event ownership key, read before the first write

    async def flush(self, blocked: set[AccountId], limit: int = 200) -> FlushReport:
        """Carry out every due outbox row; accounts in `blocked` are not written this time."""
        report = FlushReport()
        now = self._clock.now()
        due = await self._db.read(lambda uow: uow.outbox.due(now, limit))
        if due and not self._owner_key:
            self._owner_key = await self._db.write(store_key)
        groups: dict[BookingId, list[OutboxItem]] = {}
        for item in due:
            groups.setdefault(item.booking_id, []).append(item)
        for booking_id, items in groups.items():
            report.bookings += 1
            await self._reconcile(booking_id, items, blocked, report)
        return report

    # --- one booking -----------------------------------------------------------------------

    async def _reconcile(
        self, booking_id: BookingId, items: list[OutboxItem], blocked: set[AccountId], report: FlushReport
    ) -> None:
        self._current_account = None
        snap = await self._db.read(lambda uow: _snapshot(uow, booking_id, items))
        involved = {account.id for _, account in snap.calendars.values()}
        if snap.wait is not None:
            await self._defer(items, snap.wait)
            return
        if involved & blocked:
            return  # that account stopped this round; its rows stay due
        observed_event, strays = _choose(snap)
        observed = planner_inputs.observed(observed_event, _zone(snap)) if observed_event else None
        agreed = _agreed(snap.link)
        found: RemoteEvent | None = None
        try:
            if (
                observed is None
                and agreed is None
                and snap.desired is not None
                and snap.desired.calendar_id is not None
                and (snap.tried or any(item.attempts > 0 for item in items))
            ):
                # A create was tried before and its answer may have been lost: look before creating.
                # Not only the due rows count: a later change's row may come due while the row of
                # that create still waits for its retry.
                calendar, account = snap.calendars[snap.desired.calendar_id]
                found = await self._provider(account).find_booking_event(calendar, self._content(snap))
                if found is not None:
                    observed = planner_inputs.observed(found, _zone(snap))
            actions = plan(booking_id, snap.desired, observed, agreed)
            remote = [a for a in actions if isinstance(a, REMOTE_WRITES)]
            if remote or strays:
                await self._db.write(lambda uow: _mark_attempt(uow, items))
                items = [replace(i, attempts=i.attempts + 1) for i in items]
            effects: list[Effect] = []
            # The write's delay, as the health panel shows it, runs from the oldest row it carries out.
            queued = min((item.created_at for item in items), default=None)
            if found is not None:
                effects.append(_mirror(found))
            waits_for_person = False
            for action in actions:
                if isinstance(action, REMOTE_WRITES):
                    # Record what is confirmed so far before the next request goes out.
                    await self._commit(effects)
                    effects = []
                effects.append(await self._perform(action, snap, report, queued))
                waits_for_person |= isinstance(action, WAITS_FOR_PERSON)
            for stray in strays:
                await self._commit(effects)
                effects = []
                calendar, account = snap.calendars[stray.calendar_id]
                await self._provider(account).delete_event(calendar, stray.remote_id, stray.etag)
                report.wrote.add(account.id)
                report.writes += 1
                effects.append(_forget_mirror(stray.calendar_id, stray.remote_id))
            if waits_for_person:
                effects.append(_defer_effect(items, self._clock.now() + WAIT_RECHECK, _WAIT_FOR_PERSON))
            else:
                effects.append(_remove_items(items))
            await self._commit(effects)
            report.done.append(booking_id)
        except _Replan:
            return
        except _Wait as wait:
            await self._defer(items, wait.reason)
        except AuthExpired as error:
            failing = self._account_of_error(snap, error)
            report.auth_expired[failing] = str(error)
            blocked.add(failing)
            await self._providers.drop(failing)
            await self._defer(items, str(error))
        except (PreconditionFailed, NotFoundRemote, AlreadyExists) as error:
            # The event is not what we last saw: read its calendar again and plan once more.
            report.reread |= {cid for cid in snap.calendars}
            await self._retry(items, str(error), delay=0.0)
        except RateLimited as error:
            failing = self._account_of_error(snap, error)
            report.failed[failing] = str(error)
            delay = error.retry_after if error.retry_after is not None else self._backoff(items)
            await self._retry(items, str(error), delay=delay)
        except ProviderError as error:
            failing = self._account_of_error(snap, error)
            report.failed[failing] = str(error)
            await self._retry(items, str(error), delay=self._backoff(items))
        except Exception as error:
            log.exception("syncing booking %s failed", booking_id)
            failing = self._account_of_error(snap, error)
            report.failed[failing] = f"Unexpected error while syncing a booking: {error}"
            await self._retry(items, repr(error), delay=self._backoff(items))

    def _written(
        self,
        report: FlushReport,
        account: CalendarAccount,
        calendar: Calendar,
        written: WrittenEvent,
        snap: _Snapshot,
        audit_action: str,
        now: datetime,
        queued: datetime | None,
    ) -> Effect:
        """What a confirmed create or update records: the mirror of the event and the new agreement."""
        booking, customer, tech = _parts(snap)
        report.wrote.add(account.id)
        report.writes += 1
        mirror = planner_inputs.written_mirror(
            calendar.id, written.remote_id, written.etag, booking, customer, tech, now
        )
        link = EventLink(
            booking.id, calendar.id, written.remote_id, written.etag, written.content_hash, booking.version
        )
        return _record_write(link, mirror, audit_action, calendar, now, queued)

    async def _found_on_create(
        self,
        report: FlushReport,
        account: CalendarAccount,
        calendar: Calendar,
        snap: _Snapshot,
        now: datetime,
    ) -> Effect:
        """The create was answered with an event that was already there, not with what we sent.

        An earlier create made it and its answer was lost (Google answers the retry with 409 and
        the adapter adopts the event; Graph answers a repeated transactionId with the first event,
        whatever became of it). It shows what it holds now: an older version of the booking, or the
        tech's move of it. Recording it as showing the booking would leave the two apart for good
        (the mirror would say the calendar agrees, and reads never bring the event back unless it
        changes), so it is recorded as found, agreed with no version of the booking, and planned
        once more: the booking is then written over it (If-Match), or a change the tech makes
        meanwhile is seen as edited on both sides.
        """
        booking, _customer, _tech = _parts(snap)
        report.wrote.add(account.id)
        report.writes += 1
        report.reread.add(calendar.id)  # plan it again in this round
        found = await self._provider(account).find_booking_event(calendar, self._content(snap))
        if found is None:
            # Deleted meanwhile, most likely: the rows stay, and are planned afresh after a pause
            # (a provider that keeps answering so would otherwise be asked again and again).
            raise ProviderError(
                "The calendar answered with an event this job already had, then could not find it; "
                "sync will try again."
            )
        event = replace(found, calendar_id=calendar.id, booking_id=booking.id)
        link = EventLink(
            booking.id,
            calendar.id,
            event.remote_id,
            event.etag,
            planner_inputs.observed(event, _zone(snap)).content_hash,
            REWRITE_BOOKING_VERSION,
        )

        def record(uow: UnitOfWork) -> None:
            uow.remote_events.upsert(event)
            uow.links.put(link)
            uow.outbox.add(
                changed_row(
                    booking.id, booking.tech_id, now, calendar_id=calendar.id, remote_id=event.remote_id
                )
            )
            uow.audit.record(
                AuditEntry(
                    now,
                    "sync.event_adopted",
                    f"{calendar.name}: {event.remote_id}",
                    booking.id,
                    extra={"calendar": calendar.id},
                )
            )

        return record

    async def _perform(
        self, action: Action, snap: _Snapshot, report: FlushReport, queued: datetime | None
    ) -> Effect:
        """Carry out one action at the provider; the effect records what it confirmed."""
        now = self._clock.now()
        match action:
            case CreateEvent():
                calendar, account = snap.calendars[action.calendar_id]
                self._current_account = account.id
                written = await self._provider(account).create_event(calendar, self._content(snap))
                if written.adopted or written.content_hash != action.content_hash:
                    return await self._found_on_create(report, account, calendar, snap, now)
                return self._written(
                    report, account, calendar, written, snap, "sync.event_created", now, queued
                )
            case UpdateEvent():
                calendar, account = snap.calendars[action.calendar_id]
                self._current_account = account.id
                written = await self._provider(account).update_event(
                    calendar, action.remote_id, action.etag, self._content(snap)
                )
                return self._written(
                    report, account, calendar, written, snap, "sync.event_updated", now, queued
                )
            case DeleteEvent():
                calendar, account = snap.calendars[action.calendar_id]
                self._current_account = account.id
                await self._provider(account).delete_event(calendar, action.remote_id, action.etag)
                report.wrote.add(account.id)
                report.writes += 1
                return _record_delete(action.booking_id, calendar, action.remote_id, now, queued)
            case AdoptEvent():
                link = EventLink(
                    action.booking_id,
                    action.calendar_id,
                    action.remote_id,
                    action.etag,
                    action.content_hash,
                    action.booking_version,
                )
                return lambda uow: uow.links.put(link)
            case ForgetLink():
                return _forget_link(action)
            case MoveBooking():
                return self._move_booking(snap, action.event, report, now)
            case FlagEventDeleted():
                return self._flag(snap, action.calendar_id, action.remote_id, None, report, now)
            case FlagEditedBoth():
                event = action.event
                return self._flag(snap, event.calendar_id, event.remote_id, event, report, now)
            case _:
                assert_never(action)

    def _move_booking(
        self, snap: _Snapshot, observed: Observed, report: FlushReport, now: datetime
    ) -> Effect:
        """The tech moved the job's event: the booking follows, as if the dispatcher had moved it."""
        assert snap.booking is not None and snap.desired is not None
        expected_version = snap.booking.version

        def move(uow: UnitOfWork) -> None:
            booking = uow.bookings.get(snap.booking.id if snap.booking else BookingId(""))
            if booking is None or booking.version != expected_version:
                raise _Replan()
            moved = replace(
                booking,
                start=observed.start,
                duration=observed.end - observed.start,
                version=booking.version + 1,
                updated_at=now,
            )
            uow.bookings.update(moved)
            uow.links.put(
                EventLink(
                    booking.id,
                    observed.calendar_id,
                    observed.remote_id,
                    observed.etag,
                    observed.content_hash,
                    moved.version,
                )
            )
            # The tech may have changed the title with the time: plan once more against the moved
            # booking, so text we own is written back (a pass that finds nothing to do costs no request).
            uow.outbox.add(
                changed_row(
                    moved.id,
                    moved.tech_id,
                    now,
                    calendar_id=observed.calendar_id,
                    remote_id=observed.remote_id,
                )
            )
            uow.audit.record(
                AuditEntry(
                    now,
                    "booking.moved_by_tech",
                    f"{booking.service} moved in the calendar from "
                    f"{booking.start.isoformat() if booking.start else 'unscheduled'} to {observed.start.isoformat()}",
                    booking.id,
                    extra={"actor": "calendar"},
                )
            )
            tech_ids = (booking.tech_id,) if booking.tech_id else ()
            report.changed.append(BookingChanged(booking.id, tech_ids, "moved"))

        return move

    def _flag(
        self,
        snap: _Snapshot,
        calendar_id: CalendarId,
        remote_id: str,
        moved_to: Observed | None,
        report: FlushReport,
        now: datetime,
    ) -> Effect:
        """Open the conflict a person decides: the event deleted (`moved_to` None), or moved by the
        tech to `moved_to` while the booking changed here."""
        kind = ConflictKind.EVENT_DELETED if moved_to is None else ConflictKind.EDITED_BOTH
        booking = snap.booking
        assert booking is not None
        tech = snap.tech

        def flag(uow: UnitOfWork) -> None:
            alerts = Alerts()
            who = tech.name if tech else "The technician"
            if moved_to is None:
                detail = f"{who} deleted the calendar event of this job; the job is still booked"
                subject = f"{who} deleted the {booking.service} job from their calendar"
                body = (
                    f"{subject}. The job stays booked. Keep it (the event is written again), "
                    "reschedule it or give it to another technician."
                )
            else:
                detail = (
                    f"the job was changed here and {who} moved its calendar event to "
                    f"{moved_to.start.isoformat()} at the same time"
                )
                subject = f"The {booking.service} job was changed on both sides"
                body = (
                    f"The {booking.service} job was changed on the board while {who} moved it in their "
                    "calendar. Nothing was overwritten: keep the board's time, reschedule or reassign."
                )
            conflict = open_conflict(
                uow,
                alerts,
                booking_id=booking.id,
                tech=tech,
                kind=kind,
                now=now,
                calendar_id=calendar_id,
                remote_id=remote_id,
                other_start=moved_to.start if moved_to else None,
                other_end=moved_to.end if moved_to else None,
                detail=detail,
            )
            if conflict is not None:
                tell_tech_and_dispatcher(uow, alerts, tech, subject, body, now, tech_too=False)
                uow.audit.record(AuditEntry(now, f"conflict.{kind.value}", detail, booking.id))
            report.alerts.extend(alerts)

        return flag

    # --- helpers ---------------------------------------------------------------------------

    def _provider(self, account: CalendarAccount) -> CalendarProvider:
        self._current_account = account.id
        return self._providers.get(account)

    def _account_of_error(self, snap: _Snapshot, error: BaseException) -> AccountId:
        if self._current_account is not None:
            return self._current_account
        for _, account in snap.calendars.values():
            return account.id
        return AccountId("")

    def _content(self, snap: _Snapshot) -> BookingEventContent:
        booking, customer, tech = _parts(snap)
        return planner_inputs.content(booking, customer, tech, self._owner_key)

    def _backoff(self, items: list[OutboxItem]) -> float:
        return backoff_seconds(max((i.attempts for i in items), default=1), self._rng)

    async def _commit(self, effects: list[Effect]) -> None:
        if not effects:
            return

        def run(uow: UnitOfWork) -> None:
            for effect in effects:
                effect(uow)

        await self._db.write(run)

    async def _retry(self, items: list[OutboxItem], error: str, *, delay: float) -> None:
        when = self._clock.now() + timedelta(seconds=delay)
        await self._db.write(_defer_effect(items, when, error))

    async def _defer(self, items: list[OutboxItem], reason: str) -> None:
        await self._db.write(_defer_effect(items, self._clock.now() + WAIT_RECHECK, reason))


_WAIT_FOR_PERSON = "waiting for a person to decide the booking's conflict"
_WAITING = "waiting for "


def is_waiting(item: OutboxItem) -> bool:
    """Whether the row waits for a person (a conflict, a reconnect) rather than for a retry."""
    return (item.last_error or "").startswith(_WAITING)


def _snapshot(uow: UnitOfWork, booking_id: BookingId, items: list[OutboxItem]) -> _Snapshot:
    booking = uow.bookings.get(booking_id)
    customer = uow.customers.get(booking.customer_id) if booking else None
    tech = uow.techs.get(booking.tech_id) if booking and booking.tech_id else None
    link = uow.links.for_booking(booking_id)
    calendars: dict[CalendarId, tuple[Calendar, CalendarAccount]] = {}
    unreachable: set[CalendarId] = set()
    waits: list[str] = []

    def add(calendar_id: CalendarId | None) -> None:
        if calendar_id is None or calendar_id in calendars or calendar_id in unreachable:
            return
        calendar = uow.calendars.get(calendar_id)
        account = uow.accounts.get(calendar.account_id) if calendar else None
        if calendar is None or account is None or account.status is AccountStatus.DISCONNECTED:
            unreachable.add(calendar_id)
            return
        if account.status in _WAITING_STATUSES:
            waits.append(f"waiting for {account.email} to be reconnected")
        calendars[calendar_id] = (calendar, account)

    for conflict in uow.conflicts.for_booking(booking_id):
        if conflict.status is ConflictStatus.OPEN and conflict.kind in BLOCKING_KINDS:
            waits.append(_WAIT_FOR_PERSON)
    target = _target_calendar(uow, tech, waits) if booking and booking.is_live and tech else None
    add(target)
    if link is not None:
        add(link.calendar_id)
    techs: set[TechId] = {i.tech_id for i in items if i.tech_id is not None}
    for item in items:
        add(item.calendar_id)
    for other_tech in sorted(techs):
        for account in uow.accounts.for_tech(other_tech):
            for calendar in uow.calendars.for_account(account.id):
                if calendar.primary:
                    add(calendar.id)
    candidates = tuple(
        event
        for calendar_id in calendars
        for event in uow.remote_events.for_calendar(calendar_id)
        if event.booking_id == booking_id and not event.cancelled
    )
    if link is not None and link.calendar_id in unreachable:
        link = None  # its account is gone: nothing there can be written or agreed any more
    wanted = planner_inputs.desired(booking, customer, target) if booking is not None else None
    return _Snapshot(
        booking=booking,
        customer=customer,
        tech=tech,
        desired=wanted,
        link=link,
        candidates=candidates,
        calendars=calendars,
        wait=waits[0] if waits else None,
        tried=any(item.attempts > 0 for item in uow.outbox.for_booking(booking_id)),
    )


def _target_calendar(uow: UnitOfWork, tech: Technician, waits: list[str]) -> CalendarId | None:
    """The primary calendar of the tech's connected account; None when they have none."""
    accounts = uow.accounts.for_tech(tech.id)
    for account in accounts:
        if account.status is AccountStatus.CONNECTED:
            for calendar in uow.calendars.for_account(account.id):
                if calendar.primary:
                    return calendar.id
    for account in accounts:
        if account.status in _WAITING_STATUSES:
            waits.append(f"waiting for {tech.name}'s calendar {account.email} to be reconnected")
    return None


def _choose(snap: _Snapshot) -> tuple[RemoteEvent | None, list[RemoteEvent]]:
    """The event the plan is about, and stray copies of the booking's event elsewhere."""
    events = list(snap.candidates)
    if not events:
        return None, []
    chosen: RemoteEvent | None = None
    if snap.link is not None:
        chosen = next(
            (
                e
                for e in events
                if (e.calendar_id, e.remote_id) == (snap.link.calendar_id, snap.link.remote_id)
            ),
            None,
        )
    if chosen is None and snap.desired is not None:
        chosen = next((e for e in events if e.calendar_id == snap.desired.calendar_id), None)
    if chosen is None:
        chosen = events[0]
    strays = [e for e in events if e is not chosen]
    return chosen, strays


def _agreed(link: EventLink | None) -> Agreed | None:
    if link is None:
        return None
    return Agreed(link.calendar_id, link.remote_id, link.etag, link.content_hash, link.booking_version)


def _zone(snap: _Snapshot) -> str:
    return snap.tech.timezone if snap.tech else "UTC"


def _parts(snap: _Snapshot) -> tuple[Booking, Customer, Technician]:
    if snap.booking is None or snap.customer is None or snap.tech is None:
        raise _Replan()
    return snap.booking, snap.customer, snap.tech


def _mark_attempt(uow: UnitOfWork, items: list[OutboxItem]) -> None:
    """Count the attempt before the request goes out, so a crash mid-request is known next time."""
    for item in items:
        uow.outbox.update(replace(item, attempts=item.attempts + 1))


def _defer_effect(items: list[OutboxItem], when: datetime, reason: str) -> Effect:
    def defer(uow: UnitOfWork) -> None:
        for item in items:
            uow.outbox.update(replace(item, next_attempt=when, last_error=reason))

    return defer


def _remove_items(items: list[OutboxItem]) -> Effect:
    ids: list[OutboxId] = [item.id for item in items]

    def remove(uow: UnitOfWork) -> None:
        for item_id in ids:
            uow.outbox.remove(item_id)

    return remove


def _forget_link(action: ForgetLink) -> Effect:
    """Drop the agreement on the vanished event, unless a later write already replaced it."""

    def forget(uow: UnitOfWork) -> None:
        current = uow.links.for_booking(action.booking_id)
        if current is not None and current.remote_id == action.remote_id:
            uow.links.remove(action.booking_id)

    return forget


def _mirror(event: RemoteEvent) -> Effect:
    return lambda uow: uow.remote_events.upsert(event)


def _forget_mirror(calendar_id: CalendarId, remote_id: str) -> Effect:
    return lambda uow: uow.remote_events.delete(calendar_id, remote_id)


def _write_extra(calendar: Calendar, queued: datetime | None) -> dict[str, str]:
    """The audit extra of a confirmed write: its calendar, and when its outbox row was queued."""
    extra: dict[str, str] = {"calendar": calendar.id}
    if queued is not None:
        extra[QUEUED_AT] = queued.astimezone(UTC).isoformat()
    return extra


def _record_write(
    link: EventLink,
    mirror: RemoteEvent,
    what: str,
    calendar: Calendar,
    now: datetime,
    queued: datetime | None,
) -> Effect:
    def record(uow: UnitOfWork) -> None:
        uow.links.put(link)
        uow.remote_events.upsert(mirror)
        uow.audit.record(
            AuditEntry(
                now,
                what,
                f"{calendar.name}: {link.remote_id}",
                link.booking_id,
                extra=_write_extra(calendar, queued),
            )
        )

    return record


def _record_delete(
    booking_id: BookingId, calendar: Calendar, remote_id: str, now: datetime, queued: datetime | None
) -> Effect:
    def record(uow: UnitOfWork) -> None:
        current = uow.links.for_booking(booking_id)
        if current is not None and (current.calendar_id, current.remote_id) == (calendar.id, remote_id):
            uow.links.remove(booking_id)
        uow.remote_events.delete(calendar.id, remote_id)
        uow.audit.record(
            AuditEntry(
                now,
                "sync.event_deleted",
                f"{calendar.name}: {remote_id}",
                booking_id,
                extra=_write_extra(calendar, queued),
            )
        )

    return record
