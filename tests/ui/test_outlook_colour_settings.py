"""Colour on Outlook from the desktop: Technicians ▸ Office settings…, then a tech's own switch.

Over the running demo (real sandbox, real keyring, real store): turning a tech's switch on signs
them in again in the real embedded web view, asking the sandbox's Microsoft identity server for
MailboxSettings.ReadWrite too; the tech allows it or cancels on the consent page itself.
"""

from __future__ import annotations

import os

os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")

from urllib.parse import parse_qs

import pytest
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from app.demo import DemoSession
from app.domain.model import Provider
from app.services.job_links import OfficeSettingsService
from app.services.outlook_colour import OutlookColourService
from tests.accounts.conftest import keyring_problem, token_store
from tests.ui.test_settings import SHOTS, board, demo, open_by_double_click, settings_entry, tech
from ui.main_window import MainWindow
from ui.settings.dialog import CalendarSettingsDialog
from ui.settings.office_dialog import OfficeSettingsDialog
from ui.signin import ConnectDialog, ConnectionSetup, Stage

__all__ = ["board", "demo", "keyring_problem", "token_store"]

pytestmark = [pytest.mark.keyring, pytest.mark.webengine]


def colour_of(demo: DemoSession) -> OutlookColourService:
    return OutlookColourService(demo.services.uow, demo.services.clock)


def turn_office_colour_on(qtbot: QtBot, win: MainWindow) -> OfficeSettingsDialog:
    entry = settings_entry(win)
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Technicians")
    assert isinstance(menu, QMenu) and entry.office_action in menu.actions()
    entry.office_action.trigger()
    dialog = entry.office_dialog
    assert dialog is not None and not dialog.colour.isEnabled()
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        pass  # the load started when the dialog opened; its answer arrives through the event loop
    assert dialog.phone.text() == "" and not dialog.colour.isChecked() and dialog.colour.isEnabled()
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        dialog.colour.click()
    assert saved.args == ["Outlook techs can now turn on their colour in Calendar settings."]
    return dialog


def start_colour_sign_in(qtbot: QtBot, settings: CalendarSettingsDialog) -> ConnectDialog:
    row = settings.outlook_colour
    qtbot.waitUntil(lambda: row.isVisible() and row.switch.isEnabled(), timeout=10_000)
    assert not row.switch.isChecked()
    assert "ask Casey Nguyen to allow Crewboard to manage their categories" in row.hint.text()
    row.switch.click()
    qtbot.waitUntil(lambda: row.connect_dialog is not None, timeout=10_000)
    sign_in = row.connect_dialog
    assert sign_in is not None and sign_in.provider is Provider.MICROSOFT
    qtbot.waitUntil(lambda: sign_in.stage is Stage.WEB_PAGE, timeout=20_000)
    assert 'only to add one category, "Crewboard jobs"' in sign_in.message.text()  # why, before asking
    view = sign_in.web_view
    assert view is not None
    qtbot.waitUntil(lambda: "scope=" in view.url().query(), timeout=20_000)
    scopes = parse_qs(view.url().query())["scope"][0].split()
    assert "MailboxSettings.ReadWrite" in scopes and "Calendars.ReadWrite" in scopes
    qtbot.waitUntil(lambda: not view.page().isLoading(), timeout=20_000)
    return sign_in


def test_office_allows_colour_and_an_outlook_tech_allows_the_permission(
    qtbot: QtBot, demo: DemoSession, board: tuple[MainWindow, ConnectionSetup], qapp: QApplication
) -> None:
    win, _setup = board
    office = turn_office_colour_on(qtbot, win)
    office.phone.setText("(312) 555-0142")
    with qtbot.waitSignal(office.saved, timeout=10_000) as saved:
        office.save_button.click()
    assert saved.args == ["Office number saved: (312) 555-0142."]
    assert OfficeSettingsService(demo.services.uow, demo.services.clock).phone() == "(312) 555-0142"
    assert colour_of(demo).office_enabled()
    for _ in range(3):
        qapp.processEvents()
    assert office.grab().save(str(SHOTS / "settings-office.png"))
    office.close()

    casey = tech(demo, "Casey Nguyen")
    settings = open_by_double_click(qtbot, win, casey)
    (account,) = [v.account for v in settings.views]
    sign_in = start_colour_sign_in(qtbot, settings)
    assert colour_of(demo).tech_enabled(casey.id)  # the wish is kept while the tech answers
    accept = (
        f"document.querySelector('input[name=account][value=\"{account.email}\"]').checked = true;"
        "document.querySelector('button[value=accept]').click(); true;"
    )
    row = settings.outlook_colour
    with qtbot.waitSignal(row.settled, timeout=30_000) as settled:
        sign_in.web_view.page().runJavaScript(accept)  # type: ignore[union-attr]
    assert settled.args == [True]
    assert row.switch.isChecked() and not row.note.isVisible()
    held = demo.store.load(account.token_ref)
    assert held is not None and held["extra_scopes"] == ["MailboxSettings.ReadWrite"]
    assert colour_of(demo).wanted_for(casey.id)
    qtbot.waitUntil(lambda: sign_in.stage is Stage.DONE or sign_in.stage is Stage.FIRST_SYNC, timeout=10_000)
    sign_in.close()
    qtbot.waitUntil(lambda: row.isVisible() and row.switch.isChecked(), timeout=10_000)
    for _ in range(3):
        qapp.processEvents()
    assert settings.grab().save(str(SHOTS / "settings-outlook-colour.png"))


def test_a_tech_who_declines_the_permission_sees_the_switch_go_back_off(
    qtbot: QtBot, demo: DemoSession, board: tuple[MainWindow, ConnectionSetup]
) -> None:
    win, _setup = board
    turn_office_colour_on(qtbot, win).close()
    casey = tech(demo, "Casey Nguyen")
    settings = open_by_double_click(qtbot, win, casey)
    (account,) = [v.account for v in settings.views]
    before = demo.store.load(account.token_ref)
    sign_in = start_colour_sign_in(qtbot, settings)
    row = settings.outlook_colour
    with qtbot.waitSignal(row.settled, timeout=30_000) as settled:
        sign_in.web_view.page().runJavaScript("document.querySelector('button[value=cancel]').click(); true;")  # type: ignore[union-attr]
    assert settled.args == [False]
    assert not row.switch.isChecked() and row.switch.isEnabled()
    assert row.note.text() == (
        "Casey Nguyen did not allow Outlook to let Crewboard manage categories, so the switch is off and "
        "their jobs keep the calendar's colour."
    )
    qtbot.waitUntil(lambda: not colour_of(demo).tech_enabled(casey.id), timeout=10_000)
    assert demo.store.load(account.token_ref) == before  # sync keeps the sign-in it had
    sign_in.close()
