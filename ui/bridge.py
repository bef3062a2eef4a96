"""Turns app.bus events into Qt signals on the GUI thread, so screens refresh from typed changes.

The bus calls its handlers in the publisher's thread (usually the database worker). The bridge
only forwards the event object through a queued connection; nothing in a bus handler touches a
widget.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from shiboken6 import isValid

from app.bus import (
    AccountsChanged,
    BookingChanged,
    Bus,
    BusyChanged,
    ConflictChanged,
    Event,
    HealthChanged,
    NotificationAdded,
    TechsChanged,
)


class BusBridge(QObject):
    """One Qt signal per event type; `board_changed` fires for anything the board shows."""

    booking_changed = Signal(BookingChanged)
    techs_changed = Signal(TechsChanged)
    busy_changed = Signal(BusyChanged)
    conflict_changed = Signal(ConflictChanged)
    health_changed = Signal(HealthChanged)
    accounts_changed = Signal(AccountsChanged)
    notification_added = Signal(NotificationAdded)
    # Any of the above that changes what the board shows: object, as a signal takes one type.
    board_changed = Signal(object)

    _event_arrived = Signal(object)  # any bus event, handed from the publishing thread: one type again

    def __init__(self, bus: Bus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._event_arrived.connect(self._on_self_event_arrived, Qt.ConnectionType.QueuedConnection)
        self._unsubscribers: list[Callable[[], None]] = [
            bus.subscribe(kind, self._forward)
            for kind in (
                BookingChanged,
                TechsChanged,
                BusyChanged,
                ConflictChanged,
                HealthChanged,
                AccountsChanged,
                NotificationAdded,
            )
        ]

    def close(self) -> None:
        """Stop listening to the bus; the owner calls this when the window closes."""
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    def _forward(self, event: object) -> None:
        # Any thread. Emitting on a QObject owned by the GUI thread through a queued connection
        # is the thread-safe hand-over.
        if isValid(self):
            self._event_arrived.emit(event)

    @Slot(object)
    def _on_self_event_arrived(self, event: Event) -> None:
        signal = {
            BookingChanged: self.booking_changed,
            TechsChanged: self.techs_changed,
            BusyChanged: self.busy_changed,
            ConflictChanged: self.conflict_changed,
            HealthChanged: self.health_changed,
            AccountsChanged: self.accounts_changed,
            NotificationAdded: self.notification_added,
        }.get(type(event))
        if signal is None:
            return
        signal.emit(event)
        if not isinstance(event, NotificationAdded):
            self.board_changed.emit(event)
