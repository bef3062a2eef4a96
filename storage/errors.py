"""Turn the database's environmental failures into StorageError sentences a user can act on.

Only failures caused by the surroundings (a lock held elsewhere, a full disk, a damaged or
foreign file, a read-only folder) are translated; anything else is a bug and keeps its own
exception and traceback.
"""

from __future__ import annotations

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
)


def storage_error_for(error: BaseException, where: str = "") -> StorageError | None:
    """The StorageError that explains `error`, or None when it is not an environmental failure.

    `where` (a file path or a URL without its password) is named in the sentence when given.
    """
    text = str(getattr(error, "orig", None) or error).lower()
    for fragment, sentence in _KNOWN:
        if fragment in text:
            return StorageError(sentence.format(where=f" {where}" if where else ""))
    return None
