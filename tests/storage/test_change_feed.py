"""The change feed: every committed change numbered in commit order, nothing for what was rolled back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy.orm import Mapper

from app.domain.changes import Change, ChangeKind
from app.domain.ids import TimeOffId, new_id
from app.domain.model import BusyBlock, BusySource, Calendar, Customer, SyncHealth, Technician, TimeOff
from app.domain.time import Interval
from app.services.sync_queue import changed_row
from storage import Database, SqlUnitOfWork, open_database
from storage.change_feed import CHANNEL, CLASSIFY
from storage.engine import is_postgresql
from storage.orm import Base
from tests.storage.conftest import T0, booking, customer, tech

HOUR = timedelta(hours=1)


def _feed(db: Database, after: int = 0) -> list[Change]:
    with db.unit_of_work(read_only=True) as uow:
        return uow.changes.since(after)


def _kinds(changes: list[Change]) -> list[tuple[ChangeKind, str]]:
    return [(change.kind, change.item_id) for change in changes]


def test_every_table_is_classified() -> None:
    mapped = {mapper.class_ for mapper in Base.registry.mappers if isinstance(mapper, Mapper)}
    assert mapped == set(CLASSIFY), (
        "decide in storage.change_feed.CLASSIFY what a change to a new table means"
    )


def test_a_commit_numbers_its_changes_signed_by_the_desk(db: Database) -> None:
    ana, harbor = tech(), customer()
    job = booking(harbor.id, ana.id, T0)
    with db.unit_of_work() as uow:
        assert uow.changes.last_seq() == 0
        uow.techs.add(ana)
        uow.customers.add(harbor)
        uow.bookings.add(job)
        uow.settings.put("office.timezone", "America/Chicago")
        uow.commit()
    changes = _feed(db)
    assert [change.seq for change in changes] == [1, 2, 3, 4]
    assert set(_kinds(changes)) == {
        (ChangeKind.TECH, ana.id),
        (ChangeKind.CUSTOMER, harbor.id),
        (ChangeKind.BOOKING, job.id),
        (ChangeKind.SETTINGS, "office.timezone"),
    }
    assert {change.desk for change in changes} == {db.desk}
    with db.unit_of_work() as uow:
        assert uow.changes.last_seq() == 4
        uow.bookings.update(replace(job, start=T0 + HOUR, version=2))
        uow.commit()
    assert _kinds(_feed(db, after=4)) == [(ChangeKind.BOOKING, job.id)]


def test_nothing_is_recorded_for_a_rollback_or_a_write_that_changes_nothing(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    before = _feed(db)[-1].seq
    with db.unit_of_work() as uow:
        uow.techs.update(ana)  # the same values: the ORM writes nothing
        uow.commit()
    with db.unit_of_work() as uow:
        uow.customers.update(replace(harbor, phone="+1 409 555 0199"))
        uow.rollback()
        uow.commit()
    with db.unit_of_work() as uow:
        uow.customers.update(replace(harbor, phone="+1 409 555 0199"))
        # leaving the block without commit() rolls back
    assert _feed(db, after=before) == []


def test_bulk_busy_writes_time_off_and_removed_settings_are_recorded(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    ana, _ = people
    block = BusyBlock(
        tech_id=ana.id,
        interval=Interval(T0, T0 + HOUR),
        source=BusySource.CALENDAR,
        calendar_id=google_calendar.id,
        remote_id="dentist",
    )
    day_off = TimeOff(id=TimeOffId(new_id()), tech_id=ana.id, reason="Dentist", start=T0, end=T0 + HOUR)
    with db.unit_of_work() as uow:
        uow.settings.put("alerts.owner", "owner@example.com")
        uow.commit()
    steps: list[Callable[[SqlUnitOfWork], None]] = [
        lambda uow: uow.busy.replace_for_event(google_calendar.id, "dentist", [block]),
        lambda uow: uow.busy.replace_for_event(google_calendar.id, "dentist", []),
        lambda uow: uow.busy.replace_for_event(google_calendar.id, "dentist", [block]),
        lambda uow: uow.busy.clear_calendar(google_calendar.id),
        lambda uow: uow.time_off.add(day_off),
        lambda uow: uow.time_off.remove(day_off.id),
        lambda uow: uow.settings.remove("alerts.owner"),
    ]
    expected = [(ChangeKind.BUSY, ana.id)] * 6 + [(ChangeKind.SETTINGS, "alerts.owner")]
    for step, change in zip(steps, expected, strict=True):
        before = _feed(db)[-1].seq
        with db.unit_of_work() as uow:
            step(uow)
            uow.commit()
        assert _kinds(_feed(db, after=before)) == [change]
    before = _feed(db)[-1].seq
    with db.unit_of_work() as uow:
        uow.busy.clear_calendar(google_calendar.id)  # nothing left to clear
        uow.settings.remove("alerts.owner")  # already gone
        uow.commit()
    assert _feed(db, after=before) == []


def test_concurrent_writers_number_gap_free_in_commit_order(db_url: str) -> None:
    """Four programs write at once while a fifth reads the feed: the reader never sees a number
    before every lower one, and each commit's entries are one unbroken run."""
    writers, commits_each = 4, 15
    databases = [open_database(db_url, desk=f"desk-{n}") for n in range(writers + 1)]
    reader_db = databases[-1]
    done = threading.Event()
    seen: list[Change] = []
    failures: list[BaseException] = []

    def write(database: Database) -> None:
        try:
            for _ in range(commits_each):
                with database.unit_of_work() as uow:
                    uow.customers.add(customer(f"Customer {new_id()[:6]}"))
                    uow.techs.add(tech(f"Tech {new_id()[:6]}"))
                    uow.commit()
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    def read() -> None:
        try:
            while True:
                finished = done.is_set()  # read once more after the last writer is done
                seen.extend(_feed(reader_db, after=seen[-1].seq if seen else 0))
                if finished:
                    return
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=write, args=(database,)) for database in databases[:writers]]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    for database in databases:
        database.dispose()
    assert failures == []
    total = writers * commits_each * 2
    assert [change.seq for change in seen] == list(range(1, total + 1))
    pairs = [seen[index : index + 2] for index in range(0, total, 2)]
    assert all(first.desk == second.desk for first, second in pairs)
    assert all({first.kind, second.kind} == {ChangeKind.CUSTOMER, ChangeKind.TECH} for first, second in pairs)


def test_postgresql_notifies_listeners_at_commit_only(db: Database) -> None:
    if not is_postgresql(db.url):
        pytest.skip("NOTIFY is PostgreSQL's; SQLite listeners watch PRAGMA data_version")
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        with db.unit_of_work() as uow:
            uow.settings.put("office.name", "Harbor HVAC")
            uow.rollback()
            uow.settings.put("office.name", "Harbor HVAC")
            uow.commit()
        notices = list(listener.notifies(timeout=10, stop_after=1))
    assert [(notice.channel, notice.payload) for notice in notices] == [(CHANNEL, str(_feed(db)[-1].seq))]


def test_routine_bookkeeping_is_no_news_but_a_change_of_state_is(
    db: Database, people: tuple[Technician, Customer], google_calendar: Calendar
) -> None:
    """Every poll rewrites each account's last read and each calendar's cursor; every retry counts
    an attempt. None of that may wake every desk; an outage, a setting or a new write does."""
    ana, harbor = people
    account_id = google_calendar.account_id
    job = booking(harbor.id, ana.id, T0)
    queued = changed_row(job.id, ana.id, T0)
    with db.unit_of_work() as uow:
        uow.bookings.add(job)
        uow.outbox.add(queued)
        uow.health.put(SyncHealth(account_id, last_success=T0, last_read=T0))
        uow.commit()
    assert {ChangeKind.OUTBOX, ChangeKind.HEALTH} <= {c.kind for c in _feed(db)}
    quiet: list[Callable[[SqlUnitOfWork], None]] = [
        lambda uow: uow.health.put(SyncHealth(account_id, last_success=T0 + HOUR, last_read=T0 + HOUR)),
        lambda uow: uow.calendars.update(replace(google_calendar, sync_cursor="token-2")),
        lambda uow: uow.outbox.update(replace(queued, attempts=1, last_error="HTTP 503")),
    ]
    news: list[tuple[Callable[[SqlUnitOfWork], None], tuple[ChangeKind, str]]] = [
        (
            lambda uow: uow.health.put(
                SyncHealth(
                    account_id, last_success=T0 + HOUR, failing_since=T0 + 2 * HOUR, last_error="offline"
                )
            ),
            (ChangeKind.HEALTH, account_id),
        ),
        (
            lambda uow: uow.calendars.update(replace(google_calendar, sync_cursor="token-3", blocks=False)),
            (ChangeKind.CALENDAR, google_calendar.id),
        ),
        (
            lambda uow: uow.outbox.update(replace(queued, attempts=2, next_attempt=T0 + HOUR)),
            (ChangeKind.OUTBOX, job.id),
        ),
    ]
    for step in quiet:
        before = _feed(db)[-1].seq
        with db.unit_of_work() as uow:
            step(uow)
            uow.commit()
        assert _feed(db, after=before) == []
    for step, expected in news:
        before = _feed(db)[-1].seq
        with db.unit_of_work() as uow:
            step(uow)
            uow.commit()
        assert _kinds(_feed(db, after=before)) == [expected]
