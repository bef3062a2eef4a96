"""Outlook's category colours, and the one category that colours a tech's Crewboard jobs.

Graph's `categoryColor` is one of 25 presets (plus `none`); each Outlook client draws a preset in
its own shade, so the shades below are approximations of the desktop client's, used only to pick
the preset nearest a tech's colour (preset names as Microsoft documents them for outlookCategory).
"""

from __future__ import annotations

from sync.providers.google_colors import nearest_color

PRESETS: dict[str, tuple[str, str]] = {
    "preset0": ("#e74856", "Red"),
    "preset1": ("#ff8c00", "Orange"),
    "preset2": ("#ab620d", "Brown"),
    "preset3": ("#fff100", "Yellow"),
    "preset4": ("#47d041", "Green"),
    "preset5": ("#30c6cc", "Teal"),
    "preset6": ("#73aa24", "Olive"),
    "preset7": ("#1e90ff", "Blue"),
    "preset8": ("#a05cc9", "Purple"),
    "preset9": ("#cf4f87", "Cranberry"),
    "preset10": ("#8aa3b0", "Steel"),
    "preset11": ("#4e6e7e", "Dark steel"),
    "preset12": ("#a5a5a5", "Gray"),
    "preset13": ("#6b6b6b", "Dark gray"),
    "preset14": ("#2b2b2b", "Black"),
    "preset15": ("#a4262c", "Dark red"),
    "preset16": ("#ca5010", "Dark orange"),
    "preset17": ("#8e562e", "Dark brown"),
    "preset18": ("#c19c00", "Dark yellow"),
    "preset19": ("#107c10", "Dark green"),
    "preset20": ("#038387", "Dark teal"),
    "preset21": ("#5c7e10", "Dark olive"),
    "preset22": ("#004e8c", "Dark blue"),
    "preset23": ("#5c2e91", "Dark purple"),
    "preset24": ("#960f4e", "Dark cranberry"),
}


def nearest_preset(color: str) -> str:
    """The preset nearest `color` (#rrggbb); "preset7" (blue, Crewboard's default) for anything else."""
    return nearest_color(color, {name: shade for name, (shade, _label) in PRESETS.items()}) or "preset7"
