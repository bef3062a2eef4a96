"""A Microsoft account's profile and calendar list through Microsoft Graph (httpx).

`GET /me` names the account (mail, else userPrincipalName) and `GET /me/calendars` lists its
calendars, following @odata.nextLink. A 401 asks the token source for a forced refresh once, as
sync does on any Graph call; a second 401 or a 403 means the sign-in no longer works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from app.services.ports import ProviderUnavailable, ReconnectRequired, RemoteCalendar
from sync.providers.config import MicrosoftSettings
from sync.providers.tls import tls_context

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
TokenSource = Callable[[bool], str]  # force_refresh -> access token


def graph_client(settings: MicrosoftSettings) -> httpx.Client:
    return httpx.Client(
        base_url=settings.graph_base.rstrip("/") + "/",
        verify=tls_context(settings.ca_file),
        trust_env=settings.ca_file is None,
        timeout=HTTP_TIMEOUT,
        headers={"Accept": "application/json"},
    )


def _get(client: httpx.Client, url: str, token: TokenSource, params: dict[str, str] | None = None) -> Any:
    for attempt in range(2):
        try:
            response = client.get(
                url, params=params, headers={"Authorization": f"Bearer {token(attempt > 0)}"}
            )
        except httpx.HTTPError as error:
            raise ProviderUnavailable(
                f"Could not reach Microsoft Graph ({type(error).__name__}); check the connection and try again."
            ) from None
        if response.status_code == 401 and attempt == 0:
            continue  # the access token died early (revoked sessions, clock skew): refresh once
        if response.status_code in (401, 403):
            code = _error_code(response)
            raise ReconnectRequired(
                f"Microsoft Graph refused Crewboard's access (HTTP {response.status_code}"
                f"{', ' + code if code else ''}); the sign-in is no longer valid."
            )
        if response.status_code >= 400:
            raise ProviderUnavailable(
                f"Microsoft Graph could not list the calendars (HTTP {response.status_code}); trying again later."
            )
        return response.json()
    raise AssertionError("unreachable")  # pragma: no cover


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def profile(client: httpx.Client, token: TokenSource) -> tuple[str, str | None]:
    """The account's email address and display name."""
    me = _get(client, "me", token, {"$select": "displayName,mail,userPrincipalName"})
    email = str(me.get("mail") or me.get("userPrincipalName") or "").strip().lower()
    if not email:
        raise ProviderUnavailable("Microsoft Graph did not say which account signed in; try again.")
    name = me.get("displayName")
    return email, str(name) if name else None


def calendars(client: httpx.Client, token: TokenSource) -> list[RemoteCalendar]:
    found: list[RemoteCalendar] = []
    url: str | None = "me/calendars"
    params: dict[str, str] | None = {"$select": "id,name,isDefaultCalendar", "$top": "100"}
    while url:
        page = _get(client, url, token, params)
        found.extend(
            RemoteCalendar(
                remote_id=str(item["id"]),
                name=str(item.get("name") or "Calendar"),
                primary=bool(item.get("isDefaultCalendar")),
            )
            for item in page.get("value", [])
        )
        url, params = page.get("@odata.nextLink"), None
    found.sort(key=lambda c: (not c.primary, c.name.lower()))
    return found


def list_calendars(
    settings: MicrosoftSettings, token: TokenSource
) -> tuple[list[RemoteCalendar], str, str | None]:
    """The account's calendars (default first), its email address and its display name."""
    with graph_client(settings) as client:
        email, name = profile(client, token)
        return calendars(client, token), email, name
