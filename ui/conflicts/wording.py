"""A conflict said in words: the card's lines, the tooltip and the dialogs' headings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from app.domain.model import ConflictKind, Resolution, Technician
from app.domain.time import Interval, zone
from app.services.sync_outcomes import ConflictView
from ui.format import ago, clock_range, day_text

KIND_LABELS = {
    ConflictKind.OVERLAP: "Calendar clash",
    ConflictKind.EDITED_BOTH: "Changed on both sides",
    ConflictKind.EVENT_DELETED: "Deleted by the tech",
}
RESOLUTION_VERBS = {
    Resolution.KEEP: "Kept as booked",
    Resolution.RESCHEDULE: "Rescheduled",
    Resolution.REASSIGN: "Reassigned",
    Resolution.CANCELLED: "Job cancelled",
}


@dataclass(frozen=True, slots=True)
class ConflictText:
    """A conflict said in words: what each side of the card shows."""

    title: str
    kind: str
    job_label: str
    job: str
    other_label: str
    other: str
    noticed: str
    outcome: str  # for resolved conflicts: how, by whom, when; "" while open
    detail: str


def _tz_of(tech: Technician | None, office: tzinfo, at: datetime) -> tuple[tzinfo, str]:
    """The tech's zone (their calendar's clock) and a note when it is not office time at `at`."""
    if tech is None:
        return office, ""
    tz = zone(tech.timezone)
    if at.astimezone(tz).utcoffset() == at.astimezone(office).utcoffset():
        return tz, ""
    return tz, f" ({tech.timezone.rsplit('/', 1)[-1].replace('_', ' ')} time)"


def _span_text(start: datetime | None, end: datetime | None, tz: tzinfo, day_of: date | None) -> str:
    if start is None or end is None:
        return ""
    span = Interval(start, end)
    same_day = day_of is not None and start.astimezone(tz).date() == day_of
    return clock_range(span, tz, with_day=not same_day)


def describe_conflict(view: ConflictView, office: tzinfo, now: datetime) -> ConflictText:
    conflict, booking = view.conflict, view.booking
    tech = view.booking_tech or view.tech
    tz, zone_note = _tz_of(tech, office, booking.start if booking and booking.start else now)
    customer = view.customer.name if view.customer else "A customer"
    title = f"{customer} · {booking.service}" if booking else "A booking that no longer exists"
    who = tech.name if tech else "Unassigned"
    job_day = booking.start.astimezone(tz).date() if booking and booking.start else None
    if booking is not None and booking.interval is not None:
        job = f"{clock_range(booking.interval, tz, with_day=True)}{zone_note} · {who}"
    else:
        job = f"Not scheduled · {who}"
    calendar = f" in {view.calendar_name}" if view.calendar_name else ""
    if conflict.kind is ConflictKind.OVERLAP:
        job_label, other_label = "Job", "Their calendar"
        name = f"“{conflict.other_title}”" if conflict.other_title else "Private event"
        when = _span_text(conflict.other_start, conflict.other_end, tz, job_day)
        other = f"{name}, {when}" if when else name
        other += calendar
    elif conflict.kind is ConflictKind.EDITED_BOTH:
        job_label, other_label = "Board time", "Tech's time"
        when = _span_text(conflict.other_start, conflict.other_end, tz, None)
        other = f"{when}{zone_note}" if when else "Changed in their calendar"
    else:
        job_label, other_label = "Job", "Their calendar"
        other = "The tech deleted this job from their calendar"
    outcome = ""
    if conflict.resolution is not None:
        by = conflict.resolved_by or "someone"
        at = conflict.resolved_at
        when_text = f" · {day_text(at.astimezone(office))} {at.astimezone(office):%H:%M}" if at else ""
        outcome = f"{RESOLUTION_VERBS[conflict.resolution]} by {by}{when_text}"
    return ConflictText(
        title=title,
        kind=KIND_LABELS[conflict.kind],
        job_label=job_label,
        job=job,
        other_label=other_label,
        other=other,
        noticed=f"Noticed {ago(conflict.opened_at, now)}",
        outcome=outcome,
        detail=conflict.detail,
    )
