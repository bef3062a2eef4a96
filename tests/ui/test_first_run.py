"""The first run: an empty store gets a welcome with three paths, and each path does what it says.

Screenshots of the welcome, the technicians dialog (with a row it refuses) and the "Connect
calendars" page go to docs/screenshots/ for the README.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.domain.ids import TechId
from app.main import connector_factory
from app.services.container import Services
from storage.database import database_url
from storage.store_choice import save_store_url
from tests.ui.conftest import OFFICE
from tests.ui.test_screenshots import save, settle
from ui.first_run import AddTechniciansDialog, FirstRun, FirstRunActions, OfficeStoreDialog, attach_first_run
from ui.main_window import MainWindow
from ui.settings import CalendarSettingsDialog, open_calendar_settings
from ui.signin import ConnectionSetup


class Recorder:
    def __init__(self, settings: Path) -> None:
        self.settings = settings
        self.demos = 0
        self.demo_error: OSError | None = None

    def start_demo(self) -> None:
        if self.demo_error is not None:
            raise self.demo_error
        self.demos += 1

    def save_store(self, url: str) -> Path:
        return save_store_url(url, self.settings)


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(tmp_path / "config" / "settings.toml")


@pytest.fixture
def empty_window(
    qtbot, services: Services, styled_app: QApplication, recorder: Recorder
) -> Iterator[tuple[MainWindow, FirstRun]]:  # type: ignore[no-untyped-def]
    """The main window over a store with no technicians, with the first run attached as the app does."""
    win = MainWindow(services, office_zone=OFFICE)
    qtbot.addWidget(win)
    setup = ConnectionSetup(make_connector=connector_factory(None, None))
    first_run = attach_first_run(
        win,
        FirstRunActions(
            start_demo=recorder.start_demo,
            save_store=recorder.save_store,
            open_calendar=lambda tech_id: open_calendar_settings(win, setup, tech_id),
        ),
    )
    win.resize(1280, 760)
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.show()
    yield win, first_run
    win.close()


def fill(dialog: AddTechniciansDialog, index: int, name: str, email: str, zone: str, hours: str) -> None:
    row = dialog.rows[index]
    row.name.setText(name)
    row.email.setText(email)
    row.zone.setCurrentText(zone)
    row.hours.setText(hours)


def test_an_empty_store_offers_three_ways_to_start(qtbot, styled_app, empty_window) -> None:  # type: ignore[no-untyped-def]
    win, first_run = empty_window
    panel = first_run.panel
    assert panel.isVisible()
    assert panel.geometry() == win.board.rect()
    assert [b.text() for b in panel.buttons.values()] == ["Open the demo", "Add technicians…", "Connect…"]
    settle(styled_app)
    save(win, "first-run.png")


def test_try_the_demo_starts_it_and_says_so(qtbot, empty_window, recorder: Recorder) -> None:  # type: ignore[no-untyped-def]
    win, first_run = empty_window
    first_run.panel.buttons["demo"].click()
    assert recorder.demos == 1
    assert "demo opens in a window of its own" in win.banner.text
    recorder.demo_error = FileNotFoundError(2, "No such file or directory")
    first_run.panel.buttons["demo"].click()
    assert win.banner.text == "The demo could not be started (No such file or directory)."


def test_add_technicians_checks_each_row_then_offers_their_calendars(  # type: ignore[no-untyped-def]
    qtbot, styled_app, empty_window, services: Services
) -> None:
    win, first_run = empty_window
    first_run.panel.buttons["techs"].click()
    dialog = first_run.dialog
    assert isinstance(dialog, AddTechniciansDialog)
    qtbot.waitExposed(dialog)
    fill(dialog, 0, "Maria Lopez", "maria@example.com", "America/Chicago", "mon-fri 08:00-17:00")
    fill(dialog, 1, "Sam Reed", "sam.example.com", "America/Los_Angeles", "mon-fri 07:00-15:00")
    fill(dialog, 2, "Maria  Lopez", "m2@example.com", "America/Chicago", "mon-sat 09:00-18:00")
    dialog.add_row()
    fill(dialog, 3, "Ana Ortiz", "ana@example.com", "America/Denver", "mon-fri 9-5")
    dialog.save_button.click()
    errors = [row.error.text() for row in dialog.rows]
    assert errors[0] == ""
    assert errors[1] == "Enter an e-mail address, like dana@example.com."
    assert errors[2].startswith("There is already a technician called Maria Lopez")
    assert "mon-fri 9-5" in errors[3]
    assert services.techs.list() == []  # nothing is saved while any row is wrong
    settle(styled_app)
    save(dialog, "first-run-techs.png")

    fill(dialog, 1, "Sam Reed", "sam@example.com", "America/Los_Angeles", "mon-fri 07:00-15:00")
    dialog.remove_row(dialog.rows[2])
    fill(dialog, 2, "Ana Ortiz", "ana@example.com", "America/Denver", "mon-fri 09:00-17:00; sat 09:00-12:00")
    dialog.add_row()  # an empty row is skipped, not refused
    with qtbot.waitSignal(dialog.added, timeout=10_000) as added:
        dialog.save_button.click()
    names = [t.name for t in added.args[0]]
    assert names == ["Maria Lopez", "Sam Reed", "Ana Ortiz"]
    saved = {t.name: t for t in services.techs.list()}
    assert saved["Sam Reed"].timezone == "America/Los_Angeles"
    assert str(saved["Ana Ortiz"].hours) != str(saved["Maria Lopez"].hours)
    assert dialog.pages.currentIndex() == 1

    qtbot.waitUntil(lambda: not first_run.panel.isVisible(), timeout=10_000)  # the board took over
    assert sorted(t.name for t in win.techs()) == ["Ana Ortiz", "Maria Lopez", "Sam Reed"]
    settle(styled_app)
    save(dialog, "first-run-connect.png")

    buttons = dialog.connect_buttons()
    assert len(buttons) == 3
    sam = saved["Sam Reed"].id
    buttons[TechId(sam)].click()
    settings = win.findChild(CalendarSettingsDialog)
    assert settings is not None and settings.isVisible()
    current = settings.tech
    assert current is not None and current.id == sam
    settings.close()
    dialog.accept()


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the office store's address"),
        ("mysql://office/crewboard", "PostgreSQL address starting postgresql://"),
        ("postgresql:///crewboard", "Name the server"),
        ("postgresql://dispatch@office-server", "Name the database"),
        ("postgresql://dispatch:hunter2@office-server/crewboard", "Leave the password out"),
        ("postgresql://office-server:port/crewboard", "must be a number"),
    ],
)
def test_office_store_refuses_what_cannot_work(  # type: ignore[no-untyped-def]
    qtbot, empty_window, recorder: Recorder, typed: str, says: str
) -> None:
    _win, first_run = empty_window
    dialog = first_run.open_office_store()
    dialog.url_edit.setText(typed)
    dialog.save_button.click()
    assert says in dialog.url_error.text()
    assert not recorder.settings.exists()
    assert "hunter2" not in dialog.url_error.text()


def test_office_store_is_saved_for_the_next_start(  # type: ignore[no-untyped-def]
    qtbot, styled_app, empty_window, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    win, first_run = empty_window
    monkeypatch.setenv("HOME", str(recorder.settings.parents[1]))  # the dialog shows ~/config/…
    recorder.settings.parent.mkdir(parents=True)
    recorder.settings.write_text('[notifications]\ndispatcher_email = "d@example.com"\n', "utf-8")
    first_run.panel.buttons["office"].click()
    dialog = first_run.dialog
    assert isinstance(dialog, OfficeStoreDialog)
    dialog.url_edit.setText("postgresql://dispatch@office-server:5432/crewboard")
    with qtbot.waitSignal(dialog.saved, timeout=1000):
        dialog.save_button.click()
    assert dialog.done_label.text().startswith("Saved in ~/config/settings.toml. Restart Crewboard")
    assert "Restart Crewboard" in win.banner.text
    text = recorder.settings.read_text("utf-8")
    assert 'dispatcher_email = "d@example.com"' in text
    assert 'url = "postgresql://dispatch@office-server:5432/crewboard"' in text
    settle(styled_app)
    save(dialog, "first-run-office.png")
    # The next start opens it: database_url reads the desk's settings after --db and CREWBOARD_DB.
    monkeypatch.delenv("CREWBOARD_DB", raising=False)
    monkeypatch.setattr("storage.store_choice.settings_file", lambda: recorder.settings)
    assert database_url(None) == "postgresql+psycopg://dispatch@office-server:5432/crewboard"
    dialog.accept()


def test_the_welcome_stays_away_once_there_are_technicians(  # type: ignore[no-untyped-def]
    qtbot, services: Services, styled_app: QApplication, recorder: Recorder
) -> None:
    services.techs.add("Luis Diaz", "luis@example.com", OFFICE)
    win = MainWindow(services, office_zone=OFFICE)
    qtbot.addWidget(win)
    first_run = attach_first_run(
        win, FirstRunActions(recorder.start_demo, recorder.save_store, open_calendar=lambda _tech: None)
    )
    with qtbot.waitSignal(win.snapshot_applied, timeout=10_000):
        win.show()
    assert not first_run.panel.isVisible()
    first_run.add_several_action.trigger()  # Technicians ▸ Add several technicians… opens the same dialog
    dialog = first_run.dialog
    assert isinstance(dialog, AddTechniciansDialog) and dialog.isVisible()
    dialog.rows[0].name.setText("Luis Diaz")
    dialog.rows[0].email.setText("luis2@example.com")
    dialog.save_button.click()
    assert dialog.rows[0].error.text().startswith("There is already a technician called Luis Diaz")
    dialog.reject()
    win.close()
