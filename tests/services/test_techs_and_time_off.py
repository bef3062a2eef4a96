"""Editing and removing technicians, listing and removing time off, over a real store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.domain.ids import AccountId
from app.domain.model import AccountStatus, CalendarAccount, Provider
from app.errors import InvalidInput, NotFound, Refused
from app.services.bookings import NewBooking
from app.services.container import Services

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _techs(services: Services) -> None:
    services.techs.add("Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    services.techs.add("Sam Okafor", "sam@example.com", "America/Los_Angeles", "mon-fri 08:00-17:00")


def test_edit_changes_only_the_given_fields(services: Services) -> None:
    _techs(services)
    before = services.techs.find("Sam Okafor")
    edited = services.techs.edit("sam", timezone="America/Denver", color="#ABCDEF")
    assert (edited.timezone, edited.color) == ("America/Denver", "#abcdef")
    assert (edited.name, edited.email, edited.hours) == (before.name, before.email, before.hours)
    assert services.techs.find("Sam Okafor") == edited


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({}, InvalidInput, "Say what to change"),
        ({"name": "maria lopez"}, InvalidInput, "already exists"),
        ({"name": "  "}, InvalidInput, "needs a name"),
        ({"email": "nope"}, InvalidInput, "not an email address"),
        ({"hours": "mon-fri 9-5"}, InvalidInput, "not understood"),
        ({"timezone": "Mars/Base"}, InvalidInput, "Unknown time zone"),
    ],
)
def test_bad_edits_change_nothing(
    services: Services, changes: dict[str, str], error: type[Exception], message: str
) -> None:
    _techs(services)
    before = services.techs.list()
    with pytest.raises(error, match=message):
        services.techs.edit("Sam Okafor", **changes)
    assert services.techs.list() == before


def test_remove_is_refused_while_the_tech_has_jobs_to_do(services: Services) -> None:
    _techs(services)
    past = services.bookings.create(
        NewBooking("Kim", "AC", timedelta(hours=1), NOW - timedelta(days=3), "Maria Lopez"), force=True
    )
    upcoming = services.bookings.create(
        NewBooking("Kim", "AC", timedelta(hours=1), NOW + timedelta(days=3), "Maria Lopez"), force=True
    )
    with pytest.raises(Refused, match=r"Maria Lopez has 1 upcoming job\(s\); reassign or cancel them"):
        services.techs.remove("Maria", NOW)
    services.bookings.cancel(upcoming.id)
    removed = services.techs.remove("Maria", NOW)
    assert not removed.active
    assert [t.name for t in services.techs.list()] == ["Sam Okafor"]
    assert services.bookings.get(past.id).tech_id == removed.id  # history stays
    with pytest.raises(NotFound):
        services.techs.find("Maria Lopez")
    again = services.techs.add("Maria Lopez", "maria@example.com", "UTC")
    assert services.techs.find("Maria Lopez") == again


def test_remove_is_refused_while_a_calendar_is_connected(services: Services) -> None:
    _techs(services)
    tech = services.techs.find("Sam")
    account = CalendarAccount(AccountId("acc-1"), tech.id, Provider.GOOGLE, "sam@gmail.test", "google:sam")
    with services.uow() as uow:
        uow.accounts.add(account)
        uow.commit()
    with pytest.raises(Refused, match=r"calendar sam@gmail\.test is still connected; disconnect it first"):
        services.techs.remove("Sam", NOW)
    with services.uow() as uow:
        uow.accounts.update(
            CalendarAccount(
                account.id,
                tech.id,
                Provider.GOOGLE,
                "sam@gmail.test",
                "google:sam",
                status=AccountStatus.DISCONNECTED,
            )
        )
        uow.commit()
    assert not services.techs.remove("Sam", NOW).active


def test_time_off_is_listed_found_by_short_id_and_removed(services: Services) -> None:
    _techs(services)
    days = services.time_off.add_days("Maria Lopez", date(2026, 12, 24), 2, "Holidays")
    span = services.time_off.add_span("Sam", NOW, NOW + timedelta(hours=1), "Dentist")
    assert [i.id for i in services.time_off.list()] == [span.id, days.id]
    assert [i.id for i in services.time_off.list("maria")] == [days.id]
    assert services.time_off.find(days.id[:8]) == days
    with pytest.raises(NotFound, match="No time off with id 'nothing'"):
        services.time_off.find("nothing")
    services.time_off.remove(days)
    assert [i.id for i in services.time_off.list()] == [span.id]
    with services.uow() as uow:
        assert any(e.action == "timeoff.removed" for e in uow.audit.recent())
