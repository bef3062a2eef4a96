"""Connecting a CalDAV calendar: server address, user name, app-specific password, keyring.

iCloud and Fastmail offer no OAuth for CalDAV; a tech makes an app-specific password instead
(README, "Connecting an iPhone (iCloud), Fastmail or Nextcloud calendar"). The connector checks
it against the server (discovery and the calendar list), then keeps the address, the user name,
the password and the discovered calendar home in one keyring entry; the database holds only the
entry's name. Nothing here logs or prints the password.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

from app.domain.model import CalendarAccount, Provider
from app.errors import InvalidInput
from app.services.ports import Grant, ProviderUnavailable, ReconnectRequired, RemoteCalendar
from sync.providers.caldav_client import CaldavCredentials
from sync.providers.caldav_provider import CaldavCalendarProvider
from sync.providers.errors import AuthExpired, ProviderError
from sync.providers.secrets import TokenStore, token_ref

T = TypeVar("T")


def account_name(url: str, username: str) -> str:
    """The account's name on the board: the user name when it is an address, else user@host."""
    name = username.strip()
    if "@" in name:
        return name.lower()
    host = urlsplit(url.strip()).hostname or "caldav"
    return f"{name}@{host}".lower()


def check_input(url: str, username: str, password: str) -> None:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"'{url}' is not a CalDAV server address; give one like https://caldav.icloud.com."
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise InvalidInput("A CalDAV password must not travel unencrypted; use an https:// address.")
    if not username.strip():
        raise InvalidInput("Give the CalDAV user name (for iCloud, the Apple ID e-mail address).")
    if not password:
        raise InvalidInput("Give the app-specific password the calendar server made for Crewboard.")


def credentials_from_blob(blob: dict[str, Any] | None) -> tuple[CaldavCredentials, str | None]:
    """The credentials and calendar home kept in the keyring; ReconnectRequired when unusable."""
    if not blob:
        raise ReconnectRequired("Crewboard holds no CalDAV password for this account any more.")
    url, username, password = blob.get("url"), blob.get("username"), blob.get("password")
    if not all(isinstance(v, str) and v for v in (url, username, password)):
        raise ReconnectRequired("The stored CalDAV sign-in is incomplete; connect the calendar again.")
    home = blob.get("home")
    return CaldavCredentials(str(url), str(username), str(password)), home if isinstance(home, str) else None


def run_blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from blocking code, even when this thread has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


class CaldavConnector:
    """The `CalendarConnector` for CalDAV accounts."""

    def __init__(
        self,
        url: str = "",
        username: str = "",
        password: str = "",
        store: TokenStore | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._url = url.strip()
        self._username = username.strip()
        self._password = password
        self.store = store or TokenStore()
        self._timeout = timeout

    @property
    def provider(self) -> Provider:
        return Provider.CALDAV

    @property
    def endpoint(self) -> str | None:
        return None

    def authorize(self) -> Grant:
        check_input(self._url, self._username, self._password)
        self.store.backend  # noqa: B018 - refuse before anything when no keyring can keep the password
        credentials = CaldavCredentials(self._url, self._username, self._password)
        calendars, home = run_blocking(self._calendars(credentials, None))
        email = account_name(self._url, self._username)
        ref = token_ref(Provider.CALDAV, email)
        self.store.save(
            ref,
            {"url": self._url, "username": self._username, "password": self._password, "home": home},
        )
        return Grant(email=email, token_ref=ref, calendars=tuple(calendars))

    async def _calendars(
        self, credentials: CaldavCredentials, home: str | None
    ) -> tuple[list[RemoteCalendar], str]:
        provider = CaldavCalendarProvider(credentials, home=home, timeout=self._timeout)
        try:
            calendars = await provider.list_calendars()
            return calendars, provider.home
        except AuthExpired:
            raise ReconnectRequired(
                "The calendar server refused the user name or password; make a new app-specific "
                "password and connect again."
            ) from None
        except ProviderError as error:  # offline, throttled, or no calendars at that address
            raise ProviderUnavailable(str(error)) from None
        finally:
            await provider.aclose()

    def list_calendars(self, account: CalendarAccount) -> list[RemoteCalendar]:
        credentials, home = credentials_from_blob(self.store.load(account.token_ref))
        calendars, _home = run_blocking(self._calendars(credentials, home))
        return calendars

    def disconnect(self, account: CalendarAccount) -> None:
        """Forget the password; the tech revokes it at the provider (it cannot be revoked from here)."""
        self.store.delete(account.token_ref)

    def close(self) -> None:
        """Nothing to release: each call opens and closes its own connections."""


def open_caldav_provider(
    account: CalendarAccount, store: TokenStore, *, timeout: float | None = None
) -> CaldavCalendarProvider:
    """The provider for a connected CalDAV account; AuthExpired when no password is stored."""
    try:
        credentials, home = credentials_from_blob(store.load(account.token_ref))
    except ReconnectRequired as error:
        raise AuthExpired(str(error), reason="reconnect_required") from None
    if timeout is None:
        return CaldavCalendarProvider(credentials, home=home)
    return CaldavCalendarProvider(credentials, home=home, timeout=timeout)
