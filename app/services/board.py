"""The dispatch board's read model: one snapshot of everything a window of the board shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.ids import BookingId, CustomerId, TechId
from app.domain.model import (
    Booking,
    BusyBlock,
    BusySource,
    CalendarAccount,
    Conflict,
    Customer,
    SyncHealth,
    Technician,
)
from app.domain.time import Interval
from app.services.ports import UnitOfWorkFactory
from app.services.schedule import busy_blocks


@dataclass(frozen=True, slots=True)
class TechRow:
    tech: Technician
    bookings: tuple[Booking, ...]
    busy: tuple[BusyBlock, ...]  # calendar events and time off (bookings are separate)
    accounts: tuple[CalendarAccount, ...]
    health: tuple[SyncHealth, ...]


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    window: Interval
    rows: tuple[TechRow, ...]
    unassigned: tuple[Booking, ...]
    customers: dict[CustomerId, Customer]
    open_conflicts: tuple[Conflict, ...]
    online: frozenset[BookingId] = frozenset()  # booked by customers on the booking page
    assigned_because: dict[BookingId, str] = field(default_factory=dict)  # jobs the rule assigned

    def row_for(self, tech_id: TechId) -> TechRow | None:
        return next((r for r in self.rows if r.tech.id == tech_id), None)


class BoardService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def snapshot(self, window: Interval) -> BoardSnapshot:
        with self._uow(read_only=True) as uow:
            techs = sorted(uow.techs.list(), key=lambda t: t.name.lower())
            busy = busy_blocks(uow, techs, window)
            bookings = uow.bookings.between(window, [t.id for t in techs])
            unassigned = uow.bookings.unassigned()
            health = {h.account_id: h for h in uow.health.list()}
            rows = []
            for tech in techs:
                accounts = tuple(uow.accounts.for_tech(tech.id))
                rows.append(
                    TechRow(
                        tech=tech,
                        bookings=tuple(b for b in bookings if b.tech_id == tech.id),
                        busy=tuple(b for b in busy[tech.id] if b.source is not BusySource.BOOKING),
                        accounts=accounts,
                        health=tuple(health[a.id] for a in accounts if a.id in health),
                    )
                )
            customer_ids = {b.customer_id for b in [*bookings, *unassigned]}
            customers = {c: cust for c in customer_ids if (cust := uow.customers.get(c)) is not None}
            online: frozenset[BookingId] = frozenset()
            because: dict[BookingId, str] = {}
            page = getattr(uow, "booking_page", None)  # storage's unit of work has it; a fake may not
            if page is not None:
                ids = [b.id for b in bookings]
                online = frozenset(page.online.online_among(ids))
                because = page.assignments.explanations(ids)
            return BoardSnapshot(
                window,
                tuple(rows),
                tuple(unassigned),
                customers,
                tuple(uow.conflicts.open()),
                online,
                because,
            )
