"""Changes the dispatcher makes on the board itself: drop a job somewhere, cancel it; each is then
offered for undo. The services decide; this asks them on the worker and asks the dispatcher first
where a service refuses ("Book anyway?") or the step cannot be taken back lightly (cancel)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.domain.ids import BookingId, TechId
from app.domain.model import Booking
from app.errors import Refused
from app.services.board import BoardSnapshot
from app.services.booking_changes import BookingChange
from app.services.container import Services
from app.services.stale_booking import StaleBooking
from ui.board.undo import BoardUndoStack
from ui.booking_editor import describe_booking
from ui.widgets import ask
from ui.worker import DatabaseWorker


def find_booking(snapshot: BoardSnapshot | None, booking_id: str) -> Booking | None:
    """The booking with `booking_id` on the board or in the unassigned tray, if shown."""
    if snapshot is None:
        return None
    for row in snapshot.rows:
        for booking in row.bookings:
            if booking.id == booking_id:
                return booking
    return next((b for b in snapshot.unassigned if b.id == booking_id), None)


class BoardEdits(QObject):
    """Moves and cancellations through BookingService, each remembered on `undo_stack`.

    `change_recorded(label)` fires when a change can be undone: 'Moved Garcia family to Thu 10:00'.
    """

    change_recorded = Signal(str)

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        office: tzinfo,
        snapshot: Callable[[], BoardSnapshot | None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._worker = worker
        self._office = office
        self._snapshot = snapshot
        self._parent = parent
        self.undo_stack = BoardUndoStack(services.bookings, worker, office, self.tech_name, parent)

    def tech_name(self, tech_id: TechId | None) -> str:
        snapshot = self._snapshot()
        rows = snapshot.rows if snapshot is not None else []
        tech = next((row.tech for row in rows if row.tech.id == tech_id), None)
        return tech.name if tech is not None else "unassigned"

    def _customer_name(self, booking: Booking) -> str:
        snapshot = self._snapshot()
        customer = snapshot.customers.get(booking.customer_id) if snapshot else None
        return customer.name if customer is not None else "the customer"

    def move(self, booking_id: BookingId, tech_id: TechId, start: datetime, force: bool = False) -> None:
        """Move (or assign) a booking through BookingService; busy time asks "Book anyway?"."""
        bookings = self._services.bookings
        shown = find_booking(self._snapshot(), booking_id)
        # The version on screen: a tile another desk moved meanwhile is refused, not overwritten.
        expected = shown.version if shown is not None else None

        def failed(error: BaseException) -> None:
            if isinstance(error, StaleBooking):
                self._worker.report(error)  # its sentence says who moved it; the feed redraws the board
            elif isinstance(error, Refused) and not force:
                ask(
                    self._parent,
                    "Technician is busy",
                    "Book anyway?",
                    str(error),
                    "Book anyway",
                    lambda: self.move(booking_id, tech_id, start, force=True),
                )
            else:
                self._worker.report(error)

        def move() -> BookingChange:
            before = bookings.get(booking_id)
            moved = bookings.move(booking_id, start, tech=tech_id, force=force, expected_version=expected)
            return BookingChange(before, moved)

        self._worker.run(move, on_done=self.remember, on_error=failed, context=self)

    def cancel(self, booking_id: str) -> None:
        """Ask, then cancel the booking (it leaves the board and the tech's calendar)."""
        snapshot = self._snapshot()
        booking = find_booking(snapshot, booking_id)
        if booking is None or snapshot is None:
            return
        customer = snapshot.customers.get(booking.customer_id)
        bookings = self._services.bookings

        def cancel() -> BookingChange:
            return BookingChange(bookings.get(booking_id), bookings.cancel(booking_id))

        ask(
            self._parent,
            "Cancel booking",
            "Cancel this booking?",
            describe_booking(booking, customer, self._office)
            + "\n\nIt is removed from the board and from the technician's calendar.",
            "Cancel booking",
            lambda: self._worker.run(cancel, on_done=self.remember, context=self),
            no_text="Keep it",
        )

    def remember(self, change: BookingChange) -> None:
        """Offer to undo a change just made here (Edit ▸ Undo, and Undo in the status bar)."""
        entry = self.undo_stack.record(change, self._customer_name(change.before))
        if entry is not None:
            self.change_recorded.emit(entry.label)
