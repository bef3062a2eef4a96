"""What a slot search reads: only the times that keep techs busy, in two statements.

The booking page asks for two weeks of a whole crew on every request, so this reads plain column
values (no ORM entities) of only the rows that can touch the window: the live jobs with the buffer
after those booked from a service type, and the calendars' busy blocks, in one UNION ALL; the time
off that can reach the window in a second statement. Both statements are built once, at import:
building the clauses again on each call cost about as much as running them.

Instants are turned into datetimes here rather than by the column type, once per distinct stored
value: a crew's jobs and blocks share a few hundred start and end times (jobs sit on the office's
grid), so most of two thousand rows cost a dictionary look-up, and equal spans share one Interval.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    bindparam,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)

from app.domain.ids import TechId, TimeOffId
from app.domain.model import BookingStatus, TimeOff
from app.domain.service_types import LONGEST_BUFFER
from app.domain.time import Interval
from storage.orm import BookingRow, BusyBlockRow, TimeOffRow
from storage.repositories.base import SqlRepository
from storage.repositories.changes import SqlChangeFeedRepository
from storage.service_type_rows import AutoAssignmentRow, ServiceTypeRow
from storage.types import Duration, LocalDate, UtcDateTime

_BOOKINGS = BookingRow.__table__
_BLOCKS = BusyBlockRow.__table__
_TIME_OFF = TimeOffRow.__table__
_ASSIGNED = AutoAssignmentRow.__table__
_SERVICES = ServiceTypeRow.__table__
_INSTANT = UtcDateTime()
_LENGTH = Duration()
# A whole-day entry runs between the tech's local midnights, at most 14 hours from UTC's: a day
# either side of the window's UTC dates finds every one that can reach it.
_ZONE_REACH = timedelta(days=1)


def _raw(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column's stored value, left for `_Decoder` (comparisons keep the column's own type)."""
    return type_coerce(column, String).label(column.name)


class _Decoder:
    """Stored spans to domain values, each distinct stored (start, end) decoded once, with whether it
    overlaps the window (most rows repeat a span another tech has: a dictionary look-up each)."""

    def __init__(self, dialect: Any, window: Interval) -> None:
        self._dialect = dialect
        self._window = window
        self._instants: dict[object, datetime] = {}
        self.spans: dict[tuple[object, object], tuple[Interval, bool]] = {}

    def span(self, start: object, end: object) -> tuple[Interval, bool]:
        span = Interval(self._instant(start), self._instant(end))
        found = self.spans[start, end] = (span, span.overlaps(self._window))
        return found

    def buffer_after(self, end: datetime, seconds: object) -> tuple[Interval, bool]:
        length = _LENGTH.process_result_value(seconds, self._dialect)  # type: ignore[arg-type]
        assert length is not None
        span = Interval(end, end + length)
        return span, span.overlaps(self._window)

    def _instant(self, raw: object) -> datetime:
        found = self._instants.get(raw)
        if found is None:
            decoded = _INSTANT.process_result_value(raw, self._dialect)  # type: ignore[arg-type]
            assert decoded is not None
            found = self._instants[raw] = decoded
        return found


class SqlSlotReads(SqlRepository):
    def busy_spans(
        self, tech_ids: Sequence[TechId], window: Interval
    ) -> builtins.list[tuple[TechId, Interval]]:
        """Each tech's live jobs, the buffer after those booked from a service type, and calendar
        busy blocks, as the spans that overlap `window` (a job and its buffer are two spans)."""
        if not tech_ids:
            return []
        parameters = {
            "techs": builtins.list(tech_ids),
            "begin": window.start,
            "finish": window.end,
            # A job that ended up to the longest buffer before the window may still keep its tech busy.
            "jobs_since": window.start - LONGEST_BUFFER,
        }
        decode = _Decoder(self._session.get_bind().dialect, window)
        known = decode.spans
        found: list[tuple[TechId, Interval]] = []
        add = found.append
        result = self._session.connection().execute(_BUSY_SPANS, parameters)
        try:
            # The driver's own tuples: SQLAlchemy's rows would cost more than the read (these columns
            # have no result processing to do, see _raw).
            rows = result.cursor.fetchall()
        finally:
            result.close()
        # The statement's own conditions leave out rows without a start or an end.
        for tech, start, end, buffer in rows:
            span, inside = known.get((start, end)) or decode.span(start, end)
            if inside:
                add((tech, span))
            if buffer:
                after, after_inside = decode.buffer_after(span.end, buffer)
                if after_inside:
                    add((tech, after))
        return found

    def version(self) -> int:
        """The change feed's newest number: every commit that changes a row takes the next one, and
        pruning always keeps the newest (see SqlChangeFeedRepository.prune)."""
        return SqlChangeFeedRepository(self._session).last_seq()

    def time_off(self, tech_ids: Sequence[TechId], window: Interval) -> builtins.list[TimeOff]:
        """These techs' time off that may overlap `window` (whole days judged a day wide either side:
        the caller places them in each tech's zone)."""
        if not tech_ids:
            return []
        parameters = {
            "techs": builtins.list(tech_ids),
            "begin": window.start,
            "finish": window.end,
            "first_day": window.start.date() - _ZONE_REACH,
            "last_day": window.end.date() + _ZONE_REACH,
        }
        return [
            TimeOff(TimeOffId(item), TechId(tech), reason, start=start, end=end, first_day=day, end_day=until)
            for item, tech, reason, start, end, day, until in self._session.execute(
                _TIME_OFF_NEAR, parameters
            )
        ]


def _busy_spans_statement() -> CompoundSelect[Any]:
    techs: BindParameter[list[str]] = bindparam("techs", expanding=True)
    begin = bindparam("begin", type_=UtcDateTime)
    finish = bindparam("finish", type_=UtcDateTime)
    jobs = (
        select(
            _BOOKINGS.c.tech_id,
            _raw(_BOOKINGS.c.start),
            _raw(_BOOKINGS.c.end),
            type_coerce(_SERVICES.c.buffer_after, Integer).label("buffer"),
        )
        .select_from(
            _BOOKINGS.outerjoin(_ASSIGNED, _ASSIGNED.c.booking_id == _BOOKINGS.c.id).outerjoin(
                _SERVICES, _SERVICES.c.id == _ASSIGNED.c.service_type_id
            )
        )
        .where(
            _BOOKINGS.c.tech_id.in_(techs),
            _BOOKINGS.c.status == BookingStatus.SCHEDULED,
            _BOOKINGS.c.end > bindparam("jobs_since", type_=UtcDateTime),
            _BOOKINGS.c.start < finish,
        )
    )
    blocks = select(
        _BLOCKS.c.tech_id, _raw(_BLOCKS.c.start), _raw(_BLOCKS.c.end), null().label("buffer")
    ).where(_BLOCKS.c.tech_id.in_(techs), _BLOCKS.c.start < finish, _BLOCKS.c.end > begin)
    return union_all(jobs, blocks)


_BUSY_SPANS = _busy_spans_statement()


def _time_off_statement() -> Select[Any]:
    techs: BindParameter[list[str]] = bindparam("techs", expanding=True)
    return select(
        _TIME_OFF.c.id,
        _TIME_OFF.c.tech_id,
        _TIME_OFF.c.reason,
        _TIME_OFF.c.start,
        _TIME_OFF.c.end,
        _TIME_OFF.c.first_day,
        _TIME_OFF.c.end_day,
    ).where(
        _TIME_OFF.c.tech_id.in_(techs),
        or_(
            (_TIME_OFF.c.start < bindparam("finish", type_=UtcDateTime))
            & (_TIME_OFF.c.end > bindparam("begin", type_=UtcDateTime)),
            (_TIME_OFF.c.first_day <= bindparam("last_day", type_=LocalDate))
            & (_TIME_OFF.c.end_day >= bindparam("first_day", type_=LocalDate)),
        ),
    )


_TIME_OFF_NEAR = _time_off_statement()
