"""Technicians' phones for the soak and the reliability tests: each provider's own API over HTTP.

A phone holds the tech's own access token from the sandbox's control API (never the app's), so
the sandbox's request log can tell its writes from Crewboard's only by when they happened; the
callers record the sequence numbers around phone work for that. Every call is bounded by a timeout;
a phone call that fails (an injected fault, a reset) answers None instead of raising, because a
real phone just tries again later.
"""

from __future__ import annotations

import ssl
from datetime import datetime, timedelta
from typing import Any

import httpx

ZONE = "America/Chicago"
PERSONAL_PREFIX = "Errand"  # the titles of every personal event a phone makes start with this
PRIVATE_PREFIX = "PRIVATE-"  # private events: title, description and attendee carry this marker


class Phone:
    """One tech's phone on Google Calendar or Microsoft Graph; a common, small surface."""

    provider: str

    def __init__(
        self, control: httpx.Client, email: str, base_url: str, verify: ssl.SSLContext | bool
    ) -> None:
        self.control = control
        self.email = email
        self.failures = 0
        self.http = httpx.Client(base_url=base_url, verify=verify, timeout=5.0, trust_env=False)
        self._token()

    def _token(self) -> None:
        answer = self.control.post(f"/accounts/{self.email}/token")
        answer.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """One request; a 401 (the sandbox expired our token) gets a fresh token and one retry."""
        for _attempt in range(2):
            try:
                answer = self.http.request(method, url, **kwargs)
            except httpx.HTTPError:
                self.failures += 1
                return None
            if answer.status_code == 401:
                self._token()
                continue
            if answer.status_code >= 400:
                self.failures += 1
                return None
            return answer
        self.failures += 1
        return None

    def close(self) -> None:
        self.http.close()

    # Implemented per provider -------------------------------------------------------------------

    def add(self, title: str, start: datetime, minutes: int, private: bool = False) -> str | None:
        raise NotImplementedError

    def events(self) -> list[dict[str, Any]] | None:
        """Every event of the primary calendar in a common shape: id, title, start, end."""
        raise NotImplementedError

    def move(self, event_id: str, start: datetime, minutes: int) -> bool:
        raise NotImplementedError

    def retitle(self, event_id: str, title: str) -> bool:
        raise NotImplementedError

    def delete(self, event_id: str) -> bool:
        raise NotImplementedError


def _private_extras(title: str) -> tuple[str, str]:
    return f"{title} description", f"{title.lower()}@attendee.example.com"


class GooglePhone(Phone):
    provider = "google"

    def __init__(self, control: httpx.Client, email: str, google_url: str) -> None:
        super().__init__(control, email, f"{google_url}/calendar/v3/", True)

    @staticmethod
    def _when(start: datetime, minutes: int) -> dict[str, Any]:
        end = start + timedelta(minutes=minutes)
        return {
            "start": {"dateTime": start.isoformat(), "timeZone": ZONE},
            "end": {"dateTime": end.isoformat(), "timeZone": ZONE},
        }

    def add(self, title: str, start: datetime, minutes: int, private: bool = False) -> str | None:
        body: dict[str, Any] = {"summary": title, **self._when(start, minutes)}
        if private:
            description, attendee = _private_extras(title)
            body |= {"visibility": "private", "description": description, "attendees": [{"email": attendee}]}
        answer = self.call("POST", "calendars/primary/events", json=body)
        return str(answer.json()["id"]) if answer is not None else None

    def events(self) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = []
        page: str | None = None
        for _page in range(50):
            params = {"maxResults": "250", **({"pageToken": page} if page else {})}
            answer = self.call("GET", "calendars/primary/events", params=params)
            if answer is None:
                return None
            data = answer.json()
            for item in data.get("items", []):
                if item.get("status") == "cancelled" or "dateTime" not in item.get("start", {}):
                    continue
                found.append(
                    {
                        "id": item["id"],
                        "title": item.get("summary", ""),
                        "start": datetime.fromisoformat(item["start"]["dateTime"]),
                        "end": datetime.fromisoformat(item["end"]["dateTime"]),
                    }
                )
            page = data.get("nextPageToken")
            if not page:
                return found
        return found

    def move(self, event_id: str, start: datetime, minutes: int) -> bool:
        return (
            self.call("PATCH", f"calendars/primary/events/{event_id}", json=self._when(start, minutes))
            is not None
        )

    def retitle(self, event_id: str, title: str) -> bool:
        return self.call("PATCH", f"calendars/primary/events/{event_id}", json={"summary": title}) is not None

    def delete(self, event_id: str) -> bool:
        return self.call("DELETE", f"calendars/primary/events/{event_id}") is not None


class OutlookPhone(Phone):
    provider = "microsoft"

    def __init__(self, control: httpx.Client, email: str, graph_url: str, ca_file: str) -> None:
        super().__init__(control, email, graph_url + "/", ssl.create_default_context(cafile=ca_file))

    @staticmethod
    def _when(start: datetime, minutes: int) -> dict[str, Any]:
        local = start.astimezone(_zone())
        end = local + timedelta(minutes=minutes)
        return {
            "start": {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": ZONE},
            "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": ZONE},
        }

    def add(self, title: str, start: datetime, minutes: int, private: bool = False) -> str | None:
        body: dict[str, Any] = {"subject": title, **self._when(start, minutes)}
        if private:
            description, attendee = _private_extras(title)
            body |= {
                "sensitivity": "private",
                "body": {"contentType": "text", "content": description},
                "attendees": [{"emailAddress": {"address": attendee}, "type": "required"}],
            }
        answer = self.call("POST", "me/events", json=body)
        return str(answer.json()["id"]) if answer is not None else None

    def events(self) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = []
        url: str | None = "me/events?$top=200"
        for _page in range(50):
            if url is None:
                return found
            answer = self.call("GET", url)
            if answer is None:
                return None
            data = answer.json()
            for item in data.get("value", []):
                if item.get("isAllDay") or item.get("isCancelled"):
                    continue
                found.append(
                    {
                        "id": item["id"],
                        "title": item.get("subject", ""),
                        "start": _graph_time(item["start"]),
                        "end": _graph_time(item["end"]),
                    }
                )
            url = data.get("@odata.nextLink")
        return found

    def move(self, event_id: str, start: datetime, minutes: int) -> bool:
        return self.call("PATCH", f"me/events/{event_id}", json=self._when(start, minutes)) is not None

    def retitle(self, event_id: str, title: str) -> bool:
        return self.call("PATCH", f"me/events/{event_id}", json={"subject": title}) is not None

    def delete(self, event_id: str) -> bool:
        return self.call("DELETE", f"me/events/{event_id}") is not None


def _zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(ZONE)


def _graph_time(value: dict[str, Any]) -> datetime:
    """Graph's {"dateTime", "timeZone"} (UTC unless asked otherwise) as an aware instant."""
    from zoneinfo import ZoneInfo

    text = str(value["dateTime"])[:26]
    zone = str(value.get("timeZone") or "UTC")
    return datetime.fromisoformat(text).replace(
        tzinfo=ZoneInfo("UTC" if zone in ("UTC", "tzone://Microsoft/Utc") else zone)
    )
