"""Runs the calendar sync engine in the background of the desktop app, on the Qt/asyncio loop.

The composition root builds the engine (sync.engine.SyncEngine) and hands it in; the ui sees only
`SyncControl`: start, stop, and "read this calendar now". The engine's rounds are coroutines on
the qasync loop the window already runs; its database and HTTP work happens on its own threads,
so the board never waits for a provider.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from app.domain.ids import CalendarId

log = logging.getLogger(__name__)


class SyncEngineLike(Protocol):
    """What the runner needs from sync.engine.SyncEngine."""

    def run_forever(self, stop: asyncio.Event) -> Awaitable[None]: ...
    def request_read(self, calendar_id: CalendarId) -> None: ...
    def aclose(self) -> Awaitable[None]: ...


class SyncControl(Protocol):
    """What screens may do with background sync."""

    @property
    def running(self) -> bool: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def request_read(self, calendar_id: CalendarId) -> None: ...


class SyncRunner(QObject):
    """Owns the engine's task on the running asyncio loop; `stopped` fires once it has wound down."""

    started = Signal()
    stopped = Signal()
    failed = Signal(str)  # the engine stopped on an unexpected error (details are in the log)

    def __init__(self, engine: SyncEngineLike, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start syncing on the current event loop (qasync's, in the app). Idempotent."""
        if self.running:
            return
        loop = asyncio.get_event_loop()
        self._stop = asyncio.Event()
        self._task = loop.create_task(self._run(self._stop), name="crewboard-sync")
        self.started.emit()

    async def _run(self, stop: asyncio.Event) -> None:
        try:
            await self._engine.run_forever(stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("calendar sync stopped on an unexpected error")
            self.failed.emit("Calendar sync stopped on an unexpected error; details are in the log.")
        finally:
            with contextlib.suppress(Exception):
                await self._engine.aclose()
            self.stopped.emit()

    def stop(self) -> None:
        """Ask the engine to finish its current step and stop; `stopped` follows."""
        if self._stop is not None:
            self._stop.set()

    async def wait_stopped(self, timeout: float = 15.0) -> None:
        """Stop and wait until the engine released its lock and connections (cancels after `timeout`)."""
        self.stop()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            log.warning("calendar sync did not stop within %s s; cancelling it", timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        except Exception:
            log.exception("calendar sync failed while stopping")

    def request_read(self, calendar_id: CalendarId) -> None:
        self._engine.request_read(calendar_id)
