"""The two-way sync engine: reads every calendar into the local mirror, writes bookings out.

`SyncEngine` is the entry point; `inbound` stores what the calendars say, `outbound` runs the
planner over bookings whose writes are due, `lock` keeps one engine per database.
"""

from __future__ import annotations

from sync.engine.engine import SyncEngine
from sync.engine.errors import EngineLocked, SyncError
from sync.engine.ports import HealthRecorder, StoreHealthRecorder
from sync.engine.round_report import AccountReport, RoundReport

__all__ = [
    "AccountReport",
    "EngineLocked",
    "HealthRecorder",
    "RoundReport",
    "StoreHealthRecorder",
    "SyncEngine",
    "SyncError",
]
