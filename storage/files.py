"""Files only their user can read: the data folder and the database with its -wal and -shm files.

The database holds customers' names, addresses and phone numbers and the key that signs push
channel tokens; on a computer several people use, the default modes (0755 folders, 0644 files) let
every other account read them. New folders are made 0700 and the database file 0600 before SQLite
first opens it (SQLite gives its -wal, -shm and -journal files the database file's mode); existing
ones that other users can reach are tightened at start, and one log line says which.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# What SQLite keeps next to a database file.
COMPANIONS = ("-wal", "-shm", "-journal")


def _enforced() -> bool:
    # Windows has no group/other bits to tighten (its folders under the profile are private).
    return os.name == "posix"


def _tighten(path: Path, mode: int) -> bool:
    """Remove group and other access from `path` when it has any; True when it changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if current & 0o077 == 0:
        return False
    path.chmod((current & ~0o077) | (mode & 0o700))
    return True


def private_folder(folder: Path) -> list[Path]:
    """Create `folder` (and missing parents) as 0700, or tighten it; the paths that were tightened."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if not _enforced():
        return []
    try:
        return [folder] if _tighten(folder, FOLDER_MODE) else []
    except OSError as error:
        log.warning("Cannot make %s private to this user: %s", folder, error.strerror or error)
        return []


def private_database_file(database: Path) -> list[Path]:
    """Create the SQLite file `database` as 0600 when missing, and tighten it and its companions.

    A folder that does not exist is left for SQLite to report: it names the problem better.
    """
    if not _enforced():
        return []
    try:
        descriptor = os.open(database, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    except OSError:
        return []
    os.close(descriptor)
    tightened = []
    for path in (database, *(database.with_name(database.name + end) for end in COMPANIONS)):
        try:
            if _tighten(path, FILE_MODE):
                tightened.append(path)
        except OSError as error:
            log.warning("Cannot make %s private to this user: %s", path, error.strerror or error)
    return tightened


def report_tightened(paths: Iterable[Path]) -> None:
    """One log line naming what other users could read until now."""
    names = [str(p) for p in paths]
    if names:
        log.warning(
            "Made private to this user (other accounts on this computer could read them): %s",
            ", ".join(names),
        )
