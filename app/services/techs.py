"""Adding and changing technicians, with every field validated before anything is written."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from app.bus import Bus, TechsChanged
from app.domain.hours import DEFAULT_HOURS_TEXT, BusinessHours
from app.domain.ids import TechId, new_id
from app.domain.model import AccountStatus, Technician
from app.domain.time import zone
from app.errors import InvalidInput, NotFound, Refused
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.text import typed_line

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Distinct, readable tile colors handed out in turn when none is given.
PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#db2777", "#65a30d")


def find_tech(uow: UnitOfWork, name_or_id: str) -> Technician:
    """The tech called `name_or_id`: exact name (any case), id, or an unambiguous start of a name.

    Dispatchers type "maria" for Maria Lopez; two techs starting alike ask for more letters.
    """
    wanted = " ".join(name_or_id.split())
    tech = _active_by_name(uow, wanted) or (uow.techs.get(TechId(wanted)) if wanted else None)
    if tech is not None:
        return tech
    everyone = uow.techs.list()
    folded = wanted.casefold()
    matches = [t for t in everyone if folded and t.name.casefold().startswith(folded)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(sorted(t.name for t in matches))
        raise InvalidInput(f"'{name_or_id}' could mean {names}; type more of the name.")
    known = ", ".join(sorted(t.name for t in everyone)) or "none yet"
    raise NotFound(
        f"No technician called '{name_or_id}' (known: {known}); add one with 'crewboard tech add'."
    )


def _active_by_name(uow: UnitOfWork, name: str) -> Technician | None:
    """The tech on the board called `name` (any case); a removed tech of that name does not count."""
    found = uow.techs.by_name(name)
    if found is None or found.active:
        return found
    folded = name.casefold()
    return next((t for t in uow.techs.list() if t.name.casefold() == folded), None)


def validate_email(email: str) -> str:
    cleaned = email.strip()
    if not _EMAIL.match(cleaned):
        raise InvalidInput(f"'{email}' is not an email address; give one like pat@example.com.")
    return cleaned


def validate_color(color: str) -> str:
    if not _COLOR.match(color):
        raise InvalidInput(f"Color '{color}' is not a #RRGGBB value such as #2563eb.")
    return color.lower()


class TechnicianService:
    def __init__(self, uow_factory: UnitOfWorkFactory, bus: Bus) -> None:
        self._uow = uow_factory
        self._bus = bus

    def add(
        self,
        name: str,
        email: str,
        timezone: str,
        hours: str = DEFAULT_HOURS_TEXT,
        color: str | None = None,
        tentative_blocks: bool = False,
        notify_email: str | None = None,
    ) -> Technician:
        clean_name = typed_line(name, "A technician's name")
        if not clean_name:
            raise InvalidInput("A technician needs a name.")
        zone(timezone)
        parsed_hours = BusinessHours.parse(hours)
        with self._uow() as uow:
            if _active_by_name(uow, clean_name) is not None:
                raise InvalidInput(f"A technician called '{clean_name}' already exists; pick another name.")
            chosen = validate_color(color) if color else PALETTE[len(uow.techs.list(True)) % len(PALETTE)]
            tech = Technician(
                id=TechId(new_id()),
                name=clean_name,
                email=validate_email(email),
                timezone=timezone,
                hours=parsed_hours,
                color=chosen,
                tentative_blocks=tentative_blocks,
                notify_email=validate_email(notify_email) if notify_email else None,
            )
            uow.techs.add(tech)
            uow.commit()
        self._bus.publish(TechsChanged((tech.id,)))
        return tech

    def update(self, tech: Technician) -> Technician:
        """Save edited settings (hours, zone, color, blocking preferences)."""
        zone(tech.timezone)
        validate_color(tech.color)
        tech = replace(tech, name=typed_line(tech.name, "A technician's name"))
        if not tech.name:
            raise InvalidInput("A technician needs a name.")
        with self._uow() as uow:
            if uow.techs.get(tech.id) is None:
                raise NotFound(f"Technician {tech.name} no longer exists.")
            uow.techs.update(replace(tech, email=validate_email(tech.email)))
            uow.commit()
        self._bus.publish(TechsChanged((tech.id,)))
        return tech

    def edit(
        self,
        name_or_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        timezone: str | None = None,
        hours: str | None = None,
        color: str | None = None,
    ) -> Technician:
        """Change the given fields of a tech; the others stay. Everything is checked before saving."""
        if all(v is None for v in (name, email, timezone, hours, color)):
            raise InvalidInput("Say what to change: --name, --email, --timezone, --hours or --color.")
        with self._uow() as uow:
            tech = find_tech(uow, name_or_id)
        changes: dict[str, object] = {}
        if name is not None:
            clean_name = typed_line(name, "A technician's name")
            if not clean_name:
                raise InvalidInput("A technician needs a name.")
            changes["name"] = clean_name
        if email is not None:
            changes["email"] = validate_email(email)
        if timezone is not None:
            zone(timezone)
            changes["timezone"] = timezone
        if hours is not None:
            changes["hours"] = BusinessHours.parse(hours)
        if color is not None:
            changes["color"] = validate_color(color)
        edited = replace(tech, **changes)  # type: ignore[arg-type]
        with self._uow() as uow:
            same_name = _active_by_name(uow, edited.name)
            if same_name is not None and same_name.id != tech.id:
                raise InvalidInput(f"A technician called '{edited.name}' already exists; pick another name.")
        return self.update(edited)

    def remove(self, name_or_id: str, now: datetime) -> Technician:
        """Take a tech off the board. Their past jobs, time off and history stay.

        Refused while they have jobs still to do, or a calendar still connected: those need a
        decision first (reassign or cancel the jobs; disconnect the calendar).
        """
        with self._uow() as uow:
            tech = find_tech(uow, name_or_id)
            upcoming = [
                b for b in uow.bookings.list(live_only=True) if b.tech_id == tech.id and b.end and b.end > now
            ]
            if upcoming:
                raise Refused(
                    f"{tech.name} has {len(upcoming)} upcoming job(s); reassign or cancel them first "
                    "(see 'crewboard bookings')."
                )
            live = (AccountStatus.CONNECTED, AccountStatus.NEEDS_RECONNECT)
            connected = [a for a in uow.accounts.for_tech(tech.id) if a.status in live]
            if connected:
                account = connected[0]
                raise Refused(
                    f"{tech.name}'s calendar {account.email} is still connected; disconnect it first with "
                    f"'crewboard disconnect \"{tech.name}\" --provider {account.provider.value}'."
                )
            removed = replace(tech, active=False)
            uow.techs.update(removed)
            uow.commit()
        self._bus.publish(TechsChanged((tech.id,)))
        return removed

    def list(self, include_removed: bool = False) -> list[Technician]:
        """The techs on the board; with `include_removed`, also those taken off it (for history)."""
        with self._uow() as uow:
            return sorted(uow.techs.list(include_inactive=include_removed), key=lambda t: t.name.lower())

    def find(self, name_or_id: str) -> Technician:
        with self._uow() as uow:
            return find_tech(uow, name_or_id)
