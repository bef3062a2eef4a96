"""What the planner's answers to the tech's own edits do on the board.

The tech moved the job's event: the booking follows, as if the dispatcher had moved it. The tech
deleted it, or moved it while the board changed the booking too: a conflict opens for a person to
decide, and the tech and dispatcher hear of it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.bus import BookingChanged
from app.domain.ids import BookingId, CalendarId
from app.domain.model import AuditEntry, ConflictKind, EventLink
from app.services.ports import UnitOfWork
from app.services.sync_queue import changed_row
from sync.core.planner import Observed
from sync.engine.alerts import Alerts, open_conflict, tell_tech_and_dispatcher
from sync.engine.booking_state import BookingSnapshot, Replan
from sync.engine.write_records import Effect


def move_booking(
    snap: BookingSnapshot, observed: Observed, changed: list[BookingChanged], now: datetime
) -> Effect:
    """The tech moved the job's event: the booking follows, as if the dispatcher had moved it."""
    assert snap.booking is not None and snap.desired is not None
    expected_version = snap.booking.version

    def move(uow: UnitOfWork) -> None:
        booking = uow.bookings.get(snap.booking.id if snap.booking else BookingId(""))
        if booking is None or booking.version != expected_version:
            raise Replan()
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
        changed.append(BookingChanged(booking.id, tech_ids, "moved"))

    return move


def flag_conflict(
    snap: BookingSnapshot,
    calendar_id: CalendarId,
    remote_id: str,
    moved_to: Observed | None,
    alerts_out: Alerts,
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
        alerts_out.extend(alerts)

    return flag
