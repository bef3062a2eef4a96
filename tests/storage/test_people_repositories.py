"""Technicians, customers and time off round-trip through the database unchanged."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from app.domain.hours import BusinessHours
from app.domain.ids import TechId, TimeOffId, new_id
from app.domain.model import CalendarBlocking, Customer, Technician, TimeOff
from app.errors import NotFound
from storage import Database
from tests.storage.conftest import T0, customer, tech


def test_technician_round_trip_and_update(db: Database) -> None:
    ana = tech(
        color="#ef4444",
        tentative_blocks=True,
        calendar_blocking=CalendarBlocking.PRIMARY_ONLY,
        notify_email="ana.alerts@example.com",
    )
    with db.unit_of_work() as uow:
        uow.techs.add(ana)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.techs.get(ana.id) == ana
    moved = dataclasses.replace(
        ana, name="Ana Ruiz-Lopez", timezone="America/Denver", hours=BusinessHours.default()
    )
    with db.unit_of_work() as uow:
        uow.techs.update(moved)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.techs.get(ana.id) == moved
        assert uow.techs.get(TechId(new_id())) is None


def test_hours_keep_midnight_ends_and_closed_weeks(db: Database) -> None:
    night = tech("Nia Shaw", hours=BusinessHours.parse("fri 18:00-24:00; sat 00:00-06:00"))
    never = tech("Ola Berg", hours=BusinessHours(((),) * 7))
    with db.unit_of_work() as uow:
        uow.techs.add(night)
        uow.techs.add(never)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.techs.get(night.id) == night
        assert uow.techs.get(never.id) == never


def test_technician_by_name_ignores_case_including_non_ascii(db: Database) -> None:
    zoe = tech("Zoë Öztürk")
    with db.unit_of_work() as uow:
        uow.techs.add(zoe)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.techs.by_name("ZOË ÖZTÜRK") == zoe
        assert uow.techs.by_name(" zoë öztürk ") == zoe
        assert uow.techs.by_name("Zoe Ozturk") is None


def test_technician_list_hides_inactive_unless_asked(db: Database) -> None:
    ben, ana, cy = tech("ben Okafor"), tech("Ana Ruiz"), tech("Cy Park", active=False)
    with db.unit_of_work() as uow:
        for person in (ben, ana, cy):
            uow.techs.add(person)
        uow.commit()
    with db.unit_of_work() as uow:
        assert [t.name for t in uow.techs.list()] == ["Ana Ruiz", "ben Okafor"]
        assert [t.name for t in uow.techs.list(include_inactive=True)] == [
            "Ana Ruiz",
            "ben Okafor",
            "Cy Park",
        ]


def test_updating_a_missing_technician_says_so(db: Database) -> None:
    with db.unit_of_work() as uow, pytest.raises(NotFound, match="technician"):
        uow.techs.update(tech())


def test_customer_round_trip_update_and_lookup(db: Database) -> None:
    harbor = customer(notes="Gate code 4411")
    with db.unit_of_work() as uow:
        uow.customers.add(harbor)
        uow.commit()
    changed = dataclasses.replace(harbor, phone="+1 409 555 0199", notes="")
    with db.unit_of_work() as uow:
        assert uow.customers.get(harbor.id) == harbor
        assert uow.customers.by_name("harbor dental") == harbor
        uow.customers.update(changed)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.customers.get(harbor.id) == changed
        assert uow.customers.list() == [changed]


def test_customer_search_matches_any_contact_field_names_first(db: Database) -> None:
    people = [
        customer("Bayview Clinic", address="3 Harbor St"),
        customer("Harbor Dental"),
        customer("Cole Motors", email="harbor@cole.example", address="9 Main"),
        customer("Dune Cafe", address="1 Sand Ave", phone="+1 409 555 0177", email="cafe@dune.example"),
        customer("100% Pure_Water", address="", phone="", email=""),
    ]
    with db.unit_of_work() as uow:
        for person in people:
            uow.customers.add(person)
        uow.commit()
    with db.unit_of_work() as uow:
        assert [c.name for c in uow.customers.search("HARBOR")] == [
            "Harbor Dental",
            "Bayview Clinic",
            "Cole Motors",
        ]
        assert [c.name for c in uow.customers.search("555 0177")] == ["Dune Cafe"]
        assert [c.name for c in uow.customers.search("harbor", limit=1)] == ["Harbor Dental"]
        assert [c.name for c in uow.customers.search("0% P")] == ["100% Pure_Water"]
        assert [c.name for c in uow.customers.search("_")] == ["100% Pure_Water"]  # no wildcards
        assert len(uow.customers.search("")) == 5


def test_time_off_for_techs_and_remove(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, _ = people
    ben = tech("Ben Okafor")
    days = TimeOff(
        TimeOffId(new_id()), ana.id, "Vacation", first_day=date(2026, 12, 24), end_day=date(2026, 12, 27)
    )
    hours = TimeOff(TimeOffId(new_id()), ana.id, "Dentist", start=T0, end=T0 + timedelta(hours=2))
    other = TimeOff(TimeOffId(new_id()), ben.id, "Training", start=T0, end=T0 + timedelta(hours=8))
    with db.unit_of_work() as uow:
        uow.techs.add(ben)
        for item in (days, hours, other):
            uow.time_off.add(item)
        uow.commit()
    with db.unit_of_work() as uow:
        assert set(uow.time_off.for_techs([ana.id])) == {days, hours}
        assert set(uow.time_off.for_techs([ana.id, ben.id])) == {days, hours, other}
        assert uow.time_off.for_techs([]) == []
        uow.time_off.remove(hours.id)
        uow.time_off.remove(hours.id)  # already gone: no error
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.time_off.for_techs([ana.id]) == [days]
