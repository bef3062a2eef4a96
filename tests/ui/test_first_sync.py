"""A calendar connected while the real sync engine runs on the app's qasync loop: the first sync.

The loop, the runner and the engine are the ones `app.main.run_desktop` builds; the Google sign-in
runs against the in-process provider sandbox with a scripted system browser. The engine's poll is
pushed out of reach, so only the connect dialog's own read requests can read the new calendars.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import qasync
from PySide6.QtWidgets import QApplication

import ui.signin
from app.domain.model import BusySource, Provider, Technician
from app.main import DesktopSync, build_sync_engine, connector_factory
from app.services.container import Services
from sync.providers.endpoints import read_endpoints
from sync.providers.secrets import TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.accounts.conftest import add_sandbox_account, keyring_problem, token_store
from tests.sandbox.conftest import control, sandbox
from tests.ui.test_signin import GOOGLE, alex, db
from ui.signin import ConnectDialog, ConnectionSetup, Stage
from ui.sync_runner import SyncRunner
from ui.worker import DatabaseWorker

__all__ = ["alex", "control", "db", "keyring_problem", "sandbox", "token_store"]

pytestmark = pytest.mark.keyring

# The tech's dentist appointment on the phone, the day after the fixed clock (Wed 4 Nov 2026).
DENTIST_START = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)
DENTIST_END = DENTIST_START + timedelta(hours=1)
WAIT_S = 30.0
ENGINE_THREADS = ("crewboard-sync", "crewboard-google")


@pytest.fixture
def loop(styled_app: QApplication) -> Iterator[qasync.QEventLoop]:
    """The asyncio loop over the test's (styled) QApplication, as `run_desktop` sets it up."""
    event_loop = qasync.QEventLoop(styled_app)
    asyncio.set_event_loop(event_loop)
    try:
        with event_loop:
            yield event_loop
    finally:
        asyncio.set_event_loop(None)


@pytest.fixture
def runner(services: Services, token_store: TokenStore) -> SyncRunner:
    """The desktop's runner over the real engine, whose own poll never comes during a test."""
    desktop = build_sync_engine(services, token_store)
    assert isinstance(desktop, DesktopSync)
    desktop.engine.poll_seconds = 3600.0  # reads happen only when the dialog asks for them
    return SyncRunner(desktop)


async def until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Let the loop run until `condition()` holds; fail naming `what` if it never does."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


def run_with_sync(
    loop: qasync.QEventLoop, runner: SyncRunner, scenario: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Run `scenario` on the loop with sync started, then stop sync as the app does on close."""

    async def main() -> None:
        runner.start()
        try:
            await scenario()
        finally:
            await runner.wait_stopped()

    stopped: list[bool] = []
    runner.stopped.connect(lambda: stopped.append(True))
    before = set(threading.enumerate())
    loop.run_until_complete(main())
    assert stopped == [True] and not runner.running
    # The engine's database thread and the account's provider thread end with it.
    left = [t.name for t in set(threading.enumerate()) - before if t.name.startswith(ENGINE_THREADS)]
    assert left == []


@dataclass(frozen=True)
class Office:
    """The office computer of these tests: the app's loop and sync, the sandbox, a tech to connect."""

    qtbot: Any
    loop: qasync.QEventLoop
    runner: SyncRunner
    sandbox: Sandbox
    control: httpx.Client
    token_store: TokenStore
    services: Services
    alex: Technician
    db: DatabaseWorker

    def connect_dialog(self) -> ConnectDialog:
        """Alex's Google connect dialog, shown, with the scripted browser approving as Alex."""
        setup = ConnectionSetup(
            make_connector=connector_factory(self.sandbox.urls.control, self.token_store),
            sandbox=True,
            sync=self.runner,
            open_url=SandboxApprover(GOOGLE, read_endpoints(self.sandbox.urls.control).ca),
        )
        dialog = ConnectDialog(self.services, self.db, setup, self.alex, Provider.GOOGLE, sandbox=True)
        self.qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    def run(self, scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
        run_with_sync(self.loop, self.runner, scenario)

    def alex_blocks(self) -> list[tuple[datetime, datetime]]:
        """Alex's calendar busy time on the dentist's day."""
        return calendar_blocks(self.services, self.alex, DENTIST_START.date())


@pytest.fixture
def office(
    qtbot: Any,
    loop: qasync.QEventLoop,
    runner: SyncRunner,
    sandbox: Sandbox,
    control: httpx.Client,
    token_store: TokenStore,
    services: Services,
    alex: Technician,
    db: DatabaseWorker,
) -> Office:
    return Office(qtbot, loop, runner, sandbox, control, token_store, services, alex, db)


def seed_event(control: httpx.Client, summary: str, start: datetime, calendar: str | None = None) -> None:
    """An event the tech made on the phone, one hour long; `calendar` None is the primary one."""
    body = {"summary": summary, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    if calendar is not None:
        body["calendar"] = calendar
    seeded = control.post(f"/accounts/{GOOGLE}/events", json=body)
    assert seeded.status_code == 201, seeded.text


def seed_dentist(control: httpx.Client) -> None:
    seed_event(control, "Dentist", DENTIST_START)


def calendar_blocks(services: Services, tech: Technician, day: date) -> list[tuple[datetime, datetime]]:
    busy = services.schedule.day(tech.id, day).busy
    return [(b.interval.start, b.interval.end) for b in busy if b.source is BusySource.CALENDAR]


def test_first_sync_reads_every_new_calendar_and_its_events_block_the_tech(
    office: Office, tmp_path: Path
) -> None:
    add_sandbox_account(office.control, "google", GOOGLE, "Alex Rivera", ("Family",))
    seed_dentist(office.control)
    # "Family" is connected as a calendar that does not block time: read, but no busy block.
    seed_event(office.control, "School play", DENTIST_START + timedelta(hours=3), calendar="Family")
    dialog = office.connect_dialog()
    stages: list[Stage] = []
    read_counts: list[int] = []
    dialog.stage_changed.connect(stages.append)
    dialog.progress.valueChanged.connect(read_counts.append)

    def shoot(stage: Stage) -> None:
        if stage in (Stage.FINISHING, Stage.FIRST_SYNC, Stage.DONE):
            layout = dialog.layout()
            assert layout is not None
            layout.activate()  # the new message's height, before the grab
            assert dialog.grab().save(str(tmp_path / f"connect-{stage.value}.png"))

    dialog.stage_changed.connect(shoot)
    assert office.alex_blocks() == []

    async def scenario() -> None:
        assert office.runner.running
        dialog.start()
        await until(lambda: dialog.stage is Stage.DONE, "the first sync to finish")

    office.run(scenario)

    assert stages[-3:] == [Stage.FINISHING, Stage.FIRST_SYNC, Stage.DONE]
    assert (dialog.progress.value(), dialog.progress.maximum()) == (2, 2)
    assert dialog.progress.text() == "2 of 2 calendars read"
    assert read_counts[-1] == 2
    assert dialog.message.text() == (
        f"Connected {GOOGLE}. Its events now block Alex Rivera's time on the board, "
        "except those in “Family”: that calendar is set not to block time."
    )
    assert office.alex_blocks() == [(DENTIST_START, DENTIST_END)]
    dialog.close()


def test_a_failing_first_read_ends_in_taking_longer_and_shows_what_was_read(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The primary calendar's read fails; the dialog still ends, saying the read carries on."""
    monkeypatch.setattr(ui.signin, "FIRST_SYNC_LIMIT_MS", 3_600_000)
    add_sandbox_account(office.control, "google", GOOGLE, "Alex Rivera", ("Family",))
    seed_dentist(office.control)
    dialog = office.connect_dialog()

    def fail_next_read(_view: object) -> None:
        # Saved, not yet asked to read: the engine's first request for the account (renewing its
        # access, then httplib2's one retry) meets a reset connection, so the primary calendar's
        # read fails; calendars are read primary first, and the next one renews and reads fine.
        added = office.control.post(
            "/faults", json={"kind": "reset", "provider": "google", "account": GOOGLE, "count": 2}
        )
        assert added.status_code == 201, added.text

    dialog.connected.connect(fail_next_read)

    def family_read() -> bool:
        return any(c.name == "Family" and c.sync_cursor for c in office.services.accounts.list()[0].calendars)

    async def scenario() -> None:
        dialog.start()
        await until(lambda: dialog.stage is Stage.FIRST_SYNC, "the first sync to start")
        await until(
            lambda: bool(office.services.accounts.list()) and family_read(), "the second calendar's read"
        )
        assert dialog.stage is Stage.FIRST_SYNC  # the primary calendar is still unread
        # While it waits, the dialog says the read failed and will be tried again.
        await until(lambda: "The last try failed (" in dialog.message.text(), "news of the failed read")
        assert dialog.message.text().endswith("; Crewboard tries again shortly.")
        monkeypatch.setattr(ui.signin, "FIRST_SYNC_LIMIT_MS", 0)  # the wait runs out now
        await until(lambda: dialog.stage is Stage.DONE, "the dialog to stop waiting")

    office.run(scenario)

    assert dialog.message.text() == (
        f"Connected {GOOGLE}. The first read is taking longer than usual; it carries on in the background."
    )
    assert dialog.progress.text() == "1 of 2 calendars read"
    assert office.alex_blocks() == []  # the primary was not read
    dialog.close()


def test_a_sign_in_withdrawn_before_the_first_read_says_to_reconnect_at_once(office: Office) -> None:
    """Waiting out the first-sync limit would help nobody: nothing is read until the tech signs in again."""
    add_sandbox_account(office.control, "google", GOOGLE, "Alex Rivera")
    dialog = office.connect_dialog()

    def withdraw(_view: object) -> None:
        # Saved, not yet read: the tech withdraws Crewboard's access in their Google account.
        revoked = office.control.post(f"/accounts/{GOOGLE}/revoke")
        assert revoked.status_code < 300, revoked.text
        expired = office.control.post(f"/accounts/{GOOGLE}/expire-access")
        assert expired.status_code < 300, expired.text

    dialog.connected.connect(withdraw)

    async def scenario() -> None:
        dialog.start()
        await until(lambda: dialog.stage is Stage.DONE, "the dialog to stop waiting")

    office.run(scenario)

    assert dialog.message.text() == (
        f"Connected {GOOGLE}, but Google stopped Crewboard from reading it: the sign-in was withdrawn "
        "or has expired. Use Reconnect in Calendar settings to sign in again."
    )
    assert dialog.progress.text() == "0 of 1 calendars read"
    dialog.close()
