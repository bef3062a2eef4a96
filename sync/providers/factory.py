"""The one place that turns a connected calendar account into its `CalendarProvider`.

Accounts that live in the provider sandbox (`endpoint` set) get the endpoints the sandbox's
control API names; real accounts get the client ids from settings. The provider owns the
connector it was built with and releases it in `aclose()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from app.domain.model import CalendarAccount, Provider
from app.services.ports import ProviderUnavailable, ReconnectRequired
from sync.providers.caldav_auth import open_caldav_provider
from sync.providers.config import google_settings, microsoft_settings
from sync.providers.endpoints import read_endpoints
from sync.providers.errors import AuthExpired, Transient
from sync.providers.google_auth import GoogleConnector
from sync.providers.google_provider import HTTP_TIMEOUT as GOOGLE_TIMEOUT
from sync.providers.google_provider import GoogleCalendarProvider
from sync.providers.graph_provider import HTTP_TIMEOUT as GRAPH_TIMEOUT
from sync.providers.graph_provider import GraphCalendarProvider
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.protocol import CalendarProvider
from sync.providers.secrets import TokenStore


def _utc_now() -> datetime:
    return datetime.now(UTC)


def open_provider(
    account: CalendarAccount,
    store: TokenStore,
    *,
    timeout: float | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> CalendarProvider:
    """The provider for `account`; AuthExpired when no usable sign-in is stored for it.

    `timeout` bounds each HTTP request in seconds (the providers' defaults otherwise).
    """
    try:
        if account.provider is Provider.GOOGLE:
            settings = (
                read_endpoints(account.endpoint).google_settings() if account.endpoint else google_settings()
            )
            credentials = GoogleConnector(settings, store).credentials(account)
            return GoogleCalendarProvider(settings, credentials, timeout=timeout or GOOGLE_TIMEOUT)
        if account.provider is Provider.MICROSOFT:
            ms_settings = (
                read_endpoints(account.endpoint).microsoft_settings()
                if account.endpoint
                else microsoft_settings()
            )
            connector = MicrosoftConnector(ms_settings, store)

            def token(force: bool) -> str:
                return connector.access_token(account, force)

            return GraphCalendarProvider(
                ms_settings, token, timeout=timeout or GRAPH_TIMEOUT, clock=clock, on_close=connector.close
            )
        if account.provider is Provider.CALDAV:
            return open_caldav_provider(account, store, timeout=timeout)
    except ReconnectRequired as error:
        raise AuthExpired(str(error), reason="reconnect_required") from None
    except ProviderUnavailable as error:
        raise Transient(str(error)) from None
    raise ValueError(f"no calendar provider for {account.provider!r}")
