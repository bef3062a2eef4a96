"""The owner's sync-health window: every calendar account, how its sync is doing, and latency.

It reads one `HealthReport` on the database worker and shows it; HealthChanged, NotificationAdded
and booking changes ask for a fresh one (coalesced), and a slow tick keeps "2 min ago" honest.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.escalation import Thresholds
from app.domain.model import AccountStatus
from app.services.container import Services
from app.services.sync_outcomes import HealthReport, LatencyDirection, SyncOutcomeQueries
from ui.bridge import BusBridge
from ui.charts import LatencyChartWidget, delay_text
from ui.format import ago, duration_text
from ui.health_table import ROW_HEIGHT, AccountHealthModel, LevelBadgeDelegate, TwoLineDelegate
from ui.loading import LatestLoader
from ui.plain import PlainLabel
from ui.resources import stylesheet
from ui.sync_owner_line import SyncOwnerLineWidget
from ui.worker import DatabaseWorker

REFRESH_DELAY_MS = 150
TICK_MS = 30_000


class StatCardWidget(QFrame):
    """A number the owner reads first, with its caption."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(2)
        self.caption = PlainLabel(caption, self)
        self.caption.setObjectName("statCaption")
        self.value = PlainLabel("—", self)
        self.value.setObjectName("statValue")
        self.note = PlainLabel("", self)
        self.note.setObjectName("statNote")
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.note)

    def show_value(self, value: str, note: str = "", alarm: bool = False) -> None:
        self.value.setText(value)
        self.note.setText(note)
        self.value.setProperty("alarm", alarm)
        self.value.style().unpolish(self.value)
        self.value.style().polish(self.value)


class SyncHealthDialog(QDialog):
    """Non-modal window for owners. `report_applied` fires each time fresh data is on screen."""

    report_applied = Signal()

    def __init__(
        self,
        services: Services,
        worker: DatabaseWorker,
        bridge: BusBridge,
        tz: tzinfo,
        parent: QWidget | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("syncHealthDialog")
        self.setWindowTitle("Sync health")
        self.setStyleSheet(stylesheet("health"))
        self._services = services
        self._queries = SyncOutcomeQueries(services.uow, services.clock)
        self._tz = tz
        self._thresholds = thresholds or Thresholds()
        self._report: HealthReport | None = None

        self.model = AccountHealthModel(tz, self)
        self.table = QTableView(self)
        self.table.setObjectName("healthTable")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(AccountHealthModel.LEVEL, LevelBadgeDelegate(self.table))
        two_lines = TwoLineDelegate(self.table)
        self.table.setItemDelegateForColumn(AccountHealthModel.CALENDAR, two_lines)
        self.table.setItemDelegateForColumn(AccountHealthModel.STATUS, two_lines)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AccountHealthModel.STATUS, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)

        self.title = PlainLabel("Sync health", self)
        self.title.setObjectName("pageTitle")
        self.updated_label = PlainLabel("Loading…", self)
        self.updated_label.setObjectName("hint")
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.updated_label)
        top.addWidget(self.refresh_button)
        self.owner_line = SyncOwnerLineWidget(services, worker, tz, self)

        self.calendars_card = StatCardWidget("Calendars syncing", self)
        self.attention_card = StatCardWidget("Need attention", self)
        self.queued_card = StatCardWidget("Queued calendar writes", self)
        self.latency_card = StatCardWidget("Write delay, last 24 h", self)
        cards = QHBoxLayout()
        cards.setSpacing(12)
        for card in (self.calendars_card, self.attention_card, self.queued_card, self.latency_card):
            cards.addWidget(card, 1)

        self.legend = PlainLabel(self._legend_text(), self)
        self.legend.setObjectName("hint")
        self.legend.setWordWrap(True)

        self.chart = LatencyChartWidget(tz, self)
        self.chart_title = PlainLabel("Sync delay over the last 24 hours", self)
        self.chart_title.setObjectName("sectionTitle")
        self.chart_summary = PlainLabel("", self)
        self.chart_summary.setObjectName("hint")
        self.chart_summary.setWordWrap(True)
        chart_card = QFrame(self)
        chart_card.setObjectName("chartCard")
        chart_column = QVBoxLayout(chart_card)
        chart_column.setContentsMargins(14, 12, 14, 10)
        chart_column.setSpacing(4)
        chart_column.addWidget(self.chart_title)
        chart_column.addWidget(self.chart_summary)
        chart_column.addWidget(self.chart, 1)

        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.legend, 1)
        bottom.addWidget(self.close_button)

        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 16)
        column.setSpacing(12)
        column.addLayout(top)
        column.addWidget(self.owner_line)
        column.addLayout(cards)
        column.addWidget(self.table)
        column.addWidget(chart_card, 1)
        column.addLayout(bottom)
        self.resize(1240, 800)

        self._loader = LatestLoader(
            worker, self._queries.report, self._on_report_loaded, REFRESH_DELAY_MS, self
        )
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._tick.start()
        bridge.health_changed.connect(self._on_bridge_changed)
        bridge.notification_added.connect(self._on_bridge_changed)
        bridge.accounts_changed.connect(self._on_bridge_changed)
        bridge.booking_changed.connect(self._on_bridge_changed)
        self.refresh()

    @property
    def report(self) -> HealthReport | None:
        return self._report

    def stop(self) -> None:
        """No more loading: the window is closing and its worker is gone."""
        self._loader.stop()
        self.owner_line.stop()
        self._tick.stop()

    def refresh(self) -> None:
        self._loader.load()
        self.owner_line.refresh()

    def _legend_text(self) -> str:
        t = self._thresholds
        return (
            f"Escalation while an account keeps failing: warning after {duration_text(t.warn)}, "
            f"the dispatcher is alerted after {duration_text(t.dispatcher)}, "
            f"the owner after {duration_text(t.owner)}. Each alert is sent once per outage."
        )

    def _on_bridge_changed(self, _event: object) -> None:
        self._loader.schedule()

    def _on_tick_timeout(self) -> None:
        self.owner_line.refresh()  # a takeover writes no feed of its own; the tick catches it
        now = self._services.clock.now()
        self.model.set_now(now)
        self._show_updated(now)

    def _show_updated(self, now: datetime) -> None:
        if self._report is not None:
            when = self._report.now.astimezone(self._tz)
            self.updated_label.setText(f"Updated {when:%H:%M}")

    def _on_report_loaded(self, report: HealthReport) -> None:
        self._report = report
        self.model.set_report(report)
        self._fit_table()
        self.chart.set_report(report.latency)
        self._show_updated(report.now)
        self._show_cards(report)
        self._show_chart_summary(report)
        self.report_applied.emit()

    def _fit_table(self) -> None:
        """Tall enough for every account (up to a dozen) so the owner sees them all without scrolling."""
        rows = min(max(self.model.rowCount(), 2), 12)
        height = self.table.horizontalHeader().sizeHint().height() + rows * ROW_HEIGHT + 4
        self.table.setMinimumHeight(height)

    def _show_cards(self, report: HealthReport) -> None:
        rows = report.accounts
        live = [r for r in rows if r.account.status is AccountStatus.CONNECTED]
        healthy = [r for r in live if not (r.health and r.health.failing_since)]
        self.calendars_card.show_value(
            f"{len(healthy)} of {len(rows)}",
            "all calendars in sync" if rows and len(healthy) == len(rows) else "connected and syncing",
            alarm=len(healthy) < len(rows),
        )
        attention = [r for r in rows if r not in healthy]
        names = ", ".join(dict.fromkeys(r.tech.name for r in attention))
        self.attention_card.show_value(str(len(attention)), names or "nothing to do", alarm=bool(attention))
        queued = sum(q.count for q in report.queued)
        oldest = min((q.oldest for q in report.queued if q.oldest), default=None)
        self.queued_card.show_value(
            str(queued),
            f"oldest waiting {ago(oldest, report.now).removesuffix(' ago')}" if oldest else "nothing waiting",
            alarm=False,
        )
        median = report.latency.percentile(0.5, LatencyDirection.WRITE)
        writes = len(report.latency.of(LatencyDirection.WRITE))
        self.latency_card.show_value(
            delay_text(median) if median is not None else "—",
            f"median of {writes} write{'s' if writes != 1 else ''}" if writes else "no writes yet",
        )

    def _show_chart_summary(self, report: HealthReport) -> None:
        latency = report.latency
        parts = []
        for direction, noun in (
            (LatencyDirection.WRITE, "calendar write"),
            (LatencyDirection.READ, "change read"),
        ):
            count = len(latency.of(direction))
            if not count:
                continue
            median = latency.percentile(0.5, direction)
            slowest = latency.percentile(0.95, direction)
            assert median is not None and slowest is not None
            parts.append(
                f"{count} {noun}{'s' if count != 1 else ''}: half within {delay_text(median)}, "
                f"95% within {delay_text(slowest)}"
            )
        text = "; ".join(parts)
        meaning = "Delay is the time from a booking change to its confirmed calendar write"
        if latency.of(LatencyDirection.READ):
            meaning += ", and from a change in a technician's calendar to the board"
        self.chart_summary.setText((text + ". " if text else "") + meaning + ".")

    def closeEvent(self, event: Any) -> None:
        self._tick.stop()
        self._loader.cancel()
        self.owner_line.stop()
        super().closeEvent(event)
