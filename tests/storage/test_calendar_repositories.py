"""Accounts, calendars, remote events, busy blocks and event links round-trip and filter."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from app.domain.ids import CalendarId, TechId, new_id
from app.domain.model import (
    AccountStatus,
    BusyBlock,
    BusySource,
    Calendar,
    Customer,
    EventLink,
    EventTime,
    Provider,
    RemoteEvent,
    Response,
    ShowAs,
    Technician,
)
from app.domain.time import Interval
from storage import Database
from tests.storage.conftest import T0, account, booking, calendar, tech
from tests.storage.plans import query_plan

HOUR = timedelta(hours=1)


def test_accounts_round_trip_update_and_lists(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, _ = people
    google = account(ana.id)
    outlook = account(
        ana.id, provider=Provider.MICROSOFT, email="ana@outlook.example", endpoint="http://127.0.0.1:9"
    )
    with db.unit_of_work() as uow:
        uow.accounts.add(google)
        uow.accounts.add(outlook)
        uow.commit()
    revoked = dataclasses.replace(google, status=AccountStatus.REVOKED)
    with db.unit_of_work() as uow:
        assert uow.accounts.get(outlook.id) == outlook
        uow.accounts.update(revoked)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.accounts.for_tech(ana.id) == [revoked, outlook]
        assert uow.accounts.list() == [revoked, outlook]
        assert uow.accounts.for_tech(TechId(new_id())) == []


def test_no_column_could_hold_a_token(db: Database) -> None:
    with db.engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("calendar_accounts")}
    assert not {name for name in columns if "token" in name} - {"token_ref"}
    assert not {name for name in columns if "secret" in name or "password" in name}


def test_calendars_round_trip_and_lookups(db: Database, people: tuple[Technician, Customer]) -> None:
    ana, _ = people
    acct = account(ana.id)
    primary = calendar(acct.id)
    team = calendar(acct.id, "team@group.calendar.example", name="Team", primary=False, blocks=False)
    with db.unit_of_work() as uow:
        uow.accounts.add(acct)
        uow.calendars.add(team)
        uow.calendars.add(primary)
        uow.commit()
    watched = dataclasses.replace(
        primary,
        sync_cursor="CPDAlvWDx70CEPDAlvWDx70CGAU=",
        channel_id="chan-1",
        channel_resource_id="res-1",
        channel_expires=T0 + 7 * 24 * HOUR,
    )
    with db.unit_of_work() as uow:
        uow.calendars.update(watched)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.calendars.get(primary.id) == watched
        assert uow.calendars.by_remote_id(acct.id, "team@group.calendar.example") == team
        assert uow.calendars.by_remote_id(acct.id, "nope") is None
        assert uow.calendars.for_account(acct.id) == [watched, team]
        assert uow.calendars.list() == [watched, team]


def _timed_event(calendar_id: CalendarId, remote_id: str, start: datetime, **changes: object) -> RemoteEvent:
    values: dict[str, object] = {
        "calendar_id": calendar_id,
        "remote_id": remote_id,
        "etag": '"3181161784712000"',
        "when": EventTime(start=start, end=start + HOUR, timezone="America/Chicago"),
    }
    values.update(changes)
    return RemoteEvent(**values)  # type: ignore[arg-type]


def test_remote_events_upsert_get_delete(db: Database, google_calendar: Calendar) -> None:
    cal = google_calendar.id
    weekly = _timed_event(
        cal,
        "evt-weekly",
        T0,
        title="Standup",
        recurrence=("RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=America/Chicago:20261109T030000"),
        response=Response.ACCEPTED,
        updated=T0 - HOUR,
    )
    all_day = RemoteEvent(
        calendar_id=cal,
        remote_id="evt-vacation",
        etag="e1",
        when=EventTime(start_date=date(2026, 12, 24), end_date=date(2026, 12, 27)),
        show_as=ShowAs.OUT_OF_OFFICE,
        private=True,
    )
    with db.unit_of_work() as uow:
        uow.remote_events.upsert(weekly)
        uow.remote_events.upsert(all_day)
        uow.commit()
    edited = dataclasses.replace(
        weekly, etag="e2", title=None, private=True, recurrence=("RRULE:FREQ=DAILY",)
    )
    with db.unit_of_work() as uow:
        assert uow.remote_events.get(cal, "evt-weekly") == weekly
        assert uow.remote_events.get(cal, "evt-vacation") == all_day
        uow.remote_events.upsert(edited)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.remote_events.for_calendar(cal) == [all_day, edited]
        uow.remote_events.delete(cal, "evt-vacation")
        uow.remote_events.delete(cal, "evt-vacation")  # already gone: no error
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.remote_events.for_calendar(cal) == [edited]


def test_instances_of_a_master_and_clearing_a_calendar(db: Database, google_calendar: Calendar) -> None:
    cal = google_calendar.id
    master = _timed_event(cal, "series", T0, recurrence=("RRULE:FREQ=DAILY;COUNT=5",))
    moved = _timed_event(
        cal,
        "series_20261104T150000Z",
        T0 + 50 * HOUR,
        master_remote_id="series",
        original_start=T0 + 48 * HOUR,
    )
    dropped = _timed_event(
        cal,
        "series_20261103T150000Z",
        T0 + 24 * HOUR,
        master_remote_id="series",
        original_start=T0 + 24 * HOUR,
        cancelled=True,
        booking_id=None,
    )
    linked = _timed_event(cal, "job-event", T0 + 4 * HOUR, booking_id=new_id())
    with db.unit_of_work() as uow:
        for event in (master, moved, dropped, linked):
            uow.remote_events.upsert(event)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.remote_events.instances_of(cal, "series") == [dropped, moved]
        assert uow.remote_events.get(cal, "job-event") == linked  # names a booking this database never had
        uow.remote_events.clear_calendar(cal)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.remote_events.for_calendar(cal) == []


def test_upsert_many_inserts_updates_and_keeps_the_last_of_a_repeated_event(
    db: Database, google_calendar: Calendar
) -> None:
    cal = google_calendar.id
    kept = _timed_event(cal, "kept", T0, title="Stays as it was")
    old = _timed_event(cal, "edited", T0 + HOUR, title="Before")
    with db.unit_of_work() as uow:
        uow.remote_events.upsert_many(cal, [kept, old])
        uow.commit()
    edited = dataclasses.replace(old, etag="e2", title="After")
    first = _timed_event(cal, "twice", T0 + 2 * HOUR, etag="e1")
    second = dataclasses.replace(first, etag="e2", title="Moved under the read")
    many = [_timed_event(cal, f"bulk-{n:04d}", T0 + n * HOUR) for n in range(1200)]  # several chunks
    with db.unit_of_work() as uow:
        uow.remote_events.upsert_many(cal, [edited, first, *many, second])
        uow.commit()
    with db.unit_of_work() as uow:
        stored = {e.remote_id: e for e in uow.remote_events.for_calendar(cal)}
    assert len(stored) == 3 + len(many)
    assert (stored["kept"], stored["edited"], stored["twice"]) == (kept, edited, second)
    assert stored["bulk-1199"] == many[-1]
    with db.unit_of_work() as uow, pytest.raises(ValueError, match="stored under calendar"):
        uow.remote_events.upsert_many(cal, [_timed_event(CalendarId(new_id()), "stray", T0)])


def test_series_finds_masters_their_instances_and_single_events(
    db: Database, google_calendar: Calendar
) -> None:
    cal = google_calendar.id
    master = _timed_event(cal, "series", T0, recurrence=("RRULE:FREQ=DAILY;COUNT=5",))
    moved = _timed_event(
        cal, "series_1", T0 + 26 * HOUR, master_remote_id="series", original_start=T0 + 24 * HOUR
    )
    single = _timed_event(cal, "single", T0 + 3 * HOUR)
    other = _timed_event(cal, "other", T0 + 5 * HOUR)
    with db.unit_of_work() as uow:
        uow.remote_events.upsert_many(cal, [master, moved, single, other])
        uow.commit()
    with db.unit_of_work() as uow:

        def by_id(keys: Iterable[str]) -> list[str]:
            return sorted(e.remote_id for e in uow.remote_events.series(cal, keys))

        assert by_id({"series", "single"}) == ["series", "series_1", "single"]
        assert by_id({"series_1"}) == ["series_1"]  # an instance alone, without its master
        assert by_id({"gone"}) == []
        assert by_id([f"k{n}" for n in range(1100)] + ["other"]) == ["other"]


def _block(
    tech_id: TechId, calendar_id: CalendarId, start: datetime, hours: int = 1, **changes: object
) -> BusyBlock:
    values: dict[str, object] = {
        "tech_id": tech_id,
        "interval": Interval(start, start + hours * HOUR),
        "source": BusySource.CALENDAR,
        "calendar_id": calendar_id,
        "remote_id": "series",
        "calendar_name": "Ana",
    }
    values.update(changes)
    return BusyBlock(**values)  # type: ignore[arg-type]


def test_busy_blocks_replace_and_read_by_window(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, _ = people
    cal = google_calendar.id
    days = [_block(ana.id, cal, T0 + n * 24 * HOUR, remote_id=f"series_{n}") for n in range(5)]
    lunch = _block(ana.id, cal, T0 + 3 * HOUR, remote_id="lunch", title="Lunch", tentative=True)
    holiday = _block(ana.id, cal, T0 - 24 * HOUR, hours=24, remote_id="holiday", all_day=True)
    with db.unit_of_work() as uow:
        uow.busy.replace_for_event(cal, "series", days)
        uow.busy.replace_for_event(cal, "lunch", [lunch])
        uow.busy.replace_for_event(cal, "holiday", [holiday])
        uow.commit()
    window = Interval(T0, T0 + 48 * HOUR)
    with db.unit_of_work() as uow:
        assert uow.busy.for_techs([ana.id], window) == [days[0], lunch, days[1]]
        assert sorted(uow.busy.spans([ana.id], window), key=lambda s: s[1]) == [
            (ana.id, b.interval) for b in (days[0], lunch, days[1])
        ]
        assert uow.busy.for_techs([TechId(new_id())], window) == []
        assert uow.busy.spans([TechId(new_id())], window) == []
        uow.busy.replace_for_event(cal, "series", days[3:])
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.busy.for_techs([ana.id], window) == [lunch]
        assert uow.busy.for_techs([ana.id], Interval(T0 - 48 * HOUR, T0 + timedelta(seconds=1))) == [holiday]
        uow.busy.replace_for_event(cal, "lunch", [])
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.busy.for_techs([ana.id], window) == []
        uow.busy.clear_calendar(cal)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.busy.for_techs([ana.id], Interval(T0 - 100 * HOUR, T0 + 200 * HOUR)) == []


def test_replacing_the_blocks_of_many_events_at_once(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, _ = people
    cal = google_calendar.id
    window = Interval(T0 - 24 * HOUR, T0 + 2000 * HOUR)
    first = {f"e{n}": [_block(ana.id, cal, T0 + n * HOUR, remote_id=f"e{n}")] for n in range(700)}
    with db.unit_of_work() as uow:
        uow.busy.replace_for_events(cal, first)
        uow.commit()
    again = {"e1": [], "e2": [_block(ana.id, cal, T0 + 1000 * HOUR, remote_id="e2")], "new": []}
    with db.unit_of_work() as uow:
        assert len(uow.busy.for_techs([ana.id], window)) == 700
        uow.busy.replace_for_events(cal, again)
        uow.commit()
    with db.unit_of_work() as uow:
        blocks = uow.busy.for_techs([ana.id], window)
    assert len(blocks) == 699  # e1 gone, e2 moved, the rest untouched
    assert blocks[-1] == again["e2"][0]
    assert first["e1"][0] not in blocks and first["e2"][0] not in blocks


def test_one_calendars_blocks_leave_out_its_neighbours_and_anything_else_in_the_window(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, _ = people
    cal = google_calendar.id
    other = calendar(google_calendar.account_id, remote_id="family@example.test")
    with db.unit_of_work() as uow:
        uow.calendars.add(other)
        uow.commit()
    mine = [_block(ana.id, cal, T0 + n * HOUR, remote_id=f"e{n}") for n in range(3)]
    before = _block(ana.id, cal, T0 - 5 * HOUR, remote_id="early")
    theirs = _block(ana.id, other.id, T0, remote_id="family")
    with db.unit_of_work() as uow:
        uow.busy.replace_for_events(cal, {"series": mine, "early": [before]})
        uow.busy.replace_for_events(other.id, {"family": [theirs]})
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.busy.for_calendar(cal, Interval(T0, T0 + 24 * HOUR)) == mine
        assert uow.busy.for_calendar(cal, Interval(T0 - 24 * HOUR, T0)) == [before]
        assert uow.busy.for_calendar(other.id, Interval(T0, T0 + 24 * HOUR)) == [theirs]


@pytest.mark.sqlite_only
def test_busy_blocks_for_many_techs_use_the_index(db: Database) -> None:
    ids = [TechId(new_id()) for _ in range(50)]
    with db.unit_of_work() as uow:
        plan = query_plan(db, lambda: uow.busy.for_techs(ids, Interval(T0, T0 + 7 * 24 * HOUR)))
    assert "SEARCH busy_blocks USING INDEX ix_busy_blocks_tech_id_start_end (tech_id=? AND start<?)" in plan


def test_a_board_week_for_fifty_techs(db: Database, google_calendar: Calendar) -> None:
    crew = [tech(f"Tech {n:02d}") for n in range(50)]
    monday = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    with db.unit_of_work() as uow:
        for person in crew:
            uow.techs.add(person)
        for person in crew:
            blocks = [
                _block(person.id, google_calendar.id, monday + day * 24 * HOUR) for day in range(-30, 60)
            ]
            uow.busy.replace_for_event(google_calendar.id, f"daily-{person.id}", blocks)
        uow.commit()
    with db.unit_of_work() as uow:
        week = uow.busy.for_techs([p.id for p in crew], Interval(monday, monday + 7 * 24 * HOUR))
    assert len(week) == 50 * 7
    assert [b.interval.start for b in week] == sorted(b.interval.start for b in week)


def test_event_links_put_lookup_remove(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, harbor = people
    job = booking(harbor.id, ana.id, T0)
    link = EventLink(job.id, google_calendar.id, "crewboard" + job.id, None, "sha256:aa", 1)
    with db.unit_of_work() as uow:
        uow.bookings.add(job)
        uow.links.put(link)
        uow.commit()
    written = dataclasses.replace(link, etag='"99"', content_hash="sha256:bb", booking_version=2)
    with db.unit_of_work() as uow:
        assert uow.links.for_booking(job.id) == link
        assert uow.links.by_remote(google_calendar.id, link.remote_id) == link
        uow.links.put(written)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.links.for_booking(job.id) == written
        uow.links.remove(job.id)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.links.for_booking(job.id) is None
        assert uow.links.by_remote(google_calendar.id, link.remote_id) is None


def test_deleting_rows_follows_the_foreign_key_rules(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, harbor = people
    job = booking(harbor.id, ana.id, T0)
    with db.unit_of_work() as uow:
        uow.bookings.add(job)
        uow.links.put(EventLink(job.id, google_calendar.id, "evt", None, "h", 1))
        uow.busy.replace_for_event(google_calendar.id, "evt", [_block(ana.id, google_calendar.id, T0)])
        uow.commit()
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM technicians"))
    with db.unit_of_work() as uow:
        kept = uow.bookings.get(job.id)
        assert kept is not None and kept.tech_id is None  # the job survives, unassigned
        assert uow.accounts.list() == []
        assert uow.calendars.list() == []
        assert uow.links.for_booking(job.id) is None
        assert uow.busy.for_techs([ana.id], Interval(T0 - HOUR, T0 + HOUR)) == []
