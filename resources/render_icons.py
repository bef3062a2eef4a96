"""Render resources/icons/crewboard.svg to the PNG sizes the app and the .desktop entry use.

Run `QT_QPA_PLATFORM=offscreen python -m resources.render_icons` after editing the SVG and commit the
PNGs: they are rendered once here, with Qt's own SVG renderer, so no build step needs a converter.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parent / "icons"
SIZES = (16, 32, 48, 64, 128, 256)  # ui.resources.ICON_SIZES, which the tests check against the files


def render(svg: Path, size: int) -> QImage:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    svg = ICONS / "crewboard.svg"
    for size in SIZES:
        target = ICONS / f"{size}x{size}" / "crewboard.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(svg, size).save(str(target)):  # PNG, from the suffix
            raise SystemExit(f"could not write {target}")
        print(target)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
