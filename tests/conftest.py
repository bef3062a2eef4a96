"""Shared fixtures: a real database per test (SQLite, and PostgreSQL where asked), a fixed clock, and the use cases over them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.bus import Bus
from app.domain.time import FixedClock
from app.services.container import Services
from tests.pg import pg_server, pg_url

__all__ = ["pg_server", "pg_url"]  # fixtures, found by pytest through this module

# A Monday in November 2026, after the US DST change, at 06:00 in Chicago.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


# Where every test that asks for `db_backend` (directly or through `db_url`, `services` ...) runs
# on both databases; elsewhere SQLite only, unless CREWBOARD_TEST_BACKENDS lists more for the
# whole suite (e.g. CREWBOARD_TEST_BACKENDS=sqlite,postgresql).
BOTH_BACKENDS = ("sqlite", "postgresql")
ON_BOTH = ("storage", "services")
TESTS = Path(__file__).resolve().parent


def _backends_for(path: Path) -> tuple[str, ...]:
    chosen = tuple(b.strip() for b in os.environ.get("CREWBOARD_TEST_BACKENDS", "").split(",") if b.strip())
    if chosen:
        return chosen
    parts = path.resolve().relative_to(TESTS).parts if path.resolve().is_relative_to(TESTS) else ()
    return BOTH_BACKENDS if parts and parts[0] in ON_BOTH else ()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: what the test checks exists on SQLite only (pragmas, query plans, files)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames and not metafunc.definition.get_closest_marker("sqlite_only"):
        backends = _backends_for(metafunc.definition.path)
        if backends:
            metafunc.parametrize("db_backend", backends, indirect=True)


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """The database the test runs on: "sqlite" (a real file) or "postgresql" (tests/pg.py's server)."""
    backend = str(getattr(request, "param", "sqlite"))
    if backend not in BOTH_BACKENDS:
        raise ValueError(f"unknown test database {backend!r}; choose from {BOTH_BACKENDS}")
    return backend


@pytest.fixture
def db_url(request: pytest.FixtureRequest, db_backend: str, tmp_path: Path) -> str:
    """A fresh database for this test: a SQLite file, or a migrated PostgreSQL database."""
    if db_backend == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'crewboard.db'}"


@pytest.fixture
def services(db_url: str, clock: FixedClock) -> Iterator[Services]:
    from storage.database import open_database

    database = open_database(db_url)
    try:
        yield Services.build(database.unit_of_work, clock, Bus())
    finally:
        database.dispose()
