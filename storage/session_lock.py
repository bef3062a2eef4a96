"""A PostgreSQL session-level advisory lock on a connection of its own: who owns sync in an office.

The lock belongs to the connection, so PostgreSQL releases it when that connection ends: the
owner's process killed (kill -9), its host lost or its network cut, once the server notices.
What makes it notice quickly, on both ends of this one connection:
- libpq keepalives and tcp_user_timeout here, so a cut network fails our checks within seconds
  instead of after the kernel's two hours;
- the same settings for the server's side of the session (`SET tcp_keepalives_*`,
  `tcp_user_timeout`), so the server drops a vanished owner's session, and with it the lock,
  within about LOST_AFTER_S seconds, and a standby can take over.

Only this module and storage.engine talk to PostgreSQL; the sync layer sees try/check/release.
"""

from __future__ import annotations

import contextlib
import threading

import psycopg
from sqlalchemy.engine import make_url

from app.errors import StorageError
from storage.engine import WRITER_LOCK_KEY, is_postgresql, normalized_url
from storage.errors import CONNECTION_LOST, storage_error_for

# "sync" in ASCII: not the writers' key (storage.engine.WRITER_LOCK_KEY), which is per transaction.
OWNER_LOCK_KEY = 0x73796E63
assert OWNER_LOCK_KEY != WRITER_LOCK_KEY

KEEPALIVE_IDLE_S = 2
KEEPALIVE_INTERVAL_S = 1
KEEPALIVE_COUNT = 3
LOST_AFTER_S = 6  # tcp_user_timeout: unacknowledged data for this long ends the connection
CONNECT_TIMEOUT_S = 5
CHECK_TIMEOUT_MS = 3000  # a check the server does not answer within this is a lost connection


class SessionLock:
    """`try_acquire`, `check` and `release` of one advisory lock; blocking, safe from any thread."""

    def __init__(self, url: str, key: int = OWNER_LOCK_KEY) -> None:
        if not is_postgresql(url):
            raise ValueError("a session lock needs a PostgreSQL store")
        parsed = make_url(normalized_url(url))
        self._conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._where = parsed.render_as_string(hide_password=True)
        self._key = key
        self._mutex = threading.Lock()
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False when another session does.

        StorageError when the server cannot be reached (the caller tries again later).
        """
        with self._mutex:
            if self.held and self._alive():
                return True
            self._drop()
            try:
                connection = self._connect()
                row = connection.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            except psycopg.Error as error:
                self._drop()
                raise self._storage_error(error) from None
            self._connection = connection
            self.held = bool(row and row[0])
            if not self.held:
                self._drop()  # a standby holds no connection between its tries
            return self.held

    def check(self) -> bool:
        """Whether we still hold the lock: our connection answers, within CHECK_TIMEOUT_MS.

        A failed check drops the connection (the server ends the session, and the lock with it,
        if it has not already): from then on we do not own, whatever happens next.
        """
        with self._mutex:
            if not self.held:
                return False
            if self._alive():
                return True
            self._drop()
            return False

    def release(self) -> None:
        """Give the lock up (ending the session releases it, even if the unlock cannot be sent)."""
        with self._mutex:
            self._drop()

    def _alive(self) -> bool:
        connection = self._connection
        if connection is None or connection.closed:
            return False
        try:
            connection.execute("SELECT 1").fetchone()
        except psycopg.Error:
            return False
        return True

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        connection = psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            keepalives=1,
            keepalives_idle=KEEPALIVE_IDLE_S,
            keepalives_interval=KEEPALIVE_INTERVAL_S,
            keepalives_count=KEEPALIVE_COUNT,
            tcp_user_timeout=LOST_AFTER_S * 1000,
            application_name="crewboard sync owner",
        )
        try:
            for name, value in (
                ("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
                ("tcp_user_timeout", LOST_AFTER_S * 1000),
                ("statement_timeout", CHECK_TIMEOUT_MS),
            ):
                connection.execute(f"SET {name} = {int(value)}")
        except psycopg.Error:
            connection.close()
            raise
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        self.held = False
        if connection is not None:  # closing a broken or closed one is harmless, and frees it
            # Already gone, perhaps: the server then ends the session, and the lock, by itself.
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _storage_error(self, error: psycopg.Error) -> StorageError:
        found = storage_error_for(error, self._where)
        if found is not None:
            return found
        return StorageError(CONNECTION_LOST.format(where=f" {self._where}"))
