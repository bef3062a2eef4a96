"""Microsoft's side of the sandbox: the identity platform and Graph, driven by the control API.

`MicrosoftSandbox` composes the shared state (graph_store), the "microsoft" identity site
(ms_identity) and the "graph" site (graph_api, with graph_delta and graph_subscriptions), and
implements the `base.ProviderSandbox` hooks. Test and demo extras: `hold(email)` keeps a mailbox's
Graph requests in flight (to show MailboxConcurrency), `in_flight(email)`, and `device_interval`.
`lifecycle(email, event)` sends Graph lifecycle notices on demand (the control API's
`/accounts/{email}/lifecycle`); `tick()`, called by the server every second, lets subscriptions
expire and be challenged to reauthorize on time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import ssl
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.sandbox import graph_events, graph_zones
from sync.sandbox.base import InvalidInput, Site, UnknownAccount
from sync.sandbox.graph_api import GraphSite, add_calendar, render_calendar
from sync.sandbox.graph_delta import DeltaTracker
from sync.sandbox.graph_events import BodyError, View
from sync.sandbox.graph_recurrence import DAYS
from sync.sandbox.graph_store import Mailbox, MicrosoftState, stamp
from sync.sandbox.graph_subscriptions import LIFECYCLE_EVENTS, REMOVED, SubscriptionBook
from sync.sandbox.ms_identity import IdentitySite
from sync.sandbox.push import PushSender

SANDBOX_CLIENT_ID = "7f3e0c1a-5b2d-4e8f-9a6c-c0ffee5a4db0"
ALL_SCOPES = ["Calendars.ReadWrite", "User.Read"]
_RRULE_DAYS = {
    "MO": "monday",
    "TU": "tuesday",
    "WE": "wednesday",
    "TH": "thursday",
    "FR": "friday",
    "SA": "saturday",
    "SU": "sunday",
}
_INDEX = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_RESPONSES = {
    "accepted": "accepted",
    "tentative": "tentativelyAccepted",
    "declined": "declined",
    "none": "notResponded",
}


class MicrosoftSandbox:
    """The emulated Microsoft cloud (see `base.ProviderSandbox`)."""

    provider = "microsoft"

    def __init__(self, clock: Callable[[], dt.datetime], push: PushSender, *, verify: Any = True) -> None:
        """`verify` is what the subscription handshake trusts (httpx `verify=`: True, a CA path, ...)."""
        self.clock = clock
        self.push = push
        self.verify = verify
        self.state = MicrosoftState()
        self.delta = DeltaTracker()
        self.subscriptions = SubscriptionBook(push, lambda: self.state.tenant_id, self.state.lock)
        self.identity = IdentitySite(self.state, clock)
        self.graph = GraphSite(self.state, clock, self.delta, self.subscriptions, lambda: self.verify)
        self.urls: dict[str, str | None] = {}

    def set_urls(self, urls: Mapping[str, str | None]) -> None:
        self.urls = dict(urls)
        ca = urls.get("ca")
        if ca and self.verify is True:
            # Trust the sandbox's own CA as well, so receivers may use its certificate.
            context = ssl.create_default_context()
            context.load_verify_locations(cafile=ca)
            self.verify = context

    def sites(self) -> list[Site]:
        return [self.identity, self.graph]

    # -- test and demo extras ---------------------------------------------------------------------

    @property
    def device_interval(self) -> int:
        return self.identity.device_interval

    @device_interval.setter
    def device_interval(self, seconds: int) -> None:
        self.identity.device_interval = seconds

    @contextlib.contextmanager
    def hold(self, email: str) -> Iterator[None]:
        with self.graph.hold(email):
            yield

    def in_flight(self, email: str) -> int:
        return self.graph.in_flight(email)

    # -- accounts ---------------------------------------------------------------------------------

    def _box(self, email: str) -> Mailbox:
        try:
            return self.state.mailbox(email.strip())
        except KeyError:
            raise UnknownAccount(
                f"There is no Microsoft account {email.strip().lower()} in the sandbox."
            ) from None

    def _describe(self, box: Mailbox) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "email": box.email,
            "name": box.display_name,
            "timezone": box.timezone,
            "oid": box.oid,
            "tenant_id": self.state.tenant_id,
            "calendars": [
                {"id": c.id, "name": c.name, "primary": c.is_default} for c in box.calendars.values()
            ],
        }

    def create_account(self, email: str, timezone: str, display_name: str | None = None) -> dict[str, Any]:
        email = email.strip().lower()
        if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
            raise InvalidInput(f"{email!r} is not an email address.")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"{timezone!r} is not an IANA time zone name.") from exc
        name = display_name or email.split("@")[0].replace(".", " ").title()
        with self.state.lock:
            if email in self.state.mailboxes:
                raise InvalidInput(f"A Microsoft account {email} already exists.")
            box = Mailbox(email, name, timezone, str(uuid.uuid4()))
            add_calendar(box, "Calendar", default=True)
            self.state.mailboxes[email] = box
            return self._describe(box)

    def add_calendar(self, email: str, name: str) -> dict[str, Any]:
        with self.state.lock:
            box = self._box(email)
            if not name.strip():
                raise InvalidInput("A calendar needs a name.")
            if any(c.name.lower() == name.strip().lower() for c in box.calendars.values()):
                raise InvalidInput(f"{box.email} already has a calendar named {name.strip()!r}.")
            calendar = add_calendar(box, name.strip())
            return {"id": calendar.id, "name": calendar.name, "primary": False}

    def accounts(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [self._describe(b) for b in self.state.mailboxes.values()]

    # -- tokens and cursors -----------------------------------------------------------------------

    def issue_token(self, email: str, scopes: Sequence[str] = ALL_SCOPES) -> dict[str, Any]:
        """Tokens for `email` as if signed in; `scopes` (sync's, by default) say what they allow."""
        with self.state.lock:
            box = self._box(email)
            access = self.state.issue_access(box.email, SANDBOX_CLIENT_ID, list(scopes), self.clock())
            refresh = self.state.issue_refresh(box.email, SANDBOX_CLIENT_ID, list(scopes))
        graph = self.urls.get("graph")
        microsoft = self.urls.get("microsoft")
        return {
            "access_token": access,
            "expires_in": 3599,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "scope": " ".join(scopes),
            "client_id": SANDBOX_CLIENT_ID,
            "token_uri": f"{microsoft}/common/oauth2/v2.0/token" if microsoft else None,
            "graph_url": graph,
        }

    def revoke(self, email: str) -> None:
        """Like "revoke sessions": refresh tokens answer invalid_grant, access tokens 401."""
        with self.state.lock:
            box = self._box(email)
            for key, grant in list(self.state.refresh_tokens.items()):
                if grant.email == box.email:
                    del self.state.refresh_tokens[key]
                    self.state.revoked_refresh.add(key)
            for key, grant in list(self.state.access_tokens.items()):
                if grant.email == box.email:
                    del self.state.access_tokens[key]

    def expire_access(self, email: str) -> None:
        with self.state.lock:
            box = self._box(email)
            now = self.clock()
            for grant in self.state.access_tokens.values():
                if grant.email == box.email:
                    grant.expires = now

    def invalidate_cursors(self, email: str) -> None:
        with self.state.lock:
            self._box(email).sync_generation += 1

    def set_push_paused(self, paused: bool) -> None:
        self.push.set_paused(paused)

    def push_channels(self) -> list[dict[str, Any]]:
        """The live subscriptions (an expired one is deleted, as Graph does)."""
        with self.state.lock:
            return [
                {
                    "provider": self.provider,
                    "id": s.id,
                    "account": s.email,
                    "calendar": s.calendar_id,
                    "url": s.notification_url,
                    "lifecycle_url": s.lifecycle_url,
                    "expires": s.expires.isoformat(),
                }
                for s in self.subscriptions.live(self.clock())
            ]

    def tick(self) -> None:
        """Called every second or so by the server: expiries and the challenges before them happen
        on time even when nobody calls Graph."""
        with self.state.lock:
            self.subscriptions.live(self.clock())

    def lifecycle(self, email: str, event: str, calendar_id: str | None = None) -> dict[str, Any]:
        """Send a lifecycle `event` for the account's live subscriptions (those of one calendar if
        given); `subscriptionRemoved` drops them as well. Which were affected and which notified."""
        if event not in LIFECYCLE_EVENTS:
            raise InvalidInput(f"event must be one of: {', '.join(LIFECYCLE_EVENTS)}.")
        with self.state.lock:
            box = self._box(email)
            if calendar_id is not None and calendar_id not in box.calendars:
                raise InvalidInput(f"{box.email} has no calendar {calendar_id!r}.")
            chosen = [
                s
                for s in self.subscriptions.live(self.clock())
                if s.email == box.email and (calendar_id is None or s.calendar_id == calendar_id)
            ]
            notified = [
                s.id
                for s in chosen
                if (
                    self.subscriptions.remove(s)
                    if event == REMOVED
                    else self.subscriptions.lifecycle(s, event)
                )
            ]
            return {"event": event, "subscriptions": [s.id for s in chosen], "notified": notified}

    def to_state(self) -> dict[str, Any]:
        with self.state.lock:
            return {"state": self.state.to_json(), "subscriptions": self.subscriptions.to_json()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        with self.state.lock:
            self.state.load_json(state["state"])
            self.subscriptions.load_json(list(state.get("subscriptions", [])))
            self.delta.clear()  # delta tokens are not saved: old links answer syncStateNotFound

    # -- seeding ----------------------------------------------------------------------------------

    def seed_event(self, email: str, calendar_name: str | None, spec: Mapping[str, Any]) -> dict[str, Any]:
        with self.state.lock:
            box = self._box(email)
            if calendar_name is None:
                calendar = box.default_calendar
            else:
                found = [c for c in box.calendars.values() if calendar_name in (c.name, c.id)]
                if not found:
                    raise InvalidInput(f"{box.email} has no calendar named {calendar_name!r}.")
                calendar = found[0]
            body, cancelled = _graph_body(box, spec)
            try:
                changes = graph_events.parse_body(body, seeding=True)
                event, _ = self.graph.create_event(box, calendar, changes)
            except BodyError as exc:
                raise InvalidInput(f"The event spec was refused: {exc}") from exc
            if cancelled:
                event.cancelled.extend(stamp(c) for c in cancelled)
                event.touch(self.clock(), self.state.next_seq())
            view = View(zone="UTC", immutable=True)
            return graph_events.render_master(box, event, view) | {"calendarId": calendar.id}


def _graph_body(box: Mailbox, spec: Mapping[str, Any]) -> tuple[dict[str, Any], list[dt.datetime]]:
    """A provider-neutral spec (base.EVENT_SPEC) as a Graph event body, plus EXDATE instants."""
    if not isinstance(spec.get("summary"), str):
        raise InvalidInput("An event spec needs a summary.")
    zone = str(spec.get("timezone") or box.timezone)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"{zone!r} is not an IANA time zone name.") from exc
    windows = graph_zones.windows_name(zone)
    body: dict[str, Any] = {"subject": spec["summary"]}
    if "start" in spec and "end" in spec:
        start, end = spec["start"], spec["end"]
        if not all(isinstance(v, dt.datetime) and v.tzinfo is not None for v in (start, end)):
            raise InvalidInput("start and end must be aware datetimes.")
        local_start = start.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        local_end = end.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        body["isAllDay"] = False
    elif "start_date" in spec and "end_date" in spec:
        start_date, end_date = spec["start_date"], spec["end_date"]
        if not all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in (start_date, end_date)):
            raise InvalidInput("start_date and end_date must be dates.")
        local_start = dt.datetime.combine(start_date, dt.time())
        local_end = dt.datetime.combine(end_date, dt.time())
        body["isAllDay"] = True
    else:
        raise InvalidInput("An event spec needs start/end or start_date/end_date.")
    body["start"] = {"dateTime": graph_zones.format_local(local_start), "timeZone": windows}
    body["end"] = {"dateTime": graph_zones.format_local(local_end), "timeZone": windows}
    show_as = spec.get("show_as", "busy")
    if spec.get("tentative"):
        show_as = "tentative"
    body["showAs"] = show_as
    if spec.get("private"):
        body["sensitivity"] = "private"
    if spec.get("description"):
        body["body"] = {"contentType": "text", "content": str(spec["description"])}
    if spec.get("location"):
        body["location"] = {"displayName": str(spec["location"])}
    response = spec.get("response")
    if response is not None:
        if response not in _RESPONSES:
            raise InvalidInput(f"Unknown response {response!r}.")
        organizer = str(spec.get("organizer") or "dispatch@example.com")
        body["organizer"] = {"emailAddress": {"name": organizer, "address": organizer}}
        body["responseStatus"] = {"response": _RESPONSES[response], "time": "0001-01-01T00:00:00Z"}
        body["attendees"] = [
            {
                "type": "required",
                "status": {"response": _RESPONSES[response], "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {"name": box.display_name, "address": box.email},
            }
        ]
    cancelled: list[dt.datetime] = []
    lines = spec.get("rrule") or []
    if lines:
        if not isinstance(lines, list):
            raise InvalidInput("rrule must be a list of iCalendar lines.")
        rules = [str(line) for line in lines if str(line).upper().startswith("RRULE:")]
        if len(rules) != 1:
            raise InvalidInput("A recurring event spec needs exactly one RRULE line.")
        body["recurrence"] = rrule_to_graph(rules[0], local_start, windows)
        for line in lines:
            text = str(line)
            if text.upper().startswith("RRULE:"):
                continue
            if not text.upper().startswith("EXDATE"):
                raise InvalidInput(f"Graph has no equivalent of {text.split(':')[0]!r}.")
            cancelled.extend(_exdates(text, zone, local_start.time()))
    return body, cancelled


def rrule_to_graph(line: str, local_start: dt.datetime, zone: str) -> dict[str, Any]:
    """An iCalendar RRULE as Graph's patternedRecurrence (what Outlook can express)."""
    parts: dict[str, str] = {}
    for item in line.split(":", 1)[1].split(";"):
        if "=" not in item:
            raise InvalidInput(f"Malformed RRULE part {item!r}.")
        key, value = item.split("=", 1)
        parts[key.upper()] = value.upper()
    freq = parts.get("FREQ")
    interval = int(parts.get("INTERVAL", "1"))
    days: list[str] = []
    ordinal: int | None = None
    for token in filter(None, parts.get("BYDAY", "").split(",")):
        match = re.fullmatch(r"([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)", token)
        if match is None:
            raise InvalidInput(f"Unsupported BYDAY value {token!r}.")
        if match.group(1):
            ordinal = int(match.group(1))
        days.append(_RRULE_DAYS[match.group(2)])
    if "BYSETPOS" in parts:
        ordinal = int(parts["BYSETPOS"])
    pattern: dict[str, Any] = {"interval": interval}
    if freq == "DAILY":
        pattern["type"] = "daily"
    elif freq == "WEEKLY":
        pattern |= {
            "type": "weekly",
            "daysOfWeek": days or [DAYS[local_start.weekday()]],
            "firstDayOfWeek": _RRULE_DAYS.get(parts.get("WKST", "SU"), "sunday"),
        }
    elif freq in ("MONTHLY", "YEARLY"):
        kind = "Monthly" if freq == "MONTHLY" else "Yearly"
        if days:
            if ordinal not in _INDEX:
                raise InvalidInput(
                    "Graph needs a single first..fourth or last ordinal for relative patterns."
                )
            pattern |= {"type": "relative" + kind, "daysOfWeek": days, "index": _INDEX[ordinal]}
        else:
            pattern |= {
                "type": "absolute" + kind,
                "dayOfMonth": int(parts.get("BYMONTHDAY", str(local_start.day))),
            }
        if freq == "YEARLY":
            pattern["month"] = int(parts.get("BYMONTH", str(local_start.month)))
    else:
        raise InvalidInput(f"Unsupported RRULE frequency {freq!r}.")
    rng: dict[str, Any] = {"startDate": local_start.date().isoformat(), "recurrenceTimeZone": zone}
    if "COUNT" in parts:
        rng |= {"type": "numbered", "numberOfOccurrences": int(parts["COUNT"])}
    elif "UNTIL" in parts:
        until = parts["UNTIL"]
        rng |= {"type": "endDate", "endDate": f"{until[0:4]}-{until[4:6]}-{until[6:8]}"}
    else:
        rng["type"] = "noEnd"
    return {"pattern": pattern, "range": rng}


def _exdates(line: str, default_zone: str, start_time: dt.time) -> list[dt.datetime]:
    head, _, values = line.partition(":")
    zone = default_zone
    match = re.search(r"TZID=([^;:]+)", head)
    if match:
        zone = match.group(1)
    found = []
    for value in filter(None, values.split(",")):
        try:
            day = dt.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
            if "T" in value:
                clock = dt.time(int(value[9:11]), int(value[11:13]), int(value[13:15]))
                local = dt.datetime.combine(day, clock)
                found.append(
                    local.replace(tzinfo=dt.UTC) if value.endswith("Z") else graph_zones.to_utc(local, zone)
                )
            else:
                found.append(graph_zones.to_utc(dt.datetime.combine(day, start_time), zone))
        except (ValueError, graph_zones.ZoneError) as exc:
            raise InvalidInput(f"Malformed EXDATE value {value!r}.") from exc
    return found


__all__ = ["SANDBOX_CLIENT_ID", "MicrosoftSandbox", "render_calendar"]
