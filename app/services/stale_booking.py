"""Two people, one job: refusing a save made over a booking that changed since it was read.

Every booking carries a version, raised by each change. A screen or a command that read version
n sends n with its edit; when the stored booking is no longer at n, somebody else (another desk,
the tech's calendar through the office service) changed it meanwhile, and saving would silently
throw their change away. The refusal names what changed, where and when, from the audit log:
"The Harbor Dental job was moved to 14:00 on Tue 3 Nov at front-desk 20 s ago, after you opened
it; reload it and make your change again."
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain.ids import BookingId
from app.domain.model import AuditEntry, Booking
from app.domain.time import zone
from app.errors import Outdated
from app.office import office_zone_name
from app.services.ports import UnitOfWork

# The audit actions that change a booking, and how the sentence says so (see `_what`).
MOVED = ("booking.moved", "booking.moved_by_tech", "booking.undone.moved")


class StaleBooking(Outdated):
    """A save over a version of the booking that is no longer current; the editor offers to reload."""

    def __init__(self, message: str, booking_id: BookingId, current: Booking) -> None:
        super().__init__(message)
        self.booking_id = booking_id
        self.current = current


def refuse_stale(uow: UnitOfWork, current: Booking, expected_version: int | None, now: datetime) -> None:
    """Raise StaleBooking when `expected_version` is given and the stored booking moved past it."""
    if expected_version is None or current.version == expected_version:
        return
    customer = uow.customers.get(current.customer_id)
    job = f"The {customer.name} job" if customer else "This job"
    latest = next((e for e in uow.audit.for_booking(current.id) if _changes_the_booking(e)), None)
    if latest is None:
        sentence = f"{job} was changed after you opened it; reload it and make your change again."
    else:
        tech = uow.techs.get(current.tech_id) if current.tech_id else None
        tz = tech.timezone if tech else office_zone_name()
        what = _what(latest, current, tech.name if tech else None, tz)
        sentence = (
            f"{job} was {what} {_where(latest)} {_when(latest.at, now, tz)}, after you opened it; "
            "reload it and make your change again."
        )
    raise StaleBooking(sentence, current.id, current)


def _changes_the_booking(entry: AuditEntry) -> bool:
    return entry.action.startswith("booking.") and entry.action != "booking.forced"


def _what(entry: AuditEntry, current: Booking, tech_name: str | None, tz: str) -> str:
    action = entry.action
    if action in MOVED and current.start is not None:
        local = current.start.astimezone(zone(tz))
        return f"moved to {local:%H:%M} on {local:%a} {local.day} {local:%b}"
    if action.endswith("reassigned"):
        return f"given to {tech_name}" if tech_name else "taken off its technician"
    if action.endswith("cancelled"):
        return "cancelled"
    if action.startswith("booking.undone"):
        return "put back as it was"
    return "edited"


def _where(entry: AuditEntry) -> str:
    if entry.extra.get("actor") == "calendar":
        return "in the technician's calendar"
    return f"at {entry.desk}" if entry.desk else "at another desk"


def _when(at: datetime, now: datetime, tz: str) -> str:
    age = now - at
    if age < timedelta(seconds=1):
        return "just now"
    if age < timedelta(minutes=1):
        return f"{int(age.total_seconds())} s ago"
    if age < timedelta(hours=1):
        return f"{int(age.total_seconds() // 60)} min ago"
    if age < timedelta(hours=12):
        return f"{int(age.total_seconds() // 3600)} h ago"
    local = at.astimezone(zone(tz))
    return f"on {local:%a} {local.day} {local:%b} at {local:%H:%M}"
