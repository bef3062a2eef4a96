"""Tables the application runs on rather than the business: settings and the sync engine's lock.

The lock is a single row. Claiming it is one conditional statement, so two engines that try at
the same moment cannot both win; whether a heartbeat is stale is the caller's decision, passed
in as `stale_before`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage.orm import SettingRow, SyncLockRow
from storage.repositories.base import SqlRepository

LOCK_ROW = 1


class SqlSettingsRepository(SqlRepository):
    """Text settings shared by everyone who opens this database."""

    def get(self, key: str) -> str | None:
        row = self._session.get(SettingRow, key)
        return None if row is None else row.value

    def put(self, key: str, value: str) -> None:
        row = self._session.get(SettingRow, key)
        if row is None:
            self._session.add(SettingRow(key=key, value=value))
        else:
            row.value = value

    def remove(self, key: str) -> None:
        row = self._session.get(SettingRow, key)
        if row is not None:
            self._session.delete(row)  # through the ORM, so the change feed sees it

    def all(self) -> dict[str, str]:
        return {
            row.key: row.value for row in self._session.scalars(select(SettingRow).order_by(SettingRow.key))
        }


@dataclass(frozen=True, slots=True)
class SyncLockRecord:
    """Who holds the sync lock: a description for people, and the process that can renew it."""

    holder: str
    pid: int
    host: str
    acquired_at: datetime
    heartbeat_at: datetime


class SqlSyncLockRepository(SqlRepository):
    def current(self) -> SyncLockRecord | None:
        query = (
            select(SyncLockRow).where(SyncLockRow.id == LOCK_ROW).execution_options(populate_existing=True)
        )
        row = self._session.scalars(query).one_or_none()
        if row is None:
            return None
        return SyncLockRecord(row.holder, row.pid, row.host, row.acquired_at, row.heartbeat_at)

    def claim(self, claimant: SyncLockRecord, stale_before: datetime) -> bool:
        """Take the lock if it is free, already ours, or its heartbeat is older than `stale_before`."""
        values = {
            "holder": claimant.holder,
            "pid": claimant.pid,
            "host": claimant.host,
            "acquired_at": claimant.acquired_at,
            "heartbeat_at": claimant.heartbeat_at,
        }
        taken = self._changed(
            update(SyncLockRow)
            .where(
                SyncLockRow.id == LOCK_ROW,
                or_(
                    SyncLockRow.heartbeat_at < stale_before,
                    and_(SyncLockRow.host == claimant.host, SyncLockRow.pid == claimant.pid),
                ),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if taken:
            return True
        if self.current() is not None:
            return False
        try:
            with self._session.begin_nested():
                self._session.add(SyncLockRow(id=LOCK_ROW, **values))
        except IntegrityError:
            return False  # another engine inserted the row between our read and our write
        return True

    def heartbeat(self, host: str, pid: int, at: datetime) -> bool:
        """Renew our lock; False when it is no longer ours (it went stale and was taken)."""
        renewed = self._changed(
            update(SyncLockRow)
            .where(SyncLockRow.id == LOCK_ROW, SyncLockRow.host == host, SyncLockRow.pid == pid)
            .values(heartbeat_at=at)
            .execution_options(synchronize_session=False)
        )
        return renewed

    def _changed(self, statement: Any) -> bool:
        """Run an UPDATE and tell whether it changed the lock row."""
        result = cast("CursorResult[Any]", self._session.execute(statement))
        return result.rowcount == 1

    def release(self, host: str, pid: int) -> None:
        """Give the lock up if we hold it."""
        self._session.execute(
            delete(SyncLockRow)
            .where(SyncLockRow.id == LOCK_ROW, SyncLockRow.host == host, SyncLockRow.pid == pid)
            .execution_options(synchronize_session=False)
        )
