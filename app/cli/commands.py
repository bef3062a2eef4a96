"""The data commands of the CLI: technicians, time off, bookings, availability, slots.

Each command validates its input fully before the use case writes anything; use cases raise
CrewboardError subclasses whose message the entry point prints as one line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import timedelta, tzinfo
from typing import Any

from app.cli.args import (
    last_day,
    parse_count,
    parse_date,
    parse_instant,
    parse_minutes,
)
from app.cli.output import booking_json, emit_json, emit_table, local_iso, span_json, tech_json
from app.cli.service_types import AUTO, book_auto
from app.domain.model import Booking, TimeOff
from app.domain.time import zone
from app.errors import InvalidInput
from app.office import office_zone, office_zone_name
from app.services.bookings import NewBooking
from app.services.container import Services
from app.services.outlook_colour import OutlookColourService


def tech_add(s: Services, a: argparse.Namespace) -> int:
    tech = s.techs.add(a.name, a.email, a.timezone, a.hours, a.color, a.tentative_blocks)
    if a.json:
        emit_json(tech_json(tech))
    else:
        print(f"Added {tech.name} ({tech.timezone}, {tech.hours.to_text()}).")
    return 0


def tech_edit(s: Services, a: argparse.Namespace) -> int:
    fields = {"name": a.name, "email": a.email, "timezone": a.timezone, "hours": a.hours, "color": a.color}
    colour_only = a.outlook_colour is not None and all(v is None for v in fields.values())
    tech = s.techs.find(a.tech) if colour_only else s.techs.edit(a.tech, **fields)
    colour = OutlookColourService(s.uow, s.clock)
    if a.outlook_colour is not None:
        colour.set_tech(tech.id, a.outlook_colour == "on")
    if a.json:
        emit_json({**tech_json(tech), "outlook_colour": colour.tech_enabled(tech.id)})
        return 0
    print(f"Saved {tech.name} ({tech.email}, {tech.timezone}, {tech.hours.to_text()}, {tech.color}).")
    if a.outlook_colour == "on":
        print(
            f"Outlook colour is on for {tech.name}"
            + (
                "; their next Microsoft sign-in asks them for it "
                f"(crewboard connect '{tech.name}' --provider microsoft)."
                if colour.office_enabled()
                else ", but off for the office: turn it on with 'crewboard office --outlook-colour on'."
            )
        )
    return 0


def tech_remove(s: Services, a: argparse.Namespace) -> int:
    tech = s.techs.remove(a.tech, s.clock.now())
    print(f"Removed {tech.name} from the board; their past jobs and history stay.")
    return 0


def tech_list(s: Services, a: argparse.Namespace) -> int:
    techs = s.techs.list()
    if a.json:
        emit_json([tech_json(t) for t in techs])
    elif not techs:
        print("No technicians yet; add one with 'crewboard tech add'.")
    else:
        emit_table(
            [[t.name, t.email, t.timezone, t.hours.to_text()] for t in techs],
            ["NAME", "EMAIL", "TIME ZONE", "HOURS"],
        )
    return 0


def timeoff_add(s: Services, a: argparse.Namespace) -> int:
    if a.date and a.end:
        raise InvalidInput(
            "--end goes with --start; for whole days give --date and --days, for a span --start and --end."
        )
    if a.start and a.days is not None:
        raise InvalidInput(
            "--days goes with --date; a span from --start to --end has its own length, so leave out --days."
        )
    if a.start and not a.end:
        raise InvalidInput("Give --end with --start, e.g. --start 2026-11-30T12:00 --end 2026-11-30T13:00.")
    tech = s.techs.find(a.tech)
    if a.date:
        first = parse_date(a.date)
        days = parse_count(a.days if a.days is not None else "1", "--days")
        last_day(first, days)
        item = s.time_off.add_days(tech.id, first, days, a.reason or "")
        what = f"{days} day(s) from {item.first_day}"
    else:
        tz = zone(tech.timezone)
        item = s.time_off.add_span(
            tech.id, parse_instant(a.start, tz), parse_instant(a.end, tz), a.reason or ""
        )
        assert item.start is not None and item.end is not None
        what = f"{local_iso(item.start, tech.timezone)} to {local_iso(item.end, tech.timezone)}"
    print(f"Time off for {tech.name}: {what} (id {item.id[:8]}).")
    return 0


def timeoff_json(item: TimeOff, techs: dict[str, Any]) -> dict[str, Any]:
    tech = techs.get(item.tech_id)
    tz = tech.timezone if tech else "UTC"
    last = item.end_day - timedelta(days=1) if item.end_day else None
    return {
        "id": item.id,
        "tech": tech.name if tech else None,
        "reason": item.reason,
        "first_day": item.first_day.isoformat() if item.first_day else None,
        "last_day": last.isoformat() if last else None,
        "start": local_iso(item.start, tz) if item.start else None,
        "end": local_iso(item.end, tz) if item.end else None,
    }


def timeoff_list(s: Services, a: argparse.Namespace) -> int:
    items = s.time_off.list(a.tech)
    techs: dict[str, Any] = {t.id: t for t in s.techs.list(include_removed=True)}
    rows = [timeoff_json(i, techs) for i in items]
    if a.json:
        emit_json(rows)
    elif not rows:
        print("No time off yet; add some with 'crewboard timeoff add'.")
    else:
        emit_table(
            [
                [
                    r["id"][:8],
                    r["tech"] or "",
                    f"{r['first_day']} to {r['last_day']} (whole days)"
                    if r["first_day"]
                    else f"{r['start']} to {r['end']}",
                    r["reason"],
                ]
                for r in rows
            ],
            ["ID", "TECH", "WHEN", "REASON"],
        )
    return 0


def timeoff_remove(s: Services, a: argparse.Namespace) -> int:
    item = s.time_off.find(a.id)
    techs: dict[str, Any] = {t.id: t for t in s.techs.list(include_removed=True)}
    row = timeoff_json(item, techs)
    s.time_off.remove(item)
    when = (
        f"{row['first_day']} to {row['last_day']}" if row["first_day"] else f"{row['start']} to {row['end']}"
    )
    print(f"Removed time off {item.id[:8]} for {row['tech'] or 'a removed technician'}: {when}.")
    return 0


def book(s: Services, a: argparse.Namespace) -> int:
    if a.tech == AUTO:
        return book_auto(s, a)
    if a.duration is None:
        raise InvalidInput(
            "Give --duration in minutes, e.g. --duration 90 (or --tech auto for a service type)."
        )
    tech = s.techs.find(a.tech) if a.tech else None
    default_zone = zone(tech.timezone) if tech else office_zone()
    start = parse_instant(a.start, default_zone) if a.start else None
    booking = s.bookings.create(
        NewBooking(
            customer=a.customer,
            service=a.service,
            duration=parse_minutes(a.duration),
            start=start,
            tech=tech.id if tech else None,
            address=a.address,
            phone=a.phone,
            notes=a.notes or "",
        ),
        force=a.force,
    )
    return _show_booking(s, booking, a.json, "Booked")


def bookings(s: Services, a: argparse.Namespace) -> int:
    found = s.bookings.list(include_cancelled=a.all)
    techs = {t.id: t for t in s.techs.list(include_removed=True)}
    office = office_zone_name()
    rows = []
    payload = []
    for b in found:
        tech = techs.get(b.tech_id) if b.tech_id else None
        customer = s.customers.get(b.customer_id)
        item = booking_json(b, tech, customer, office)
        payload.append(item)
        rows.append(
            [
                b.id[:8],
                item["start"] or "unscheduled",
                item["tech"] or "unassigned",
                item["customer"] or "",
                b.service,
                b.status.value,
            ]
        )
    if a.json:
        emit_json(payload)
    elif not rows:
        print("No bookings yet; create one with 'crewboard book'.")
    else:
        emit_table(rows, ["ID", "START", "TECH", "CUSTOMER", "SERVICE", "STATUS"])
    return 0


def move(s: Services, a: argparse.Namespace) -> int:
    current = s.bookings.get(a.id)
    target_tech = (
        s.techs.find(a.tech)
        if a.tech
        else (next((t for t in s.techs.list(include_removed=True) if t.id == current.tech_id), None))
    )
    default_zone = zone(target_tech.timezone) if target_tech else office_zone()
    booking = s.bookings.move(
        current.id,
        parse_instant(a.start, default_zone),
        target_tech.id if a.tech and target_tech else None,
        force=a.force,
        expected_version=current.version,  # what this command read: never move over a newer change
    )
    return _show_booking(s, booking, a.json, "Moved")


def cancel(s: Services, a: argparse.Namespace) -> int:
    current = s.bookings.get(a.id)
    # What this command read: a job changed meanwhile (moved, edited) is not cancelled unseen.
    booking = s.bookings.cancel(current.id, expected_version=current.version)
    return _show_booking(s, booking, a.json, "Cancelled")


def availability(s: Services, a: argparse.Namespace) -> int:
    day = s.schedule.day(a.tech, parse_date(a.date))
    tz = day.tech.timezone
    payload: dict[str, Any] = {
        "tech": day.tech.name,
        "timezone": tz,
        "date": day.day.isoformat(),
        "hours": [span_json(h, tz) for h in day.hours],
        "free": [span_json(f, tz) for f in day.free],
        "busy": [
            {
                **span_json(b.interval, tz),
                "source": b.source.value,
                "title": b.title,
                "all_day": b.all_day,
                "calendar": b.calendar_name,
            }
            for b in day.busy
        ],
    }
    if a.json:
        emit_json(payload)
        return 0
    print(f"{day.tech.name} on {day.day:%a %d %b %Y} ({tz})")
    for f in payload["free"]:
        print(f"  free  {f['start'][11:16]}-{f['end'][11:16]}")
    for b in payload["busy"]:
        print(f"  busy  {b['start'][11:16]}-{b['end'][11:16]}  {b['source']}: {b['title'] or 'Busy'}")
    if not payload["free"] and not payload["busy"]:
        print("  not working that day")
    return 0


def slot(s: Services, a: argparse.Namespace) -> int:
    days = parse_count(a.days, "--days", most=366)
    count = parse_count(a.count, "--count")
    duration = parse_minutes(a.duration)
    start = parse_instant(a.start, _slot_zone(s, a.tech or ())) if a.start else None
    slots = s.schedule.earliest(duration, a.tech or (), start, days, count)
    techs = {t.id: t for t in s.techs.list()}
    payload: list[dict[str, str]] = [
        {"tech": techs[x.tech_id].name, **span_json(x.interval, techs[x.tech_id].timezone)} for x in slots
    ]
    if a.json:
        emit_json(payload)
    elif not payload:
        print(f"No free {a.duration}-minute slot in the next {days} days.")
    else:
        emit_table([[p["tech"], p["start"], p["end"]] for p in payload], ["TECH", "START", "END"])
    return 0 if payload else 1


def _slot_zone(s: Services, names: Sequence[str]) -> tzinfo:
    """Where `slot --from` without an offset is read: the named techs' own zone when they share
    one, else the office's."""
    zones = {s.techs.find(name).timezone for name in names}
    return zone(zones.pop()) if len(zones) == 1 else office_zone()


def _show_booking(s: Services, booking: Booking, as_json: bool, verb: str) -> int:
    tech = next((t for t in s.techs.list(include_removed=True) if t.id == booking.tech_id), None)
    customer = s.customers.get(booking.customer_id)
    item = booking_json(booking, tech, customer, office_zone_name())
    if as_json:
        emit_json(item)
        return 0
    when = item["start"] or "unscheduled"
    if item["start"] and tech is None:
        when += f" (office time, {item['timezone']})"
    forced = " (forced over busy time)" if booking.forced else ""
    print(
        f"{verb} {booking.id[:8]}: {booking.service} for {item['customer']} with "
        f"{item['tech'] or 'nobody yet'} at {when}{forced}."
    )
    return 0
