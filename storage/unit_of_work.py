"""One transaction over every repository: the SQLAlchemy UnitOfWork.

A unit of work owns one Session from `with` to the end of the block. Only commit() keeps what
was written; leaving the block without it, or through an exception, rolls everything back, so a
booking and its outbox row are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from app.domain.time import Clock, SystemClock
from storage import change_feed
from storage.repositories import (
    SqlAuditLog,
    SqlBookingRepository,
    SqlBusyBlockRepository,
    SqlCalendarAccountRepository,
    SqlCalendarRepository,
    SqlConflictRepository,
    SqlCustomerRepository,
    SqlEventLinkRepository,
    SqlNotificationRepository,
    SqlOutboxRepository,
    SqlRemoteEventRepository,
    SqlSettingsRepository,
    SqlSyncHealthRepository,
    SqlSyncLockRepository,
    SqlTechnicianRepository,
    SqlTimeOffRepository,
)
from storage.repositories.changes import SqlChangeFeedRepository
from storage.repositories.service_types import SqlBookingPageStore
from storage.repositories.token_handover import SqlTokenHandoverRepository


class SqlUnitOfWork:
    """Implements app.services.ports.UnitOfWork; also offers `settings` and `sync_lock` to storage users."""

    techs: SqlTechnicianRepository
    customers: SqlCustomerRepository
    bookings: SqlBookingRepository
    time_off: SqlTimeOffRepository
    accounts: SqlCalendarAccountRepository
    calendars: SqlCalendarRepository
    remote_events: SqlRemoteEventRepository
    busy: SqlBusyBlockRepository
    links: SqlEventLinkRepository
    outbox: SqlOutboxRepository
    conflicts: SqlConflictRepository
    health: SqlSyncHealthRepository
    notifications: SqlNotificationRepository
    audit: SqlAuditLog
    settings: SqlSettingsRepository
    sync_lock: SqlSyncLockRepository
    handovers: SqlTokenHandoverRepository
    changes: SqlChangeFeedRepository

    def __init__(
        self,
        sessions: sessionmaker[Session],
        read_only: bool = False,
        desk: str = "",
        clock: Clock | None = None,
        on_recorded: Callable[[int, int], None] | None = None,
        turn: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        # Held from enter to exit by a writer: this program's writers queue (storage.write_turn).
        self._turn = turn
        self._holding: AbstractContextManager[None] | None = None
        self.read_only = read_only
        # Who is writing (signs the change feed and the audit log), and the clock that dates the feed.
        self.desk = desk
        self._clock = clock or SystemClock()
        # Hears (first, last) feed numbers of each commit, so this program can tell its own entries.
        self._on_recorded = on_recorded

    def __enter__(self) -> SqlUnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        if self._turn is not None:
            holding = self._turn()
            holding.__enter__()
            self._holding = holding
        try:
            session = self._sessions()
            session.begin()
        except BaseException:
            self._release_turn()
            raise
        self._session = session
        self.techs = SqlTechnicianRepository(session)
        self.customers = SqlCustomerRepository(session)
        self.bookings = SqlBookingRepository(session)
        self.time_off = SqlTimeOffRepository(session)
        self.accounts = SqlCalendarAccountRepository(session)
        self.calendars = SqlCalendarRepository(session)
        self.remote_events = SqlRemoteEventRepository(session)
        self.busy = SqlBusyBlockRepository(session)
        self.links = SqlEventLinkRepository(session)
        self.outbox = SqlOutboxRepository(session)
        self.conflicts = SqlConflictRepository(session)
        self.health = SqlSyncHealthRepository(session)
        self.notifications = SqlNotificationRepository(session)
        self.audit = SqlAuditLog(session, self.desk)
        self.settings = SqlSettingsRepository(session)
        self.sync_lock = SqlSyncLockRepository(session)
        self.handovers = SqlTokenHandoverRepository(session)
        self.changes = SqlChangeFeedRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._active()
        self._session = None
        try:
            session.rollback()  # keeps nothing that was not committed
        finally:
            change_feed.forget(session)
            session.close()
            self._release_turn()

    def _release_turn(self) -> None:
        holding, self._holding = self._holding, None
        if holding is not None:
            holding.__exit__(None, None, None)

    def commit(self) -> None:
        """Keep everything written so far, with its change-feed entries; the unit stays usable.

        The entries are written here, in the same transaction, so a change and its entry are
        stored together or not at all (storage.change_feed).
        """
        session = self._active()
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit; open one with read_only=False")
        session.flush()
        try:
            recorded = change_feed.record(session, self.desk, self._clock.now())
        except BaseException:
            session.rollback()
            change_feed.forget(session)
            raise
        session.commit()
        if recorded is not None and self._on_recorded is not None:
            self._on_recorded(*recorded)

    def rollback(self) -> None:
        """Drop everything written since the last commit."""
        session = self._active()
        session.rollback()
        change_feed.forget(session)

    def _active(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._session

    @property
    def booking_page(self) -> SqlBookingPageStore:
        """The booking page's repositories (service types, assignments, online jobs), in this transaction."""
        return SqlBookingPageStore(self._active())
