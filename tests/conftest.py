"""Shared fixtures: a real SQLite file per test, a fixed clock, and the use cases over them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.bus import Bus
from app.domain.time import FixedClock
from app.services.container import Services

# A Monday in November 2026, after the US DST change, at 06:00 in Chicago.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crewboard.db'}"


@pytest.fixture
def services(db_url: str, clock: FixedClock) -> Iterator[Services]:
    from storage.database import open_database

    database = open_database(db_url)
    try:
        yield Services.build(database.unit_of_work, clock, Bus())
    finally:
        database.dispose()
