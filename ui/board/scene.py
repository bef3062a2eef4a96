"""What one paint of the board shows: the view's fixed sizes, its fonts, and a frozen copy of its state.

The painters (`paint_grid`, `paint_margins`) draw from a BoardScene only, so they hold no state of
their own and never reach into the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from PySide6.QtCore import QRect
from PySide6.QtGui import QFont

from app.domain.ids import BookingId, TechId
from app.domain.time import Interval
from ui.board.drag import DragTarget
from ui.board.layout import BoardLayout, BoardMode

GUTTER = 236  # the left column: names, zones, the day's totals, the health badge
HEADER = {BoardMode.DAY: 44, BoardMode.WEEK: 56}
ROW_HEIGHT = {BoardMode.DAY: 76, BoardMode.WEEK: 64}  # at least; rows grow to fill a tall window
MAX_ROW_HEIGHT = {BoardMode.DAY: 108, BoardMode.WEEK: 92}
MIN_DAY_WIDTH = {BoardMode.DAY: 600.0, BoardMode.WEEK: 140.0}
HOUR_PAD = {BoardMode.DAY: 60, BoardMode.WEEK: 0}  # the week shows working hours only
EMPTY_TEXT = "No technicians yet — add one from Technicians ▸ Add technician."
LOADING_TEXT = "Loading the board…"


@dataclass(frozen=True, slots=True)
class BoardFonts:
    """The four faces the board writes in, derived from the widget's own font."""

    base: QFont
    bold: QFont
    small: QFont
    small_bold: QFont

    @classmethod
    def from_font(cls, font: QFont) -> BoardFonts:
        base = QFont(font)
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        small = QFont(base)
        small.setPointSizeF(max(7.5, base.pointSizeF() - 1.5))
        small_bold = QFont(small)
        small_bold.setWeight(QFont.Weight.DemiBold)
        return cls(base, bold, small, small_bold)


@dataclass(frozen=True, slots=True)
class BoardScene:
    """The board's state as one paint sees it; `scroll_x`/`scroll_y` are the scroll bars' values."""

    layout: BoardLayout
    mode: BoardMode
    office: tzinfo
    now: datetime | None
    selected: BookingId | None
    slot: tuple[TechId, Interval] | None
    drag: DragTarget | None
    fonts: BoardFonts
    viewport: QRect
    scroll_x: int
    scroll_y: int

    @property
    def header(self) -> int:
        return HEADER[self.mode]

    def hour_step(self) -> int:
        """Label every n-th hour so labels stay at least 46 px apart."""
        hour_width = self.layout.axis.minute_width * 60
        for step in (1, 2, 3, 4, 6):
            if hour_width * step >= 46:
                return step
        return 12
