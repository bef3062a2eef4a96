"""The demo's "Sandbox phone": a technician's own calendar app, talking to the sandbox like a phone.

It reads and edits a tech's events through the provider's own public API (Google Calendar v3 or
Microsoft Graph) with an access token that the control API hands out for that account, so an edit
made here reaches Crewboard only the way a real phone edit would: through sync. It can also break
the tech's sync (revoke the sign-in, or a provider outage) and restore it, through the control API.
The demo's CalDAV tech is not in the sandbox: her phone is `CaldavPhone`, plain CalDAV against the
demo's Radicale.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from app.errors import CrewboardError
from sync.sandbox.caldav_phone import CaldavPhone
from sync.sandbox.seed import TECHS

if TYPE_CHECKING:
    from sync.sandbox.radicale import DemoCaldavServer

OUTAGE_SECONDS = 600
HTTP_TIMEOUT = 15.0


class PhoneError(CrewboardError):
    """The provider or the control API refused a phone action; the message says what happened."""


@dataclass(frozen=True, slots=True)
class PhoneTech:
    name: str
    email: str
    provider: str  # "google", "microsoft" or "caldav"
    timezone: str

    @property
    def provider_label(self) -> str:
        return {"google": "Google Calendar", "caldav": "iCloud (CalDAV)"}.get(self.provider, "Outlook")


@dataclass(frozen=True, slots=True)
class PhoneEvent:
    id: str
    title: str
    start: datetime | None  # aware; None for all-day events
    end: datetime | None
    start_date: date | None  # all-day events: local dates, end exclusive
    end_date: date | None
    busy: bool
    private: bool
    tentative: bool
    declined: bool
    calendar: str
    from_crewboard: bool

    @property
    def all_day(self) -> bool:
        return self.start_date is not None

    def sort_key(self) -> datetime:
        if self.start is not None:
            return self.start
        assert self.start_date is not None
        return datetime(self.start_date.year, self.start_date.month, self.start_date.day, tzinfo=UTC)


class SandboxPhone:
    """A tech's phone against a running sandbox, given its control URL and the URLs it reported."""

    def __init__(
        self,
        control: str,
        google: str,
        graph: str | None,
        ca_file: str | None,
        caldav: tuple[PhoneTech, DemoCaldavServer] | None = None,
    ) -> None:
        self._control = control.rstrip("/")
        self._google = google.rstrip("/")
        self._graph = graph.rstrip("/") if graph else None
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=HTTP_TIMEOUT, verify=self._verify)
        self._caldav = (caldav[0], CaldavPhone(caldav[1], caldav[0].email, PhoneError)) if caldav else None

    def close(self) -> None:
        self._client.close()

    # -- who is there ----------------------------------------------------------------------------

    def techs(self) -> list[PhoneTech]:
        """The sandbox's demo technicians that exist in this sandbox, in seed order."""
        known = {str(a.get("email", "")).lower() for a in self._get_json(f"{self._control}/accounts")}
        found = [PhoneTech(t.name, t.email, t.provider, t.timezone) for t in TECHS if t.email in known]
        return found + ([self._caldav[0]] if self._caldav is not None else [])

    def _caldav_phone(self, tech: PhoneTech) -> CaldavPhone | None:
        if tech.provider != "caldav":
            return None
        if self._caldav is None:
            raise PhoneError("This demo has no CalDAV server.")
        return self._caldav[1]

    # -- the calendar ----------------------------------------------------------------------------

    def events(self, tech: PhoneTech, start: datetime, end: datetime) -> list[PhoneEvent]:
        """The tech's events between two instants, every calendar, recurring ones expanded."""
        caldav = self._caldav_phone(tech)
        if caldav is not None:
            found = [PhoneEvent(**fields) for fields in caldav.events(start, end)]
        elif tech.provider == "google":
            found = self._google_events(tech, start, end)
        else:
            found = self._graph_events(tech, start, end)
        return sorted(found, key=PhoneEvent.sort_key)

    def add_event(
        self, tech: PhoneTech, title: str, start: datetime, duration: timedelta, busy: bool, private: bool
    ) -> str:
        """Add a timed event to the tech's primary calendar; returns its id."""
        if not title.strip():
            raise PhoneError("Give the event a title.")
        if duration <= timedelta(0):
            raise PhoneError("The event needs a duration of more than zero minutes.")
        end = start + duration
        caldav = self._caldav_phone(tech)
        if caldav is not None:
            return caldav.add(title.strip(), start, end, tech.timezone, busy, private)
        if tech.provider == "google":
            body: dict[str, Any] = {
                "summary": title.strip(),
                "start": {"dateTime": start.isoformat(), "timeZone": tech.timezone},
                "end": {"dateTime": end.isoformat(), "timeZone": tech.timezone},
                "transparency": "opaque" if busy else "transparent",
                "visibility": "private" if private else "default",
            }
            made = self._call(tech, "POST", self._google_events_url("primary"), json=body)
        else:
            body = {
                "subject": title.strip(),
                "start": _graph_time(start),
                "end": _graph_time(end),
                "showAs": "busy" if busy else "free",
                "sensitivity": "private" if private else "normal",
            }
            made = self._call(tech, "POST", f"{self._graph_base()}/me/events", json=body)
        return str(made["id"])

    def move_event(self, tech: PhoneTech, event_id: str, start: datetime, duration: timedelta) -> None:
        """Move a timed event (its calendar, title and other settings stay)."""
        end = start + duration
        caldav = self._caldav_phone(tech)
        if caldav is not None:
            caldav.move(event_id, start, end)
        elif tech.provider == "google":
            calendar, eid = _split(event_id)
            body: dict[str, Any] = {
                "start": {"dateTime": start.isoformat(), "timeZone": tech.timezone},
                "end": {"dateTime": end.isoformat(), "timeZone": tech.timezone},
            }
            self._call(tech, "PATCH", self._google_events_url(calendar, eid), json=body)
        else:
            body = {"start": _graph_time(start), "end": _graph_time(end)}
            self._call(tech, "PATCH", f"{self._graph_base()}/me/events/{quote(event_id, safe='')}", json=body)

    def delete_event(self, tech: PhoneTech, event_id: str) -> None:
        caldav = self._caldav_phone(tech)
        if caldav is not None:
            caldav.delete(event_id)
        elif tech.provider == "google":
            calendar, eid = _split(event_id)
            self._call(tech, "DELETE", self._google_events_url(calendar, eid))
        else:
            self._call(tech, "DELETE", f"{self._graph_base()}/me/events/{quote(event_id, safe='')}")

    # -- breaking and restoring sync ------------------------------------------------------------

    def revoke(self, tech: PhoneTech) -> None:
        """The tech withdrew Crewboard's access (or changed their password): the sign-in is dead."""
        caldav = self._caldav_phone(tech)
        if caldav is not None:
            caldav.revoke()
            return
        self._control_post(f"/accounts/{quote(tech.email)}/revoke", None)
        with self._lock:
            self._tokens.pop(tech.email, None)

    def outage(self, tech: PhoneTech, seconds: int = OUTAGE_SECONDS) -> None:
        """The provider answers 503 to every request for this account for `seconds`."""
        if tech.provider == "caldav":
            raise PhoneError(
                "The demo's CalDAV server is a real Radicale, with no outage switch; "
                "revoke her password instead to watch the health alerts."
            )
        self._control_post(
            "/faults", {"provider": tech.provider, "account": tech.email, "kind": "5xx", "seconds": seconds}
        )

    def restore(self, tech: PhoneTech) -> None:
        """End every injected fault (the outage is over). A revoked sign-in needs a reconnect."""
        response = self._client.delete(f"{self._control}/faults")
        _check(response)

    # -- HTTP -----------------------------------------------------------------------------------

    def _graph_base(self) -> str:
        if self._graph is None:
            raise PhoneError("This sandbox has no Microsoft Graph.")
        return self._graph if self._graph.endswith("/v1.0") else f"{self._graph}/v1.0"

    def _google_events_url(self, calendar: str, event_id: str | None = None) -> str:
        url = f"{self._google}/calendar/v3/calendars/{quote(calendar, safe='')}/events"
        return f"{url}/{quote(event_id, safe='')}" if event_id else url

    def _token(self, tech: PhoneTech, fresh: bool = False) -> str:
        with self._lock:
            known = self._tokens.get(tech.email)
        if known and not fresh:
            return known
        answer = self._control_post(f"/accounts/{quote(tech.email)}/token", None)
        token = str(answer["access_token"])
        with self._lock:
            self._tokens[tech.email] = token
        return token

    def _call(self, tech: PhoneTech, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._token(tech, fresh=attempt > 0)}"}
            if tech.provider == "microsoft":
                headers["Prefer"] = 'outlook.timezone="UTC"'
            try:
                response = self._client.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as error:
                raise PhoneError(
                    f"The phone could not reach the calendar ({type(error).__name__})."
                ) from None
            if response.status_code == 401 and attempt == 0:
                continue
            _check(response)
            if response.status_code == 204 or not response.content:
                return {}
            data: dict[str, Any] = response.json()
            return data
        raise AssertionError("unreachable")

    def _pages(
        self, tech: PhoneTech, url: str, params: dict[str, str], next_key: str
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        data = self._call(tech, "GET", url, params=params)
        for _page in range(50):
            items.extend(data.get("items") or data.get("value") or [])
            link = data.get(next_key)
            if not link:
                break
            if next_key == "nextPageToken":
                data = self._call(tech, "GET", url, params={**params, "pageToken": str(link)})
            else:
                data = self._call(tech, "GET", str(link))
        return items

    def _google_events(self, tech: PhoneTech, start: datetime, end: datetime) -> list[PhoneEvent]:
        calendars = self._pages(
            tech, f"{self._google}/calendar/v3/users/me/calendarList", {}, "nextPageToken"
        )
        found: list[PhoneEvent] = []
        params = {
            "timeMin": start.astimezone(UTC).isoformat(),
            "timeMax": end.astimezone(UTC).isoformat(),
            "singleEvents": "true",
            "maxResults": "250",
        }
        for calendar in calendars:
            cid = str(calendar["id"])
            name = "Calendar" if calendar.get("primary") else str(calendar.get("summary") or cid)
            for item in self._pages(tech, self._google_events_url(cid), params, "nextPageToken"):
                if item.get("status") == "cancelled":
                    continue
                found.append(_google_event(item, cid, name, tech.email))
        return found

    def _graph_events(self, tech: PhoneTech, start: datetime, end: datetime) -> list[PhoneEvent]:
        base = self._graph_base()
        calendars = self._pages(tech, f"{base}/me/calendars", {}, "@odata.nextLink")
        found: list[PhoneEvent] = []
        params = {
            "startDateTime": start.astimezone(UTC).isoformat(),
            "endDateTime": end.astimezone(UTC).isoformat(),
        }
        for calendar in calendars:
            url = f"{base}/me/calendars/{quote(str(calendar['id']), safe='')}/calendarView"
            name = (
                "Calendar" if calendar.get("isDefaultCalendar") else str(calendar.get("name") or "Calendar")
            )
            for item in self._pages(tech, url, params, "@odata.nextLink"):
                if item.get("isCancelled"):
                    continue
                found.append(_graph_event(item, name))
        return found

    def _control_post(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = self._client.post(f"{self._control}{path}", json=body if body is not None else {})
        except httpx.HTTPError as error:
            raise PhoneError(f"The sandbox could not be reached ({type(error).__name__}).") from None
        _check(response)
        data: dict[str, Any] = response.json() if response.content else {}
        return data

    def _get_json(self, url: str) -> list[dict[str, Any]]:
        try:
            response = self._client.get(url)
        except httpx.HTTPError as error:
            raise PhoneError(f"The sandbox could not be reached ({type(error).__name__}).") from None
        _check(response)
        data: list[dict[str, Any]] = response.json()
        return data


def _check(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    detail = ""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            detail = str(error.get("message") or error.get("code") or "")
        elif error:
            detail = str(error)
    except ValueError:
        detail = response.text[:200]
    if response.status_code >= 500:
        raise PhoneError(f"The calendar service is failing right now (HTTP {response.status_code}).")
    raise PhoneError(
        f"The calendar refused that (HTTP {response.status_code}{': ' + detail if detail else ''})."
    )


def _split(event_id: str) -> tuple[str, str]:
    """Google event ids on the phone carry their calendar: "<calendar id>|<event id>"."""
    calendar, _, eid = event_id.rpartition("|")
    return (calendar or "primary"), eid


def _graph_time(instant: datetime) -> dict[str, str]:
    return {"dateTime": instant.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}


def _google_event(item: dict[str, Any], calendar_id: str, calendar_name: str, email: str) -> PhoneEvent:
    start, end = item.get("start") or {}, item.get("end") or {}
    mine = next((a for a in item.get("attendees") or [] if a.get("self")), None)
    response = str(mine.get("responseStatus")) if mine else ""
    extended = (item.get("extendedProperties") or {}).get("private") or {}
    timed = "dateTime" in start
    return PhoneEvent(
        id=f"{calendar_id}|{item['id']}",
        title=str(item.get("summary") or "(no title)"),
        start=_parse_instant(start["dateTime"]) if timed else None,
        end=_parse_instant(end["dateTime"]) if timed else None,
        start_date=None if timed else date.fromisoformat(start["date"]),
        end_date=None if timed else date.fromisoformat(end["date"]),
        busy=item.get("transparency") != "transparent",
        private=item.get("visibility") in ("private", "confidential"),
        tentative=response in ("tentative", "needsAction") or item.get("status") == "tentative",
        declined=response == "declined",
        calendar=calendar_name,
        from_crewboard=bool(extended or item.get("source")),
    )


def _graph_event(item: dict[str, Any], calendar_name: str) -> PhoneEvent:
    all_day = bool(item.get("isAllDay"))
    start, end = item["start"], item["end"]
    response = str((item.get("responseStatus") or {}).get("response") or "")
    return PhoneEvent(
        id=str(item["id"]),
        title=str(item.get("subject") or "(no title)"),
        start=None if all_day else _parse_graph(start),
        end=None if all_day else _parse_graph(end),
        start_date=date.fromisoformat(str(start["dateTime"])[:10]) if all_day else None,
        end_date=date.fromisoformat(str(end["dateTime"])[:10]) if all_day else None,
        busy=str(item.get("showAs") or "busy") not in ("free", "workingElsewhere"),
        private=str(item.get("sensitivity") or "normal") in ("private", "confidential"),
        tentative=response in ("tentativelyAccepted", "notResponded") or item.get("showAs") == "tentative",
        declined=response == "declined",
        calendar=calendar_name,
        from_crewboard=bool(item.get("singleValueExtendedProperties") or item.get("transactionId")),
    )


def _parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _parse_graph(part: dict[str, Any]) -> datetime:
    text = str(part["dateTime"])
    if "." in text:
        text = text.split(".", 1)[0]
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


PhoneFactory = Callable[[], SandboxPhone]
