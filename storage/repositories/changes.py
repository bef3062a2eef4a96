"""Reading the change feed (storage.change_feed writes it at each commit), and pruning its oldest entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select

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

    def first_seq(self) -> int:
        """The oldest kept entry's number (older ones were pruned); 0 for a store that never changed."""
        return int(self._session.execute(select(func.coalesce(func.min(ChangeRow.seq), 0))).scalar_one())

    def prune(self, before: datetime, keep: int, limit: int) -> int:
        """Delete up to `limit` of the oldest entries dated before `before`; how many were deleted.

        The newest `keep` entries stay whatever their age, and always the newest one: the next
        entry is numbered MAX(seq) + 1, so deleting the newest would hand its number out again.
        Only a run from the oldest entry up is deleted, stopping at the first entry dated at or
        after `before` (entries are numbered in commit order but dated by each desk's clock), so
        the kept feed stays one unbroken run of numbers: a reader that finds the entry after its
        last number missing knows it fell behind a prune.
        """
        ceiling = self.last_seq() - max(keep, 1)
        first = self.first_seq()
        if ceiling <= 0 or first > ceiling:
            return 0
        window_end = min(first + limit - 1, ceiling)  # at most `limit` numbers: the kept feed has no gaps
        # The first entry of the window that is not due, found by the store on the primary key's range.
        newer = select(func.min(ChangeRow.seq)).where(
            ChangeRow.seq.between(first, window_end), ChangeRow.at >= before
        )
        first_newer = self._session.execute(newer).scalar_one()
        upto = window_end if first_newer is None else int(first_newer) - 1
        if upto < first:
            return 0
        # A closed range, not "seq <= upto": PostgreSQL without fresh statistics (a table that just
        # grew) planned the open one as a scan of the whole table, 40 ms instead of 4 per batch.
        statement = (
            delete(ChangeRow)
            .where(ChangeRow.seq.between(first, upto))
            .execution_options(synchronize_session=False)
        )
        return int(cast("CursorResult[Any]", self._session.execute(statement)).rowcount)
