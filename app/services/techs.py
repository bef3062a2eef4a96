"""Adding and changing technicians, with every field validated before anything is written."""

from __future__ import annotations

import re
from dataclasses import replace

from app.bus import Bus, TechsChanged
from app.domain.hours import DEFAULT_HOURS_TEXT, BusinessHours
from app.domain.ids import TechId, new_id
from app.domain.model import Technician
from app.domain.time import zone
from app.errors import InvalidInput, NotFound
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
    tech = uow.techs.by_name(wanted) or (uow.techs.get(TechId(wanted)) if wanted else None)
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
            if uow.techs.by_name(clean_name) is not None:
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

    def list(self) -> list[Technician]:
        with self._uow() as uow:
            return sorted(uow.techs.list(), key=lambda t: t.name.lower())

    def find(self, name_or_id: str) -> Technician:
        with self._uow() as uow:
            return find_tech(uow, name_or_id)
