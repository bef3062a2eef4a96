"""The data folder, the database and its -wal/-shm files are this user's alone on a shared computer.

They hold customers' details and the key that signs push channel tokens; 0755/0644 (the usual
umask) let every other account read them.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.ids import CustomerId, new_id
from app.domain.model import Customer
from storage import database_url, open_database

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most desktops run with, whatever the test runner's is."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def data_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("CREWBOARD_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    return tmp_path / "data-home" / "crewboard"


def _write(url: str) -> None:
    database = open_database(url)
    try:
        with database() as uow:
            uow.customers.add(Customer(CustomerId(new_id()), "Harbor Dental", "1 Pier St", "555-0100", ""))
            uow.commit()
    finally:
        database.dispose()


def test_a_new_data_folder_and_database_are_private(data_home: Path) -> None:
    url = database_url(None)
    assert _mode(data_home) == 0o700
    database = open_database(url)
    try:
        with database() as uow:
            uow.customers.add(Customer(CustomerId(new_id()), "Harbor Dental", "1 Pier St", "555-0100", ""))
            uow.commit()
        files = [data_home / name for name in ("crewboard.db", "crewboard.db-wal", "crewboard.db-shm")]
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
    finally:
        database.dispose()


def test_an_explicit_database_file_is_private_and_its_folder_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "office"
    shared.mkdir(mode=0o755)
    _write(str(shared / "jobs.db"))
    assert _mode(shared / "jobs.db") == 0o600
    assert _mode(shared) == 0o755  # the user chose this folder; only our files are ours to change


def test_existing_readable_files_are_tightened_with_one_log_line(
    data_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = database_url(None)
    _write(url)
    db = data_home / "crewboard.db"
    wal = data_home / "crewboard.db-wal"
    wal.write_bytes(b"")  # left behind by a crash
    for path, mode in ((data_home, 0o755), (db, 0o644), (wal, 0o644)):
        path.chmod(mode)

    with caplog.at_level(logging.INFO, logger="storage"):
        open_database(url).dispose()

    assert (_mode(data_home), _mode(db)) == (0o700, 0o600)
    assert not wal.exists() or _mode(wal) == 0o600
    lines = [r.getMessage() for r in caplog.records if "private" in r.getMessage()]
    assert len(lines) == 1, lines
    assert all(str(path) in lines[0] for path in (data_home, db, wal))

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="storage"):
        open_database(url).dispose()
    assert not [r for r in caplog.records if "private" in r.getMessage()]  # nothing left to say
