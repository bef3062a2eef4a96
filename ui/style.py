"""The look of the desktop app: one palette, one stylesheet, and the colour helpers tiles use.

Everything visual is decided here so screens stay consistent and a later theme is one file.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

# --- palette ---------------------------------------------------------------------------------

WINDOW = "#f4f6f8"
SURFACE = "#ffffff"
SURFACE_ALT = "#f9fafb"
BORDER = "#dde1e6"
GRID_LINE = "#e7eaee"
GRID_LINE_STRONG = "#cfd5dc"
TEXT = "#1f2933"
TEXT_MUTED = "#667085"
ACCENT = "#2563eb"
ACCENT_SOFT = "#e8efff"
DANGER = "#d92d20"
DANGER_SOFT = "#fdecea"
WARNING = "#dc8a06"
SUCCESS = "#12a150"
OFF_HOURS = "#eceff3"
BUSY_FILL = "#eef0f3"
BUSY_HATCH = "#a3acb9"
BUSY_TEXT = "#475467"
TIME_OFF_FILL = "#f3efe9"
TIME_OFF_HATCH = "#c4b7a6"
NOW_LINE = "#e5484d"
SELECTION = "#111827"
SLOT_HIGHLIGHT = "#12a150"

BASE_POINT_SIZE = 10


def text_color_for(background: QColor) -> QColor:
    """White or near-black, whichever reads better on `background` (WCAG relative luminance)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    luminance = (
        0.2126 * channel(background.redF())
        + 0.7152 * channel(background.greenF())
        + 0.0722 * channel(background.blueF())
    )
    # Contrast against white is (1.05)/(L+0.05); against #111827 it is (L+0.05)/(0.0117+0.05).
    on_white = 1.05 / (luminance + 0.05)
    on_dark = (luminance + 0.05) / 0.0617
    return QColor("#ffffff") if on_white >= on_dark else QColor("#111827")


def tile_fill(color: str) -> QColor:
    """The tile colour for a tech: their own colour, slightly deepened so white text stays legible."""
    base = QColor(color)
    if not base.isValid():
        base = QColor(ACCENT)
    return base


STYLESHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QWidget {{ color: {TEXT}; }}
QToolBar {{
    background: {SURFACE}; border: none; border-bottom: 1px solid {BORDER};
    padding: 4px 8px; spacing: 6px;
}}
QToolBar QToolButton {{
    padding: 5px 10px; border-radius: 6px; border: 1px solid transparent;
}}
QToolBar QToolButton:hover {{ background: {SURFACE_ALT}; border-color: {BORDER}; }}
QToolBar QToolButton:checked {{ background: {ACCENT_SOFT}; border-color: #c7d7fe; color: {ACCENT}; }}
QToolBar QLabel#periodLabel {{ font-weight: 600; padding: 0 10px; }}
QStatusBar {{ background: {SURFACE}; border-top: 1px solid {BORDER}; color: {TEXT_MUTED}; }}
QStatusBar QLabel {{ color: {TEXT_MUTED}; padding: 0 6px; }}
QMenuBar {{ background: {SURFACE}; border-bottom: 1px solid {BORDER}; }}
QMenuBar::item {{ padding: 4px 10px; }}
QMenuBar::item:selected {{ background: {ACCENT_SOFT}; border-radius: 4px; }}
QMenu {{ background: {SURFACE}; border: 1px solid {BORDER}; padding: 4px; }}
QMenu::item {{ padding: 5px 24px 5px 14px; border-radius: 4px; }}
QMenu::item:selected {{ background: {ACCENT_SOFT}; color: {TEXT}; }}
QDockWidget {{ font-weight: 600; }}
QDockWidget::title {{
    background: {SURFACE}; padding: 8px 10px; border-bottom: 1px solid {BORDER};
}}
QListView {{
    background: {SURFACE}; border: none; outline: 0;
}}
QListView::item {{ padding: 6px 8px; border-bottom: 1px solid {GRID_LINE}; }}
QListView::item:selected {{ background: {ACCENT_SOFT}; color: {TEXT}; }}
QLineEdit, QPlainTextEdit, QTextEdit {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 5px;
    padding: 4px 6px; min-height: 20px;
    selection-background-color: {ACCENT};
}}
QLineEdit:focus, QPlainTextEdit:focus {{ border-color: {ACCENT}; }}
QLineEdit[invalid="true"] {{ border-color: {DANGER}; }}
QComboBox, QSpinBox, QDateEdit, QTimeEdit {{ min-height: 22px; }}
QComboBox QAbstractItemView {{ background: {SURFACE}; border: 1px solid {BORDER}; }}
QPushButton {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 6px;
    padding: 6px 16px; min-width: 64px;
}}
QPushButton:hover {{ background: {SURFACE_ALT}; }}
QPushButton:default, QPushButton[primary="true"] {{
    background: {ACCENT}; color: white; border-color: {ACCENT};
}}
QPushButton:default:hover, QPushButton[primary="true"]:hover {{ background: #1d4ed8; }}
QPushButton:disabled {{ color: #98a2b3; background: {SURFACE_ALT}; }}
QLabel#fieldError {{ color: {DANGER}; font-size: {BASE_POINT_SIZE - 1}pt; }}
QLabel#formError {{
    color: {DANGER}; background: {DANGER_SOFT}; border: 1px solid #f5c2bd;
    border-radius: 6px; padding: 6px 10px;
}}
QLabel#sectionTitle {{ font-weight: 600; font-size: {BASE_POINT_SIZE + 1}pt; }}
QLabel#hint {{ color: {TEXT_MUTED}; }}
QFrame#banner {{
    background: {DANGER_SOFT}; border: 1px solid #f5c2bd; border-radius: 6px;
}}
QFrame#banner[kind="info"] {{ background: {ACCENT_SOFT}; border-color: #c7d7fe; }}
QFrame#banner QLabel {{ color: {TEXT}; }}
QFrame#banner QToolButton {{ border: none; padding: 2px 6px; font-weight: 600; }}
QFrame#undoNotice {{ background: {ACCENT_SOFT}; border: 1px solid #c7d7fe; border-radius: 5px; }}
QFrame#undoNotice QLabel {{ color: {TEXT}; padding: 0 2px; }}
QFrame#undoNotice QPushButton {{
    background: transparent; color: {ACCENT}; border: none; font-weight: 600;
    padding: 1px 8px; min-width: 0;
}}
QFrame#undoNotice QPushButton:hover {{ background: #c7d7fe; border-radius: 4px; }}
QFrame#undoNotice QToolButton {{ border: none; padding: 0 4px; color: {TEXT_MUTED}; }}
QToolTip {{ background: {SURFACE}; color: {TEXT}; border: 1px solid {BORDER}; padding: 6px; }}
QFrame#sidePanel {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 8px; }}
QLabel#emptyState {{ color: {TEXT_MUTED}; padding: 16px; }}
/* The first sync's count is written across the bar: a light fill keeps it readable. */
QProgressBar#connectProgress {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 4px;
    color: {TEXT}; text-align: center;
}}
QProgressBar#connectProgress::chunk {{ background: #c7d7fe; border-radius: 3px; }}
"""


def palette() -> QPalette:
    """Fusion's palette in our colours, so natively drawn controls match the stylesheet."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: SURFACE,
        QPalette.ColorRole.AlternateBase: SURFACE_ALT,
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: SURFACE,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: SURFACE,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: "#98a2b3",
        QPalette.ColorRole.Mid: BORDER,
    }
    for role, value in roles.items():
        pal.setColor(role, QColor(value))
    return pal


def apply_style(app: QApplication) -> None:
    """Install the palette, the base font and the stylesheet on the running application."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    font = QFont(QGuiApplication.font())
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
