"""ConflictListModel: the conflicts of one list (open or resolved) with their words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from app.services.sync_outcomes import ConflictView
from ui.conflicts.wording import ConflictText, describe_conflict
from ui.plain import plain_tip

ModelIndex = QModelIndex | QPersistentModelIndex


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
