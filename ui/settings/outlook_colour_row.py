"""One Outlook tech's "Show jobs in this tech's colour in Outlook" switch, and the sign-in it starts.

Outlook colours an event by its category, and adding Crewboard's category to the tech's list needs a
Microsoft permission beyond what sync needs. So turning the switch on records the wish, then signs
the tech in again in the ordinary sign-in window, this time also asking for that permission
(incremental consent). Allowed: their upcoming jobs are written again, coloured. Declined, cancelled
or failed: the switch goes back off and one sentence says why; sync carries on as before.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget
from shiboken6 import isValid

from app.domain.model import AccountStatus, CalendarAccount, Provider, Technician
from app.errors import CrewboardError
from app.services.container import Services
from app.services.outlook_colour import OutlookColourService
from ui.plain import PlainLabel
from ui.settings.switch import ToggleSwitch
from ui.signin import ConnectDialog, ConnectionSetup, Stage
from ui.worker import DatabaseWorker, describe_unexpected

SWITCH_TEXT = "Show jobs in this tech's colour in Outlook"


def outlook_account(accounts: list[CalendarAccount]) -> CalendarAccount | None:
    """The tech's Outlook account the colour applies to: the first one still connected."""
    return next(
        (
            a
            for a in accounts
            if a.provider is Provider.MICROSOFT and a.status is not AccountStatus.DISCONNECTED
        ),
        None,
    )


class OutlookColourRow(QWidget):
    """The switch, what it asks of the tech, and what became of the last attempt."""

    saved = Signal(str)  # a short sentence for the status bar
    settled = Signal(bool)  # a sign-in for colour ended: whether the tech allowed it

    def __init__(
        self, services: Services, db: DatabaseWorker, setup: ConnectionSetup, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.setObjectName("outlookColourRow")
        self._services = services
        self._colour = OutlookColourService(services.uow, services.clock)
        self._db = db
        self._setup = setup
        self._tech: Technician | None = None
        self._account: CalendarAccount | None = None
        self._dialog: ConnectDialog | None = None
        self._answered = True  # no sign-in for colour under way

        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 0)
        column.setSpacing(4)
        line = QHBoxLayout()
        line.setSpacing(10)
        self.switch = ToggleSwitch(SWITCH_TEXT, self)
        self.switch.setObjectName("outlookColourSwitch")
        self.switch.clicked.connect(self._on_switch_clicked)
        title = PlainLabel(SWITCH_TEXT, self)
        title.setObjectName("calendarName")
        title.setBuddy(self.switch)
        line.addWidget(self.switch)
        line.addWidget(title, 1)
        column.addLayout(line)
        self.hint = PlainLabel(self)
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        column.addWidget(self.hint)
        self.note = PlainLabel(self)
        self.note.setObjectName("formError")
        self.note.setWordWrap(True)
        self.note.hide()
        column.addWidget(self.note)
        self.hide()

    @property
    def connect_dialog(self) -> ConnectDialog | None:
        return self._dialog if self._dialog is not None and isValid(self._dialog) else None

    def show_state(
        self, tech: Technician, accounts: list[CalendarAccount], office_on: bool, tech_on: bool
    ) -> None:
        """Show the switch for `tech` when they have Outlook (and this desktop can sign them in)."""
        if self._tech is None or tech.id != self._tech.id:  # another tech: the last note was not theirs
            self.note.hide()
        self._tech = tech
        self._account = outlook_account(accounts)
        if self._account is None or self._setup.outlook_colour is None:
            self.hide()
            return
        if not self._answered:  # a sign-in is under way: its answer decides the switch
            self.show()
            return
        self.switch.setChecked(tech_on and office_on)
        self.switch.setEnabled(office_on)
        if office_on:
            self.hint.setText(
                "Outlook colours events by category, so Crewboard adds one for the jobs; Outlook will ask "
                f"{tech.name} to allow Crewboard to manage their categories."
            )
        else:
            self.hint.setText(
                "Outlook colours events by category, which needs one more permission from the tech; "
                "the office has not allowed it yet (Technicians ▸ Office settings…)."
            )
        self.show()

    # --- turning it on or off ----------------------------------------------------------------

    def _on_switch_clicked(self, checked: bool) -> None:
        tech, account = self._tech, self._account
        if tech is None or account is None:
            return
        self.note.hide()
        colour, tech_id = self._colour, tech.id
        if not checked:
            self._db.run(
                lambda: colour.set_tech(tech_id, False),
                on_done=lambda _r: self.saved.emit(f"{tech.name}'s Outlook jobs keep the calendar's colour."),
                on_error=self._on_failed,
                context=self,
            )
            return
        self._answered = False
        self.switch.setEnabled(False)  # until the tech answers the sign-in
        self._db.run(
            lambda: colour.set_tech(tech_id, True),
            on_done=lambda _r: self._sign_in(tech, account),
            on_error=self._on_failed,
            context=self,
        )

    def _sign_in(self, tech: Technician, account: CalendarAccount) -> None:
        """The ordinary Outlook sign-in window, asking this time for the permission colour needs."""
        dialog = ConnectDialog(
            self._services,
            self._db,
            self._setup,
            tech,
            Provider.MICROSOFT,
            account.endpoint is not None,
            self.window(),
            colour_for=account.email,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowTitle(f"Outlook colour — {tech.name}")
        dialog.colour_answered.connect(self._on_answered)
        dialog.failed.connect(lambda _text: self._on_answered(False))
        dialog.stage_changed.connect(self._on_stage_changed)
        dialog.finished.connect(lambda _r: self._on_answered(False))  # closed before answering
        self._dialog = dialog
        dialog.open()
        dialog.start()

    def _on_stage_changed(self, stage: Stage) -> None:
        if stage is Stage.CANCELLED:
            self._on_answered(False)

    def _on_answered(self, allowed: bool) -> None:
        if self._answered:
            return
        self._answered = True
        tech = self._tech
        assert tech is not None
        colour, tech_id = self._colour, tech.id
        self.switch.setEnabled(True)
        self.switch.setChecked(allowed)
        if allowed:
            self._db.run(
                lambda: colour.consented(tech_id),
                on_done=lambda _r: self.saved.emit(f"{tech.name}'s Outlook jobs now show in their colour."),
                on_error=self._on_failed,
                context=self,
            )
        else:
            self.note.setText(
                f"{tech.name} did not allow Outlook to let Crewboard manage categories, so the switch is off "
                "and their jobs keep the calendar's colour."
            )
            self.note.show()
            self._db.run(lambda: colour.set_tech(tech_id, False), on_error=self._on_failed, context=self)
        self.settled.emit(allowed)

    def _on_failed(self, error: BaseException) -> None:
        self._answered = True
        self.switch.setEnabled(True)
        self.switch.setChecked(False)
        self.note.setText(str(error) if isinstance(error, CrewboardError) else describe_unexpected())
        self.note.show()

    def release(self) -> None:
        """The settings dialog is closing: so does a sign-in it started."""
        dialog = self.connect_dialog
        if dialog is not None:
            dialog.close()
