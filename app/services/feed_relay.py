"""Other programs' changes, told on this program's bus as if they had been made here.

Screens already refresh from bus events (the Qt bridge turns them into signals), so a desk's
board, conflicts panel and health panel stay live when another desk or the office service
commits, with no screen knowing where a change came from. Entries this program wrote itself are
skipped: its own use cases announced them when they committed.

A desk asleep longer than the feed is kept (about a day) cannot know what changed meanwhile; the
relay then tells every screen that everything may have (`everything_changed`), and each re-reads
what it shows, as it does at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from app.bus import (
    AccountsChanged,
    BookingChanged,
    Bus,
    BusyChanged,
    ConflictChanged,
    Event,
    HealthChanged,
    NotificationAdded,
    TechsChanged,
)
from app.domain.changes import Change, ChangeKind
from app.domain.ids import AccountId, BookingId, CalendarId, ConflictId, NotificationId, TechId
from app.domain.model import ConflictStatus
from app.errors import StorageError
from app.services.change_feed import ChangeFeedListener, ChangeFeedStore, FollowTiming, Missed
from app.services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

ELSEWHERE = "elsewhere"  # BookingChanged.kind for a change another program made


class FeedRelay:
    def __init__(
        self,
        store: ChangeFeedStore,
        uow_factory: UnitOfWorkFactory,
        bus: Bus,
        timing: FollowTiming | None = None,
        on_connection: Callable[[StorageError | None], None] | None = None,
    ) -> None:
        self._store = store
        self._uow = uow_factory
        self._bus = bus
        self._listener = ChangeFeedListener(store, timing, on_connection)

    async def run(self, since: int | None = None) -> None:
        """Relay every entry after `since` (default: from now) until cancelled."""
        follower = self._listener.follow(since, skip_missed=True)
        try:
            async for batch in follower:
                if isinstance(batch, Missed):
                    events = await asyncio.to_thread(self.everything_changed)
                else:
                    events = await asyncio.to_thread(self.events_for, batch)
                for event in events:
                    self._bus.publish(event)
        except Exception:
            # A bug, not an outage (the listener rides those out): say so, or screens go stale unseen.
            log.exception("the change feed relay stopped; other desks' changes no longer show live")
            raise
        finally:
            await follower.aclose()

    def events_for(self, batch: Sequence[Change]) -> list[Event]:
        """The bus events that tell what `batch` changed, each once; a blocking read for some kinds."""
        changes = list(
            dict.fromkeys(
                (change.kind, change.item_id) for change in batch if not self._store.written_here(change.seq)
            )
        )
        if not changes:
            return []
        events = [
            event for kind, item_id in changes if kind not in READ_FIRST for event in _told(kind, item_id)
        ]
        needs_reading = [(kind, item_id) for kind, item_id in changes if kind in READ_FIRST]
        if needs_reading:  # a snapshot only when an event needs more than the entry says
            with self._uow(read_only=True) as uow:
                events += [event for kind, item_id in needs_reading for event in _read(uow, kind, item_id)]
        return list(dict.fromkeys(events))

    def everything_changed(self) -> list[Event]:
        """The events after which every screen re-reads all it shows (a blocking read).

        TechsChanged and BusyChanged naming no tech mean "any tech": the board reads everything
        again (jobs on no tech too), as do the conflicts panel and a tech's settings. The health
        panel reloads on AccountsChanged (told for every tech with a calendar; not HealthChanged
        per account, which the board would match against every row it shows, thousands of times
        at 1,000 techs), the inbox on NotificationAdded (told for the newest alert).
        """
        with self._uow(read_only=True) as uow:
            accounts = uow.accounts.list()
            newest = uow.notifications.list(limit=1)
        events: list[Event] = [TechsChanged(()), BusyChanged(())]
        events += [AccountsChanged(tech_id) for tech_id in dict.fromkeys(a.tech_id for a in accounts)]
        events += [NotificationAdded(notification.id) for notification in newest]
        return events


# Kinds whose event carries more than the entry's id (a conflict's booking, an account's tech).
READ_FIRST = frozenset({ChangeKind.CONFLICT, ChangeKind.ACCOUNT, ChangeKind.CALENDAR})


def _told(kind: ChangeKind, item_id: str) -> list[Event]:
    if kind is ChangeKind.BOOKING:
        return [BookingChanged(BookingId(item_id), (), ELSEWHERE)]
    if kind is ChangeKind.TECH:
        return [TechsChanged((TechId(item_id),))]
    if kind is ChangeKind.BUSY:
        return [BusyChanged((TechId(item_id),))]
    if kind is ChangeKind.HEALTH:
        return [HealthChanged(AccountId(item_id))]
    if kind is ChangeKind.ALERT:
        return [NotificationAdded(NotificationId(item_id))]
    # CUSTOMER travels with the booking that changed it; OUTBOX, SETTINGS and SERVICE_TYPE are the
    # office service's business (it follows the feed itself); no desk screen shows them alone.
    return []


def _read(uow: UnitOfWork, kind: ChangeKind, item_id: str) -> list[Event]:
    if kind is ChangeKind.CONFLICT:
        conflict = uow.conflicts.get(ConflictId(item_id))
        if conflict is None:
            return []  # gone with its booking: the booking's own entry tells that
        return [ConflictChanged(conflict.id, conflict.booking_id, conflict.status is ConflictStatus.OPEN)]
    if kind is ChangeKind.ACCOUNT:
        account = uow.accounts.get(AccountId(item_id))
        return [AccountsChanged(account.tech_id)] if account else []
    calendar = uow.calendars.get(CalendarId(item_id))
    owner = uow.accounts.get(calendar.account_id) if calendar else None
    return [AccountsChanged(owner.tech_id)] if owner else []
