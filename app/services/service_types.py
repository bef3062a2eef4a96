"""Managing service types (name, duration, buffer, qualified techs), and the ports the booking page needs.

The use cases' UnitOfWork protocol does not declare these repositories: storage's unit of work
offers them as `booking_page`, and `page_store` says so in one place, as sync's store settings do.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from app.domain.ids import BookingId, TechId, new_id
from app.domain.model import TimeOff
from app.domain.service_types import (
    LONGEST_BUFFER,
    LONGEST_JOB,
    SHORTEST_JOB,
    AutoAssignment,
    OnlineBooking,
    ServiceType,
    ServiceTypeId,
)
from app.domain.time import Interval
from app.errors import InvalidInput, NotFound, Refused
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from app.services.techs import find_tech
from app.services.text import typed_line

MAX_NAME = 200


class ServiceTypeRepository(Protocol):
    def add(self, service: ServiceType) -> None: ...
    def update(self, service: ServiceType) -> None: ...
    def remove(self, service_id: ServiceTypeId) -> None: ...
    def get(self, service_id: ServiceTypeId) -> ServiceType | None: ...
    def by_name(self, name: str) -> ServiceType | None: ...
    def list(self) -> builtins.list[ServiceType]: ...


class AssignmentLog(Protocol):
    def record(self, item: AutoAssignment) -> None: ...
    def for_booking(self, booking_id: BookingId) -> AutoAssignment | None: ...
    def explanations(self, booking_ids: Iterable[BookingId]) -> dict[BookingId, str]: ...
    def explanations_between(self, window: Interval) -> dict[BookingId, str]: ...
    def last_assigned(self, tech_ids: Iterable[TechId]) -> dict[TechId, datetime]: ...


class OnlineBookingRepository(Protocol):
    def add(self, item: OnlineBooking) -> None: ...
    def get(self, booking_id: BookingId) -> OnlineBooking | None: ...
    def online_among(self, booking_ids: Iterable[BookingId]) -> set[BookingId]: ...
    def online_between(self, window: Interval) -> set[BookingId]: ...


class SlotReads(Protocol):
    """What a slot search reads, and nothing more: it runs on every request of the booking page."""

    def busy_spans(
        self, tech_ids: Sequence[TechId], window: Interval
    ) -> builtins.list[tuple[TechId, Interval]]:
        """Live jobs, the buffer after each booked from a service type, and calendar busy blocks of
        these techs: the spans overlapping `window`."""
        ...

    def time_off(self, tech_ids: Sequence[TechId], window: Interval) -> builtins.list[TimeOff]:
        """These techs' time off that may overlap `window` (at least every entry that does)."""
        ...

    def version(self) -> int:
        """The store's version: it moves with every commit, by any program (the change feed's newest number)."""
        ...


class PageStore(Protocol):
    @property
    def service_types(self) -> ServiceTypeRepository: ...
    @property
    def assignments(self) -> AssignmentLog: ...
    @property
    def online(self) -> OnlineBookingRepository: ...
    @property
    def slot_reads(self) -> SlotReads: ...


class Settings(Protocol):
    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...


def page_store(uow: UnitOfWork) -> PageStore:
    """`uow`'s booking page repositories, or TypeError when this unit of work has none."""
    found = getattr(uow, "booking_page", None)
    if found is None:
        raise TypeError(f"{type(uow).__name__} has no booking_page repositories; use storage's unit of work")
    store: PageStore = found
    return store


def store_settings(uow: UnitOfWork) -> Settings:
    """`uow`'s key/value settings (the manage-link key lives there), or TypeError."""
    found = getattr(uow, "settings", None)
    if found is None:
        raise TypeError(
            f"{type(uow).__name__} has no settings; the booking page needs storage's unit of work"
        )
    settings: Settings = found
    return settings


def find_service(uow: UnitOfWork, name_or_id: str) -> ServiceType:
    """A service type by id or name (any case), or NotFound listing the ones there are."""
    store = page_store(uow).service_types
    wanted = " ".join(name_or_id.split())
    found = store.by_name(wanted) or (store.get(ServiceTypeId(wanted)) if wanted else None)
    if found is not None:
        return found
    known = ", ".join(s.name for s in store.list()) or "none yet"
    raise NotFound(
        f"No service called '{name_or_id}' (known: {known}); add one with 'crewboard service add'."
    )


def _name(text: str) -> str:
    name = typed_line(text, "A service's name")
    if not name:
        raise InvalidInput("A service needs a name, such as 'AC repair'.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A service's name can be at most {MAX_NAME} characters.")
    return name


def _duration(value: timedelta) -> timedelta:
    if not SHORTEST_JOB <= value <= LONGEST_JOB:
        raise InvalidInput("A service takes from 5 minutes to 12 hours; give its length in minutes.")
    return value


def _buffer(value: timedelta) -> timedelta:
    if not timedelta(0) <= value <= LONGEST_BUFFER:
        raise InvalidInput("The buffer after a job is from 0 minutes to 4 hours.")
    return value


class ServiceTypeService:
    """Add, change, list and remove service types; bookings keep their own free-text service."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    def add(
        self,
        name: str,
        duration: timedelta,
        buffer_after: timedelta = timedelta(0),
        techs: Sequence[str] = (),
    ) -> ServiceType:
        with self._uow() as uow:
            store = page_store(uow).service_types
            clean = _name(name)
            if store.by_name(clean) is not None:
                raise Refused(f"There is already a service called '{clean}'; edit it or choose another name.")
            service = ServiceType(
                ServiceTypeId(new_id()),
                clean,
                _duration(duration),
                _buffer(buffer_after),
                frozenset(find_tech(uow, t).id for t in techs),
            )
            store.add(service)
            uow.commit()
        return service

    def edit(
        self,
        name_or_id: str,
        *,
        name: str | None = None,
        duration: timedelta | None = None,
        buffer_after: timedelta | None = None,
        techs: Sequence[str] | None = None,
        add_techs: Sequence[str] = (),
        remove_techs: Sequence[str] = (),
    ) -> ServiceType:
        """Change only what is given; `techs` replaces the qualified techs, the others adjust them."""
        with self._uow() as uow:
            store = page_store(uow).service_types
            old = find_service(uow, name_or_id)
            qualified = set(old.qualified) if techs is None else {find_tech(uow, t).id for t in techs}
            qualified |= {find_tech(uow, t).id for t in add_techs}
            qualified -= {find_tech(uow, t).id for t in remove_techs}
            new_name = old.name if name is None else _name(name)
            clash = store.by_name(new_name)
            if clash is not None and clash.id != old.id:
                raise Refused(f"There is already a service called '{new_name}'; choose another name.")
            service = replace(
                old,
                name=new_name,
                duration=old.duration if duration is None else _duration(duration),
                buffer_after=old.buffer_after if buffer_after is None else _buffer(buffer_after),
                qualified=frozenset(qualified),
            )
            if service != old:
                store.update(service)
                uow.commit()
        return service

    def remove(self, name_or_id: str) -> ServiceType:
        with self._uow() as uow:
            service = find_service(uow, name_or_id)
            page_store(uow).service_types.remove(service.id)
            uow.commit()
        return service

    def list(self) -> builtins.list[ServiceType]:
        with self._uow(read_only=True) as uow:
            return page_store(uow).service_types.list()

    def find(self, name_or_id: str) -> ServiceType:
        with self._uow(read_only=True) as uow:
            return find_service(uow, name_or_id)
