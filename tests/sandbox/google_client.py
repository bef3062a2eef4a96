"""Helpers for the Google sandbox tests: the real client libraries pointed at the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import google_auth_httplib2
import httplib2
import httpx
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build

from sync.sandbox.server import Sandbox

CLIENT_ID = "test-desktop.apps.googleusercontent.com"
CLIENT_SECRET = "test-secret"
TZ = "America/Chicago"


def create_account(sandbox: Sandbox, email: str, timezone: str = TZ) -> dict[str, Any]:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        response = control.post(
            "/accounts", json={"provider": "google", "email": email, "timezone": timezone}
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def issue_token(sandbox: Sandbox, email: str) -> dict[str, Any]:
    with httpx.Client(base_url=sandbox.urls.control, trust_env=False) as control:
        response = control.post(f"/accounts/{email}/token")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def credentials(sandbox: Sandbox, email: str) -> Credentials:
    token = issue_token(sandbox, email)
    return Credentials(
        token=token["access_token"],
        refresh_token=token["refresh_token"],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_uri=f"{sandbox.urls.google}/token",
    )


@contextmanager
def calendar_service(sandbox: Sandbox, creds: Credentials, timeout: float = 10) -> Iterator[Any]:
    """googleapiclient's Calendar v3 from the bundled discovery document, aimed at the sandbox."""
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=timeout, proxy_info=None))
    service = build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": f"{sandbox.urls.google}/calendar/v3/"},
    )
    try:
        yield service
    finally:
        service.close()


def error_body(exc: Any) -> dict[str, Any]:
    """The JSON body of a googleapiclient HttpError."""
    data: dict[str, Any] = json.loads(exc.content.decode("utf-8"))
    return data


def timed(summary: str, start: str, end: str, tz: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "summary": summary,
        "start": {"dateTime": start},
        "end": {"dateTime": end},
        **extra,
    }
    if tz is not None:
        body["start"]["timeZone"] = tz
        body["end"]["timeZone"] = tz
    return body
