"""BoardUndoStack: the last few booking changes made on the board or in the editor, undoable.

A mis-dropped job is the dispatcher's most common slip. Each change is kept as the booking before
and after it; undo asks BookingService to put the "before" back, so the outbox and sync see it as
any other change. The service refuses when the booking changed since; busy time asks first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.domain.ids import TechId
from app.domain.model import Booking
from app.errors import Outdated, Refused
from app.services.booking_changes import BookingChange, ChangeKind
from app.services.bookings import BookingService
from ui.widgets import ask
from ui.worker import DatabaseWorker

MAX_LEVELS = 10

TechNamer = Callable[[TechId | None], str]

_NOUN = {
    ChangeKind.MOVED: "move",
    ChangeKind.REASSIGNED: "move",
    ChangeKind.ASSIGNED: "scheduling",
    ChangeKind.UNASSIGNED: "unassignment",
    ChangeKind.CANCELLED: "cancellation",
    ChangeKind.EDITED: "edit",
}


def slot_text(booking: Booking, tech_name: TechNamer, office: tzinfo) -> str:
    """'Thu 10:00 (Dana Ortiz)', or 'the unassigned tray' for a job without a tech."""
    if booking.tech_id is None:
        return "the unassigned tray"
    when = f"{booking.start.astimezone(office):%a %H:%M}" if booking.start else "no time yet"
    return f"{when} ({tech_name(booking.tech_id)})"


def describe_change(change: BookingChange, customer: str, tech_name: TechNamer, office: tzinfo) -> str:
    """What the dispatcher just did, in a few words: 'Moved Garcia family to Thu 10:00 (Dana Ortiz)'."""
    after = change.after
    kind = change.kind
    if kind is ChangeKind.CANCELLED:
        return f"Cancelled {customer}'s {after.service}"
    if kind is ChangeKind.UNASSIGNED:
        return f"Moved {customer} to the unassigned tray"
    if kind is ChangeKind.EDITED:
        return f"Edited {customer}'s {after.service}"
    verb = "Scheduled" if kind is ChangeKind.ASSIGNED else "Moved"
    return f"{verb} {customer} to {slot_text(after, tech_name, office)}"


@dataclass(frozen=True, slots=True)
class UndoEntry:
    change: BookingChange
    customer: str
    label: str  # describe_change(...)

    @property
    def action_text(self) -> str:
        """The Edit menu's wording: 'Undo move of Garcia family'."""
        return f"Undo {_NOUN[self.change.kind]} of {self.customer}"


class BoardUndoStack(QObject):
    """Keeps up to MAX_LEVELS changes; `undo()` reverts the newest through the booking service.

    `changed` fires when what can be undone changed; `undone(str)` says where the job is back,
    `refused(str)` gives the service's one-sentence reason when it could not be put back.
    """

    changed = Signal()
    undone = Signal(str)
    refused = Signal(str)

    def __init__(
        self,
        bookings: BookingService,
        worker: DatabaseWorker,
        office: tzinfo,
        tech_name: TechNamer,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._bookings = bookings
        self._worker = worker
        self._office = office
        self._tech_name = tech_name
        self._parent = parent
        self._entries: list[UndoEntry] = []
        self._running = False

    @property
    def can_undo(self) -> bool:
        return bool(self._entries) and not self._running

    @property
    def top(self) -> UndoEntry | None:
        return self._entries[-1] if self._entries else None

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, change: BookingChange, customer: str) -> UndoEntry | None:
        """Remember a change just made; one that followed another edit unseen is not undoable."""
        if not change.is_direct or not change.before.is_live:
            return None
        entry = UndoEntry(change, customer, describe_change(change, customer, self._tech_name, self._office))
        # A newer change to the same job makes its older entries impossible to undo (the version
        # moved on), so they go rather than wait to be refused.
        self._entries = [e for e in self._entries if e.change.after.id != change.after.id]
        self._entries.append(entry)
        del self._entries[:-MAX_LEVELS]
        self.changed.emit()
        return entry

    def undo(self, force: bool = False) -> None:
        entry = self.top
        if entry is None or self._running:
            return
        self._running = True
        self.changed.emit()
        bookings = self._bookings
        self._worker.run(
            lambda: bookings.undo(entry.change, force=force),
            on_done=lambda restored: self._on_undone(entry, restored),
            on_error=lambda error: self._on_failed(entry, error, force),
            context=self,
        )

    def _finish(self, entry: UndoEntry, drop: bool) -> None:
        self._running = False
        if drop and entry in self._entries:
            self._entries.remove(entry)
        self.changed.emit()

    def _on_undone(self, entry: UndoEntry, restored: Booking) -> None:
        self._finish(entry, drop=True)
        if entry.change.kind is ChangeKind.CANCELLED:
            text = f"Undone: {entry.customer}'s {restored.service} is booked again, {self._where(restored)}."
        else:
            text = f"Undone: {entry.customer} is back at {self._where(restored)}."
        self.undone.emit(text.replace("back at the unassigned tray", "back in the unassigned tray"))

    def _where(self, booking: Booking) -> str:
        return slot_text(booking, self._tech_name, self._office)

    def _on_failed(self, entry: UndoEntry, error: BaseException, forced: bool) -> None:
        if isinstance(error, Outdated):
            self._finish(entry, drop=True)  # it can never succeed now
            self.refused.emit(str(error))
            return
        self._finish(entry, drop=False)
        if isinstance(error, Refused) and not forced and entry.change.before.tech_id is not None:
            ask(
                self._parent,
                "Technician is busy",
                "Put it back anyway?",
                str(error),
                "Put it back",
                lambda: self.undo(force=True),
            )
            return
        if isinstance(error, Refused):
            self.refused.emit(str(error))
            return
        self._worker.report(error)
