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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import assert_never

from app.bus import BookingChanged
from app.domain.ids import AccountId, BookingId, CalendarId
from app.domain.model import (
    REWRITE_BOOKING_VERSION,
    AuditEntry,
    Calendar,
    CalendarAccount,
    EventLink,
    OutboxItem,
    RemoteEvent,
)
from app.domain.time import Clock
from app.services.ports import UnitOfWork
from app.services.sync_queue import changed_row
from sync.core.planner import (
    REMOTE_WRITES,
    WAITS_FOR_PERSON,
    Action,
    AdoptEvent,
    CreateEvent,
    DeleteEvent,
    FlagEditedBoth,
    FlagEventDeleted,
    ForgetLink,
    MoveBooking,
    UpdateEvent,
    plan,
)
from sync.engine import planner_inputs
from sync.engine.alerts import Alerts
from sync.engine.booking_state import (
    WAIT_FOR_PERSON,
    BookingSnapshot,
    Replan,
    agreed_of,
    choose_event,
    parts_of,
    read_snapshot,
    zone_of,
)
from sync.engine.event_extras import EventExtras, extras_need_write, read_extras
from sync.engine.ownership import store_key
from sync.engine.providers import ProviderPool
from sync.engine.tech_edits import flag_conflict, move_booking
from sync.engine.worker import DbWorker
from sync.engine.write_records import (
    Effect,
    defer_effect,
    forget_link,
    forget_mirror,
    mark_attempt,
    mirror,
    record_delete,
    record_write,
    remove_items,
)
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
        self._extras: EventExtras | None = None  # job links and colours, read at each flush

    async def flush(self, blocked: set[AccountId], limit: int = 200) -> FlushReport:
        """Carry out every due outbox row; accounts in `blocked` are not written this time."""
        report = FlushReport()
        now = self._clock.now()
        due = await self._db.read(lambda uow: uow.outbox.due(now, limit))
        if due and not self._owner_key:
            self._owner_key = await self._db.write(store_key)
        if due:
            # Read every flush: the office's number, its public address or a tech's colour switch
            # may have changed since, and the events written now should say so.
            made = not await self._db.read(extras_need_write)
            self._extras = await (self._db.read if made else self._db.write)(read_extras)
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
        snap = await self._db.read(lambda uow: read_snapshot(uow, booking_id, items))
        involved = {account.id for _, account in snap.calendars.values()}
        if snap.wait is not None:
            await self._defer(items, snap.wait)
            return
        if involved & blocked:
            return  # that account stopped this round; its rows stay due
        observed_event, strays = choose_event(snap)
        observed = planner_inputs.observed(observed_event, zone_of(snap)) if observed_event else None
        agreed = agreed_of(snap.link)
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
                found = await (await self._provider(account)).find_booking_event(
                    calendar, self._content(snap)
                )
                if found is not None:
                    observed = planner_inputs.observed(found, zone_of(snap))
            actions = plan(booking_id, snap.desired, observed, agreed)
            remote = [a for a in actions if isinstance(a, REMOTE_WRITES)]
            if remote or strays:
                await self._db.write(lambda uow: mark_attempt(uow, items))
                items = [replace(i, attempts=i.attempts + 1) for i in items]
            effects: list[Effect] = []
            # The write's delay, as the health panel shows it, runs from the oldest row it carries out.
            queued = min((item.created_at for item in items), default=None)
            if found is not None:
                effects.append(mirror(found))
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
                await (await self._provider(account)).delete_event(calendar, stray.remote_id, stray.etag)
                report.wrote.add(account.id)
                report.writes += 1
                effects.append(forget_mirror(stray.calendar_id, stray.remote_id))
            if waits_for_person:
                effects.append(defer_effect(items, self._clock.now() + WAIT_RECHECK, WAIT_FOR_PERSON))
            else:
                effects.append(remove_items(items))
            await self._commit(effects)
            report.done.append(booking_id)
        except Replan:
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
        snap: BookingSnapshot,
        audit_action: str,
        now: datetime,
        queued: datetime | None,
    ) -> Effect:
        """What a confirmed create or update records: the mirror of the event and the new agreement."""
        booking, customer, tech = parts_of(snap)
        report.wrote.add(account.id)
        report.writes += 1
        mirror = planner_inputs.written_mirror(
            calendar.id, written.remote_id, written.etag, booking, customer, tech, now
        )
        link = EventLink(
            booking.id, calendar.id, written.remote_id, written.etag, written.content_hash, booking.version
        )
        return record_write(link, mirror, audit_action, calendar, now, queued)

    async def _found_on_create(
        self,
        report: FlushReport,
        account: CalendarAccount,
        calendar: Calendar,
        snap: BookingSnapshot,
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
        booking, _customer, _tech = parts_of(snap)
        report.wrote.add(account.id)
        report.writes += 1
        report.reread.add(calendar.id)  # plan it again in this round
        found = await (await self._provider(account)).find_booking_event(calendar, self._content(snap))
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
            planner_inputs.observed(event, zone_of(snap)).content_hash,
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
        self, action: Action, snap: BookingSnapshot, report: FlushReport, queued: datetime | None
    ) -> Effect:
        """Carry out one action at the provider; the effect records what it confirmed."""
        now = self._clock.now()
        match action:
            case CreateEvent():
                calendar, account = snap.calendars[action.calendar_id]
                self._current_account = account.id
                written = await (await self._provider(account)).create_event(calendar, self._content(snap))
                if written.adopted or written.content_hash != action.content_hash:
                    return await self._found_on_create(report, account, calendar, snap, now)
                return self._written(
                    report, account, calendar, written, snap, "sync.event_created", now, queued
                )
            case UpdateEvent():
                calendar, account = snap.calendars[action.calendar_id]
                self._current_account = account.id
                written = await (await self._provider(account)).update_event(
                    calendar, action.remote_id, action.etag, self._content(snap)
                )
                return self._written(
                    report, account, calendar, written, snap, "sync.event_updated", now, queued
                )
            case DeleteEvent():
                calendar, account = snap.calendars[action.calendar_id]
                self._current_account = account.id
                await (await self._provider(account)).delete_event(calendar, action.remote_id, action.etag)
                report.wrote.add(account.id)
                report.writes += 1
                return record_delete(action.booking_id, calendar, action.remote_id, now, queued)
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
                return forget_link(action)
            case MoveBooking():
                return move_booking(snap, action.event, report.changed, now)
            case FlagEventDeleted():
                return flag_conflict(snap, action.calendar_id, action.remote_id, None, report.alerts, now)
            case FlagEditedBoth():
                event = action.event
                return flag_conflict(snap, event.calendar_id, event.remote_id, event, report.alerts, now)
            case _:
                assert_never(action)

    # --- helpers ---------------------------------------------------------------------------

    async def _provider(self, account: CalendarAccount) -> CalendarProvider:
        self._current_account = account.id
        return await self._providers.get(account)

    def _account_of_error(self, snap: BookingSnapshot, error: BaseException) -> AccountId:
        if self._current_account is not None:
            return self._current_account
        for _, account in snap.calendars.values():
            return account.id
        return AccountId("")

    def _content(self, snap: BookingSnapshot) -> BookingEventContent:
        booking, customer, tech = parts_of(snap)
        return planner_inputs.content(booking, customer, tech, self._owner_key, self._extras)

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
        await self._db.write(defer_effect(items, when, error))

    async def _defer(self, items: list[OutboxItem], reason: str) -> None:
        await self._db.write(defer_effect(items, self._clock.now() + WAIT_RECHECK, reason))
