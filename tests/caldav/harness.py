"""The CalDAV backend of the provider contract: a real Radicale behind the fault layer.

The account is connected the way a tech connects one (CaldavConnector: discovery, the password
into the Secret Service), and providers come from `open_provider`. The technician's phone is the
`caldav` client library talking to Radicale directly; hostile writes go in as raw HTTP.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from caldav.calendarobjectresource import Event as PhoneEvent
from caldav.collection import Calendar as PhoneCalendar
from caldav.davclient import DAVClient

from app.domain.ids import AccountId, CalendarId, TechId, new_id
from app.domain.model import Calendar, CalendarAccount, Provider
from sync.providers.caldav_auth import CaldavConnector
from sync.providers.caldav_ical import BOOKING_ID_PROPERTY, BOOKING_TAG_PROPERTY
from sync.providers.factory import open_provider
from sync.providers.protocol import BookingEventContent, CalendarProvider
from sync.providers.secrets import TokenStore
from tests.caldav.faults import FaultProxy
from tests.caldav.radicale import RadicaleServer

USER = "maria@example.com"
PASSWORD = "app-specific-1"
SLUG = "calendar"


def ics(vevents: list[icalendar.Event]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//Phone//Test//EN")
    calendar.add("VERSION", "2.0")
    for vevent in vevents:
        calendar.add_component(vevent)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def vevent(spec: Mapping[str, Any], uid: str | None = None, zone: str = "America/Chicago") -> icalendar.Event:
    """A VEVENT as an iPhone writes one, from the contract's event spec."""
    event = icalendar.Event()
    event.add("UID", uid or str(uuid.uuid4()).upper())
    event.add("DTSTAMP", dt.datetime.now(dt.UTC))
    event.add("SUMMARY", spec["summary"])
    if "start" in spec:
        tz = ZoneInfo(spec.get("timezone", zone))
        event.add("DTSTART", spec["start"].astimezone(tz))
        event.add("DTEND", spec["end"].astimezone(tz))
    else:
        event.add("DTSTART", spec["start_date"])
        event.add("DTEND", spec["end_date"])
    for line in spec.get("rrule", ()):
        event.add("RRULE", icalendar.vRecur.from_ical(line.removeprefix("RRULE:")))
    if spec.get("private"):
        event.add("CLASS", "PRIVATE")
    if spec.get("tentative"):
        event.add("STATUS", "TENTATIVE")
    if spec.get("response") == "declined":
        event.add("ORGANIZER", "mailto:boss@example.com")
        event.add("ATTENDEE", f"mailto:{USER}", parameters={"PARTSTAT": "DECLINED"})
    return event


class CaldavBackend:
    """Radicale, the fault layer before it, and the phone; shared by the harness and e2e tests."""

    def __init__(self, folder: Path, hold: float) -> None:
        self.radicale = RadicaleServer(folder)
        self.radicale.add_user(USER, PASSWORD)
        self.radicale.start()
        self.calendar_path = self.radicale.make_calendar(USER, SLUG, "Calendar")
        self.radicale.make_calendar(USER, "family", "Family")
        self.proxy = FaultProxy(lambda: self.radicale.url, hold)
        self.password = PASSWORD

    @property
    def url(self) -> str:
        """Where Crewboard talks to: the fault layer."""
        return self.proxy.url

    def close(self) -> None:
        self.proxy.close()
        self.radicale.stop()

    # -- the phone --------------------------------------------------------------------------------

    def phone(self) -> PhoneCalendar:
        client = DAVClient(url=self.radicale.url, username=USER, password=self.password)
        return PhoneCalendar(client=client, url=f"{self.radicale.url}{self.calendar_path}")

    def phone_add(self, vevents: list[icalendar.Event]) -> str:
        saved = self.phone().save_event(ics(vevents).decode())
        assert isinstance(saved, PhoneEvent)  # the blocking client answers at once
        return _path(str(saved.url))

    def phone_events(self) -> list[PhoneEvent]:
        found = self.phone().events()
        assert isinstance(found, list)  # the blocking client answers at once
        return found

    def phone_object(self, remote_id: str) -> PhoneEvent:
        return self.phone().event_by_url(f"{self.radicale.url}{remote_id}")

    def put(self, name: str, body: bytes, headers: Mapping[str, str] | None = None) -> int:
        """A raw PUT into the calendar (hostile data goes in this way); the status Radicale answered."""
        with self.radicale.client(USER) as client:
            answer = client.put(
                f"{self.calendar_path}{name}",
                content=body,
                headers={"Content-Type": "text/calendar", **(headers or {})},
            )
        return answer.status_code

    def get(self, remote_id: str) -> icalendar.Calendar:
        with self.radicale.client(USER) as client:
            answer = client.get(remote_id)
        answer.raise_for_status()
        return icalendar.Calendar.from_ical(answer.content)

    def revoke(self) -> None:
        """The tech revokes the app-specific password (a new one replaces it)."""
        self.password = "app-specific-2"
        self.radicale.add_user(USER, self.password)


def _path(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path)


def connect_account(backend: CaldavBackend, store: TokenStore) -> tuple[CalendarAccount, Calendar]:
    grant = CaldavConnector(backend.url, USER, PASSWORD, store).authorize()
    primary = next(c for c in grant.calendars if c.primary)
    account = CalendarAccount(
        AccountId(new_id()), TechId(new_id()), Provider.CALDAV, grant.email, grant.token_ref
    )
    calendar = Calendar(CalendarId(new_id()), account.id, primary.remote_id, primary.name, True, True)
    return account, calendar


class CaldavHarnessMixin:
    """The CalDAV implementation of tests.providers.contract.conftest.Harness's methods."""

    name = "caldav"
    backend: CaldavBackend
    account: CalendarAccount
    calendar: Calendar
    store: TokenStore
    client_timeout: float
    forged_title: str
    forged_start: dt.datetime

    def open(self) -> CalendarProvider:
        return open_provider(self.account, self.store, timeout=self.client_timeout)

    def seed(self, spec: Mapping[str, Any]) -> str:
        return self.backend.phone_add([vevent(spec)])

    def phone_edit(self, remote_id: str, title: str) -> None:
        event = self.backend.phone_object(remote_id)
        event.load()
        component = event.icalendar_component
        component["SUMMARY"] = icalendar.vText(title)
        event.save()

    def phone_delete(self, remote_id: str) -> None:
        self.backend.phone_object(remote_id).delete()

    def phone_cancel_occurrence(self, series_id: str, index: int) -> None:
        """What an iPhone does for "delete this event only": an EXDATE on the master."""
        event = self.backend.phone_object(series_id)
        event.load()
        master = event.icalendar_component
        start: dt.datetime = master.decoded("DTSTART")
        local = start.replace(tzinfo=None) + dt.timedelta(days=7 * index)
        master.add("EXDATE", local.replace(tzinfo=start.tzinfo))
        event.save()

    def make_exception(self, series_id: str) -> None:
        from tests.providers.contract.conftest import EXCEPTION_ORIGINAL, EXCEPTION_START, HOUR

        calendar = self.backend.get(series_id)
        master = next(c for c in calendar.walk("VEVENT") if c.get("RECURRENCE-ID") is None)
        override = icalendar.Event()
        override.add("UID", str(master["UID"]))
        override.add("DTSTAMP", dt.datetime.now(dt.UTC))
        override.add("RECURRENCE-ID", EXCEPTION_ORIGINAL)
        override.add("SUMMARY", str(master["SUMMARY"]))
        override.add("DTSTART", EXCEPTION_START)
        override.add("DTEND", EXCEPTION_START + HOUR)
        calendar.add_component(override)
        name = series_id.rsplit("/", 1)[-1]
        assert self.backend.put(name, calendar.to_ical()) in (201, 204)

    def forge(
        self,
        content: BookingEventContent,
        *,
        event_id: str | None = None,
        tag: str | None = None,
        transaction: str | None = None,
    ) -> str:
        uid = event_id or str(uuid.uuid4())
        event = vevent(
            {
                "summary": self.forged_title,
                "start": self.forged_start,
                "end": self.forged_start + dt.timedelta(hours=1),
            },
            uid=uid,
        )
        event.add(BOOKING_ID_PROPERTY, content.booking.id)
        if tag is not None:
            event.add(BOOKING_TAG_PROPERTY, tag)
        name = f"{uid}.ics"
        assert self.backend.put(name, ics([event])) in (201, 204)
        return f"{self.backend.calendar_path}{name}"

    def tag_of(self, remote_id: str) -> str | None:
        calendar = self.backend.get(remote_id)
        for event in calendar.walk("VEVENT"):
            value = event.get(BOOKING_TAG_PROPERTY)
            return str(value) if value is not None else None
        return None

    def invalidate_cursors(self) -> None:
        """Radicale forgets its old tokens; a token naming the calendar's current state stays
        valid there whatever it forgot, so the phone also changes the calendar."""
        self.backend.radicale.forget_sync_tokens(USER, SLUG)
        start = self.forged_start + dt.timedelta(days=3)
        self.seed({"summary": "Token rollover", "start": start, "end": start + dt.timedelta(hours=1)})

    def fault(self, kind: str, *, count: int | None = None, retry_after: int | None = None) -> None:
        self.backend.proxy.fault(kind, count=count, retry_after=retry_after)

    def clear_faults(self) -> None:
        self.backend.proxy.clear_faults()

    def revoke(self) -> None:
        self.backend.revoke()
