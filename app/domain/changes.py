"""The change feed's entries: what a committed transaction changed, numbered in commit order.

Every desk and the office service write one store; each reads this feed to learn what the
others changed (the way Anki's screens refresh from an operation's change set). An entry names
a kind of thing and its id, never its new state: a reader re-reads what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class ChangeKind(Enum):
    """What an entry's id names. Busy time is filed under the tech whose time it is."""

    BOOKING = "booking"
    CUSTOMER = "customer"
    TECH = "tech"
    BUSY = "busy"  # calendar busy blocks or time off; the id is the tech's
    CONFLICT = "conflict"
    HEALTH = "health"  # the id is the calendar account's
    ALERT = "alert"  # a notification to a person
    ACCOUNT = "account"
    CALENDAR = "calendar"
    OUTBOX = "outbox"  # a calendar write was queued or rescheduled; the id is the booking's
    SETTINGS = "settings"  # the id is the setting's key
    SERVICE_TYPE = "service_type"  # what the booking page offers, and who is qualified for it


@dataclass(frozen=True, slots=True)
class Change:
    """One entry: `seq` grows by one per entry in the order transactions committed."""

    seq: int
    kind: ChangeKind
    item_id: str
    at: datetime
    desk: str
