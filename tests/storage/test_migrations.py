"""The packaged migrations build the schema on a real file, both ways, and refuse what they must."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect

import storage
from app.errors import StorageError
from storage import Database, open_database
from storage.orm import Base
from storage.schema import MIGRATIONS, alembic_config, head_revisions

TABLES = {
    "technicians", "customers", "bookings", "time_off", "calendar_accounts", "calendars", "remote_events",
    "busy_blocks", "event_links", "outbox", "conflicts", "sync_health", "notifications", "audit_log",
    "settings", "sync_lock", "changes",
    "service_types", "service_type_techs", "auto_assignments", "online_bookings", "token_handovers",
}  # fmt: skip


def test_migrations_live_inside_the_package() -> None:
    assert MIGRATIONS.parent == Path(storage.__file__).resolve().parent
    assert (MIGRATIONS / "env.py").is_file()
    assert (MIGRATIONS / "script.py.mako").is_file()
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()


def test_opening_an_empty_file_creates_every_table_at_head(db: Database) -> None:
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
        assert set(MigrationContext.configure(connection).get_current_heads()) == set(head_revisions())


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_wal_foreign_keys_and_busy_timeout_are_on(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_downgrade_to_nothing_and_upgrade_again(db: Database) -> None:
    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    with db.engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}


def test_alembic_can_connect_by_itself_from_a_url(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    command.upgrade(alembic_config(url=url), "head")
    command.downgrade(alembic_config(url=url), "base")
    command.upgrade(alembic_config(url=url), "head")
    reopened = open_database(url)
    reopened.dispose()


def test_reopening_keeps_the_data(db_path: Path) -> None:
    first = open_database(str(db_path))
    with first.unit_of_work() as uow:
        uow.settings.put("company", "Gulf Air")
        uow.commit()
    first.dispose()
    second = open_database(str(db_path))
    with second.unit_of_work() as uow:
        assert uow.settings.get("company") == "Gulf Air"
    second.dispose()


def test_opening_leaves_the_root_logger_alone(db_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    open_database(str(db_path)).dispose()
    assert root.handlers == handlers
    assert root.level == level


def test_a_schema_newer_than_the_code_is_refused(db_path: Path) -> None:
    open_database(str(db_path)).dispose()
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    raw.close()
    with pytest.raises(StorageError, match="newer version of Crewboard") as caught:
        open_database(str(db_path))
    assert str(db_path) in str(caught.value)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("Remember to call Harbor Dental about the compressor.\n" * 200)
    with pytest.raises(StorageError, match="not a Crewboard database") as caught:
        open_database(str(path))
    assert str(caught.value) == (
        f"The file {path} is not a Crewboard database or is damaged; open another file or restore a backup."
    )


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    raw.close()
    with pytest.raises(StorageError, match="belongs to another program"):
        open_database(str(path))


def test_a_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot be opened"):
        open_database(str(tmp_path / "no" / "such" / "folder" / "crewboard.db"))


def test_a_locked_database_is_reported_as_a_sentence(db_path: Path) -> None:
    database = open_database(str(db_path), busy_timeout_ms=50)
    other_program = sqlite3.connect(db_path, isolation_level=None)
    try:
        other_program.execute("BEGIN IMMEDIATE")  # holds the write lock
        with pytest.raises(StorageError) as caught, database.unit_of_work() as uow:
            uow.settings.put("company", "Gulf Air")
            uow.commit()
        assert str(caught.value) == "The database is locked by another program; close it and try again."
        other_program.execute("ROLLBACK")
        with database.unit_of_work() as uow:
            uow.settings.put("company", "Gulf Air")
            uow.commit()
    finally:
        other_program.close()
        database.dispose()


def test_a_full_disk_is_reported_as_a_sentence(sqlite_db: Database) -> None:
    def cap_file_size(dbapi_connection: sqlite3.Connection, record: object) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    sqlite_db.dispose()  # new connections get the cap
    event.listen(sqlite_db.engine, "connect", cap_file_size)
    with pytest.raises(StorageError) as caught, sqlite_db.unit_of_work() as uow:
        uow.settings.put("notes", "x" * 1_000_000)
        uow.commit()
    assert str(caught.value) == "The disk holding the database is full; free some space and try again."
