"""How the booking page words times and jobs: in the business's zone, named, in JSON and in HTML."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.domain.booking_slots import OfferedStart
from app.domain.service_types import ServiceType
from app.domain.time import zone


def local(moment: datetime, business_zone: str) -> datetime:
    return moment.astimezone(zone(business_zone))


def iso(moment: datetime, business_zone: str) -> str:
    """ISO 8601 with the business zone's offset, to the minute: 2026-11-02T09:00-06:00."""
    return local(moment, business_zone).isoformat(timespec="minutes")


def day_text(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def when_text(moment: datetime, business_zone: str) -> str:
    """ "Monday 2 November at 09:00"."""
    at = local(moment, business_zone)
    return f"{day_text(at.date())} at {at:%H:%M}"


def zone_text(business_zone: str, moment: datetime) -> str:
    """The zone as people know it, with its IANA name: "CST, America/Chicago"."""
    return f"{local(moment, business_zone).tzname()}, {business_zone}"


def minutes(service: ServiceType) -> int:
    return int(service.duration.total_seconds() // 60)


def length_text(service: ServiceType) -> str:
    total = minutes(service)
    hours, rest = divmod(total, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" if not rest else f"{hours} h {rest} min"


def service_json(service: ServiceType) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "duration_minutes": minutes(service),
        "buffer_minutes": int(service.buffer_after.total_seconds() // 60),
    }


def slot_json(slot: OfferedStart, business_zone: str) -> dict[str, str]:
    return {"start": iso(slot.start, business_zone), "end": iso(slot.end, business_zone)}


@dataclass(frozen=True, slots=True)
class Day:
    """One day of offered starts, for the page: its heading and each time with its value."""

    heading: str
    times: tuple[tuple[str, str], ...]  # (label "09:00", value: the start as ISO 8601 UTC)


def by_day(slots: Sequence[OfferedStart], business_zone: str) -> list[Day]:
    days: dict[date, list[tuple[str, str]]] = {}
    for slot in slots:
        at = local(slot.start, business_zone)
        days.setdefault(at.date(), []).append((f"{at:%H:%M}", slot.start.strftime("%Y-%m-%dT%H:%MZ")))
    return [Day(day_text(day), tuple(times)) for day, times in days.items()]
