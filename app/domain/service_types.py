"""Service types: what a customer can book, how long it takes, and who is qualified to do it.

A booking keeps its service as free text (existing jobs are never rewritten); a service type is
what the booking page, "Assign automatically" and `crewboard book --tech auto` start from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import NewType

from app.domain.ids import BookingId, TechId

ServiceTypeId = NewType("ServiceTypeId", str)

# Bounds a person can mean: a job takes a few minutes to a working day; a buffer (travel, clean-up)
# at most a few hours.
SHORTEST_JOB = timedelta(minutes=5)
LONGEST_JOB = timedelta(hours=12)
LONGEST_BUFFER = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class ServiceType:
    """A bookable service. `qualified` are the techs who may be booked for it (none: nobody yet)."""

    id: ServiceTypeId
    name: str
    duration: timedelta
    buffer_after: timedelta = timedelta(0)
    qualified: frozenset[TechId] = frozenset()

    @property
    def occupies(self) -> timedelta:
        """How long a tech must be free for one job: the work and the buffer after it."""
        return self.duration + self.buffer_after


class BookingSource(Enum):
    """Where a booking came from: the dispatcher's desk (board or CLI) or the public booking page."""

    DESK = "desk"
    ONLINE = "online"


@dataclass(frozen=True, slots=True)
class AutoAssignment:
    """A job Crewboard assigned by rule: to whom, when, and the explanation shown for it."""

    booking_id: BookingId
    tech_id: TechId
    assigned_at: datetime
    explanation: str
    service_type_id: ServiceTypeId | None = None


@dataclass(frozen=True, slots=True)
class OnlineBooking:
    """A job a customer booked on the booking page (its booking's source is "online")."""

    booking_id: BookingId
    service_type_id: ServiceTypeId | None
    created_at: datetime
