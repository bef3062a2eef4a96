"""CaldavConnectDialog: connect a tech's iCloud, Fastmail or Nextcloud calendar with an app password.

CalDAV servers offer no browser sign-in: the tech makes an app-specific password at the provider
and types it here once. The check (discovery and the calendar list) runs off the GUI thread; the
password goes to the keyring through the connector the composition root hands over, and the
dialog forgets it as soon as the connection is saved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.model import Provider, Technician
from app.errors import CrewboardError
from app.services.accounts import AccountView
from app.services.container import Services
from app.services.ports import CalendarConnector
from ui.plain import PlainLabel
from ui.resources import stylesheet
from ui.signin import ConnectionSetup, account_service
from ui.widgets import ReleasingDialog
from ui.worker import DatabaseWorker, describe_unexpected

# The key under which the composition root puts the CalDAV connector factory in ConnectionSetup.extra.
CALDAV_CONNECTOR = "caldav_connector"
CaldavConnectorFactory = Callable[[str, str, str], CalendarConnector]  # url, user name, password

SERVERS = (
    ("iCloud (iPhone, iPad, Mac)", "https://caldav.icloud.com"),
    ("Fastmail", "https://caldav.fastmail.com"),
    ("Nextcloud or another server", ""),
)

HELP = {
    "iCloud (iPhone, iPad, Mac)": "User name: the Apple ID e-mail. Password: an app-specific password made at "
    "account.apple.com → Sign-In and Security → App-Specific Passwords (not the Apple ID password).",
    "Fastmail": "User name: the Fastmail address. Password: a new app password from Settings → Privacy & "
    "Security → Connected apps & API tokens → Manage app passwords, with access to Calendars (CalDAV).",
    "Nextcloud or another server": "Server: the address of the server (e.g. https://cloud.example.com/"
    "remote.php/dav). Password: an app password from Personal settings → Security → Devices & sessions.",
}


def caldav_factory(setup: ConnectionSetup) -> CaldavConnectorFactory | None:
    """The CalDAV connector factory the composition root offers, if any."""
    found = setup.extra.get(CALDAV_CONNECTOR)
    return found if callable(found) else None


class CaldavConnectDialog(ReleasingDialog):
    """Server, user name and app-specific password for one tech; Connect checks and saves them."""

    connected = Signal(AccountView)
    failed = Signal(str)

    def __init__(
        self,
        services: Services,
        make: CaldavConnectorFactory,
        tech: Technician,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.tech = tech
        self._make = make
        self._net = DatabaseWorker(self)  # the server check is network work: never the board's thread
        self.setObjectName("caldavConnectDialog")
        self.setWindowTitle(f"Connect iCloud / CalDAV calendar — {tech.name}")
        self.setStyleSheet(stylesheet("settings"))
        self.setMinimumWidth(560)

        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 14)
        column.setSpacing(10)
        title = PlainLabel(f"Connect {tech.name}'s iCloud, Fastmail or Nextcloud calendar", self)
        title.setObjectName("sectionTitle")
        title.setWordWrap(True)
        column.addWidget(title)

        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.service = QComboBox(self)
        self.service.setObjectName("caldavService")
        for name, url in SERVERS:
            self.service.addItem(name, url)
        self.url = QLineEdit(self)
        self.url.setObjectName("caldavUrl")
        self.username = QLineEdit(self)
        self.username.setObjectName("caldavUsername")
        self.username.setPlaceholderText(tech.email or "name@example.com")
        self.password = QLineEdit(self)
        self.password.setObjectName("caldavPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("app-specific password")
        form.addRow("Calendar service", self.service)
        form.addRow("Server", self.url)
        form.addRow("User name", self.username)
        form.addRow("App password", self.password)
        column.addLayout(form)

        self.hint = PlainLabel(self)
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        column.addWidget(self.hint)
        keep = PlainLabel(
            "The password is kept only in this computer's system keyring. Revoke it at the provider to "
            "cut Crewboard off at any time.",
            self,
        )
        keep.setObjectName("hint")
        keep.setWordWrap(True)
        column.addWidget(keep)
        self.error = PlainLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        cancel = QPushButton("Cancel", self)
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        self.connect_button = QPushButton("Connect", self)
        self.connect_button.setObjectName("caldavConnect")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.submit)
        buttons.addWidget(cancel)
        buttons.addWidget(self.connect_button)
        column.addLayout(buttons)

        self.service.currentIndexChanged.connect(self._on_service_current_index_changed)
        self._on_service_current_index_changed(0)

    def _release(self) -> None:
        self._net.shutdown()

    def _on_service_current_index_changed(self, index: int) -> None:
        name = self.service.itemText(index)
        url = str(self.service.itemData(index) or "")
        self.url.setText(url)
        self.url.setPlaceholderText("https://cloud.example.com/remote.php/dav")
        self.hint.setText(HELP.get(name, ""))

    def submit(self) -> None:
        """Check the server and the password off the GUI thread, then record the account."""
        url, username, password = self.url.text().strip(), self.username.text().strip(), self.password.text()
        self.error.hide()
        self.connect_button.setEnabled(False)
        self.connect_button.setText("Checking…")
        make, accounts, tech_name = self._make, account_service(self.services), self.tech.name

        def work() -> AccountView:
            connector = make(url, username, password)
            try:
                return accounts.connect(tech_name, Provider.CALDAV, connector)
            finally:
                connector.close()

        self._net.run(work, on_done=self._on_connected, on_error=self._on_failed, context=self)

    def _on_connected(self, view: object) -> None:
        assert isinstance(view, AccountView)  # what `work` above returns
        self.password.clear()
        self.connected.emit(view)
        self.accept()

    def _on_failed(self, error: BaseException) -> None:
        text = str(error) if isinstance(error, CrewboardError) else describe_unexpected()
        self.error.setText(text)
        self.error.show()
        self.connect_button.setEnabled(True)
        self.connect_button.setText("Connect")
        self.failed.emit(text)


def open_caldav_connect(
    services: Services,
    setup: ConnectionSetup,
    tech: Technician | None,
    parent: QWidget,
    on_connected: Callable[[AccountView], None],
) -> CaldavConnectDialog | None:
    """Open the dialog for `tech` (the calendar settings' "Connect iCloud / CalDAV" button)."""
    make = caldav_factory(setup)
    if tech is None or make is None:
        return None
    dialog = CaldavConnectDialog(services, make, tech, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.connected.connect(on_connected)
    dialog.open()
    return dialog
