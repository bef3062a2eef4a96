"""Microsoft sign-in through MSAL's public client: auth code with loopback or an embedded view,
device code, and silent refresh; the MSAL token cache lives in the OS keyring, never in a file.

Each account keeps its own `SerializableTokenCache`, serialized into the keyring under the
account's `token_ref` whenever MSAL changed it. The sign-in can run three ways:

* `run()`: the system browser and a loopback redirect (what the CLI and the desktop app use);
* `begin(redirect_uri)` → `authorization_url`, then `complete(redirect_url)`: for a page hosted in an
  embedded view, which hands back the URL it was redirected to (Entra accepts embedded views);
* `device(show)`: a code the tech types at the verification page on any device.

Microsoft has no endpoint where a public client can revoke its refresh token, so disconnecting
removes the account from the cache and deletes the keyring entry; the tech can withdraw the consent at
https://account.live.com/consent/Manage (personal) or https://myapps.microsoft.com (work).
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import requests

from app.domain.model import CalendarAccount, Provider
from app.services.ports import Grant, ProviderUnavailable, ReconnectRequired, RemoteCalendar, SignInFailed
from sync.providers.config import MicrosoftSettings
from sync.providers.google_auth import SIGN_IN_TIMEOUT, Browser, LoopbackReceiver, check_answer
from sync.providers.secrets import TokenStore, token_ref

log = logging.getLogger(__name__)

MICROSOFT_SCOPES: tuple[str, ...] = ("Calendars.ReadWrite", "User.Read")
# Asked for only when the office turned colour on for the tech (app.services.outlook_colour): it lets
# Crewboard add its one category to the mailbox's master list. Incremental consent: a tech who
# declines it keeps sync working, without colour.
COLOUR_SCOPE = "MailboxSettings.ReadWrite"
HTTP_TIMEOUT = 30.0
# Answers that only the tech signing in again can fix (reference §7, "re-login needed").
RECONNECT_ERRORS = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required", "bad_token"}
)

DeviceCodeShow = Callable[[Mapping[str, Any]], None]


def http_session(settings: MicrosoftSettings) -> requests.Session:
    """The HTTP client MSAL uses: trusting the sandbox's CA when there is one.

    With a private CA, `trust_env` is off: REQUESTS_CA_BUNDLE would otherwise silently replace
    `verify` (reference §7, TLS options).
    """
    session = requests.Session()
    if settings.ca_file:
        session.trust_env = False
        session.verify = settings.ca_file
    return session


def _result_error(result: Mapping[str, Any]) -> tuple[str, str]:
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "").split("\r\n", 1)[0].split("\n", 1)[0]
    return error, description


@dataclass(slots=True)
class PendingMicrosoftSignIn:
    """A started auth-code sign-in. Show `authorization_url`; pass the redirect back to `complete`."""

    authorization_url: str
    redirect_uri: str
    state: str
    _owner: MicrosoftConnector
    _app: msal.PublicClientApplication
    _cache: msal.SerializableTokenCache
    _flow: dict[str, Any]

    def complete(self, redirect_url: str) -> Grant:
        """Finish with the URL the browser or embedded view was redirected to (query or form values)."""
        parts = urlsplit(redirect_url)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not params and parts.fragment:
            params = {k: v[0] for k, v in parse_qs(parts.fragment).items()}
        return self.complete_with(params)

    def complete_with(self, params: Mapping[str, str]) -> Grant:
        check_answer(params, self.state, "Microsoft")
        try:
            result = self._app.acquire_token_by_auth_code_flow(
                self._flow, dict(params), scopes=list(self._owner.scopes)
            )
        except ValueError as error:  # MSAL's own state/nonce checks
            log.info("MSAL refused the auth response: %s", type(error).__name__)
            raise SignInFailed(
                "The Microsoft sign-in answer did not match the request Crewboard made; start it again."
            ) from None
        except requests.RequestException as error:
            raise _offline(error) from None
        return self._owner._adopt(self._app, self._cache, result)


def _offline(error: BaseException) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"Could not reach Microsoft ({type(error).__name__}); check the connection and try again."
    )


class MicrosoftConnector:
    """Connects a Microsoft (Outlook) account: sign-in, cache in the keyring, calendar list, disconnect."""

    def __init__(
        self,
        settings: MicrosoftSettings,
        store: TokenStore | None = None,
        browser: Browser = webbrowser.open,
        timeout: float = SIGN_IN_TIMEOUT,
        use_device_code: bool = False,
        show_device_code: DeviceCodeShow | None = None,
        login_hint: str | None = None,
        extra_scopes: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        # Beyond what sync needs, asked for at this sign-in (incremental consent); optional.
        self.extra_scopes = tuple(s for s in extra_scopes if s not in MICROSOFT_SCOPES)
        self.store = store or TokenStore()
        self._browser = browser
        self._timeout = timeout
        self._use_device_code = use_device_code
        self._show_device_code = show_device_code or (lambda flow: print(flow.get("message", "")))
        self._login_hint = login_hint
        self._session = http_session(settings)
        self._clients: dict[
            str, tuple[msal.PublicClientApplication, msal.SerializableTokenCache, str | None]
        ] = {}
        self._granted_extra: dict[str, tuple[str, ...]] = {}  # token_ref -> extra scopes granted

    @property
    def scopes(self) -> tuple[str, ...]:
        """What this sign-in asks for: sync's scopes and the extra ones."""
        return (*MICROSOFT_SCOPES, *self.extra_scopes)

    @property
    def provider(self) -> Provider:
        return Provider.MICROSOFT

    @property
    def endpoint(self) -> str | None:
        return self.settings.endpoint

    # -- MSAL ---------------------------------------------------------------------------------------

    def _app(self, cache: msal.SerializableTokenCache) -> msal.PublicClientApplication:
        try:
            return msal.PublicClientApplication(
                self.settings.client_id,
                authority=self.settings.authority,
                token_cache=cache,
                http_client=self._session,
                instance_discovery=self.settings.instance_discovery,
                timeout=HTTP_TIMEOUT,
            )
        except (requests.RequestException, msal.exceptions.MsalServiceError) as error:
            # Offline, or the sign-in service answered 5xx while MSAL read its configuration.
            raise _offline(error) from None
        except ValueError as error:  # an authority MSAL cannot use (a typo in the tenant, say)
            raise SignInFailed(
                f"Microsoft rejected the sign-in authority {self.settings.authority} ({error})."
            ) from None

    def _client_for(
        self, account: CalendarAccount
    ) -> tuple[msal.PublicClientApplication, msal.SerializableTokenCache, str | None]:
        """The account's MSAL client over its cache from the keyring (built once per connector)."""
        known = self._clients.get(account.token_ref)
        if known is not None:
            return known
        blob = self.store.load(account.token_ref)
        text = blob.get("msal_cache") if blob else None
        if not blob or not isinstance(text, str) or not text:
            raise ReconnectRequired("Crewboard holds no Microsoft sign-in for this account any more.")
        cache = msal.SerializableTokenCache()
        cache.deserialize(text)
        home = blob.get("home_account_id")
        extra = blob.get("extra_scopes")
        self._granted_extra[account.token_ref] = (
            tuple(str(s) for s in extra) if isinstance(extra, list) else ()
        )
        client = (self._app(cache), cache, str(home) if home else None)
        self._clients[account.token_ref] = client
        return client

    def _save(self, ref: str, cache: msal.SerializableTokenCache, home_account_id: str | None) -> None:
        self.store.save(
            ref,
            {
                "msal_cache": cache.serialize(),
                "home_account_id": home_account_id,
                # Names of permissions, not tokens: which extra ones the tech granted.
                "extra_scopes": list(self._granted_extra.get(ref, ())),
            },
        )

    def has_scope(self, account: CalendarAccount, scope: str) -> bool:
        """Whether the tech granted `scope` (one of the extra scopes) at their last sign-in."""
        try:
            self._client_for(account)
        except ReconnectRequired:
            return False
        return scope in self._granted_extra.get(account.token_ref, ())

    # -- sign-in ------------------------------------------------------------------------------------

    def begin(self, redirect_uri: str, response_mode: str = "form_post") -> PendingMicrosoftSignIn:
        """Start an auth-code sign-in with PKCE, state and nonce that will come back to `redirect_uri`.

        With "form_post" (the default, as RFC 9700 recommends) the code arrives as a form POST to the
        loopback receiver; an embedded view that can only see URLs passes response_mode="query" and
        hands the redirect URL to `complete`.
        """
        cache = msal.SerializableTokenCache()
        app = self._app(cache)
        extra = {"login_hint": self._login_hint} if self._login_hint else {}
        flow: dict[str, Any] = app.initiate_auth_code_flow(
            list(self.scopes),
            redirect_uri=redirect_uri,
            prompt="select_account",
            response_mode=response_mode,
            **extra,
        )
        return PendingMicrosoftSignIn(
            authorization_url=flow["auth_uri"],
            redirect_uri=redirect_uri,
            state=flow["state"],
            _owner=self,
            _app=app,
            _cache=cache,
            _flow=flow,
        )

    def run(self) -> Grant:
        """Sign in through the system browser and a loopback redirect."""
        # Entra accepts any port on http://localhost for desktop apps but rejects 127.0.0.1.
        with LoopbackReceiver(redirect_host="localhost") as receiver:
            pending = self.begin(receiver.redirect_uri)
            self._browser(pending.authorization_url)
            params = receiver.wait(self._timeout)
        return pending.complete_with(params)

    def device(self) -> Grant:
        """Sign in with a device code shown to the tech (`show_device_code` gets MSAL's flow)."""
        cache = msal.SerializableTokenCache()
        app = self._app(cache)
        try:
            flow: dict[str, Any] = app.initiate_device_flow(scopes=list(self.scopes))
        except requests.RequestException as error:
            raise _offline(error) from None
        if "user_code" not in flow:
            _error, description = _result_error(flow)
            raise SignInFailed(f"Microsoft would not start a device-code sign-in ({description or _error}).")
        self._show_device_code(flow)
        try:
            result = app.acquire_token_by_device_flow(flow)
        except requests.RequestException as error:
            raise _offline(error) from None
        return self._adopt(app, cache, result)

    def authorize(self) -> Grant:
        self.store.backend  # noqa: B018 - refuse before the browser opens when no keyring can keep tokens
        return self.device() if self._use_device_code else self.run()

    def _adopt(
        self, app: msal.PublicClientApplication, cache: msal.SerializableTokenCache, result: Mapping[str, Any]
    ) -> Grant:
        """Keep a fresh sign-in's cache in the keyring under the account's email; list its calendars."""
        if "access_token" not in result:
            error, description = _result_error(result)
            if error in ("access_denied", "authorization_declined"):
                raise SignInFailed("The Microsoft sign-in was declined, so nothing was connected.")
            raise SignInFailed(f"Microsoft refused to complete the sign-in ({description or error}).")
        granted = {s.lower() for s in str(result.get("scope", "")).split()}
        missing = [s for s in MICROSOFT_SCOPES if s.lower() not in granted and not _granted(s, granted)]
        if missing:
            raise SignInFailed(
                f"Crewboard needs the permissions {', '.join(MICROSOFT_SCOPES)}; Microsoft granted no "
                f"{', '.join(missing)}. Connect again and accept them."
            )
        from sync.providers.graph_calendars import list_calendars

        token = str(result["access_token"])
        calendars, email, name = list_calendars(self.settings, lambda _force: token)
        claims = result.get("id_token_claims") or {}
        home_account_id = _home_account_id(app, claims, email)
        ref = token_ref(Provider.MICROSOFT, email)
        self._granted_extra[ref] = tuple(
            s for s in self.extra_scopes if s.lower() in granted or _granted(s, granted)
        )
        self._save(ref, cache, home_account_id)
        self._clients[ref] = (app, cache, home_account_id)
        return Grant(email=email, token_ref=ref, calendars=tuple(calendars), display_name=name)

    # -- tokens for an existing account ------------------------------------------------------------------

    def access_token(self, account: CalendarAccount, force_refresh: bool = False) -> str:
        """A valid access token from the cache, refreshing silently when needed (or when forced)."""
        app, cache, home = self._client_for(account)
        known = app.get_accounts()
        chosen = next((a for a in known if home and a.get("home_account_id") == home), None)
        chosen = chosen or next(
            (a for a in known if str(a.get("username", "")).lower() == account.email), None
        )
        if chosen is None:
            raise ReconnectRequired("Crewboard holds no Microsoft sign-in for this account any more.")
        try:
            # With the extra scopes the tech granted, so the token carries them (a category needs one).
            scopes = [*MICROSOFT_SCOPES, *self._granted_extra.get(account.token_ref, ())]
            result = app.acquire_token_silent_with_error(scopes, account=chosen, force_refresh=force_refresh)
        except (requests.RequestException, msal.exceptions.MsalServiceError) as error:
            raise _offline(error) from None
        if result is None:
            raise ReconnectRequired("Microsoft has no usable sign-in left for this account.")
        if "access_token" not in result:
            code, description = _result_error(result)
            if code in RECONNECT_ERRORS or result.get("suberror") in RECONNECT_ERRORS:
                raise ReconnectRequired(
                    f"Microsoft no longer accepts the sign-in ({code}: {description or 'sign in again'})."
                )
            raise ProviderUnavailable(f"Microsoft could not renew the sign-in ({code}); trying again later.")
        if cache.has_state_changed:
            self._save(account.token_ref, cache, chosen.get("home_account_id"))
        return str(result["access_token"])

    def refresh(self, account: CalendarAccount) -> None:
        """Redeem the refresh token now (what sync does when Graph answers 401)."""
        self.access_token(account, force_refresh=True)

    def list_calendars(self, account: CalendarAccount) -> list[RemoteCalendar]:
        from sync.providers.graph_calendars import list_calendars

        calendars, _email, _name = list_calendars(
            self.settings, lambda force: self.access_token(account, force)
        )
        return calendars

    def close(self) -> None:
        """Close the HTTP connections MSAL keeps open."""
        self._clients.clear()
        self._session.close()

    def __enter__(self) -> MicrosoftConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def disconnect(self, account: CalendarAccount) -> None:
        """Forget the sign-in: remove the account from its cache and delete the keyring entry."""
        try:
            app, _cache, _home = self._client_for(account)
        except ReconnectRequired:
            pass
        else:
            for known in app.get_accounts():
                app.remove_account(known)
        self._clients.pop(account.token_ref, None)
        self.store.delete(account.token_ref)


def _granted(scope: str, granted: set[str]) -> bool:
    """Entra reports Graph scopes as full URLs ("https://graph.microsoft.com/Calendars.ReadWrite")."""
    return any(g.endswith("/" + scope.lower()) for g in granted)


def _home_account_id(app: msal.PublicClientApplication, claims: Mapping[str, Any], email: str) -> str | None:
    for known in app.get_accounts():
        if str(known.get("username", "")).lower() in (
            email,
            str(claims.get("preferred_username", "")).lower(),
        ):
            value = known.get("home_account_id")
            return str(value) if value else None
    return None
