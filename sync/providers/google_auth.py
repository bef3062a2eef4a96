"""Google sign-in for a desktop app: system browser, loopback redirect, PKCE; refresh and revoke.

The installed-app flow Google supports today (reference §7): the app listens once on
127.0.0.1 at an ephemeral port, opens the consent page in the system browser (embedded webviews are
blocked by Google), checks the returned `state`, and redeems the code with its PKCE verifier through
google-auth-oauthlib. Only the refresh token and the granted scopes are kept, in the OS keyring.

`LoopbackReceiver` also serves Microsoft's loopback sign-in.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import logging
import os
import threading
import webbrowser
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import google.auth.exceptions
import requests
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]

from app.domain.model import CalendarAccount, Provider
from app.services.ports import Grant, ProviderUnavailable, ReconnectRequired, RemoteCalendar, SignInFailed
from sync.providers.config import GoogleSettings
from sync.providers.google_calendars import list_calendars
from sync.providers.google_renewal import reconnect_error
from sync.providers.secrets import TokenStore, token_ref

log = logging.getLogger(__name__)

GOOGLE_SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
)
SIGN_IN_TIMEOUT = 300.0
HTTP_TIMEOUT = 30.0

Browser = Callable[[str], object]

DONE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Crewboard</title>
<style>body{{font-family:system-ui,sans-serif;margin:15vh auto;max-width:32em;text-align:center;color:#222}}</style>
</head><body><h1>{title}</h1><p>You can close this window and return to Crewboard.</p></body></html>
"""


# --- the loopback redirect receiver ---------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _OneShotServer

    def do_GET(self) -> None:
        self._answer(urlsplit(self.path).query)

    def do_POST(self) -> None:  # response_mode=form_post
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        body = self.rfile.read(length).decode("utf-8", "replace")
        query = urlsplit(self.path).query
        self._answer("&".join(part for part in (query, body) if part))

    def _answer(self, query: str) -> None:
        params = parse_qs(query)
        if not ({"code", "error", "state"} & params.keys()):
            # A favicon or a stray probe: not the sign-in answer; keep waiting for that.
            self.send_error(404)
            return
        failed = "error" in params
        title = "Sign-in was not completed" if failed else "You are signed in"
        body = DONE_PAGE.format(title=html.escape(title)).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        self.server.deliver(query)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries the authorization code: it must never reach a log.
        return


class _OneShotServer(http.server.HTTPServer):
    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.timeout = 0.2
        self.received: str | None = None
        self.done = threading.Event()

    def deliver(self, query: str) -> None:
        if not self.done.is_set():
            self.received = query
            self.done.set()


class LoopbackReceiver:
    """A one-shot HTTP listener on 127.0.0.1 at an ephemeral port that captures the sign-in answer.

    It answers the browser with a page saying the window can be closed, and hands the query
    parameters (code, state, or error) to whoever waits. Use as a context manager.
    """

    def __init__(self, redirect_host: str = "127.0.0.1", path: str = "/") -> None:
        self._server = _OneShotServer("127.0.0.1")
        self.port = int(self._server.server_address[1])
        self.redirect_uri = f"http://{redirect_host}:{self.port}{path}"
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="crewboard-signin-receiver", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closing.is_set() and not self._server.done.is_set():
            self._server.handle_request()

    def wait(self, timeout: float) -> dict[str, str]:
        """The answer's parameters; SignInFailed if none arrives within `timeout` seconds."""
        if not self._server.done.wait(timeout):
            raise SignInFailed(
                f"No answer came back from the sign-in page within {round(timeout)} seconds; start again."
            )
        assert self._server.received is not None
        return {key: values[0] for key, values in parse_qs(self._server.received).items()}

    @property
    def response_url(self) -> str:
        """The redirect URL the browser came back to (with its query), once an answer arrived."""
        return f"{self.redirect_uri}?{self._server.received or ''}"

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=2)
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_answer(params: Mapping[str, str], expected_state: str, provider: str) -> str:
    """The authorization code from a redirect's parameters, after checking `state` and errors."""
    if params.get("state") != expected_state:
        raise SignInFailed(
            f"The {provider} sign-in answer did not match the request Crewboard made (state mismatch), "
            "so it was refused; start the sign-in again."
        )
    error = params.get("error")
    if error == "access_denied":
        raise SignInFailed(f"The {provider} sign-in was declined, so nothing was connected.")
    if error:
        detail = params.get("error_description") or error
        raise SignInFailed(f"The {provider} sign-in failed ({detail}); start it again.")
    code = params.get("code")
    if not code:
        raise SignInFailed(f"The {provider} sign-in answer carried no authorization code; start it again.")
    return code


@contextmanager
def insecure_loopback_transport(token_uri: str) -> Iterator[None]:
    """Let oauthlib post to a plain-http token endpoint only when it is on this machine (the sandbox).

    oauthlib refuses http:// outright unless OAUTHLIB_INSECURE_TRANSPORT is set; real Google is
    https and never takes this path.
    """
    host = urlsplit(token_uri).hostname or ""
    if not token_uri.startswith("http://") or host not in ("127.0.0.1", "localhost", "::1"):
        yield
        return
    with _env_lock:
        previous = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = previous


_env_lock = threading.Lock()


# --- Google sign-in, refresh, revoke ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingGoogleSignIn:
    """A started sign-in: the consent URL to show, and what is needed to finish it."""

    authorization_url: str
    state: str
    redirect_uri: str
    flow: Flow


class GoogleSignIn:
    """The installed-app authorization-code flow with PKCE S256 and a loopback redirect."""

    def __init__(
        self,
        settings: GoogleSettings,
        browser: Browser = webbrowser.open,
        timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        self.settings = settings
        self._browser = browser
        self._timeout = timeout

    def _client_config(self) -> dict[str, Any]:
        return {
            "installed": {
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
                "auth_uri": self.settings.auth_uri,
                "token_uri": self.settings.token_uri,
                "redirect_uris": ["http://127.0.0.1"],
            }
        }

    def start(self, redirect_uri: str, login_hint: str | None = None) -> PendingGoogleSignIn:
        flow = Flow.from_client_config(
            self._client_config(),
            scopes=list(GOOGLE_SCOPES),
            redirect_uri=redirect_uri,
            autogenerate_code_verifier=True,
        )
        extra = {"login_hint": login_hint} if login_hint else {}
        # prompt=consent makes Google hand out a refresh token even when the app was allowed before.
        with insecure_loopback_transport(self.settings.auth_uri):
            url, state = flow.authorization_url(access_type="offline", prompt="consent", **extra)
        return PendingGoogleSignIn(url, state, redirect_uri, flow)

    def finish(self, pending: PendingGoogleSignIn, params: Mapping[str, str]) -> Credentials:
        code = check_answer(params, pending.state, "Google")
        try:
            with insecure_loopback_transport(self.settings.token_uri):
                pending.flow.fetch_token(code=code, timeout=HTTP_TIMEOUT)
        except OAuth2Error as error:
            raise SignInFailed(
                f"Google refused to complete the sign-in ({error.error}); start it again."
            ) from None
        except (requests.RequestException, OSError) as error:
            raise ProviderUnavailable(
                f"Could not reach Google to finish the sign-in ({type(error).__name__}); check the "
                "connection and try again."
            ) from None
        except Warning as warning:  # oauthlib: "Scope has changed" when the user unticked one
            log.info("Google granted other scopes than asked: %s", type(warning).__name__)
            raise SignInFailed(_missing_scopes_message()) from None
        finally:
            pending.flow.oauth2session.close()
        credentials: Credentials = pending.flow.credentials
        granted = set(credentials.granted_scopes or credentials.scopes or ())
        if not set(GOOGLE_SCOPES) <= granted:
            raise SignInFailed(_missing_scopes_message())
        if not credentials.refresh_token:
            raise SignInFailed(
                "Google did not hand out a refresh token; remove Crewboard's access and retry."
            )
        return credentials

    def run(self, login_hint: str | None = None) -> Credentials:
        """Open the consent page in the browser and wait for the loopback answer."""
        with LoopbackReceiver() as receiver:
            pending = self.start(receiver.redirect_uri, login_hint)
            self._browser(pending.authorization_url)
            params = receiver.wait(self._timeout)
        return self.finish(pending, params)


def _missing_scopes_message() -> str:
    return (
        "Crewboard needs both permissions Google asked about (edit events, see your calendar list); "
        "connect again and leave both ticked."
    )


def credentials_from_blob(settings: GoogleSettings, blob: Mapping[str, Any]) -> Credentials:
    """Credentials that will fetch a fresh access token from the refresh token on first use."""
    scopes = blob.get("scopes") or list(GOOGLE_SCOPES)
    return Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token=blob["refresh_token"],
        token_uri=settings.token_uri,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scopes=list(scopes),
    )


def refresh(credentials: Credentials, session: requests.Session | None = None) -> None:
    """Get a fresh access token; ReconnectRequired when Google no longer honours the refresh token."""
    with contextlib.ExitStack() as stack:
        if session is None:
            session = stack.enter_context(requests.Session())
        try:
            credentials.refresh(AuthRequest(session))  # type: ignore[no-untyped-call]
        except google.auth.exceptions.RefreshError as error:
            raise reconnect_error(error) from None
        except google.auth.exceptions.TransportError as error:
            raise ProviderUnavailable(
                f"Could not reach Google to renew the sign-in ({type(error).__name__}); trying again later."
            ) from None


def revoke(settings: GoogleSettings, token: str, session: requests.Session | None = None) -> bool:
    """Revoke a refresh (or access) token; True if Google ended the grant or it was already dead."""
    try:
        with contextlib.ExitStack() as stack:
            if session is None:
                session = stack.enter_context(requests.Session())
            response = session.post(
                settings.revoke_uri,
                data=urlencode({"token": token}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=HTTP_TIMEOUT,
            )
    except requests.RequestException as error:
        raise ProviderUnavailable(
            f"Could not reach Google to revoke Crewboard's access ({type(error).__name__}); try again "
            "when online."
        ) from None
    if response.status_code == 200:
        return True
    if response.status_code == 400:  # invalid_token: already revoked or expired; nothing left to end
        log.info("Google says the token was already revoked")
        return True
    raise ProviderUnavailable(
        f"Google did not revoke the access (HTTP {response.status_code}); try again later."
    )


# --- the connector the use cases drive ------------------------------------------------------------


class GoogleConnector:
    """Connects a Google account: sign-in, tokens in the keyring, calendar list, disconnect."""

    def __init__(
        self,
        settings: GoogleSettings,
        store: TokenStore | None = None,
        browser: Browser = webbrowser.open,
        timeout: float = SIGN_IN_TIMEOUT,
        login_hint: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or TokenStore()
        self.sign_in = GoogleSignIn(settings, browser, timeout)
        self._login_hint = login_hint
        self._live: dict[str, Credentials] = {}  # access tokens stay in memory only

    @property
    def provider(self) -> Provider:
        return Provider.GOOGLE

    @property
    def endpoint(self) -> str | None:
        return self.settings.endpoint

    def authorize(self) -> Grant:
        self.store.backend  # noqa: B018 - refuse before the browser opens when no keyring can keep tokens
        credentials = self.sign_in.run(self._login_hint)
        return self.adopt(credentials)

    def adopt(self, credentials: Credentials) -> Grant:
        """Keep fresh credentials in the keyring under the account's email and list its calendars."""
        calendars, email = list_calendars(self.settings, credentials)
        ref = token_ref(Provider.GOOGLE, email)
        self.store.save(ref, {"refresh_token": credentials.refresh_token, "scopes": sorted(GOOGLE_SCOPES)})
        self._live[ref] = credentials
        return Grant(email=email, token_ref=ref, calendars=tuple(calendars))

    def credentials(self, account: CalendarAccount) -> Credentials:
        """Live credentials for `account` (refreshed on demand); ReconnectRequired if none are stored."""
        live = self._live.get(account.token_ref)
        if live is not None:
            return live
        blob = self.store.load(account.token_ref)
        if not blob or not blob.get("refresh_token"):
            raise ReconnectRequired("Crewboard holds no Google sign-in for this account any more.")
        credentials = credentials_from_blob(self.settings, blob)
        self._live[account.token_ref] = credentials
        return credentials

    def refresh(self, account: CalendarAccount) -> None:
        """Renew the access token now (what sync does when Google answers 401)."""
        refresh(self.credentials(account))

    def list_calendars(self, account: CalendarAccount) -> list[RemoteCalendar]:
        calendars, _email = list_calendars(self.settings, self.credentials(account))
        return calendars

    def close(self) -> None:
        """Nothing to release: every call opens and closes its own HTTP connections."""

    def disconnect(self, account: CalendarAccount) -> None:
        blob = self.store.load(account.token_ref)
        token = blob.get("refresh_token") if blob else None
        if isinstance(token, str) and token:
            revoke(self.settings, token)
        self._live.pop(account.token_ref, None)
        self.store.delete(account.token_ref)
