"""Typed identifiers. Every id is a 32-character lowercase hex string (a UUID4).

Hex is a subset of Google's base32hex alphabet, so a booking id can become part of a
client-chosen Google event id without translation.
"""

from __future__ import annotations

import uuid
from typing import NewType

TechId = NewType("TechId", str)
CustomerId = NewType("CustomerId", str)
BookingId = NewType("BookingId", str)
TimeOffId = NewType("TimeOffId", str)
AccountId = NewType("AccountId", str)
CalendarId = NewType("CalendarId", str)
ConflictId = NewType("ConflictId", str)
NotificationId = NewType("NotificationId", str)
OutboxId = NewType("OutboxId", str)


def new_id() -> str:
    """A fresh random id."""
    return uuid.uuid4().hex
