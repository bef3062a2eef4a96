"""The Sandbox phone for the demo's CalDAV tech: her iPhone's calendar app, over plain CalDAV.

Events are read with a `calendar-query` REPORT whose `expand` asks Radicale for the occurrences in
the window (as UTC instants, recurring ones expanded), added with a PUT (`If-None-Match: *`),
moved with GET then PUT (`If-Match`), deleted with DELETE: what any CalDAV client does. Revoking
Crewboard's access replaces her app-specific password; an outage has no switch on a real server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import httpx
import icalendar

if TYPE_CHECKING:
    from sync.sandbox.radicale import DemoCaldavServer

_NS = {"d": "DAV:", "c": "urn:ietf:params:xml:ns:caldav"}
_CALENDARS = (("calendar", "Calendar"), ("family", "Family"))
_BOOKING_ID = "X-CREWBOARD-BOOKING-ID"


class CaldavPhone:
    """One CalDAV tech's phone against the demo's Radicale; raises `error` with a sentence."""

    def __init__(self, server: DemoCaldavServer, email: str, error: type[Exception]) -> None:
        self._server = server
        self.email = email
        self._error = error

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            with self._server.client(self.email) as client:
                answer = client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise self._error(f"The phone could not reach the calendar ({type(error).__name__}).") from None
        if answer.status_code >= 400:
            raise self._error(f"The calendar refused that (HTTP {answer.status_code}).")
        return answer

    def events(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Each occurrence in [start, end) as the fields of sync.sandbox.phone.PhoneEvent."""
        window = f'start="{_utc(start)}" end="{_utc(end)}"'
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
            f"<d:prop><c:calendar-data><c:expand {window}/></c:calendar-data></d:prop>"
            '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
            f"<c:time-range {window}/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
        )
        found: list[dict[str, Any]] = []
        for slug, name in _CALENDARS:
            answer = self._request(
                "REPORT",
                f"/{self.email}/{slug}/",
                content=body.encode(),
                headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
            )
            for response in ElementTree.fromstring(answer.content).findall("d:response", _NS):
                path = response.findtext("d:href", "", _NS)
                data = response.findtext(".//c:calendar-data", "", _NS)
                if data:
                    found.extend(_occurrences(path, data, name, self.email))
        return found

    def add(self, title: str, start: datetime, end: datetime, zone: str, busy: bool, private: bool) -> str:
        spec: dict[str, Any] = {
            "summary": title,
            "start": start,
            "end": end,
            "timezone": zone,
            "private": private,
            "show_as": "busy" if busy else "free",
        }
        return self._server.put_event(self.email, f"/{self.email}/calendar/", spec)

    def move(self, event_id: str, start: datetime, end: datetime) -> None:
        """Move the event (a series moves whole, as "all future events" does on a phone)."""
        path = event_id.partition("#")[0]
        answer = self._request("GET", path)
        calendar = icalendar.Calendar.from_ical(answer.content)
        for vevent in calendar.walk("VEVENT"):
            if vevent.get("RECURRENCE-ID") is None:
                zone = vevent.decoded("DTSTART").tzinfo or UTC
                for key, value in (("DTSTART", start), ("DTEND", end)):
                    vevent.pop(key, None)
                    vevent.add(key, value.astimezone(zone))
                vevent.pop("DURATION", None)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if answer.headers.get("ETag"):
            headers["If-Match"] = answer.headers["ETag"]
        self._request("PUT", path, content=calendar.to_ical(), headers=headers)

    def delete(self, event_id: str) -> None:
        self._request("DELETE", event_id.partition("#")[0])

    def revoke(self) -> None:
        """She deleted the app-specific password Crewboard holds: a new one replaces it."""
        self._server.add_user(self.email)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _occurrences(path: str, data: str, calendar_name: str, email: str) -> list[dict[str, Any]]:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError:
        return []
    found = []
    for index, vevent in enumerate(calendar.walk("VEVENT")):
        start, end = vevent.decoded("DTSTART"), vevent.decoded("DTEND", None)
        timed = isinstance(start, datetime)
        if end is None:
            end = start + (vevent.decoded("DURATION", None) or timedelta(days=0 if timed else 1))
        partstat = ""
        attendees = vevent.get("ATTENDEE")
        for attendee in attendees if isinstance(attendees, list) else [attendees]:
            if attendee is not None and str(attendee).lower().removeprefix("mailto:") == email:
                partstat = str(attendee.params.get("PARTSTAT", "")).upper()
        found.append(
            {
                # Occurrences of one series share the object's path; the index keeps ids apart.
                "id": path if index == 0 else f"{path}#{index}",
                "title": str(vevent.get("SUMMARY") or "(no title)"),
                "start": start.astimezone(UTC) if timed else None,
                "end": end.astimezone(UTC) if timed else None,
                "start_date": None if timed else _date(start),
                "end_date": None if timed else _date(end),
                "busy": str(vevent.get("TRANSP", "OPAQUE")).upper() != "TRANSPARENT",
                "private": str(vevent.get("CLASS", "")).upper() in ("PRIVATE", "CONFIDENTIAL"),
                "tentative": str(vevent.get("STATUS", "")).upper() == "TENTATIVE"
                or partstat in ("TENTATIVE", "NEEDS-ACTION"),
                "declined": partstat == "DECLINED",
                "calendar": calendar_name,
                "from_crewboard": vevent.get(_BOOKING_ID) is not None,
            }
        )
    return found


def _date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
