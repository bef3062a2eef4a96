"""What one dispatcher change did to a booking (its state before and after), so it can be undone."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.domain.model import Booking, BookingStatus


class ChangeKind(Enum):
    MOVED = "moved"
    REASSIGNED = "reassigned"
    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    CANCELLED = "cancelled"
    EDITED = "edited"


@dataclass(frozen=True, slots=True)
class BookingChange:
    """One booking before and right after a change; `after.version` is what undo expects to find."""

    before: Booking
    after: Booking

    def __post_init__(self) -> None:
        if self.before.id != self.after.id:
            raise ValueError("a change is made to one booking")

    @property
    def kind(self) -> ChangeKind:
        before, after = self.before, self.after
        if after.status is BookingStatus.CANCELLED and before.status is not BookingStatus.CANCELLED:
            return ChangeKind.CANCELLED
        if before.tech_id != after.tech_id:
            if after.tech_id is None:
                return ChangeKind.UNASSIGNED
            return ChangeKind.ASSIGNED if before.tech_id is None else ChangeKind.REASSIGNED
        return ChangeKind.MOVED if before.start != after.start else ChangeKind.EDITED

    @property
    def is_direct(self) -> bool:
        """Whether `after` followed `before` with nothing in between (no other edit to undo over)."""
        return self.after.version == self.before.version + 1
