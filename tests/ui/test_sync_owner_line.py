"""The health window names who owns calendar sync, as the store records it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtWidgets import QApplication

from app.domain.time import FixedClock, zone
from app.services.container import Services
from app.services.sync_owner import QUIET_AFTER
from sync.engine.lock import EngineLock
from tests.ui.conftest import OFFICE
from ui.bridge import BusBridge
from ui.health_panel import SyncHealthDialog
from ui.sync_owner_line import NOBODY
from ui.worker import DatabaseWorker

HELD: list[object] = []  # released after the worker stopped (see test_health_panel)


@pytest.fixture
def bridge(qtbot, services: Services, styled_app: QApplication) -> Iterator[BusBridge]:  # type: ignore[no-untyped-def]
    b = BusBridge(services.bus)
    yield b
    b.close()


@pytest.fixture
def worker(qtbot) -> Iterator[DatabaseWorker]:  # type: ignore[no-untyped-def]
    w = DatabaseWorker()
    yield w
    w.shutdown()
    HELD.clear()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_owner_is_named_with_host_pid_and_since_and_a_silent_one_in_red(  # type: ignore[no-untyped-def]
    qtbot, services: Services, clock: FixedClock, worker: DatabaseWorker, bridge: BusBridge
) -> None:
    dialog = SyncHealthDialog(services, worker, bridge, zone(OFFICE))
    HELD.append(dialog)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.report_applied, timeout=10_000):
        dialog.show()
    line = dialog.owner_line
    qtbot.waitUntil(lambda: line.text() == NOBODY, timeout=10_000)
    assert line.property("alarm") is True

    lock = EngineLock(services.uow, clock, "crewboard serve", pid=4242, host="office-pc")
    lock.acquire()
    since = clock.now().astimezone(zone(OFFICE))
    dialog.refresh()
    qtbot.waitUntil(lambda: line.owner is not None, timeout=10_000)
    assert line.text() == (
        f"Calendar sync is owned by crewboard serve (pid 4242 on host office-pc) since {since:%a %d %b %H:%M}."
    )
    assert line.property("alarm") is False

    clock.current += QUIET_AFTER + timedelta(seconds=1)
    dialog.refresh()
    qtbot.waitUntil(lambda: line.owner is not None and line.owner.quiet, timeout=10_000)
    assert line.text().endswith(f"not heard from since {since:%H:%M}, so it may be gone.")
    assert line.property("alarm") is True
    lock.release()
