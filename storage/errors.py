"""Turn the database's environmental failures into StorageError sentences a user can act on.

Only failures caused by the surroundings (a lock held elsewhere, a full disk, a damaged or
foreign file, a read-only folder; for PostgreSQL a server that cannot be reached, a refused login,
a missing database, a dropped connection) are translated; anything else is a bug and keeps its own
exception and traceback. psycopg reports connection failures without an SQLSTATE, so the text is
what we match, here as for SQLite.
"""

from __future__ import annotations

import re

from app.errors import StorageError

# Each sentence names "the database", or the database itself when the caller knows where it is.
LOCKED = "The database{where} is locked by another program; close it and try again."
DISK_FULL = "The disk holding the database{where} is full; free some space and try again."
NOT_A_DATABASE = (
    "The file{where} is not a Crewboard database or is damaged; open another file or restore a backup."
)
CANNOT_OPEN = (
    "The database{where} cannot be opened; check that its folder exists and that you may write to it."
)
READ_ONLY = "The database{where} is read-only; allow writing to it or open a copy."
DISK_ERROR = "The disk holding the database{where} reported an error; check the disk and try again."
UNREACHABLE = (
    "The database{where} cannot be reached; check that its PostgreSQL server is running "
    "and that the host name and port are right."
)
LOGIN_REFUSED = (
    "The database{where} refused the login; check the user name and password (in the URL or in ~/.pgpass)."
)
NO_SUCH_DATABASE = (
    "The database{where} does not exist on its server; check its name or create it (createdb NAME)."
)
CONNECTION_LOST = "The connection to the database{where} was lost; check the network and try again."

# Fragments of SQLite's (and PostgreSQL's) messages, lower case, with the sentence each one means.
_KNOWN: tuple[tuple[str, str], ...] = (
    ("database is locked", LOCKED),
    ("database table is locked", LOCKED),
    ("database schema is locked", LOCKED),
    ("could not obtain lock", LOCKED),
    ("lock timeout", LOCKED),
    ("database or disk is full", DISK_FULL),
    ("no space left on device", DISK_FULL),
    ("file is not a database", NOT_A_DATABASE),
    ("file is encrypted or is not a database", NOT_A_DATABASE),
    ("database disk image is malformed", NOT_A_DATABASE),
    ("unable to open database file", CANNOT_OPEN),
    ("attempt to write a readonly database", READ_ONLY),
    ("disk i/o error", DISK_ERROR),
    # PostgreSQL (libpq and server messages).
    ("password authentication failed", LOGIN_REFUSED),
    ("no password supplied", LOGIN_REFUSED),
    ("no pg_hba.conf entry", LOGIN_REFUSED),
    ("authentication failed", LOGIN_REFUSED),
    ("connection refused", UNREACHABLE),
    ("failed to resolve host", UNREACHABLE),
    ("could not translate host name", UNREACHABLE),
    ("timeout expired", UNREACHABLE),
    ("no route to host", UNREACHABLE),
    ("network is unreachable", UNREACHABLE),
    ("the database system is starting up", UNREACHABLE),
    ("the database system is shutting down", UNREACHABLE),
    ("is not currently accepting connections", UNREACHABLE),  # ALLOW_CONNECTIONS false, for upkeep
    ("server closed the connection unexpectedly", CONNECTION_LOST),
    ("terminating connection due to administrator command", CONNECTION_LOST),
    ("consuming input failed", CONNECTION_LOST),
)
# Server messages whose quoted name varies: 'role "x" does not exist', 'database "x" does not exist'.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'\brole ".*" does not exist'), LOGIN_REFUSED),
    (re.compile(r'\bfatal: +database ".*" does not exist'), NO_SUCH_DATABASE),
)


def storage_error_for(error: BaseException, where: str = "") -> StorageError | None:
    """The StorageError that explains `error`, or None when it is not an environmental failure.

    `where` (a file path or a URL without its password) is named in the sentence when given.
    """
    text = str(getattr(error, "orig", None) or error).lower()
    for fragment, sentence in _KNOWN:
        if fragment in text:
            return _sentence(sentence, where)
    for pattern, sentence in _PATTERNS:
        if pattern.search(text):
            return _sentence(sentence, where)
    return None


def _sentence(template: str, where: str) -> StorageError:
    return StorageError(template.format(where=f" {where}" if where else ""))
