"""The look of the desktop app: installs the palette, the base font, the stylesheet and the window icon,
and holds the colour rules tiles use.

The colours, stylesheets and icons themselves live in resources/ and are read through ui.resources.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from ui.resources import app_icon, palette, stylesheet

BASE_POINT_SIZE = 10  # the stylesheets' point sizes assume this base
DESKTOP_FILE_NAME = "crewboard"  # resources/crewboard.desktop, for the shell to match windows to it


def text_color_for(background: QColor) -> QColor:
    """White or near-black, whichever reads better on `background` (WCAG relative luminance)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    def luminance(color: QColor) -> float:
        return (
            0.2126 * channel(color.redF())
            + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF())
        )

    light, dark = palette.color("on_accent"), palette.color("ink")
    lit = luminance(background)
    # Contrast ratio against each candidate: (brighter + 0.05) / (darker + 0.05).
    on_light = (luminance(light) + 0.05) / (lit + 0.05)
    on_dark = (lit + 0.05) / (luminance(dark) + 0.05)
    return light if on_light >= on_dark else dark


def tile_fill(color: str) -> QColor:
    """The tile colour for a tech: their own colour, or the accent when theirs is missing or unreadable."""
    base = QColor(color)
    if not base.isValid():
        base = palette.color("accent")
    return base


def qpalette() -> QPalette:
    """Fusion's palette in our colours, so natively drawn controls match the stylesheet."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "window",
        QPalette.ColorRole.WindowText: "text",
        QPalette.ColorRole.Base: "surface",
        QPalette.ColorRole.AlternateBase: "surface_alt",
        QPalette.ColorRole.Text: "text",
        QPalette.ColorRole.Button: "surface",
        QPalette.ColorRole.ButtonText: "text",
        QPalette.ColorRole.Highlight: "accent",
        QPalette.ColorRole.HighlightedText: "on_accent",
        QPalette.ColorRole.ToolTipBase: "surface",
        QPalette.ColorRole.ToolTipText: "text",
        QPalette.ColorRole.PlaceholderText: "text_disabled",
        QPalette.ColorRole.Mid: "border",
    }
    for role, name in roles.items():
        pal.setColor(role, palette.color(name))
    return pal


def apply_style(app: QApplication) -> None:
    """Install the palette, the base font, the stylesheet and the window icon on the running application."""
    app.setStyle("Fusion")
    app.setPalette(qpalette())
    font = QFont(QGuiApplication.font())
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(stylesheet("application"))
    app.setWindowIcon(app_icon())
    app.setDesktopFileName(DESKTOP_FILE_NAME)
