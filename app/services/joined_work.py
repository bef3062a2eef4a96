"""Lending an open unit of work to another use case, so several use cases commit as one transaction.

The booking page checks that a slot is still free, assigns a tech, books the job (through
BookingService, so the outbox, the audit log and the change feed are written exactly as for any
booking) and marks it online, all in one transaction: on PostgreSQL the writer advisory lock, on
SQLite BEGIN IMMEDIATE, makes the check and the write one step that no other booking can split.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, cast

from app.bus import Bus, Event
from app.services.ports import UnitOfWork


class _LentUnitOfWork:
    """The caller's open unit of work: `with` and commit() leave the transaction to the caller."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    def __enter__(self) -> _LentUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        """The lender commits once, for everything."""

    def rollback(self) -> None:
        raise RuntimeError("a lent unit of work is rolled back by the use case that opened it")


class LentFactory:
    """A UnitOfWorkFactory that hands out the same open unit of work."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __call__(self, read_only: bool = False) -> UnitOfWork:
        # The proxy has every member of the unit of work it wraps (through __getattr__).
        return cast(UnitOfWork, _LentUnitOfWork(self._uow))


class HeldBus(Bus):
    """A bus that holds what is published until the transaction commits, then passes it on."""

    def __init__(self) -> None:
        super().__init__()
        self._held: list[Event] = []

    def publish(self, event: Event) -> None:
        self._held.append(event)

    def release(self, to: Bus) -> None:
        held, self._held = self._held, []
        for event in held:
            to.publish(event)
