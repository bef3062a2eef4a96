"""Over 500 lines: one tech's settings page; accounts, switches and preview reload as one view.

CalendarSettingsDialog: one technician's calendar connections, blocking switches and a preview.

What a tech or dispatcher needs to trust the board: which accounts are connected and whether they
still work (in words), which calendars make the tech unavailable, whether tentative invitations
count, and what that means for this week's events, row by row.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.domain.ids import CalendarId, TechId
from app.domain.model import AccountStatus, Calendar, Provider, SyncHealth, Technician
from app.domain.time import zone
from app.errors import CrewboardError
from app.services.accounts import AccountView, provider_label
from app.services.calendar_preview import CalendarPreview, CalendarPreviewService
from app.services.container import Services
from app.services.outlook_colour import OutlookColourService
from ui.bridge import BusBridge
from ui.format import clock_range
from ui.plain import PlainLabel, plain_tip
from ui.resources import palette, stylesheet
from ui.settings.caldav_dialog import caldav_factory, open_caldav_connect
from ui.settings.outlook_colour_row import OutlookColourRow
from ui.settings.switch import ToggleSwitch
from ui.signin import ConnectDialog, ConnectionSetup, account_service
from ui.widgets import ReleasingDialog, ask
from ui.worker import DatabaseWorker, describe_unexpected

log = logging.getLogger(__name__)

RELOAD_DELAY_MS = 80
# The tech, their accounts, this week's preview, and Outlook colour (the office's switch, the tech's).
Loaded = tuple[Technician, list[AccountView], CalendarPreview, tuple[bool, bool]]

STATUS_WORDS = {
    AccountStatus.CONNECTED: ("Connected", "success"),
    AccountStatus.NEEDS_RECONNECT: ("Needs reconnecting", "warning"),
    AccountStatus.REVOKED: ("Needs reconnecting", "warning"),
    AccountStatus.DISCONNECTED: ("Disconnected", "neutral"),
}


def status_sentence(view: AccountView, tech: Technician) -> str:
    """What the account's state means for the board, in words a dispatcher uses."""
    account, health = view.account, view.health
    status = account.status
    if status is AccountStatus.CONNECTED:
        if health is not None and health.failing_since is not None:
            return (
                f"Connected, but sync has been failing since {_when(health.failing_since, tech)}: "
                f"{health.last_error or 'the provider did not answer'}. Bookings are kept and go out when it recovers."
            )
        last = _last_sync(health)
        return (
            f"Connected. {last} New events on this calendar block {tech.name}'s time; "
            "bookings are written to it."
        )
    if status in (AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED):
        reason = (health.last_error if health else None) or "the provider no longer accepts the sign-in."
        return (
            f"Needs reconnecting: {reason} Until {tech.name} signs in again, Crewboard neither reads nor "
            "writes this calendar; bookings stay on the board."
        )
    return (
        "Disconnected. Bookings were kept, and the events Crewboard had put in this calendar stay there. "
        "Connect it again to resume syncing."
    )


def _when(instant: object, tech: Technician) -> str:
    from datetime import datetime

    assert isinstance(instant, datetime)
    return f"{instant.astimezone(zone(tech.timezone)):%a %H:%M}"


def _last_sync(health: SyncHealth | None) -> str:
    if health is None:
        return "Not read yet."
    last = health.last_read or health.last_success
    if last is None:
        return "Not read yet."
    return f"Last read {last.astimezone():%a %H:%M}."


class CalendarSettingsDialog(ReleasingDialog):
    """Settings for one tech's calendars; every switch saves at once and the preview follows."""

    loaded = Signal()  # fresh accounts and preview are on screen
    saved = Signal(str)  # a setting was stored (a short sentence saying which)

    def __init__(
        self,
        services: Services,
        db: DatabaseWorker,
        setup: ConnectionSetup,
        techs: list[Technician],
        tech_id: TechId | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self._db = db
        self._setup = setup
        self._net = DatabaseWorker(self)  # revoking at the provider: never on the board's database thread
        self._preview_service = CalendarPreviewService(services.uow)
        self._techs = sorted(techs, key=lambda t: t.name.lower())
        self._tech: Technician | None = next((t for t in self._techs if t.id == tech_id), None) or (
            self._techs[0] if self._techs else None
        )
        self._views: list[AccountView] = []
        self._preview: CalendarPreview | None = None
        self._connect_dialog: ConnectDialog | None = None
        self._generation = 0
        self._closing = False
        self.switches: dict[CalendarId, ToggleSwitch] = {}
        self.setObjectName("calendarSettingsDialog")
        self.setWindowTitle("Calendar settings")
        self.setStyleSheet(stylesheet("settings"))
        self.resize(900, 800)
        self._build()
        self._bridge = BusBridge(services.bus, self)
        self._bridge.accounts_changed.connect(self._schedule_reload)
        self._bridge.busy_changed.connect(self._schedule_reload)
        self._bridge.health_changed.connect(self._schedule_reload)
        self._bridge.techs_changed.connect(self._schedule_reload)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self.reload)
        self.reload()

    # --- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 16, 20, 14)
        column.setSpacing(10)

        head = QHBoxLayout()
        self.title = PlainLabel(self)
        self.title.setObjectName("sectionTitle")
        self.tech_combo = QComboBox(self)
        self.tech_combo.setObjectName("techCombo")
        for tech in self._techs:
            self.tech_combo.addItem(tech.name, tech.id)
        if self._tech is not None:
            self.tech_combo.setCurrentIndex(self._techs.index(self._tech))
        self.tech_combo.currentIndexChanged.connect(self._on_tech_combo_current_index_changed)
        head.addWidget(self.title, 1)
        head.addWidget(PlainLabel("Technician", self))
        head.addWidget(self.tech_combo)
        column.addLayout(head)
        self.subtitle = PlainLabel(self)
        self.subtitle.setObjectName("hint")
        column.addWidget(self.subtitle)
        self.error = PlainLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        column.addWidget(self.error)

        column.addWidget(self._section("Calendars"))
        self.accounts_box = QWidget(self)
        self.accounts_box.setObjectName("accountsBox")
        self.accounts_layout = QVBoxLayout(self.accounts_box)
        self.accounts_layout.setContentsMargins(0, 0, 0, 0)
        self.accounts_layout.setSpacing(8)
        column.addWidget(self.accounts_box)

        connect_row = QHBoxLayout()
        connect_row.setSpacing(8)
        sandbox_row = QHBoxLayout()  # the sandbox's sign-ins, on a row of their own
        sandbox_row.setSpacing(8)
        self.connect_buttons: dict[tuple[Provider, bool], QPushButton] = {}
        choices = [(Provider.GOOGLE, False), (Provider.MICROSOFT, False)]
        if self._setup.sandbox:
            choices += [(Provider.GOOGLE, True), (Provider.MICROSOFT, True)]
        for provider, sandbox in choices:
            text = f"Connect {'sandbox ' if sandbox else ''}{provider_label(provider)}"
            button = QPushButton(text, self)
            button.setObjectName(f"connect_{provider.value}{'_sandbox' if sandbox else ''}")
            button.setAutoDefault(False)
            button.clicked.connect(lambda _=False, p=provider, s=sandbox: self.open_connect(p, s))
            (sandbox_row if sandbox else connect_row).addWidget(button)
            self.connect_buttons[(provider, sandbox)] = button
        if caldav_factory(self._setup) is not None:
            caldav = QPushButton("Connect iCloud / CalDAV", self)
            caldav.setObjectName("connect_caldav")
            caldav.setAutoDefault(False)
            caldav.clicked.connect(
                lambda: open_caldav_connect(
                    self.services, self._setup, self._tech, self, self._on_caldav_connected
                )
            )
            connect_row.addWidget(caldav)
        connect_row.addStretch(1)
        column.addLayout(connect_row)
        if self._setup.sandbox:
            sandbox_row.addStretch(1)
            column.addLayout(sandbox_row)
        connect_hint = PlainLabel(
            "Google opens in the browser; Outlook signs in right here; iCloud, Fastmail and Nextcloud take an "
            "app-specific password. Nothing from the sign-in is kept on this computer except in the system "
            "keyring.",
            self,
        )
        connect_hint.setObjectName("hint")
        connect_hint.setWordWrap(True)
        column.addWidget(connect_hint)

        column.addWidget(self._section("Preferences"))
        self.tentative = QCheckBox("Tentative invitations block time", self)
        self.tentative.setObjectName("tentativeBlocks")
        self.tentative.toggled.connect(self._on_tentative_toggled)
        column.addWidget(self.tentative)
        tentative_hint = PlainLabel(
            "Off: an invitation the tech has not accepted yet leaves them bookable. Declined invitations and "
            "events shown as free never block.",
            self,
        )
        tentative_hint.setObjectName("hint")
        tentative_hint.setWordWrap(True)
        column.addWidget(tentative_hint)
        self.outlook_colour = OutlookColourRow(self.services, self._db, self._setup, self)
        self.outlook_colour.saved.connect(self.saved)
        column.addWidget(self.outlook_colour)

        preview_head = QHBoxLayout()
        self.preview_title = PlainLabel("This week", self)
        self.preview_title.setObjectName("sectionTitle")
        self.preview_summary = PlainLabel(self)
        self.preview_summary.setObjectName("hint")
        preview_head.addWidget(self.preview_title)
        preview_head.addStretch(1)
        preview_head.addWidget(self.preview_summary)
        column.addLayout(preview_head)
        self.preview = QTreeWidget(self)
        self.preview.setObjectName("preview")
        self.preview.setRootIsDecorated(False)
        self.preview.setAlternatingRowColors(False)
        self.preview.setUniformRowHeights(True)
        self.preview.setHeaderLabels(["Day", "Time", "Event", "Calendar", "Effect on availability"])
        self.preview.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.preview.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.preview.header()
        header.setStretchLastSection(True)
        for index, mode in enumerate(
            [
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Interactive,
                QHeaderView.ResizeMode.ResizeToContents,
            ]
        ):
            header.setSectionResizeMode(index, mode)
        self.preview.setColumnWidth(2, 270)
        column.addWidget(self.preview, 1)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        close = QPushButton("Close", self)
        close.setDefault(True)
        close.clicked.connect(self.accept)
        buttons.addWidget(close)
        column.addLayout(buttons)

    def _section(self, text: str) -> QLabel:
        label = PlainLabel(text, self)
        label.setObjectName("sectionTitle")
        return label

    # --- data --------------------------------------------------------------------------------

    @property
    def tech(self) -> Technician | None:
        return self._tech

    @property
    def views(self) -> list[AccountView]:
        return list(self._views)

    @property
    def current_preview(self) -> CalendarPreview | None:
        return self._preview

    @property
    def connect_dialog(self) -> ConnectDialog | None:
        return self._connect_dialog

    def _schedule_reload(self, _event: object = None) -> None:
        if not self._closing:
            self._reload_timer.start()

    def reload(self) -> None:
        """Read the tech, their accounts and this week's preview (on the database worker)."""
        if self._closing or self._tech is None:
            if self._tech is None:
                self.title.setText("No technicians yet")
                self.subtitle.setText("Add a technician first: Technicians ▸ Add technician.")
            return
        self._generation += 1
        generation, tech_id = self._generation, self._tech.id
        accounts = account_service(self.services)
        techs, preview = self.services.techs, self._preview_service
        colour = OutlookColourService(self.services.uow, self.services.clock)
        today = self.services.clock.now().astimezone(zone(self._tech.timezone)).date()

        def load() -> Loaded:
            tech = techs.find(tech_id)
            views = accounts.for_tech(tech_id)
            return (
                tech,
                views,
                preview.week(tech_id, today),
                (colour.office_enabled(), colour.tech_enabled(tech_id)),
            )

        try:
            self._db.run(
                load,
                on_done=lambda r: self._on_loaded(generation, r),
                on_error=self._show_error,
                context=self,
            )
        except RuntimeError:  # the board closed (its worker is gone) while this dialog was still open
            self._closing = True

    def _on_loaded(self, generation: int, result: Loaded) -> None:
        if generation != self._generation:
            return
        tech, views, preview, (office_colour, tech_colour) = result
        self.outlook_colour.show_state(tech, [v.account for v in views], office_colour, tech_colour)
        self._tech = tech
        self._views = sorted(
            views, key=lambda v: (v.account.status is AccountStatus.DISCONNECTED, v.account.email)
        )
        self._preview = preview
        self.title.setText(f"Calendar settings — {tech.name}")
        live = [v for v in self._views if v.account.status is not AccountStatus.DISCONNECTED]
        self.subtitle.setText(
            f"{tech.email} · {tech.timezone} · "
            + (
                f"{len(live)} calendar account{'s' if len(live) != 1 else ''} connected"
                if live
                else "no calendar connected"
            )
        )
        self.tentative.blockSignals(True)
        self.tentative.setChecked(tech.tentative_blocks)
        self.tentative.blockSignals(False)
        self._fill_accounts()
        self._fill_preview(preview)
        self.loaded.emit()

    def _show_error(self, error: BaseException) -> None:
        text = str(error) if isinstance(error, CrewboardError) else describe_unexpected()
        self.error.setText(text)
        self.error.show()

    def _clear_error(self) -> None:
        self.error.hide()

    # --- accounts ----------------------------------------------------------------------------

    def _fill_accounts(self) -> None:
        while self.accounts_layout.count():
            item = self.accounts_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.switches.clear()
        tech = self._tech
        assert tech is not None
        if not self._views:
            empty = PlainLabel(
                f"{tech.name} has no calendar connected yet. Connect their Google or Outlook calendar below: "
                "their own appointments then block time on the board, and their jobs appear in their calendar.",
                self.accounts_box,
            )
            empty.setObjectName("emptyState")
            empty.setWordWrap(True)
            self.accounts_layout.addWidget(empty)
        for view in self._views:
            self.accounts_layout.addWidget(self._account_card(view, tech))

    def _account_card(self, view: AccountView, tech: Technician) -> QFrame:
        account = view.account
        card = QFrame(self.accounts_box)
        card.setObjectName("accountCard")
        card.setProperty("email", account.email)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        top = QHBoxLayout()
        badge = PlainLabel(
            provider_label(account.provider) + (" · sandbox" if account.endpoint else ""), card
        )
        badge.setObjectName("providerBadge")
        email = PlainLabel(account.email, card)
        email.setObjectName("accountEmail")
        words, tone = STATUS_WORDS[account.status]
        pill = PlainLabel(words, card)
        pill.setObjectName("statusPill")
        pill.setProperty("tone", tone)  # its colours: resources/styles/settings.qss
        top.addWidget(badge)
        top.addWidget(email)
        top.addWidget(pill)
        top.addStretch(1)
        if account.status in (
            AccountStatus.NEEDS_RECONNECT,
            AccountStatus.REVOKED,
            AccountStatus.DISCONNECTED,
        ):
            again = QPushButton(
                "Reconnect" if account.status is not AccountStatus.DISCONNECTED else "Connect again", card
            )
            again.setObjectName("reconnectButton")
            again.setProperty("primary", account.status is not AccountStatus.DISCONNECTED)
            again.clicked.connect(
                lambda _=False, p=account.provider, s=account.endpoint is not None: self.open_connect(p, s)
            )
            top.addWidget(again)
        if account.status is not AccountStatus.DISCONNECTED:
            drop = QPushButton("Disconnect", card)
            drop.setObjectName("danger")
            drop.clicked.connect(lambda _=False, v=view: self.confirm_disconnect(v))
            top.addWidget(drop)
        layout.addLayout(top)
        sentence = PlainLabel(status_sentence(view, tech), card)
        sentence.setObjectName("muted")
        sentence.setWordWrap(True)
        layout.addWidget(sentence)
        if account.status is not AccountStatus.DISCONNECTED:
            for calendar in view.calendars:
                layout.addWidget(
                    self._calendar_row(calendar, card, account.status is AccountStatus.CONNECTED)
                )
        return card

    def _calendar_row(self, calendar: Calendar, parent: QWidget, live: bool) -> QWidget:
        row = QWidget(parent)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 2, 0, 2)
        line.setSpacing(10)
        switch = ToggleSwitch(f"{calendar.name} blocks availability", row)
        switch.setObjectName("blocksSwitch")
        switch.setChecked(calendar.primary or calendar.blocks)
        name = PlainLabel(calendar.name, row)
        name.setObjectName("calendarName")
        if calendar.primary:
            switch.setEnabled(False)
            note = "Main calendar: always blocks availability"
        else:
            note = "Blocks availability" if calendar.blocks else "Does not block availability"
            switch.toggled.connect(lambda checked, c=calendar.id: self.set_blocks(c, checked))
        switch.setToolTip(
            note + (": a tech's own appointments are never double-booked." if calendar.primary else ".")
        )
        explain = PlainLabel(note, row)
        explain.setObjectName("muted")
        explain.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        line.addWidget(switch)
        line.addWidget(name)
        line.addWidget(explain, 1)
        self.switches[calendar.id] = switch
        return row

    # --- actions -------------------------------------------------------------------------------

    def set_blocks(self, calendar_id: CalendarId, blocks: bool) -> None:
        """Save a calendar's "Blocks availability" switch; the preview reloads from the bus event."""
        self._clear_error()
        accounts = account_service(self.services)
        self._db.run(
            lambda: accounts.set_calendar_blocks(calendar_id, blocks),
            on_done=lambda c: self.saved.emit(
                f"{c.name} {'blocks' if c.blocks else 'no longer blocks'} time."
            ),
            on_error=self._on_action_failed,
            context=self,
        )

    def _on_tentative_toggled(self, checked: bool) -> None:
        tech = self._tech
        if tech is None:
            return
        self._clear_error()
        techs = self.services.techs
        updated = replace(tech, tentative_blocks=checked)
        self._db.run(
            lambda: techs.update(updated),
            on_done=lambda _t: self.saved.emit(
                "Tentative invitations now block time."
                if checked
                else "Tentative invitations no longer block time."
            ),
            on_error=self._on_action_failed,
            context=self,
        )

    def _on_action_failed(self, error: BaseException) -> None:
        self._show_error(error)
        self.reload()

    def _on_tech_combo_current_index_changed(self, index: int) -> None:
        if 0 <= index < len(self._techs):
            self._tech = self._techs[index]
            self._views = []
            self._clear_error()
            self.reload()

    def open_connect(self, provider: Provider, sandbox: bool) -> ConnectDialog | None:
        tech = self._tech
        if tech is None:
            return None
        if self._connect_dialog is not None and isValid(self._connect_dialog):
            self._connect_dialog.close()
        dialog = ConnectDialog(self.services, self._db, self._setup, tech, provider, sandbox, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.connected.connect(lambda view: self.saved.emit(f"Connected {view.account.email}."))
        dialog.connected.connect(self._schedule_reload)
        dialog.finished.connect(lambda _r: self._forget_connect(dialog))
        self._connect_dialog = dialog
        dialog.open()
        dialog.start()
        return dialog

    def _on_caldav_connected(self, view: AccountView) -> None:
        self.saved.emit(f"Connected {view.account.email}.")
        self._schedule_reload()

    def _forget_connect(self, dialog: ConnectDialog) -> None:
        if self._connect_dialog is dialog:
            self._connect_dialog = None
        self._schedule_reload()

    def confirm_disconnect(self, view: AccountView) -> None:
        tech = self._tech
        assert tech is not None
        label = provider_label(view.account.provider)
        ask(
            self,
            "Disconnect calendar",
            f"Disconnect {tech.name}'s {label} calendar {view.account.email}?",
            f"{tech.name}'s bookings stay on the board, and the events Crewboard already put in this calendar "
            f"stay there. Crewboard stops reading {view.account.email} (its events no longer block time) and "
            "stops writing new jobs to it, and removes its sign-in from this computer.",
            "Disconnect",
            lambda: self.disconnect_account(view),
            no_text="Keep it connected",
        )

    def disconnect_account(self, view: AccountView) -> None:
        tech = self._tech
        assert tech is not None
        self._clear_error()
        make = self._setup.make_connector
        accounts = account_service(self.services)
        account = view.account

        def work() -> object:
            connector = make(account.provider, account.endpoint is not None)
            try:
                return accounts.disconnect(tech.id, account.provider, connector, account.email)
            finally:
                connector.close()

        self._net.run(
            work,
            on_done=lambda _a: self.saved.emit(f"Disconnected {account.email}; bookings were kept."),
            on_error=self._on_action_failed,
            context=self,
        )

    # --- preview -------------------------------------------------------------------------------

    def _fill_preview(self, preview: CalendarPreview) -> None:
        tech = preview.tech
        tz = zone(tech.timezone)
        last = preview.first_day + timedelta(days=6)
        self.preview_title.setText(
            f"This week ({preview.first_day:%a %d %b}–{last:%a %d %b}, {tech.timezone} time)"
        )
        self.preview.clear()
        blocking = len(preview.blocking)
        total = len(preview.items)
        self.preview_summary.setText(
            f"{blocking} of {total} event{'s' if total != 1 else ''} block time" if total else ""
        )
        if not preview.items:
            item = QTreeWidgetItem(
                [
                    "",
                    "",
                    "No calendar events this week"
                    if self._views
                    else "Connect a calendar to see its events here",
                    "",
                    "",
                ]
            )
            item.setForeground(2, QBrush(palette.color("text_muted")))
            self.preview.addTopLevelItem(item)
            return
        bold = QFont(self.preview.font())
        bold.setWeight(QFont.Weight.DemiBold)
        muted = QBrush(palette.color("text_muted"))
        busy = QBrush(palette.color("danger"))
        free = QBrush(palette.color("success"))
        for entry in preview.items:
            start_day: date = entry.interval.start.astimezone(tz).date()
            when = "All day" if entry.all_day else clock_range(entry.interval, tz)
            effect = ("●  " if entry.blocks else "○  ") + entry.reason
            item = QTreeWidgetItem([f"{start_day:%a %d}", when, entry.title, entry.calendar_name, effect])
            item.setToolTip(4, plain_tip(entry.reason))
            if entry.blocks:
                item.setFont(2, bold)
                item.setForeground(4, busy)
            else:
                for col in range(4):
                    item.setForeground(col, muted)
                item.setForeground(4, free)
            self.preview.addTopLevelItem(item)

    # --- closing -------------------------------------------------------------------------------

    def _release(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._reload_timer.stop()
        self._bridge.close()
        if self._connect_dialog is not None and isValid(self._connect_dialog):
            self._connect_dialog.close()
        self.outlook_colour.release()
        self._net.shutdown()
