"""The desktop's "Connect iCloud / CalDAV": calendar settings → the dialog → a real Radicale.

The dialog is driven through its widgets (text typed, the button clicked) and waited on through
its signals; the connector is the one the composition root builds (app.main).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from app.domain.model import Provider
from app.main import caldav_connector_factory, connector_factory
from app.services.container import Services
from sync.providers.secrets import TokenStore
from tests.accounts.conftest import keyring_problem, token_store
from tests.caldav.harness import PASSWORD, USER, CaldavBackend
from ui.settings import CalendarSettingsDialog
from ui.settings.caldav_dialog import CALDAV_CONNECTOR, CaldavConnectDialog
from ui.signin import ConnectionSetup
from ui.worker import DatabaseWorker

__all__ = ["keyring_problem", "token_store"]

pytestmark = pytest.mark.keyring

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[CaldavBackend]:
    """A real Radicale with the tech's account, behind the tests' fault layer."""
    made = CaldavBackend(tmp_path / "radicale", hold=3.0)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def settings(  # type: ignore[no-untyped-def]
    qtbot, qapp: QApplication, services: Services, token_store: TokenStore
) -> Iterator[CalendarSettingsDialog]:
    from ui.style import apply_style

    apply_style(qapp)
    services.techs.add("Maria Lopez", USER, "America/Chicago")
    setup = ConnectionSetup(
        make_connector=connector_factory(None, token_store),
        extra={CALDAV_CONNECTOR: caldav_connector_factory(token_store)},
    )
    db = DatabaseWorker()
    dialog = CalendarSettingsDialog(services, db, setup, services.techs.list())
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=10_000):
        dialog.show()
    yield dialog
    dialog.close()
    db.shutdown()


def _open(qtbot, settings: CalendarSettingsDialog) -> CaldavConnectDialog:  # type: ignore[no-untyped-def]
    button = settings.findChild(QPushButton, "connect_caldav")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = settings.findChild(CaldavConnectDialog)
    assert isinstance(dialog, CaldavConnectDialog)
    return dialog


def _fill(qtbot, dialog: CaldavConnectDialog, url: str, password: str) -> None:  # type: ignore[no-untyped-def]
    dialog.service.setCurrentIndex(2)  # "Nextcloud or another server": the address is typed
    dialog.url.clear()
    qtbot.keyClicks(dialog.url, url)
    qtbot.keyClicks(dialog.username, USER)
    qtbot.keyClicks(dialog.password, password)


def test_connecting_a_caldav_calendar_from_settings(  # type: ignore[no-untyped-def]
    qtbot,
    settings: CalendarSettingsDialog,
    backend: CaldavBackend,
    services: Services,
    token_store: TokenStore,
) -> None:
    dialog = _open(qtbot, settings)
    assert dialog.url.text() == "https://caldav.icloud.com"  # iCloud is the first choice
    assert "app-specific password" in dialog.hint.text().lower()
    qtbot.keyClicks(dialog.username, USER)
    qtbot.keyClicks(dialog.password, "abcd-efgh-ijkl-mnop")
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().save(str(SHOTS / "settings-caldav-connect.png"))
    dialog.username.clear()
    dialog.password.clear()

    _fill(qtbot, dialog, backend.url, "wrong-password")
    with qtbot.waitSignal(dialog.failed, timeout=20_000) as failed:
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    assert "refused the user name or password" in str(failed.args[0])
    assert dialog.error.isVisible() and dialog.connect_button.isEnabled()

    dialog.password.clear()
    qtbot.keyClicks(dialog.password, PASSWORD)
    with (
        qtbot.waitSignal(settings.loaded, timeout=20_000),
        qtbot.waitSignal(dialog.connected, timeout=20_000),
    ):
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)
    [view] = services.accounts.list()
    assert (view.account.provider, view.account.email) == (Provider.CALDAV, USER)
    assert sorted(c.name for c in view.calendars) == ["Calendar", "Family"]
    assert token_store.load(f"caldav:{USER}") is not None
    token_store.delete(f"caldav:{USER}")
