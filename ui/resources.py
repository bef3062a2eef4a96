"""The one door to `resources/`: the stylesheets, the palette, the application icon and the .desktop file.

The look lives in files a designer can edit without reading Python; widgets ask for colours by name
(`palette.color("danger")`) and never spell one. A stylesheet names palette colours as `@name`; they are
substituted here when it is read, so the .qss files and the painted widgets share one palette.
Everything is read through importlib.resources, so it works from the source tree and when installed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType

from PySide6.QtGui import QColor, QIcon, QPixmap

PACKAGE = "resources"
ICON_NAME = "crewboard"
ICON_SIZES = (16, 32, 48, 64, 128, 256)

_HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_REFERENCE = re.compile(r"@([a-z][a-z0-9_]*)")
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


class UnknownColorError(KeyError):
    """A widget or stylesheet asked for a colour the palette does not name (a typo or a removed name)."""


def resource(*parts: str) -> Traversable:
    """A file inside the resources package, e.g. `resource("styles", "application.qss")`."""
    return files(PACKAGE).joinpath(*parts)


class Palette:
    """Colour names to colours, read from resources/palette.json (`#rrggbb`, or `#aarrggbb` for a
    translucent one, the form QColor reads)."""

    def __init__(self, colors: dict[str, str]) -> None:
        for name, value in colors.items():
            if not _HEX.fullmatch(value):
                raise ValueError(f"palette colour {name!r} is {value!r}, not #rrggbb or #aarrggbb")
        self._colors = MappingProxyType(dict(colors))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._colors)

    def hex(self, name: str) -> str:
        """The colour as text, for a stylesheet or rich text."""
        try:
            return self._colors[name]
        except KeyError:
            raise UnknownColorError(f"the palette has no colour named {name!r}") from None

    def color(self, name: str) -> QColor:
        """A fresh QColor (callers may change its alpha without touching anyone else's)."""
        return QColor(self.hex(name))


def load_palette() -> Palette:
    data = json.loads(resource("palette.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError("resources/palette.json must map colour names to strings")
    return Palette(data)


palette = load_palette()


def resolve(qss: str, colors: Palette = palette) -> str:
    """A stylesheet with comments dropped and every `@name` replaced by the palette's colour."""
    return _REFERENCE.sub(lambda match: colors.hex(match.group(1)), _COMMENT.sub("", qss))


@cache
def stylesheet(name: str = "application") -> str:
    """resources/styles/<name>.qss, ready for setStyleSheet: "application" for the whole app, or a
    screen's own rules ("settings", "health", "conflicts", "phone", "inbox")."""
    return resolve(resource("styles", f"{name}.qss").read_text(encoding="utf-8"))


def icon_file(size: int | None = None) -> Traversable:
    """The application icon: the SVG source, or the PNG rendered from it at `size` pixels."""
    if size is None:
        return resource("icons", f"{ICON_NAME}.svg")
    if size not in ICON_SIZES:
        raise ValueError(f"no {size}px icon; sizes are {ICON_SIZES}")
    return resource("icons", f"{size}x{size}", f"{ICON_NAME}.png")


def app_icon() -> QIcon:
    """The window icon, every rendered size, so each place Qt shows it gets crisp pixels."""
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if pixmap.loadFromData(icon_file(size).read_bytes(), "PNG"):
            icon.addPixmap(pixmap)
    return icon


def desktop_file() -> Traversable:
    """The freedesktop entry a package installs as share/applications/crewboard.desktop."""
    return resource(f"{ICON_NAME}.desktop")
