"""ConflictCardDelegate: a conflict painted as a card, each side under its own label."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from app.domain.model import ConflictKind
from app.services.sync_outcomes import ConflictView
from ui.conflicts.model import ConflictListModel
from ui.conflicts.wording import ConflictText
from ui.resources import palette

ModelIndex = QModelIndex | QPersistentModelIndex

KIND_COLORS = {
    ConflictKind.OVERLAP: (palette.hex("danger"), palette.hex("danger_soft")),
    ConflictKind.EDITED_BOTH: (palette.hex("caution"), palette.hex("caution_soft")),
    ConflictKind.EVENT_DELETED: (palette.hex("deleted"), palette.hex("deleted_soft")),
}


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
