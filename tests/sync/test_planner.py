"""The sync decision table: examples for each rule, and a state machine over random edits and faults.

The state machine plays both sides (dispatcher edits, tech edits and deletions on the phone,
provider faults before and after a write commits, replays of a run) and executes the planner's
actions the way the engine does. Its invariant: after faults stop, conflicts are decided and sync
runs clean, every live booking has exactly one event, in the right calendar, at the booking's
time; cancelled bookings have none; nothing is doubled and no booking is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import assert_never

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.domain.ids import BookingId, CalendarId
from app.domain.model import REWRITE_BOOKING_VERSION
from sync.core.guard import MassDeleteGuard
from sync.core.planner import (
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

T0 = datetime(2026, 11, 2, 15, tzinfo=UTC)
B = BookingId("b1")
CAL_A, CAL_B = CalendarId("cal-a"), CalendarId("cal-b")


def desired(
    version: int = 1, calendar: CalendarId | None = CAL_A, hours: int = 0, text: str = "h"
) -> Desired:
    start = T0 + timedelta(hours=hours)
    return Desired(B, version, calendar, start, start + timedelta(hours=1), text)


def observed(etag: str = "e1", calendar: CalendarId = CAL_A, hours: int = 0, text: str = "h") -> Observed:
    start = T0 + timedelta(hours=hours)
    return Observed(calendar, "r1", etag, start, start + timedelta(hours=1), text)


def agreed(etag: str = "e1", version: int = 1, calendar: CalendarId = CAL_A) -> Agreed:
    return Agreed(calendar, "r1", etag, "h", version)


def kinds(actions: list[Action]) -> list[type[Action]]:
    return [type(a) for a in actions]


@pytest.mark.parametrize(
    ("d", "o", "a", "expected"),
    [
        (desired(), None, None, [CreateEvent]),
        (None, None, None, []),
        (desired(), observed(), None, [AdoptEvent]),  # a create whose answer was lost
        (desired(text="new"), observed(), None, [AdoptEvent, UpdateEvent]),
        (None, observed(), None, [DeleteEvent]),
        (desired(calendar=CAL_B), observed(), None, [DeleteEvent, CreateEvent]),
        (desired(), observed(), agreed(), []),
        (desired(version=2, hours=1), observed(), agreed(), [UpdateEvent]),  # dispatcher moved it
        (desired(), observed(etag="e2", hours=2), agreed(), [MoveBooking]),  # tech moved it
        (desired(), observed(etag="e2"), agreed(), [AdoptEvent]),  # tech touched nothing we own
        (desired(), observed(etag="e2", text="renamed"), agreed(), [AdoptEvent, UpdateEvent]),
        (desired(version=2, hours=1), observed(etag="e2", hours=2), agreed(), [FlagEditedBoth]),
        (desired(version=2, hours=2), observed(etag="e2", hours=2), agreed(), [UpdateEvent]),
        (desired(), None, agreed(), [FlagEventDeleted, ForgetLink]),  # tech deleted the job event
        (None, None, agreed(), [ForgetLink]),
        (None, observed(), agreed(), [DeleteEvent]),  # cancelled
        (desired(calendar=None), observed(), agreed(), [DeleteEvent]),  # unassigned
        (desired(version=2, calendar=CAL_B), observed(), agreed(), [DeleteEvent, CreateEvent]),  # reassigned
        (desired(version=2, calendar=CAL_B), None, agreed(), [ForgetLink, CreateEvent]),
    ],
)
def test_decision_table(
    d: Desired | None, o: Observed | None, a: Agreed | None, expected: list[type[Action]]
) -> None:
    assert kinds(plan(B, d, o, a)) == expected


def test_mass_delete_guard() -> None:
    guard = MassDeleteGuard(max_share=0.5, min_count=5)
    assert guard.allows(4, 4)  # few deletions are normal work
    assert guard.allows(5, 20)
    assert not guard.allows(12, 20)


def test_mass_delete_guard_empty_read() -> None:
    guard = MassDeleteGuard(max_share=0.5, min_count=5)
    assert guard.allows_empty(4)  # a calendar with few events may well be emptied
    assert not guard.allows_empty(5)
    where = "Work (tech@example.com)"
    refused = guard.refusal(where, read_empty=True, known=10, linked=0, destructive=0)
    assert refused is not None and "read back empty while 10 events were known" in refused
    refused = guard.refusal(where, read_empty=False, known=20, linked=20, destructive=12)
    assert refused is not None and "would lose 12 of its 20 job events" in refused
    assert guard.refusal(where, read_empty=True, known=4, linked=4, destructive=4) is None


# --- the state machine ---------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    version: int
    live: bool
    calendar: CalendarId | None
    hour: int
    text: str


@dataclass(frozen=True)
class Event:
    booking_id: BookingId
    hour: int
    text: str
    etag: int


class Provider:
    """A calendar service holding events per (calendar, id), with idempotent creates and If-Match."""

    def __init__(self) -> None:
        self.events: dict[tuple[CalendarId, str], Event] = {}
        self.fail_next = 0  # writes that fail before they happen
        self.drop_next = 0  # writes that happen but whose answer is lost
        self.etags = 0

    def _fault(self) -> bool:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("provider down")
        if self.drop_next:
            self.drop_next -= 1
            return True
        return False

    def _etag(self) -> int:
        self.etags += 1
        return self.etags

    def create(self, calendar: CalendarId, booking_id: BookingId, hour: int, text: str) -> Event:
        dropped = self._fault()
        key = (calendar, f"cb{booking_id}")  # client-chosen id: a retry finds the first create
        if key not in self.events:
            self.events[key] = Event(booking_id, hour, text, self._etag())
        if dropped:
            raise ConnectionError("answer lost")
        return self.events[key]

    def update(self, calendar: CalendarId, remote_id: str, etag: int, hour: int, text: str) -> Event | None:
        dropped = self._fault()
        current = self.events.get((calendar, remote_id))
        if current is None or current.etag != etag:
            return None  # 412 or gone: re-read and re-plan next round
        self.events[(calendar, remote_id)] = replace(current, hour=hour, text=text, etag=self._etag())
        if dropped:
            raise ConnectionError("answer lost")
        return self.events[(calendar, remote_id)]

    def delete(self, calendar: CalendarId, remote_id: str) -> None:
        dropped = self._fault()
        self.events.pop((calendar, remote_id), None)
        if dropped:
            raise ConnectionError("answer lost")

    def find(self, booking_id: BookingId) -> list[tuple[CalendarId, str, Event]]:
        return [(c, r, e) for (c, r), e in self.events.items() if e.booking_id == booking_id]


def _start(hour: int) -> datetime:
    return T0 + timedelta(hours=hour)


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.bookings: dict[BookingId, Booking] = {}
        self.provider = Provider()
        self.links: dict[BookingId, Agreed] = {}
        self.conflicts: set[BookingId] = set()
        # As in the engine, only bookings with a due outbox row are planned: the dispatcher's
        # changes queue them, and so does a read that sees the tech change or delete their event.
        self.queued: set[BookingId] = set()
        self.count = 0

    # dispatcher side
    @rule(calendar=st.sampled_from([CAL_A, CAL_B]), hour=st.integers(0, 8))
    def book(self, calendar: CalendarId, hour: int) -> None:
        self.count += 1
        bid = BookingId(f"b{self.count}")
        self.bookings[bid] = Booking(1, True, calendar, hour, "job")
        self.queued.add(bid)

    @precondition(lambda self: self.bookings)
    @rule(data=st.data(), hour=st.integers(0, 8))
    def move(self, data: st.DataObject, hour: int) -> None:
        bid = data.draw(st.sampled_from(sorted(self.bookings)))
        b = self.bookings[bid]
        if b.live:
            self.bookings[bid] = replace(b, hour=hour, version=b.version + 1)
            self.queued.add(bid)

    @precondition(lambda self: self.bookings)
    @rule(data=st.data(), calendar=st.sampled_from([CAL_A, CAL_B, None]))
    def reassign(self, data: st.DataObject, calendar: CalendarId | None) -> None:
        bid = data.draw(st.sampled_from(sorted(self.bookings)))
        b = self.bookings[bid]
        if b.live:
            self.bookings[bid] = replace(b, calendar=calendar, version=b.version + 1)
            self.queued.add(bid)

    @precondition(lambda self: self.bookings)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        bid = data.draw(st.sampled_from(sorted(self.bookings)))
        b = self.bookings[bid]
        self.bookings[bid] = replace(b, live=False, version=b.version + 1)
        self.queued.add(bid)

    # the tech's phone
    @precondition(lambda self: self.provider.events)
    @rule(data=st.data(), hour=st.integers(0, 8), rename=st.booleans())
    def tech_edits(self, data: st.DataObject, hour: int, rename: bool) -> None:
        key = data.draw(st.sampled_from(sorted(self.provider.events)))
        event = self.provider.events[key]
        self.provider.events[key] = replace(
            event, hour=hour, text="renamed" if rename else event.text, etag=self.provider._etag()
        )

    @precondition(lambda self: self.provider.events)
    @rule(data=st.data())
    def tech_deletes(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.provider.events)))
        del self.provider.events[key]

    # faults
    @rule(n=st.integers(1, 3))
    def outage(self, n: int) -> None:
        self.provider.fail_next += n

    @rule(n=st.integers(1, 2))
    def lost_answers(self, n: int) -> None:
        self.provider.drop_next += n

    # the engine
    @rule()
    def sync(self) -> None:
        self._run()

    @rule()
    def dispatcher_decides(self) -> None:
        """Every open conflict is decided with "keep the booking": its event is written again."""
        for bid in sorted(self.conflicts):
            link = self.links.get(bid)
            seen = self._observed(bid)
            if link is not None:
                # Keeping the booking means: the tech's version is now known (its etag agreed) and the
                # booking differs from what was agreed, so the next run writes the booking over it.
                etag = seen.etag if seen is not None else link.etag
                self.links[bid] = replace(link, etag=etag, booking_version=REWRITE_BOOKING_VERSION)
            self.queued.add(bid)
        self.conflicts.clear()

    def _observed(self, bid: BookingId) -> Observed | None:
        found = self.provider.find(bid)
        link = self.links.get(bid)
        if link is not None:
            found = [f for f in found if (f[0], f[1]) == (link.calendar_id, link.remote_id)] or found
        if not found:
            return None
        calendar, remote_id, event = found[0]
        start = _start(event.hour)
        return Observed(calendar, remote_id, str(event.etag), start, start + timedelta(hours=1), event.text)

    def _read(self) -> None:
        """The inbound read: an event that is not the one last agreed, or an agreed one gone, queues its booking."""
        for (calendar, remote_id), event in self.provider.events.items():
            link = self.links.get(event.booking_id)
            if link is None or (link.calendar_id, link.remote_id, link.etag) != (
                calendar,
                remote_id,
                str(event.etag),
            ):
                self.queued.add(event.booking_id)
        for bid, link in self.links.items():
            if (link.calendar_id, link.remote_id) not in self.provider.events:
                self.queued.add(bid)

    def _run(self) -> None:
        self._read()
        for bid in sorted(self.queued):
            if bid in self.conflicts:
                continue  # a person decides first
            b = self.bookings.get(bid)
            d = None
            if b is not None and b.live:
                start = _start(b.hour)
                d = Desired(bid, b.version, b.calendar, start, start + timedelta(hours=1), b.text)
            try:
                replan = False
                for action in plan(bid, d, self._observed(bid), self.links.get(bid)):
                    if not self._execute(action, d):
                        break  # 412 or gone: the row stays and the next run re-reads and replans
                    replan |= isinstance(action, MoveBooking)
                else:
                    if not replan:  # the engine queues one more pass after moving the booking
                        self.queued.discard(bid)
            except ConnectionError:
                continue  # nothing recorded: the row stays and the next run plans the same work again

    def _execute(self, action: Action, d: Desired | None) -> bool:
        bid = action.booking_id
        match action:
            case CreateEvent():
                assert d is not None
                event = self.provider.create(action.calendar_id, bid, d.start.hour - T0.hour, d.content_hash)
                self.links[bid] = Agreed(
                    action.calendar_id, f"cb{bid}", str(event.etag), d.content_hash, d.version
                )
            case UpdateEvent():
                assert d is not None
                event_or_none = self.provider.update(
                    action.calendar_id,
                    action.remote_id,
                    int(action.etag),
                    d.start.hour - T0.hour,
                    d.content_hash,
                )
                if event_or_none is None:
                    return False
                self.links[bid] = Agreed(
                    action.calendar_id, action.remote_id, str(event_or_none.etag), d.content_hash, d.version
                )
            case DeleteEvent():
                self.provider.delete(action.calendar_id, action.remote_id)
                self.links.pop(bid, None)
            case AdoptEvent():
                assert d is not None
                self.links[bid] = Agreed(
                    action.calendar_id, action.remote_id, action.etag, d.content_hash, d.version
                )
            case MoveBooking(event=seen):
                event = self.provider.events[(seen.calendar_id, seen.remote_id)]
                b = self.bookings[bid]
                self.bookings[bid] = replace(b, hour=event.hour, version=b.version + 1)
                self.links[bid] = Agreed(
                    seen.calendar_id, seen.remote_id, str(event.etag), event.text, b.version + 1
                )
            case FlagEventDeleted() | FlagEditedBoth():
                self.conflicts.add(bid)
            case ForgetLink():
                self.links.pop(bid, None)
            case _:
                assert_never(action)
        return True

    @invariant()
    def nothing_doubled(self) -> None:
        for bid in self.bookings:
            assert len(self.provider.find(bid)) <= 2  # at most old + new calendar mid-reassign

    def teardown(self) -> None:
        # Faults stop, people decide, sync settles: both sides must agree exactly.
        self.provider.fail_next = self.provider.drop_next = 0
        for _ in range(3):
            self.dispatcher_decides()
            self._run()
        for bid, b in self.bookings.items():
            events = self.provider.find(bid)
            if b.live and b.calendar is not None:
                assert len(events) == 1, (bid, b, events)
                calendar, _, event = events[0]
                assert calendar == b.calendar
                assert event.hour == b.hour
                assert event.text == b.text
            else:
                assert events == [], (bid, b, events)
        assert {e.booking_id for e in self.provider.events.values()} <= set(self.bookings)


SyncMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_sync_state_machine = SyncMachine.TestCase
