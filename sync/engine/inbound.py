"""Calendar → Crewboard: read one calendar's changes and store them in the local mirror.

One read is one unit of work: the events, the busy blocks materialized from them, the conflicts
they open or close, the outbox rows that make the planner look at touched booking events, and the
new cursor are committed together or not at all. A crash after the provider answered but before
the commit reads the same changes again next time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from app.domain.ids import AccountId, BookingId, CalendarId, TechId
from app.domain.model import (
    Audience,
    AuditEntry,
    BusyBlock,
    Calendar,
    ConflictKind,
    RemoteEvent,
    Technician,
)
from app.domain.recurrence import occurrence_interval
from app.domain.time import Clock, Interval, local_midnight, zone
from app.services.accounts import DISPATCHER, provider_label
from app.services.ports import UnitOfWork
from app.services.sync_outcomes import CHANGED_AT, READ_APPLIED
from app.services.sync_queue import changed_row
from sync.core.guard import MassDeleteGuard
from sync.engine import cursors
from sync.engine.alerts import Alerts, notify
from sync.engine.busy_blocks import SeriesIndex, blocks_by_series, is_single, materialize_series, past_blocks
from sync.engine.overlaps import close_overlaps, open_overlaps
from sync.engine.ownership import screen_claims
from sync.engine.read_snapshot import ReadContext, RoundSnapshot, load_context
from sync.engine.worker import DbWorker
from sync.providers.errors import CursorExpired
from sync.providers.protocol import CalendarProvider, ChangeBatch

log = logging.getLogger(__name__)

# How far back a read reaches: all of yesterday in the tech's zone, since yesterday's late jobs
# still matter to today's board. The window rolls at the tech's midnight. What lies before it is
# no longer read, so it stays as last seen: the mirror and the busy blocks of days already past.
LOOKBACK = timedelta(days=1)


@dataclass(slots=True)
class ReadOutcome:
    calendar_id: CalendarId
    account_id: AccountId
    tech_id: TechId | None = None
    full: bool = False
    stored: int = 0
    deleted: int = 0
    touched: list[BookingId] = field(default_factory=list)
    alerts: Alerts = field(default_factory=Alerts)
    refused: str | None = None  # the mass-delete guard kept the old mirror, saying why


class CalendarReader:
    """Reads calendars into the mirror; remembers per calendar how its blocks were last built."""

    def __init__(
        self,
        db: DbWorker,
        clock: Clock,
        *,
        horizon_days: int = 120,
        guard: MassDeleteGuard | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._horizon = timedelta(days=horizon_days)
        self._guard = guard or MassDeleteGuard()
        # calendar → (what its blocks depend on, the day they were expanded from)
        self._built: dict[CalendarId, tuple[tuple[object, ...], date]] = {}
        self.accept_mass_delete = False
        self._round: RoundSnapshot | None = None
        # Cursors of the round's quiet reads (the one read from, the new one), stored together
        # when the round ends. Storing one late, or never, is safe: the older cursor still reads
        # the same (no) changes.
        self._cursors: dict[CalendarId, tuple[str | None, str]] = {}

    def begin_round(self, snapshot: RoundSnapshot) -> None:
        """Reads until the round ends use these contexts instead of fetching their own."""
        self._round = snapshot
        self._cursors = {}

    async def end_round(self) -> None:
        """Store the cursors the round's quiet reads moved, in one unit of work."""
        moved = self._cursors
        self.abandon_round()
        if moved:
            await self._db.write(lambda uow: uow.calendars.move_cursors(moved))

    def abandon_round(self) -> None:
        """Forget the round (it failed): its quiet reads' cursors are not needed."""
        self._round = None
        self._cursors = {}

    def horizon(self, now: datetime, timezone: str = "UTC") -> Interval:
        """The read window at `now` for a tech in `timezone`: from the start of their yesterday."""
        tz = zone(timezone)
        yesterday = (now.astimezone(tz) - LOOKBACK).date()
        return Interval(min(local_midnight(yesterday, tz), now - LOOKBACK), now + self._horizon)

    async def read(self, calendar_id: CalendarId, provider: CalendarProvider) -> ReadOutcome:
        """Read one calendar's changes (everything after an expired cursor) and store them.

        Provider errors propagate; nothing is stored for a read that failed.
        """
        context = self._round.contexts.pop(calendar_id, None) if self._round is not None else None
        if context is None:
            context = await self._db.read(lambda uow: load_context(uow, calendar_id))
        now = self._clock.now()
        window = self.horizon(now, context.tech.timezone)
        calendar = context.calendar
        cursor = cursors.current(calendar.sync_cursor, window_day(now, context.tech.timezone))
        try:
            batch = await provider.read_changes(calendar, cursor, window)
        except CursorExpired:
            log.info("change feed of calendar %s expired; reading it in full", calendar.name)
            batch = await provider.read_changes(calendar, None, window)
        answered = self._clock.now()
        for remote_id, reason in batch.skipped:
            log.warning("skipped event %r of calendar %s: %s", remote_id[:80], calendar.name, reason)
        signature = _signature(calendar, context.tech)
        day = window_day(now, context.tech.timezone)
        rebuild = self._built.get(calendar.id) != (signature, day)
        quiet = not (batch.full or batch.events or batch.deleted or rebuild)
        if quiet and self._round is not None and calendar.id not in self._round.overlapping:
            # Nothing changed there and no overlap of its can close: only the cursor moves.
            stored = cursors.stamp(batch.cursor, day)
            if stored != calendar.sync_cursor:
                self._cursors[calendar.id] = (calendar.sync_cursor, stored)
            else:
                self._cursors.pop(calendar.id, None)
            return ReadOutcome(calendar.id, context.account.id, context.tech.id)
        # This read stores its own, newer cursor; a quiet one noted before must not overwrite it.
        self._cursors.pop(calendar.id, None)
        outcome = await self._db.write(
            lambda uow: self._store(uow, calendar_id, batch, rebuild, now, answered)
        )
        if outcome.refused is None:
            self._built[calendar.id] = (signature, day)
        if self._round is not None and any(c.kind is ConflictKind.OVERLAP for c in outcome.alerts.opened):
            self._round.overlapping.add(calendar.id)
        return outcome

    # --- storing (database thread) ----------------------------------------------------------

    def _store(
        self,
        uow: UnitOfWork,
        calendar_id: CalendarId,
        batch: ChangeBatch,
        rebuild: bool,
        now: datetime,
        answered: datetime,
    ) -> ReadOutcome:
        ctx = load_context(uow, calendar_id)
        calendar, tech = ctx.calendar, ctx.tech
        outcome = ReadOutcome(calendar.id, ctx.account.id, tech.id, full=batch.full)
        horizon = self.horizon(now, tech.timezone)
        day = window_day(now, tech.timezone)
        if not (batch.full or batch.events or batch.deleted or rebuild):
            # Nothing changed there (most polls): only the cursor moves, and overlaps whose job
            # was moved away on the board close.
            if any(
                c.kind is ConflictKind.OVERLAP and c.calendar_id == calendar.id for c in uow.conflicts.open()
            ):
                current = {
                    k: [b.interval for b in v]
                    for k, v in blocks_by_series(uow, tech, calendar.id, horizon).items()
                }
                close_overlaps(uow, outcome.alerts, tech, calendar, current, horizon, now)
            stored = cursors.stamp(batch.cursor, day)
            if stored != calendar.sync_cursor:
                uow.calendars.update(replace(calendar, sync_cursor=stored))
            return outcome
        old_events = {e.remote_id: e for e in uow.remote_events.for_calendar(calendar.id)}
        # Our booking events in this calendar, by event id; only the outbound side changes these.
        links = {link.remote_id: link.booking_id for link in uow.links.for_calendar(calendar.id)}
        refused = self._check_guard(ctx, old_events, links, batch, horizon)
        if refused is not None and not self.accept_mass_delete:
            self._refuse(uow, ctx, refused, now, outcome.alerts)
            outcome.refused = refused
            return outcome
        old_blocks = blocks_by_series(uow, tech, calendar.id, horizon)
        # A booking id counts only when a link or a verified tag backs it (DESIGN.md "Ownership of
        # calendar events"); any other claim is a personal event and the dispatcher hears of it once.
        batch = screen_claims(uow, calendar, tech, links, batch, now, outcome.alerts)
        batch = _tag_known_booking_events(old_events, links, batch)
        if batch.full:
            # A full read speaks only for its window: what lies wholly outside it was not read,
            # not deleted, so it stays as last seen (a past job's event above all).
            returned = {e.remote_id for e in batch.events}
            kept = {rid: e for rid, e in _outside(old_events, horizon).items() if rid not in returned}
            old_events = {rid: e for rid, e in old_events.items() if rid not in kept}
        else:
            kept = {}
            # Graph reports changes to events outside its window as removals (documented): an
            # event we know lies wholly outside the window was not deleted by this news.
            outside = _outside(old_events, horizon)
            if any(rid in outside for rid in batch.deleted):
                batch = replace(batch, deleted=tuple(r for r in batch.deleted if r not in outside))
        gone = _gone_links(old_events, links, batch)
        # Blocks of days the window has left behind stay as last seen, unless the provider says
        # their event was removed: the board keeps showing what was on a past day.
        history = past_blocks(uow, tech, calendar, horizon)
        removed = _vanished(old_events, batch)
        if calendar.sync_cursor is not None:
            _record_read_latency(uow, ctx, old_events, batch, answered)
        affected = self._apply(uow, calendar.id, old_events, batch)
        if batch.full:
            affected |= set(history)  # the full read cleared them: those still standing are filed again
        for event in kept.values():
            uow.remote_events.upsert(event)
        outcome.stored = len(batch.events)
        outcome.deleted = len(batch.deleted)
        if batch.full:
            # The mirror now holds what the read returned plus what it kept: index those rather
            # than read the calendar back (a tenth of an initial sync's time at 1,000 techs).
            index = SeriesIndex(_as_stored(batch.events, calendar.id) + list(kept.values()))
        elif rebuild:
            index = SeriesIndex(uow.remote_events.for_calendar(calendar.id))
        else:
            index = SeriesIndex.load(uow, calendar.id, affected)
        if rebuild:
            affected |= index.keys()
            affected |= set(old_blocks)
        current = {key: [b.interval for b in blocks] for key, blocks in old_blocks.items()}
        new_blocks: dict[str, list[BusyBlock]] = {}
        for key in sorted(affected):
            # Later series overwrite what earlier ones filed under the same key, as they always did.
            new_blocks.update(materialize_series(index, tech, calendar, key, horizon))
        for filed_key, blocks in new_blocks.items():
            past = history.get(filed_key)
            if past and filed_key not in removed and not is_single(index.get(filed_key)):
                # A series expands from the window's start only: its past occurrences are history.
                new_blocks[filed_key] = past + blocks
        uow.busy.replace_for_events(calendar.id, new_blocks)
        for filed_key, blocks in new_blocks.items():
            current[filed_key] = [b.interval for b in blocks]
        open_overlaps(uow, outcome.alerts, tech, calendar, old_blocks, new_blocks, horizon, now)
        close_overlaps(uow, outcome.alerts, tech, calendar, current, horizon, now)
        outcome.touched = self._touch_bookings(uow, ctx, batch, gone, now)
        uow.calendars.update(replace(calendar, sync_cursor=cursors.stamp(batch.cursor, day)))
        return outcome

    def _check_guard(
        self,
        ctx: ReadContext,
        old_events: dict[str, RemoteEvent],
        links: dict[str, BookingId],
        batch: ChangeBatch,
        window: Interval,
    ) -> str | None:
        """Why this batch must not be applied, or None when it may.

        Only what the read covered counts: events known to lie wholly outside the window (a past
        week's jobs above all) were not read, so their absence is not news.
        """
        where = f"{ctx.calendar.name} ({ctx.account.email})"
        outside = _outside(old_events, window)
        covered = {rid: e for rid, e in old_events.items() if rid not in outside}
        linked = {rid for rid, event in covered.items() if event.booking_id is not None and rid in links}
        return self._guard.refusal(
            where,
            read_empty=batch.full and not batch.events,
            known=len(covered),
            linked=len(linked),
            destructive=len(linked & _vanished(covered, batch)),
        )

    def _refuse(self, uow: UnitOfWork, ctx: ReadContext, reason: str, now: datetime, alerts: Alerts) -> None:
        health = uow.health.get(ctx.account.id)
        if health is not None and health.last_error == reason:
            return  # already told; the same refusal on every poll is not news
        uow.audit.record(
            AuditEntry(
                now,
                "sync.mass_delete_refused",
                reason,
                account_id=ctx.account.id,
                extra={"calendar": ctx.calendar.id},
            )
        )
        label = provider_label(ctx.account.provider)
        notify(
            uow,
            alerts,
            Audience.DISPATCHER,
            DISPATCHER,
            f"Check {ctx.tech.name}'s {label} calendar",
            reason,
            now,
            ctx.tech,
        )
        log.warning("%s", reason)

    def _apply(
        self, uow: UnitOfWork, calendar_id: CalendarId, old_events: dict[str, RemoteEvent], batch: ChangeBatch
    ) -> set[str]:
        """Write the batch into the mirror; the series keys whose blocks must be rebuilt."""
        affected: set[str] = set()
        if batch.full:
            uow.remote_events.clear_calendar(calendar_id)
            uow.busy.clear_calendar(calendar_id)
            affected |= {e.master_remote_id or e.remote_id for e in old_events.values()}
        for rid in batch.deleted:
            old = old_events.get(rid)
            affected.add(rid)
            if old is not None and old.master_remote_id is not None:
                affected.add(old.master_remote_id)
            elif not batch.full:
                for instance in uow.remote_events.instances_of(calendar_id, rid):
                    uow.remote_events.delete(calendar_id, instance.remote_id)
                    affected.add(instance.remote_id)
            uow.remote_events.delete(calendar_id, rid)
        events = _as_stored(batch.events, calendar_id)
        uow.remote_events.upsert_many(calendar_id, events)
        affected |= {e.master_remote_id or e.remote_id for e in events}
        return affected

    def _touch_bookings(
        self, uow: UnitOfWork, ctx: ReadContext, batch: ChangeBatch, gone: dict[BookingId, str], now: datetime
    ) -> list[BookingId]:
        """Queue a planner pass for every booking whose event changed on the calendar's side.

        The outbox row is committed with the batch, so a crash after this read cannot lose the
        tech's move or deletion: the next flush plans it.
        """
        touched: dict[BookingId, str] = dict(gone)
        for event in batch.events:
            if event.booking_id is None:
                continue
            link = uow.links.for_booking(event.booking_id)
            if (
                link is not None
                and (link.calendar_id, link.remote_id) == (ctx.calendar.id, event.remote_id)
                and link.etag == event.etag
            ):
                continue  # our own write coming back
            touched.setdefault(event.booking_id, event.remote_id)
        queued: list[BookingId] = []
        for booking_id, remote_id in touched.items():
            booking = uow.bookings.get(booking_id)
            if booking is None:
                continue  # another installation's job, or one deleted here: not ours to touch
            if not uow.outbox.for_booking(booking_id):
                uow.outbox.add(
                    changed_row(
                        booking.id, booking.tech_id, now, calendar_id=ctx.calendar.id, remote_id=remote_id
                    )
                )
            queued.append(booking_id)
        return queued


# --- helpers ----------------------------------------------------------------------------------


def _tag_known_booking_events(
    old_events: dict[str, RemoteEvent], links: dict[str, BookingId], batch: ChangeBatch
) -> ChangeBatch:
    """Give our own events their booking id when the read did not carry it.

    Some change feeds (Graph's delta) leave out the extended property holding the booking id; the
    event is still ours if we linked it, or if the mirror knew it as a booking event. Without the
    id it would block its own job's time and pass for a personal event landing on it.
    """
    tagged: list[RemoteEvent] = []
    changed = False
    for event in batch.events:
        if event.booking_id is None:
            known = old_events.get(event.remote_id)
            booking_id = links.get(event.remote_id) or (known.booking_id if known else None)
            if booking_id is not None:
                event = replace(event, booking_id=booking_id)
                changed = True
        tagged.append(event)
    return replace(batch, events=tuple(tagged)) if changed else batch


def _record_read_latency(
    uow: UnitOfWork,
    ctx: ReadContext,
    old_events: dict[str, RemoteEvent],
    batch: ChangeBatch,
    answered: datetime,
) -> None:
    """One READ_APPLIED record for a read that brought changes made at the calendar, else none.

    A change is an event whose etag differs from the one mirrored (our own writes come back with
    the etag we stored, so they do not count); its start is the provider's `updated` time (Google
    `updated`, Graph `lastModifiedDateTime`). The record carries the oldest of them, so the delay
    is that of the slowest change the read applied. Removals carry no time and are not measured.
    The caller skips a calendar's first read: what it returns was not changed since a read.
    """
    changed = [
        e.updated
        for e in batch.events
        if e.updated is not None
        and e.updated <= answered
        and (e.remote_id not in old_events or old_events[e.remote_id].etag != e.etag)
    ]
    if not changed:
        return
    uow.audit.record(
        AuditEntry(
            answered,
            READ_APPLIED,
            f"{ctx.calendar.name}: {len(changed)} change{'' if len(changed) == 1 else 's'} read",
            account_id=ctx.account.id,
            extra={"calendar": ctx.calendar.id, CHANGED_AT: min(changed).astimezone(UTC).isoformat()},
        )
    )


def _gone_links(
    old_events: dict[str, RemoteEvent], links: dict[str, BookingId], batch: ChangeBatch
) -> dict[BookingId, str]:
    """Linked booking events this batch removes: booking → remote id."""
    return {links[rid]: rid for rid in _vanished(old_events, batch) if rid in links}


def _signature(calendar: Calendar, tech: Technician) -> tuple[object, ...]:
    """Everything besides the events that decides a calendar's busy blocks."""
    return (
        calendar.primary,
        calendar.blocks,
        tech.timezone,
        tech.tentative_blocks,
        tech.calendar_blocking,
    )


def window_day(now: datetime, timezone: str = "UTC") -> date:
    """The day a read window belongs to (the tech's): a new day rolls the window and starts a full read."""
    return now.astimezone(zone(timezone)).date()


def _outside(events: dict[str, RemoteEvent], window: Interval) -> dict[str, RemoteEvent]:
    """Single events (not series, not instances of one) that lie wholly outside `window`."""
    found: dict[str, RemoteEvent] = {}
    for rid, event in events.items():
        if event.recurrence or event.master_remote_id is not None:
            continue
        if not occurrence_interval(event.when).overlaps(window):
            found[rid] = event
    return found


def _vanished(old_events: dict[str, RemoteEvent], batch: ChangeBatch) -> set[str]:
    """Ids of mirrored events this batch removes (or shows cancelled)."""
    cancelled = {e.remote_id for e in batch.events if e.cancelled}
    if batch.full:
        present = {e.remote_id for e in batch.events if not e.cancelled}
        return set(old_events) - present
    return (set(batch.deleted) | cancelled) & set(old_events)


def _as_stored(events: Sequence[RemoteEvent], calendar_id: CalendarId) -> list[RemoteEvent]:
    """A batch's events as the mirror stores them: under this calendar, once each (the last given
    wins, as in `upsert_many`: a page boundary can repeat an event of a changing calendar)."""
    latest: dict[str, RemoteEvent] = {}
    for event in events:
        latest[event.remote_id] = (
            event if event.calendar_id == calendar_id else replace(event, calendar_id=calendar_id)
        )
    return list(latest.values())
