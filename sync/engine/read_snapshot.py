"""What a round's reads know before they ask the provider, loaded once for the whole round.

Most polls find nothing changed. Such a quiet read must cost the store next to nothing, so the
round loads every calendar's context (calendar, account, technician) and the calendars with an
open overlap conflict in one go, instead of each read fetching them on its own. A context is used
once: a calendar read again in the same round (after a flush) fetches a fresh one, with the cursor
that first read stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.ids import AccountId, CalendarId, TechId
from app.domain.model import Calendar, CalendarAccount, ConflictKind, Technician
from app.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class ReadContext:
    calendar: Calendar
    account: CalendarAccount
    tech: Technician


@dataclass(slots=True)
class RoundSnapshot:
    contexts: dict[CalendarId, ReadContext] = field(default_factory=dict)
    # Calendars whose quiet read must still look at the board: an overlap conflict of theirs may
    # close because its job moved away there (no calendar change announces that).
    overlapping: set[CalendarId] = field(default_factory=set)


def load_context(uow: UnitOfWork, calendar_id: CalendarId) -> ReadContext:
    calendar = uow.calendars.get(calendar_id)
    if calendar is None:
        raise LookupError(f"calendar {calendar_id} was removed")
    account = uow.accounts.get(calendar.account_id)
    if account is None:
        raise LookupError(f"account of calendar {calendar_id} was removed")
    tech = uow.techs.get(account.tech_id)
    if tech is None:
        raise LookupError(f"technician of calendar {calendar_id} was removed")
    return ReadContext(calendar, account, tech)


def snapshot(
    uow: UnitOfWork,
    calendars: list[Calendar],
    accounts: dict[AccountId, CalendarAccount],
    techs: dict[TechId, Technician],
) -> RoundSnapshot:
    """The round's contexts from rows already listed, and the calendars with open overlaps."""
    found = RoundSnapshot()
    for calendar in calendars:
        account = accounts.get(calendar.account_id)
        tech = techs.get(account.tech_id) if account is not None else None
        if account is not None and tech is not None:
            found.contexts[calendar.id] = ReadContext(calendar, account, tech)
    found.overlapping = {
        c.calendar_id
        for c in uow.conflicts.open()
        if c.kind is ConflictKind.OVERLAP and c.calendar_id is not None
    }
    return found
