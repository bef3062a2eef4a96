"""The database worker and the bus bridge: work off the GUI thread, results and events back on it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject

from app.bus import BookingChanged, Bus, TechsChanged
from app.domain.ids import BookingId, TechId
from app.errors import InvalidInput
from ui.bridge import BusBridge
from ui.worker import DatabaseWorker, set_log_path


@pytest.fixture
def worker(qapp):  # type: ignore[no-untyped-def]
    made = DatabaseWorker()
    yield made
    made.shutdown()
    made.deleteLater()


def test_calls_run_off_the_gui_thread_and_results_come_back_on_it(qtbot, worker: DatabaseWorker) -> None:  # type: ignore[no-untyped-def]
    gui = threading.get_ident()
    seen: dict[str, int] = {}

    def done(ran_on: int) -> None:
        seen["ran_on"] = ran_on
        seen["delivered_on"] = threading.get_ident()

    with qtbot.waitSignal(worker.job_finished, timeout=5000):
        worker.run(threading.get_ident, on_done=done)
    assert seen["ran_on"] != gui
    assert seen["delivered_on"] == gui
    assert worker.pending == 0


def test_calls_run_one_at_a_time_in_order(qtbot, worker: DatabaseWorker) -> None:  # type: ignore[no-untyped-def]
    results: list[int] = []
    threads: set[int] = set()

    def job(n: int) -> int:
        threads.add(threading.get_ident())
        return n

    for n in range(20):
        worker.run(lambda n=n: job(n), on_done=results.append)
    qtbot.waitUntil(lambda: len(results) == 20, timeout=5000)
    assert results == list(range(20))
    assert len(threads) == 1


def test_expected_errors_reach_the_user_as_their_own_sentence(qtbot, worker: DatabaseWorker) -> None:  # type: ignore[no-untyped-def]
    def fail() -> None:
        raise InvalidInput("Duration must be more than zero minutes.")

    with qtbot.waitSignal(worker.error_reported, timeout=5000) as signal:
        worker.run(fail)
    assert signal.args == ["Duration must be more than zero minutes."]


def test_bugs_are_logged_with_traceback_and_reported_briefly(
    qtbot, worker: DatabaseWorker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    log_path = tmp_path / "crewboard.log"
    handler = logging.FileHandler(log_path)
    root = logging.getLogger()
    # Other tests may have configured a log file already; this test names its own.
    others = [h for h in root.handlers if getattr(h, "baseFilename", None)]
    for other in others:
        root.removeHandler(other)
    root.addHandler(handler)
    try:

        def broken() -> None:
            raise KeyError("nope")

        with (
            caplog.at_level(logging.ERROR),
            qtbot.waitSignal(worker.failure_reported, timeout=5000) as signal,
        ):
            worker.run(broken)
    finally:
        root.removeHandler(handler)
        handler.close()
        for other in others:
            root.addHandler(other)
    assert signal.args == [f"Something went wrong; details are in the log at {log_path}."]
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
    assert "KeyError: 'nope'" in log_path.read_text()


def test_an_error_handler_gets_the_exception_instead(qtbot, worker: DatabaseWorker) -> None:  # type: ignore[no-untyped-def]
    got: list[BaseException] = []
    reported: list[str] = []
    worker.error_reported.connect(reported.append)
    with qtbot.waitSignal(worker.job_finished, timeout=5000):
        worker.run(lambda: 1 / 0, on_error=got.append)
    assert isinstance(got[0], ZeroDivisionError)
    assert reported == []


def test_callbacks_for_a_deleted_screen_are_dropped(qtbot, worker: DatabaseWorker) -> None:  # type: ignore[no-untyped-def]
    screen = QObject()
    called: list[object] = []
    gate = threading.Event()
    worker.run(lambda: gate.wait(5), on_done=called.append, context=screen)
    screen.deleteLater()
    qtbot.waitUntil(lambda: not _alive(screen), timeout=5000)
    with qtbot.waitSignal(worker.job_finished, timeout=5000):
        gate.set()
    assert called == []


def _alive(obj: QObject) -> bool:
    from shiboken6 import isValid

    return isValid(obj)


def test_bus_events_from_another_thread_arrive_as_signals_on_the_gui_thread(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    bus = Bus()
    bridge = BusBridge(bus)
    received: list[tuple[object, int]] = []
    bridge.booking_changed.connect(lambda e: received.append((e, threading.get_ident())))
    event = BookingChanged(BookingId("b" * 32), (TechId("t" * 32),), "moved")
    with qtbot.waitSignal(bridge.board_changed, timeout=5000):
        publisher = threading.Thread(target=bus.publish, args=(event,))
        publisher.start()
        publisher.join()
    assert received == [(event, threading.get_ident())]
    with qtbot.waitSignal(bridge.techs_changed, timeout=5000) as signal:
        bus.publish(TechsChanged((TechId("t" * 32),)))
    assert isinstance(signal.args[0], TechsChanged)
    bridge.close()
    bus.publish(event)
    qapp.processEvents()
    assert len(received) == 1
    bridge.deleteLater()


def test_the_configured_log_file_is_named(qtbot, worker: DatabaseWorker, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    set_log_path(str(tmp_path / "app.log"))
    try:
        with qtbot.waitSignal(worker.failure_reported, timeout=5000) as signal:
            worker.run(lambda: [][1])
    finally:
        set_log_path(None)
    assert signal.args == [f"Something went wrong; details are in the log at {tmp_path / 'app.log'}."]
