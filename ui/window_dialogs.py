"""The main window's dialogs: the booking editor, Add technician, Time off and Find first free slot.

One editor and one small dialog at a time; each opens over the window and reports back through
the window's status bar, the board (a saved booking is selected, a found slot highlighted) and its
undo (an edit can be undone).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QStatusBar, QWidget

from app.domain.availability import Slot
from app.domain.model import Booking, Technician
from app.domain.time import Interval
from app.services.board import BoardSnapshot
from app.services.booking_changes import BookingChange
from app.services.container import Services
from ui.board.layout import BoardMode
from ui.board.view import BoardView
from ui.board_edits import BoardEdits, find_booking
from ui.booking_editor import BookingEditorDialog
from ui.dialogs import FindSlotDialog, TechnicianDialog, TimeOffDialog
from ui.format import clock_range, duration_text
from ui.widgets import ask
from ui.worker import DatabaseWorker

SLOT_SEARCH_DAYS = 14


class DialogHost(Protocol):
    """What the dialogs need of the main window."""

    services: Services
    worker: DatabaseWorker
    office: tzinfo
    office_zone_name: str
    board: BoardView
    edits: BoardEdits

    @property
    def snapshot(self) -> BoardSnapshot | None: ...

    def techs(self) -> list[Technician]: ...

    def show_info(self, message: str) -> None: ...

    def statusBar(self) -> QStatusBar: ...

    def go_to(self, day: date) -> None: ...

    def set_mode(self, mode: BoardMode) -> None: ...


class WindowDialogs(QObject):
    """Opens the window's dialogs and acts on their answers; `editor`/`dialog` are the open ones."""

    def __init__(self, host: DialogHost, parent: QWidget) -> None:
        super().__init__(parent)
        self._host = host
        self._window = parent
        self._editor: BookingEditorDialog | None = None
        self._dialog: QWidget | None = None

    @property
    def editor(self) -> BookingEditorDialog | None:
        return self._editor

    def close_editor(self) -> None:
        """Close the open booking editor, if any (the window is closing)."""
        if self._editor is not None:
            self._editor.close()

    @property
    def dialog(self) -> QWidget | None:
        """The small dialog currently open (technician, time off, find slot), if any."""
        return self._dialog

    def open_editor(
        self,
        booking: Booking | None = None,
        tech_id: str | None = None,
        start: datetime | None = None,
        duration: timedelta | None = None,
    ) -> BookingEditorDialog:
        if self._editor is not None:
            self._editor.close()
        customer = None
        if booking is not None and self._host.snapshot is not None:
            customer = self._host.snapshot.customers.get(booking.customer_id)
        editor = BookingEditorDialog(
            self._host.services,
            self._host.worker,
            self._host.office,
            self._host.techs(),
            booking=booking,
            customer=customer,
            tech_id=tech_id,
            start=start,
            duration=duration,
            parent=self._window,
        )
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.saved.connect(self._on_editor_saved)
        if booking is not None:
            editor.saved.connect(lambda after: self._host.edits.remember(BookingChange(booking, after)))
        editor.finished.connect(lambda _result: self._forget_editor(editor))
        self._editor = editor
        editor.open()
        return editor

    def _forget_editor(self, editor: BookingEditorDialog) -> None:
        if self._editor is editor:
            self._editor = None

    def _on_editor_saved(self, booking: Booking) -> None:
        self._host.board.clear_slot()
        self._host.board.select_booking(booking.id)
        self._host.statusBar().showMessage("Booking saved.", 6000)

    def _open_dialog(self, dialog: QWidget) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._dialog = dialog
        dialog.destroyed.connect(self._on_dialog_destroyed)
        dialog.show()

    def open_add_technician(self) -> TechnicianDialog:
        dialog = TechnicianDialog(
            self._host.services, self._host.worker, self._host.office_zone_name, self._window
        )
        dialog.saved.connect(lambda tech: self._host.statusBar().showMessage(f"Added {tech.name}.", 6000))
        self._open_dialog(dialog)
        return dialog

    def open_time_off(self) -> TimeOffDialog | None:
        if not self._host.techs():
            self._host.show_info("Add a technician first: Technicians ▸ Add technician.")
            return None
        selected = self._host.board.selected_booking
        booking = find_booking(self._host.snapshot, selected) if selected else None
        dialog = TimeOffDialog(
            self._host.services,
            self._host.worker,
            self._host.office,
            self._host.techs(),
            booking.tech_id if booking else None,
            self._window,
        )
        dialog.saved.connect(lambda _item: self._host.statusBar().showMessage("Time off added.", 6000))
        self._open_dialog(dialog)
        return dialog

    def open_find_slot(self) -> FindSlotDialog | None:
        if not self._host.techs():
            self._host.show_info("Add a technician first: Technicians ▸ Add technician.")
            return None
        dialog = FindSlotDialog(self._host.techs(), self._window)
        dialog.accepted.connect(lambda: self.find_slot(dialog.duration(), dialog.tech_ids()))
        self._open_dialog(dialog)
        return dialog

    def find_slot(self, duration: timedelta, tech_ids: list[str]) -> None:
        """Search the earliest free slot; show it on the board and offer to book it."""
        schedule = self._host.services.schedule
        start = self._host.services.clock.now()
        self._host.worker.run(
            lambda: schedule.earliest(duration, tech_ids, start=start, days=SLOT_SEARCH_DAYS),
            on_done=lambda slots: self._on_slot_found(slots, duration),
            context=self,
        )

    def _on_slot_found(self, slots: list[Slot], duration: timedelta) -> None:
        if not slots:
            self._host.show_info(
                f"No free slot of {duration_text(duration)} in the next {SLOT_SEARCH_DAYS} days "
                "for the chosen technicians."
            )
            return
        slot = slots[0]
        tech_id, span = slot.tech_id, slot.interval
        proposal = Interval(span.start, span.start + duration)
        self._host.go_to(proposal.start.astimezone(self._host.office).date())
        self._host.set_mode(BoardMode.DAY)
        self._host.board.show_slot(tech_id, proposal)
        tech = next((t for t in self._host.techs() if t.id == tech_id), None)
        name = tech.name if tech else "A technician"
        ask(
            self._window,
            "First free slot",
            f"Book {name} {clock_range(proposal, self._host.office, with_day=True)}?",
            f"{name} is free for {duration_text(duration)} then (office time, {self._host.office_zone_name}).",
            "Book it…",
            lambda: self.open_editor(tech_id=tech_id, start=proposal.start, duration=duration),
            no_text="Not now",
            on_no=self._host.board.clear_slot,
        )

    def _on_dialog_destroyed(self) -> None:
        self._dialog = None
