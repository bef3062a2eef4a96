"""What a job event says beyond the booking: its job page link or the office's number, and whether
the tech's Outlook events carry the Crewboard category. Read from the store's settings per flush,
so a change the office makes shows in the next event written."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.ids import TechId
from app.services.job_links import JobLinkSetup, link_setup, needs_setup
from app.services.outlook_colour import CATEGORY_NAME, coloured_techs, uncoloured_techs
from app.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class EventExtras:
    links: JobLinkSetup | None
    coloured: frozenset[TechId]
    uncoloured: frozenset[TechId] = frozenset()  # had the category, now written without it
    category: str = CATEGORY_NAME


def read_extras(uow: UnitOfWork) -> EventExtras:
    """The extras as the store holds them now (making the job link key once; commits with `uow`)."""
    return EventExtras(link_setup(uow), coloured_techs(uow), uncoloured_techs(uow))


def extras_need_write(uow: UnitOfWork) -> bool:
    return needs_setup(uow)
