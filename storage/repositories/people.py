"""Technicians, customers and hand-entered time off."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import case, select

from app.domain.hours import BusinessHours
from app.domain.ids import CustomerId, TechId, TimeOffId
from app.domain.model import Customer, Technician, TimeOff
from storage.orm import CustomerRow, TechnicianRow, TimeOffRow
from storage.repositories.base import SqlRepository, assign, existing, like_anywhere, like_prefix

_CLOSED_WEEK = BusinessHours(((),) * 7)
_CHUNK = 500  # ids per IN list


def hours_text(hours: BusinessHours) -> str:
    """The stored form of business hours: their text form ("" for a tech who never works)."""
    return hours.to_text()


def hours_from_text(text: str) -> BusinessHours:
    # BusinessHours.parse refuses an empty text, but a week with no open spans writes as "".
    return BusinessHours.parse(text) if text.strip() else _CLOSED_WEEK


def name_key(name: str) -> str:
    """How names compare: case-folded in Python, so every database ignores case the same way."""
    return name.strip().casefold()


# --- technicians --------------------------------------------------------------------------


def _tech_values(tech: Technician) -> dict[str, Any]:
    return {
        "name": tech.name,
        "name_key": name_key(tech.name),
        "email": tech.email,
        "timezone": tech.timezone,
        "hours": hours_text(tech.hours),
        "color": tech.color,
        "tentative_blocks": tech.tentative_blocks,
        "calendar_blocking": tech.calendar_blocking,
        "notify_email": tech.notify_email,
        "active": tech.active,
    }


def _tech(row: TechnicianRow) -> Technician:
    return Technician(
        id=TechId(row.id),
        name=row.name,
        email=row.email,
        timezone=row.timezone,
        hours=hours_from_text(row.hours),
        color=row.color,
        tentative_blocks=row.tentative_blocks,
        calendar_blocking=row.calendar_blocking,
        notify_email=row.notify_email,
        active=row.active,
    )


class SqlTechnicianRepository(SqlRepository):
    def add(self, tech: Technician) -> None:
        self._session.add(TechnicianRow(id=tech.id, **_tech_values(tech)))

    def update(self, tech: Technician) -> None:
        assign(existing(self._session, TechnicianRow, tech.id, "technician"), _tech_values(tech))

    def get(self, tech_id: TechId) -> Technician | None:
        row = self._session.get(TechnicianRow, tech_id)
        return None if row is None else _tech(row)

    def by_name(self, name: str) -> Technician | None:
        query = (
            select(TechnicianRow).where(TechnicianRow.name_key == name_key(name)).order_by(TechnicianRow.id)
        )
        row = self._session.scalars(query.limit(1)).first()
        return None if row is None else _tech(row)

    def list(self, include_inactive: bool = False) -> builtins.list[Technician]:
        query = select(TechnicianRow).order_by(TechnicianRow.name_key, TechnicianRow.id)
        if not include_inactive:
            query = query.where(TechnicianRow.active.is_(True))
        return [_tech(row) for row in self._session.scalars(query)]


# --- customers ----------------------------------------------------------------------------


def _customer_values(customer: Customer) -> dict[str, Any]:
    searchable = "\n".join((customer.name, customer.address, customer.phone, customer.email))
    return {
        "name": customer.name,
        "name_key": name_key(customer.name),
        "address": customer.address,
        "phone": customer.phone,
        "email": customer.email,
        "notes": customer.notes,
        "search_key": searchable.casefold(),
    }


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=CustomerId(row.id),
        name=row.name,
        address=row.address,
        phone=row.phone,
        email=row.email,
        notes=row.notes,
    )


class SqlCustomerRepository(SqlRepository):
    def add(self, customer: Customer) -> None:
        self._session.add(CustomerRow(id=customer.id, **_customer_values(customer)))

    def update(self, customer: Customer) -> None:
        assign(existing(self._session, CustomerRow, customer.id, "customer"), _customer_values(customer))

    def get(self, customer_id: CustomerId) -> Customer | None:
        row = self._session.get(CustomerRow, customer_id)
        return None if row is None else _customer(row)

    def many(self, customer_ids: Iterable[CustomerId]) -> builtins.list[Customer]:
        ids = sorted(set(customer_ids))
        found: builtins.list[Customer] = []
        for start in range(0, len(ids), _CHUNK):  # within every database's bound-parameter limit
            query = select(CustomerRow).where(CustomerRow.id.in_(ids[start : start + _CHUNK]))
            found += [_customer(row) for row in self._session.scalars(query)]
        return found

    def by_name(self, name: str) -> Customer | None:
        """Case-insensitive exact name match (the oldest id wins if two share a name)."""
        query = select(CustomerRow).where(CustomerRow.name_key == name_key(name)).order_by(CustomerRow.id)
        row = self._session.scalars(query.limit(1)).first()
        return None if row is None else _customer(row)

    def search(self, text: str, limit: int = 20) -> builtins.list[Customer]:
        """Customers whose name, address, phone or email contains `text`; names starting with it first."""
        key = text.strip().casefold()
        query = select(CustomerRow)
        if key:
            query = query.where(CustomerRow.search_key.like(like_anywhere(key), escape="\\")).order_by(
                case((CustomerRow.name_key.like(like_prefix(key), escape="\\"), 0), else_=1)
            )
        query = query.order_by(CustomerRow.name_key, CustomerRow.id).limit(limit)
        return [_customer(row) for row in self._session.scalars(query)]

    def list(self) -> builtins.list[Customer]:
        query = select(CustomerRow).order_by(CustomerRow.name_key, CustomerRow.id)
        return [_customer(row) for row in self._session.scalars(query)]


# --- time off -----------------------------------------------------------------------------


def _time_off(row: TimeOffRow) -> TimeOff:
    return TimeOff(
        id=TimeOffId(row.id),
        tech_id=TechId(row.tech_id),
        reason=row.reason,
        start=row.start,
        end=row.end,
        first_day=row.first_day,
        end_day=row.end_day,
    )


class SqlTimeOffRepository(SqlRepository):
    def add(self, item: TimeOff) -> None:
        self._session.add(
            TimeOffRow(
                id=item.id,
                tech_id=item.tech_id,
                reason=item.reason,
                start=item.start,
                end=item.end,
                first_day=item.first_day,
                end_day=item.end_day,
            )
        )

    def remove(self, item_id: TimeOffId) -> None:
        """Forget one item; removing one already gone is not an error."""
        row = self._session.get(TimeOffRow, item_id)
        if row is not None:
            self._session.delete(row)  # through the ORM, so the change feed sees whose time it was

    def for_techs(self, tech_ids: Sequence[TechId]) -> builtins.list[TimeOff]:
        query = (
            select(TimeOffRow)
            .where(TimeOffRow.tech_id.in_(tech_ids))
            .order_by(TimeOffRow.tech_id, TimeOffRow.first_day, TimeOffRow.start, TimeOffRow.id)
        )
        return [_time_off(row) for row in self._session.scalars(query)]
