"""The dispatch board's read model: one snapshot of everything a window of the board shows, and
the fresh rows of a few techs to patch it with when only they changed (a change-feed delta)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from app.domain.ids import BookingId, CustomerId, TechId
from app.domain.model import (
    Booking,
    BusyBlock,
    CalendarAccount,
    Conflict,
    Customer,
    SyncHealth,
    Technician,
)
from app.domain.time import Interval
from app.services.ports import UnitOfWork, UnitOfWorkFactory
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

    def patched(self, delta: BoardDelta) -> BoardSnapshot:
        """This snapshot with `delta`'s rows in place of the same techs' (a tech asked about that
        has no row in it left the board), its tray if it read one, and its open conflicts. Rows the
        delta did not touch stay the very same objects, so the board keeps their layout."""
        if delta.window != self.window:
            raise ValueError("a delta patches only the snapshot of its own window")
        fresh = {row.tech.id: row for row in delta.rows}
        gone = {b.id for row in self.rows if row.tech.id in delta.tech_ids for b in row.bookings}
        renamed = any(r.tech.id in fresh and fresh[r.tech.id].tech.name != r.tech.name for r in self.rows)
        rows = [fresh.pop(row.tech.id, None) if row.tech.id in delta.tech_ids else row for row in self.rows]
        kept = [row for row in rows if row is not None]
        if fresh or renamed:  # a tech new to the board, or renamed: in name order, as a snapshot sorts
            kept = sorted([*kept, *fresh.values()], key=lambda r: r.tech.name.lower())
        because = {b: text for b, text in self.assigned_because.items() if b not in gone}
        return replace(
            self,
            rows=tuple(kept),
            unassigned=self.unassigned if delta.unassigned is None else delta.unassigned,
            customers={**self.customers, **delta.customers},
            open_conflicts=delta.open_conflicts,
            online=(self.online - gone) | delta.online,
            assigned_because={**because, **delta.assigned_because},
        )


@dataclass(frozen=True, slots=True)
class BoardDelta:
    """Fresh rows of some techs of one window (and the tray, when a job changed)."""

    window: Interval
    tech_ids: frozenset[TechId]  # every tech read: those without a row below are off the board now
    rows: tuple[TechRow, ...]
    unassigned: tuple[Booking, ...] | None  # None: not read, the tray stays as it is
    customers: dict[CustomerId, Customer]
    open_conflicts: tuple[Conflict, ...]
    online: frozenset[BookingId] = frozenset()
    assigned_because: dict[BookingId, str] = field(default_factory=dict)


class BoardService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def snapshot(self, window: Interval) -> BoardSnapshot:
        with self._uow(read_only=True) as uow:
            techs = sorted(uow.techs.list(), key=lambda t: t.name.lower())
            accounts: dict[TechId, list[CalendarAccount]] = defaultdict(list)
            for account in uow.accounts.list():
                accounts[account.tech_id].append(account)
            # Every tech on the board: read the window's jobs without an IN list of all of them.
            rows, bookings = _rows(uow, window, techs, accounts, all_techs=True)
            unassigned = uow.bookings.unassigned()
            customers, online, because = _about(uow, window, bookings, unassigned)
            return BoardSnapshot(
                window, rows, tuple(unassigned), customers, tuple(uow.conflicts.open()), online, because
            )

    def rows(
        self, window: Interval, tech_ids: Iterable[TechId], booking_ids: Iterable[BookingId] = ()
    ) -> BoardDelta:
        """The rows of `tech_ids` and of the techs `booking_ids` are booked with now; with any
        booking ids, the tray as well (a job may have left or joined it)."""
        wanted_bookings = sorted(set(booking_ids))
        with self._uow(read_only=True) as uow:
            asked = set(tech_ids)
            for booking_id in wanted_bookings:
                booking = uow.bookings.get(booking_id)
                if booking is not None and booking.tech_id is not None:
                    asked.add(booking.tech_id)
            techs = [t for t in (uow.techs.get(tech_id) for tech_id in sorted(asked)) if t and t.active]
            accounts = {t.id: uow.accounts.for_tech(t.id) for t in techs}
            rows, bookings = _rows(uow, window, techs, accounts, all_techs=False)
            unassigned = uow.bookings.unassigned() if wanted_bookings else None
            customers, online, because = _about(uow, window, bookings, unassigned or [])
            return BoardDelta(
                window,
                frozenset(asked),
                rows,
                None if unassigned is None else tuple(unassigned),
                customers,
                tuple(uow.conflicts.open()),
                online,
                because,
            )


def _rows(
    uow: UnitOfWork,
    window: Interval,
    techs: Sequence[Technician],
    accounts: dict[TechId, list[CalendarAccount]],
    all_techs: bool,
) -> tuple[tuple[TechRow, ...], list[Booking]]:
    """The rows of `techs` (in the order given) and the jobs on them."""
    ids = [t.id for t in techs]
    busy = busy_blocks(uow, techs, window, with_bookings=False)
    shown = set(ids)
    bookings = [b for b in uow.bookings.between(window, None if all_techs else ids) if b.tech_id in shown]
    by_tech: dict[TechId | None, list[Booking]] = defaultdict(list)
    for booking in bookings:
        by_tech[booking.tech_id].append(booking)
    health = {h.account_id: h for h in uow.health.list()} if all_techs else {}
    if not all_techs:
        for account in (a for tech_id in ids for a in accounts.get(tech_id, ())):
            found = uow.health.get(account.id)
            if found is not None:
                health[account.id] = found
    rows = []
    for tech in techs:
        mine = tuple(accounts.get(tech.id, ()))
        rows.append(
            TechRow(
                tech=tech,
                bookings=tuple(by_tech[tech.id]),
                busy=tuple(busy[tech.id]),
                accounts=mine,
                health=tuple(health[a.id] for a in mine if a.id in health),
            )
        )
    return tuple(rows), bookings


def _about(
    uow: UnitOfWork, window: Interval, bookings: Sequence[Booking], unassigned: Sequence[Booking]
) -> tuple[dict[CustomerId, Customer], frozenset[BookingId], dict[BookingId, str]]:
    """The customers of these jobs, which of the scheduled ones were booked online, and why the
    rule chose the tech of those it assigned."""
    customers = {c.id: c for c in uow.customers.many({b.customer_id for b in [*bookings, *unassigned]})}
    online: frozenset[BookingId] = frozenset()
    because: dict[BookingId, str] = {}
    page = getattr(uow, "booking_page", None)  # storage's unit of work has it; a fake may not
    if page is not None and bookings:
        # Asked by the window, not by an IN list of every job in it (thousands on a 200-tech week),
        # then narrowed to the jobs read here (a delta reads a few techs' rows).
        ids = {b.id for b in bookings}
        online = frozenset(page.online.online_between(window) & ids)
        because = {k: v for k, v in page.assignments.explanations_between(window).items() if k in ids}
    return customers, online, because
