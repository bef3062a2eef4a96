"""Column types that keep the domain's time conventions true inside the database.

SQLite has no date or time types, so instants are stored there as fixed-width ISO 8601 text in
UTC: equal widths make text order equal time order, so `<`, `ORDER BY` and indexes work in SQL.
PostgreSQL stores them as `timestamptz`, an instant that compares and sorts as time natively and
needs no collation to agree; it comes back in the session's zone and is turned to UTC here.
A naive datetime has no meaning we could store, so binding one is refused instead of guessed.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import TIMESTAMP, Integer, String, Text, TypeDecorator, TypeEngine

UTC_TEXT_WIDTH = len("2026-11-01T16:00:00.000000+00:00")
DATE_TEXT_WIDTH = len("2026-11-01")


def utc_text(value: datetime) -> str:
    """The stored text of an aware instant: always microseconds, always +00:00, always 32 characters."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"refusing to store naive datetime {value.isoformat()}: give it a time zone")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def native_instants(dialect: Dialect) -> bool:
    """Whether `dialect` stores instants as `timestamptz` rather than UTC text."""
    return dialect.name == "postgresql"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware instant, stored as UTC (text, or PostgreSQL's timestamptz) and loaded as aware UTC."""

    impl = String(UTC_TEXT_WIDTH)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if native_instants(dialect):
            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(UTC_TEXT_WIDTH))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        text = utc_text(value)  # refuses a naive value on every database
        return value.astimezone(UTC) if native_instants(dialect) else text

    def process_result_value(self, value: str | datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"the database returned a naive instant {value.isoformat()}")
            return value.astimezone(UTC)
        return datetime.fromisoformat(value).astimezone(UTC)


class Duration(TypeDecorator[timedelta]):
    """A length of time as whole seconds; refuses fractions rather than silently dropping them."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: timedelta | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, timedelta):
            raise TypeError(f"expected a timedelta, got {type(value).__name__}")
        if value.microseconds:
            raise ValueError(f"refusing to store {value!r}: durations are kept in whole seconds")
        return value.days * 86_400 + value.seconds

    def process_result_value(self, value: int | None, dialect: Dialect) -> timedelta | None:
        return None if value is None else timedelta(seconds=value)


class LocalDate(TypeDecorator[date]):
    """A calendar date with no zone (all-day items), stored as YYYY-MM-DD so text order is date order."""

    impl = String(DATE_TEXT_WIDTH)
    cache_ok = True

    def process_bind_param(self, value: date | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"expected a date, got {type(value).__name__}")
        return value.isoformat()

    def process_result_value(self, value: str | None, dialect: Dialect) -> date | None:
        return None if value is None else date.fromisoformat(value)


class TextLines(TypeDecorator[tuple[str, ...]]):
    """An ordered tuple of strings (RRULE/EXDATE/RDATE lines), stored as a JSON list."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(list(value))

    def process_result_value(self, value: str | None, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(str(line) for line in json.loads(value))


class TextMap(TypeDecorator[dict[str, str]]):
    """A small string-to-string mapping (audit details), stored as a JSON object with sorted keys."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, str] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, str] | None:
        if value is None:
            return None
        loaded = json.loads(value)
        return {str(key): str(item) for key, item in loaded.items()}
