"""The four backends of the provider contract suite, behind one harness each.

* google: GoogleCalendarProvider (google-api-python-client, google-auth) against the sandbox;
* graph: GraphCalendarProvider (httpx, MSAL) against the sandbox over HTTPS;
* caldav: CaldavCalendarProvider (httpx, icalendar) against a real Radicale (tests/caldav);
* fake: InMemoryCalendarProvider.

The sandbox accounts are connected once per module through the real sign-in flows (loopback
redirect, PKCE, tokens in the Secret Service); providers come from `open_provider`, with a short
HTTP timeout so the timeout fault is quick. A harness also plays the technician's phone (through
the provider's own API with a token from the control API) and the operator (faults, revocation).
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import queue
import secrets
import ssl
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.hours import BusinessHours
from app.domain.ids import AccountId, BookingId, CalendarId, CustomerId, TechId, new_id
from app.domain.model import (
    Booking,
    Calendar,
    CalendarAccount,
    Customer,
    EventTime,
    Provider,
    Response,
    ShowAs,
    Technician,
)
from app.domain.time import Interval
from app.services.ports import RemoteCalendar
from sync.providers.endpoints import read_endpoints
from sync.providers.factory import open_provider
from sync.providers.fake import InMemoryCalendarProvider
from sync.providers.google_auth import GoogleConnector
from sync.providers.microsoft_auth import MicrosoftConnector
from sync.providers.normalize_google import BOOKING_ID_KEY, BOOKING_TAG_KEY
from sync.providers.normalize_graph import BOOKING_ID_PROPERTY, BOOKING_TAG_PROPERTY
from sync.providers.protocol import BookingEventContent, CalendarProvider
from sync.providers.secrets import KeyringUnavailable, TokenStore
from sync.sandbox.approver import SandboxApprover
from sync.sandbox.server import Sandbox
from tests.caldav.harness import CaldavBackend, CaldavHarnessMixin, connect_account

# The sandbox holds a "timeout" request this long; the adapters give up after CLIENT_TIMEOUT.
TIMEOUT_HOLD = 3.0
CLIENT_TIMEOUT = 1.5
CHICAGO = "America/Chicago"


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


# Everything is placed relative to the real clock: the sandbox runs on it.
NOW = _hour(dt.datetime.now(dt.UTC))
WINDOW = Interval(NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=60))


@dataclass(frozen=True)
class Seeded:
    """The events every backend starts with, by role, and what they should read back as."""

    ids: Mapping[str, str]
    timed_start: dt.datetime
    all_day: dt.date
    series_start: dt.datetime
    exception_original: dt.datetime
    exception_start: dt.datetime


TIMED_START = NOW + dt.timedelta(days=1, hours=3)
ALL_DAY = (NOW + dt.timedelta(days=2)).date()
SERIES_START = NOW + dt.timedelta(days=3, hours=1)
EXCEPTION_ORIGINAL = SERIES_START + dt.timedelta(days=7)
EXCEPTION_START = EXCEPTION_ORIGINAL + dt.timedelta(hours=2)
HOUR = dt.timedelta(hours=1)

SPECS: dict[str, dict[str, Any]] = {
    "timed": {"summary": "Dentist", "start": TIMED_START, "end": TIMED_START + HOUR},
    "all_day": {"summary": "Vacation day", "start_date": ALL_DAY, "end_date": ALL_DAY + dt.timedelta(days=1)},
    "series": {
        "summary": "Team standup",
        "start": SERIES_START,
        "end": SERIES_START + HOUR,
        "timezone": CHICAGO,
        "rrule": ["RRULE:FREQ=WEEKLY;COUNT=4"],
    },
    "private": {
        "summary": "Private errand",
        "start": TIMED_START + 2 * HOUR,
        "end": TIMED_START + 3 * HOUR,
        "private": True,
    },
    "tentative": {
        "summary": "Maybe lunch",
        "start": TIMED_START + 4 * HOUR,
        "end": TIMED_START + 5 * HOUR,
        "tentative": True,
    },
    "declined": {
        "summary": "Declined meeting",
        "start": TIMED_START + 6 * HOUR,
        "end": TIMED_START + 7 * HOUR,
        "response": "declined",
    },
}


# --- a webhook receiver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    headers: Mapping[str, str]
    body: Any


class NoticeReceiver:
    """A loopback webhook: answers Graph's validation handshake, records every notice."""

    def __init__(self) -> None:
        self.notices: queue.Queue[Notice] = queue.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                if token:
                    answer = token[0].encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                outer.notices.put(Notice({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/notify"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def change_notice(self, token: str, timeout: float) -> Notice | None:
        """The first notice carrying `token` that says something changed, or None in time."""
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout)
        while True:
            left = (deadline - dt.datetime.now(dt.UTC)).total_seconds()
            if left <= 0:
                return None
            try:
                notice = self.notices.get(timeout=left)
            except queue.Empty:
                return None
            if _reports_change(notice, token):
                return notice


def _reports_change(notice: Notice, token: str) -> bool:
    headers = notice.headers
    if "x-goog-channel-token" in headers:  # Google's (and the fake's) headers-only notice
        return headers["x-goog-channel-token"] == token and headers.get("x-goog-resource-state") == "exists"
    values = notice.body.get("value") if isinstance(notice.body, Mapping) else None
    return isinstance(values, list) and any(
        isinstance(v, Mapping)
        and v.get("clientState") == token
        and v.get("changeType") in ("created", "updated", "deleted")
        for v in values
    )


# --- the bookings written in tests ---------------------------------------------------------------------


TECH = Technician(
    id=TechId(new_id()),
    name="Maria Lopez",
    email="maria@example.com",
    timezone=CHICAGO,
    hours=BusinessHours.parse("mon-sun 08:00-17:00"),
    color="#51b749",
)
CUSTOMER = Customer(id=CustomerId(new_id()), name="Ada Park", address="12 Elm Street, Springfield")
# The store's event ownership key, as the engine hands it to the adapters.
OWNER_KEY = secrets.token_bytes(32)
# Where the events that only claim to be a booking's sit, and what they are called.
FORGED_TITLE = "Someone else's event"
FORGED_START = NOW + dt.timedelta(hours=70)


def booking_content(
    hours_ahead: int = 50, service: str = "Boiler service", booking_id: str | None = None
) -> BookingEventContent:
    booking = Booking(
        id=BookingId(booking_id or new_id()),
        customer_id=CUSTOMER.id,
        tech_id=TECH.id,
        service=service,
        start=NOW + dt.timedelta(hours=hours_ahead),
        duration=dt.timedelta(minutes=90),
        notes="Side door; dog in the yard.",
    )
    return BookingEventContent(
        booking, CUSTOMER, TECH, link="https://crewboard.example/customers/ada", owner_key=OWNER_KEY
    )


# --- harnesses -----------------------------------------------------------------------------------------------


class Harness:
    """One backend: opens providers on it, seeds and edits events, injects faults."""

    name: str
    calendar: Calendar
    seeded: Seeded

    def open(self) -> CalendarProvider:
        raise NotImplementedError

    def seed(self, spec: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def phone_edit(self, remote_id: str, title: str) -> None:
        raise NotImplementedError

    def phone_delete(self, remote_id: str) -> None:
        raise NotImplementedError

    def forge(
        self,
        content: BookingEventContent,
        *,
        event_id: str | None = None,
        tag: str | None = None,
        transaction: str | None = None,
    ) -> str:
        """Someone else with write access adds an event claiming to be the booking's: its booking
        id, and the given event id (Google, fake), ownership tag and transactionId (Graph)."""
        raise NotImplementedError

    def tag_of(self, remote_id: str) -> str | None:
        """The ownership tag an event carries, read as anyone with read access can."""
        raise NotImplementedError

    def phone_cancel_occurrence(self, series_id: str, index: int) -> None:
        """Delete one occurrence of a series (0 = the first), as the phone would."""
        raise NotImplementedError

    def invalidate_cursors(self) -> None:
        raise NotImplementedError

    def fault(self, kind: str, *, count: int | None = None, retry_after: int | None = None) -> None:
        """Faults on this account: 5xx, 429, timeout, reset (for a while), drop_after_commit (count)."""
        raise NotImplementedError

    def clear_faults(self) -> None:
        raise NotImplementedError

    def expire_access(self) -> None:
        raise NotImplementedError

    def refreshes(self) -> int:
        """Access-token renewals so far."""
        raise NotImplementedError

    def revoke(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def seed_all(self) -> None:
        ids = {role: self.seed(spec) for role, spec in SPECS.items()}
        self.make_exception(ids["series"])
        self.seeded = Seeded(ids, TIMED_START, ALL_DAY, SERIES_START, EXCEPTION_ORIGINAL, EXCEPTION_START)

    def make_exception(self, series_id: str) -> None:
        """Move the series' second occurrence two hours later, as the phone would."""
        raise NotImplementedError


def _calendar(remote_id: str, name: str) -> Calendar:
    return Calendar(
        id=CalendarId(new_id()),
        account_id=AccountId(new_id()),
        remote_id=remote_id,
        name=name,
        primary=True,
        blocks=True,
    )


class SandboxHarness(Harness):
    provider_name: str

    def __init__(self, sandbox: Sandbox, store: TokenStore) -> None:
        self.sandbox = sandbox
        self.store = store
        self.control = httpx.Client(base_url=sandbox.urls.control, timeout=10, trust_env=False)
        self.endpoints = read_endpoints(sandbox.urls.control)
        self.email = f"tech-{uuid.uuid4().hex[:10]}@example.com"
        created = self.control.post(
            "/accounts",
            json={
                "provider": self.provider_name,
                "email": self.email,
                "timezone": CHICAGO,
                "name": "Maria Lopez",
            },
        )
        self._token: str | None = None
        try:
            assert created.status_code == 201, created.text
            self.account = self.connect()
        except BaseException:
            self.control.close()
            raise

    def connect(self) -> CalendarAccount:
        raise NotImplementedError

    def close(self) -> None:
        self.control.close()

    def open(self) -> CalendarProvider:
        return open_provider(self.account, self.store, timeout=CLIENT_TIMEOUT)

    def seed(self, spec: Mapping[str, Any]) -> str:
        body = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in spec.items()}
        answer = self.control.post(f"/accounts/{self.email}/events", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def phone_token(self) -> str:
        """An access token of the account's own, as the technician's phone holds one."""
        if self._token is None:
            answer = self.control.post(f"/accounts/{self.email}/token")
            assert answer.status_code == 200, answer.text
            self._token = str(answer.json()["access_token"])
        return self._token

    def invalidate_cursors(self) -> None:
        assert self.control.post(f"/accounts/{self.email}/invalidate-cursors").status_code == 200

    def fault(self, kind: str, *, count: int | None = None, retry_after: int | None = None) -> None:
        body: dict[str, Any] = {"kind": kind, "provider": self.provider_name, "account": self.email}
        if count is not None:
            body["count"] = count
        else:
            body["seconds"] = 30
        if retry_after is not None:
            body["retry_after"] = retry_after
        answer = self.control.post("/faults", json=body)
        assert answer.status_code == 201, answer.text

    def clear_faults(self) -> None:
        assert self.control.delete("/faults").status_code == 200

    def expire_access(self) -> None:
        assert self.control.post(f"/accounts/{self.email}/expire-access").status_code == 200
        self._token = None  # the phone's token expired too

    def revoke(self) -> None:
        assert self.control.post(f"/accounts/{self.email}/revoke").status_code == 200

    def _requests(self, site: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.control.get("/requests", params={"site": site}).json()
        return entries


class GoogleHarness(SandboxHarness):
    name = "google"
    provider_name = "google"

    def connect(self) -> CalendarAccount:
        settings = self.endpoints.google_settings()
        grant = GoogleConnector(
            settings, self.store, browser=SandboxApprover(self.email), timeout=20
        ).authorize()
        primary = next(c for c in grant.calendars if c.primary)
        self.calendar = _calendar(primary.remote_id, primary.name)
        self.api = httpx.Client(
            base_url=f"{settings.api_endpoint}calendars/{primary.remote_id}/", timeout=10, trust_env=False
        )
        return CalendarAccount(
            AccountId(new_id()),
            TechId(new_id()),
            Provider.GOOGLE,
            grant.email,
            grant.token_ref,
            endpoint=self.sandbox.urls.control,
        )

    def close(self) -> None:
        self.api.close()
        super().close()

    def _phone(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = self.api.request(
            method, path, headers={"Authorization": f"Bearer {self.phone_token()}"}, **kwargs
        )
        assert answer.status_code < 300, answer.text
        return answer

    def phone_edit(self, remote_id: str, title: str) -> None:
        self._phone("PATCH", f"events/{remote_id}", json={"summary": title})

    def forge(
        self,
        content: BookingEventContent,
        *,
        event_id: str | None = None,
        tag: str | None = None,
        transaction: str | None = None,
    ) -> str:
        private: dict[str, str] = {BOOKING_ID_KEY: content.booking.id}
        if tag is not None:
            private[BOOKING_TAG_KEY] = tag
        body: dict[str, Any] = {
            "summary": FORGED_TITLE,
            "start": {"dateTime": FORGED_START.isoformat(), "timeZone": CHICAGO},
            "end": {"dateTime": (FORGED_START + HOUR).isoformat(), "timeZone": CHICAGO},
            "extendedProperties": {"private": private},
        }
        if event_id is not None:
            body["id"] = event_id
        return str(self._phone("POST", "events", json=body).json()["id"])

    def tag_of(self, remote_id: str) -> str | None:
        item = self._phone("GET", f"events/{remote_id}").json()
        tag = ((item.get("extendedProperties") or {}).get("private") or {}).get(BOOKING_TAG_KEY)
        return str(tag) if tag is not None else None

    def phone_delete(self, remote_id: str) -> None:
        self._phone("DELETE", f"events/{remote_id}")

    def phone_cancel_occurrence(self, series_id: str, index: int) -> None:
        items = self._phone("GET", f"events/{series_id}/instances").json()["items"]
        self._phone("DELETE", f"events/{items[index]['id']}")

    def make_exception(self, series_id: str) -> None:
        items = self._phone("GET", f"events/{series_id}/instances").json()["items"]
        second = items[1]
        start = EXCEPTION_START.strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (EXCEPTION_START + HOUR).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._phone(
            "PATCH",
            f"events/{second['id']}",
            json={
                "start": {"dateTime": start, "timeZone": CHICAGO},
                "end": {"dateTime": end, "timeZone": CHICAGO},
            },
        )

    def refreshes(self) -> int:
        return sum(1 for e in self._requests("google") if e["path"] == "/token" and e["status"] == 200)


class GraphHarness(SandboxHarness):
    name = "graph"
    provider_name = "microsoft"

    def connect(self) -> CalendarAccount:
        settings = self.endpoints.microsoft_settings()
        with MicrosoftConnector(
            settings, self.store, browser=SandboxApprover(self.email, settings.ca_file), timeout=20
        ) as connector:
            grant = connector.authorize()
        primary = next(c for c in grant.calendars if c.primary)
        self.calendar = _calendar(primary.remote_id, primary.name)
        self.api = httpx.Client(
            base_url=settings.graph_base.rstrip("/") + "/",
            verify=ssl.create_default_context(cafile=self.sandbox.urls.ca),
            timeout=10,
            trust_env=False,
            headers={"Prefer": 'IdType="ImmutableId", outlook.timezone="UTC"'},
        )
        return CalendarAccount(
            AccountId(new_id()),
            TechId(new_id()),
            Provider.MICROSOFT,
            grant.email,
            grant.token_ref,
            endpoint=self.sandbox.urls.control,
        )

    def close(self) -> None:
        self.api.close()
        super().close()

    def _phone(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = self.api.request(
            method, path, headers={"Authorization": f"Bearer {self.phone_token()}"}, **kwargs
        )
        assert answer.status_code < 300, answer.text
        return answer

    def phone_edit(self, remote_id: str, title: str) -> None:
        self._phone("PATCH", f"me/events/{remote_id}", json={"subject": title})

    def forge(
        self,
        content: BookingEventContent,
        *,
        event_id: str | None = None,
        tag: str | None = None,
        transaction: str | None = None,
    ) -> str:
        properties = [{"id": BOOKING_ID_PROPERTY, "value": content.booking.id}]
        if tag is not None:
            properties.append({"id": BOOKING_TAG_PROPERTY, "value": tag})
        body: dict[str, Any] = {
            "subject": FORGED_TITLE,
            "start": {"dateTime": FORGED_START.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (FORGED_START + HOUR).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "singleValueExtendedProperties": properties,
        }
        if transaction is not None:
            body["transactionId"] = transaction
        return str(self._phone("POST", "me/events", json=body).json()["id"])

    def tag_of(self, remote_id: str) -> str | None:
        expand = f"singleValueExtendedProperties($filter=id eq '{BOOKING_TAG_PROPERTY}')"
        item = self._phone("GET", f"me/events/{remote_id}", params={"$expand": expand}).json()
        for prop in item.get("singleValueExtendedProperties") or []:
            return str(prop["value"])
        return None

    def phone_delete(self, remote_id: str) -> None:
        self._phone("DELETE", f"me/events/{remote_id}")

    def phone_cancel_occurrence(self, series_id: str, index: int) -> None:
        window = {"startDateTime": WINDOW.start.isoformat(), "endDateTime": WINDOW.end.isoformat()}
        rows = self._phone("GET", f"me/events/{series_id}/instances", params=window).json()["value"]
        self._phone("DELETE", f"me/events/{rows[index]['id']}")

    def make_exception(self, series_id: str) -> None:
        window = {"startDateTime": WINDOW.start.isoformat(), "endDateTime": WINDOW.end.isoformat()}
        rows = self._phone("GET", f"me/events/{series_id}/instances", params=window).json()["value"]
        second = rows[1]
        start = EXCEPTION_START.strftime("%Y-%m-%dT%H:%M:%S")
        end = (EXCEPTION_START + HOUR).strftime("%Y-%m-%dT%H:%M:%S")
        self._phone(
            "PATCH",
            f"me/events/{second['id']}",
            json={
                "start": {"dateTime": start, "timeZone": "UTC"},
                "end": {"dateTime": end, "timeZone": "UTC"},
            },
        )

    def refreshes(self) -> int:
        return sum(
            1
            for e in self._requests("microsoft")
            if e["path"].endswith("/oauth2/v2.0/token") and e["method"] == "POST" and e["status"] == 200
        )


class FakeHarness(Harness):
    """The in-memory provider is its own backend: each test gets a fresh one, seeded alike."""

    name = "fake"

    def __init__(self) -> None:
        self.calendar = _calendar("primary", "Calendar")
        self.fake = InMemoryCalendarProvider([RemoteCalendar("primary", "Calendar", True)])
        self._client = httpx.Client(timeout=5, trust_env=False)

    def open(self) -> CalendarProvider:
        self.fake = InMemoryCalendarProvider(
            [RemoteCalendar("primary", "Calendar", True)], notifier=self._deliver
        )
        self.seed_all()
        return self.fake

    def _deliver(self, address: str, headers: Mapping[str, str]) -> None:
        with suppress(httpx.HTTPError):
            self._client.post(address, headers=dict(headers))

    def close(self) -> None:
        self._client.close()

    def seed(self, spec: Mapping[str, Any]) -> str:
        fields: dict[str, Any] = {}
        if "start" in spec:
            when = EventTime(start=spec["start"], end=spec["end"], timezone=spec.get("timezone", CHICAGO))
        else:
            when = EventTime(start_date=spec["start_date"], end_date=spec["end_date"], timezone=CHICAGO)
        if spec.get("rrule"):
            fields["recurrence"] = tuple(spec["rrule"])
        if spec.get("private"):
            fields["private"] = True
        if spec.get("tentative"):
            fields["show_as"] = ShowAs.TENTATIVE
        if spec.get("response") == "declined":
            fields["response"] = Response.DECLINED
        return self.fake.add_event("primary", when, title=spec["summary"], **fields).remote_id

    def make_exception(self, series_id: str) -> None:
        master = next(e for e in self.fake.events("primary") if e.remote_id == series_id)
        self.fake.add_event(
            "primary",
            EventTime(start=EXCEPTION_START, end=EXCEPTION_START + HOUR, timezone=CHICAGO),
            title=master.title,
            master_remote_id=series_id,
            original_start=EXCEPTION_ORIGINAL,
        )

    def phone_edit(self, remote_id: str, title: str) -> None:
        self.fake.edit_event("primary", remote_id, title=title)

    def phone_cancel_occurrence(self, series_id: str, index: int) -> None:
        master = next(e for e in self.fake.events("primary") if e.remote_id == series_id)
        assert master.when.start is not None
        original = master.when.start + index * dt.timedelta(days=7)  # the contract's series are weekly
        self.fake.add_event(
            "primary",
            EventTime(start=original, end=original, timezone=master.when.timezone),
            master_remote_id=series_id,
            original_start=original,
            cancelled=True,
        )

    def phone_delete(self, remote_id: str) -> None:
        self.fake.remove_event("primary", remote_id)

    def forge(
        self,
        content: BookingEventContent,
        *,
        event_id: str | None = None,
        tag: str | None = None,
        transaction: str | None = None,
    ) -> str:
        remote_id = event_id or uuid.uuid4().hex
        when = EventTime(start=FORGED_START, end=FORGED_START + HOUR, timezone=CHICAGO)
        return self.fake.add_event(
            "primary",
            when,
            title=FORGED_TITLE,
            remote_id=remote_id,
            booking_id=content.booking.id,
            booking_tag=tag,
            tag_subject=remote_id,  # as on Google: a tag is read against the event's own id
        ).remote_id

    def tag_of(self, remote_id: str) -> str | None:
        return next(e.booking_tag for e in self.fake.events("primary") if e.remote_id == remote_id)

    def invalidate_cursors(self) -> None:
        self.fake.expire_cursors()

    def fault(self, kind: str, *, count: int | None = None, retry_after: int | None = None) -> None:
        if kind == "drop_after_commit":
            self.fake.lose_answers(count or 1)
        elif kind == "429":
            self.fake.fail_next("rate_limited", count or 100, retry_after=retry_after)
        else:  # 5xx, timeout, reset: what the adapters report for each is Transient
            self.fake.fail_next("transient", count or 100)

    def clear_faults(self) -> None:
        self.fake.clear_faults()

    def expire_access(self) -> None:
        self.fake.expire_access()

    def refreshes(self) -> int:
        return self.fake.refreshes

    def revoke(self) -> None:
        self.fake.revoke()


class CaldavHarness(CaldavHarnessMixin, Harness):
    """Radicale behind the fault layer; the phone is the caldav client library."""

    def __init__(self, backend: CaldavBackend, store: TokenStore) -> None:
        self.backend = backend
        self.store = store
        self.client_timeout = CLIENT_TIMEOUT
        self.forged_title = FORGED_TITLE
        self.forged_start = FORGED_START
        self.account, self.calendar = connect_account(backend, store)


# --- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract_sandbox() -> Iterator[Sandbox]:
    box = Sandbox(timeout_hold=TIMEOUT_HOLD)
    box.start()
    try:
        yield box
    finally:
        box.stop()


class _CleaningTokenStore(TokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.written: set[str] = set()

    def save(self, ref: str, blob: Mapping[str, Any]) -> None:
        self.written.add(ref)
        super().save(ref, blob)


@pytest.fixture(scope="module")
def module_token_store() -> Iterator[TokenStore]:
    """The product's TokenStore on the real Secret Service; what the module wrote is removed after."""
    store = _CleaningTokenStore()
    try:
        store.check()
    except KeyringUnavailable as error:
        reason = f"no Secret Service is reachable ({error})"
        if os.environ.get("CREWBOARD_REQUIRE_KEYRING") == "1":
            pytest.fail(f"CREWBOARD_REQUIRE_KEYRING=1 but {reason}")
        pytest.skip(f"{reason}; run under scripts/with-secret-service")
    yield store
    for ref in sorted(store.written):
        store.delete(ref)


@pytest.fixture(scope="module")
def contract_radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CaldavBackend]:
    backend = CaldavBackend(tmp_path_factory.mktemp("radicale"), hold=TIMEOUT_HOLD)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(scope="module", params=["google", "graph", "caldav", "fake"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    chosen: Harness
    if request.param == "fake":
        chosen = FakeHarness()
    elif request.param == "caldav":
        chosen = CaldavHarness(
            request.getfixturevalue("contract_radicale"), request.getfixturevalue("module_token_store")
        )
        chosen.seed_all()
    else:
        sandbox: Sandbox = request.getfixturevalue("contract_sandbox")
        store: TokenStore = request.getfixturevalue("module_token_store")
        chosen = GoogleHarness(sandbox, store) if request.param == "google" else GraphHarness(sandbox, store)
        chosen.seed_all()
    try:
        yield chosen
    finally:
        chosen.close()


@pytest.fixture
async def provider(harness: Harness) -> AsyncIterator[CalendarProvider]:
    opened = harness.open()
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture
def receiver() -> Iterator[NoticeReceiver]:
    made = NoticeReceiver()
    try:
        yield made
    finally:
        made.close()
