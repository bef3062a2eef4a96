"""Capture the SQL a repository call runs, and ask SQLite how it would run it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from storage import Database


def query_plan(db: Database, call: Callable[[], object]) -> str:
    """The EXPLAIN QUERY PLAN lines of the last SELECT that `call` ran, joined."""
    seen: list[tuple[str, Any]] = []

    def remember(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    statement, parameters = seen[-1]
    with db.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)
