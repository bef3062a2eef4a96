"""Over 500 lines: the sign-in window is one flow (embedded or browser sign-in, calendars, first sync).

Connecting a technician's calendar from inside the app: the sign-in window and its first sync.

Two ways in, following what each provider allows:

* Outlook (and the sandbox's Microsoft): the provider's own sign-in page inside the window, in an
  off-the-record web profile, so nothing (cookies, cache, the tech's session) stays behind on a
  shared office computer. The page's final redirect to the loopback address is caught in-app and
  handed to the connector; it never reaches a socket.
* Google (real or sandbox): Google blocks sign-in from embedded browsers, so the system browser
  opens the consent page and the connector's one-shot loopback receiver takes the answer (PKCE,
  checked state). Cancel really ends that receiver: it delivers the same "declined" answer the
  consent page's Deny button would, which closes the listener.

Every network step (token exchange, calendar listing, revoking) runs on the window's own worker
thread; saving the account runs on the board's database worker. The ui never sees a token.
"""

from __future__ import annotations

import logging
import random
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from app.domain.ids import CalendarId
from app.domain.model import AccountStatus, Calendar, CalendarAccount, Provider, Technician
from app.errors import CrewboardError
from app.services.accounts import AccountService, AccountView, provider_label
from app.services.container import Services
from app.services.outlook_colour import CONSENT_REASON
from app.services.ports import CalendarConnector, Grant, RemoteCalendar
from ui.plain import PlainLabel
from ui.sync_runner import SyncControl
from ui.widgets import ReleasingDialog
from ui.worker import DatabaseWorker, describe_unexpected

log = logging.getLogger(__name__)

Browser = Callable[[str], object]
FIRST_SYNC_POLL_MS = 400
FIRST_SYNC_LIMIT_MS = 90_000


class ConnectorFactory(Protocol):
    """Builds the sign-in for a provider (the composition root's; the ui never imports providers).

    `sandbox` picks the local provider sandbox instead of the real service; `browser`, when given,
    is how a system-browser sign-in shows its consent page.
    """

    def __call__(
        self, provider: Provider, sandbox: bool, browser: Browser | None = None
    ) -> CalendarConnector: ...


class OutlookColourSignIn(Protocol):
    """Microsoft sign-ins that also ask for the permission Outlook colour needs (app/main.py's).

    `connector` is started like any embedded sign-in; `granted` says afterwards whether the tech
    allowed the extra permission (a tech may accept the sign-in and still decline it).
    """

    def connector(self, sandbox: bool, login_hint: str | None = None) -> CalendarConnector: ...

    def granted(self, connector: CalendarConnector, account: CalendarAccount) -> bool: ...


class PendingEmbeddedSignIn(Protocol):
    """A started sign-in whose page is shown in-app (sync.providers' PendingMicrosoftSignIn)."""

    @property
    def authorization_url(self) -> str: ...

    def complete(self, redirect_url: str) -> Grant: ...


class EmbeddedSignInConnector(Protocol):
    def begin(self, redirect_uri: str, response_mode: str = ...) -> PendingEmbeddedSignIn: ...


@dataclass(frozen=True)
class ConnectionSetup:
    """Everything the calendar screens need from the composition root."""

    make_connector: ConnectorFactory
    sandbox: bool = False  # the app runs next to a provider sandbox: offer its sign-ins too
    sandbox_identity_url: str | None = None  # the sandbox's Microsoft sign-in site (private CA)
    sync: SyncControl | None = None
    open_url: Browser | None = None  # replaces the system browser (tests script the consent page)
    extra: dict[str, Any] = field(default_factory=dict)
    outlook_colour: OutlookColourSignIn | None = None  # without it the desktop offers no Outlook colour


def account_service(services: Services) -> AccountService:
    """The container's AccountService when it offers one, else one over the same store."""
    found = getattr(services, "accounts", None)
    if isinstance(found, AccountService):
        return found
    return AccountService(services.uow, services.clock, services.bus)


class _GrantedConnector:
    """A connector whose sign-in already happened: `authorize` hands back the grant.

    The slow, interactive part runs on the sign-in thread; recording the account then runs on the
    board's database worker through the ordinary AccountService.connect.
    """

    def __init__(self, grant: Grant, inner: CalendarConnector) -> None:
        self._grant = grant
        self._inner = inner

    @property
    def provider(self) -> Provider:
        return self._inner.provider

    @property
    def endpoint(self) -> str | None:
        return self._inner.endpoint

    def authorize(self) -> Grant:
        return self._grant

    def list_calendars(self, account: CalendarAccount) -> list[RemoteCalendar]:
        return self._inner.list_calendars(account)

    def disconnect(self, account: CalendarAccount) -> None:
        self._inner.disconnect(account)

    def close(self) -> None:
        self._inner.close()


# --- the embedded page ----------------------------------------------------------------------


def _matches_redirect(url: QUrl, redirect_uri: str) -> bool:
    target = urlsplit(redirect_uri)
    return (
        url.scheme() == target.scheme
        and url.host() == (target.hostname or "")
        and url.port(80) == (target.port or 80)
        and url.path().startswith(target.path or "/")
    )


class RedirectInterceptor(QWebEngineUrlRequestInterceptor):
    """Blocks every request to the loopback redirect address: the code never leaves the app."""

    caught = Signal(str)

    def __init__(self, redirect_uri: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._redirect_uri = redirect_uri

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        if _matches_redirect(url, self._redirect_uri):
            info.block(True)
            self.caught.emit(url.toString(QUrl.ComponentFormattingOption.FullyEncoded))


class SignInPage(QWebEnginePage):
    """The provider's page; a navigation to the redirect address is caught instead of loaded.

    Only the sandbox's own sign-in site may present a certificate from the sandbox's private CA;
    every other certificate error is refused as a browser would.
    """

    redirected = Signal(str)

    def __init__(
        self,
        profile: QWebEngineProfile,
        redirect_uri: str,
        trusted_origin: tuple[str, int] | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(profile, parent)
        self._redirect_uri = redirect_uri
        self._trusted = trusted_origin
        self.certificateError.connect(self._on_self_certificate_error)

    def acceptNavigationRequest(
        self, url: QUrl | str, kind: QWebEnginePage.NavigationType, main: bool
    ) -> bool:
        qurl = QUrl(url) if isinstance(url, str) else url
        if _matches_redirect(qurl, self._redirect_uri):
            self.redirected.emit(qurl.toString(QUrl.ComponentFormattingOption.FullyEncoded))
            return False
        return super().acceptNavigationRequest(qurl, kind, main)

    @Slot(QWebEngineCertificateError)
    def _on_self_certificate_error(self, error: QWebEngineCertificateError) -> None:
        url = error.url()
        if self._trusted is not None and (url.host(), url.port(443)) == self._trusted:
            error.acceptCertificate()
        else:
            log.warning("refused a certificate error for %s://%s", url.scheme(), url.host())
            error.rejectCertificate()

    def javaScriptConsoleMessage(self, level: Any, message: str, line: int, source: str) -> None:
        """The provider's scripts are not ours: their console chatter stays out of our logs."""


def trusted_origin(url: str | None) -> tuple[str, int] | None:
    if not url:
        return None
    parts = urlsplit(url)
    return (parts.hostname or "", parts.port or 443)


# --- the dialog -------------------------------------------------------------------------------


class Stage(Enum):
    STARTING = "starting"
    WEB_PAGE = "web_page"  # the sign-in page is shown in the window
    BROWSER = "browser"  # waiting for the tech to finish in the system browser
    FINISHING = "finishing"  # exchanging the code, listing calendars, saving
    FIRST_SYNC = "first_sync"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def calendar_names(calendars: Sequence[Calendar]) -> str:
    """Calendar names quoted, so "Alex Rivera, Family" does not read as a list of people."""
    quoted = [f"“{c.name}”" for c in calendars]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + f" and {quoted[-1]}"


class _Bridge(QObject):
    """Carries calls from the sign-in thread to the GUI thread."""

    open_requested = Signal(str)


class ConnectDialog(ReleasingDialog):
    """Sign a technician in to Google or Outlook (or the sandbox's), then show their first sync."""

    stage_changed = Signal(Stage)
    connected = Signal(AccountView)  # once saved
    first_sync_finished = Signal()
    failed = Signal(str)
    colour_answered = Signal(bool)  # an Outlook colour sign-in: whether the tech allowed the permission

    def __init__(
        self,
        services: Services,
        db: DatabaseWorker,
        setup: ConnectionSetup,
        tech: Technician,
        provider: Provider,
        sandbox: bool = False,
        parent: QWidget | None = None,
        colour_for: str | None = None,
    ) -> None:
        """`colour_for`: the Outlook address to sign in again, also asking for the permission colour
        on Outlook needs (the setup's `outlook_colour` sign-in); None for an ordinary connect."""
        super().__init__(parent)
        self.services = services
        self.colour_for = colour_for
        self._db = db
        self._setup = setup
        self.tech = tech
        self.provider = provider
        self.sandbox = sandbox
        self._net = DatabaseWorker(self)  # sign-in network work: never the board's database thread
        self._stage = Stage.STARTING
        self._connector: CalendarConnector | None = None
        self._pending: PendingEmbeddedSignIn | None = None
        self._redirect_uri = ""
        self._consent_url: str | None = None
        self._cancel = threading.Event()
        self._cancel_lock = threading.Lock()
        self._cancel_sent = False
        self._completing = False
        self._view: QWebEngineView | None = None
        self._page: SignInPage | None = None
        self._profile: QWebEngineProfile | None = None
        self._account: AccountView | None = None
        self._waiting_for: set[CalendarId] = set()
        self._reading_text = ""  # the first-sync message, before any news of a failed try
        self._sync_elapsed = 0
        self._bridge = _Bridge(self)
        self._bridge.open_requested.connect(
            self._on_bridge_open_requested, Qt.ConnectionType.QueuedConnection
        )

        label = provider_label(provider)
        where = f"sandbox {label}" if sandbox else label
        self.setWindowTitle(f"Connect {where} calendar — {tech.name}")
        self.setObjectName("connectDialog")
        self.setMinimumSize(560, 360)
        self.title = PlainLabel(f"Connect {tech.name}'s {where} calendar", self)
        self.title.setObjectName("sectionTitle")
        self.message = PlainLabel(self)
        self.message.setWordWrap(True)
        self.message.setObjectName("connectMessage")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("connectProgress")
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.pages = QStackedWidget(self)
        self._blank = QWidget(self)
        self.pages.addWidget(self._blank)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button = QPushButton("Try again", self)
        self.retry_button.clicked.connect(self.start)
        self.retry_button.hide()
        self.close_button = QPushButton("Close", self)
        self.close_button.setProperty("primary", True)
        self.close_button.clicked.connect(self.accept)
        self.close_button.hide()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(18, 16, 18, 14)
        column.setSpacing(10)
        column.addWidget(self.title)
        column.addWidget(self.message)
        column.addWidget(self.progress)
        column.addWidget(self.pages, 1)
        column.addLayout(buttons)
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(FIRST_SYNC_POLL_MS)
        self._sync_timer.timeout.connect(self._on_sync_timer_timeout)

    # --- state ------------------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        return self._stage

    @property
    def embedded(self) -> bool:
        """Outlook signs in inside the window; Google only in the system browser."""
        return self.provider is Provider.MICROSOFT

    @property
    def web_view(self) -> QWebEngineView | None:
        return self._view

    @property
    def redirect_uri(self) -> str:
        return self._redirect_uri

    @property
    def account(self) -> AccountView | None:
        return self._account

    def _set_stage(self, stage: Stage, message: str) -> None:
        self._stage = stage
        self.message.setText(message)
        finished = stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED)
        self.cancel_button.setVisible(not finished and stage is not Stage.FIRST_SYNC)
        self.close_button.setVisible(finished or stage is Stage.FIRST_SYNC)
        self.retry_button.setVisible(stage in (Stage.FAILED, Stage.CANCELLED))
        self.progress.setVisible(stage not in (Stage.FAILED, Stage.CANCELLED, Stage.WEB_PAGE))
        self.stage_changed.emit(stage)

    # --- starting ---------------------------------------------------------------------------

    def start(self) -> None:
        """Begin (or begin again) the sign-in."""
        self._teardown_web()
        self._cancel = threading.Event()
        self._cancel_sent = False
        self._consent_url = None
        self._completing = False
        self.progress.setRange(0, 0)
        self._set_stage(Stage.STARTING, "Opening the sign-in…")
        make = self._setup.make_connector
        provider, sandbox = self.provider, self.sandbox
        if self.embedded:
            self._redirect_uri = f"http://localhost:{random.randint(49152, 65535)}/"
            redirect = self._redirect_uri

            colour, login_hint = self._setup.outlook_colour, self.colour_for

            def begin() -> tuple[CalendarConnector, PendingEmbeddedSignIn]:
                if colour is not None and login_hint is not None:
                    connector = colour.connector(sandbox, login_hint)
                else:
                    connector = make(provider, sandbox)
                starter: EmbeddedSignInConnector = connector  # type: ignore[assignment]
                with warnings.catch_warnings():
                    # MSAL recommends response_mode=form_post because a redirect carrying the code in
                    # its query can leak through a browser's history or a proxy. The embedded view
                    # catches that redirect before any request is made, so "query" is safe here,
                    # and it is the only mode a view that sees URLs (not POST bodies) can use.
                    warnings.filterwarnings("ignore", message=r".*form_post.*", category=UserWarning)
                    pending = starter.begin(redirect, response_mode="query")
                return connector, pending

            self._net.run(begin, on_done=self._on_begun, on_error=self._on_failed, context=self)
        else:

            def sign_in() -> tuple[CalendarConnector, Grant]:
                connector = make(provider, sandbox, browser=self._browser)
                return connector, connector.authorize()

            self._set_stage(Stage.BROWSER, "Waiting for you to finish signing in in your browser…")
            self._net.run(sign_in, on_done=self._on_granted, on_error=self._on_failed, context=self)

    # --- the system browser (Google) -----------------------------------------------------------

    def _browser(self, url: str) -> bool:
        """Called by the connector on the sign-in thread with the consent page's address."""
        with self._cancel_lock:
            self._consent_url = url
        if self._cancel.is_set():
            self._send_decline()
            return True
        opener = self._setup.open_url
        if opener is not None:
            opener(url)
        elif isValid(self._bridge):
            self._bridge.open_requested.emit(url)
        return True

    @Slot(str)
    def _on_bridge_open_requested(self, url: str) -> None:
        if not QDesktopServices.openUrl(QUrl(url)):
            self.message.setText(
                "Your browser did not open. Open this address in a browser to sign in:\n" + url
            )

    def _send_decline(self) -> None:
        """End the loopback receiver with the answer the consent page's Deny button would send."""
        with self._cancel_lock:
            url, already = self._consent_url, self._cancel_sent
            if url is None or already:
                return
            self._cancel_sent = True
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        redirect = query.get("redirect_uri")
        if not redirect or urlsplit(redirect).hostname not in ("127.0.0.1", "localhost", "::1"):
            return
        answer = urlencode(
            {
                "error": "access_denied",
                "error_description": "cancelled in Crewboard",
                "state": query.get("state", ""),
            }
        )
        target = f"{redirect}{'&' if '?' in redirect else '?'}{answer}"

        def deliver() -> None:
            try:
                # A loopback address only (checked above): the app's own one-shot receiver.
                with urllib.request.urlopen(target, timeout=5):
                    pass
            except (urllib.error.URLError, OSError):
                pass  # the receiver already ended

        threading.Thread(target=deliver, name="crewboard-signin-cancel", daemon=True).start()

    # --- the embedded page (Outlook) ------------------------------------------------------------

    def _on_begun(self, result: tuple[CalendarConnector, PendingEmbeddedSignIn]) -> None:
        self._connector, self._pending = result
        if self._cancel.is_set():
            return
        profile = QWebEngineProfile(self)  # no storage name: off the record, nothing written to disk
        assert profile.isOffTheRecord()
        interceptor = RedirectInterceptor(self._redirect_uri, profile)
        interceptor.caught.connect(self._on_redirect_caught)
        profile.setUrlRequestInterceptor(interceptor)
        trusted = trusted_origin(self._setup.sandbox_identity_url) if self.sandbox else None
        page = SignInPage(profile, self._redirect_uri, trusted, profile)
        page.redirected.connect(self._on_redirect_caught)
        view = QWebEngineView(self)
        view.setObjectName("signInView")
        view.setPage(page)
        view.setMinimumSize(520, 460)
        self._profile, self._page, self._view = profile, page, view
        self.pages.addWidget(view)
        self.pages.setCurrentWidget(view)
        self.resize(max(self.width(), 640), max(self.height(), 720))
        prompt = "Sign in with the technician's Microsoft account below."
        if self.colour_for is not None:
            prompt = f"Sign in as {self.colour_for} below. {CONSENT_REASON}"
        self._set_stage(Stage.WEB_PAGE, prompt)
        view.load(QUrl(self._pending.authorization_url))

    @Slot(str)
    def _on_redirect_caught(self, url: str) -> None:
        if self._completing or self._pending is None:
            return
        self._completing = True
        pending = self._pending
        connector = self._connector
        assert connector is not None
        self.progress.setRange(0, 0)
        self._set_stage(Stage.FINISHING, "Signed in. Fetching the calendar list…")
        self.pages.setCurrentWidget(self._blank)
        QTimer.singleShot(0, self._teardown_web)
        self._net.run(
            lambda: (connector, pending.complete(url)),
            on_done=self._on_granted,
            on_error=self._on_failed,
            context=self,
        )

    def _teardown_web(self) -> None:
        """Delete the view, then the page, then its profile: Qt requires the page to go first.

        Never called from inside one of the page's own signals (those defer it to the event loop).
        """
        view, page, profile = self._view, self._page, self._profile
        self._view = self._page = self._profile = None
        if view is not None and isValid(view):
            view.stop()
            self.pages.removeWidget(view)
            shiboken6.delete(view)
        if page is not None and isValid(page):
            shiboken6.delete(page)
        if profile is not None and isValid(profile):
            shiboken6.delete(profile)

    # --- saving and the first sync -----------------------------------------------------------

    def _on_granted(self, result: tuple[CalendarConnector, Grant]) -> None:
        connector, grant = result
        self._connector = connector
        if self._cancel.is_set():
            self._close_connector()
            return
        self.progress.setRange(0, 0)
        count = len(grant.calendars)
        self._set_stage(
            Stage.FINISHING,
            f"Signed in as {grant.email}. Saving {count} calendar{'s' if count != 1 else ''}…",
        )
        accounts = account_service(self.services)
        granted = _GrantedConnector(grant, connector)
        tech_id, provider = self.tech.id, self.provider
        self._db.run(
            lambda: accounts.connect(tech_id, provider, granted),
            on_done=self._on_saved,
            on_error=self._on_failed,
            context=self,
        )

    def _on_saved(self, view: AccountView) -> None:
        colour, connector = self._setup.outlook_colour, self._connector
        if self.colour_for is not None and colour is not None and connector is not None:
            # The connector still holds what this sign-in granted (nothing is read from the network).
            self.colour_answered.emit(colour.granted(connector, view.account))
        self._close_connector()
        self._account = view
        self.connected.emit(view)
        calendars = view.calendars
        names = calendar_names(calendars) or "no calendars"
        sync = self._setup.sync
        if sync is None or not sync.running or not calendars:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            self._set_stage(
                Stage.DONE,
                f"Connected {view.account.email}. Calendars: {names}. "
                "Their events will block time once calendar sync runs.",
            )
            self.first_sync_finished.emit()
            return
        self._waiting_for = {c.id for c in calendars}
        for calendar in calendars:
            sync.request_read(calendar.id)
        self.progress.setRange(0, len(calendars))
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v of %m calendars read")
        self.progress.setFixedHeight(18)
        self._sync_elapsed = 0
        self._reading_text = f"Connected {view.account.email}. Reading {names} for the first time…"
        self._set_stage(Stage.FIRST_SYNC, self._reading_text)
        self._sync_timer.start()

    def _on_sync_timer_timeout(self) -> None:
        if self._account is None:
            self._sync_timer.stop()
            return
        self._sync_elapsed += FIRST_SYNC_POLL_MS
        accounts = account_service(self.services)
        account_id = self._account.account.id
        try:
            self._db.run(lambda: accounts.get(account_id), on_done=self._on_sync_progress, context=self)
        except RuntimeError:  # the board closed meanwhile: nothing left to show progress for
            self._sync_timer.stop()

    def _on_sync_progress(self, view: AccountView) -> None:
        if self._stage is not Stage.FIRST_SYNC:
            return
        read = [c for c in view.calendars if c.id in self._waiting_for and c.sync_cursor]
        self.progress.setValue(len(read))
        if view.account.status in (AccountStatus.NEEDS_RECONNECT, AccountStatus.REVOKED):
            # Waiting on would only end in "taking longer": nothing is read until the tech signs in again.
            self._sync_timer.stop()
            label = provider_label(view.account.provider)
            self._set_stage(
                Stage.DONE,
                f"Connected {view.account.email}, but {label} stopped Crewboard from reading it: "
                "the sign-in was withdrawn or has expired. Use Reconnect in Calendar settings to sign in again.",
            )
            self.first_sync_finished.emit()
        elif len(read) >= len(self._waiting_for):
            self._sync_timer.stop()
            self._set_stage(Stage.DONE, self._read_message(view))
            self.first_sync_finished.emit()
        elif self._sync_elapsed < FIRST_SYNC_LIMIT_MS:
            failed = view.health.last_error if view.health and view.health.failing_since else None
            text = self._reading_text
            if failed:
                text += f" The last try failed ({failed.rstrip('.')}); Crewboard tries again shortly."
            if self.message.text() != text:
                self.message.setText(text)
        else:
            self._sync_timer.stop()
            self._set_stage(
                Stage.DONE,
                f"Connected {view.account.email}. The first read is taking longer than usual; "
                "it carries on in the background.",
            )
            self.first_sync_finished.emit()

    def _read_message(self, view: AccountView) -> str:
        """What now blocks the tech's time: a calendar switched off is read but blocks nothing, and
        a tech who added "Dentist" there would otherwise wonder why the board still books them."""
        text = f"Connected {view.account.email}. Its events now block {self.tech.name}'s time on the board"
        idle = [c for c in view.calendars if c.id in self._waiting_for and not (c.primary or c.blocks)]
        if not idle:
            return text + "."
        which = "that calendar is" if len(idle) == 1 else "those calendars are"
        return f"{text}, except those in {calendar_names(idle)}: {which} set not to block time."

    # --- failure and cancelling ----------------------------------------------------------------

    def _on_failed(self, error: BaseException) -> None:
        self._close_connector()
        self._teardown_web()
        self.pages.setCurrentWidget(self._blank)
        if self._cancel.is_set():
            self._set_stage(Stage.CANCELLED, "Cancelled; nothing was connected.")
            return
        text = str(error) if isinstance(error, CrewboardError) else describe_unexpected()
        if not isinstance(error, CrewboardError):
            log.error("calendar sign-in failed", exc_info=(type(error), error, error.__traceback__))
        self._set_stage(Stage.FAILED, text)
        self.failed.emit(text)

    def cancel(self) -> None:
        """Stop the sign-in: close the page, end the loopback receiver, connect nothing."""
        if self._stage in (Stage.DONE, Stage.FAILED, Stage.CANCELLED):
            self.reject()
            return
        self._cancel.set()
        self._send_decline()
        self._teardown_web()
        self.pages.setCurrentWidget(self._blank)
        self._set_stage(Stage.CANCELLED, "Cancelled; nothing was connected.")

    def _close_connector(self) -> None:
        connector, self._connector = self._connector, None
        if connector is not None:
            try:
                connector.close()
            except Exception:
                log.exception("closing a calendar connector failed")

    def _release(self) -> None:
        self._sync_timer.stop()
        if self._stage not in (Stage.DONE, Stage.FAILED, Stage.CANCELLED, Stage.FIRST_SYNC):
            self._cancel.set()
            self._send_decline()
        self._teardown_web()
        self._net.shutdown()
        self._close_connector()
