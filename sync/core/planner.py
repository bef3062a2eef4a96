"""The sync decision table: last agreed state + both sides now → the actions that reconcile them.

Pure and total, in the style of vdirsyncer: for every booking the planner sees what the
dispatcher wants (`Desired`), what the tech's calendar holds (`Observed`) and what both sides last
agreed on (`Agreed`), and answers with actions. It never performs I/O; the engine executes the
actions and commits the new agreed state only when the provider confirmed them, so a crash or a
failed request leaves the old agreement in place and the next run plans the same work again.

Rules that matter to the business (DESIGN.md "The two directions"):
- the dispatcher's booking is the truth for content; a tech's change of *time* moves the booking;
- a booking edited on both sides since the last agreement is a conflict, decided by a person;
- a booking event deleted by the tech never cancels the booking: it is flagged for the dispatcher;
- nothing is created twice: a missing agreement with an event already carrying the booking id
  adopts that event instead of creating another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app.domain.ids import BookingId, CalendarId


@dataclass(frozen=True, slots=True)
class Desired:
    """What the booking says its calendar event should be. `calendar_id` None: no event wanted."""

    booking_id: BookingId
    version: int
    calendar_id: CalendarId | None
    start: datetime
    end: datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class Observed:
    """The booking's event as the provider holds it now."""

    calendar_id: CalendarId
    remote_id: str
    etag: str
    start: datetime
    end: datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class Agreed:
    """The last state both sides confirmed (an EventLink)."""

    calendar_id: CalendarId
    remote_id: str
    etag: str | None
    content_hash: str
    booking_version: int


class Kind(Enum):
    CREATE = "create"  # write the event into desired.calendar_id
    UPDATE = "update"  # overwrite the event with the booking's content (If-Match agreed etag)
    DELETE = "delete"  # remove the event we created
    ADOPT = "adopt"  # record the observed event as agreed (no remote write)
    # The tech moved the event: move the booking to the observed times. The engine then plans the
    # moved booking again, which writes back any text the tech changed along with the time.
    MOVE_BOOKING = "move_booking"
    FLAG_DELETED = "flag_deleted"  # the tech deleted the event: open a conflict, keep the booking
    CONFLICT = "conflict"  # both sides changed the time: open a conflict, touch nothing
    FORGET = "forget"  # both sides agree the event is gone: drop the agreement


@dataclass(frozen=True, slots=True)
class Action:
    kind: Kind
    booking_id: BookingId
    calendar_id: CalendarId | None = None
    remote_id: str | None = None
    etag: str | None = None


def plan(
    booking_id: BookingId, desired: Desired | None, observed: Observed | None, agreed: Agreed | None
) -> list[Action]:
    """The actions that bring one booking and its event into agreement.

    `desired` None means the booking is cancelled or gone; `observed` None means the calendar has
    no event for it (never had one, or it was deleted there).
    """
    if agreed is None:
        return _plan_without_agreement(booking_id, desired, observed)
    if observed is None or observed.remote_id != agreed.remote_id:
        return _plan_event_gone(booking_id, desired, agreed, observed)
    return _plan_both_present(booking_id, desired, observed, agreed)


def _plan_without_agreement(
    booking_id: BookingId, desired: Desired | None, observed: Observed | None
) -> list[Action]:
    wants_event = desired is not None and desired.calendar_id is not None
    if observed is None:
        if wants_event:
            assert desired is not None
            return [Action(Kind.CREATE, booking_id, desired.calendar_id)]
        return []
    # An event carrying our booking id exists but we never recorded it: a create whose answer was
    # lost, or a crash before commit. Adopt it rather than create a twin.
    if not wants_event or (desired is not None and desired.calendar_id != observed.calendar_id):
        actions = [_delete(booking_id, observed.calendar_id, observed.remote_id, observed.etag)]
        if wants_event and desired is not None:
            actions.append(Action(Kind.CREATE, booking_id, desired.calendar_id))
        return actions
    assert desired is not None
    actions = [Action(Kind.ADOPT, booking_id, observed.calendar_id, observed.remote_id, observed.etag)]
    if _differs(desired, observed):
        actions.append(_update(booking_id, observed.calendar_id, observed.remote_id, observed.etag))
    return actions


def _plan_event_gone(
    booking_id: BookingId, desired: Desired | None, agreed: Agreed, observed: Observed | None
) -> list[Action]:
    forget = Action(Kind.FORGET, booking_id, agreed.calendar_id, agreed.remote_id)
    if desired is None or desired.calendar_id is None:
        return [forget]  # cancelled or unassigned here, gone there: both sides agree
    if desired.calendar_id != agreed.calendar_id:
        # Reassigned while the old event vanished: nothing to delete, create on the new calendar.
        return [forget, Action(Kind.CREATE, booking_id, desired.calendar_id)]
    return [Action(Kind.FLAG_DELETED, booking_id, agreed.calendar_id, agreed.remote_id), forget]


def _plan_both_present(
    booking_id: BookingId, desired: Desired | None, observed: Observed, agreed: Agreed
) -> list[Action]:
    delete = _delete(booking_id, observed.calendar_id, observed.remote_id, observed.etag)
    if desired is None or desired.calendar_id is None:
        return [delete]
    if desired.calendar_id != agreed.calendar_id:
        return [delete, Action(Kind.CREATE, booking_id, desired.calendar_id)]
    local_changed = desired.version != agreed.booking_version
    remote_changed = observed.etag != agreed.etag
    times_differ = (observed.start, observed.end) != (desired.start, desired.end)
    if not remote_changed:
        if local_changed or _differs(desired, observed):
            return [_update(booking_id, observed.calendar_id, observed.remote_id, observed.etag)]
        return []
    if not local_changed:
        if times_differ:
            return [
                Action(Kind.MOVE_BOOKING, booking_id, observed.calendar_id, observed.remote_id, observed.etag)
            ]
        adopt = Action(Kind.ADOPT, booking_id, observed.calendar_id, observed.remote_id, observed.etag)
        if observed.content_hash != desired.content_hash:
            # The tech edited the text (title, notes); the booking owns the content: write it back.
            return [adopt, _update(booking_id, observed.calendar_id, observed.remote_id, observed.etag)]
        return [adopt]
    if times_differ:
        return [Action(Kind.CONFLICT, booking_id, observed.calendar_id, observed.remote_id, observed.etag)]
    # Both changed but the tech's version already has the booking's times: no real disagreement.
    return [_update(booking_id, observed.calendar_id, observed.remote_id, observed.etag)]


def _differs(desired: Desired, observed: Observed) -> bool:
    """Whether the event shows something other than the booking (times, or text we own)."""
    return observed.content_hash != desired.content_hash or (observed.start, observed.end) != (
        desired.start,
        desired.end,
    )


def _update(booking_id: BookingId, calendar_id: CalendarId, remote_id: str, etag: str) -> Action:
    return Action(Kind.UPDATE, booking_id, calendar_id, remote_id, etag)


def _delete(booking_id: BookingId, calendar_id: CalendarId, remote_id: str, etag: str) -> Action:
    return Action(Kind.DELETE, booking_id, calendar_id, remote_id, etag)


class MassDeleteGuard:
    """Refuses a run that would delete or flag a large share of a calendar's booking events at once.

    A calendar that suddenly reads back empty (a wrong account, an ACL change, a provider bug)
    must not turn into dozens of "the tech deleted your job" alarms or a wiped calendar.
    """

    def __init__(self, max_share: float = 0.5, min_count: int = 5) -> None:
        self.max_share = max_share
        self.min_count = min_count

    def allows(self, destructive: int, linked: int) -> bool:
        if destructive < self.min_count:
            return True
        return linked == 0 or destructive / linked <= self.max_share
