"""The sync engine: reads every calendar into the local mirror and carries the planner's writes out.

`SyncEngine` runs rounds; `inbound` stores what a calendar says (with `busy_blocks` and
`overlaps`), `outbound` plans and writes each booking whose outbox row is due (with
`booking_state`, `write_records` and `tech_edits`), `lock` keeps one engine per store.
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
