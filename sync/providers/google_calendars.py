"""A Google account's calendar list (and whose account it is), through google-api-python-client.

The client is built from the discovery document shipped in its wheel (no network) with
`api_endpoint` pointing at Google or the sandbox (reference §8). The account's email is the id of
its primary calendar, so no profile scope is needed beyond the two calendar scopes.
"""

from __future__ import annotations

import logging
from typing import Any

import google.auth.exceptions
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from app.services.ports import ProviderUnavailable, ReconnectRequired, RemoteCalendar
from sync.providers.config import GoogleSettings
from sync.providers.google_provider import HTTP_TIMEOUT, build_service
from sync.providers.google_renewal import reconnect_error

log = logging.getLogger(__name__)

PAGE_SIZE = 250


def calendar_service(settings: GoogleSettings, credentials: Credentials) -> Any:
    """A Calendar v3 client that adds the bearer token and refreshes it on 401."""
    return build_service(settings, credentials, HTTP_TIMEOUT)


def _call(request: Any) -> Any:
    """Execute one API request, turning client-library failures into what the use cases act on."""
    try:
        return request.execute(num_retries=2)
    except google.auth.exceptions.RefreshError as error:
        raise reconnect_error(error) from None
    except HttpError as error:
        status = int(error.resp.status)
        reasons = {str(d.get("reason")) for d in (error.error_details or []) if isinstance(d, dict)}
        if status == 401 or (status == 403 and reasons & {"insufficientPermissions", "forbidden"}):
            raise ReconnectRequired(
                f"Google refused Crewboard's access to the calendars (HTTP {status}); the sign-in is no "
                "longer valid."
            ) from None
        raise ProviderUnavailable(
            f"Google could not list the calendars (HTTP {status}); trying again later."
        ) from None
    except (TimeoutError, httplib2.HttpLib2Error, google.auth.exceptions.TransportError, OSError) as error:
        raise ProviderUnavailable(
            f"Could not reach Google ({type(error).__name__}); check the connection and try again."
        ) from None


def list_calendars(settings: GoogleSettings, credentials: Credentials) -> tuple[list[RemoteCalendar], str]:
    """The account's calendars (primary first) and the account's email address."""
    entries: list[dict[str, Any]] = []
    page_token: str | None = None
    with calendar_service(settings, credentials) as service:
        while True:
            page = _call(service.calendarList().list(maxResults=PAGE_SIZE, pageToken=page_token))
            entries.extend(item for item in page.get("items", []) if not item.get("deleted"))
            page_token = page.get("nextPageToken")
            if not page_token:
                break
        primary = next((e for e in entries if e.get("primary")), None)
        if primary is None:
            primary = _call(service.calendarList().get(calendarId="primary"))
            entries.insert(0, {**primary, "primary": True})
    email = str(primary["id"]).lower()
    calendars = [
        RemoteCalendar(
            remote_id=str(entry["id"]),
            name=str(entry.get("summaryOverride") or entry.get("summary") or entry["id"]),
            primary=bool(entry.get("primary")),
        )
        for entry in entries
    ]
    calendars.sort(key=lambda c: (not c.primary, c.name.lower()))
    return calendars, email
