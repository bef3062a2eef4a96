"""Pruning the change feed: the oldest run of entries goes, the newest stay, and numbers keep rising."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from app.domain.ids import new_id
from app.domain.time import FixedClock
from storage import Database, open_database
from tests.storage.conftest import T0

DAY = timedelta(hours=24)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def dated(db_url: str, clock: FixedClock) -> Iterator[Database]:
    """A store whose feed entries are dated by `clock` (each desk dates the entries it writes)."""
    database = open_database(db_url, desk="front-desk", clock=clock)
    yield database
    database.dispose()


def _write(db: Database, count: int) -> list[int]:
    """`count` commits of one entry each; their numbers."""
    numbers = []
    for _ in range(count):
        with db.unit_of_work() as uow:
            uow.settings.put("office.name", f"Harbor HVAC {new_id()}")  # a new value: one entry
            uow.commit()
        numbers.append(_last(db))
    return numbers


def _last(db: Database) -> int:
    with db.unit_of_work(read_only=True) as uow:
        return uow.changes.last_seq()


def _kept(db: Database) -> list[int]:
    with db.unit_of_work(read_only=True) as uow:
        return [change.seq for change in uow.changes.since(0, 10_000)]


def _prune(db: Database, clock: FixedClock, keep: int, limit: int = 1000) -> int:
    with db.unit_of_work() as uow:
        deleted = uow.changes.prune(clock.now() - DAY, keep, limit)
        uow.commit()
    return deleted


def test_entries_older_than_the_retention_go_and_numbering_rises_past_them(
    dated: Database, clock: FixedClock
) -> None:
    old = _write(dated, 12)
    clock.advance(DAY + timedelta(minutes=1))
    recent = _write(dated, 3)
    assert _prune(dated, clock, keep=2) == 12
    assert _kept(dated) == recent
    with dated.unit_of_work(read_only=True) as uow:
        assert uow.changes.first_seq() == recent[0]
    assert _write(dated, 1) == [recent[-1] + 1]
    assert recent[0] == old[-1] + 1


def test_the_newest_entries_stay_however_old_so_no_number_is_handed_out_twice(
    dated: Database, clock: FixedClock
) -> None:
    numbers = _write(dated, 10)
    clock.advance(DAY * 7)  # an office closed for a week: every entry is old
    assert _prune(dated, clock, keep=4) == 6
    assert _kept(dated) == numbers[-4:]
    assert _prune(dated, clock, keep=0) == 3  # even asked to keep none, the newest stays
    assert _kept(dated) == numbers[-1:]
    assert _write(dated, 2) == [numbers[-1] + 1, numbers[-1] + 2]


def test_a_prune_deletes_at_most_its_limit_from_the_oldest_up(dated: Database, clock: FixedClock) -> None:
    numbers = _write(dated, 20)
    clock.advance(DAY * 2)
    deleted_each = []
    while deleted := _prune(dated, clock, keep=1, limit=7):
        deleted_each.append(deleted)
        assert _kept(dated) == numbers[sum(deleted_each) :]  # always an unbroken run to the newest
    assert deleted_each == [7, 7, 5]


def test_only_the_run_from_the_oldest_up_to_a_newer_entry_goes(dated: Database, clock: FixedClock) -> None:
    """Entries are numbered in commit order but dated by each desk's clock: an entry dated late
    (a desk whose clock runs fast) stops the prune there, so the kept numbers stay unbroken."""
    early = _write(dated, 3)
    clock.advance(DAY)
    fast = _write(dated, 1)
    clock.advance(-DAY)
    late = _write(dated, 3)
    clock.advance(DAY + timedelta(hours=1))
    assert _prune(dated, clock, keep=1) == len(early)
    assert _kept(dated) == fast + late
