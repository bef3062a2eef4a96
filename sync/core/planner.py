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
from typing import TypeAlias

from app.domain.ids import BookingId, CalendarId
from app.domain.model import REWRITE_BOOKING_VERSION


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
    """The last state both sides confirmed (an EventLink).

    `booking_version` REWRITE_BOOKING_VERSION: no version of the booking is known to match the
    event (a person decided on the tech's version, or the event was adopted from a create), so
    the booking is written over it.
    """

    calendar_id: CalendarId
    remote_id: str
    etag: str | None
    content_hash: str
    booking_version: int

    @property
    def needs_rewrite(self) -> bool:
        return self.booking_version == REWRITE_BOOKING_VERSION


# --- actions: one type per decision, each carrying exactly what carrying it out needs ---------


@dataclass(frozen=True, slots=True)
class CreateEvent:
    """Write the booking's event into `calendar_id`; `content_hash` is what the booking shows."""

    booking_id: BookingId
    calendar_id: CalendarId
    content_hash: str


@dataclass(frozen=True, slots=True)
class UpdateEvent:
    """Overwrite the event with the booking's content, if it still has `etag` (If-Match)."""

    booking_id: BookingId
    calendar_id: CalendarId
    remote_id: str
    etag: str


@dataclass(frozen=True, slots=True)
class DeleteEvent:
    """Remove an event of ours that carries the booking (if it still has `etag`)."""

    booking_id: BookingId
    calendar_id: CalendarId
    remote_id: str
    etag: str


@dataclass(frozen=True, slots=True)
class AdoptEvent:
    """Record the observed event as agreed with `booking_version` (no remote write)."""

    booking_id: BookingId
    calendar_id: CalendarId
    remote_id: str
    etag: str
    content_hash: str
    booking_version: int


@dataclass(frozen=True, slots=True)
class MoveBooking:
    """The tech moved the event: move the booking to `event`'s times.

    The engine then plans the moved booking again, which writes back any text the tech changed
    along with the time.
    """

    booking_id: BookingId
    event: Observed


@dataclass(frozen=True, slots=True)
class FlagEventDeleted:
    """The tech deleted the booking's event: open a conflict, keep the booking."""

    booking_id: BookingId
    calendar_id: CalendarId
    remote_id: str


@dataclass(frozen=True, slots=True)
class FlagEditedBoth:
    """Both sides changed the time: open a conflict showing the tech's `event`, touch nothing."""

    booking_id: BookingId
    event: Observed


@dataclass(frozen=True, slots=True)
class ForgetLink:
    """Both sides agree the event is gone: drop the agreement on it."""

    booking_id: BookingId
    calendar_id: CalendarId
    remote_id: str


Action: TypeAlias = (
    CreateEvent
    | UpdateEvent
    | DeleteEvent
    | AdoptEvent
    | MoveBooking
    | FlagEventDeleted
    | FlagEditedBoth
    | ForgetLink
)
# The actions that write to the provider (the rest only change what Crewboard records).
RemoteWrite: TypeAlias = CreateEvent | UpdateEvent | DeleteEvent
REMOTE_WRITES = (CreateEvent, UpdateEvent, DeleteEvent)
# The actions that wait for a person to decide.
WAITS_FOR_PERSON = (FlagEventDeleted, FlagEditedBoth)


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
        return _plan_event_gone(booking_id, desired, agreed)
    return _plan_both_present(booking_id, desired, observed, agreed)


def _plan_without_agreement(
    booking_id: BookingId, desired: Desired | None, observed: Observed | None
) -> list[Action]:
    if observed is None:
        if desired is not None and desired.calendar_id is not None:
            return [_create(desired, desired.calendar_id)]
        return []
    # An event carrying our booking id exists but we never recorded it: a create whose answer was
    # lost, or a crash before commit. Adopt it rather than create a twin.
    if desired is None or desired.calendar_id is None or desired.calendar_id != observed.calendar_id:
        actions: list[Action] = [_delete(booking_id, observed)]
        if desired is not None and desired.calendar_id is not None:
            actions.append(_create(desired, desired.calendar_id))
        return actions
    actions = [_adopt(booking_id, observed, desired.version)]
    if _differs(desired, observed):
        actions.append(_update(booking_id, observed))
    return actions


def _plan_event_gone(booking_id: BookingId, desired: Desired | None, agreed: Agreed) -> list[Action]:
    forget = ForgetLink(booking_id, agreed.calendar_id, agreed.remote_id)
    if desired is None or desired.calendar_id is None:
        return [forget]  # cancelled or unassigned here, gone there: both sides agree
    if desired.calendar_id != agreed.calendar_id:
        # Reassigned while the old event vanished: nothing to delete, create on the new calendar.
        return [forget, _create(desired, desired.calendar_id)]
    return [FlagEventDeleted(booking_id, agreed.calendar_id, agreed.remote_id), forget]


def _plan_both_present(
    booking_id: BookingId, desired: Desired | None, observed: Observed, agreed: Agreed
) -> list[Action]:
    delete = _delete(booking_id, observed)
    if desired is None or desired.calendar_id is None:
        return [delete]
    if desired.calendar_id != agreed.calendar_id:
        return [delete, _create(desired, desired.calendar_id)]
    local_changed = agreed.needs_rewrite or desired.version != agreed.booking_version
    remote_changed = observed.etag != agreed.etag
    times_differ = (observed.start, observed.end) != (desired.start, desired.end)
    if not remote_changed:
        if local_changed or _differs(desired, observed):
            return [_update(booking_id, observed)]
        return []
    if not local_changed:
        if times_differ:
            return [MoveBooking(booking_id, observed)]
        adopt = _adopt(booking_id, observed, desired.version)
        if observed.content_hash != desired.content_hash:
            # The tech edited the text (title, notes); the booking owns the content: write it back.
            return [adopt, _update(booking_id, observed)]
        return [adopt]
    if times_differ:
        return [FlagEditedBoth(booking_id, observed)]
    # Both changed but the tech's version already has the booking's times: no real disagreement.
    return [_update(booking_id, observed)]


def _differs(desired: Desired, observed: Observed) -> bool:
    """Whether the event shows something other than the booking (times, or text we own)."""
    return observed.content_hash != desired.content_hash or (observed.start, observed.end) != (
        desired.start,
        desired.end,
    )


def _create(desired: Desired, calendar_id: CalendarId) -> CreateEvent:
    return CreateEvent(desired.booking_id, calendar_id, desired.content_hash)


def _update(booking_id: BookingId, observed: Observed) -> UpdateEvent:
    return UpdateEvent(booking_id, observed.calendar_id, observed.remote_id, observed.etag)


def _delete(booking_id: BookingId, observed: Observed) -> DeleteEvent:
    return DeleteEvent(booking_id, observed.calendar_id, observed.remote_id, observed.etag)


def _adopt(booking_id: BookingId, observed: Observed, booking_version: int) -> AdoptEvent:
    return AdoptEvent(
        booking_id,
        observed.calendar_id,
        observed.remote_id,
        observed.etag,
        observed.content_hash,
        booking_version,
    )
