"""A unit of work keeps what it commits and nothing else."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from app.domain.ids import OutboxId, new_id
from app.domain.model import Customer, OutboxItem, Technician
from app.services.ports import UnitOfWork, UnitOfWorkFactory
from storage import Database, SqlUnitOfWork
from tests.storage.conftest import FOREIGN_KEY, T0, UNIQUE, booking, customer, tech


def test_the_database_is_a_unit_of_work_factory(db: Database) -> None:
    factory: UnitOfWorkFactory = db.unit_of_work
    unit: UnitOfWork = factory()
    assert isinstance(unit, SqlUnitOfWork)
    assert isinstance(db(), SqlUnitOfWork)


def test_leaving_without_commit_writes_nothing(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.techs.add(tech())
        uow.customers.add(customer())
        assert len(uow.techs.list()) == 1  # visible inside the unit
    with db.unit_of_work() as uow:
        assert uow.techs.list() == []
        assert uow.customers.list() == []


def test_an_exception_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"), db.unit_of_work() as uow:
        uow.techs.add(tech())
        uow.commit()
        uow.customers.add(customer())
        raise RuntimeError("boom")
    with db.unit_of_work() as uow:
        assert len(uow.techs.list()) == 1
        assert uow.customers.list() == []


def test_a_booking_and_its_outbox_row_are_written_together_or_not_at_all(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    job = booking(harbor.id, ana.id, T0)
    item = OutboxItem(OutboxId(new_id()), job.id, ana.id, T0)
    duplicate_key = OutboxItem(item.id, job.id, ana.id, T0)
    with db.unit_of_work() as uow:
        uow.bookings.add(job)
        uow.outbox.add(item)
        uow.outbox.add(duplicate_key)
        with pytest.raises(IntegrityError, match=UNIQUE):
            uow.commit()
    with db.unit_of_work() as uow:
        assert uow.bookings.get(job.id) is None
        assert uow.outbox.pending() == []


def test_explicit_rollback_drops_uncommitted_work_and_the_unit_goes_on(db: Database) -> None:
    first, second = tech("Ana Ruiz"), tech("Ben Okafor")
    with db.unit_of_work() as uow:
        uow.techs.add(first)
        uow.rollback()
        uow.techs.add(second)
        uow.commit()
    with db.unit_of_work() as uow:
        assert [t.name for t in uow.techs.list()] == ["Ben Okafor"]


def test_a_unit_of_work_cannot_be_entered_twice(db: Database) -> None:
    unit = db.unit_of_work()
    with unit, pytest.raises(RuntimeError, match="already in use"):
        unit.__enter__()
    with pytest.raises(RuntimeError, match="inside a 'with' block"):
        unit.commit()


def test_a_read_only_unit_reads_one_snapshot_without_waiting_for_writers(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    with db.unit_of_work(read_only=True) as reader:
        before = reader.bookings.list()
        with db.unit_of_work() as writer:
            writer.bookings.add(booking(harbor.id, ana.id, T0, duration=timedelta(hours=1)))
            writer.commit()
        assert reader.bookings.list() == before
        with pytest.raises(RuntimeError, match="read-only"):
            reader.commit()
    with db.unit_of_work(read_only=True) as later:
        assert len(later.bookings.list()) == 1


def test_writers_wait_for_each_other_instead_of_failing(
    db: Database, people: tuple[Technician, Customer]
) -> None:
    ana, harbor = people
    first_has_read = threading.Event()
    errors: list[BaseException] = []

    def first_writer() -> None:
        try:
            with db.unit_of_work() as uow:
                uow.bookings.list()
                first_has_read.set()
                time.sleep(0.2)  # the other writer arrives meanwhile and must wait
                uow.bookings.add(booking(harbor.id, ana.id, T0))
                uow.commit()
        except BaseException as error:  # reported to the test thread below
            errors.append(error)

    worker = threading.Thread(target=first_writer)
    worker.start()
    assert first_has_read.wait(5)
    with db.unit_of_work() as uow:
        seen = uow.bookings.list()  # waits for the first writer's commit, then reads it
        uow.bookings.add(booking(harbor.id, ana.id, T0 + timedelta(hours=3)))
        uow.commit()
    worker.join(5)
    assert errors == []
    assert len(seen) == 1
    with db.unit_of_work(read_only=True) as uow:
        assert len(uow.bookings.list()) == 2


def test_a_dangling_reference_is_refused_at_commit(db: Database) -> None:
    stranger = customer()
    with db.unit_of_work() as uow:
        uow.bookings.add(booking(stranger.id, None, T0))  # customer never stored
        with pytest.raises(IntegrityError, match=FOREIGN_KEY):
            uow.commit()
    with db.unit_of_work() as uow:
        assert uow.bookings.list() == []


def test_parents_and_children_may_be_added_in_any_order(db: Database) -> None:
    ana, harbor = tech(), customer()
    jobs = [booking(harbor.id, ana.id, T0 + timedelta(hours=3 * n)) for n in range(3)]
    with db.unit_of_work() as uow:
        for job in jobs:
            uow.bookings.add(job)
        uow.techs.add(ana)
        uow.customers.add(harbor)
        uow.commit()
    with db.unit_of_work() as uow:
        assert uow.bookings.list() == jobs
