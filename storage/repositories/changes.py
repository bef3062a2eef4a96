"""Reading the change feed (storage.change_feed writes it at each commit)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domain.changes import Change
from storage.orm import ChangeRow
from storage.repositories.base import SqlRepository


class SqlChangeFeedRepository(SqlRepository):
    def since(self, seq: int, limit: int = 1000) -> list[Change]:
        """Entries numbered after `seq`, oldest first, at most `limit` of them."""
        query = select(ChangeRow).where(ChangeRow.seq > seq).order_by(ChangeRow.seq).limit(limit)
        return [
            Change(seq=row.seq, kind=row.kind, item_id=row.item_id, at=row.at, desk=row.desk)
            for row in self._session.scalars(query)
        ]

    def last_seq(self) -> int:
        """The newest entry's number; 0 for a store that never changed."""
        return int(self._session.execute(select(func.coalesce(func.max(ChangeRow.seq), 0))).scalar_one())
