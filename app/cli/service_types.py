"""`crewboard service add|edit|list|remove`, and `crewboard book --tech auto` (round-robin assignment)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from app.cli.args import Parser, parse_instant
from app.cli.output import booking_json, emit_json, emit_table
from app.domain.assignment import AssignmentMode, hours_text
from app.domain.ids import TechId
from app.domain.service_types import BookingSource, ServiceType
from app.domain.time import zone
from app.errors import InvalidInput, Refused
from app.office import office_zone_name
from app.services.container import Services
from app.services.online_booking import (
    BookingPolicy,
    CustomerDetails,
    OnlineBookingService,
    SlotTaken,
    office_rules,
    set_office_rules,
)
from app.services.service_types import ServiceTypeService

AUTO = "auto"


def register(sub: Any) -> None:
    """Add `service` and its actions to the main parser's subcommands."""
    service = sub.add_parser("service", help="add, list, edit or remove the services customers can book")
    actions = service.add_subparsers(
        dest="service_command", metavar="ACTION", required=True, parser_class=Parser
    )
    add = actions.add_parser("add", help="add a service type")
    add.add_argument("name")
    add.add_argument("--duration", required=True, metavar="MINUTES", help="how long the job takes")
    add.add_argument("--buffer", default="0", metavar="MINUTES", help="time kept free after it (default 0)")
    add.add_argument("--tech", action="append", default=[], metavar="NAME", help="a qualified tech; repeat")
    add.add_argument("--json", action="store_true")
    add.set_defaults(run=service_add)
    edit = actions.add_parser("edit", help="change a service type (only the options given)")
    edit.add_argument("service", metavar="NAME")
    edit.add_argument("--name", help="the new name")
    edit.add_argument("--duration", metavar="MINUTES")
    edit.add_argument("--buffer", metavar="MINUTES")
    edit.add_argument("--tech", action="append", metavar="NAME", help="replace the qualified techs; repeat")
    edit.add_argument("--add-tech", action="append", default=[], metavar="NAME")
    edit.add_argument("--remove-tech", action="append", default=[], metavar="NAME")
    edit.add_argument("--json", action="store_true")
    edit.set_defaults(run=service_edit)
    listing = actions.add_parser("list", help="list service types")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=service_list)
    remove = actions.add_parser("remove", help="remove a service type (bookings keep their service text)")
    remove.add_argument("service", metavar="NAME")
    remove.set_defaults(run=service_remove)
    rule = actions.add_parser("rule", help="how jobs for any qualified tech are assigned; what customers see")
    rule.add_argument(
        "--mode",
        choices=[m.value for m in AssignmentMode],
        help="fewest_hours (default), rotation or weighted",
    )
    rule.add_argument(
        "--weight", action="append", metavar="NAME=N", help="weighted mode: a tech's weight, 1-10; repeat"
    )
    rule.add_argument("--show-tech-names", choices=["yes", "no"], help="show customers their tech's name")
    rule.add_argument("--json", action="store_true")
    rule.set_defaults(run=service_rule)


def _minutes(text: str, option: str, zero_ok: bool = False) -> timedelta:
    try:
        minutes = int(text)
    except ValueError:
        raise InvalidInput(f"{option} '{text}' is not a whole number of minutes, e.g. 90.") from None
    if minutes < 0 or (minutes == 0 and not zero_ok):
        raise InvalidInput(f"{option} must be {'zero' if zero_ok else 'one'} minutes or more.")
    return timedelta(minutes=minutes)


def service_json(service: ServiceType, names: Mapping[TechId, str]) -> dict[str, Any]:
    return {
        "id": service.id,
        "name": service.name,
        "duration_minutes": int(service.duration.total_seconds() // 60),
        "buffer_minutes": int(service.buffer_after.total_seconds() // 60),
        "techs": sorted(names.get(t, t) for t in service.qualified),
    }


def _show(s: Services, service: ServiceType, as_json: bool, verb: str) -> int:
    names = {t.id: t.name for t in s.techs.list()}
    item = service_json(service, names)
    if as_json:
        emit_json(item)
    else:
        techs = ", ".join(item["techs"]) or "nobody yet"
        print(
            f"{verb} {service.name}: {item['duration_minutes']} min, "
            f"{item['buffer_minutes']} min buffer after; qualified: {techs}."
        )
    return 0


def service_add(s: Services, a: argparse.Namespace) -> int:
    service = ServiceTypeService(s.uow).add(
        a.name, _minutes(a.duration, "--duration"), _minutes(a.buffer, "--buffer", zero_ok=True), a.tech
    )
    return _show(s, service, a.json, "Added")


def service_edit(s: Services, a: argparse.Namespace) -> int:
    service = ServiceTypeService(s.uow).edit(
        a.service,
        name=a.name,
        duration=None if a.duration is None else _minutes(a.duration, "--duration"),
        buffer_after=None if a.buffer is None else _minutes(a.buffer, "--buffer", zero_ok=True),
        techs=a.tech,
        add_techs=a.add_tech,
        remove_techs=a.remove_tech,
    )
    return _show(s, service, a.json, "Saved")


def service_list(s: Services, a: argparse.Namespace) -> int:
    services = ServiceTypeService(s.uow).list()
    names = {t.id: t.name for t in s.techs.list()}
    rows = [service_json(x, names) for x in services]
    if a.json:
        emit_json(rows)
    elif not rows:
        print("No services yet; add one with 'crewboard service add'.")
    else:
        emit_table(
            [
                [
                    r["name"],
                    f"{r['duration_minutes']} min",
                    f"{r['buffer_minutes']} min",
                    ", ".join(r["techs"]),
                ]
                for r in rows
            ],
            ["SERVICE", "DURATION", "BUFFER", "QUALIFIED"],
        )
    return 0


def service_remove(s: Services, a: argparse.Namespace) -> int:
    service = ServiceTypeService(s.uow).remove(a.service)
    print(f"Removed the service {service.name}; bookings made for it keep their service text.")
    return 0


def book_auto(s: Services, a: argparse.Namespace) -> int:
    """`book --tech auto`: the office's assignment rule picks among the qualified techs free then."""
    if not a.start:
        raise InvalidInput("--tech auto needs --start: the rule picks among the techs free at that time.")
    office = office_zone_name()
    page = OnlineBookingService(s.uow, s.clock, s.bus, BookingPolicy(office))
    service = page.service(a.service)
    if a.duration is not None and _minutes(a.duration, "--duration") != service.duration:
        raise InvalidInput(
            f"{service.name} takes {hours_text(service.duration)}; leave out --duration with --tech auto, "
            "or change the service with 'crewboard service edit'."
        )
    details = CustomerDetails(a.customer, a.phone or "", "", a.address or "", a.notes or "")
    start = parse_instant(a.start, zone(office))
    try:
        placed = page.book(service.id, start, details, source=BookingSource.DESK, actor="dispatcher")
    except SlotTaken:
        raise Refused(
            f"Nobody qualified for {service.name} is free for the whole job and its buffer then; "
            "see 'crewboard slot' or add qualified techs with 'crewboard service edit'."
        ) from None
    item = booking_json(placed.booking, placed.tech, placed.customer, office)
    item["assigned_because"] = placed.assignment.explanation
    if a.json:
        emit_json(item)
    else:
        print(
            f"Booked {placed.booking.id[:8]}: {service.name} for {placed.customer.name} with {placed.tech.name} "
            f"at {item['start']} (assigned automatically: {placed.assignment.explanation})."
        )
    return 0


def _weights(items: list[str] | None) -> dict[str, int] | None:
    if items is None:
        return None
    weights: dict[str, int] = {}
    for item in items:
        name, _, number = item.rpartition("=")
        if not name.strip() or not number.strip().isdigit():
            raise InvalidInput(f"--weight '{item}' is not NAME=N, e.g. --weight \"Maria Lopez=2\".")
        weights[name.strip()] = int(number)
    return weights


def service_rule(s: Services, a: argparse.Namespace) -> int:
    changed = a.mode is not None or a.weight is not None or a.show_tech_names is not None
    if changed:
        rules = set_office_rules(
            s.uow,
            AssignmentMode(a.mode) if a.mode else None,
            _weights(a.weight),
            None if a.show_tech_names is None else a.show_tech_names == "yes",
        )
    else:
        rules = office_rules(s.uow)
    names = {t.id: t.name for t in s.techs.list()}
    weights = {names.get(t, t): w for t, w in sorted(rules.rule.weights.items())}
    if a.json:
        emit_json(
            {"mode": rules.rule.mode.value, "weights": weights, "show_tech_names": rules.show_tech_name}
        )
        return 0
    described = {
        AssignmentMode.FEWEST_HOURS: "fewest booked hours in the job's week, ties to the one assigned least recently",
        AssignmentMode.ROTATION: "strict rotation among the techs free for the job",
        AssignmentMode.WEIGHTED: "booked hours per weight, lowest first",
    }[rules.rule.mode]
    print(f"Jobs for any qualified tech go by {described}.")
    if weights:
        print(
            "Weights: " + ", ".join(f"{name} {weight}" for name, weight in weights.items()) + " (others 1)."
        )
    print(f"Customers {'see' if rules.show_tech_name else 'do not see'} their technician's name.")
    return 0
