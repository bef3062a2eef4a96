"""Over 500 lines: one window acting a phone's calendar app, its week view and edit form sharing state.

The demo's "Sandbox phone": act as a technician editing their own calendar on their phone.

It shows the tech's week as their calendar app would and lets you add, move and delete events,
or break and restore their sync, so you can watch the board follow within seconds. Everything goes
through a `PhoneBackend` (sync.sandbox.phone, injected by the demo), which talks to the provider's
own API; the ui never speaks HTTP. Calls run on the window's own worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.time import Clock
from ui.plain import PlainLabel, plain_tip
from ui.resources import palette, stylesheet
from ui.worker import DatabaseWorker

EVENT_ROLE = Qt.ItemDataRole.UserRole
REFRESH_MS = 5_000  # the phone's own view follows Crewboard's writes (new jobs appear here too)


class PhoneTechLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def provider_label(self) -> str: ...


class PhoneEventLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start(self) -> datetime | None: ...
    @property
    def end(self) -> datetime | None: ...
    @property
    def start_date(self) -> date | None: ...
    @property
    def end_date(self) -> date | None: ...
    @property
    def busy(self) -> bool: ...
    @property
    def private(self) -> bool: ...
    @property
    def tentative(self) -> bool: ...
    @property
    def declined(self) -> bool: ...
    @property
    def calendar(self) -> str: ...
    @property
    def from_crewboard(self) -> bool: ...


class PhoneBackend(Protocol):
    """A technician's calendar as their phone sees it (implemented over the sandbox's APIs)."""

    def techs(self) -> Sequence[Any]: ...
    def events(self, tech: Any, start: datetime, end: datetime) -> Sequence[Any]: ...
    def add_event(
        self, tech: Any, title: str, start: datetime, duration: timedelta, busy: bool, private: bool
    ) -> str: ...
    def move_event(self, tech: Any, event_id: str, start: datetime, duration: timedelta) -> None: ...
    def delete_event(self, tech: Any, event_id: str) -> None: ...
    def revoke(self, tech: Any) -> None: ...
    def outage(self, tech: Any, seconds: int = ...) -> None: ...
    def restore(self, tech: Any) -> None: ...


class PhoneWindow(QWidget):
    """A tech's week on their phone, with add / move / delete and sync trouble switches."""

    events_loaded = Signal()
    changed = Signal(str)  # a sentence saying what the phone just did
    failed = Signal(str)

    def __init__(self, backend: PhoneBackend, clock: Clock, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self._backend = backend
        self._clock = clock
        self._worker = DatabaseWorker(self)  # the phone's HTTP: its own thread, never the board's
        self._techs: list[Any] = []
        self._events: list[Any] = []
        self._week: date | None = None
        self._generation = 0
        self._closed = False
        self.setObjectName("phoneWindow")
        self.setWindowTitle("Sandbox phone")
        self.setStyleSheet(stylesheet("phone"))
        self.resize(470, 860)
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.reload)
        self._unstick = QTimer(self)  # a message stays readable for a while before counts replace it
        self._unstick.setSingleShot(True)
        self._unstick.setInterval(12_000)
        self._unstick.timeout.connect(lambda: self.status.setProperty("sticky", False))
        self._worker.run(backend.techs, on_done=self._on_techs_loaded, on_error=self._on_failed, context=self)

    # --- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 14, 14, 12)
        column.setSpacing(10)
        header = QFrame(self)
        header.setObjectName("phoneHeader")
        head = QVBoxLayout(header)
        head.setContentsMargins(14, 10, 14, 10)
        title = PlainLabel("Sandbox phone", header)
        title.setObjectName("phoneTitle")
        self.subtitle = PlainLabel("Acts as the technician's own calendar app", header)
        self.subtitle.setObjectName("phoneSub")
        self.tech_combo = QComboBox(header)
        self.tech_combo.setObjectName("phoneTech")
        self.tech_combo.currentIndexChanged.connect(self._on_tech_combo_current_index_changed)
        head.addWidget(title)
        head.addWidget(self.subtitle)
        head.addWidget(self.tech_combo)
        column.addWidget(header)

        nav = QHBoxLayout()
        self.prev_button = QPushButton("‹", self)
        self.prev_button.setFixedWidth(36)
        self.prev_button.clicked.connect(lambda: self._step(-7))
        self.week_label = PlainLabel(self)
        self.week_label.setObjectName("sectionTitle")
        self.week_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_button = QPushButton("›", self)
        self.next_button.setFixedWidth(36)
        self.next_button.clicked.connect(lambda: self._step(7))
        nav.addWidget(self.prev_button)
        nav.addWidget(self.week_label, 1)
        nav.addWidget(self.next_button)
        column.addLayout(nav)

        self.list = QTreeWidget(self)
        self.list.setObjectName("phoneEvents")
        self.list.setHeaderHidden(True)
        self.list.setColumnCount(2)
        self.list.setRootIsDecorated(False)
        self.list.setIndentation(0)
        self.list.currentItemChanged.connect(self._on_list_current_item_changed)
        column.addWidget(self.list, 1)

        card = QFrame(self)
        card.setObjectName("card")
        form = QFormLayout(card)
        form.setContentsMargins(12, 10, 12, 10)
        form.setHorizontalSpacing(10)
        self.title_edit = QLineEdit("Dentist", card)
        self.title_edit.setObjectName("phoneEventTitle")
        self.day_edit = QDateEdit(card)
        self.day_edit.setCalendarPopup(True)
        self.day_edit.setDisplayFormat("ddd d MMM")
        self.start_edit = QTimeEdit(QTime(10, 0), card)
        self.start_edit.setDisplayFormat("HH:mm")
        self.duration_edit = QSpinBox(card)
        self.duration_edit.setRange(5, 12 * 60)
        self.duration_edit.setSingleStep(15)
        self.duration_edit.setValue(60)
        self.duration_edit.setSuffix(" min")
        self.show_as = QComboBox(card)
        self.show_as.addItem("Busy", True)
        self.show_as.addItem("Free", False)
        self.private = QCheckBox("Private", card)
        when = QHBoxLayout()
        when.addWidget(self.day_edit, 1)
        when.addWidget(self.start_edit)
        when.addWidget(self.duration_edit)
        flags = QHBoxLayout()
        flags.addWidget(self.show_as)
        flags.addWidget(self.private)
        flags.addStretch(1)
        form.addRow("Event", self.title_edit)
        form.addRow("When", when)
        form.addRow("Show as", flags)
        actions = QHBoxLayout()
        self.add_button = QPushButton("Add event", card)
        self.add_button.setProperty("primary", True)
        self.add_button.clicked.connect(self.add_event)
        self.move_button = QPushButton("Move selected here", card)
        self.move_button.clicked.connect(self.move_selected)
        self.delete_button = QPushButton("Delete selected", card)
        self.delete_button.clicked.connect(self.delete_selected)
        actions.addWidget(self.add_button)
        actions.addWidget(self.move_button)
        actions.addWidget(self.delete_button)
        form.addRow(actions)
        column.addWidget(card)

        trouble = QHBoxLayout()
        self.break_button = QToolButton(self)
        self.break_button.setObjectName("breakButton")
        self.break_button.setText("Break this tech's sync ▾")
        self.break_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.break_button)
        self.revoke_action = menu.addAction("Revoke Crewboard's access (needs reconnect)")
        self.revoke_action.triggered.connect(self.revoke)
        self.outage_action = menu.addAction("Calendar service outage for 10 minutes")
        self.outage_action.triggered.connect(self.outage)
        self.break_button.setMenu(menu)
        self.restore_button = QPushButton("Restore", self)
        self.restore_button.setObjectName("restoreButton")
        self.restore_button.clicked.connect(self.restore)
        trouble.addWidget(self.break_button)
        trouble.addWidget(self.restore_button)
        trouble.addStretch(1)
        column.addLayout(trouble)
        self.status = PlainLabel("Loading…", self)
        self.status.setObjectName("phoneStatus")
        self.status.setWordWrap(True)
        column.addWidget(self.status)
        self._update_buttons()

    # --- state -------------------------------------------------------------------------------

    @property
    def tech(self) -> Any | None:
        index = self.tech_combo.currentIndex()
        return self._techs[index] if 0 <= index < len(self._techs) else None

    @property
    def events(self) -> list[Any]:
        return list(self._events)

    def _zone(self) -> ZoneInfo:
        tech = self.tech
        return ZoneInfo(tech.timezone if tech is not None else "UTC")

    def select_tech(self, email: str) -> None:
        for index, tech in enumerate(self._techs):
            if tech.email == email:
                self.tech_combo.setCurrentIndex(index)
                return

    def selected_event(self) -> Any | None:
        item = self.list.currentItem()
        value = item.data(0, EVENT_ROLE) if item is not None else None
        return next((e for e in self._events if e.id == value), None) if value else None

    def select_event(self, event_id: str) -> None:
        for index in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(index)
            if item is not None and item.data(0, EVENT_ROLE) == event_id:
                self.list.setCurrentItem(item)
                return

    def set_form(
        self, title: str, day: date, start: time, minutes: int, busy: bool = True, private: bool = False
    ) -> None:
        self.title_edit.setText(title)
        self.day_edit.setDate(QDate(day.year, day.month, day.day))
        self.start_edit.setTime(QTime(start.hour, start.minute))
        self.duration_edit.setValue(minutes)
        self.show_as.setCurrentIndex(0 if busy else 1)
        self.private.setChecked(private)

    def _form_start(self) -> datetime:
        day = self.day_edit.date()
        clock = self.start_edit.time()
        return datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute(), tzinfo=self._zone())

    def _update_buttons(self) -> None:
        has_tech = self.tech is not None
        selected = self.selected_event()
        movable = selected is not None and selected.start is not None
        for widget in (self.add_button, self.break_button, self.restore_button):
            widget.setEnabled(has_tech)
        self.move_button.setEnabled(movable)
        self.delete_button.setEnabled(selected is not None)

    # --- loading -----------------------------------------------------------------------------

    def _on_techs_loaded(self, techs: Sequence[Any]) -> None:
        self._techs = list(techs)
        self.tech_combo.blockSignals(True)
        self.tech_combo.clear()
        for tech in self._techs:
            self.tech_combo.addItem(f"{tech.name} · {tech.provider_label}", tech.email)
        self.tech_combo.blockSignals(False)
        if self._techs:
            self._on_tech_combo_current_index_changed(0)
            self._timer.start()
        else:
            self.status.setText("The sandbox has no technicians.")

    def _on_tech_combo_current_index_changed(self, _index: int) -> None:
        tech = self.tech
        if tech is None:
            return
        today = self._clock.now().astimezone(self._zone()).date()
        self._week = today - timedelta(days=today.weekday())
        self.subtitle.setText(f"{tech.email} · {tech.provider_label} · {tech.timezone}")
        tomorrow = today + timedelta(days=1)
        self.day_edit.setDate(QDate(tomorrow.year, tomorrow.month, tomorrow.day))
        self._events = []
        self.list.clear()
        self.reload()

    def _step(self, days: int) -> None:
        if self._week is not None:
            self._week += timedelta(days=days)
            self.reload()

    def reload(self) -> None:
        tech, week = self.tech, self._week
        if tech is None or week is None:
            return
        self._generation += 1
        generation = self._generation
        tz = self._zone()
        start = datetime.combine(week, time(0), tzinfo=tz)
        end = datetime.combine(week + timedelta(days=7), time(0), tzinfo=tz)
        last = week + timedelta(days=6)
        self.week_label.setText(f"{week:%a %d %b} – {last:%a %d %b}")
        backend = self._backend
        if self._closed:
            return  # its worker is shut down
        self._worker.run(
            lambda: backend.events(tech, start, end),
            on_done=lambda found: self._on_events_loaded(generation, found),
            on_error=self._on_failed,
            context=self,
        )

    def _on_events_loaded(self, generation: int, found: Sequence[Any]) -> None:
        if generation != self._generation:
            return
        selected = self.selected_event()
        keep = selected.id if selected is not None else None
        self._events = list(found)
        tz = self._zone()
        self.list.blockSignals(True)
        self.list.clear()
        day_font = QFont(self.list.font())
        day_font.setWeight(QFont.Weight.DemiBold)
        muted = QBrush(palette.color("text_muted"))
        current_day: date | None = None
        for event in self._events:
            day = event.start.astimezone(tz).date() if event.start is not None else event.start_date
            if day != current_day:
                current_day = day
                header = QTreeWidgetItem([f"{day:%A %d %B}", ""])
                header.setFont(0, day_font)
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                header.setForeground(0, QBrush(palette.color("text")))
                self.list.addTopLevelItem(header)
                header.setFirstColumnSpanned(True)
            if event.start is not None and event.end is not None:
                when = f"{event.start.astimezone(tz):%H:%M}–{event.end.astimezone(tz):%H:%M}"
            else:
                when = "All day"
            notes = [
                text
                for flag, text in (
                    (event.from_crewboard, "Crewboard job"),
                    (not event.busy, "free"),
                    (event.tentative, "tentative"),
                    (event.declined, "declined"),
                    (event.private, "private"),
                    (event.calendar != "Calendar", event.calendar),
                )
                if flag
            ]
            label = event.title + (f"  ·  {', '.join(notes)}" if notes else "")
            item = QTreeWidgetItem([f"  {when}", label])
            item.setData(0, EVENT_ROLE, event.id)
            item.setToolTip(1, plain_tip(label))
            if event.declined or not event.busy:
                item.setForeground(1, muted)
                item.setForeground(0, muted)
            self.list.addTopLevelItem(item)
        self.list.setColumnWidth(0, 108)
        self.list.blockSignals(False)
        if keep:
            self.select_event(keep)
        self._update_buttons()
        if not self.status.property("sticky"):
            self.status.setText(f"{len(self._events)} events this week.")
        self.events_loaded.emit()

    def _on_list_current_item_changed(self, *_args: object) -> None:
        event = self.selected_event()
        if event is not None and event.start is not None and event.end is not None:
            local = event.start.astimezone(self._zone())
            self.day_edit.setDate(QDate(local.year, local.month, local.day))
            self.start_edit.setTime(QTime(local.hour, local.minute))
            self.duration_edit.setValue(max(5, int((event.end - event.start).total_seconds() // 60)))
        self._update_buttons()

    # --- actions -------------------------------------------------------------------------------

    def _run(self, work: Any, done_text: str) -> None:
        def finished(_result: object) -> None:
            self._say(done_text)
            self.changed.emit(done_text)
            self.reload()

        self._worker.run(work, on_done=finished, on_error=self._on_failed, context=self)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setProperty("sticky", True)
        self._unstick.start()

    def add_event(self) -> None:
        tech = self.tech
        if tech is None:
            return
        title, start = self.title_edit.text(), self._form_start()
        minutes, busy, private = (
            self.duration_edit.value(),
            bool(self.show_as.currentData()),
            self.private.isChecked(),
        )
        backend = self._backend
        self._run(
            lambda: backend.add_event(tech, title, start, timedelta(minutes=minutes), busy, private),
            f"Added “{title.strip()}” {start:%a %H:%M} to {tech.name}'s calendar. "
            # The demo's sandbox pushes the change to the sync at once (under a second); without
            # push the next poll picks it up within about ten seconds.
            "The board shows it within seconds.",
        )

    def move_selected(self) -> None:
        tech, event = self.tech, self.selected_event()
        if tech is None or event is None or event.start is None:
            return
        start, minutes = self._form_start(), self.duration_edit.value()
        backend = self._backend
        self._run(
            lambda: backend.move_event(tech, event.id, start, timedelta(minutes=minutes)),
            f"Moved “{event.title}” to {start:%a %H:%M}.",
        )

    def delete_selected(self) -> None:
        tech, event = self.tech, self.selected_event()
        if tech is None or event is None:
            return
        backend = self._backend
        self._run(lambda: backend.delete_event(tech, event.id), f"Deleted “{event.title}”.")

    def revoke(self) -> None:
        tech = self.tech
        if tech is None:
            return
        backend = self._backend
        self._run(
            lambda: backend.revoke(tech),
            f"{tech.name} revoked Crewboard's access. At the next sync the board marks the calendar "
            "“needs reconnecting”; reconnect it in Calendar settings.",
        )

    def outage(self) -> None:
        tech = self.tech
        if tech is None:
            return
        backend = self._backend
        self._run(
            lambda: backend.outage(tech),
            f"{tech.provider_label} now fails every request for {tech.name} for 10 minutes. "
            "Watch the board's sync health; bookings keep saving.",
        )

    def restore(self) -> None:
        tech = self.tech
        if tech is None:
            return
        backend = self._backend
        self._run(
            lambda: backend.restore(tech),
            "The outage is over. A revoked sign-in still needs Reconnect in Calendar settings.",
        )

    def _on_failed(self, error: BaseException) -> None:
        text = str(error) or type(error).__name__
        self._say(text)
        self.failed.emit(text)

    # --- closing -------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closed = True
        self._timer.stop()
        self._worker.shutdown()
        super().closeEvent(event)
