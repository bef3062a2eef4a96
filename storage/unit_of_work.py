"""One transaction over every repository: the SQLAlchemy UnitOfWork.

A unit of work owns one Session from `with` to the end of the block. Only commit() keeps what
was written; leaving the block without it, or through an exception, rolls everything back, so a
booking and its outbox row are stored together or not at all.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

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

    def __init__(self, sessions: sessionmaker[Session], read_only: bool = False) -> None:
        self._sessions = sessions
        self._session: Session | None = None
        self.read_only = read_only

    def __enter__(self) -> SqlUnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        session = self._sessions()
        session.begin()
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
        self.audit = SqlAuditLog(session)
        self.settings = SqlSettingsRepository(session)
        self.sync_lock = SqlSyncLockRepository(session)
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
            session.close()

    def commit(self) -> None:
        """Keep everything written so far; the unit stays usable for more work."""
        session = self._active()
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit; open one with read_only=False")
        session.commit()

    def rollback(self) -> None:
        """Drop everything written since the last commit."""
        self._active().rollback()

    def _active(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._session
