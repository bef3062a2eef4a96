"""How bookings and mirrored events look to the planner: Desired, Observed, and their hashes.

Both sides hash the same three things a technician can change on a booking's event (start, end,
title) with sync.providers.content.booking_content_hash, so "the hashes differ" means "someone
changed what we own". Times are compared to the whole second, as the providers store them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.ids import CalendarId
from app.domain.model import Booking, Customer, EventTime, RemoteEvent, ShowAs, Technician
from app.domain.time import ensure_utc, local_midnight, zone
from sync.core.planner import Desired, Observed
from sync.engine.event_extras import EventExtras
from sync.providers.content import booking_content_hash, booking_title, writable_span
from sync.providers.protocol import BookingEventContent


def event_hash(title: str | None, start: datetime, end: datetime) -> str:
    payload = {
        "summary": title or "",
        "start": {"dateTime": ensure_utc(start).isoformat()},
        "end": {"dateTime": ensure_utc(end).isoformat()},
    }
    return booking_content_hash(payload)


def booking_span(booking: Booking) -> tuple[datetime, datetime]:
    """The booking's span in UTC, to the whole second (what a calendar event can hold)."""
    start, end = writable_span(booking)
    return (
        ensure_utc(start).replace(microsecond=0),
        ensure_utc(end).replace(microsecond=0),
    )


def desired(booking: Booking, customer: Customer | None, calendar_id: CalendarId | None) -> Desired | None:
    """What the booking wants on a calendar; None when it wants no event at all."""
    if not booking.is_live or booking.start is None or customer is None:
        return None
    start, end = booking_span(booking)
    title = booking_title(booking, customer)
    return Desired(booking.id, booking.version, calendar_id, start, end, event_hash(title, start, end))


def event_span(event: RemoteEvent, timezone: str) -> tuple[datetime, datetime]:
    """An event's span in UTC; all-day events cover the tech's own local days."""
    when = event.when
    if when.start_date is not None and when.end_date is not None:
        tz = zone(timezone)
        return local_midnight(when.start_date, tz), local_midnight(when.end_date, tz)
    assert when.start is not None and when.end is not None
    return ensure_utc(when.start), ensure_utc(when.end)


def observed(event: RemoteEvent, timezone: str) -> Observed:
    start, end = event_span(event, timezone)
    return Observed(
        event.calendar_id, event.remote_id, event.etag, start, end, event_hash(event.title, start, end)
    )


def content(
    booking: Booking,
    customer: Customer,
    tech: Technician,
    owner_key: bytes,
    extras: EventExtras | None = None,
) -> BookingEventContent:
    """What the booking's event shows, with the store's key the adapter tags and verifies it by.

    `extras` says where the tech's job page is served (a link naming this tech) or the office's
    number, and whether the tech's Outlook events carry the Crewboard category.
    """
    extras = extras or EventExtras(None, frozenset())
    setup = extras.links
    return BookingEventContent(
        booking=booking,
        customer=customer,
        tech=tech,
        link=(setup.url_for(booking, tech) or "") if setup is not None else "",
        office_phone=setup.office_phone if setup is not None else "",
        category=extras.category if tech.id in extras.coloured else None,
        drop_category=tech.id in extras.uncoloured,
        owner_key=owner_key,
    )


def written_mirror(
    calendar_id: CalendarId,
    remote_id: str,
    etag: str,
    booking: Booking,
    customer: Customer,
    tech: Technician,
    now: datetime,
) -> RemoteEvent:
    """The mirror entry of an event we just wrote, so the next plan sees what the provider holds."""
    start, end = booking_span(booking)
    return RemoteEvent(
        calendar_id=calendar_id,
        remote_id=remote_id,
        etag=etag,
        when=EventTime(start=start, end=end, timezone=tech.timezone),
        show_as=ShowAs.BUSY,
        title=booking_title(booking, customer),
        booking_id=booking.id,
        updated=now.astimezone(UTC),
    )
