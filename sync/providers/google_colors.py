"""Google Calendar's event colors, and the nearest one to a technician's color.

Google events take a `colorId` from the event palette of `GET colors` rather than a free RGB
value. The eleven standard event colors are stable, so they are kept here instead of fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# colorId → (background, name), as `colors.get` lists the event palette.
EVENT_COLORS: dict[str, tuple[str, str]] = {
    "1": ("#a4bdfc", "Lavender"),
    "2": ("#7ae7bf", "Sage"),
    "3": ("#dbadff", "Grape"),
    "4": ("#ff887c", "Flamingo"),
    "5": ("#fbd75b", "Banana"),
    "6": ("#ffb878", "Tangerine"),
    "7": ("#46d6db", "Peacock"),
    "8": ("#e1e1e1", "Graphite"),
    "9": ("#5484ed", "Blueberry"),
    "10": ("#51b749", "Basil"),
    "11": ("#dc2127", "Tomato"),
}

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def parse_hex_color(text: str) -> tuple[int, int, int] | None:
    """`#rrggbb` or `#rgb` as an RGB triple, or None for anything else."""
    match = _HEX.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB to CIE L*a*b* (D65), where distances follow what eyes see: a mid grey is nearer
    Google's grey than its pale lavender, which plain RGB distance gets wrong."""
    r, g, b = (_linear(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """CIE76 color difference (squared): Euclidean distance in L*a*b*."""
    la, lb = _lab(a), _lab(b)
    return sum((p - q) ** 2 for p, q in zip(la, lb, strict=True))


def nearest_color(color: str, palette: Mapping[str, str]) -> str | None:
    """The key of `palette` (key → #rrggbb) whose colour is closest to `color` as eyes see it;
    ties go to the first key; None when `color` is not a hex colour."""
    wanted = parse_hex_color(color)
    if wanted is None:
        return None
    best: tuple[float, int, str] | None = None
    for index, (key, shade) in enumerate(palette.items()):
        rgb = parse_hex_color(shade)
        assert rgb is not None
        candidate = (_distance(wanted, rgb), index, key)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best is not None else None


def nearest_event_color(color: str) -> str | None:
    """The colorId whose background is closest to `color`; None when `color` is not a hex color."""
    return nearest_color(
        color, {color_id: background for color_id, (background, _name) in EVENT_COLORS.items()}
    )
