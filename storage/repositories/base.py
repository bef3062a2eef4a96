"""What every repository shares: its Session, and row lookups that say what was missing."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.errors import NotFound

RowT = TypeVar("RowT")


class SqlRepository:
    """A repository bound to the Session of one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session


def existing(session: Session, row_type: type[RowT], key: Any, what: str) -> RowT:
    """The row with primary key `key`, or NotFound naming `what` (an update of something gone)."""
    row = session.get(row_type, key)
    if row is None:
        raise NotFound(f"No {what} with id '{key}' is stored; it may have been deleted meanwhile.")
    return row


def assign(row: object, values: dict[str, Any]) -> None:
    """Copy `values` onto `row`; the ORM writes only the columns whose value changed."""
    for name, value in values.items():
        setattr(row, name, value)


def like_prefix(text: str) -> str:
    """A LIKE pattern matching values that start with `text` literally (escape character: backslash)."""
    return escape_like(text) + "%"


def like_anywhere(text: str) -> str:
    """A LIKE pattern matching values that contain `text` literally (escape character: backslash)."""
    return "%" + escape_like(text) + "%"


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
