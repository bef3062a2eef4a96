"""The change feed: every committed change, recorded in the transaction that made it.

One seam records it for everybody. A listener on each unit of work's Session notes, after every
flush, which rows were added, changed or deleted (`CLASSIFY` maps a row to the kind and id a
screen cares about); the few bulk statements that bypass the ORM's bookkeeping note their
changes themselves with `note()`. `record()` runs inside `SqlUnitOfWork.commit()`, just before the
transaction commits, and turns the notes into numbered `changes` rows plus, on PostgreSQL, a
NOTIFY that is delivered only if and when the transaction commits.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.domain.changes import ChangeKind
from storage.engine import WRITER_LOCK_KEY
from storage.orm import (
    AuditRow,
    Base,
    BookingRow,
    BusyBlockRow,
    CalendarAccountRow,
    CalendarRow,
    ChangeRow,
    ConflictRow,
    CustomerRow,
    EventLinkRow,
    NotificationRow,
    OutboxRow,
    RemoteEventRow,
    SettingRow,
    SyncHealthRow,
    SyncLockRow,
    TechnicianRow,
    TimeOffRow,
    TokenHandoverRow,
)
from storage.service_type_rows import AutoAssignmentRow, OnlineBookingRow, QualificationRow, ServiceTypeRow

# The PostgreSQL channel listeners LISTEN on; the payload is the commit's last sequence number.
CHANNEL = "crewboard_changes"
_PENDING = "crewboard_changes"  # key in Session.info: the notes of the transaction in progress

Classifier = Callable[[Any], tuple[ChangeKind, str]]

# Every table, and what a change to one of its rows means to a reader (None: nothing a reader
# shows; remote events reach screens as busy blocks, the sync lock's heartbeat would wake every
# desk each beat, links and the audit log follow the changes they record). A test checks that
# every table is listed, so a new table has to be decided on here.
CLASSIFY: dict[type[Base], Classifier | None] = {
    TechnicianRow: lambda row: (ChangeKind.TECH, row.id),
    CustomerRow: lambda row: (ChangeKind.CUSTOMER, row.id),
    TimeOffRow: lambda row: (ChangeKind.BUSY, row.tech_id),
    BookingRow: lambda row: (ChangeKind.BOOKING, row.id),
    CalendarAccountRow: lambda row: (ChangeKind.ACCOUNT, row.id),
    CalendarRow: lambda row: (ChangeKind.CALENDAR, row.id),
    RemoteEventRow: None,
    BusyBlockRow: lambda row: (ChangeKind.BUSY, row.tech_id),
    EventLinkRow: None,
    OutboxRow: lambda row: (ChangeKind.OUTBOX, row.booking_id),
    ConflictRow: lambda row: (ChangeKind.CONFLICT, row.id),
    SyncHealthRow: lambda row: (ChangeKind.HEALTH, row.account_id),
    NotificationRow: lambda row: (ChangeKind.ALERT, row.id),
    AuditRow: None,
    SettingRow: lambda row: (ChangeKind.SETTINGS, row.key),
    SyncLockRow: None,
    # A desk handed a sign-in over: wakes the service to claim it (the id names no row a screen shows).
    TokenHandoverRow: lambda row: (ChangeKind.SETTINGS, "token_handover"),
    ChangeRow: None,
    ServiceTypeRow: lambda row: (ChangeKind.SERVICE_TYPE, row.id),
    QualificationRow: lambda row: (ChangeKind.SERVICE_TYPE, row.service_type_id),
    AutoAssignmentRow: lambda row: (ChangeKind.BOOKING, row.booking_id),
    OnlineBookingRow: lambda row: (ChangeKind.BOOKING, row.booking_id),
}


# Columns a program rewrites as it goes about its routine, every poll or every retry: a row whose
# update touches only these is no news to anyone (a feed entry per account per poll would wake
# every desk every few seconds for nothing and grow the table by millions of rows a day). A change
# of state travels in the other columns: an outage starting or ending, an alert level, a status.
QUIET: dict[type[Base], frozenset[str]] = {
    SyncHealthRow: frozenset({"last_success", "last_read", "last_write"}),
    CalendarRow: frozenset({"sync_cursor", "channel_id", "channel_resource_id", "channel_expires"}),
    # The engine's own bookkeeping of a queued write: a new row, or one rescheduled, is news to the
    # sync owner; counting attempts and noting the last error is not.
    OutboxRow: frozenset({"attempts", "last_error"}),
}


def _changed_columns(row: Any) -> set[str]:
    state = inspect(row)
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def pending(session: Session) -> dict[tuple[ChangeKind, str], None]:
    """The changes noted in `session`'s transaction so far, in the order first noted."""
    notes: dict[tuple[ChangeKind, str], None] = session.info.setdefault(_PENDING, {})
    return notes


def note(session: Session, kind: ChangeKind, item_id: str) -> None:
    """Record a change made by a bulk statement, which the flush listener cannot see."""
    pending(session)[(kind, item_id)] = None


def forget(session: Session) -> None:
    """Drop the notes of a transaction that was rolled back."""
    session.info.pop(_PENDING, None)


def _after_flush(session: Session, flush_context: Any) -> None:
    notes = pending(session)
    for rows, changed_only in ((session.new, False), (session.dirty, True), (session.deleted, False)):
        for row in rows:
            classify = CLASSIFY.get(type(row))
            if classify is None:
                continue
            if changed_only:
                changed = _changed_columns(row)
                if not changed:
                    continue  # assigned the values it already had: the ORM writes nothing
                if changed <= QUIET.get(type(row), frozenset()):
                    continue  # routine bookkeeping, see QUIET
            notes[classify(row)] = None


def watch(sessions: sessionmaker[Session]) -> None:
    """Note the changes of every Session this factory makes."""
    from sqlalchemy import event

    event.listen(sessions, "after_flush", _after_flush)


def record(session: Session, desk: str, at: datetime) -> tuple[int, int] | None:
    """Write the transaction's notes as feed entries; their first and last numbers, or None if none.

    Numbering: each entry gets MAX(seq) + 1, read and written while this transaction holds the
    store's write lock (SQLite's, taken by BEGIN IMMEDIATE; on PostgreSQL the writer advisory lock
    taken at BEGIN, and taken again here so even a transaction begun otherwise is serialised: the
    lock is re-entrant within a transaction). Writers therefore commit one at a time, each after
    the one that numbered before it, and PostgreSQL makes a commit visible before it releases the
    transaction's locks. So a reader never sees entry n+1 without entry n: reading "everything
    after the last number I saw" can miss nothing. A sequence object would not do: it hands out
    numbers at insert time, two writers can commit in the other order, and a reader that saw the
    later number first would skip the earlier one for ever; rolled-back numbers leave gaps.
    """
    notes = session.info.pop(_PENDING, None)
    if not notes:
        return None
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(select(func.pg_advisory_xact_lock(WRITER_LOCK_KEY)))
    last = session.execute(select(func.coalesce(func.max(ChangeRow.seq), 0))).scalar_one()
    rows = [
        {"seq": last + offset, "kind": kind, "item_id": item_id, "at": at, "desk": desk}
        for offset, (kind, item_id) in enumerate(notes, start=1)
    ]
    session.execute(insert(ChangeRow), rows)
    newest = int(rows[-1]["seq"])
    if postgresql:
        # Delivered at commit, not before; not at all if the transaction rolls back.
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": str(newest)}
        )
    return last + 1, newest


class OwnEntries:
    """The feed numbers this program wrote itself, so a listener can skip what it already knows.

    Remembers the last `limit` commits (ranges, not numbers); any thread may add or ask.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._ranges: deque[tuple[int, int]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, first: int, last: int) -> None:
        with self._lock:
            self._ranges.append((first, last))

    def __contains__(self, seq: object) -> bool:
        with self._lock:
            return (
                any(first <= seq <= last for first, last in self._ranges) if isinstance(seq, int) else False
            )
