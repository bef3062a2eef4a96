"""How the CLI prints things: JSON for scripts, short aligned lines for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.domain.model import Booking, Customer, Technician
from app.domain.time import Interval, zone


def local_iso(value: datetime, timezone: str) -> str:
    """ISO 8601 with the UTC offset of `timezone` (what the tech sees on their phone)."""
    return value.astimezone(zone(timezone)).isoformat(timespec="minutes")


def span_json(span: Interval, timezone: str) -> dict[str, str]:
    return {"start": local_iso(span.start, timezone), "end": local_iso(span.end, timezone)}


def booking_json(
    booking: Booking, tech: Technician | None, customer: Customer | None, office: str = "UTC"
) -> dict[str, Any]:
    """A booking for scripts; times in the tech's zone, or the office's (`office`) when unassigned."""
    tz = tech.timezone if tech else office
    return {
        "id": booking.id,
        "tech": tech.name if tech else None,
        "customer": customer.name if customer else None,
        "address": customer.address if customer else None,
        "phone": customer.phone if customer else None,
        "service": booking.service,
        "start": local_iso(booking.start, tz) if booking.start else None,
        "end": local_iso(booking.end, tz) if booking.end else None,
        "timezone": tz,
        "duration_minutes": int(booking.duration.total_seconds() // 60),
        "notes": booking.notes,
        "status": booking.status.value,
        "forced": booking.forced,
    }


def tech_json(tech: Technician) -> dict[str, Any]:
    return {
        "id": tech.id,
        "name": tech.name,
        "email": tech.email,
        "timezone": tech.timezone,
        "hours": tech.hours.to_text(),
        "color": tech.color,
        "tentative_blocks": tech.tentative_blocks,
    }


def emit_json(payload: Any) -> None:
    json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def emit_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    if not rows:
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
