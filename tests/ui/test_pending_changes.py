"""What the board reads after each kind of change: some techs' rows, some jobs, or everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.bus import AccountsChanged, BookingChanged, BusyChanged, ConflictChanged, HealthChanged, TechsChanged
from app.domain.hours import BusinessHours
from app.domain.ids import AccountId, BookingId, ConflictId, CustomerId, TechId
from app.domain.model import AccountStatus, Booking, CalendarAccount, Provider, Technician
from app.domain.time import Interval
from app.services.board import BoardSnapshot, TechRow
from ui.board_refresh import PendingChanges, showing

START = datetime(2026, 11, 2, 6, tzinfo=UTC)
WEEK = Interval(START, START + timedelta(days=7))


def row(name: str, jobs: tuple[str, ...] = (), account: str | None = None) -> TechRow:
    tech = Technician(TechId(name), name, f"{name}@example.com", "America/Chicago", BusinessHours(((),) * 7))
    bookings = tuple(
        Booking(BookingId(job), CustomerId("c"), tech.id, "AC repair", START, timedelta(hours=1))
        for job in jobs
    )
    accounts = (
        (
            CalendarAccount(
                AccountId(account), tech.id, Provider.GOOGLE, tech.email, "k", AccountStatus.CONNECTED
            ),
        )
        if account
        else ()
    )
    return TechRow(tech, bookings, (), accounts, ())


SNAPSHOT = BoardSnapshot(WEEK, (row("ana", ("j1",), "acc-ana"), row("bo", ("j2",)), row("cy")), (), {}, ())


def noted(*events: object) -> PendingChanges:
    pending = PendingChanges()
    for event in events:
        pending.note(event, SNAPSHOT)
    return pending


def test_changes_naming_techs_or_jobs_read_those_alone() -> None:
    pending = noted(
        BusyChanged((TechId("ana"),)),
        TechsChanged((TechId("cy"),)),
        AccountsChanged(TechId("bo")),
        HealthChanged(AccountId("acc-ana")),
        BookingChanged(BookingId("j9"), (TechId("cy"),), "created"),
        ConflictChanged(ConflictId("x"), BookingId("j2"), True),
    )
    assert not pending.full and not pending.needs_full(len(SNAPSHOT.rows))
    assert pending.techs == {"ana", "bo", "cy"} and pending.bookings == {"j9", "j2"}
    assert showing(SNAPSHOT, pending.bookings) == {"bo"}  # where j2 shows now: its row is read too


def test_what_no_delta_can_say_reads_everything() -> None:
    assert noted(TechsChanged((TechId("ana"), TechId("bo")))).full  # the feed relay's catch-up
    assert noted(TechsChanged(())).full
    assert noted(HealthChanged(AccountId("unknown"))).full
    many = noted(BusyChanged(tuple(TechId(f"t{i}") for i in range(9))))
    assert not many.full and many.needs_full(rows=3)  # more than a delta takes
    assert not many.needs_full(rows=200)  # a quarter of 200 rows is 50


def test_taking_the_changes_leaves_none() -> None:
    pending = noted(BusyChanged((TechId("ana"),)), TechsChanged(()))
    taken = pending.take()
    assert taken.full and taken.techs == {"ana"} and pending.empty
