"""Over 500 lines: one form whose fields decide each other (tech, time, busy day, auto-assign, stale edits).

BookingEditorDialog: create or edit a job, with the chosen tech's day shown beside the form.

Every read and write goes through the database worker. A save over busy time comes back as
Refused; the dialog then asks "Book anyway?" and retries with force. An edit carries the version
the dialog showed: when someone else changed the job meanwhile, the save comes back as
StaleBooking, whose sentence says what, where and when, and the dialog offers to reload the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from PySide6.QtCore import QDate, Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.assignment import Assignment
from app.domain.ids import TechId
from app.domain.model import Booking, BusySource, Customer, Technician
from app.domain.service_types import ServiceType
from app.domain.time import Interval, local_to_utc, zone
from app.errors import CrewboardError, InvalidInput, Refused
from app.services.bookings import BookingEdit, NewBooking
from app.services.container import Services
from app.services.online_booking import BookingPolicy, OnlineBookingService
from app.services.schedule import DayAvailability
from app.services.stale_booking import StaleBooking
from ui.format import clock_range, day_text, duration_text, zone_difference
from ui.models import VALUE_ROLE, CustomerCompletionModel, TechRowsModel
from ui.plain import PlainLabel
from ui.timeline import DayTimelineWidget
from ui.widgets import (
    ask,
    contains_completer,
    dialog_buttons,
    error_label,
    form_error_label,
    set_invalid,
    show_error,
    stacked,
)
from ui.worker import DatabaseWorker

COMMON_SERVICES = (
    "AC repair",
    "AC tune-up",
    "Furnace repair",
    "Furnace tune-up",
    "Heat pump service",
    "Water heater install",
    "Water heater repair",
    "Drain cleaning",
    "Leak repair",
    "Toilet repair",
    "Standard clean",
    "Deep clean",
    "Move-out clean",
    "Estimate",
)
DEFAULT_DURATION = timedelta(minutes=60)


class BookingEditorDialog(QDialog):
    """New or existing booking. Emits `saved(Booking)` after the service accepted it."""

    saved = Signal(Booking)
    day_loaded = Signal()
    reloaded = Signal(Booking)  # the job as stored now, after a save was refused as stale

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        office: tzinfo,
        techs: Sequence[Technician],
        booking: Booking | None = None,
        customer: Customer | None = None,
        tech_id: str | None = None,
        start: datetime | None = None,
        duration: timedelta | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._worker = worker
        self._office = office
        self._booking = booking
        self._day_request = 0
        self._saving = False
        self.setObjectName("bookingEditor")
        self.setWindowTitle("Edit booking" if booking else "New booking")
        self.setModal(False)

        # --- fields ------------------------------------------------------------------------------
        self.customers = CustomerCompletionModel(self)
        self.customer_combo = QComboBox(self)
        self.customer_combo.setEditable(True)
        self.customer_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.customer_combo.setModel(self.customers)
        customer_line = self.customer_combo.lineEdit()
        assert customer_line is not None
        self.customer_line = customer_line
        customer_line.setPlaceholderText("Type a name to search customers")
        completer = contains_completer(self.customers, self)
        self.customer_combo.setCompleter(completer)
        self.address_edit = QLineEdit(self)
        self.address_edit.setPlaceholderText("Street, city")
        self.phone_edit = QLineEdit(self)
        self.phone_edit.setPlaceholderText("Phone number")
        self.service_combo = QComboBox(self)
        self.service_combo.setEditable(True)
        self.service_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.service_combo.addItems(COMMON_SERVICES)
        self.service_combo.setCurrentIndex(-1)
        service_line = self.service_combo.lineEdit()
        assert service_line is not None
        service_line.setPlaceholderText("What needs doing, e.g. AC repair")
        self.duration_spin = QSpinBox(self)
        self.duration_spin.setRange(15, 24 * 60)
        self.duration_spin.setSingleStep(15)
        self.duration_spin.setSuffix(" min")
        self.date_edit = QDateEdit(self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.time_edit = QTimeEdit(self)
        self.time_edit.setDisplayFormat("HH:mm")
        self.schedule_later = QCheckBox("No time yet", self)
        self.schedule_later.setToolTip("Keep the job in the unassigned tray without a start time")
        self.tech_model = TechRowsModel(include_unassigned=True, parent=self)
        self.tech_model.set_techs(techs)
        self.tech_combo = QComboBox(self)
        self.tech_combo.setModel(self.tech_model)
        self.auto_button = QPushButton("Assign automatically", self)
        self.auto_button.setToolTip(
            "Let the office's rule pick among the technicians qualified for this service type and free then"
        )
        self.auto_button.clicked.connect(self._on_auto_button_clicked)
        self.auto_label = PlainLabel(self)
        self.auto_label.setObjectName("hint")
        self.auto_label.setWordWrap(True)
        self.auto_label.hide()
        self.notes_edit = QPlainTextEdit(self)
        self.notes_edit.setPlaceholderText("Access codes, parts to bring, what the customer said…")
        self.notes_edit.setFixedHeight(76)
        self.customer_error = error_label(self)
        self.service_error = error_label(self)
        self.start_error = error_label(self)
        self.form_error = form_error_label(self)
        self.save_button, buttons = dialog_buttons(
            self, "Save booking" if booking is None else "Save changes", self.save
        )

        # --- layout ------------------------------------------------------------------------------
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        form.addRow("Customer", stacked(self.customer_combo, self.customer_error))
        form.addRow("Address", self.address_edit)
        form.addRow("Phone", self.phone_edit)
        form.addRow("Service", stacked(self.service_combo, self.service_error))
        form.addRow("Duration", self.duration_spin)
        when = QHBoxLayout()
        when.setSpacing(8)
        when.addWidget(self.date_edit, 3)
        when.addWidget(self.time_edit, 2)
        when.addWidget(self.schedule_later)
        when_box = QWidget(self)
        when_box.setLayout(when)
        when.setContentsMargins(0, 0, 0, 0)
        zone_name = getattr(office, "key", str(office))
        form.addRow("Start", stacked(when_box, self.start_error))
        hint = PlainLabel(f"Office time ({zone_name})", self)
        hint.setObjectName("hint")
        form.addRow("", hint)
        tech_line = QHBoxLayout()
        tech_line.setSpacing(8)
        tech_line.addWidget(self.tech_combo, 1)
        tech_line.addWidget(self.auto_button)
        tech_box = QWidget(self)
        tech_box.setLayout(tech_line)
        tech_line.setContentsMargins(0, 0, 0, 0)
        form.addRow("Technician", stacked(tech_box, self.auto_label))
        form.addRow("Notes", self.notes_edit)

        left = QVBoxLayout()
        title = PlainLabel("Job details", self)
        title.setObjectName("sectionTitle")
        left.addWidget(title)
        left.addSpacing(4)
        left.addLayout(form)
        left.addWidget(self.form_error)
        left.addStretch(1)

        panel = QFrame(self)
        panel.setObjectName("sidePanel")
        panel_layout = QVBoxLayout(panel)
        panel_layout.setContentsMargins(12, 12, 12, 12)
        self.day_title = PlainLabel("Technician's day", panel)
        self.day_title.setObjectName("sectionTitle")
        self.day_summary = PlainLabel(panel)
        self.day_summary.setObjectName("hint")
        self.day_summary.setWordWrap(True)
        self.clash_label = PlainLabel(panel)
        self.clash_label.setObjectName("fieldError")
        self.clash_label.setWordWrap(True)
        self.clash_label.hide()
        self.timeline = DayTimelineWidget(office, panel)
        panel_layout.addWidget(self.day_title)
        panel_layout.addWidget(self.day_summary)
        panel_layout.addWidget(self.timeline, 1)
        panel_layout.addWidget(self.clash_label)

        body = QHBoxLayout()
        body.setSpacing(18)
        body.addLayout(left, 1)
        panel.setFixedWidth(340)
        body.addWidget(panel)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 18, 20, 16)
        outer.setSpacing(14)
        outer.addLayout(body, 1)
        outer.addLayout(buttons)
        self.resize(880, 560)

        # --- initial values ----------------------------------------------------------------------
        now_local = services.clock.now().astimezone(office)
        if booking is not None:
            self._show_booking(booking, customer)
        else:
            self.customer_combo.setEditText("")
            self.duration_spin.setValue(int((duration or DEFAULT_DURATION).total_seconds() // 60))
            if start is None:
                start = now_local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            self._show_when(start, tech_id)

        # --- reactions ---------------------------------------------------------------------------
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self._search_customers)
        self.customer_line.textEdited.connect(self._on_customer_text_edited)
        self.customer_combo.activated.connect(self._on_customer_combo_activated)
        completer.activated.connect(self._on_completer_activated)
        self.tech_combo.currentIndexChanged.connect(self._on_when_changed)
        self.date_edit.dateChanged.connect(self._on_when_changed)
        self.time_edit.timeChanged.connect(self._on_proposal_changed)
        self.duration_spin.valueChanged.connect(self._on_proposal_changed)
        self.schedule_later.toggled.connect(self._on_when_changed)
        self._search_customers()
        self._on_when_changed()

    def done(self, result: int) -> None:
        """Closed (saved, cancelled or with its window): a customer search still waiting on its
        timer is dropped, since the window's worker may be gone by the time it would fire."""
        self._search_timer.stop()
        super().done(result)

    def _show_booking(self, booking: Booking, customer: Customer | None) -> None:
        """Fill the form with `booking` as stored (on opening, and again on reload)."""
        self.customer_combo.setEditText(customer.name if customer else "")
        if customer is not None:
            self.address_edit.setText(customer.address)
            self.phone_edit.setText(customer.phone)
            self.customers.set_customers([customer])
            self.customer_combo.setEditText(customer.name)
        self.service_combo.setEditText(booking.service)
        self.duration_spin.setValue(int(booking.duration.total_seconds() // 60))
        self.notes_edit.setPlainText(booking.notes)
        self._show_when(booking.start, booking.tech_id)

    def _show_when(self, start: datetime | None, tech_id: str | None) -> None:
        if start is not None:
            local = start.astimezone(self._office)
            self.date_edit.setDate(QDate(local.year, local.month, local.day))
            self.time_edit.setTime(QTime(local.hour, local.minute))
            self.schedule_later.setChecked(False)
        else:
            now_local = self._services.clock.now().astimezone(self._office)
            self.date_edit.setDate(QDate(now_local.year, now_local.month, now_local.day))
            self.time_edit.setTime(QTime(9, 0))
            self.schedule_later.setChecked(True)
        self.tech_combo.setCurrentIndex(max(0, self.tech_model.row_of(tech_id)))
        self._update_schedule_later()

    # --- values ----------------------------------------------------------------------------------

    @property
    def booking(self) -> Booking | None:
        return self._booking

    def selected_tech(self) -> Technician | None:
        return self.tech_model.tech_at(self.tech_combo.currentIndex())

    def proposed_start(self) -> datetime | None:
        if self.schedule_later.isChecked() and self.selected_tech() is None:
            return None
        qdate, qtime = self.date_edit.date(), self.time_edit.time()
        day = date(qdate.year(), qdate.month(), qdate.day())
        return local_to_utc(day, time(qtime.hour(), qtime.minute()), self._office)

    def proposed_interval(self) -> Interval | None:
        start = self.proposed_start()
        if start is None:
            return None
        return Interval(start, start + timedelta(minutes=self.duration_spin.value()))

    # --- customers -------------------------------------------------------------------------------

    def _on_customer_text_edited(self, _text: str) -> None:
        show_error(self.customer_error, "")
        set_invalid(self.customer_combo, False)
        self._search_timer.start()

    def _search_customers(self) -> None:
        text = self.customer_combo.currentText().strip()
        self._worker.run(
            lambda: self._services.customers.search(text, 20), on_done=self._on_customers_found, context=self
        )

    def _on_customers_found(self, found: list[Customer]) -> None:
        line = self.customer_line
        text, cursor = line.text(), line.cursorPosition()
        self.customer_combo.blockSignals(True)
        self.customers.set_customers(found)
        self.customer_combo.setCurrentIndex(-1)
        line.setText(text)
        line.setCursorPosition(cursor)
        self.customer_combo.blockSignals(False)

    def _on_customer_combo_activated(self, row: int) -> None:
        index = self.customers.index(row, 0)
        if index.isValid():
            self._fill_customer(self.customers.data(index, VALUE_ROLE))

    def _on_completer_activated(self, name: str) -> None:
        customer = self.customers.customer_named(name)
        if customer is not None:
            self._fill_customer(customer)

    def _fill_customer(self, customer: Customer | None) -> None:
        if customer is None:
            return
        self.customer_combo.setEditText(customer.name)
        self.address_edit.setText(customer.address)
        self.phone_edit.setText(customer.phone)

    # --- the technician's day ----------------------------------------------------------------------

    def _update_schedule_later(self) -> None:
        unassigned = self.selected_tech() is None
        self.schedule_later.setVisible(unassigned)
        later = unassigned and self.schedule_later.isChecked()
        self.date_edit.setEnabled(not later)
        self.time_edit.setEnabled(not later)

    def _on_when_changed(self, *_args: object) -> None:
        self._update_schedule_later()
        show_error(self.start_error, "")
        tech = self.selected_tech()
        self._day_request += 1
        if tech is None:
            self.day_title.setText("Technician's day")
            self.day_summary.setText("")
            self.timeline.set_message("Pick a technician to see their free and busy time.")
            self._on_proposal_changed()
            return
        start = self.proposed_start()
        assert start is not None
        tech_day = start.astimezone(zone(tech.timezone)).date()
        self.day_title.setText(f"{tech.name} · {day_text(datetime.combine(tech_day, time(), UTC))}")
        self.day_summary.setText("Loading…")
        request = self._day_request
        tech_id = tech.id
        self._worker.run(
            lambda: self._services.schedule.day(tech_id, tech_day),
            on_done=lambda day: self._on_day_loaded(request, day),
            on_error=self._on_day_failed,
            context=self,
        )
        self._on_proposal_changed()

    def _on_auto_button_clicked(self) -> None:
        """Ask the assignment rule for a tech; the choice and its reason show before anything is saved."""
        start = self.proposed_start()
        service = self.service_combo.currentText().strip()
        if start is None or not service:
            self._show_auto("Give the service and a start time first.", error=True)
            return
        zone_name = getattr(self._office, "key", "UTC")
        page = OnlineBookingService(
            self._services.uow, self._services.clock, self._services.bus, BookingPolicy(zone_name)
        )
        self.auto_button.setEnabled(False)
        self._worker.run(
            lambda: page.suggest(service, start),
            on_done=self._on_auto_chosen,
            on_error=self._on_auto_failed,
            context=self,
        )

    def _on_auto_chosen(self, value: tuple[ServiceType, Assignment]) -> None:
        self.auto_button.setEnabled(True)
        service, choice = value
        self.duration_spin.setValue(int(service.duration.total_seconds() // 60))
        self.tech_combo.setCurrentIndex(max(0, self.tech_model.row_of(choice.tech_id)))
        self._show_auto(f"Assigned automatically: {choice.explanation}.")

    def _on_auto_failed(self, error: BaseException) -> None:
        self.auto_button.setEnabled(True)
        if isinstance(error, CrewboardError):
            self._show_auto(str(error), error=True)
        else:
            self._worker.report(error)

    def _show_auto(self, text: str, error: bool = False) -> None:
        self.auto_label.setObjectName("fieldError" if error else "hint")
        style = self.auto_label.style()  # re-polished, so the new object name picks its look
        style.unpolish(self.auto_label)
        style.polish(self.auto_label)
        self.auto_label.setText(text)
        self.auto_label.show()

    def _on_day_loaded(self, request: int, day: DayAvailability) -> None:
        if request != self._day_request:
            return
        own = self._booking.id if self._booking else None
        busy = [b for b in day.busy if not (b.source is BusySource.BOOKING and b.remote_id == own)]
        self.timeline.set_day(day, busy, day.tech.color)
        free = sum((f.duration for f in day.free), timedelta())
        working = sum((h.duration for h in day.hours), timedelta())
        if not day.hours:
            summary = "Not working this day."
        elif free:
            summary = f"Free {duration_text(free)} of {duration_text(working)} (green)"
        else:
            summary = "Fully booked."
        self.day_summary.setText(summary)
        self.day_summary.setToolTip("Free: " + ", ".join(clock_range(f, self._office) for f in day.free))
        if zone(day.tech.timezone) != self._office:
            difference = (
                zone_difference(day.tech.timezone, day.window.start, self._office) or "on office time"
            )
            first_name = day.tech.name.split()[0]
            self.day_summary.setText(f"{summary}\nOffice time · {first_name}'s clock is {difference}")
        self._on_proposal_changed()
        self.day_loaded.emit()

    def _on_day_failed(self, error: BaseException) -> None:
        self.timeline.set_message("The technician's day could not be loaded.")
        self.day_summary.setText("")
        self._worker.report(error)

    def _on_proposal_changed(self, *_args: object) -> None:
        proposal = self.proposed_interval() if self.selected_tech() is not None else None
        self.timeline.set_proposal(proposal)
        clashes = self.timeline.clashes()
        if clashes:
            first = clashes[0]
            what = first.title or ("Busy" if first.source is BusySource.CALENDAR else "Time off")
            self.clash_label.setText(
                f"⚠ Overlaps {what} ({clock_range(first.interval, self._office)}). "
                "You can still book it; the job will be marked as forced."
            )
            self.clash_label.show()
        else:
            self.clash_label.hide()

    # --- saving ----------------------------------------------------------------------------------

    def _validate(self) -> bool:
        ok = True
        customer = self.customer_combo.currentText().strip()
        service = self.service_combo.currentText().strip()
        for widget, label, message in (
            (self.customer_combo, self.customer_error, "" if customer else "Enter the customer's name."),
            (
                self.service_combo,
                self.service_error,
                "" if service else "Enter the service, such as AC repair.",
            ),
        ):
            show_error(label, message)
            set_invalid(widget, bool(message))
            ok = ok and not message
        start = self.proposed_start()
        if (
            start is not None
            and self._booking is None
            and start < self._services.clock.now() - timedelta(days=1)
        ):
            show_error(self.start_error, "That start is in the past; pick a day from today on.")
            ok = False
        else:
            show_error(self.start_error, "")
        return ok

    def save(self, force: bool = False) -> None:
        """Validate, then create or edit through BookingService on the worker."""
        if self._saving:
            return
        self.form_error.hide()
        if not self._validate():
            return
        tech = self.selected_tech()
        tech_id: TechId | None = tech.id if tech else None
        start = self.proposed_start()
        duration = timedelta(minutes=self.duration_spin.value())
        customer = self.customer_combo.currentText().strip()
        service = self.service_combo.currentText().strip()
        notes = self.notes_edit.toPlainText()
        address = self.address_edit.text().strip()
        phone = self.phone_edit.text().strip()
        bookings = self._services.bookings
        existing = self._booking
        if existing is None:
            new = NewBooking(
                customer=customer,
                service=service,
                duration=duration,
                start=start,
                tech=tech_id,
                address=address or None,
                phone=phone or None,
                notes=notes,
            )
            call = lambda: bookings.create(new, force=force)  # noqa: E731 - a deferred call
        else:
            change = BookingEdit(
                start=start,
                tech=tech_id or "",
                service=service,
                duration=duration,
                notes=notes,
                customer=customer,
                address=address,
                phone=phone,
                expected_version=existing.version,  # never save over a change made meanwhile
            )
            booking_id = existing.id
            call = lambda: bookings.edit(booking_id, change, force=force)  # noqa: E731 - a deferred call
        self._set_saving(True)
        self._worker.run(
            call, on_done=self._on_saved, on_error=lambda e: self._on_save_failed(e, force), context=self
        )

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.save_button.setEnabled(not saving)
        self.save_button.setText(
            "Saving…" if saving else ("Save booking" if self._booking is None else "Save changes")
        )

    def _reload(self, current: Booking) -> None:
        """Show the job as stored now; the next save carries its version."""
        customers = self._services.customers
        self._worker.run(
            lambda: customers.get(current.customer_id),
            on_done=lambda customer: self._on_reloaded(current, customer),
            context=self,
        )

    def _on_reloaded(self, current: Booking, customer: Customer) -> None:
        self._booking = current
        self._show_booking(current, customer)
        self.form_error.setText("Reloaded: this is the job as it is now. Make your change again.")
        self.form_error.show()
        self.reloaded.emit(current)

    def _on_saved(self, booking: Booking) -> None:
        self._set_saving(False)
        self._booking = booking
        self.saved.emit(booking)
        self.accept()

    def _on_save_failed(self, error: BaseException, forced: bool) -> None:
        self._set_saving(False)
        if isinstance(error, StaleBooking):
            self.form_error.setText(str(error))
            self.form_error.show()
            current = error.current
            ask(
                self,
                "Job changed meanwhile",
                "Reload the job as it is now?",
                str(error),
                "Reload",
                lambda: self._reload(current),
                no_text="Keep editing",
            )
            return
        if isinstance(error, Refused) and not forced and self.selected_tech() is not None:
            ask(
                self,
                "Technician is busy",
                "Book anyway?",
                str(error),
                "Book anyway",
                lambda: self.save(force=True),
            )
            return
        if isinstance(error, InvalidInput | Refused):
            self.form_error.setText(str(error))
            self.form_error.show()
            return
        self._worker.report(error)


def describe_booking(booking: Booking, customer: Customer | None, office: tzinfo) -> str:
    """One line naming a booking for prompts: 'Hill family · AC repair · Tue 24 Nov, 09:00–10:00'."""
    name = customer.name if customer else "Customer"
    when = clock_range(booking.interval, office, with_day=True) if booking.interval else "no time yet"
    return f"{name} · {booking.service} · {when} ({duration_text(booking.duration)})"
