"""The conflicts panel: open sync conflicts with both sides shown, decided by Keep, Reschedule, Reassign.

Conflicts are read through SyncOutcomeQueries on the database worker and decided through
ConflictService; the list refreshes from ConflictChanged on the bus, never by guessing. Choosing a
conflict selects its booking on the board (the board already outlines it in red).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractListModel,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTime,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QListView,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.availability import business_intervals
from app.domain.ids import BookingId, TechId
from app.domain.model import Booking, BusySource, ConflictKind, Resolution, Technician
from app.domain.time import Interval, local_to_utc, zone
from app.services.container import Services
from app.services.sync_outcomes import ConflictLists, ConflictView, SyncOutcomeQueries
from ui.board.view import BoardView
from ui.bridge import BusBridge
from ui.format import clock_range, day_text, duration_text
from ui.health_panel import ago
from ui.loading import LatestLoader
from ui.plain import PlainLabel, plain_tip
from ui.resources import palette, stylesheet
from ui.worker import DatabaseWorker

ACTOR = "dispatcher"
REFRESH_DELAY_MS = 60
TICK_MS = 30_000
SLOT_SEARCH_DAYS = 14
ModelIndex = QModelIndex | QPersistentModelIndex

KIND_LABELS = {
    ConflictKind.OVERLAP: "Calendar clash",
    ConflictKind.EDITED_BOTH: "Changed on both sides",
    ConflictKind.EVENT_DELETED: "Deleted by the tech",
}
KIND_COLORS = {
    ConflictKind.OVERLAP: (palette.hex("danger"), palette.hex("danger_soft")),
    ConflictKind.EDITED_BOTH: (palette.hex("caution"), palette.hex("caution_soft")),
    ConflictKind.EVENT_DELETED: (palette.hex("deleted"), palette.hex("deleted_soft")),
}
RESOLUTION_VERBS = {
    Resolution.KEEP: "Kept as booked",
    Resolution.RESCHEDULE: "Rescheduled",
    Resolution.REASSIGN: "Reassigned",
    Resolution.CANCELLED: "Job cancelled",
}


# --- words -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConflictText:
    """A conflict said in words: what each side of the card shows."""

    title: str
    kind: str
    job_label: str
    job: str
    other_label: str
    other: str
    noticed: str
    outcome: str  # for resolved conflicts: how, by whom, when; "" while open
    detail: str


def _tz_of(tech: Technician | None, office: tzinfo, at: datetime) -> tuple[tzinfo, str]:
    """The tech's zone (their calendar's clock) and a note when it is not office time at `at`."""
    if tech is None:
        return office, ""
    tz = zone(tech.timezone)
    if at.astimezone(tz).utcoffset() == at.astimezone(office).utcoffset():
        return tz, ""
    return tz, f" ({tech.timezone.rsplit('/', 1)[-1].replace('_', ' ')} time)"


def _span_text(start: datetime | None, end: datetime | None, tz: tzinfo, day_of: date | None) -> str:
    if start is None or end is None:
        return ""
    span = Interval(start, end)
    same_day = day_of is not None and start.astimezone(tz).date() == day_of
    return clock_range(span, tz, with_day=not same_day)


def describe_conflict(view: ConflictView, office: tzinfo, now: datetime) -> ConflictText:
    conflict, booking = view.conflict, view.booking
    tech = view.booking_tech or view.tech
    tz, zone_note = _tz_of(tech, office, booking.start if booking and booking.start else now)
    customer = view.customer.name if view.customer else "A customer"
    title = f"{customer} · {booking.service}" if booking else "A booking that no longer exists"
    who = tech.name if tech else "Unassigned"
    job_day = booking.start.astimezone(tz).date() if booking and booking.start else None
    if booking is not None and booking.interval is not None:
        job = f"{clock_range(booking.interval, tz, with_day=True)}{zone_note} · {who}"
    else:
        job = f"Not scheduled · {who}"
    calendar = f" in {view.calendar_name}" if view.calendar_name else ""
    if conflict.kind is ConflictKind.OVERLAP:
        job_label, other_label = "Job", "Their calendar"
        name = f"“{conflict.other_title}”" if conflict.other_title else "Private event"
        when = _span_text(conflict.other_start, conflict.other_end, tz, job_day)
        other = f"{name}, {when}" if when else name
        other += calendar
    elif conflict.kind is ConflictKind.EDITED_BOTH:
        job_label, other_label = "Board time", "Tech's time"
        when = _span_text(conflict.other_start, conflict.other_end, tz, None)
        other = f"{when}{zone_note}" if when else "Changed in their calendar"
    else:
        job_label, other_label = "Job", "Their calendar"
        other = "The tech deleted this job from their calendar"
    outcome = ""
    if conflict.resolution is not None:
        by = conflict.resolved_by or "someone"
        at = conflict.resolved_at
        when_text = f" · {day_text(at.astimezone(office))} {at.astimezone(office):%H:%M}" if at else ""
        outcome = f"{RESOLUTION_VERBS[conflict.resolution]} by {by}{when_text}"
    return ConflictText(
        title=title,
        kind=KIND_LABELS[conflict.kind],
        job_label=job_label,
        job=job,
        other_label=other_label,
        other=other,
        noticed=f"Noticed {ago(conflict.opened_at, now)}",
        outcome=outcome,
        detail=conflict.detail,
    )


# --- the model ---------------------------------------------------------------------------------


class ConflictListModel(QAbstractListModel):
    """Conflicts with their words; ViewRole gives the ConflictView, TextRole the ConflictText."""

    ViewRole = Qt.ItemDataRole.UserRole + 1
    TextRole = Qt.ItemDataRole.UserRole + 2
    IdRole = Qt.ItemDataRole.UserRole + 3

    def __init__(self, office: tzinfo, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._office = office
        self._items: tuple[ConflictView, ...] = ()
        self._texts: tuple[ConflictText, ...] = ()
        self._now: datetime | None = None

    def set_items(self, items: Sequence[ConflictView], now: datetime) -> None:
        self.beginResetModel()
        self._items = tuple(items)
        self._now = now
        self._texts = tuple(describe_conflict(v, self._office, now) for v in self._items)
        self.endResetModel()

    def set_now(self, now: datetime) -> None:
        self._now = now
        self._texts = tuple(describe_conflict(v, self._office, now) for v in self._items)
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, 0))

    @property
    def items(self) -> tuple[ConflictView, ...]:
        return self._items

    def view_at(self, row: int) -> ConflictView | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, conflict_id: str) -> int:
        return next((i for i, v in enumerate(self._items) if v.id == conflict_id), -1)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        view, text = self._items[index.row()], self._texts[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text.title
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{text.kind}: {text.title}", f"{text.job_label}: {text.job}"]
            lines.append(f"{text.other_label}: {text.other}")
            if text.detail:
                lines.append(text.detail)
            lines.append(text.outcome or text.noticed)
            return plain_tip("\n".join(lines))
        if role == self.ViewRole:
            return view
        if role == self.TextRole:
            return text
        if role == self.IdRole:
            return str(view.id)
        return None


# --- the card ----------------------------------------------------------------------------------


def wrap_lines(metrics: QFontMetrics, text: str, width: int, max_lines: int) -> list[str]:
    """`text` broken at spaces into at most `max_lines` lines of `width`; the last one elided."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for position, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if metrics.horizontalAdvance(candidate) <= width or not current:
            current = candidate
            continue
        if len(lines) == max_lines - 1:
            current = " ".join([current, *words[position:]])
            break
        lines.append(current)
        current = word
    if current:
        lines.append(metrics.elidedText(current, Qt.TextElideMode.ElideRight, width))
    return lines


class ConflictCardDelegate(QStyledItemDelegate):
    """A conflict as a card: kind and age, the job's title, then each side under its own label."""

    PAD = 12
    MARGIN = 8
    LABEL_WIDTH = 98
    VALUE_LINES = 2

    def __init__(self, resolved: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._resolved = resolved

    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        view = self.parent()
        base = QFont(view.font()) if isinstance(view, QWidget) else QFont()
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(base)
        small.setPointSizeF(max(7.0, base.pointSizeF() - 1))
        return base, bold, small

    def _inner_width(self, option: QStyleOptionViewItem) -> int:
        view = self.parent()
        width = view.viewport().width() if isinstance(view, QListView) else option.rect.width()
        return max(160, width - 2 * self.MARGIN - 2 * self.PAD)

    def _rows(self, text: ConflictText, view: ConflictView) -> list[tuple[str, str, str]]:
        rows = [
            (text.job_label, text.job, palette.hex("text")),
            (text.other_label, text.other, self._other_color(view)),
        ]
        if self._resolved:
            rows.append(("Decision", text.outcome, palette.hex("text")))
        return rows

    def _heights(
        self, width: int, text: ConflictText, view: ConflictView
    ) -> tuple[int, int, list[list[str]]]:
        base, bold, small = self._fonts()
        chip_h = QFontMetrics(small).height() + 4
        title_h = QFontMetrics(bold).height()
        metrics = QFontMetrics(base)
        values = [
            wrap_lines(metrics, value, width - self.LABEL_WIDTH, self.VALUE_LINES)
            for _label, value, _color in self._rows(text, view)
        ]
        return chip_h, title_h, values

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        text = index.data(ConflictListModel.TextRole)
        view = index.data(ConflictListModel.ViewRole)
        if not isinstance(text, ConflictText) or not isinstance(view, ConflictView):
            return QSize(300, 60)
        base, _bold, _small = self._fonts()
        chip_h, title_h, values = self._heights(self._inner_width(option), text, view)
        line = QFontMetrics(base).lineSpacing()
        body = sum(len(lines) * line + 4 for lines in values)
        height = 2 * self.PAD + chip_h + 6 + title_h + 8 + body + 2 * 5
        return QSize(300, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        text = index.data(ConflictListModel.TextRole)
        view = index.data(ConflictListModel.ViewRole)
        if not isinstance(text, ConflictText) or not isinstance(view, ConflictView):
            return
        base, bold, small = self._fonts()
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QRectF(rect).adjusted(self.MARGIN, 5, -self.MARGIN, -5)
        border = palette.color(
            "accent" if selected else ("card_hover_border" if hovered and not self._resolved else "border")
        )
        painter.setPen(QPen(border, 1.5 if selected else 1))
        painter.setBrush(palette.color("card_selected" if selected else "surface"))
        painter.drawRoundedRect(card, 8, 8)
        inner = card.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD)
        width = int(inner.width())
        chip_h, title_h, values = self._heights(width, text, view)

        # The kind as a chip, the age at the right.
        color, soft = KIND_COLORS[view.conflict.kind]
        if self._resolved:
            color, soft = palette.hex("text_muted"), palette.hex("neutral_soft")
        small_metrics = QFontMetrics(small)
        chip = QRectF(inner.left(), inner.top(), small_metrics.horizontalAdvance(text.kind) + 16, chip_h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(soft))
        painter.drawRoundedRect(chip, chip_h / 2, chip_h / 2)
        painter.setFont(small)
        painter.setPen(QColor(color))
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text.kind)
        age = text.outcome.split(" · ")[-1] if self._resolved and text.outcome else text.noticed
        painter.setPen(palette.color("text_muted"))
        painter.drawText(
            QRectF(chip.right() + 8, inner.top(), inner.right() - chip.right() - 8, chip_h),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            small_metrics.elidedText(age, Qt.TextElideMode.ElideRight, int(inner.right() - chip.right() - 8)),
        )

        # The job's title.
        y = inner.top() + chip_h + 6
        bold_metrics = QFontMetrics(bold)
        painter.setFont(bold)
        painter.setPen(palette.color("text"))
        painter.drawText(
            QRectF(inner.left(), y, width, title_h),
            Qt.AlignmentFlag.AlignVCenter,
            bold_metrics.elidedText(text.title, Qt.TextElideMode.ElideRight, width),
        )
        y += title_h + 8

        # Each side under its label.
        metrics = QFontMetrics(base)
        for (label, _value, value_color), lines in zip(self._rows(text, view), values, strict=True):
            painter.setFont(small)
            painter.setPen(palette.color("text_muted"))
            painter.drawText(
                QRectF(inner.left(), y, self.LABEL_WIDTH, metrics.height()),
                Qt.AlignmentFlag.AlignVCenter,
                label,
            )
            painter.setFont(base)
            painter.setPen(QColor(value_color))
            for line in lines:
                painter.drawText(
                    QRectF(inner.left() + self.LABEL_WIDTH, y, width - self.LABEL_WIDTH, metrics.height()),
                    Qt.AlignmentFlag.AlignVCenter,
                    line,
                )
                y += metrics.lineSpacing()
            y += 4
        painter.restore()

    def _other_color(self, view: ConflictView) -> str:
        if self._resolved:
            return palette.hex("text_muted")
        return {
            ConflictKind.OVERLAP: palette.hex("error_text"),
            ConflictKind.EDITED_BOTH: palette.hex("caution_text"),
            ConflictKind.EVENT_DELETED: palette.hex("deleted_text"),
        }[view.conflict.kind]


# --- dialogs -----------------------------------------------------------------------------------


class _DecisionDialog(QDialog):
    """The frame of a dialog that decides one conflict: its title, a line on what clashes, the
    subclass's body, then the decision's own button beside Cancel."""

    def __init__(
        self, name: str, window_title: str, heading: str, about: str, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWindowTitle(window_title)
        self._heading = PlainLabel(heading, self)
        self._heading.setObjectName("sectionTitle")
        self._about = PlainLabel(about, self)
        self._about.setObjectName("hint")
        self._about.setWordWrap(True)

    def _lay_out(self, body: QWidget | QFormLayout, action: str, min_width: int) -> QPushButton:
        """Place the parts (a widget body takes the spare height) and return the decision's button."""
        buttons = QDialogButtonBox(self)
        ok_button = buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
        ok_button.setDefault(True)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.setContentsMargins(18, 16, 18, 14)
        column.setSpacing(10)
        column.addWidget(self._heading)
        column.addWidget(self._about)
        if isinstance(body, QWidget):
            column.addWidget(body, 1)
        else:
            column.addLayout(body)
        column.addWidget(buttons)
        self.setMinimumWidth(min_width)
        return ok_button


class RescheduleDialog(_DecisionDialog):
    """A new start for the job, in the tech's own clock; "Next free time" asks ScheduleService."""

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        view: ConflictView,
        office: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        text = describe_conflict(view, office, services.clock.now())
        sides = f"{text.job_label}: {text.job}\n{text.other_label}: {text.other}"
        super().__init__("rescheduleDialog", "Reschedule job", text.title, sides, parent)
        self._services = services
        self._worker = worker
        self._view = view
        tech = view.booking_tech or view.tech
        self._tech = tech
        self._tz: tzinfo = zone(tech.timezone) if tech else office
        booking = view.booking
        proposed = self._proposal()
        local = proposed.astimezone(self._tz)
        self.date_edit = QDateEdit(QDate(local.year, local.month, local.day), self)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        self.time_edit = QTimeEdit(QTime(local.hour, local.minute), self)
        self.time_edit.setDisplayFormat("HH:mm")
        self.next_free_button = QPushButton("Next free time", self)
        self.next_free_button.setToolTip("The first time after this one when the technician is free")
        self.next_free_button.clicked.connect(self.find_next_free)
        self.next_free_button.setEnabled(tech is not None and booking is not None)
        when = QHBoxLayout()
        when.addWidget(self.date_edit, 1)
        when.addWidget(self.time_edit)
        when.addWidget(self.next_free_button)
        zone_name = tech.timezone if tech else "office time"
        duration = duration_text(booking.duration) if booking else ""
        self.note = PlainLabel(f"{duration} · times in {zone_name}", self)
        self.note.setObjectName("hint")
        form = QFormLayout()
        form.addRow("New start", when)
        form.addRow("", self.note)
        self.ok_button = self._lay_out(form, "Reschedule", 460)

    def _proposal(self) -> datetime:
        """The tech's time for a both-sides edit; else the booking's own start."""
        conflict, booking = self._view.conflict, self._view.booking
        if conflict.kind is ConflictKind.EDITED_BOTH and conflict.other_start is not None:
            return conflict.other_start
        if booking is not None and booking.start is not None:
            return booking.start
        return self._services.clock.now()

    def start(self) -> datetime:
        value, at = self.date_edit.date(), self.time_edit.time()
        return local_to_utc(
            date(value.year(), value.month(), value.day()), time(at.hour(), at.minute()), self._tz
        )

    def set_start(self, start: datetime) -> None:
        local = start.astimezone(self._tz)
        self.date_edit.setDate(QDate(local.year, local.month, local.day))
        self.time_edit.setTime(QTime(local.hour, local.minute))

    def find_next_free(self) -> None:
        booking, tech = self._view.booking, self._tech
        if booking is None or tech is None:
            return
        schedule = self._services.schedule
        begin = max(self.start(), self._services.clock.now())
        self.next_free_button.setEnabled(False)
        self._worker.run(
            lambda: schedule.earliest(booking.duration, [tech.id], start=begin, days=SLOT_SEARCH_DAYS),
            on_done=self._on_next_free_found,
            context=self,
        )

    def _on_next_free_found(self, slots: list[Any]) -> None:
        self.next_free_button.setEnabled(True)
        if not slots:
            self.note.setText(f"No free time in the next {SLOT_SEARCH_DAYS} days.")
            return
        self.set_start(slots[0].interval.start)


@dataclass(frozen=True, slots=True)
class TechChoice:
    tech: Technician
    free: bool
    reason: str  # "Free then", "Busy: Deep clean 12:00–14:00", "Outside working hours"
    current: bool = False


def tech_choices(services: Services, booking: Booking, office: tzinfo) -> list[TechChoice]:
    """Who could take the job at its time: free ones first. Runs on the database worker."""
    span = booking.interval
    choices = []
    for tech in services.techs.list():
        current = tech.id == booking.tech_id
        if span is None:
            choices.append(TechChoice(tech, True, "Job has no time yet", current))
            continue
        hours = business_intervals(tech, span)
        covered = sum((h.duration for h in hours), timedelta()) >= span.duration
        clashes = services.schedule.conflicts_for(tech, span, exclude_booking=booking.id)
        tz = zone(tech.timezone)
        if clashes:
            first = clashes[0]
            what = {
                BusySource.BOOKING: first.title or "another job",
                BusySource.TIME_OFF: first.title or "Time off",
                BusySource.CALENDAR: first.title or "Private event",
            }[first.source]
            reason = f"Busy: {what}, {clock_range(first.interval, tz)}"
            choices.append(TechChoice(tech, False, reason, current))
        elif not covered:
            choices.append(TechChoice(tech, False, "Outside working hours", current))
        else:
            choices.append(TechChoice(tech, True, "Free then", current))
    choices.sort(key=lambda c: (c.current, not c.free, c.tech.name.casefold()))
    return choices


class TechChoiceModel(QAbstractListModel):
    ChoiceRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._choices: tuple[TechChoice, ...] = ()

    def set_choices(self, choices: Sequence[TechChoice]) -> None:
        self.beginResetModel()
        self._choices = tuple(choices)
        self.endResetModel()

    def choice_at(self, row: int) -> TechChoice | None:
        return self._choices[row] if 0 <= row < len(self._choices) else None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._choices)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        choice = self.choice_at(index.row()) if index.isValid() else None
        if choice is None:
            return Qt.ItemFlag.NoItemFlags
        if choice.current:
            return Qt.ItemFlag.NoItemFlags  # giving the job to its own tech changes nothing
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        choice = self.choice_at(index.row()) if index.isValid() else None
        if choice is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            suffix = " (has the job now)" if choice.current else ""
            return f"{choice.tech.name}{suffix}\n{choice.reason}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if choice.current:
                return palette.color("text_muted")
            return palette.color("text" if choice.free else "error_text")
        if role == Qt.ItemDataRole.DecorationRole:
            return QColor(choice.tech.color)
        if role == self.ChoiceRole:
            return choice
        return None


class ReassignDialog(_DecisionDialog):
    """Pick who takes the job; each tech shows whether they are free at the job's time."""

    choices_loaded = Signal()

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        view: ConflictView,
        office: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        text = describe_conflict(view, office, services.clock.now())
        super().__init__(
            "reassignDialog", "Reassign job", text.title, f"{text.job_label}: {text.job}", parent
        )
        self.model = TechChoiceModel(self)
        self.list = QListView(self)
        self.list.setObjectName("techChoices")
        self.list.setModel(self.model)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(260)
        self.list.doubleClicked.connect(lambda _index: self.accept() if self.chosen() else None)
        self.ok_button = self._lay_out(self.list, "Reassign", 440)
        self.ok_button.setEnabled(False)
        self.list.selectionModel().selectionChanged.connect(self._on_list_selection_changed)
        booking = view.booking
        if booking is not None:
            worker.run(
                lambda: tech_choices(services, booking, office),
                on_done=self._on_choices_loaded,
                context=self,
            )

    def chosen(self) -> TechChoice | None:
        rows = self.list.selectionModel().selectedRows()
        return self.model.choice_at(rows[0].row()) if rows else None

    def choose(self, tech_id: TechId) -> None:
        for row in range(self.model.rowCount()):
            choice = self.model.choice_at(row)
            if choice is not None and choice.tech.id == tech_id:
                self.list.setCurrentIndex(self.model.index(row, 0))
                return
        raise KeyError(tech_id)

    def _on_choices_loaded(self, choices: list[TechChoice]) -> None:
        self.model.set_choices(choices)
        first_free = next((c for c in choices if c.free and not c.current), None)
        if first_free is not None:
            self.choose(first_free.tech.id)
        self.choices_loaded.emit()

    def _on_list_selection_changed(self, *_args: object) -> None:
        self.ok_button.setEnabled(self.chosen() is not None)


# --- the panel ---------------------------------------------------------------------------------


class ConflictsPanelWidget(QWidget):
    """Open and resolved conflicts. Signals: `conflicts_loaded` after every refresh,
    `booking_selected(booking id, start or None)` when a conflict is chosen, `message_shown(text)`
    after a decision went through, and `count_changed(open conflicts)`."""

    conflicts_loaded = Signal()
    booking_selected = Signal(str, object)
    message_shown = Signal(str)
    count_changed = Signal(int)

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        bridge: BusBridge,
        office: tzinfo,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictsPanel")
        self.setStyleSheet(stylesheet("conflicts"))
        self.setMinimumWidth(400)
        self._services = services
        self._queries = SyncOutcomeQueries(services.uow, services.clock)
        self._worker = worker
        self._office = office
        self._lists: ConflictLists | None = None
        self._dialog: QDialog | None = None

        self.open_model = ConflictListModel(office, self)
        self.resolved_model = ConflictListModel(office, self)
        self.open_list = self._list_view("conflictList", self.open_model, resolved=False)
        self.resolved_list = self._list_view("resolvedList", self.resolved_model, resolved=True)
        self.open_empty = PlainLabel(
            "No open conflicts.\nWhen a technician's calendar clashes with a job, it shows up here.", self
        )
        self.resolved_empty = PlainLabel("No conflicts decided yet.", self)
        for label in (self.open_empty, self.resolved_empty):
            label.setObjectName("emptyState")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)

        self.open_button = self._segment("Open")
        self.resolved_button = self._segment("Resolved")
        self.open_button.setChecked(True)
        segments = QButtonGroup(self)
        segments.setExclusive(True)
        segments.addButton(self.open_button, 0)
        segments.addButton(self.resolved_button, 1)
        segments.idClicked.connect(self._on_segments_id_clicked)
        header = QHBoxLayout()
        header.setContentsMargins(10, 8, 10, 4)
        header.setSpacing(0)
        header.addWidget(self.open_button)
        header.addWidget(self.resolved_button)
        header.addStretch(1)

        self.stack = QStackedWidget(self)
        for widget in (self.open_list, self.open_empty, self.resolved_list, self.resolved_empty):
            self.stack.addWidget(widget)

        self.detail = PlainLabel("", self)
        self.detail.setObjectName("conflictDetail")
        self.detail.setWordWrap(True)
        self.keep_button = QPushButton("Keep", self)
        self.keep_button.setToolTip("Keep the job as booked; the calendar is brought in line")
        self.keep_button.clicked.connect(self.keep_selected)
        self.reschedule_button = QPushButton("Reschedule…", self)
        self.reschedule_button.clicked.connect(self.open_reschedule)
        self.reassign_button = QPushButton("Reassign…", self)
        self.reassign_button.clicked.connect(self.open_reassign)
        actions = QHBoxLayout()
        actions.setContentsMargins(10, 4, 10, 10)
        actions.setSpacing(6)
        for button in (self.keep_button, self.reschedule_button, self.reassign_button):
            button.setMinimumWidth(0)
            actions.addWidget(button, 1)
        self._action_box = QWidget(self)
        self._action_box.setObjectName("conflictActions")
        action_column = QVBoxLayout(self._action_box)
        action_column.setContentsMargins(0, 0, 0, 0)
        action_column.setSpacing(2)
        action_column.addWidget(self.detail)
        action_column.addLayout(actions)

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(header)
        column.addWidget(self.stack, 1)
        column.addWidget(self._action_box)
        self._update_actions()

        self._loader = LatestLoader(
            worker, self._queries.conflicts, self._on_conflicts_loaded, REFRESH_DELAY_MS, self
        )
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._tick.start()
        bridge.conflict_changed.connect(self._on_bridge_changed)
        bridge.booking_changed.connect(self._on_bridge_changed)
        bridge.techs_changed.connect(self._on_bridge_changed)
        self.refresh()

    # --- construction ------------------------------------------------------------------------

    def _list_view(self, name: str, model: ConflictListModel, resolved: bool) -> QListView:
        view = QListView(self)
        view.setObjectName(name)
        view.setModel(model)
        view.setItemDelegate(ConflictCardDelegate(resolved, view))
        view.setSelectionMode(
            QAbstractItemView.SelectionMode.NoSelection
            if resolved
            else QAbstractItemView.SelectionMode.SingleSelection
        )
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setMouseTracking(True)
        if not resolved:
            view.selectionModel().currentRowChanged.connect(self._on_open_list_current_row_changed)
        return view

    def _segment(self, text: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setProperty("segment", True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        return button

    # --- state -------------------------------------------------------------------------------

    @property
    def lists(self) -> ConflictLists | None:
        return self._lists

    @property
    def dialog(self) -> QDialog | None:
        return self._dialog

    def selected(self) -> ConflictView | None:
        index = self.open_list.currentIndex()
        return self.open_model.view_at(index.row()) if index.isValid() else None

    def select(self, conflict_id: str) -> None:
        """Choose an open conflict, as a click on its card would."""
        self.show_resolved(False)
        row = self.open_model.row_of(conflict_id)
        if row < 0:
            raise KeyError(conflict_id)
        self.open_list.setCurrentIndex(self.open_model.index(row, 0))

    def show_resolved(self, resolved: bool) -> None:
        (self.resolved_button if resolved else self.open_button).setChecked(True)
        self._show_page()

    def _show_page(self) -> None:
        if self.resolved_button.isChecked():
            page = self.resolved_list if self.resolved_model.rowCount() else self.resolved_empty
        else:
            page = self.open_list if self.open_model.rowCount() else self.open_empty
        self.stack.setCurrentWidget(page)
        self._update_actions()

    def _update_actions(self) -> None:
        showing_open = self.open_button.isChecked()
        view = self.selected() if showing_open else None
        self._action_box.setVisible(showing_open and self.open_model.rowCount() > 0)
        live = view is not None and view.booking is not None and view.booking.is_live
        self.keep_button.setEnabled(view is not None)
        self.reschedule_button.setEnabled(live)
        self.reassign_button.setEnabled(live)
        if view is None:
            self.detail.setText("Choose a conflict to decide it.")
        else:
            self.detail.setText(
                view.conflict.detail or describe_conflict(view, self._office, self._now()).noticed
            )

    def _now(self) -> datetime:
        return self._services.clock.now()

    # --- data --------------------------------------------------------------------------------

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is gone."""
        self._loader.stop()
        self._tick.stop()

    def refresh(self) -> None:
        self._loader.load()

    def _on_conflicts_loaded(self, lists: ConflictLists) -> None:
        chosen = self.selected()
        self._lists = lists
        now = self._now()
        self.open_model.set_items(lists.open, now)
        self.resolved_model.set_items(lists.resolved, now)
        self.open_button.setText(f"Open ({len(lists.open)})" if lists.open else "Open")
        self.resolved_button.setText("Resolved")
        if chosen is not None and (row := self.open_model.row_of(chosen.id)) >= 0:
            self.open_list.selectionModel().blockSignals(True)
            self.open_list.setCurrentIndex(self.open_model.index(row, 0))
            self.open_list.selectionModel().blockSignals(False)
        self._show_page()
        self.count_changed.emit(len(lists.open))
        self.conflicts_loaded.emit()

    def _on_bridge_changed(self, _event: object) -> None:
        self._loader.schedule()

    def _on_tick_timeout(self) -> None:
        now = self._now()
        self.open_model.set_now(now)
        self.resolved_model.set_now(now)

    def _on_segments_id_clicked(self, _id: int) -> None:
        self._show_page()

    def _on_open_list_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_actions()
        view = self.open_model.view_at(current.row()) if current.isValid() else None
        if view is not None:
            start = view.booking.start if view.booking else None
            self.booking_selected.emit(str(view.conflict.booking_id), start)

    # --- decisions ---------------------------------------------------------------------------

    def keep_selected(self) -> None:
        view = self.selected()
        if view is not None:
            conflicts = self._services.conflicts
            self._decide(lambda: conflicts.keep(view.id, actor=ACTOR), "Kept as booked", view)

    def reschedule(self, view: ConflictView, start: datetime) -> None:
        conflicts = self._services.conflicts
        tz = zone(view.booking_tech.timezone) if view.booking_tech else self._office
        when = f"{day_text(start.astimezone(tz))} {start.astimezone(tz):%H:%M}"
        self._decide(
            lambda: conflicts.reschedule(view.id, start, actor=ACTOR), f"Rescheduled to {when}", view
        )

    def reassign(self, view: ConflictView, tech: Technician) -> None:
        conflicts = self._services.conflicts
        self._decide(lambda: conflicts.reassign(view.id, tech.id, actor=ACTOR), f"Given to {tech.name}", view)

    def _decide(self, call: Any, done: str, view: ConflictView) -> None:
        title = describe_conflict(view, self._office, self._now()).title
        self._worker.run(call, on_done=lambda _c: self.message_shown.emit(f"{done}: {title}."), context=self)

    def open_reschedule(self) -> RescheduleDialog | None:
        view = self.selected()
        if view is None or view.booking is None or not view.booking.is_live:
            return None
        dialog = RescheduleDialog(self._services, self._worker, view, self._office, self)
        dialog.accepted.connect(lambda: self.reschedule(view, dialog.start()))
        self._open(dialog)
        return dialog

    def open_reassign(self) -> ReassignDialog | None:
        view = self.selected()
        if view is None or view.booking is None or not view.booking.is_live:
            return None
        dialog = ReassignDialog(self._services, self._worker, view, self._office, self)

        def accepted() -> None:
            choice = dialog.chosen()
            if choice is not None:
                self.reassign(view, choice.tech)

        dialog.accepted.connect(accepted)
        self._open(dialog)
        return dialog

    def _open(self, dialog: QDialog) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self._dialog = dialog
        dialog.destroyed.connect(lambda: setattr(self, "_dialog", None))
        dialog.open()


# --- the board ---------------------------------------------------------------------------------


class BoardWindow(Protocol):
    """What the panel needs of the main window to show a booking on the board."""

    snapshot_applied: Any
    office: tzinfo
    board: BoardView

    def go_to(self, day: date) -> None: ...


def select_on_board(board: BoardView, booking_id: BookingId) -> bool:
    """Select and scroll to the booking's tile if the board shows it now."""
    layout = board.board_layout
    if layout is None or booking_id not in layout.by_booking:
        return False
    board.select_booking(booking_id)
    return True


class BoardRevealer(QObject):
    """Brings a booking onto the board and selects it, after the right day has loaded if needed."""

    def __init__(self, window: BoardWindow, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._pending: BookingId | None = None
        window.snapshot_applied.connect(self._on_window_snapshot_applied)

    def reveal(self, booking_id: str, start: datetime | None) -> None:
        window = self._window
        target = BookingId(booking_id)
        if select_on_board(window.board, target):
            self._pending = None
            return
        if start is not None:
            self._pending = target  # selected when the day that shows it has loaded
            window.go_to(start.astimezone(window.office).date())

    def _on_window_snapshot_applied(self) -> None:
        target, self._pending = self._pending, None
        if target is not None:
            select_on_board(self._window.board, target)
