"""Find, open and migrate the database; hand out units of work on it.

Which database: the `--db` value when given, else the CREWBOARD_DB environment variable, else
`url` under `[store]` in settings.toml (storage.store_choice), else `crewboard.db` in the user's
data folder. A plain file path is accepted wherever a URL is, because
that is what people type; so is `postgresql://USER@HOST/DATABASE`, which means psycopg 3.
"""

from __future__ import annotations

import getpass
import os
import socket
from pathlib import Path
from types import TracebackType

import platformdirs
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import sessionmaker

from app.domain.time import Clock, SystemClock
from app.errors import InvalidInput, StorageError
from storage import change_feed
from storage.engine import (
    DEFAULT_BUSY_TIMEOUT_MS,
    build_engine,
    is_sqlite,
    normalized_url,
    reader_options,
    writer_options,
)
from storage.errors import storage_error_for
from storage.files import FOLDER_MODE, private_database_file, private_folder, report_tightened
from storage.schema import upgrade_to_head
from storage.store_choice import saved_setting, saved_store_url, settings_file
from storage.unit_of_work import SqlUnitOfWork
from storage.write_turn import WriteTurn

ENV_VAR = "CREWBOARD_DB"
DESK_ENV_VAR = "CREWBOARD_DESK"
MAX_DESK_NAME = 200  # the width of the desk columns
APP_NAME = "crewboard"
DEFAULT_FILE = "crewboard.db"


def database_url(explicit: str | None) -> str:
    """The URL to open: `explicit`, else $CREWBOARD_DB, else the default file (its folder is created)."""
    if explicit is not None:
        if not explicit.strip():
            raise InvalidInput("The database location is empty; give a file path or a database URL.")
        return _as_url(explicit.strip())
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return _as_url(from_env)
    saved = saved_store_url()  # an office desk's store, saved by the first-run window
    if saved:
        return _as_url(saved)
    folder = default_folder()
    try:
        folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)  # open_database tightens an old one
    except OSError as error:
        raise StorageError(
            f"The data folder {folder} cannot be created ({error.strerror}); "
            "choose a database with --db or CREWBOARD_DB."
        ) from error
    return _as_url(str(folder / DEFAULT_FILE))


def default_desk() -> str:
    """This desk's name: $CREWBOARD_DESK, else `name` under `[desk]` in settings.toml, else
    user@host (what people call "my computer")."""
    named = os.environ.get(DESK_ENV_VAR, "").strip() or saved_desk_name()
    if named:
        return desk_name(named)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"  # no login name (a container without a passwd entry)
    return desk_name(f"{user}@{socket.gethostname() or 'localhost'}")


def saved_desk_name(path: Path | None = None) -> str | None:
    """`name` under `[desk]` in settings.toml (the file that also keeps the store's address)."""
    path = path or settings_file()
    value = saved_setting(path, "desk", "name")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f'name under [desk] in {path} must be text, such as "front-desk"; fix it.')
    return value


def desk_name(name: str) -> str:
    """`name` as a desk name: one line, not empty, short enough to store."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("The desk name is empty; give a short name such as front-desk.")
    if len(clean) > MAX_DESK_NAME:
        raise InvalidInput(f"The desk name is longer than {MAX_DESK_NAME} characters; give a shorter one.")
    return clean


def default_folder() -> Path:
    """The user's data folder, where the default database lives."""
    # appauthor=False: on Windows, no second "crewboard" folder for the publisher.
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def _as_url(value: str) -> str:
    if "://" in value:
        try:
            make_url(value)
        except ArgumentError:
            raise InvalidInput(f"'{value}' is not a database URL or a file path.") from None
        return normalized_url(value)
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def describe(url: str) -> str:
    """How to name the database to a user: its file for SQLite, else the URL without its password."""
    parsed = make_url(url)
    if is_sqlite(url) and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def _make_private(url: str) -> None:
    """A SQLite file (and the default data folder holding it) readable by this user only."""
    if not is_sqlite(url):
        return
    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    tightened = []
    folder = default_folder()
    if path.parent == folder and folder.is_dir():
        tightened += private_folder(folder)
    tightened += private_database_file(path)
    report_tightened(tightened)


class Database:
    """An open, migrated database. Call it (or `unit_of_work()`) for a unit of work; dispose() at exit.

    On SQLite a unit of work takes the write lock when it first touches the database (BEGIN
    IMMEDIATE). Use cases read and then write; with a plain BEGIN, a unit that read before another
    program committed could not write at all and would fail at once instead of waiting its turn.
    On PostgreSQL a unit of work takes the writer advisory lock first, to the same effect (see
    storage.engine). Screens that only read can ask for `read_only=True`: a snapshot that never
    waits for writers.
    """

    def __init__(self, url: str, engine: Engine, desk: str | None = None, clock: Clock | None = None) -> None:
        self.url = url
        self.engine = engine
        # The name this program signs its changes with in the change feed and the audit log.
        self.desk = desk_name(desk) if desk else default_desk()
        self._clock = clock or SystemClock()
        writers = engine.execution_options(**writer_options(url))
        readers = engine.execution_options(**reader_options(url))
        self._writers = sessionmaker(writers, expire_on_commit=False, autoflush=True)
        self._readers = sessionmaker(readers, expire_on_commit=False, autoflush=True)
        change_feed.watch(self._writers)
        self.own_entries = change_feed.OwnEntries()
        self._write_turn = WriteTurn()

    def unit_of_work(self, read_only: bool = False) -> SqlUnitOfWork:
        """A fresh unit of work; this bound method is a UnitOfWorkFactory."""
        if read_only:
            return SqlUnitOfWork(self._readers, read_only=True, desk=self.desk, clock=self._clock)
        return SqlUnitOfWork(
            self._writers,
            desk=self.desk,
            clock=self._clock,
            on_recorded=self.own_entries.add,
            turn=self._write_turn.held,
        )

    __call__ = unit_of_work

    def dispose(self) -> None:
        """Close every pooled connection, so the file can be moved or deleted."""
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"Database({describe(self.url)!r})"


def open_database(
    url: str,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    desk: str | None = None,
    clock: Clock | None = None,
) -> Database:
    """Open `url` (a URL or file path), upgrade its schema to this code's, and return it.

    `desk` names this program in the change feed and the audit log (default: see default_desk).

    Raises StorageError, naming the database, when it is locked, damaged, not a database,
    someone else's, or newer than this code.
    """
    url = _as_url(url)
    where = describe(url)
    _make_private(url)
    engine = build_engine(url, busy_timeout_ms)
    try:
        upgrade_to_head(engine, where)
    except StorageError as error:
        engine.dispose()
        cause = error.__cause__
        located = storage_error_for(cause, where) if cause is not None else None
        raise (located or error) from cause
    except BaseException:
        engine.dispose()
        raise
    return Database(url, engine, desk, clock)
