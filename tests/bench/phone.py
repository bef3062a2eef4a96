"""The technician's phone: edits made through the provider's own API with a token from the control API."""

from __future__ import annotations

import datetime as dt
import ssl
from typing import Any

import httpx


class Phone:
    """One account's phone. `create` and `move` return the event id; times are whole UTC seconds."""

    def __init__(self, urls: dict[str, str], provider: str, email: str) -> None:
        self.provider = provider
        token = httpx.post(f"{urls['control']}/accounts/{email}/token", timeout=30).raise_for_status().json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        if provider == "google":
            self._client = httpx.Client(
                base_url=f"{urls['google']}/calendar/v3", headers=headers, timeout=30, trust_env=False
            )
        else:
            verify = ssl.create_default_context(cafile=urls["ca"])
            self._client = httpx.Client(
                base_url=urls["graph"], headers=headers, verify=verify, timeout=30, trust_env=False
            )

    def close(self) -> None:
        self._client.close()

    def _times(self, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        if self.provider == "google":
            return {"start": {"dateTime": _z(start)}, "end": {"dateTime": _z(end)}}
        return {
            "start": {"dateTime": start.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": end.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        }

    def create(self, title: str, start: dt.datetime, end: dt.datetime) -> str:
        if self.provider == "google":
            answer = self._client.post(
                "/calendars/primary/events", json={"summary": title, **self._times(start, end)}
            )
        else:
            answer = self._client.post("/me/events", json={"subject": title, **self._times(start, end)})
        answer.raise_for_status()
        return str(answer.json()["id"])

    def move(self, event_id: str, start: dt.datetime, end: dt.datetime) -> None:
        if self.provider == "google":
            answer = self._client.patch(f"/calendars/primary/events/{event_id}", json=self._times(start, end))
        else:
            answer = self._client.patch(f"/me/events/{event_id}", json=self._times(start, end))
        answer.raise_for_status()

    def list_window(self, calendar: str, start: dt.datetime, end: dt.datetime) -> int:
        """The naive client's read: every event of the window, page by page; returns the requests made."""
        requests = 0
        if self.provider == "google":
            params: dict[str, str] = {
                "timeMin": _z(start),
                "timeMax": _z(end),
                "singleEvents": "true",
                "maxResults": "2500",
            }
            while True:
                answer = self._client.get(f"/calendars/{calendar}/events", params=params)
                answer.raise_for_status()
                requests += 1
                token = answer.json().get("nextPageToken")
                if not token:
                    return requests
                params = {**params, "pageToken": token}
        url: str | None = f"/me/calendars/{calendar}/calendarView"
        query: dict[str, str] | None = {"startDateTime": _z(start), "endDateTime": _z(end), "$top": "1000"}
        while url:
            answer = self._client.get(url, params=query)
            answer.raise_for_status()
            requests += 1
            url = answer.json().get("@odata.nextLink")
            query = None
        return requests

    def calendars(self) -> list[str]:
        if self.provider == "google":
            answer = self._client.get("/users/me/calendarList")
        else:
            answer = self._client.get("/me/calendars")
        answer.raise_for_status()
        return [str(item["id"]) for item in answer.json()["value" if self.provider != "google" else "items"]]


def _z(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
