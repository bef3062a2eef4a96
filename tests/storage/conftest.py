"""Fixtures for storage tests: a migrated database per test on SQLite and PostgreSQL, and ready-made domain values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.hours import BusinessHours
from app.domain.ids import AccountId, BookingId, CalendarId, CustomerId, TechId, new_id
from app.domain.model import Booking, Calendar, CalendarAccount, Customer, Provider, Technician
from storage import Database, open_database
from storage.engine import is_sqlite
from storage.types import utc_text

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday morning
# What each database says when a constraint refuses a write (SQLite, then PostgreSQL).
UNIQUE = r"UNIQUE constraint failed|duplicate key value violates unique constraint"
FOREIGN_KEY = r"FOREIGN KEY constraint failed|violates foreign key constraint"


def stored_instant(db: Database, moment: datetime) -> object:
    """How `moment` reads back from an instant column in raw SQL: UTC text on SQLite, timestamptz on PostgreSQL."""
    return utc_text(moment) if is_sqlite(db.url) else moment.astimezone(UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "crewboard.db"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend (tests/conftest.py runs storage tests on both)."""
    database = open_database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(db_path: Path) -> Iterator[Database]:
    """A migrated SQLite file, for tests of what only SQLite has (pragmas, file size caps)."""
    database = open_database(str(db_path))
    yield database
    database.dispose()


def tech(name: str = "Ana Ruiz", **changes: object) -> Technician:
    values: dict[str, object] = {
        "id": TechId(new_id()),
        "name": name,
        "email": f"{name.split()[0].lower()}@example.com",
        "timezone": "America/Chicago",
        "hours": BusinessHours.parse("mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00"),
    }
    values.update(changes)
    return Technician(**values)  # type: ignore[arg-type]


def customer(name: str = "Harbor Dental", **changes: object) -> Customer:
    values: dict[str, object] = {
        "id": CustomerId(new_id()),
        "name": name,
        "address": "12 Pier Rd, Galveston",
        "phone": "+1 409 555 0100",
        "email": "desk@harbor.example",
    }
    values.update(changes)
    return Customer(**values)  # type: ignore[arg-type]


def booking(
    customer_id: CustomerId, tech_id: TechId | None, start: datetime | None, **changes: object
) -> Booking:
    values: dict[str, object] = {
        "id": BookingId(new_id()),
        "customer_id": customer_id,
        "tech_id": tech_id,
        "service": "AC repair",
        "start": start,
        "duration": timedelta(hours=2),
        "created_at": T0 - timedelta(days=7),
        "updated_at": T0 - timedelta(days=7),
    }
    values.update(changes)
    return Booking(**values)  # type: ignore[arg-type]


def account(tech_id: TechId, **changes: object) -> CalendarAccount:
    values: dict[str, object] = {
        "id": AccountId(new_id()),
        "tech_id": tech_id,
        "provider": Provider.GOOGLE,
        "email": "ana@gmail.example",
        "token_ref": "crewboard/google/ana@gmail.example",
    }
    values.update(changes)
    return CalendarAccount(**values)  # type: ignore[arg-type]


def calendar(account_id: AccountId, remote_id: str = "primary", **changes: object) -> Calendar:
    values: dict[str, object] = {
        "id": CalendarId(new_id()),
        "account_id": account_id,
        "remote_id": remote_id,
        "name": "Ana",
        "primary": True,
        "blocks": True,
    }
    values.update(changes)
    return Calendar(**values)  # type: ignore[arg-type]


@pytest.fixture
def people(db: Database) -> tuple[Technician, Customer]:
    """One stored tech and one stored customer, for tests that need rows to point at."""
    ana, harbor = tech(), customer()
    with db.unit_of_work() as uow:
        uow.techs.add(ana)
        uow.customers.add(harbor)
        uow.commit()
    return ana, harbor


@pytest.fixture
def google_calendar(db: Database, people: tuple[Technician, Customer]) -> Calendar:
    """A stored account and primary calendar for the stored tech."""
    ana, _ = people
    acct = account(ana.id)
    cal = calendar(acct.id)
    with db.unit_of_work() as uow:
        uow.accounts.add(acct)
        uow.calendars.add(cal)
        uow.commit()
    return cal
