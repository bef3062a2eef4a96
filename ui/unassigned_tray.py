"""The unassigned jobs dock: jobs without a technician, dragged from here onto the board."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QDockWidget, QListView, QStackedWidget, QVBoxLayout, QWidget

from ui.models import UnassignedJobsModel
from ui.plain import PlainLabel


class UnassignedTrayDock(QDockWidget):
    """The tray's list (or a line saying it is empty) above a hint on how to use it."""

    def __init__(self, model: UnassignedJobsModel, parent: QWidget | None = None) -> None:
        super().__init__("Unassigned jobs", parent)
        self.setObjectName("unassignedDock")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.tray = QListView(self)
        self.tray.setObjectName("unassignedTray")
        self.tray.setModel(model)
        self.tray.setDragEnabled(True)
        self.tray.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tray.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tray.setWordWrap(True)
        self.tray.setSpacing(2)
        self.tray.setUniformItemSizes(False)
        self.tray_empty = PlainLabel("No unassigned jobs.\nNew jobs without a technician wait here.", self)
        self.tray_empty.setObjectName("emptyState")
        self.tray_empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.tray_empty.setWordWrap(True)
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.tray_empty)
        self._stack.addWidget(self.tray)
        self._stack.setMinimumWidth(250)
        hint = PlainLabel("Drag a job onto a technician's row to schedule it; double-click to edit.", self)
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        hint.setContentsMargins(10, 6, 10, 10)
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._stack, 1)
        column.addWidget(hint)
        self.setWidget(box)

    def show_count(self, count: int) -> None:
        """Show the list, or the empty line when no job waits; the title counts them."""
        self._stack.setCurrentWidget(self.tray if count else self.tray_empty)
        self.setWindowTitle(f"Unassigned jobs ({count})" if count else "Unassigned jobs")
