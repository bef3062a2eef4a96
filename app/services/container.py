"""All use cases wired to one store, clock and bus: what a composition root hands to screens."""

from __future__ import annotations

from dataclasses import dataclass

from app.bus import Bus
from app.domain.time import Clock, SystemClock
from app.services.accounts import AccountService
from app.services.board import BoardService
from app.services.bookings import BookingService
from app.services.change_feed import ChangeFeedStore
from app.services.conflicts import ConflictService
from app.services.customers import CustomerService
from app.services.ports import UnitOfWorkFactory
from app.services.schedule import ScheduleService
from app.services.techs import TechnicianService
from app.services.time_off import TimeOffService


@dataclass(frozen=True, slots=True)
class Services:
    uow: UnitOfWorkFactory
    clock: Clock
    bus: Bus
    techs: TechnicianService
    customers: CustomerService
    bookings: BookingService
    schedule: ScheduleService
    time_off: TimeOffService
    board: BoardService
    accounts: AccountService
    conflicts: ConflictService
    # What other programs committed to the store (None where nothing else can write it, as in some tests).
    feed: ChangeFeedStore | None = None

    @classmethod
    def build(
        cls,
        uow: UnitOfWorkFactory,
        clock: Clock | None = None,
        bus: Bus | None = None,
        feed: ChangeFeedStore | None = None,
    ) -> Services:
        clock = clock or SystemClock()
        bus = bus or Bus()
        bookings = BookingService(uow, clock, bus)
        return cls(
            uow=uow,
            clock=clock,
            bus=bus,
            techs=TechnicianService(uow, bus),
            customers=CustomerService(uow),
            bookings=bookings,
            schedule=ScheduleService(uow, clock),
            time_off=TimeOffService(uow, clock, bus),
            board=BoardService(uow),
            accounts=AccountService(uow, clock, bus),
            conflicts=ConflictService(uow, clock, bus, bookings),
            feed=feed,
        )
