"""The error tree: one base for everything Crewboard raises on purpose.

Known, environmental errors carry a sentence a user can act on; anything else is a bug and gets
a crash report. Each package derives its own base from `CrewboardError`.
"""

from __future__ import annotations


class CrewboardError(Exception):
    """An expected failure whose message is one clear sentence for the user."""

    exit_code = 1


class InvalidInput(CrewboardError):
    """The user gave something we cannot use; the message says what and how to fix it."""

    exit_code = 2


class NotFound(InvalidInput):
    """A named thing (tech, booking, calendar) does not exist."""


class Refused(CrewboardError):
    """A valid request that a business rule refuses (e.g. a booking over busy time)."""

    exit_code = 2


class Outdated(Refused):
    """The request was prepared against a version of something that has changed since."""


class StorageError(CrewboardError):
    """The store could not be read or written (locked, full disk, wrong schema)."""

    exit_code = 3


class AccountsFailing(CrewboardError):
    """A sync round finished, but some calendar accounts failed in it (their writes wait in the
    outbox); the message names them. Its own exit code lets a script or a timer tell it apart."""

    exit_code = 5
