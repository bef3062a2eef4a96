"""Per-technician calendar settings: connected accounts, which calendars block time, and a preview."""

from __future__ import annotations

from ui.settings.dialog import CalendarSettingsDialog
from ui.settings.entry import attach_calendar_settings, open_calendar_settings

__all__ = ["CalendarSettingsDialog", "attach_calendar_settings", "open_calendar_settings"]
