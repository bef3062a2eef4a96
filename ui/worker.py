"""The database worker: one thread that runs every service call, so the GUI never blocks on I/O.

Calls run in submission order on a single thread (the store is used from one place at a time);
results and errors come back to the GUI thread through a queued signal. Expected failures
(`CrewboardError`) reach the user as their own sentence; anything else is a bug, logged with its
traceback and reported as one short sentence that points at the log.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel
from shiboken6 import isValid

from app.errors import CrewboardError

log = logging.getLogger(__name__)

DoneCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


_log_path: str | None = None


def set_log_path(path: str | None) -> None:
    """Name the log file in error sentences (the composition root knows where it writes)."""
    global _log_path
    _log_path = path


def log_file_path() -> str | None:
    """The configured log file, else the first file the root logger writes to, if any."""
    if _log_path:
        return _log_path
    for handler in logging.getLogger().handlers:
        filename = getattr(handler, "baseFilename", None)
        if isinstance(filename, str) and filename != os.devnull:
            return filename
    return None


def describe_unexpected() -> str:
    """The sentence a user sees for a bug: short, and where the details are."""
    path = log_file_path()
    where = f"the log at {path}" if path else "the application log"
    return f"Something went wrong; details are in {where}."


@dataclass(slots=True)
class _Outcome:
    job: int
    ok: bool
    value: Any
    on_done: DoneCallback | None
    on_error: ErrorCallback | None
    context: QObject | None


class DatabaseWorker(QObject):
    """Runs callables on one background thread and hands their outcome back to the GUI thread.

    `run(fn, on_done, on_error)` returns at once. `on_done(result)` or `on_error(exc)` is called on
    the GUI thread later. Without `on_error`, a `CrewboardError` is announced through
    `error_reported(message)` and any other exception through `failure_reported(message)` after
    being logged. Pass `context` (a widget) to drop the callbacks if it was deleted meanwhile.
    """

    error_reported = Signal(str)  # a user-facing sentence about an expected failure
    failure_reported = Signal(str)  # a bug: the short "details are in the log" sentence
    busy_changed = Signal(bool)
    job_finished = Signal(int)

    _outcome_ready = Signal(_Outcome)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crewboard-db")
        self._lock = threading.Lock()
        self._next_job = 0
        self._pending = 0
        self._closed = False
        self._outcome_ready.connect(self._on_self_outcome_ready, Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        """How many submitted calls have not yet delivered their outcome."""
        return self._pending

    def run(
        self,
        fn: Callable[[], Any],
        on_done: DoneCallback | None = None,
        on_error: ErrorCallback | None = None,
        context: QObject | None = None,
    ) -> int:
        """Run `fn()` on the worker thread; returns a job number that `job_finished` reports."""
        if self._closed:
            raise RuntimeError("the database worker has been shut down")
        self._next_job += 1
        job = self._next_job
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        future = self._pool.submit(fn)
        future.add_done_callback(lambda f: self._deliver(job, f, on_done, on_error, context))
        return job

    def shutdown(self) -> None:
        """Finish queued calls and stop the thread (their callbacks are not delivered)."""
        if self._closed:
            return
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=False)

    # --- delivery ------------------------------------------------------------------------------

    def _deliver(
        self,
        job: int,
        future: Future[Any],
        on_done: DoneCallback | None,
        on_error: ErrorCallback | None,
        context: QObject | None,
    ) -> None:
        # Runs on the worker thread: only hand the outcome over; the queued signal crosses threads.
        error = future.exception()
        outcome = _Outcome(
            job,
            error is None,
            future.result() if error is None else error,
            on_done,
            on_error,
            context,
        )
        if error is not None and not isinstance(error, CrewboardError):
            log.error("a background call failed", exc_info=(type(error), error, error.__traceback__))
        if isValid(self):
            self._outcome_ready.emit(outcome)

    @Slot(object)
    def _on_self_outcome_ready(self, outcome: _Outcome) -> None:
        self._pending -= 1
        try:
            if outcome.context is not None and not isValid(outcome.context):
                return
            if outcome.ok:
                if outcome.on_done is not None:
                    self._guard(outcome.on_done, outcome.value)
            elif outcome.on_error is not None:
                self._guard(outcome.on_error, outcome.value)
            else:
                self.report(outcome.value)
        finally:
            if self._pending == 0:
                self.busy_changed.emit(False)
            self.job_finished.emit(outcome.job)

    def report(self, error: BaseException) -> None:
        """Tell the user about `error` the standard way (used by callers' own error handlers too)."""
        if isinstance(error, CrewboardError):
            self.error_reported.emit(str(error))
        else:
            self.failure_reported.emit(describe_unexpected())

    def report_in(self, error: BaseException, form_error: QLabel) -> None:
        """A service's refusal goes in the form's own error line, where the person is looking;
        anything else (a bug) is reported the standard way."""
        if isinstance(error, CrewboardError):
            form_error.setText(str(error))
            form_error.show()
        else:
            self.report(error)

    def _guard(self, callback: Callable[[Any], None], value: Any) -> None:
        """Run a GUI callback; a bug in it is logged and reported instead of lost in the event loop."""
        try:
            callback(value)
        except Exception as exc:
            log.exception("a screen failed to handle a background result")
            self.report(exc)
